using System.Collections.Concurrent;
using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets.Tests;

public class RealtimePresenceTrackerTests
{
    private const string Room = "realtime:room";

    private static RealtimeChannel NewChannel() => new(null, Room, "\"1\"", [], arrayFormat: true);

    [Test]
    public async Task GetMembers_ReflectsTracksUpdatesAndUntracks_AndAnEmptiedTopicIsDropped()
    {
        var tracker = new RealtimePresenceTracker(new DefaultRealtimeTopicManager());
        RealtimeChannel alice = NewChannel(), bob = NewChannel();

        await tracker.TrackAsync(alice, "alice", """{"v":1}"""u8.ToArray());
        await tracker.TrackAsync(bob, "bob", "{}"u8.ToArray());
        await tracker.TrackAsync(alice, "alice", """{"v":2}"""u8.ToArray());
        RealtimePresenceMeta[] both = [.. tracker.GetMembers(Room).OrderBy(m => m.Key, StringComparer.Ordinal)];
        await tracker.UntrackAsync(alice);
        int afterOneLeft = tracker.GetMembers(Room).Count;
        await tracker.UntrackAsync(bob);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(both.Select(m => m.Key), Is.EqualTo(new[] { "alice", "bob" }));
            Assert.That(both[0].Payload.ToArray(), Is.EqualTo("""{"v":2}"""u8.ToArray()), "an update replaces the meta");
            Assert.That(both[0].PresenceRef, Has.Length.EqualTo(16));
            Assert.That(afterOneLeft, Is.EqualTo(1));
            Assert.That(tracker.GetMembers(Room), Is.Empty);
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
        var recorder = new DiffRecorder(Room);
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
            Assert.That(tracker.GetMembers(Room), Is.Empty);
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
}
