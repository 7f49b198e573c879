using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>End-to-end protocol tests against Kestrel on loopback; each maps to an item of the spec's §14 checklist or a robustness rule.</summary>
public class RealtimeConnectionTests
{
    private const string OrdersBinding = """{"event":"*","schema":"public","table":"orders"}""";

    // §14.1: the upgrade needs no header; extra query parameters are ignored.
    [Test]
    [CancelAfter(15_000)]
    public async Task Connect_QueryWithApikeyLogLevelAndExtraParams_UpgradesAndAnswers(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?apikey=any-key&log_level=info&foo=bar&vsn=2.0.0", ct);
        List<Frame> before = await client.HeartbeatAsync("1", ct);
        Assert.That(before, Is.Empty);
        Assert.That(server.Logs.GetSnapshot().Any(r => r.Message.Contains("apikey present: True", StringComparison.Ordinal)), Is.True);
    }

    // §14.1: phoenix.js with an auth token offers the "phoenix" subprotocol; browsers abort unless it is selected.
    [Test]
    [CancelAfter(15_000)]
    public async Task Connect_PhoenixSubprotocolOffered_SelectsIt(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct, "phoenix", "base64url.bearer.phx.dG9rZW4");
        Assert.That(client.Socket.SubProtocol, Is.EqualTo("phoenix"));
    }

    // §14.2: no vsn means 1.0.0 object frames, and they never carry join_ref.
    [Test]
    [CancelAfter(15_000)]
    public async Task Frames_NoVsn_AreTextObjectsWithoutJoinRef(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?apikey=k", ct);
        Frame reply = await client.JoinAsync("realtime:orders", $$$$"""{"config":{"postgres_changes":[{{{{OrdersBinding}}}}]}}""", "5", ct);
        Frame system = (await client.ReceiveAsync(ct))!;
        server.Notify(ChangeKind.Insert, """{"id":1}""");
        Frame change = await client.ReceiveUntilAsync(f => f.Event == "postgres_changes", ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reply.Text, Does.StartWith("{"));
            Assert.That(reply.HasJoinRefKey || system.HasJoinRefKey || change.HasJoinRefKey, Is.False);
            Assert.That(reply.Ref, Is.EqualTo("\"5\""));
            Assert.That(change.Ref, Is.Null);
            Assert.That(new[] { reply, system, change }.Select(f => f.MessageType), Is.All.EqualTo(WebSocketMessageType.Text));
        }
    }

    // §14.2: vsn 2.0.0 array frames; replies echo join_ref and ref, pushes carry the join ref, changes null/null.
    [Test]
    [CancelAfter(15_000)]
    public async Task Frames_Vsn2_AreTextArraysEchoingRefs(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.PushAsync("6", "7", "realtime:orders", "phx_join", $$$$"""{"config":{"postgres_changes":[{{{{OrdersBinding}}}}]}}""", ct);
        Frame reply = (await client.ReceiveAsync(ct))!;
        Frame system = (await client.ReceiveAsync(ct))!;
        server.Notify(ChangeKind.Insert, """{"id":1}""");
        Frame change = (await client.ReceiveAsync(ct))!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reply.Text, Does.StartWith("[\"6\",\"7\",\"realtime:orders\",\"phx_reply\","));
            Assert.That(system.Text, Does.StartWith("[\"6\",null,\"realtime:orders\",\"system\","));
            Assert.That(change.Text, Does.StartWith("[null,null,\"realtime:orders\",\"postgres_changes\","));
            Assert.That(change.MessageType, Is.EqualTo(WebSocketMessageType.Text));
        }
    }

    // §14.3: heartbeat on "phoenix" is answered at any time, refs echoed verbatim (a number stays a number).
    [Test]
    [CancelAfter(15_000)]
    public async Task Heartbeat_BeforeAnyJoin_RepliesOkEchoingRefVerbatim(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("", ct);
        await client.SendAsync("""{"topic":"phoenix","event":"heartbeat","payload":{},"ref":42}""", ct);
        Frame reply = (await client.ReceiveAsync(ct))!;
        Assert.That(reply.Text, Is.EqualTo("""{"topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":42}"""));
    }

    // §14.3 / robustness: a socket silent for IdleTimeout is closed; any inbound message restarts the clock.
    [Test]
    [CancelAfter(15_000)]
    public async Task IdleTimeout_NoInboundMessage_ClosesWithIdleTimeout(CancellationToken ct)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using RealtimeServer server = await RealtimeServer.StartAsync(timeProvider: time);
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.HeartbeatAsync("1", ct);
        time.Advance(TimeSpan.FromSeconds(59));
        try
        {
            await client.HeartbeatAsync("2", ct);   // still open, and this message restarts the 60 s clock
        }
        catch
        {
            TestContext.Out.WriteLine(string.Join("\n", server.Logs.GetSnapshot().Select(r => r.Level + " " + r.Category + " " + r.Message + " " + r.Exception)));
            throw;
        }

        time.Advance(TimeSpan.FromSeconds(59));
        await client.HeartbeatAsync("3", ct);
        time.Advance(TimeSpan.FromSeconds(61));
        Frame? frame = await client.ReceiveAsync(ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frame, Is.Null);
            Assert.That(client.CloseStatus, Is.EqualTo(WebSocketCloseStatus.NormalClosure));
            Assert.That(client.CloseStatusDescription, Is.EqualTo("idle timeout"));
        }
    }

    // §14.4: bindings come back verbatim (own key order, extra keys kept), in order, each with an integer id; identical params share an id.
    [Test]
    [CancelAfter(15_000)]
    public async Task Join_WithConfig_EchoesBindingsVerbatimInOrderWithStableIds(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        const string Bindings = """[{"table":"orders","event":"UPDATE","schema":"public","filter":"id=eq.1","select":["id"]},{"event":"*","schema":"public","table":"todos"},{"event":"*","schema":"public","table":"orders"}]""";
        string payload = $$$$"""{"config":{"broadcast":{"ack":false,"self":false},"presence":{"key":"","enabled":false},"postgres_changes":{{{{Bindings}}}},"private":false,"postgres_changes_options":{"wait":false}},"access_token":"tok","user_token":"tok","version":"realtime-js/2.119.0","unknown":{"x":1}}""";
        Frame first = await client.JoinAsync("realtime:a", payload, "1", ct);
        Frame second = await client.JoinAsync("realtime:b", """{"config":{"postgres_changes":[{"event":"*","schema":"public","table":"todos"}]}}""", "2", ct);

        JsonElement[] echoed = [.. first.Response.GetProperty("postgres_changes").EnumerateArray()];
        JsonElement[] sent = [.. JsonDocument.Parse(Bindings).RootElement.EnumerateArray()];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.Status, Is.EqualTo("ok"));
            Assert.That(echoed, Has.Length.EqualTo(3));
            for (int i = 0; i < sent.Length; i++)
            {
                string[] names = [.. echoed[i].EnumerateObject().Select(p => p.Name)];
                Assert.That(names, Is.EqualTo(sent[i].EnumerateObject().Select(p => p.Name).Append("id")), "own key order, then id");
                foreach (JsonProperty property in sent[i].EnumerateObject())
                {
                    Assert.That(echoed[i].GetProperty(property.Name).GetRawText(), Is.EqualTo(property.Value.GetRawText()));
                }

                Assert.That(echoed[i].GetProperty("id").ValueKind, Is.EqualTo(JsonValueKind.Number));
            }

            Assert.That(echoed.Select(e => e.GetProperty("id").GetInt32()), Is.Unique);
            Assert.That(second.Response.GetProperty("postgres_changes")[0].GetProperty("id").GetInt32(), Is.EqualTo(echoed[1].GetProperty("id").GetInt32()));
        }
    }

    // §14.5: one frame per channel per change, carrying every matching binding id of that channel; commit order across tables.
    [Test]
    [CancelAfter(15_000)]
    public async Task Change_SeveralMatchingBindings_OneFramePerChannelWithAllTheirIds(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        Frame reply = await client.JoinAsync("realtime:room", """{"config":{"postgres_changes":[{"event":"*","schema":"public","table":"orders"},{"event":"INSERT","schema":"public","table":"orders"},{"event":"DELETE","schema":"public","table":"orders"},{"event":"*","schema":"public","table":"todos"}]}}""", "1", ct);
        await client.ReceiveAsync(ct);
        int[] ids = [.. reply.Response.GetProperty("postgres_changes").EnumerateArray().Select(b => b.GetProperty("id").GetInt32())];

        long a = server.Notify(ChangeKind.Insert, """{"id":1}""");
        long b = server.Notify(ChangeKind.Insert, """{"id":9}""", table: "todos");
        long c = server.Notify(ChangeKind.Update, """{"id":1}""", """{"id":1}""");
        List<Frame> frames = await client.HeartbeatAsync("hb", ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frames.Select(f => f.Event), Is.All.EqualTo("postgres_changes"));
            Assert.That(frames.Select(f => f.Payload.GetProperty("seq").GetInt64()), Is.EqualTo(new[] { a, b, c }));
            Assert.That(frames[0].Payload.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()), Is.EqualTo(new[] { ids[0], ids[1] }));
            Assert.That(frames[1].Payload.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()), Is.EqualTo(new[] { ids[3] }));
            Assert.That(frames[2].Payload.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()), Is.EqualTo(new[] { ids[0] }));
            Assert.That(frames.Select(f => f.JoinRef ?? f.Ref), Is.All.Null);
        }
    }

    // §14.5/§14.6: data carries the Supabase fields, columns with Postgres type names, typed values, explicit nulls.
    [Test]
    [CancelAfter(15_000)]
    public async Task Change_Data_HasSupabaseShapeWithColumnsAndFlatMirror(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinOrdersAsync("realtime:orders", "1", ct);
        server.Notify(ChangeKind.Insert, """{"id":1,"customer":"Alice","total":49.99,"paid":true}""");
        server.Notify(ChangeKind.Delete, null, """{"id":1}""");
        Frame insert = await client.ReceiveUntilAsync(f => f.Event == "postgres_changes", ct);
        Frame delete = await client.ReceiveUntilAsync(f => f.Event == "postgres_changes", ct);
        JsonElement data = insert.Payload.GetProperty("data");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(data.GetProperty("schema").GetString(), Is.EqualTo("public"));
            Assert.That(data.GetProperty("table").GetString(), Is.EqualTo("orders"));
            Assert.That(data.GetProperty("type").GetString(), Is.EqualTo("INSERT"));
            Assert.That(data.GetProperty("commit_timestamp").GetString(), Does.Match(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"));
            Assert.That(data.GetProperty("errors").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(data.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("name").GetString() + ":" + c.GetProperty("type").GetString()),
                Is.EqualTo(RealtimeServer.OrderColumns.Select(c => c.Name + ":" + c.TypeName)));
            Assert.That(data.GetProperty("record").GetRawText(), Is.EqualTo("""{"id":1,"customer":"Alice","total":49.99,"paid":true}"""));
            Assert.That(data.GetProperty("old_record").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(insert.Payload.GetProperty("type").GetString(), Is.EqualTo("INSERT"), "flat mirror");
            Assert.That(insert.Payload.GetProperty("record").GetRawText(), Is.EqualTo(data.GetProperty("record").GetRawText()));
            Assert.That(delete.Payload.GetProperty("record").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(delete.Payload.GetProperty("old_record").GetRawText(), Is.EqualTo("""{"id":1}"""));
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Change_MirrorFlatFieldsOff_SendsOnlyIdsDataAndSeq(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.MirrorFlatFields = false);
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinOrdersAsync("realtime:orders", "1", ct);
        server.Notify(ChangeKind.Insert, """{"id":1}""");
        Frame change = await client.ReceiveUntilAsync(f => f.Event == "postgres_changes", ct);
        Assert.That(change.Payload.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "ids", "data", "seq" }));
    }

    // §14.7 end to end: a typed filter, and DELETE judged by the old row.
    [Test]
    [CancelAfter(15_000)]
    public async Task Join_FilteredBinding_DeliversOnlyMatchingRowsIncludingDeletesByOldRow(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinOrdersAsync("realtime:orders", "1", ct, """{"event":"*","schema":"public","table":"orders","filter":"total=gt.9,status=not.eq.void"}""");
        server.Notify(ChangeKind.Insert, """{"id":1,"total":"10.5","status":"new"}""");   // 10.5 > 9 numerically
        server.Notify(ChangeKind.Insert, """{"id":2,"total":"100","status":"void"}""");
        server.Notify(ChangeKind.Insert, """{"id":3,"total":null,"status":"new"}""");     // NULL: unknown
        server.Notify(ChangeKind.Insert, """{"id":4,"total":8,"status":"new"}""");
        server.Notify(ChangeKind.Delete, null, """{"id":5,"total":20,"status":"new"}""");
        List<Frame> frames = await client.HeartbeatAsync("hb", ct);
        Assert.That(frames.Select(f => f.Payload.GetProperty("data").GetProperty(f.Payload.GetProperty("type").GetString() == "DELETE" ? "old_record" : "record").GetProperty("id").GetInt32()),
            Is.EqualTo(new[] { 1, 5 }));
    }

    // §14.8: a bad filter, an unknown table or column gives a postgres_changes system error; the channel stays joined.
    [TestCase("""{"event":"*","schema":"public","table":"orders","filter":"id=bogus.1"}""", "Error parsing `filter` params")]
    [TestCase("""{"event":"*","schema":"public","table":"nope"}""", "Unable to subscribe to changes with given parameters")]
    [TestCase("""{"event":"*","schema":"public","table":"orders","filter":"nope=eq.1"}""", "invalid column for filter nope")]
    [CancelAfter(15_000)]
    public async Task Join_BadBinding_SendsSystemErrorAndStaysJoined(string binding, string message, CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        Frame reply = await client.JoinAsync("realtime:room", $$$$"""{"config":{"postgres_changes":[{{{{binding}}}},{"event":"INSERT","schema":"public","table":"todos"}]}}""", "1", ct);
        Frame error = (await client.ReceiveAsync(ct))!;
        Frame ok = (await client.ReceiveAsync(ct))!;
        server.Notify(ChangeKind.Insert, """{"id":1}""", table: "todos");
        Frame change = (await client.ReceiveAsync(ct))!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reply.Status, Is.EqualTo("ok"));
            Assert.That(reply.Response.GetProperty("postgres_changes").GetArrayLength(), Is.EqualTo(2));
            Assert.That(error.Event, Is.EqualTo("system"));
            Assert.That(error.Payload.GetProperty("extension").GetString(), Is.EqualTo("postgres_changes"));
            Assert.That(error.Payload.GetProperty("status").GetString(), Is.EqualTo("error"));
            Assert.That(error.Payload.GetProperty("message").GetString(), Does.StartWith(message));
            Assert.That(error.Payload.GetProperty("channel").GetString(), Is.EqualTo("room"));
            Assert.That(ok.Payload.GetProperty("message").GetString(), Is.EqualTo("Subscribed to PostgreSQL"));
            Assert.That(change.Event, Is.EqualTo("postgres_changes"));
        }
    }

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

    // §14.11: a flood ends the flooding connection's channels with system error + phx_close, then closes its socket with
    // 1008 and the reason (the pushes still queued would never be answered); other clients are unaffected.
    [Test]
    [CancelAfter(15_000)]
    public async Task Flood_OverMessagesPerSecond_ClosesItsChannelsThenItsSocketWith1008(CancellationToken ct)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow); // frozen clock: every message falls in the same second
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.MaxInboundMessagesPerSecond = 5, timeProvider: time);
        await using TestClient flooder = await server.ConnectAsync("?vsn=2.0.0", ct);
        await using TestClient other = await server.ConnectAsync("?vsn=2.0.0", ct);
        await other.JoinOrdersAsync("realtime:orders", "1", ct);
        await flooder.JoinOrdersAsync("realtime:orders", "1", ct);   // message 1
        for (int i = 0; i < 20; i++)
        {
            await flooder.PushAsync(null, "f" + i, "phoenix", "heartbeat", "{}", ct);
        }

        Frame system = await flooder.ReceiveUntilAsync(f => f.Event == "system", ct);
        Frame close = (await flooder.ReceiveAsync(ct))!;
        Frame? afterClose = await flooder.ReceiveAsync(ct);
        server.Notify(ChangeKind.Insert, """{"id":1}""");
        Frame otherChange = (await other.ReceiveAsync(ct))!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(system.Payload.GetProperty("message").GetString(), Is.EqualTo("Too many messages per second"));
            Assert.That(system.Payload.GetProperty("extension").GetString(), Is.EqualTo("system"));
            Assert.That(close.Event, Is.EqualTo("phx_close"));
            Assert.That(afterClose, Is.Null, "then the socket closes");
            Assert.That(flooder.CloseStatus, Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
            Assert.That(flooder.CloseStatusDescription, Is.EqualTo("Too many messages per second"));
            Assert.That(otherChange.Event, Is.EqualTo("postgres_changes"));
            Assert.That(server.Notifier!.GetSubscriberCount("public", "orders"), Is.EqualTo(1));
        }
    }

    // §14.12: config-less joins derive the binding from the topic, including a filter and the wildcard.
    [TestCase("realtime:public:orders", new[] { 1, 2 })]
    [TestCase("realtime:public:orders:id=eq.2", new[] { 2 })]
    [TestCase("realtime:*", new[] { 1, 2, 3 })]
    [TestCase("realtime:orders", new[] { 1, 2 })]      // the tutorial's rightmost-segment rule
    [TestCase("realtime:public", new[] { 1, 2, 3 })]    // a schema when no table has that name
    [CancelAfter(15_000)]
    public async Task Join_WithoutConfig_SubscribesFromTheTopic(string topic, int[] expectedIds, CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("", ct);
        await client.SendAsync($$$$"""{"event":"phx_join","topic":"{{{{topic}}}}","ref":"1","payload":{}}""", ct);
        Frame reply = (await client.ReceiveAsync(ct))!;
        Frame system = (await client.ReceiveAsync(ct))!;
        server.Notify(ChangeKind.Insert, """{"id":1}""");
        server.Notify(ChangeKind.Insert, """{"id":2}""");
        server.Notify(ChangeKind.Insert, """{"id":3}""", table: "todos");
        List<Frame> frames = await client.HeartbeatAsync("hb", ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reply.Text, Is.EqualTo($$$$"""{"topic":"{{{{topic}}}}","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"1"}"""));
            Assert.That(system.Payload.GetProperty("message").GetString(), Is.EqualTo("Subscribed to PostgreSQL"));
            Assert.That(frames.Select(f => f.Payload.GetProperty("record").GetProperty("id").GetInt32()), Is.EqualTo(expectedIds));
        }
    }

    // The subscription is live before the join reply: a change committed the instant the reply arrives is watched.
    [Test]
    [CancelAfter(15_000)]
    public async Task Join_ReplyReceived_TableIsAlreadyWatched(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        Frame reply = await client.JoinAsync("realtime:orders", $$$$"""{"config":{"postgres_changes":[{{{{OrdersBinding}}}}]}}""", "1", ct);
        long sequence = server.Notify(ChangeKind.Insert, """{"id":1}""");
        Frame change = await client.ReceiveUntilAsync(f => f.Event == "postgres_changes", ct);
        Assert.That(reply.Status, Is.EqualTo("ok"));
        Assert.That(sequence, Is.GreaterThan(0));
        Assert.That(change.Payload.GetProperty("seq").GetInt64(), Is.EqualTo(sequence));
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

    // An inbound message over MaxInboundMessageBytes closes that socket with 1009; other clients are unaffected.
    [Test]
    [CancelAfter(15_000)]
    public async Task OversizedMessage_ClosesWithMessageTooBig(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.MaxInboundMessageBytes = 1024);
        await using TestClient other = await server.ConnectAsync("?vsn=2.0.0", ct);
        await other.JoinOrdersAsync("realtime:orders", "1", ct);
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinOrdersAsync("realtime:orders", "1", ct);
        await client.PushAsync(null, "2", "phoenix", "heartbeat", $$$$"""{"pad":"{{{{new string('x', 4000)}}}}"}""", ct);
        Frame? frame = await client.ReceiveAsync(ct);
        server.Notify(ChangeKind.Insert, """{"id":1}""");
        Frame otherChange = (await other.ReceiveAsync(ct))!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frame, Is.Null);
            Assert.That(client.CloseStatus, Is.EqualTo(WebSocketCloseStatus.MessageTooBig));
            Assert.That(otherChange.Event, Is.EqualTo("postgres_changes"));
        }
    }

    // Slow client: a socket that does not read is lapped by the ring; it gets a lag system message with N, the server
    // logs "WS client lagged by N events", and a client that keeps up loses nothing.
    [Test]
    [CancelAfter(60_000)]
    public async Task SlowClient_LappedByTheRing_GetsLagMessageWhileOthersLoseNothing(CancellationToken ct)
    {
        const int Changes = 400;
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.MirrorFlatFields = false, capacity: 16);
        await using TestClient slow = await server.ConnectAsync("?vsn=2.0.0", ct);
        await slow.JoinOrdersAsync("realtime:orders", "1", ct);
        await using TestClient fast = await server.ConnectAsync("?vsn=2.0.0", ct);
        await fast.JoinOrdersAsync("realtime:orders", "1", ct);

        // 64 KiB rows: a few hundred of them fill the loopback socket buffers of the client that does not read.
        string pad = new('x', 64 * 1024);
        long first = 0;
        long last = 0;
        for (int i = 0; i < Changes; i++)
        {
            last = server.Notify(ChangeKind.Insert, $$$$"""{"id":{{{{i}}}},"customer":"{{{{pad}}}}"}""");
            first = first == 0 ? last : first;
            (string? text, _) = await fast.ReceiveLargeAsync(ct); // pace the writer to the fast client: it never lags
            Assert.That(fast.Parse(text!, WebSocketMessageType.Text).Payload.GetProperty("seq").GetInt64(), Is.EqualTo(last));
        }

        var sequences = new List<long>();
        long missed = 0;
        while (sequences.Count == 0 || sequences[^1] != last)
        {
            (string? text, _) = await slow.ReceiveLargeAsync(ct);
            Frame frame = slow.Parse(text!, WebSocketMessageType.Text);
            if (frame.Event == "system")
            {
                missed += frame.Payload.GetProperty("missed").GetInt64();
                Assert.That(frame.Payload.GetProperty("message").GetString(), Does.StartWith("WS client lagged by"));
                continue;
            }

            sequences.Add(frame.Payload.GetProperty("seq").GetInt64());
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(missed, Is.GreaterThan(0));
            Assert.That(sequences, Is.Ordered.And.Unique);
            Assert.That(sequences.Count + missed, Is.EqualTo(Changes), "every change is either delivered or reported missing");
            Assert.That(server.Logs.GetSnapshot().Any(r => r.Message.StartsWith("WS client lagged by", StringComparison.Ordinal)), Is.True);
        }
    }

    // Subscriber counts return to zero however connections drop: abort, close, leave.
    [Test]
    [CancelAfter(15_000)]
    public async Task AbruptDisconnects_SubscriberCountsReturnToZero(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        using var connections = new MetricCollector<long>(server.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "HeliosNano.Realtime", "heliosnano.realtime.ws.connections");
        var clients = new List<TestClient>();
        for (int i = 0; i < 3; i++)
        {
            TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
            await client.JoinOrdersAsync("realtime:a", "1", ct);
            await client.JoinOrdersAsync("realtime:b", "2", ct, """{"event":"*","schema":"public","table":"todos"}""");
            clients.Add(client);
        }

        Assert.That(server.Notifier!.GetSubscriberCount("public", "orders"), Is.EqualTo(3));
        clients[0].Socket.Abort();
        clients[1].Socket.Dispose();
        await clients[2].Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, ct);
        await connections.WaitForMeasurementsAsync(6, ct); // three +1, three -1
        using (Assert.EnterMultipleScope())
        {
            Assert.That(connections.GetMeasurementSnapshot().EvaluateAsCounter(), Is.Zero);
            Assert.That(server.Notifier.SubscriberCount, Is.Zero);
            Assert.That(server.Notifier.GetSubscriberCount("public", "orders"), Is.Zero);
            Assert.That(server.Notifier.GetSubscriberCount("public", "todos"), Is.Zero);
        }

        foreach (TestClient client in clients)
        {
            await client.DisposeAsync();
        }
    }

    // Graceful shutdown closes every socket with 1001.
    [Test]
    [CancelAfter(30_000)]
    public async Task Shutdown_ClosesSocketsWithEndpointUnavailable(CancellationToken ct)
    {
        RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinOrdersAsync("realtime:orders", "1", ct);
        Task stop = server.App.StopAsync(ct);
        Frame? frame = await client.ReceiveAsync(ct);
        await stop;
        await server.App.DisposeAsync();
        Assert.That(frame, Is.Null);
        Assert.That(client.CloseStatus, Is.EqualTo(WebSocketCloseStatus.EndpointUnavailable));
    }

    // Each change's data JSON is serialized once for all connections; per connection only frames are built (copies).
    [Test]
    [CancelAfter(15_000)]
    public async Task Changes_ManyConnections_DataSerializedOncePerChange(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        var factory = server.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var serialized = new MetricCollector<long>(factory, "HeliosNano.Realtime", "heliosnano.realtime.ws.changes.serialized");
        using var built = new MetricCollector<long>(factory, "HeliosNano.Realtime", "heliosnano.realtime.ws.change_frames.built");
        using ChangeReader tap = server.Notifier!.Subscribe();
        var clients = new List<TestClient>();
        for (int i = 0; i < 3; i++)
        {
            TestClient client = await server.ConnectAsync(i == 0 ? "" : "?vsn=2.0.0", ct);
            await client.JoinOrdersAsync("realtime:orders", "1", ct);
            clients.Add(client);
        }

        for (int i = 0; i < 5; i++)
        {
            server.Notify(ChangeKind.Insert, $$$$"""{"id":{{{{i}}}}}""");
        }

        var datas = new List<string>();
        foreach (TestClient client in clients)
        {
            List<Frame> frames = await client.HeartbeatAsync("hb", ct);
            datas.Add(string.Join("\n", frames.Select(f => f.Payload.GetProperty("data").GetRawText())));
        }

        var expected = new List<string>();
        while (tap.TryRead(out ChangeEvent? change))
        {
            expected.Add(Encoding.UTF8.GetString(change.GetUtf8Json().Span));
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(datas, Is.All.EqualTo(string.Join("\n", expected)), "every client gets the shared bytes verbatim");
            Assert.That(serialized.GetMeasurementSnapshot().EvaluateAsCounter(), Is.EqualTo(5));
            Assert.That(built.GetMeasurementSnapshot().EvaluateAsCounter(), Is.EqualTo(15));
        }

        foreach (TestClient client in clients)
        {
            await client.DisposeAsync();
        }
    }

    // Replay: config.postgres_changes_options.last_seq replays the retained changes after it before live ones.
    [Test]
    [CancelAfter(15_000)]
    public async Task Join_WithLastSeq_ReplaysRetainedChangesThenLive(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinOrdersAsync("realtime:live", "1", ct);
        long a = server.Notify(ChangeKind.Insert, """{"id":1}""");
        long b = server.Notify(ChangeKind.Insert, """{"id":2}""");
        long c = server.Notify(ChangeKind.Insert, """{"id":3}""");
        Assert.That((await client.HeartbeatAsync("hb1", ct)).Count, Is.EqualTo(3), "the cursor is past a, b and c");

        await client.JoinAsync("realtime:replay", $$$$"""{"config":{"postgres_changes":[{{{{OrdersBinding}}}}],"postgres_changes_options":{"last_seq":{{{{a}}}}}}}""", "2", ct);
        long d = server.Notify(ChangeKind.Insert, """{"id":4}""");
        List<Frame> frames = await client.HeartbeatAsync("hb2", ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frames.Where(f => f.Topic == "realtime:replay" && f.Event == "postgres_changes").Select(f => f.Payload.GetProperty("seq").GetInt64()), Is.EqualTo(new[] { b, c, d }));
            Assert.That(frames.Where(f => f.Topic == "realtime:live").Select(f => f.Payload.GetProperty("seq").GetInt64()), Is.EqualTo(new[] { d }), "the other channel gets nothing twice");
            Assert.That(server.Notifier!.SubscriberCount, Is.EqualTo(1));
        }
    }

    // Replay: when the requested changes were already overwritten, the channel gets a lag report at once, then what is left.
    [Test]
    [CancelAfter(15_000)]
    public async Task Join_WithLastSeqOverwritten_ReportsLagImmediately(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(capacity: 4);
        using ChangeReader keepWatched = server.Notifier!.Subscribe();
        for (int i = 0; i < 10; i++)
        {
            server.Notify(ChangeKind.Insert, $$$$"""{"id":{{{{i}}}}}""");
        }

        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinAsync("realtime:replay", $$$$"""{"config":{"postgres_changes":[{{{{OrdersBinding}}}}],"heliosnano":{"last_seq":2}}}""", "1", ct);
        List<Frame> frames = await client.HeartbeatAsync("hb", ct);
        Frame lag = frames.Single(f => f.Event == "system" && f.Payload.GetProperty("status").GetString() == "error");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(lag.Payload.GetProperty("missed").GetInt64(), Is.EqualTo(4), "3..6 were overwritten (the ring holds 7..10)");
            Assert.That(lag.Payload.GetProperty("resume_seq").GetInt64(), Is.EqualTo(7));
            Assert.That(frames.Where(f => f.Event == "postgres_changes").Select(f => f.Payload.GetProperty("seq").GetInt64()), Is.EqualTo(new long[] { 7, 8, 9, 10 }));
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

    // When the host completes the notifier (its change feed ends), sockets close with 1001 so clients reconnect later.
    [Test]
    [CancelAfter(15_000)]
    public async Task NotifierCompleted_ClosesSocketsWithEndpointUnavailable(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinOrdersAsync("realtime:orders", "1", ct);
        server.Notify(ChangeKind.Insert, """{"id":1}""");
        server.Notifier!.Complete();
        Frame last = (await client.ReceiveAsync(ct))!;
        Frame? closed = await client.ReceiveAsync(ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(last.Event, Is.EqualTo("postgres_changes"), "what was committed before completion is still delivered");
            Assert.That(closed, Is.Null);
            Assert.That(client.CloseStatus, Is.EqualTo(WebSocketCloseStatus.EndpointUnavailable));
        }
    }

    // A send that makes no progress within SendTimeout (a client that stopped reading) aborts that socket and frees its subscription.
    [Test]
    [CancelAfter(30_000)]
    public async Task SendTimeout_ClientStopsReading_AbortsTheSocketAndReleasesItsSubscription(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.SendTimeout = TimeSpan.FromSeconds(1), capacity: 1024);
        using var connections = new MetricCollector<long>(server.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "HeliosNano.Realtime", "heliosnano.realtime.ws.connections");
        await using TestClient stuck = await server.ConnectAsync("?vsn=2.0.0", ct);
        await stuck.JoinOrdersAsync("realtime:orders", "1", ct);
        string pad = new('x', 64 * 1024);
        for (int i = 0; i < 500 && server.Notifier!.GetSubscriberCount("public", "orders") > 0; i++)
        {
            server.Notify(ChangeKind.Insert, $$$$"""{"id":{{{{i}}}},"customer":"{{{{pad}}}}"}""");
        }

        await connections.WaitForMeasurementsAsync(2, ct); // +1 at connect, -1 when aborted
        using (Assert.EnterMultipleScope())
        {
            Assert.That(server.Logs.GetSnapshot().Any(r => r.Id.Name == "SendTimedOut"), Is.True);
            Assert.That(server.Notifier!.GetSubscriberCount("public", "orders"), Is.Zero);
        }
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
