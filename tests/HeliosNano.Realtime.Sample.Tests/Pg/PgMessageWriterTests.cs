using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using HeliosNano.Realtime.Sample.Pg;

namespace HeliosNano.Realtime.Sample.Tests.Pg;

public class PgMessageWriterTests
{
    [Test]
    public void ErrorResponse_IsFramedExactly()
    {
        var buffer = new ArrayBufferWriter<byte>();
        PgMessageWriter.ErrorResponse(buffer, "FATAL", "28P01", "password authentication failed for user \"postgres\"");
        byte[] expected = [(byte)'E', 0, 0, 0, 0, .. Encoding.ASCII.GetBytes("SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user \"postgres\"\0\0")];
        BinaryPrimitives.WriteInt32BigEndian(expected.AsSpan(1), expected.Length - 1);
        Assert.That(buffer.WrittenSpan.ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public void RowDescriptionAndDataRow_AreFramedExactly()
    {
        var buffer = new ArrayBufferWriter<byte>();
        PgMessageWriter.RowDescription(buffer, ["id", "é"], [23, 25]);
        PgMessageWriter.DataRow(buffer, ["1", null]);
        PgMessageWriter.CommandComplete(buffer, "SELECT 1");
        PgMessageWriter.ReadyForQuery(buffer, (byte)'I');

        var types = new List<char>();
        ReadOnlySpan<byte> rest = buffer.WrittenSpan;
        while (!rest.IsEmpty)
        {
            types.Add((char)rest[0]);
            rest = rest[(1 + BinaryPrimitives.ReadInt32BigEndian(rest[1..]))..];
        }

        Assert.That(types, Is.EqualTo(new[] { 'T', 'D', 'C', 'Z' }));
        byte[] dataRow = buffer.WrittenSpan.ToArray().AsSpan(5 + 2 + 3 + 18 + 3 + 18).ToArray();
        Assert.That(dataRow.AsSpan(0, 5 + 2 + 4 + 1 + 4).ToArray(), Is.EqualTo(new byte[] { (byte)'D', 0, 0, 0, 15, 0, 2, 0, 0, 0, 1, (byte)'1', 0xFF, 0xFF, 0xFF, 0xFF }));
    }
}
