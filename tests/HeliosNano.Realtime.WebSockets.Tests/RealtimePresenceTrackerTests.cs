using System.Globalization;
using System.Text;
using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>The presence tracker's own costs: a diff carries only what changed; a state copies encoded metas.</summary>
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
