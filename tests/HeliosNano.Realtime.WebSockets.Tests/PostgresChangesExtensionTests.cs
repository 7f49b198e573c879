using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>Tests of the postgres_changes extension, most end to end against Kestrel on loopback: bindings, change frames, filters, lag and replay.</summary>
public class PostgresChangesExtensionTests
{
    private const string OrdersBinding = """{"event":"*","schema":"public","table":"orders"}""";

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

    [TestCase("""{"postgres_changes_options":{"last_seq":7}}""", true, 7)]
    [TestCase("""{"postgres_changes_options":{"last_seq":"12"}}""", true, 12)]
    [TestCase("""{"heliosnano":{"last_seq":3}}""", true, 3)]
    [TestCase("""{"postgres_changes_options":{"last_seq":-1}}""", false, -1)]
    [TestCase("""{"postgres_changes_options":{"last_seq":"x"}}""", false, 0)]
    [TestCase("""{"broadcast":{"self":true}}""", false, 0)]
    [TestCase("""[]""", false, 0)]
    public void TryGetLastSequence_Config_ReadsTheReplayPoint(string config, bool expected, long expectedSequence)
    {
        using JsonDocument document = JsonDocument.Parse(config);

        bool found = PostgresChangesExtension.TryGetLastSequence(document.RootElement, out long lastSeen);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(found, Is.EqualTo(expected));
            Assert.That(lastSeen, Is.EqualTo(expectedSequence));
        }
    }
}
