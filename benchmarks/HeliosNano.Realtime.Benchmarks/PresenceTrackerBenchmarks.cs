using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using HeliosNano.Realtime.WebSockets;

namespace HeliosNano.Realtime.Benchmarks;

/// <summary>
/// Issue 8, presence: what one join costs the presence tracker as the topic's members grow, without sockets. The
/// topic's members are real <see cref="RealtimeChannel"/>s in the real <see cref="DefaultRealtimeTopicManager"/>, with
/// no connection behind them (their <c>Deliver</c> does nothing), so the figures are the tracker's own work: finding
/// the channel's entry, building the one <c>presence_diff</c> (encoded once, whatever the member count) and handing it
/// to each member, and, for the joiner alone, the <c>presence_state</c> listing everyone.
/// </summary>
/// <remarks>
/// The per-member part of a real join (each connection queueing the diff and sending it) is measured end to end by the
/// load tool's <c>presence</c> scenario; here the member loop is a call per member.
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(BenchmarkConfig))]
public class PresenceTrackerBenchmarks
{
    private const string Topic = "realtime:lobby";

    private readonly byte[] _payload = Encoding.UTF8.GetBytes("""{"user":"m99999","status":"online","online_at":"2026-12-02T01:00:00.000Z"}""");
    private RealtimePresenceTracker _tracker = null!;
    private RealtimeChannel _joiner = null!;

    [Params(10, 100, 500, 1000)]
    public int Members { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var topics = new DefaultRealtimeTopicManager();
        _tracker = new RealtimePresenceTracker(topics);
        for (int i = 0; i < Members; i++)
        {
            var member = new RealtimeChannel(null, Topic, "1", [], arrayFormat: false) { PresenceEnabled = true, PresenceKey = "m" + i.ToString("D5", CultureInfo.InvariantCulture) };
            topics.AddAsync(member).AsTask().GetAwaiter().GetResult();
            byte[] meta = Encoding.UTF8.GetBytes($$"""{"user":"{{member.PresenceKey}}","status":"online","online_at":"2026-12-02T01:00:00.000Z"}""");
            _tracker.TrackAsync(member, member.PresenceKey, meta).AsTask().GetAwaiter().GetResult();
        }

        _joiner = new RealtimeChannel(null, Topic, "1", [], arrayFormat: false) { PresenceEnabled = true, PresenceKey = "m99999" };
        topics.AddAsync(_joiner).AsTask().GetAwaiter().GetResult();
    }

    /// <summary>A member joins (one diff to everyone) and leaves again (one diff), so the topic stays at <see cref="Members"/>.</summary>
    [Benchmark(Description = "track + untrack: two diffs, each queued to every member")]
    public async Task TrackThenUntrack()
    {
        await _tracker.TrackAsync(_joiner, _joiner.PresenceKey, _payload);
        await _tracker.UntrackAsync(_joiner);
    }

    /// <summary>The <c>presence_state</c> a joiner receives: every member's meta (grows with the members, as it must).</summary>
    [Benchmark(Description = "presence_state for the joiner")]
    public int StateForJoiner() => _tracker.GetStateJson(Topic).Length;
}
