using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>The presence tracker: its state under concurrent tracks and untracks, and its costs (a diff carries only what changed; a state copies encoded metas).</summary>
public class RealtimePresenceTrackerTests
{
    private const string Topic = "realtime:lobby";

    // Every join sends one diff, whatever the member count: the same bytes at 10 members as at 500.
    [Test]
    [CancelAfter(10_000)]
    public async Task Track_DiffSize_DoesNotGrowWithTheMembers(CancellationToken ct)
    {
        var topics = new RecordingTopicManager();
        var tracker = new RealtimePresenceTracker(topics);
        var sizes = new Dictionary<int, int>();
        for (int i = 0; i < 500; i++)
        {
            ct.ThrowIfCancellationRequested();
            await tracker.TrackAsync(Member(i), Key(i), Meta(i));
            if (i is 9 or 99 or 499)
            {
                sizes[i + 1] = topics.Last!.Payload.Length;
            }
        }

        Assert.That(sizes.Values.Distinct(), Has.Exactly(1).Items, string.Join(", ", sizes.Select(p => $"{p.Key} members: {p.Value} B")));
    }

    // The state lists every member (it must grow), but building it copies each meta encoded at track time: what it
    // allocates is about the state itself, not a parsed document per member (which was ~5.7x the state's size).
    [Test]
    [CancelAfter(10_000)]
    public async Task GetStateJson_FiveHundredMembers_AllocatesAboutTheStateItselfAndListsEveryone(CancellationToken ct)
    {
        var tracker = new RealtimePresenceTracker(new RecordingTopicManager());
        for (int i = 0; i < 500; i++)
        {
            ct.ThrowIfCancellationRequested();
            await tracker.TrackAsync(Member(i), Key(i), Meta(i));
        }

        tracker.GetStateJson(Topic); // warm up (JIT, size hint)
        long before = GC.GetAllocatedBytesForCurrentThread();
        byte[] state = tracker.GetStateJson(Topic);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        using JsonDocument parsed = JsonDocument.Parse(state);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(parsed.RootElement.EnumerateObject().Count(), Is.EqualTo(500));
            Assert.That(parsed.RootElement.GetProperty(Key(7)).GetProperty("metas")[0].GetProperty("user").GetString(), Is.EqualTo(Key(7)));
            Assert.That(allocated, Is.LessThan(4L * state.Length), $"allocated {allocated} B for a {state.Length} B state");
        }
    }

    [Test]
    public async Task GetMembers_ReflectsTracksUpdatesAndUntracks_AndAnEmptiedTopicIsDropped()
    {
        var tracker = new RealtimePresenceTracker(new DefaultRealtimeTopicManager());
        RealtimeChannel alice = NewChannel(), bob = NewChannel();

        await tracker.TrackAsync(alice, "alice", """{"v":1}"""u8.ToArray());
        await tracker.TrackAsync(bob, "bob", "{}"u8.ToArray());
        await tracker.TrackAsync(alice, "alice", """{"v":2}"""u8.ToArray());
        RealtimePresenceMeta[] both = [.. tracker.GetMembers(Topic).OrderBy(m => m.Key, StringComparer.Ordinal)];
        await tracker.UntrackAsync(alice);
        int afterOneLeft = tracker.GetMembers(Topic).Count;
        await tracker.UntrackAsync(bob);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(both.Select(m => m.Key), Is.EqualTo(new[] { "alice", "bob" }));
            Assert.That(both[0].Payload.ToArray(), Is.EqualTo("""{"v":2}"""u8.ToArray()), "an update replaces the meta");
            Assert.That(both[0].PresenceRef, Has.Length.EqualTo(16));
            Assert.That(afterOneLeft, Is.EqualTo(1));
            Assert.That(tracker.GetMembers(Topic), Is.Empty);
            Assert.That(tracker.TopicCount, Is.Zero, "the emptied topic is not held");
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ConcurrentTrackAndUntrack_EveryJoinHasItsLeave_AndNothingStaysPresent(CancellationToken ct)
    {
        // Writers race to empty and refill one topic: a track landing on a topic another thread just dropped must retry
        // on the new one, or its member would be present nowhere and its leave never sent.
        var topics = new DefaultRealtimeTopicManager();
        var tracker = new RealtimePresenceTracker(topics);
        var recorder = new DiffRecorder(Topic);
        await topics.AddAsync(recorder, ct);

        const int Writers = 4, Rounds = 3_000;
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            RealtimeChannel channel = NewChannel();
            for (int i = 0; i < Rounds && !ct.IsCancellationRequested; i++)
            {
                await tracker.TrackAsync(channel, $"w{w}", JsonSerializer.SerializeToUtf8Bytes(new { i }));
                if (i % 3 != 0)
                {
                    await tracker.UntrackAsync(channel);
                }
            }

            await tracker.UntrackAsync(channel);
        }, ct)));

        Dictionary<string, int> balance = recorder.Balance();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(tracker.GetMembers(Topic), Is.Empty);
            Assert.That(tracker.TopicCount, Is.Zero);
            Assert.That(balance.Where(kv => kv.Value != 0).Select(kv => $"{kv.Key}:{kv.Value}"), Is.Empty, "every ref joined once and left once");
            Assert.That(balance, Has.Count.GreaterThanOrEqualTo(Writers * Rounds), "every track made a join");
        }
    }

    /// <summary>A topic member that counts, per <c>phx_ref</c>, joins (+1) and leaves (−1) of the diffs it receives.</summary>
    private sealed class DiffRecorder(string topic) : IRealtimeTopicMember
    {
        private readonly ConcurrentQueue<byte[]> _diffs = new();

        public string Topic { get; } = topic;

        public void Deliver(RealtimeBroadcastMessage message) => _diffs.Enqueue(message.Payload.ToArray());

        public Dictionary<string, int> Balance()
        {
            var balance = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (byte[] diff in _diffs)
            {
                using JsonDocument doc = JsonDocument.Parse(diff);
                Count(doc.RootElement.GetProperty("joins"), +1);
                Count(doc.RootElement.GetProperty("leaves"), -1);
            }

            return balance;

            void Count(JsonElement side, int delta)
            {
                foreach (JsonProperty key in side.EnumerateObject())
                {
                    foreach (JsonElement meta in key.Value.GetProperty("metas").EnumerateArray())
                    {
                        string id = meta.GetProperty("phx_ref").GetString()!;
                        balance[id] = balance.GetValueOrDefault(id) + delta;
                    }
                }
            }
        }
    }

    private static RealtimeChannel NewChannel() => new(null, Topic, "\"1\"", [], arrayFormat: true);

    private static RealtimeChannel Member(int i) => new(null, Topic, "1", [], arrayFormat: false) { PresenceEnabled = true, PresenceKey = Key(i) };

    private static string Key(int i) => "m" + i.ToString("D5", CultureInfo.InvariantCulture);

    private static byte[] Meta(int i) => Encoding.UTF8.GetBytes($$"""{"user":"{{Key(i)}}","status":"online"}""");

    /// <summary>Keeps the last message sent, so a test can read the diff a track produced.</summary>
    private sealed class RecordingTopicManager : RealtimeTopicManager
    {
        public RealtimeBroadcastMessage? Last { get; private set; }

        public override ValueTask AddAsync(IRealtimeTopicMember member, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public override ValueTask RemoveAsync(IRealtimeTopicMember member, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public override ValueTask SendAsync(RealtimeBroadcastMessage message, IRealtimeTopicMember? except = null, CancellationToken cancellationToken = default)
        {
            Last = message;
            return ValueTask.CompletedTask;
        }

        public override int GetLocalMemberCount(string topic) => 0;
    }
}
