using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Time.Testing;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>Channel policies through IAuthorizationService: table reads, private broadcast and presence, cached per token.</summary>
public sealed class RealtimeChannelPolicyTests
{
    private const string Room = "realtime:room1";
    private FakeTimeProvider _clock = null!;
    private int _writeChecks;

    [SetUp]
    public void SetUp()
    {
        _clock = JwtTestAuth.NewClock();
        _writeChecks = 0;
    }

    private static bool Claim(AuthorizationHandlerContext c, string type, string value) =>
        (c.User.FindFirst(type)?.Value ?? string.Empty).Split(',').Contains(value);

    private Task<RealtimeServer> StartAsync() => JwtTestAuth.StartAsync(
        _clock,
        o =>
        {
            o.Auth.ReadChangesPolicy = "read-changes";
            o.Auth.ReadBroadcastPolicy = "room-read";
            o.Auth.ReadPresencePolicy = "room-read";
            o.Auth.WriteBroadcastPolicy = "room-write";
            o.Auth.WritePresencePolicy = "room-write";
        },
        policies: p =>
        {
            p.AddPolicy("read-changes", b => b.RequireAssertion(c => c.Resource is RealtimeChannelResource { Table: "todos" } || Claim(c, "role", "admin")));
            p.AddPolicy("room-read", b => b.RequireAssertion(c => c.Resource is RealtimeChannelResource { IsPrivate: true } r && Claim(c, "rooms", r.Topic)));
            p.AddPolicy("room-write", b => b.RequireAssertion(c =>
            {
                Interlocked.Increment(ref _writeChecks);
                return c.Resource is RealtimeChannelResource r && Claim(c, "writes", r.Topic);
            }));
        });

    private string Token(string sub, string rooms = "", string writes = "", string role = "authenticated") =>
        JwtTestAuth.Token(_clock, TimeSpan.FromHours(1), role, sub, extra: new Dictionary<string, object> { ["rooms"] = rooms, ["writes"] = writes });

    private static string PrivateJoin(string token, bool self = false, bool ack = false, bool presence = false) =>
        $$"""{"config":{"broadcast":{"self":{{(self ? "true" : "false")}},"ack":{{(ack ? "true" : "false")}}},"presence":{"enabled":{{(presence ? "true" : "false")}}},"private":true},"access_token":"{{token}}"}""";

    private static async Task<TestClient> JoinPrivateAsync(RealtimeServer server, string token, CancellationToken ct, bool self = false, bool ack = false, bool presence = false)
    {
        TestClient client = await server.ConnectAsync("?vsn=1.0.0", ct);
        Frame reply = await client.JoinAsync(Room, PrivateJoin(token, self, ack, presence), "1", ct);
        Assert.That(reply.Status, Is.EqualTo("ok"), reply.Text);
        await client.HeartbeatAsync("joined", ct);
        return client;
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ReadChanges_PolicyRefusesATable_WithSupabasesUnauthorizedReason(CancellationToken ct)
    {
        await using RealtimeServer server = await StartAsync();
        await using TestClient user = await server.ConnectAsync("?vsn=1.0.0", ct);
        string orders = """{"config":{"postgres_changes":[{"event":"*","schema":"public","table":"orders"}]},"access_token":"T"}""";
        Frame refused = await user.JoinAsync("realtime:orders", orders.Replace("T", Token("u"), StringComparison.Ordinal), "1", ct);
        Frame allowed = await user.JoinAsync("realtime:todos", orders.Replace("orders", "todos", StringComparison.Ordinal).Replace("T", Token("u"), StringComparison.Ordinal), "2", ct);
        Frame admin = await user.JoinAsync("realtime:orders", orders.Replace("T", Token("a", role: "admin"), StringComparison.Ordinal), "3", ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(refused.Response.GetProperty("reason").GetString(), Is.EqualTo("Unauthorized: You do not have permissions to read from this table: public.orders"));
            Assert.That(allowed.Status, Is.EqualTo("ok"));
            Assert.That(admin.Status, Is.EqualTo("ok"));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task PrivateBroadcast_AllowedUserSendsAndReceives_OtherIsRefusedWithTheReason(CancellationToken ct)
    {
        await using RealtimeServer server = await StartAsync();
        await using TestClient alice = await JoinPrivateAsync(server, Token("alice", rooms: "room1", writes: "room1"), ct, self: true);
        await using TestClient carol = await JoinPrivateAsync(server, Token("carol", rooms: "room1"), ct);
        await using TestClient bob = await server.ConnectAsync("?vsn=1.0.0", ct);
        Frame refused = await bob.JoinAsync(Room, PrivateJoin(Token("bob", rooms: "room2")), "1", ct);

        await alice.PushAsync("1", "2", Room, "broadcast", """{"type":"broadcast","event":"msg","payload":{"x":1}}""", ct);
        Frame atAlice = await alice.ReceiveUntilAsync(f => f.Event == "broadcast", ct);
        Frame atCarol = await carol.ReceiveUntilAsync(f => f.Event == "broadcast", ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(refused.Response.GetProperty("reason").GetString(), Is.EqualTo("Unauthorized: You do not have permissions to read from this Channel topic: room1"));
            Assert.That(atAlice.Payload.GetProperty("payload").GetProperty("x").GetInt32(), Is.EqualTo(1));
            Assert.That(atCarol.Payload.GetProperty("payload").GetProperty("x").GetInt32(), Is.EqualTo(1));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task PrivateBroadcast_WriteDenied_IsDroppedSilentlyEvenWithAck(CancellationToken ct)
    {
        await using RealtimeServer server = await StartAsync();
        await using TestClient reader = await JoinPrivateAsync(server, Token("reader", rooms: "room1"), ct, ack: true);
        await using TestClient other = await JoinPrivateAsync(server, Token("other", rooms: "room1"), ct);

        await reader.PushAsync("1", "2", Room, "broadcast", """{"type":"broadcast","event":"msg","payload":{"x":1}}""", ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await reader.HeartbeatAsync("h", ct), Is.Empty, "no ack, no error: as Supabase, RLS denials are silent");
            Assert.That(await other.HeartbeatAsync("h", ct), Is.Empty, "nothing was delivered");
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task PrivateAndPublicChannelsOfOneName_AreSeparateNamespaces(CancellationToken ct)
    {
        await using RealtimeServer server = await StartAsync();
        await using TestClient privateWriter = await JoinPrivateAsync(server, Token("w", rooms: "room1", writes: "room1"), ct);
        await using TestClient publicClient = await server.ConnectAsync("?vsn=1.0.0", ct);
        Assert.That((await publicClient.JoinAsync(Room, """{"config":{"broadcast":{"self":false}}}""", "1", ct)).Status, Is.EqualTo("ok"));
        await publicClient.HeartbeatAsync("joined", ct);

        await privateWriter.PushAsync("1", "2", Room, "broadcast", """{"type":"broadcast","event":"secret","payload":{}}""", ct);
        await publicClient.PushAsync("1", "2", Room, "broadcast", """{"type":"broadcast","event":"public","payload":{}}""", ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await publicClient.HeartbeatAsync("h", ct), Is.Empty, "the private broadcast never reaches the public channel");
            Assert.That(await privateWriter.HeartbeatAsync("h", ct), Is.Empty, "the public broadcast never reaches the private channel");
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task WriteDecision_IsCachedPerChannelUntilANewTokenArrives(CancellationToken ct)
    {
        await using RealtimeServer server = await StartAsync();
        await using TestClient writer = await JoinPrivateAsync(server, Token("w", rooms: "room1", writes: "room1"), ct, self: true);
        for (int i = 0; i < 3; i++)
        {
            await writer.PushAsync("1", $"{i + 2}", Room, "broadcast", """{"type":"broadcast","event":"msg","payload":{}}""", ct);
        }

        Assert.That((await writer.HeartbeatAsync("h1", ct)).Count(f => f.Event == "broadcast"), Is.EqualTo(3));
        Assert.That(_writeChecks, Is.EqualTo(1), "three sends, one policy evaluation");

        // A new token without write permission: the cache is reset and the next send is refused.
        await writer.PushAsync("1", null, Room, "access_token", $$"""{"access_token":"{{Token("w", rooms: "room1", writes: "")}}"}""", ct);
        await writer.PushAsync("1", "9", Room, "broadcast", """{"type":"broadcast","event":"msg","payload":{}}""", ct);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await writer.HeartbeatAsync("h2", ct), Is.Empty);
            Assert.That(_writeChecks, Is.EqualTo(2));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Refresh_ReadNoLongerAllowed_EndsTheChannel(CancellationToken ct)
    {
        await using RealtimeServer server = await StartAsync();
        await using TestClient user = await JoinPrivateAsync(server, Token("u", rooms: "room1"), ct);
        await user.PushAsync("1", null, Room, "access_token", $$"""{"access_token":"{{Token("u", rooms: "room2")}}"}""", ct);

        Frame system = await user.ReceiveUntilAsync(f => f.Event == "system", ct);
        Frame close = await user.ReceiveAsync(ct) ?? throw new AssertionException("closed");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(system.Payload.GetProperty("message").GetString(), Is.EqualTo("You no longer have permission to read from this Channel topic: room1"));
            Assert.That(close.Event, Is.EqualTo("phx_close"));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task PrivatePresence_TrackDeniedGetsAnErrorReply_AllowedTrackIsSeen(CancellationToken ct)
    {
        await using RealtimeServer server = await StartAsync();
        await using TestClient watcher = await JoinPrivateAsync(server, Token("watcher", rooms: "room1"), ct, presence: true);
        await using TestClient denied = await JoinPrivateAsync(server, Token("denied", rooms: "room1"), ct, presence: true);
        await using TestClient tracker = await JoinPrivateAsync(server, Token("tracker", rooms: "room1", writes: "room1"), ct, presence: true);

        await denied.PushAsync("1", "5", Room, "presence", """{"type":"presence","event":"track","payload":{"name":"x"}}""", ct);
        Frame deniedReply = await denied.ReceiveUntilAsync(f => f.Event == "phx_reply", ct);
        await tracker.PushAsync("1", "5", Room, "presence", """{"type":"presence","event":"track","payload":{"name":"t"}}""", ct);
        Frame diff = await watcher.ReceiveUntilAsync(f => f.Event == "presence_diff", ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(deniedReply.Payload.GetRawText(), Is.EqualTo("""{"status":"error","response":{}}"""));
            Assert.That(diff.Payload.GetRawText(), Does.Contain("\"name\":\"t\"").And.Not.Contain("\"name\":\"x\""));
        }
    }
}
