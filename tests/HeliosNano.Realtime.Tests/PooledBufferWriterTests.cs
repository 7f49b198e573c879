using System.Text.Json;

namespace HeliosNano.Realtime.Tests;

public class PooledBufferWriterTests
{
    [Test]
    public void GetSpanAndAdvance_ManyGrowths_KeepEveryByteInOrder()
    {
        using var writer = new PooledBufferWriter(16);
        var expected = new List<byte>();
        var random = new Random(3);
        for (int i = 0; i < 2000; i++)
        {
            int count = random.Next(1, 300);
            Span<byte> span = writer.GetSpan(count);
            for (int j = 0; j < count; j++)
            {
                span[j] = (byte)(i + j);
                expected.Add((byte)(i + j));
            }

            writer.Advance(count);
        }

        Assert.That(writer.WrittenSpan.ToArray(), Is.EqualTo(expected.ToArray()));
    }

    [Test]
    public void Advance_PastTheEnd_Throws()
    {
        using var writer = new PooledBufferWriter(16);
        int length = writer.GetSpan(1).Length;
        Assert.Throws<InvalidOperationException>(() => writer.Advance(length + 1));
    }

    [Test]
    public void Shrink_AfterALargeImage_KeepsASmallArray()
    {
        using var writer = new PooledBufferWriter(1024);
        writer.GetSpan(1 << 20);
        writer.Advance(1 << 20);
        writer.Shrink(64 * 1024);
        Assert.That((writer.WrittenCount, writer.Capacity <= 64 * 1024), Is.EqualTo((0, true)));
    }

    [Test]
    public void Notify_LargeRow_AllocatesAboutItsFinalCopyNotEveryDoubling()
    {
        // Before the pooled buffer, a 4 MiB image allocated every doubling from 1 KiB up (~8 MiB more than the copy).
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        using ChangeReader reader = notifier.Subscribe();
        ChangeTable table = notifier.GetTable("public", "docs");
        string text = new('x', 4 << 20);
        ChangeRowWriter<string> rowWriter = static (Utf8JsonWriter w, string s, RowImage _) =>
        {
            w.WriteStartObject();
            w.WriteString("body", s);
            w.WriteEndObject();
        };
        notifier.Notify(table, ChangeKind.Insert, text, rowWriter); // warm up: the pool, JIT, the thread's buffer

        long before = GC.GetAllocatedBytesForCurrentThread();
        notifier.Notify(table, ChangeKind.Insert, text, rowWriter);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.LessThan((long)(1.5 * (4 << 20))), $"allocated {allocated:N0} B for a 4 MiB image");
    }
}
