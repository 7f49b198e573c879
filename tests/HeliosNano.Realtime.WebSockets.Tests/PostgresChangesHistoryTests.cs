using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>
/// Replay beyond the ring: a join whose <c>last_seq</c> is older than the ring holds gets the missing changes from the
/// registered <see cref="IChangeHistory"/> (here an in-memory log standing in for the Redis backplane), then the ring.
/// </summary>
public class PostgresChangesHistoryTests
{
    private const string OrdersBinding = """{"event":"*","schema":"public","table":"orders"}""";

    [Test]
    [CancelAfter(20_000)]
    public async Task LastSeqOlderThanTheRing_GetsExactlyTheMissingChangesInOrder_FilteredAsLive_ThenLive(CancellationToken ct)
    {
        var log = new InProcessChangeLog { ReadBatch = 7 };
        await using RealtimeServer server = await StartAsync(log, capacity: 16);
        for (int i = 1; i <= 100; i++)
        {
            server.Notify(ChangeKind.Insert, $$"""{"id":{{i}}}""");
            server.Notify(ChangeKind.Insert, $$"""{"id":{{i}},"title":"other table"}""", table: "todos");
        }

        long first = log.LastSequence - 199; // the first orders change
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        const string Filtered = """{"event":"INSERT","schema":"public","table":"orders","filter":"id=gt.40"}""";
        await client.JoinAsync("realtime:replay", $$$$"""{"config":{"postgres_changes":[{{{{Filtered}}}}],"postgres_changes_options":{"last_seq":{{{{first}}}}}}}""", "1", ct);
        server.Notify(ChangeKind.Insert, """{"id":101}""");
        long live = log.LastSequence;

        (long[] seqs, (long Missed, long Resume)[] lags, int[] ids) = await CollectAsync(client, "realtime:replay", live, ct);
        using (Assert.EnterMultipleScope())
        {
            // orders id 41..100 sit at first + 2 * (id - 1); the todos changes and ids up to 40 are filtered out, as live.
            Assert.That(seqs, Is.EqualTo(Enumerable.Range(41, 60).Select(id => first + (2 * (id - 1))).Append(live)));
            Assert.That(ids, Is.EqualTo(Enumerable.Range(41, 61)), "the images come from the history, in order");
            Assert.That(lags, Is.Empty, "the history held everything the ring had overwritten");
            Assert.That(log.Reads, Is.GreaterThan(1), "read in batches");
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task HistoryTrimmedAndWithAGap_ExactLagForWhatItNoLongerHolds_ThenTheRest_VoidNotCounted(CancellationToken ct)
    {
        var log = new InProcessChangeLog { ReadBatch = 10 };
        await using RealtimeServer server = await StartAsync(log, capacity: 16);
        server.Notify(ChangeKind.Insert, """{"id":0}""");
        long lastSeen = log.LastSequence;
        for (int i = 1; i <= 60; i++)
        {
            server.Notify(ChangeKind.Insert, $$"""{"id":{{i}}}""");
        }

        server.Notifier!.NotifyLost("public", "orders", ChangeKind.Insert); // a gap in the log
        long gap = log.LastSequence;
        log.Jump(25); // an epoch: positions that never held a change
        for (int i = 61; i <= 100; i++)
        {
            server.Notify(ChangeKind.Insert, $$"""{"id":{{i}}}""");
        }

        log.TrimmedThrough = lastSeen + 20; // the log lost ids 1..20
        long last = log.LastSequence;
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinAsync("realtime:replay", $$$$"""{"config":{"postgres_changes":[{{{{OrdersBinding}}}}],"postgres_changes_options":{"last_seq":{{{{lastSeen}}}}}}}""", "1", ct);

        (long[] seqs, (long Missed, long Resume)[] lags, int[] ids) = await CollectAsync(client, "realtime:replay", last, ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(lags, Is.EqualTo(new[] { (20L, lastSeen + 21), (1L, gap + 1) }), "the trimmed part, then the gap; the jump is not a loss");
            Assert.That(ids, Is.EqualTo(Enumerable.Range(21, 80)));
            Assert.That(seqs[..40], Is.EqualTo(Enumerable.Range(21, 40).Select(i => lastSeen + i)));
            Assert.That(seqs[40..], Is.EqualTo(Enumerable.Range(0, 40).Select(i => gap + 26 + i)));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task HistoryFails_TheMissingPositionsAreReportedAsLag_ThenTheRingContinues(CancellationToken ct)
    {
        var log = new InProcessChangeLog { Fail = true };
        await using RealtimeServer server = await StartAsync(log, capacity: 16);
        for (int i = 1; i <= 50; i++)
        {
            server.Notify(ChangeKind.Insert, $$"""{"id":{{i}}}""");
        }

        long first = log.LastSequence - 49;
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinOrdersAsync("realtime:live", "1", ct);
        await client.HeartbeatAsync("hb", ct); // the connection's cursor is at the tail
        long tail = log.LastSequence;
        await client.JoinAsync("realtime:replay", $$$$"""{"config":{"postgres_changes":[{{{{OrdersBinding}}}}],"postgres_changes_options":{"last_seq":{{{{first}}}}}}}""", "2", ct);
        server.Notify(ChangeKind.Insert, """{"id":51}""");

        (long[] seqs, (long Missed, long Resume)[] lags, _) = await CollectAsync(client, "realtime:replay", log.LastSequence, ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(lags, Is.EqualTo(new[] { (tail - first, tail + 1) }), "everything after last_seq up to the cursor, exactly");
            Assert.That(seqs, Is.EqualTo(new[] { tail + 1 }));
        }
    }

    // Writers keep committing while the channel replays: the ring laps many times during the history reads, the
    // channel must still see one gap-free, duplicate-free, ordered run, and the live channel beside it too.
    [Test]
    [CancelAfter(60_000)]
    [Repeat(5)]
    public async Task ConcurrentWritesDuringTheReplay_NoGapNoDuplicateNoReorder(CancellationToken ct)
    {
        const int Capacity = 64;
        const int Before = 10 * Capacity;
        const int During = 30 * Capacity;
        var log = new InProcessChangeLog { ReadBatch = 13, Asynchronous = TestContext.CurrentContext.CurrentRepeatCount % 2 == 0 };
        await using RealtimeServer server = await StartAsync(log, capacity: Capacity);
        server.Notify(ChangeKind.Insert, """{"id":0}""");
        long lastSeen = log.LastSequence;
        for (int i = 1; i <= Before; i++)
        {
            server.Notify(ChangeKind.Insert, $$"""{"id":{{i}}}""");
        }

        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinOrdersAsync("realtime:live", "1", ct);
        long liveFrom = log.LastSequence;
        await client.JoinAsync("realtime:replay", $$$$"""{"config":{"postgres_changes":[{{{{OrdersBinding}}}}],"postgres_changes_options":{"last_seq":{{{{lastSeen}}}}}}}""", "2", ct);

        // Two writers that stay at most half a ring ahead of what the live channel received, so the ring never laps the
        // connection's cursor (no legitimate lag), while the replaying channel starts ten rings behind and chases a
        // tail that keeps moving, through history. In the second half the writers also wait for the replaying
        // channel, so it catches up and hands over to the ring while they still write.
        long liveReceived = liveFrom;
        long replayReceived = lastSeen;
        using var progress = new SemaphoreSlim(0);
        int next = Before;
        Task[] writers = [.. Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            int id;
            while ((id = Interlocked.Increment(ref next)) <= Before + During)
            {
                while (log.LastSequence - Interlocked.Read(ref liveReceived) > Capacity / 2
                    || (id > Before + (During / 2) && log.LastSequence - Interlocked.Read(ref replayReceived) > Capacity / 2))
                {
                    await progress.WaitAsync(TimeSpan.FromMilliseconds(50), ct);
                }

                server.Notify(ChangeKind.Insert, $$"""{"id":{{id}}}""");
            }
        }, ct))];

        var replayed = new List<long>();
        var live = new List<long>();
        var lags = new List<string>();
        long end = lastSeen + Before + During;
        while (replayed.Count == 0 || replayed[^1] < end || live.Count == 0 || live[^1] < end)
        {
            Frame frame = await client.ReceiveAsync(ct) ?? throw new AssertionException("closed");
            if (frame.Event == "postgres_changes")
            {
                long seq = frame.Payload.GetProperty("seq").GetInt64();
                (frame.Topic == "realtime:replay" ? replayed : live).Add(seq);
                Interlocked.Exchange(ref frame.Topic == "realtime:replay" ? ref replayReceived : ref liveReceived, seq);
                progress.Release();
            }
            else if (frame.Event == "system" && frame.Payload.GetProperty("status").GetString() == "error")
            {
                lags.Add(frame.Text);
            }
        }

        await Task.WhenAll(writers);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(lags, Is.Empty);
            Assert.That(replayed, Is.EqualTo(Enumerable.Range(1, Before + During).Select(i => lastSeen + i)), "every change once, in order");
            Assert.That(live, Is.EqualTo(Enumerable.Range(1, (int)(end - liveFrom)).Select(i => liveFrom + i)), "the live channel is not disturbed");
            Assert.That(log.Reads, Is.GreaterThan(Before / 13), "the replay came from the history");
            Assert.That(log.LastRequested, Is.LessThan(end), "it handed over to the ring while the writers still wrote");
        }
    }

    private static Task<RealtimeServer> StartAsync(InProcessChangeLog log, int capacity) => RealtimeServer.StartAsync(capacity: capacity, configureServices: services =>
    {
        services.AddSingleton<IChangeSequencer>(log);
        services.AddSingleton<IChangeHistory>(log);
    });

    /// <summary>Receives until <paramref name="topic"/> got the change at <paramref name="last"/>: its seqs, its lag reports and the ids in its records.</summary>
    private static async Task<(long[] Seqs, (long Missed, long Resume)[] Lags, int[] Ids)> CollectAsync(TestClient client, string topic, long last, CancellationToken ct)
    {
        var seqs = new List<long>();
        var lags = new List<(long, long)>();
        var ids = new List<int>();
        while (seqs.Count == 0 || seqs[^1] < last)
        {
            Frame frame = await client.ReceiveAsync(ct) ?? throw new AssertionException("closed");
            if (frame.Topic != topic)
            {
                continue;
            }

            if (frame.Event == "postgres_changes")
            {
                seqs.Add(frame.Payload.GetProperty("seq").GetInt64());
                ids.Add(frame.Payload.GetProperty("data").GetProperty("record").GetProperty("id").GetInt32());
            }
            else if (frame.Event == "system" && frame.Payload.GetProperty("status").GetString() == "error" && frame.Payload.TryGetProperty("missed", out JsonElement missed))
            {
                lags.Add((missed.GetInt64(), frame.Payload.GetProperty("resume_seq").GetInt64()));
            }
        }

        return ([.. seqs], [.. lags], [.. ids]);
    }
}
