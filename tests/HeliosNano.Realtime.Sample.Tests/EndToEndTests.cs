using System.Net.WebSockets;
using System.Text.Json;

namespace HeliosNano.Realtime.Sample.Tests;

/// <summary>The tutorial, step by step, against the real server: SQL over HTTP, changes over the WebSocket.</summary>
public class EndToEndTests
{
    private const string CreateOrders =
        "CREATE TABLE orders ( id SERIAL PRIMARY KEY, customer TEXT, total NUMERIC(10, 2), status TEXT DEFAULT 'pending', updated_at TIMESTAMP DEFAULT now());";

    private const string TutorialWrites =
        "INSERT INTO orders (customer, total) VALUES ('Alice', 49.99);UPDATE orders SET status = 'paid', updated_at = now() WHERE id = 1;DELETE FROM orders WHERE id = 1;";

    [Test]
    [CancelAfter(20_000)]
    public async Task Tutorial_JoinThenWriteThroughSql_DeliversInsertUpdateDeleteInOrder(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync();
        (int created, _) = await server.PostSqlAsync(CreateOrders, cancellationToken);
        Assert.That(created, Is.EqualTo(200));

        using ClientWebSocket socket = await server.ConnectAsync(cancellationToken);
        await SampleServer.SendFrameAsync(socket, """{"event":"phx_join","topic":"realtime:public:orders","ref":"1","payload":{}}""", cancellationToken);
        JsonElement reply = await SampleServer.ReceiveFrameAsync(socket, cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reply.GetProperty("event").GetString(), Is.EqualTo("phx_reply"));
            Assert.That(reply.GetProperty("topic").GetString(), Is.EqualTo("realtime:public:orders"));
            Assert.That(reply.GetProperty("ref").GetString(), Is.EqualTo("1"));
            Assert.That(reply.GetProperty("payload").GetRawText(), Is.EqualTo("""{"status":"ok","response":{}}"""));
        }

        (int written, _) = await server.PostSqlAsync(TutorialWrites, cancellationToken);
        Assert.That(written, Is.EqualTo(200));
        JsonElement insert = (await ReceiveChangeAsync(socket, cancellationToken));
        JsonElement update = (await ReceiveChangeAsync(socket, cancellationToken));
        JsonElement delete = (await ReceiveChangeAsync(socket, cancellationToken));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(insert.GetProperty("type").GetString(), Is.EqualTo("INSERT"));
            Assert.That(insert.GetProperty("table").GetString(), Is.EqualTo("orders"));
            Assert.That(insert.GetProperty("old_record").ValueKind, Is.EqualTo(JsonValueKind.Null));
            AssertOrder(insert.GetProperty("record"), "pending");
            Assert.That(insert.GetProperty("commit_timestamp").GetString(), Does.Match(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"));
            Assert.That(insert.GetProperty("data").GetProperty("type").GetString(), Is.EqualTo("INSERT"), "the Supabase wrapper rides along");

            Assert.That(update.GetProperty("type").GetString(), Is.EqualTo("UPDATE"));
            AssertOrder(update.GetProperty("record"), "paid");
            AssertOrder(update.GetProperty("old_record"), "pending");

            Assert.That(delete.GetProperty("type").GetString(), Is.EqualTo("DELETE"));
            Assert.That(delete.GetProperty("record").ValueKind, Is.EqualTo(JsonValueKind.Null));
            AssertOrder(delete.GetProperty("old_record"), "paid");
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Rest_WritesThroughPostgrestEndpoints_AlsoEmitEvents(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync();
        await server.PostSqlAsync(CreateOrders, cancellationToken);
        using ClientWebSocket socket = await server.ConnectAsync(cancellationToken);
        await SampleServer.SendFrameAsync(socket, """{"event":"phx_join","topic":"realtime:public:orders","ref":"1","payload":{}}""", cancellationToken);
        await SampleServer.ReceiveFrameAsync(socket, cancellationToken);

        await server.SendAsync(HttpMethod.Post, "/rest/v1/orders", """{"customer":"Alice","total":49.99}""", cancellationToken);
        await server.SendAsync(HttpMethod.Patch, "/rest/v1/orders?id=eq.1", """{"status":"paid"}""", cancellationToken);
        await server.SendAsync(HttpMethod.Delete, "/rest/v1/orders?id=eq.1", null, cancellationToken);
        var kinds = new List<string?>();
        for (int i = 0; i < 3; i++)
        {
            kinds.Add((await ReceiveChangeAsync(socket, cancellationToken)).GetProperty("type").GetString());
        }

        Assert.That(kinds, Is.EqualTo(new[] { "INSERT", "UPDATE", "DELETE" }));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Sql_FailedOrRolledBackRequests_EmitNothing(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync();
        await server.PostSqlAsync(CreateOrders, cancellationToken);
        using ClientWebSocket socket = await server.ConnectAsync(cancellationToken);
        await SampleServer.SendFrameAsync(socket, """{"event":"phx_join","topic":"realtime:public:orders","ref":"1","payload":{}}""", cancellationToken);
        await SampleServer.ReceiveFrameAsync(socket, cancellationToken);

        (int failed, _) = await server.PostSqlAsync("INSERT INTO orders (customer) VALUES ('ghost'); SELECT * FROM nowhere", cancellationToken);
        await server.PostSqlAsync("BEGIN; INSERT INTO orders (customer) VALUES ('undone'); ROLLBACK", cancellationToken);
        await server.PostSqlAsync("INSERT INTO orders (customer) VALUES ('real')", cancellationToken);
        JsonElement next = (await ReceiveChangeAsync(socket, cancellationToken));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(failed, Is.EqualTo(400));
            Assert.That(next.GetProperty("record").GetProperty("customer").GetString(), Is.EqualTo("real"), "the first event is the committed row");
            Assert.That(next.GetProperty("record").GetProperty("id").GetInt32(), Is.EqualTo(1), "the rolled-back rows took no id either");
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Join_UnknownTable_GetsSystemErrorNamingIt(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync();
        await server.PostSqlAsync(CreateOrders, cancellationToken);
        using ClientWebSocket socket = await server.ConnectAsync(cancellationToken);
        await SampleServer.SendFrameAsync(socket, """{"event":"phx_join","topic":"realtime:public:users","ref":"1","payload":{}}""", cancellationToken);
        JsonElement frame;
        do
        {
            // Until the error arrives; a server that never sends one fails the test by its time limit.
            frame = await SampleServer.ReceiveFrameAsync(socket, cancellationToken);
        }
        while (frame.GetProperty("event").GetString() != "system" || frame.GetProperty("payload").GetProperty("status").GetString() != "error");

        Assert.That(frame.GetProperty("payload").GetProperty("message").GetString(), Does.Contain("users"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task RestBroadcast_BatchAndSingleEndpoints_Answer202AndReachAJoinedChannel(CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync();
        using ClientWebSocket socket = await server.ConnectAsync(cancellationToken, "?vsn=1.0.0");
        await SampleServer.SendFrameAsync(socket, """{"event":"phx_join","topic":"realtime:room1","ref":"1","payload":{"config":{"broadcast":{"self":false}}}}""", cancellationToken);
        JsonElement joined = await SampleServer.ReceiveFrameAsync(socket, cancellationToken);
        Assert.That(joined.GetProperty("payload").GetProperty("status").GetString(), Is.EqualTo("ok"));

        // What supabase-js send() posts while its channel is not joined, then what channel.httpSend() posts.
        (int batch, _, _) = await server.SendAsync(
            HttpMethod.Post, "/realtime/v1/api/broadcast", """{"messages":[{"topic":"room1","event":"chat","payload":{"text":"batch"},"private":false}]}""", cancellationToken);
        JsonElement first = await ReceiveBroadcastAsync(socket, cancellationToken);
        (int single, _, _) = await server.SendAsync(HttpMethod.Post, "/realtime/v1/api/broadcast/room1/events/chat", """{"text":"single"}""", cancellationToken);
        JsonElement second = await ReceiveBroadcastAsync(socket, cancellationToken);
        (int bad, JsonElement error, _) = await server.SendAsync(HttpMethod.Post, "/realtime/v1/api/broadcast", """{"nope":1}""", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(batch, Is.EqualTo(202));
            Assert.That(first.GetRawText(), Is.EqualTo("""{"event":"chat","payload":{"text":"batch"},"type":"broadcast"}"""));
            Assert.That(single, Is.EqualTo(202));
            Assert.That(second.GetRawText(), Is.EqualTo("""{"event":"chat","payload":{"text":"single"},"type":"broadcast"}"""));
            Assert.That(bad, Is.EqualTo(400));
            Assert.That(error.GetProperty("error").GetString(), Does.Contain("messages"));
        }
    }

    /// <summary>Receives the next <c>broadcast</c> frame's payload, skipping others.</summary>
    private static async Task<JsonElement> ReceiveBroadcastAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        while (true)
        {
            JsonElement frame = await SampleServer.ReceiveFrameAsync(socket, cancellationToken);
            if (frame.GetProperty("event").GetString() == "broadcast")
            {
                return frame.GetProperty("payload");
            }
        }
    }

    /// <summary>Receives the next <c>postgres_changes</c> frame's payload, skipping others (the join's <c>system</c> notice).</summary>
    private static async Task<JsonElement> ReceiveChangeAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        while (true)
        {
            JsonElement frame = await SampleServer.ReceiveFrameAsync(socket, cancellationToken);
            if (frame.GetProperty("event").GetString() == "postgres_changes")
            {
                return frame.GetProperty("payload");
            }
        }
    }

    private static void AssertOrder(JsonElement record, string status)
    {
        Assert.That(record.GetProperty("id").GetInt32(), Is.EqualTo(1));
        Assert.That(record.GetProperty("customer").GetString(), Is.EqualTo("Alice"));
        Assert.That(record.GetProperty("total").GetString(), Is.EqualTo("49.99"), "numeric as the tutorial shows it: a string");
        Assert.That(record.GetProperty("status").GetString(), Is.EqualTo(status));
        Assert.That(record.GetProperty("updated_at").GetString(), Does.Match(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"));
    }
}
