using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using HeliosNano.Realtime.Sample.Pg;

namespace HeliosNano.Realtime.Sample.Tests.Pg;

public class PgMessageReaderTests
{
    [Test]
    public void TryRead_EveryMessageCutAtEveryByte_ParsesTheSameAsCoalesced()
    {
        byte[] stream = [.. Message('Q', "SELECT 1;\0"), .. Message('S', string.Empty), .. Message('Q', "INSERT INTO t VALUES ('é');\0"), .. Message('X', string.Empty)];
        List<(byte Type, string Body)> coalesced = ReadAll(new ReadOnlySequence<byte>(stream));
        Assert.That(coalesced.Select(m => (char)m.Type), Is.EqualTo(new[] { 'Q', 'S', 'Q', 'X' }));

        for (int cut = 1; cut < stream.Length; cut++)
        {
            for (int second = cut + 1; second <= stream.Length; second++)
            {
                List<(byte Type, string Body)> split = ReadAll(Segments(stream, cut, second));
                Assert.That(split, Is.EqualTo(coalesced), $"cut at {cut} and {second}");
            }
        }
    }

    [Test]
    public void TryRead_FramingAcrossSegments_AllocatesNothing()
    {
        byte[] stream = [.. Message('Q', "SELECT 1;\0"), .. Message('S', string.Empty), .. Message('Q', "SELECT 2;\0")];
        ReadOnlySequence<byte> all = Segments(stream, 3, 17);
        int Frame()
        {
            int count = 0;
            ReadOnlySequence<byte> buffer = all;
            while (PgMessageReader.TryRead(buffer, out PgFrontendMessage message, out SequencePosition consumed))
            {
                count += message.Type;
                buffer = buffer.Slice(consumed);
            }

            return count;
        }

        Frame();
        long before = GC.GetAllocatedBytesForCurrentThread();
        int total = 0;
        for (int i = 0; i < 1000; i++)
        {
            total += Frame();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, $"{total}");
    }

    [Test]
    public void TryRead_IncompleteMessage_WaitsForMore()
    {
        byte[] message = Message('Q', "SELECT 1;\0");
        for (int length = 0; length < message.Length; length++)
        {
            Assert.That(PgMessageReader.TryRead(new ReadOnlySequence<byte>(message, 0, length), out _, out _), Is.False, $"{length} bytes");
        }
    }

    [Test]
    public void TryRead_TwoGigabyteLength_IsRefusedAtOnce()
    {
        byte[] header = [(byte)'Q', 0x7F, 0xFF, 0xFF, 0xFF];
        Assert.Throws<PgProtocolException>(() => PgMessageReader.TryRead(new ReadOnlySequence<byte>(header), out _, out _));
    }

    [Test]
    public void TryRead_LengthBelowFour_IsRefused()
    {
        byte[] header = [(byte)'Q', 0, 0, 0, 3];
        Assert.Throws<PgProtocolException>(() => PgMessageReader.TryRead(new ReadOnlySequence<byte>(header), out _, out _));
    }

    [Test]
    public void TryReadStartup_GarbageBeforeStartUp_IsRefused()
    {
        byte[] http = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n\r\n");
        Assert.Throws<PgProtocolException>(() => PgMessageReader.TryReadStartup(new ReadOnlySequence<byte>(http), out _, out _));
    }

    [Test]
    public void TryReadStartup_SslRequestThenStartUp_FramesBothAtEveryCut()
    {
        byte[] ssl = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F];
        byte[] startup = Startup("user\0postgres\0database\0postgres\0\0");
        byte[] stream = [.. ssl, .. startup];
        for (int cut = 1; cut < stream.Length; cut++)
        {
            ReadOnlySequence<byte> buffer = Segments(stream, cut, stream.Length);
            Assert.That(PgMessageReader.TryReadStartup(buffer, out PgFrontendMessage first, out SequencePosition consumed), Is.True);
            PgMessageReader.TryReadInt32(first.Body, 0, out int code);
            Assert.That(code, Is.EqualTo(PgMessageReader.SslRequestCode));
            buffer = buffer.Slice(consumed);
            Assert.That(PgMessageReader.TryReadStartup(buffer, out PgFrontendMessage second, out consumed), Is.True);
            PgMessageReader.TryReadInt32(second.Body, 0, out code);
            Assert.That(code, Is.EqualTo(PgMessageReader.ProtocolVersion3));
            Assert.That(Encoding.ASCII.GetString(second.Body.Slice(4)), Is.EqualTo("user\0postgres\0database\0postgres\0\0"));
            Assert.That(buffer.Slice(consumed).Length, Is.Zero);
        }
    }

    internal static byte[] Message(char type, string body)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(body);
        var message = new byte[5 + bytes.Length];
        message[0] = (byte)type;
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), 4 + bytes.Length);
        bytes.CopyTo(message, 5);
        return message;
    }

    internal static byte[] Startup(string parameters)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(parameters);
        var message = new byte[8 + bytes.Length];
        BinaryPrimitives.WriteInt32BigEndian(message, message.Length);
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(4), PgMessageReader.ProtocolVersion3);
        bytes.CopyTo(message, 8);
        return message;
    }

    private static List<(byte Type, string Body)> ReadAll(ReadOnlySequence<byte> buffer)
    {
        var messages = new List<(byte, string)>();
        while (PgMessageReader.TryRead(buffer, out PgFrontendMessage message, out SequencePosition consumed))
        {
            messages.Add((message.Type, Encoding.UTF8.GetString(message.Body)));
            buffer = buffer.Slice(consumed);
        }

        Assert.That(buffer.Length, Is.Zero, "every byte framed");
        return messages;
    }

    /// <summary>The bytes as a sequence of up to three segments, cut at <paramref name="first"/> and <paramref name="second"/>.</summary>
    internal static ReadOnlySequence<byte> Segments(byte[] bytes, int first, int second)
    {
        var head = new Segment(bytes.AsMemory(0, first), 0);
        Segment tail = head.Append(bytes.AsMemory(first, second - first));
        if (second < bytes.Length)
        {
            tail = tail.Append(bytes.AsMemory(second));
        }

        return new ReadOnlySequence<byte>(head, 0, tail, tail.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
