using System.Collections.Concurrent;
using System.Text;

namespace HeliosNano.Realtime.Tests;

/// <summary>
/// The externally sequenced path: a notifier with a sequencer hands its changes over instead of numbering them, and the
/// single writer publishes changes and lost ranges at the positions a shared log gave them.
/// </summary>
public class SequencedChangeWriterTests
{
    [Test]
    public void Notify_WithSequencer_HandsChangeOverWithoutPublishing()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        var sequencer = new RecordingSequencer();
        notifier.UseSequencer(sequencer);
        using ChangeReader reader = notifier.Subscribe();

        long ticket = notifier.Insert(id: 7);
        long lostTicket = notifier.NotifyLost("public", "orders", ChangeKind.Update);

        Assert.Multiple(() =>
        {
            Assert.That(ticket, Is.EqualTo(1));
            Assert.That(lostTicket, Is.EqualTo(2));
            Assert.That(sequencer.Submitted.Select(TestRows.IdOf), Is.EqualTo(new long[] { 7 }));
            Assert.That(sequencer.Submitted[0].Sequence, Is.Zero, "numbered by the log, not here");
            Assert.That(sequencer.Lost, Is.EqualTo(new[] { ("orders", ChangeKind.Update) }));
            Assert.That(notifier.LastSequence, Is.Zero);
            Assert.That(reader.TryRead(out _), Is.False);
        });
    }

    [Test]
    public void Notify_WithSequencer_UnwatchedTableIsStillHandedOver()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        var sequencer = new RecordingSequencer();
        notifier.UseSequencer(sequencer);

        notifier.Insert("nobody_here", id: 3);

        Assert.That(sequencer.Submitted.Select(TestRows.IdOf), Is.EqualTo(new long[] { 3 }), "another node may watch it");
        Assert.That(notifier.GetTable("public", "nobody_here").IsWatched, Is.True);
    }

    [Test]
    public void UseSequencer_AfterAPublishOrTwice_Throws()
    {
        using ChangeNotifier used = TestRows.CreateNotifier();
        using ChangeReader reader = used.Subscribe();
        used.Insert();
        Assert.Throws<InvalidOperationException>(() => used.UseSequencer(new RecordingSequencer()));

        using ChangeNotifier twice = TestRows.CreateNotifier();
        twice.UseSequencer(new RecordingSequencer());
        Assert.Throws<InvalidOperationException>(() => twice.UseSequencer(new RecordingSequencer()));
    }

    [Test]
    public void Publish_AtGivenSequences_ReadersGetThemInOrderWithTheLogsNumbers()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        SequencedChangeWriter writer = notifier.UseSequencer(new RecordingSequencer());
        using ChangeReader reader = notifier.Subscribe();
        ChangeTable orders = notifier.GetTable("public", "orders");
        IReadOnlyList<ChangeColumn> columns = [new("id", "int8")];

        writer.Publish(1, orders, ChangeKind.Insert, TestRows.RowWithId(1), [], DateTimeOffset.UnixEpoch, columns);
        writer.Publish(2, orders, ChangeKind.Delete, [], TestRows.RowWithId(1), DateTimeOffset.UnixEpoch, columns);

        List<ChangeEvent> changes = TestRows.ReadAvailable(reader);
        Assert.Multiple(() =>
        {
            Assert.That(changes.Select(c => c.Sequence), Is.EqualTo(new long[] { 1, 2 }));
            Assert.That(changes.Select(c => c.Kind), Is.EqualTo(new[] { ChangeKind.Insert, ChangeKind.Delete }));
            Assert.That(Encoding.UTF8.GetString(changes[0].ColumnsJson.Span), Is.EqualTo("""[{"name":"id","type":"int8"}]"""));
            Assert.That(changes[1].ColumnsJson.Span.SequenceEqual(changes[0].ColumnsJson.Span), Is.True);
        });
    }

    [Test]
    public void Publish_NotTheNextPosition_Throws()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        SequencedChangeWriter writer = notifier.UseSequencer(new RecordingSequencer());
        ChangeTable orders = notifier.GetTable("public", "orders");
        writer.Publish(1, orders, ChangeKind.Insert, TestRows.RowWithId(1), [], DateTimeOffset.UnixEpoch);

        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Publish(1, orders, ChangeKind.Insert, TestRows.RowWithId(1), [], DateTimeOffset.UnixEpoch), "a duplicate");
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Publish(3, orders, ChangeKind.Insert, TestRows.RowWithId(1), [], DateTimeOffset.UnixEpoch), "a hole");
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.PublishLost(3, 4), "a hole before a lost range");
    }

    [Test]
    public void PublishLost_CountsEveryPositionAsMissedWhateverTheFilter()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: 8);
        SequencedChangeWriter writer = notifier.UseSequencer(new RecordingSequencer());
        using ChangeReader other = notifier.Subscribe(ChangeFilter.For("public", "other"));
        using ChangeReader all = notifier.Subscribe();
        ChangeTable orders = notifier.GetTable("public", "orders");

        writer.Publish(1, orders, ChangeKind.Insert, TestRows.RowWithId(1), [], DateTimeOffset.UnixEpoch);
        writer.PublishLost(2, 4);
        writer.Publish(5, orders, ChangeKind.Insert, TestRows.RowWithId(5), [], DateTimeOffset.UnixEpoch);

        var reports = new List<long>();
        using ChangeReader reported = notifier.Subscribe(new ChangeSubscriptionOptions { StartAfterSequence = 0, OnLagged = (_, n) => reports.Add(n) });
        Assert.That(TestRows.ReadAvailable(reported).Select(c => c.Sequence), Is.EqualTo(new long[] { 1, 5 }));
        Assert.That(reports, Is.EqualTo(new long[] { 3 }), "one lost range, one report");
        Assert.That(all.TryRead(out ChangeEvent? first, out long missed) && first.Sequence == 1 && missed == 0, Is.True);
        Assert.That(all.TryRead(out ChangeEvent? fifth, out missed), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(fifth!.Sequence, Is.EqualTo(5));
            Assert.That(missed, Is.EqualTo(3));
            Assert.That(other.TryRead(out _), Is.False);
            Assert.That(other.Missed, Is.EqualTo(3), "the gap's table is unknown: a filtered reader counts it too");
        });
    }

    [Test]
    public void PublishLost_RangeLongerThanTheRing_ReaderIsToldTheExactCount()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: 8);
        SequencedChangeWriter writer = notifier.UseSequencer(new RecordingSequencer());
        using ChangeReader reader = notifier.Subscribe();
        ChangeTable orders = notifier.GetTable("public", "orders");

        writer.PublishLost(1, 1_000_000);
        writer.Publish(1_000_001, orders, ChangeKind.Insert, TestRows.RowWithId(1), [], DateTimeOffset.UnixEpoch);

        Assert.That(reader.TryRead(out ChangeEvent? change, out long missed), Is.True);
        Assert.That((change!.Sequence, missed), Is.EqualTo((1_000_001L, 1_000_000L)));
    }

    [Test]
    public void PublishVoid_RangeLongerThanTheRing_PassedWithoutCountingWhileLossesAroundItCount()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier(capacity: 8);
        SequencedChangeWriter writer = notifier.UseSequencer(new RecordingSequencer());
        using ChangeReader reader = notifier.Subscribe();
        ChangeTable orders = notifier.GetTable("public", "orders");

        writer.PublishLost(1, 2);
        writer.PublishVoid(3, 1_000_000);
        writer.Publish(1_000_001, orders, ChangeKind.Insert, TestRows.RowWithId(1), [], DateTimeOffset.UnixEpoch);
        using ChangeReader late = notifier.Subscribe(new ChangeSubscriptionOptions { StartAfterSequence = 10 });

        Assert.That(reader.TryRead(out ChangeEvent? change, out long missed), Is.True);
        Assert.That((change!.Sequence, missed), Is.EqualTo((1_000_001L, 2L)));
        Assert.That(late.TryRead(out change, out missed), Is.True);
        Assert.That((change!.Sequence, missed, late.Missed), Is.EqualTo((1_000_001L, 0L, 0L)));
    }

    [Test]
    public void Subscribe_ResumingAfterAPositionTheLogHoldsButTheRingNotYet_WaitsInsteadOfRepeating()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        SequencedChangeWriter writer = notifier.UseSequencer(new RecordingSequencer());
        ChangeTable orders = notifier.GetTable("public", "orders");
        writer.Publish(1, orders, ChangeKind.Insert, TestRows.RowWithId(1), [], DateTimeOffset.UnixEpoch);
        writer.ReportKnownSequence(3); // another node already delivered 2 and 3

        using ChangeReader reader = notifier.Subscribe(new ChangeSubscriptionOptions { StartAfterSequence = 3 });
        writer.Publish(2, orders, ChangeKind.Insert, TestRows.RowWithId(2), [], DateTimeOffset.UnixEpoch);
        writer.Publish(3, orders, ChangeKind.Insert, TestRows.RowWithId(3), [], DateTimeOffset.UnixEpoch);
        writer.Publish(4, orders, ChangeKind.Insert, TestRows.RowWithId(4), [], DateTimeOffset.UnixEpoch);

        Assert.That(notifier.KnownSequence, Is.EqualTo(4));
        Assert.That(TestRows.ReadAvailable(reader).Select(c => c.Sequence), Is.EqualTo(new long[] { 4 }));
    }

    [Test]
    public void Complete_StopsTheSequencedWriter()
    {
        using ChangeNotifier notifier = TestRows.CreateNotifier();
        SequencedChangeWriter writer = notifier.UseSequencer(new RecordingSequencer());
        ChangeTable orders = notifier.GetTable("public", "orders");
        writer.Publish(1, orders, ChangeKind.Insert, TestRows.RowWithId(1), [], DateTimeOffset.UnixEpoch);

        notifier.Complete();

        Assert.That(writer.Publish(2, orders, ChangeKind.Insert, TestRows.RowWithId(2), [], DateTimeOffset.UnixEpoch), Is.False);
        Assert.That(notifier.LastSequence, Is.EqualTo(1));
    }

    /// <summary>Keeps what the notifier hands over.</summary>
    internal sealed class RecordingSequencer : IChangeSequencer
    {
        public List<ChangeEvent> Submitted { get; } = [];

        public List<(string Table, ChangeKind Kind)> Lost { get; } = [];

        public SequencedChangeWriter? Writer { get; private set; }

        public void Attach(SequencedChangeWriter writer) => Writer = writer;

        public void Submit(ChangeEvent change) => Submitted.Add(change);

        public void SubmitLost(ChangeTable table, ChangeKind kind, DateTimeOffset commitTimestamp) => Lost.Add((table.Name, kind));
    }

    /// <summary>A thread-safe log: what a backplane's append does, in memory.</summary>
    internal sealed class QueueSequencer : IChangeSequencer
    {
        public BlockingCollection<ChangeEvent?> Log { get; } = [];

        public SequencedChangeWriter? Writer { get; private set; }

        public void Attach(SequencedChangeWriter writer) => Writer = writer;

        public void Submit(ChangeEvent change) => Log.Add(change);

        public void SubmitLost(ChangeTable table, ChangeKind kind, DateTimeOffset commitTimestamp) => Log.Add(null);
    }
}
