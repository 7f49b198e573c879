using System.Buffers.Binary;
using HeliosNano.Realtime.Sample.Pg;

namespace HeliosNano.Realtime.Sample.Tests.Pg;

public class PgNumericTests
{
    [Test]
    public void Write_4999Hundredths_IsPostgresBinaryForm()
    {
        var span = new byte[PgNumeric.Length(49.99m)];
        Assert.That(PgNumeric.Write(49.99m, span), Is.EqualTo(12));

        // ndigits 2, weight 0, sign +, dscale 2, digits 49 and 9900 (base 10,000).
        Assert.That(span, Is.EqualTo(new byte[] { 0, 2, 0, 0, 0, 0, 0, 2, 0, 49, 0x26, 0xAC }));
    }

    [TestCase("0")]
    [TestCase("0.00")]
    [TestCase("1")]
    [TestCase("-1")]
    [TestCase("10000")]
    [TestCase("1234567.89")]
    [TestCase("-0.0001")]
    [TestCase("0.00001")]
    [TestCase("79228162514264337593543950335")]
    [TestCase("-7922816251426433759354395033.5")]
    [TestCase("100000000.00000001")]
    public void WriteThenRead_RoundTripsTheValueAndItsScale(string text)
    {
        decimal value = decimal.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        var span = new byte[PgNumeric.Length(value)];
        int written = PgNumeric.Write(value, span);
        Assert.That(written, Is.EqualTo(span.Length));
        Assert.That(PgNumeric.Read(span), Is.EqualTo(text));
    }

    [Test]
    public void Read_NaN_IsNaN()
    {
        var nan = new byte[8];
        BinaryPrimitives.WriteInt16BigEndian(nan.AsSpan(4), unchecked((short)0xC000));
        Assert.That(PgNumeric.Read(nan), Is.EqualTo("NaN"));
    }

    [TestCase(new byte[] { 0, 1, 0, 0, 0, 0, 0, 0 }, TestName = "Read_DigitCountPastTheEnd")]
    [TestCase(new byte[] { 0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10 }, TestName = "Read_DigitOf10000")]
    [TestCase(new byte[] { 0, 0, 0 }, TestName = "Read_Short")]
    public void Read_Malformed_Throws(byte[] data) =>
        Assert.Throws<FormatException>(() => PgNumeric.Read(data));
}
