using System.Text;
using System.Text.Json;

namespace HeliosNano.Realtime.Tests;

/// <summary>
/// Many committing threads hand changes to a sequencer, one tail thread publishes them (and lost ranges) at the log's
/// positions into two notifiers (two nodes), and readers, some slow, must see on both nodes the same change at the same
/// position, in order, exactly once, or an exactly counted lag.
/// </summary>
[NonParallelizable]
public class SequencedChangeWriterStressTests
{
    [Test]
    [CancelAfter(120_000)]
    public async Task SequencedPublish_ManyWritersTwoNodes_SamePositionsNothingLostDuplicatedOrReordered(CancellationToken cancellationToken)
    {
        const int Producers = 4;
        const int PerProducer = 50_000;
        using ChangeNotifier origin = TestRows.CreateNotifier(capacity: 64);
        using ChangeNotifier other = TestRows.CreateNotifier(capacity: 64);
        var sequencer = new SequencedChangeWriterTests.QueueSequencer();
        origin.UseSequencer(sequencer);
        SequencedChangeWriter originWriter = sequencer.Writer!;
        SequencedChangeWriter otherWriter = other.UseSequencer(new SequencedChangeWriterTests.RecordingSequencer());

        // The log as the tail saw it: position -> (producer, counter), or a lost range.
        var logged = new Dictionary<long, (int P, int C)>();
        var voids = new List<(long First, long Last)>();
        ReaderCheck[] checks =
        [
            new(origin.Subscribe(new ChangeSubscriptionOptions { Name = "fast" }), SlowEvery: 0, voids),
            new(origin.Subscribe(new ChangeSubscriptionOptions { Name = "slow" }), SlowEvery: 64, voids),
            new(other.Subscribe(new ChangeSubscriptionOptions { Name = "other-fast" }), SlowEvery: 0, voids),
            new(other.Subscribe(new ChangeSubscriptionOptions { Name = "other-slow" }), SlowEvery: 97, voids),
        ];
        Task[] readers = [.. checks.Select(c => Task.Run(() => c.RunAsync(cancellationToken), cancellationToken))];

        var tail = new Thread(() =>
        {
            long position = 0;
            int index = 0;
            foreach (ChangeEvent? change in sequencer.Log.GetConsumingEnumerable(cancellationToken))
            {
                if (change is null)
                {
                    break; // the producers are done
                }

                if (++index % 7_000 == 0)
                {
                    // A sequence jump (a new epoch): void positions, never counted.
                    Assert.That(originWriter.PublishVoid(position + 1, position + 3_000), Is.True);
                    Assert.That(otherWriter.PublishVoid(position + 1, position + 3_000), Is.True);
                    lock (voids)
                    {
                        voids.Add((position + 1, position + 3_000));
                    }

                    position += 3_000;
                }

                if (index % 5_000 == 0)
                {
                    // A dropped burst, reported as a lost range at the same point on both nodes.
                    Assert.That(originWriter.PublishLost(position + 1, position + 100), Is.True);
                    Assert.That(otherWriter.PublishLost(position + 1, position + 100), Is.True);
                    position += 100;
                }

                position++;
                ChangeTable originTable = origin.GetTable(change.Schema, change.Table);
                ChangeTable otherTable = other.GetTable(change.Schema, change.Table);
                originWriter.Publish(position, originTable, change.Kind, change.Record.Span, change.OldRecord.Span, change.CommitTimestamp);
                otherWriter.Publish(position, otherTable, change.Kind, change.Record.Span, change.OldRecord.Span, change.CommitTimestamp);
                logged[position] = Decode(change.Record.Span);
            }
        });
        tail.Start();

        Thread[] writers = [.. Enumerable.Range(0, Producers).Select(p => new Thread(() =>
        {
            ChangeTable table = origin.GetTable("public", "t" + p);
            for (int c = 0; c < PerProducer; c++)
            {
                origin.Notify(table, ChangeKind.Insert, Encoding.UTF8.GetBytes($$"""{"p":{{p}},"c":{{c}}}"""), []);
            }
        }))];
        foreach (Thread writer in writers)
        {
            writer.Start();
        }

        foreach (Thread writer in writers)
        {
            writer.Join();
        }

        sequencer.Log.Add(null, cancellationToken);
        tail.Join();
        long total = origin.LastSequence;
        origin.Complete();
        other.Complete();
        await Task.WhenAll(readers);

        Assert.That(total, Is.EqualTo(other.LastSequence));
        Assert.That(voids, Is.Not.Empty);
        Assert.That(logged, Has.Count.EqualTo(Producers * PerProducer), "every submitted change was logged once");
        // Per producer, the log keeps the order of its Notify calls.
        foreach (IGrouping<int, (int P, int C)> producer in logged.OrderBy(e => e.Key).Select(e => e.Value).GroupBy(v => v.P))
        {
            Assert.That(producer.Select(v => v.C), Is.EqualTo(Enumerable.Range(0, PerProducer)));
        }

        foreach (ReaderCheck check in checks)
        {
            Assert.That(check.Errors, Is.Empty, check.Reader.Name);
            Assert.That(check.Received + check.Reader.Missed, Is.EqualTo(total - ReaderCheck.CountVoid(voids, 1, total)), $"{check.Reader.Name}: every non-void position received or counted missed");
            foreach ((long sequence, (int P, int C) value) in check.Seen)
            {
                if (logged[sequence] != value)
                {
                    Assert.Fail($"{check.Reader.Name}: position {sequence} held {value}, the log says {logged[sequence]}");
                }
            }
        }

        Assert.That(checks.Single(c => c.Reader.Name == "slow").Reader.Missed, Is.GreaterThan(4_000), "lapped beyond the lost ranges, so the test means something");
    }

    private static (int P, int C) Decode(ReadOnlySpan<byte> record)
    {
        var reader = new Utf8JsonReader(record);
        using JsonDocument document = JsonDocument.ParseValue(ref reader);
        return (document.RootElement.GetProperty("p").GetInt32(), document.RootElement.GetProperty("c").GetInt32());
    }

    private sealed record ReaderCheck(ChangeReader Reader, int SlowEvery, List<(long First, long Last)> Voids)
    {
        public static long CountVoid(List<(long First, long Last)> voids, long first, long last)
        {
            lock (voids)
            {
                return voids.Sum(v => Math.Max(0, Math.Min(last, v.Last) - Math.Max(first, v.First) + 1));
            }
        }

        public List<string> Errors { get; } = [];

        public List<(long Sequence, (int P, int C) Value)> Seen { get; } = [];

        public long Received { get; private set; }

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            long last = 0;
            long missedSum = 0;
            while (await Reader.WaitToReadAsync(cancellationToken))
            {
                while (Reader.TryRead(out ChangeEvent? change, out long missed))
                {
                    missedSum += missed;
                    if (change.Sequence <= last)
                    {
                        Errors.Add($"{change.Sequence} after {last}");
                    }

                    if (change.Sequence - last - 1 - CountVoid(Voids, last + 1, change.Sequence - 1) != missed)
                    {
                        Errors.Add($"hole {last + 1}..{change.Sequence - 1} but {missed} reported");
                    }

                    last = change.Sequence;
                    Received++;
                    Seen.Add((change.Sequence, Decode(change.Record.Span)));
                    if (SlowEvery > 0 && Received % SlowEvery == 0)
                    {
                        await Task.Delay(1, cancellationToken);
                    }
                }
            }

            if (missedSum != Reader.Missed)
            {
                Errors.Add($"reported {missedSum}, counted {Reader.Missed}");
            }
        }
    }
}
