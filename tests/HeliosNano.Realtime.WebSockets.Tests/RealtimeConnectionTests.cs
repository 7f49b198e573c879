using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>End-to-end transport tests against Kestrel on loopback (upgrade, frame formats, heartbeat, timeouts, limits, shutdown); each maps to an item of the spec's §14 checklist or a robustness rule.</summary>
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

    // A push is a barrier: a change published before the client sent it is received before its reply (up to one batch
    // of changes). The loop is kept busy sending a first batch of big changes to a client that does not read yet, so the
    // rest, the marker change and the heartbeat all wait for its next turn.
    [Test]
    [CancelAfter(30_000)]
    public async Task Heartbeat_WhileTheLoopIsBusy_ItsReplyComesAfterTheChangePublishedBeforeIt(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", ct);
        await client.JoinOrdersAsync("realtime:orders", "1", ct);
        // 70 changes: more than one batch (64); 35 MB: more than the loopback socket buffers hold, less than the ring's
        // byte budget.
        string big = new('x', 512 * 1024);
        for (int i = 0; i < 70; i++)
        {
            server.Notify(ChangeKind.Insert, $$"""{"id":{{i}},"customer":"{{big}}"}""");
        }

        (string? first, _) = await client.ReceiveLargeAsync(ct); // the loop is sending, then blocks on the full socket
        server.Notify(ChangeKind.Insert, """{"id":999}""");
        await client.PushAsync(null, "hb", "phoenix", "heartbeat", "{}", ct);

        using JsonDocument firstFrame = JsonDocument.Parse(first!);
        var before = new List<int> { firstFrame.RootElement[4].GetProperty("data").GetProperty("record").GetProperty("id").GetInt32() };
        while (true)
        {
            (string? text, _) = await client.ReceiveLargeAsync(ct);
            using JsonDocument frame = JsonDocument.Parse(text ?? throw new AssertionException("closed"));
            if (frame.RootElement[3].GetString() == "phx_reply")
            {
                Assert.That(frame.RootElement[1].GetString(), Is.EqualTo("hb"));
                break;
            }

            before.Add(frame.RootElement[4].GetProperty("data").GetProperty("record").GetProperty("id").GetInt32());
        }

        Assert.That(before, Is.EqualTo(Enumerable.Range(0, 70).Append(999)));
    }
}
