using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>End-to-end tests of the protocol dispatch against Kestrel on loopback: join, leave, re-join, routing, malformed pushes, join authorization.</summary>
public class RealtimeProtocolDispatcherTests
{
    private const string OrdersBinding = """{"event":"*","schema":"public","table":"orders"}""";

    // §14.9: leave gets ok then phx_close (ref = join ref); a leave for an unjoined topic gets ok only.
    [Test]
    [CancelAfter(15_000)]
    public async Task Leave_JoinedTopic_RepliesOkThenPhxCloseAndUnwatchesTheTable(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinOrdersAsync("realtime:orders", "6", ct);
        Assert.That(server.Notifier!.GetSubscriberCount("public", "orders"), Is.EqualTo(1));
        await client.PushAsync("6", "7", "realtime:orders", "phx_leave", "{}", ct);
        Frame reply = (await client.ReceiveAsync(ct))!;
        Frame close = (await client.ReceiveAsync(ct))!;
        await client.PushAsync(null, "8", "realtime:other", "phx_leave", "{}", ct);
        List<Frame> afterOtherLeave = await client.HeartbeatAsync("hb", ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reply.Text, Is.EqualTo("""["6","7","realtime:orders","phx_reply",{"status":"ok","response":{}}]"""));
            Assert.That(close.Text, Is.EqualTo("""["6","6","realtime:orders","phx_close",{}]"""));
            Assert.That(afterOtherLeave.Select(f => f.Text), Is.EqualTo(new[] { """[null,"8","realtime:other","phx_reply",{"status":"ok","response":{}}]""" }));
            Assert.That(server.Notifier.GetSubscriberCount("public", "orders"), Is.Zero);
            Assert.That(server.Notify(ChangeKind.Insert, """{"id":1}"""), Is.Zero, "no subscriber: nothing built");
        }
    }

    // §14.9: re-joining a joined topic replaces the old join (one frame per change, the new bindings' ids).
    [Test]
    [CancelAfter(15_000)]
    public async Task Join_SameTopicAgain_ReplacesTheOldJoin(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinOrdersAsync("realtime:orders", "1", ct);
        Frame second = await client.JoinOrdersAsync("realtime:orders", "2", ct, """{"event":"INSERT","schema":"public","table":"orders"}""");
        server.Notify(ChangeKind.Update, """{"id":1}""", """{"id":1}""");
        server.Notify(ChangeKind.Insert, """{"id":2}""");
        List<Frame> frames = await client.HeartbeatAsync("hb", ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frames, Has.Count.EqualTo(1), "the old '*' binding is gone: the UPDATE is not delivered");
            Assert.That(frames[0].Payload.GetProperty("ids")[0].GetInt32(), Is.EqualTo(second.Response.GetProperty("postgres_changes")[0].GetProperty("id").GetInt32()));
            Assert.That(frames[0].JoinRef, Is.Null);
            Assert.That(server.Notifier!.GetSubscriberCount("public", "orders"), Is.EqualTo(1));
        }
    }

    // §14.9: unjoined topics get "unmatched topic"; join errors are {"reason":"Code: message"}.
    [Test]
    [CancelAfter(15_000)]
    public async Task Push_UnjoinedOrUnroutedTopics_GetErrorReplies(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.PushAsync("1", "1", "realtime:room", "broadcast", """{"type":"broadcast","event":"x","payload":{}}""", ct);
        Frame unjoined = (await client.ReceiveAsync(ct))!;
        Frame unrouted = await client.JoinAsync("room:lobby", "{}", "2", ct);
        Frame empty = await client.JoinAsync("realtime:", "{}", "3", ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(unjoined.Text, Is.EqualTo("""[null,"1","realtime:room","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]"""));
            Assert.That(unrouted.Response.GetProperty("reason").GetString(), Is.EqualTo("unmatched topic"));
            Assert.That(empty.Status, Is.EqualTo("error"));
            Assert.That(empty.Response.GetProperty("reason").GetString(), Is.EqualTo("TopicNameRequired: You must provide a topic name"));
        }
    }

    // §14.10: access_token pushes are accepted without any reply.
    [Test]
    [CancelAfter(15_000)]
    public async Task AccessToken_Push_IsAcceptedWithoutReply(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinOrdersAsync("realtime:orders", "1", ct);
        await client.PushAsync("1", "2", "realtime:orders", "access_token", """{"access_token":"eyJhbGciOiJIUzI1NiJ9.e30.sig"}""", ct);
        List<Frame> before = await client.HeartbeatAsync("3", ct);
        server.Notify(ChangeKind.Insert, """{"id":1}""");
        Frame change = (await client.ReceiveAsync(ct))!;
        Assert.That(before, Is.Empty);
        Assert.That(change.Event, Is.EqualTo("postgres_changes"), "the channel is still joined");
    }

    // §14.11: the channel limit refuses the join with a reason; the connection and other clients are unaffected.
    [Test]
    [CancelAfter(15_000)]
    public async Task Join_BeyondChannelLimit_IsRefusedAndNothingElseIsAffected(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.MaxChannelsPerConnection = 2);
        using var refused = new MetricCollector<long>(server.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "HeliosNano.Realtime", "heliosnano.realtime.ws.joins.refused");
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await using TestClient other = await server.ConnectAsync("?vsn=2.0.0", ct);
        await other.JoinOrdersAsync("realtime:o", "1", ct);
        await client.JoinOrdersAsync("realtime:a", "1", ct);
        await client.JoinOrdersAsync("realtime:b", "2", ct);
        Frame third = await client.JoinAsync("realtime:c", $$$$"""{"config":{"postgres_changes":[{{{{OrdersBinding}}}}]}}""", "3", ct);
        Frame again = await client.JoinOrdersAsync("realtime:a", "4", ct); // re-joining a joined topic is not a new channel
        server.Notify(ChangeKind.Insert, """{"id":1}""");
        List<Frame> frames = await client.HeartbeatAsync("hb", ct);
        Frame otherChange = (await other.ReceiveAsync(ct))!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(third.Response.GetProperty("reason").GetString(), Is.EqualTo("ChannelRateLimitReached: Too many channels"));
            Assert.That(again.Status, Is.EqualTo("ok"));
            Assert.That(frames.Select(f => f.Topic), Is.EquivalentTo(new[] { "realtime:a", "realtime:b" }));
            Assert.That(otherChange.Event, Is.EqualTo("postgres_changes"));
            Assert.That(refused.GetMeasurementSnapshot().EvaluateAsCounter(), Is.EqualTo(1));
        }
    }

    // Malformed input: logged and always answered (an error reply when a ref and topic are known, else a system error
    // on topic "phoenix" saying what was wrong); the connection lives on.
    [Test]
    [CancelAfter(15_000)]
    public async Task MalformedMessages_AreAnsweredAndTheConnectionLivesOn(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinOrdersAsync("realtime:orders", "1", ct);
        await client.SendAsync("{this is not json", ct);
        await client.SendAsync("""{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"1"}""", ct); // v1 shape on a v2 socket
        await client.SendAsync("""[null,"7","realtime:orders","phx_join","not an object"]""", ct);
        await client.SendAsync("""[null,{},"phoenix","heartbeat",{}]""", ct);
        await client.SendAsync("[]", ct);
        await client.SendAsync("""[null,"8","realtime:x","phx_join",{"config":{"postgres_changes":[1,{"event":5}]}}]""", ct);
        await client.SendBinaryAsync([9, 1, 1, 14, 6, 0, 1, .. "67realtime:room1cursor{\"x\":1}"u8], ct); // kind 9: no such binary frame
        List<Frame> frames = await client.HeartbeatAsync("hb", ct);
        server.Notify(ChangeKind.Insert, """{"id":1}""");
        Frame change = (await client.ReceiveAsync(ct))!;
        using (Assert.EnterMultipleScope())
        {
            List<Frame> protocolErrors = [.. frames.Where(f => f.Topic == "phoenix" && f.Event == "system")];
            List<Frame> rest = [.. frames.Where(f => !(f.Topic == "phoenix" && f.Event == "system"))];
            Assert.That(protocolErrors, Has.Count.EqualTo(5), "not JSON, a v1 object, a non-string ref, an empty array, an unknown binary kind");
            Assert.That(protocolErrors.Select(f => f.Payload.GetProperty("status").GetString()), Is.All.EqualTo("error"));
            Assert.That(protocolErrors.Select(f => f.Payload.GetProperty("message").GetString()), Is.All.StartWith("MalformedWebSocketMessage: "));
            Assert.That(protocolErrors[^1].Payload.GetProperty("message").GetString(), Does.Contain("kind 3"));
            Assert.That(rest[0].Text, Does.StartWith("""[null,"7","realtime:orders","phx_reply",{"status":"error","response":{"reason":"MalformedWebSocketMessage: """));
            Assert.That(rest[1].Event, Is.EqualTo("phx_reply"), "bindings of the wrong type are echoed and reported, the join itself is ok");
            Assert.That(rest.Skip(2).Select(f => f.Payload.GetProperty("status").GetString()), Is.All.EqualTo("error"));
            Assert.That(rest, Has.Count.EqualTo(4));
            Assert.That(change.Event, Is.EqualTo("postgres_changes"));
            Assert.That(server.Logs.GetSnapshot().Count(r => r.Id.Name == "MalformedWebSocketMessage"), Is.EqualTo(5));
            Assert.That(server.Logs.GetSnapshot().Count(r => r.Id.Name == "BinaryMessageDropped"), Is.EqualTo(1));
        }
    }

    // Authorization: the host's callback sees the request and the binding, and can refuse the join.
    [Test]
    [CancelAfter(15_000)]
    public async Task Join_AuthorizeJoinRefuses_RepliesUnauthorizedAndDoesNotSubscribe(CancellationToken ct)
    {
        var seen = new List<string>();
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.AuthorizeJoin = context =>
        {
            seen.Add($"{context.HttpContext.Request.Query["apikey"]}|{context.Topic}|{context.Event}|{context.Schema}.{context.Table}|{context.Filter}|{context.AccessToken}");
            return ValueTask.FromResult(context.Table != "todos");
        });
        await using TestClient client = await server.ConnectAsync("?apikey=k1&vsn=2.0.0", ct);
        Frame refused = await client.JoinAsync("realtime:t", """{"config":{"postgres_changes":[{"event":"INSERT","schema":"public","table":"todos","filter":"id=eq.1"}]},"access_token":"tok"}""", "1", ct);
        await client.JoinOrdersAsync("realtime:o", "2", ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(refused.Status, Is.EqualTo("error"));
            Assert.That(refused.Response.GetProperty("reason").GetString(), Does.StartWith("Unauthorized: "));
            Assert.That(seen[0], Is.EqualTo("k1|realtime:t|INSERT|public.todos|id=eq.1|tok"));
            Assert.That(server.Notifier!.GetSubscriberCount("public", "todos"), Is.Zero);
            Assert.That(server.Notifier.GetSubscriberCount("public", "orders"), Is.EqualTo(1));
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Join_AuthorizeJoinThrows_RefusesTheJoinAndKeepsTheConnection(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.AuthorizeJoin = _ => throw new InvalidOperationException("boom"));
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        Frame refused = await client.JoinAsync("realtime:o", $$$$"""{"config":{"postgres_changes":[{{{{OrdersBinding}}}}]}}""", "1", ct);
        List<Frame> after = await client.HeartbeatAsync("hb", ct);
        Assert.That(refused.Response.GetProperty("reason").GetString(), Does.StartWith("Unauthorized: "));
        Assert.That(after, Is.Empty);
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Join_TopicWithLineBreaksAndEscapes_IsLoggedEscaped(CancellationToken cancellationToken)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync(cancellationToken: cancellationToken);
        string topic = "x\ninfo: HeliosNano.Realtime.Sample[1]\n      API key mode: FORGED LINE\r\u001b[31mRED\u001b[0m\u001b]0;pwned-title\u0007";

        Frame reply = await client.JoinAsync(topic, "{}", "1", cancellationToken);
        string[] logged = [.. server.Logs.GetSnapshot().Where(r => r.Id.Name == "JoinRefused").Select(r => r.Message)];

        using (Assert.EnterMultipleScope())
        {
            Assert.That(reply.Response.GetProperty("reason").GetString(), Is.EqualTo("unmatched topic"));
            Assert.That(logged, Has.Length.EqualTo(1), string.Join(" | ", logged));
            Assert.That(logged[0].Where(c => c < 0x20 || c is >= '\u007f' and <= '\u009f'), Is.Empty, "no raw C0, DEL or C1 character reaches the log");
            Assert.That(logged[0], Does.Contain("x\\u000ainfo"));
        }
    }

    [TestCase("""{"topic":"\ud800","event":"phx_join","payload":{},"ref":"1"}""")]
    [TestCase("""{"topic":"realtime:t","event":"phx_join","payload":{"config":{"postgres_changes":[{"event":"*","schema":"public","table":"orders","filter":"customer=eq.\ud800"}]}},"ref":"1","join_ref":"1"}""")]
    [CancelAfter(15_000)]
    public async Task Message_LoneSurrogateEscape_IsMalformedAndTheConnectionStays(string text, CancellationToken cancellationToken)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=1.0.0", cancellationToken);

        await client.SendAsync(text, cancellationToken);
        List<Frame> before = await client.HeartbeatAsync("hb", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            // Answered: an error reply when the topic could be read, else a system error on topic "phoenix".
            Assert.That(before, Has.Count.EqualTo(1));
            Assert.That(
                before.Select(f => f.Event == "system" ? f.Payload.GetProperty("message").GetString() : f.Response.GetProperty("reason").GetString()),
                Has.All.StartWith("MalformedWebSocketMessage"));
            Assert.That(server.Logs.GetSnapshot().Any(r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Error), Is.False, "no error-level log, no stack trace");
            Assert.That(server.Logs.GetSnapshot().Count(r => r.Id.Name == "MalformedWebSocketMessage"), Is.EqualTo(1));
        }
    }
}
