using System.Buffers;
using HeliosNano.Realtime.Sample.Pg;

namespace HeliosNano.Realtime.Sample.Tests.Pg;

public class PgExtendedMessageReaderTests
{
    private static readonly byte[] s_pipeline =
    [
        .. PgWire.Parse("s1", "INSERT INTO orders (customer, total) VALUES ($1, $2)", 25, 1700),
        .. PgWire.Describe('S', "s1"),
        .. PgWire.Bind("p1", "s1", [0, 1], [[.. "Zoë"u8], [0, 1, 0, 0, 0, 0, 0, 0, 0, 42]], [1]),
        .. PgWire.Describe('P', "p1"),
        .. PgWire.Execute("p1", 10),
        .. PgWire.Close('P', "p1"),
        .. PgWire.Flush(),
        .. PgWire.Bind(string.Empty, "s1", [], [null, [.. "7"u8]], []),
        .. PgWire.Execute(string.Empty),
        .. PgWire.Close('S', "s1"),
        .. PgWire.Sync(),
    ];

    [Test]
    public void Read_EveryMessageCutAtEveryByte_DecodesTheSameAsCoalesced()
    {
        List<string> coalesced = DecodeAll(new ReadOnlySequence<byte>(s_pipeline));
        Assert.That(coalesced, Is.EqualTo(new[]
        {
            "P s1|INSERT INTO orders (customer, total) VALUES ($1, $2)|25,1700",
            "D S s1",
            "B p1|s1|0,1|Zoë,0001000000000000002A|1",
            "D P p1",
            "E p1|10",
            "C P p1",
            "H",
            "B |s1||NULL,7|",
            "E |0",
            "C S s1",
            "S",
        }));

        for (int cut = 1; cut < s_pipeline.Length; cut++)
        {
            for (int second = cut + 1; second <= s_pipeline.Length; second += 7)
            {
                Assert.That(DecodeAll(PgMessageReaderTests.Segments(s_pipeline, cut, second)), Is.EqualTo(coalesced), $"cut at {cut} and {second}");
            }
        }
    }

    [Test]
    public void Read_ExecuteDescribeCloseOfTheUnnamedPortal_AllocateNothing()
    {
        byte[] stream = [.. PgWire.Describe('P', string.Empty), .. PgWire.Execute(string.Empty), .. PgWire.Close('P', string.Empty), .. PgWire.Sync()];
        ReadOnlySequence<byte> all = PgMessageReaderTests.Segments(stream, 4, 13);
        int Decode()
        {
            int total = 0;
            ReadOnlySequence<byte> buffer = all;
            while (PgMessageReader.TryRead(buffer, out PgFrontendMessage message, out SequencePosition consumed))
            {
                total += message.Type switch
                {
                    (byte)'E' => PgExtendedMessageReader.ReadExecute(message.Body, out int rows).Length + rows,
                    (byte)'D' or (byte)'C' => PgExtendedMessageReader.ReadTarget(message.Body, out byte kind).Length + kind,
                    _ => 1,
                };
                buffer = buffer.Slice(consumed);
            }

            return total;
        }

        Decode();
        long before = GC.GetAllocatedBytesForCurrentThread();
        int sum = 0;
        for (int i = 0; i < 1000; i++)
        {
            sum += Decode();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, $"{sum}");
    }

    [Test]
    public void Read_ParseAndBindOfAnInsert_AllocateOnlyWhatTheyKeep()
    {
        // What a driver's INSERT … VALUES ($1, $2) costs to decode: the SQL string, the OID array, the Bind's arrays
        // and its two values (copied out of the receive buffer, which is released before the statement runs).
        byte[] parse = PgWire.Parse(string.Empty, "INSERT INTO bench (v, n) VALUES ($1, $2)", 25, 23);
        byte[] bind = PgWire.Bind(string.Empty, string.Empty, [1], [[.. "row"u8], [0, 0, 0, 7]], [1]);
        long parsed = Allocated(() => PgExtendedMessageReader.ReadParse(Body(parse)));
        long bound = Allocated(() => PgExtendedMessageReader.ReadBind(Body(bind)));
        TestContext.Out.WriteLine($"Parse: {parsed} B, Bind: {bound} B per message");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(parsed, Is.InRange(1, 400), "the SQL string, the OID array and the record");
            Assert.That(bound, Is.InRange(1, 400), "three small arrays, two values and the record");
        }
    }

    [TestCase(new byte[] { 0, 0, 0, 0, 0, 1, 0x7F, 0xFF, 0xFF, 0xF0, 1, 2, 3, 0, 0 }, TestName = "Bind_ParameterLengthPastTheEnd")]
    [TestCase(new byte[] { 0, 0, 0, 0, 0x7F, 0xFF, 0, 0, 0, 0 }, TestName = "Bind_ParameterCountPastTheEnd")]
    [TestCase(new byte[] { 0, 0, 0, 1, 0, 2, 0, 0, 0, 0 }, TestName = "Bind_FormatCodeTwo")]
    [TestCase(new byte[] { 0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE, 0, 0 }, TestName = "Bind_NegativeLength")]
    [TestCase(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 9 }, TestName = "Bind_TrailingBytes")]
    [TestCase(new byte[] { (byte)'p', (byte)'1' }, TestName = "Bind_UnterminatedName")]
    public void ReadBind_Malformed_IsAProtocolViolation(byte[] body) =>
        Assert.Throws<PgProtocolException>(() => PgExtendedMessageReader.ReadBind(new ReadOnlySequence<byte>(body)));

    [Test]
    public void ReadParse_TypeCountPastTheEnd_IsAProtocolViolation() =>
        Assert.Throws<PgProtocolException>(() => PgExtendedMessageReader.ReadParse(new ReadOnlySequence<byte>([0, (byte)'x', 0, 0x7F, 0xFF, 0, 0, 0, 23])));

    [Test]
    public void ReadTarget_UnknownKind_IsAProtocolViolation() =>
        Assert.Throws<PgProtocolException>(() => PgExtendedMessageReader.ReadTarget(new ReadOnlySequence<byte>([(byte)'X', 0]), out _));

    private static ReadOnlySequence<byte> Body(byte[] message) => new(message, 5, message.Length - 5);

    private static long Allocated(Action decode)
    {
        decode();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            decode();
        }

        return (GC.GetAllocatedBytesForCurrentThread() - before) / 100;
    }

    private static List<string> DecodeAll(ReadOnlySequence<byte> buffer)
    {
        var decoded = new List<string>();
        while (PgMessageReader.TryRead(buffer, out PgFrontendMessage message, out SequencePosition consumed))
        {
            decoded.Add(Decode(message));
            buffer = buffer.Slice(consumed);
        }

        Assert.That(buffer.Length, Is.Zero, "every byte framed");
        return decoded;
    }

    private static string Decode(PgFrontendMessage message)
    {
        switch (message.Type)
        {
            case (byte)'P':
                PgParseMessage parse = PgExtendedMessageReader.ReadParse(message.Body);
                return $"P {parse.Name}|{parse.Query}|{string.Join(',', parse.ParameterTypes)}";
            case (byte)'B':
                PgBindMessage bind = PgExtendedMessageReader.ReadBind(message.Body);
                IEnumerable<string> values = bind.Parameters.Select((v, i) => v is null ? "NULL" : bind.ParameterFormat(i) == 0 ? System.Text.Encoding.UTF8.GetString(v) : Convert.ToHexString(v));
                return $"B {bind.Portal}|{bind.Statement}|{string.Join(',', bind.ParameterFormats)}|{string.Join(',', values)}|{string.Join(',', bind.ResultFormats)}";
            case (byte)'D' or (byte)'C':
                string name = PgExtendedMessageReader.ReadTarget(message.Body, out byte kind);
                return $"{(char)message.Type} {(char)kind} {name}";
            case (byte)'E':
                string portal = PgExtendedMessageReader.ReadExecute(message.Body, out int rows);
                return $"E {portal}|{rows}";
            default:
                return ((char)message.Type).ToString();
        }
    }
}
