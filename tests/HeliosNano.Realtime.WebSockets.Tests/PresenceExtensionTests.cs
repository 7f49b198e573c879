using System.Text.Json;
using Microsoft.Extensions.Time.Testing;

namespace HeliosNano.Realtime.WebSockets.Tests;

public class PresenceExtensionTests
{
    private const string Room = "realtime:lobby";

    private static string JoinPayload(string key, bool enabled = true) =>
        $$$"""{"config":{"broadcast":{"ack":false,"self":false},"presence":{"key":"{{{key}}}","enabled":{{{(enabled ? "true" : "false")}}}},"postgres_changes":[]}}""";

    private static async Task<(TestClient Client, Frame State)> JoinAsync(RealtimeServer server, string key, string joinRef, CancellationToken ct)
    {
        TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        Frame reply = await client.JoinAsync(Room, JoinPayload(key), joinRef, ct);
        Assert.That(reply.Status, Is.EqualTo("ok"));
        Frame state = (await client.ReceiveAsync(ct))!;
        return (client, state);
    }

    private static Task TrackAsync(TestClient client, string joinRef, string @ref, string meta, CancellationToken ct) =>
        client.PushAsync(joinRef, @ref, Room, "presence", $$"""{"type":"presence","event":"track","payload":{{meta}}}""", ct);

    [Test]
    [CancelAfter(15_000)]
    public async Task Track_ThenLateJoiner_DiffToAllAndStateWithStableRefForTheLateJoiner(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        (TestClient alice, Frame aliceState) = await JoinAsync(server, "alice", "1", ct);
        await using TestClient a = alice;

        await TrackAsync(alice, "1", "2", """{"name":"Alice"}""", ct);
        Frame reply = await alice.ReceiveUntilAsync(f => f.Event == "phx_reply", ct);
        Frame diff = await alice.ReceiveUntilAsync(f => f.Event == "presence_diff", ct);
        (TestClient bob, Frame bobState) = await JoinAsync(server, "bob", "5", ct);
        await using TestClient b = bob;

        string aliceRef = diff.Payload.GetProperty("joins").GetProperty("alice").GetProperty("metas")[0].GetProperty("phx_ref").GetString()!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(aliceState.Text, Is.EqualTo("""["1",null,"realtime:lobby","presence_state",{}]"""));
            Assert.That(reply.Status, Is.EqualTo("ok"));
            Assert.That(diff.JoinRef, Is.Null);
            Assert.That(aliceRef, Has.Length.EqualTo(16));
            Assert.That(diff.Payload.GetProperty("leaves").EnumerateObject(), Is.Empty);
            Assert.That(bobState.JoinRef, Is.EqualTo("\"5\""), "presence_state carries the join's join_ref");
            Assert.That(bobState.Payload.GetRawText(), Is.EqualTo($$$"""{"alice":{"metas":[{"phx_ref":"{{{aliceRef}}}","name":"Alice"}]}}"""));
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Track_Update_IsOneDiffWithJoinOfNewRefAndLeaveOfOld(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        (TestClient alice, _) = await JoinAsync(server, "alice", "1", ct);
        await using TestClient a = alice;
        await TrackAsync(alice, "1", "2", """{"s":1}""", ct);
        Frame first = await alice.ReceiveUntilAsync(f => f.Event == "presence_diff", ct);
        await TrackAsync(alice, "1", "3", """{"s":1}""", ct); // identical: no diff
        await TrackAsync(alice, "1", "4", """{"s":2}""", ct);
        Frame update = await alice.ReceiveUntilAsync(f => f.Event == "presence_diff", ct);

        JsonElement joined = update.Payload.GetProperty("joins").GetProperty("alice").GetProperty("metas")[0];
        JsonElement left = update.Payload.GetProperty("leaves").GetProperty("alice").GetProperty("metas")[0];
        string firstRef = first.Payload.GetProperty("joins").GetProperty("alice").GetProperty("metas")[0].GetProperty("phx_ref").GetString()!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(joined.GetProperty("phx_ref_prev").GetString(), Is.EqualTo(firstRef));
            Assert.That(joined.GetProperty("phx_ref").GetString(), Is.Not.EqualTo(firstRef));
            Assert.That(joined.GetProperty("s").GetInt32(), Is.EqualTo(2));
            Assert.That(left.GetProperty("phx_ref").GetString(), Is.EqualTo(firstRef));
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task SocketDrops_ItsPresenceLeavesForTheOthers(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        (TestClient watcher, _) = await JoinAsync(server, "watcher", "1", ct);
        await using TestClient w = watcher;
        (TestClient leaver, _) = await JoinAsync(server, "leaver", "1", ct);
        await TrackAsync(leaver, "1", "2", "{}", ct);
        await watcher.ReceiveUntilAsync(f => f.Event == "presence_diff", ct);

        leaver.Socket.Abort();
        await leaver.DisposeAsync();
        Frame leave = await watcher.ReceiveUntilAsync(f => f.Event == "presence_diff", ct);

        Assert.That(leave.Payload.GetProperty("leaves").TryGetProperty("leaver", out _), Is.True, leave.Text);
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task TrackAndUntrack_PresenceNotEnabledAtJoin_AreAnsweredAndNoStateIsSent(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.MaxBroadcastPayloadBytes = 50);
        await using TestClient client = await server.ConnectAsync("?vsn=1.0.0", ct);
        await client.JoinAsync(Room, JoinPayload("", enabled: false), "1", ct);
        await client.PushAsync("1", "2", Room, "presence", """{"type":"presence","event":"track","payload":{"a":1}}""", ct);
        await client.PushAsync("1", "3", Room, "presence", """{"type":"presence","event":"untrack"}""", ct);
        await client.PushAsync("1", "4", Room, "presence", """{"type":"presence","event":"track","payload":5}""", ct);
        await client.PushAsync("1", "5", Room, "presence", $$$"""{"type":"presence","event":"track","payload":{"big":"{{{new string('x', 100)}}}"}}""", ct);
        List<Frame> frames = await client.HeartbeatAsync("hb", ct);

        string[] replies = [.. frames.Where(f => f.Event == "phx_reply").Select(f => $"{f.Ref}:{f.Status}")];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frames.Any(f => f.Event == "presence_state"), Is.False);
            Assert.That(replies, Is.EqualTo(new[] { "\"2\":ok", "\"3\":ok", "\"4\":error" }));
            Assert.That(frames.Where(f => f.Event == "presence_diff").Count(), Is.EqualTo(2), "its own join, then its leave");
            Assert.That(frames[^2].Payload.GetProperty("message").GetString(), Is.EqualTo("Track message size exceeded"));
            Assert.That(frames[^1].Event, Is.EqualTo("phx_close"));
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task PresenceCalls_PastTheWindowBudget_EndTheChannelAsSupabaseAndItsPresenceLeaves_UntilTheWindowTurns(CancellationToken ct)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.MaxPresenceCallsPerWindow = 3, timeProvider: time);
        (TestClient watcher, _) = await JoinAsync(server, "watcher", "1", ct);
        await using TestClient w = watcher;
        (TestClient busy, _) = await JoinAsync(server, "busy", "1", ct);
        await using TestClient b = busy;

        for (int i = 1; i <= 4; i++)
        {
            await TrackAsync(busy, "1", $"{i + 1}", $$"""{"n":{{i}}}""", ct); // the 4th is one call too many
        }

        List<Frame> frames = await busy.HeartbeatAsync("hb", ct);
        Frame lastDiff = await watcher.ReceiveUntilAsync(f => f.Event == "presence_diff" && f.Payload.GetProperty("leaves").TryGetProperty("busy", out _) && !f.Payload.GetProperty("joins").TryGetProperty("busy", out _), ct);

        time.Advance(TimeSpan.FromSeconds(30));
        (TestClient again, _) = await JoinAsync(server, "busy", "7", ct);
        await using TestClient a = again;
        await TrackAsync(again, "7", "8", """{"n":5}""", ct);
        Frame afterWindow = await again.ReceiveUntilAsync(f => f.Event == "phx_reply", ct);

        string[] replies = [.. frames.Where(f => f.Event == "phx_reply").Select(f => $"{f.Ref}:{f.Status}")];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(replies, Is.EqualTo(new[] { "\"2\":ok", "\"3\":ok", "\"4\":ok" }), "the call past the budget gets no reply");
            Assert.That(frames[^2].Event, Is.EqualTo("system"));
            Assert.That(frames[^2].Payload.GetProperty("message").GetString(), Is.EqualTo("Client presence rate limit exceeded"));
            Assert.That(frames[^1].Event, Is.EqualTo("phx_close"));
            Assert.That(lastDiff.Payload.GetProperty("leaves").GetProperty("busy").GetProperty("metas")[0].GetProperty("n").GetInt32(), Is.EqualTo(3));
            Assert.That(afterWindow.Status, Is.EqualTo("ok"), "a new window has a new budget");
            Assert.That(server.Logs.GetSnapshot().Any(r => r.Id.Name == "PresenceRateLimited"), Is.True);
        }
    }
}
