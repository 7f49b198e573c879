using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>Who is connecting: upgrade and join tokens, Supabase's reasons, back-off, expiry and refresh, end to end over Kestrel.</summary>
public sealed class RealtimeAuthExtensionTests
{
    private const string Orders = """{"config":{"postgres_changes":[{"event":"*","schema":"public","table":"orders"}]},"access_token":"TOKEN"}""";

    private static string JoinPayload(string token) => Orders.Replace("TOKEN", token, StringComparison.Ordinal);

    /// <summary>An upgrade over HttpClient, to read a refused handshake's status and body.</summary>
    internal static async Task<(HttpStatusCode Status, string Body)> UpgradeAsync(RealtimeServer server, string query, CancellationToken cancellationToken, string? bearer = null)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, server.WebSocketUri.ToString().Replace("ws://", "http://", StringComparison.Ordinal) + query);
        request.Headers.Add("Connection", "Upgrade");
        request.Headers.Add("Upgrade", "websocket");
        request.Headers.Add("Sec-WebSocket-Version", "13");
        request.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(new byte[16]));
        if (bearer is not null)
        {
            request.Headers.Add("Authorization", "Bearer " + bearer);
        }

        using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        string body = response.StatusCode == HttpStatusCode.SwitchingProtocols ? string.Empty : await response.Content.ReadAsStringAsync(cancellationToken);
        return (response.StatusCode, body);
    }

    /// <summary>Advances the fake clock in small steps until <paramref name="pending"/> completes; returns how much fake time that took.</summary>
    internal static async Task<TimeSpan> AdvanceUntilAsync(FakeTimeProvider clock, Task pending, TimeSpan step, CancellationToken cancellationToken)
    {
        TimeSpan advanced = TimeSpan.Zero;
        while (!pending.IsCompleted)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.WhenAny(pending, Task.Delay(20, cancellationToken));
            if (!pending.IsCompleted)
            {
                clock.Advance(step);
                advanced += step;
            }
        }

        await pending;
        return advanced;
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Upgrade_InvalidQueryToken_Gets401WithTheReasonAfterTheBackoff(CancellationToken cancellationToken)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        await using RealtimeServer server = await JwtTestAuth.StartAsync(clock, o => o.Auth.ConnectErrorBackoff = TimeSpan.FromSeconds(2));
        string forged = JwtTestAuth.Token(clock, TimeSpan.FromHours(1), "service_role", secret: JwtTestAuth.OtherSecret);

        Task<(HttpStatusCode Status, string Body)> upgrade = UpgradeAsync(server, "?vsn=1.0.0&apikey=" + forged, cancellationToken);
        TimeSpan waited = await AdvanceUntilAsync(clock, upgrade, TimeSpan.FromMilliseconds(250), cancellationToken);
        (HttpStatusCode status, string body) = await upgrade;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(body, Is.EqualTo("""{"error":"Failed to validate JWT signature"}"""));
            Assert.That(waited, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(2)), "fake time that passed before the 401");
            Assert.That(string.Join("\n", server.Logs.GetSnapshot().Select(r => r.Message)), Does.Not.Contain(forged).And.Not.Contain(forged.Split('.')[2]));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Upgrade_ValidQueryToken_IsTheConnectionsPrincipalForJoinsWithoutToken(CancellationToken cancellationToken)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        string? seenRole = null;
        await using RealtimeServer server = await JwtTestAuth.StartAsync(clock, o => o.AuthorizeJoin = c =>
        {
            seenRole = c.User.FindFirst("role")?.Value;
            return ValueTask.FromResult(true);
        });
        string token = JwtTestAuth.Token(clock, TimeSpan.FromHours(1), "anon");
        await using TestClient client = await server.ConnectAsync("?vsn=1.0.0&apikey=" + token, cancellationToken);
        await client.JoinOrdersAsync("realtime:orders", "1", cancellationToken);

        Assert.That(seenRole, Is.EqualTo("anon"));
        Assert.That(string.Join("\n", server.Logs.GetSnapshot().Select(r => r.Message)), Does.Not.Contain(token.Split('.')[1]));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Upgrade_SbKey_IsNotAToken(CancellationToken cancellationToken)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        await using RealtimeServer server = await JwtTestAuth.StartAsync(clock);
        (HttpStatusCode status, _) = await UpgradeAsync(server, "?vsn=1.0.0&apikey=sb_publishable_abc", cancellationToken);
        Assert.That(status, Is.EqualTo(HttpStatusCode.SwitchingProtocols));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task RequireAuthorization_RefusesWithoutTokenAndAcceptsQueryOrHeaderTokens(CancellationToken cancellationToken)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        await using RealtimeServer server = await JwtTestAuth.StartAsync(clock, requireAuthorization: true);
        string token = JwtTestAuth.Token(clock, TimeSpan.FromHours(1));

        using (Assert.EnterMultipleScope())
        {
            Assert.That((await UpgradeAsync(server, "?vsn=1.0.0", cancellationToken)).Status, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That((await UpgradeAsync(server, "?vsn=1.0.0&apikey=" + JwtTestAuth.Unsigned(clock, TimeSpan.FromHours(1)), cancellationToken)).Status, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That((await UpgradeAsync(server, "?vsn=1.0.0&apikey=" + token, cancellationToken)).Status, Is.EqualTo(HttpStatusCode.SwitchingProtocols));
            Assert.That((await UpgradeAsync(server, "?vsn=1.0.0&token=" + token, cancellationToken)).Status, Is.EqualTo(HttpStatusCode.SwitchingProtocols));
            Assert.That((await UpgradeAsync(server, "?vsn=1.0.0", cancellationToken, bearer: token)).Status, Is.EqualTo(HttpStatusCode.SwitchingProtocols));
        }
    }

    [TestCase("expired", "InvalidJWTToken: Token has expired 300 seconds ago")]
    [TestCase("norole", "InvalidJWTToken: Fields `role` and `exp` are required in JWT")]
    [TestCase("forged", "JwtSignatureError: Failed to validate JWT signature")]
    [TestCase("none", "JwtSignatureError: Failed to validate JWT signature")]
    [TestCase("garbage", "MalformedJWT: The token provided is not a valid JWT")]
    [CancelAfter(20_000)]
    public async Task Join_BadAccessToken_IsRefusedWithSupabasesReason(string kind, string reason, CancellationToken cancellationToken)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        await using RealtimeServer server = await JwtTestAuth.StartAsync(clock);
        string token = kind switch
        {
            "expired" => JwtTestAuth.Token(clock, TimeSpan.FromSeconds(-300)),
            "norole" => JwtTestAuth.Token(clock, TimeSpan.FromHours(1), role: null),
            "forged" => JwtTestAuth.Token(clock, TimeSpan.FromHours(1), secret: JwtTestAuth.OtherSecret),
            "none" => JwtTestAuth.Unsigned(clock, TimeSpan.FromHours(1)),
            _ => "garbage.token.here",
        };
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", cancellationToken);
        Frame reply = await client.JoinAsync("realtime:orders", JoinPayload(token), "1", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(reply.Status, Is.EqualTo("error"));
            Assert.That(reply.Response.GetProperty("reason").GetString(), Is.EqualTo(reason));
            Assert.That(reply.Text, Does.Not.Contain(token));
            Assert.That(server.Notifier!.GetSubscriberCount("public", "orders"), Is.Zero, "a refused join subscribes to nothing");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Join_HammeringWithBadTokens_EachRefusalWaitsTheBackoff(CancellationToken cancellationToken)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        await using RealtimeServer server = await JwtTestAuth.StartAsync(clock, o => o.Auth.JoinErrorBackoff = TimeSpan.FromSeconds(5));
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", cancellationToken);
        string forged = JwtTestAuth.Token(clock, TimeSpan.FromHours(1), secret: JwtTestAuth.OtherSecret);

        // Three joins and a heartbeat in one burst: nothing, not even the heartbeat, is answered before 3 × 5 s.
        for (int i = 1; i <= 3; i++)
        {
            await client.PushAsync($"{i}", $"{i}", "realtime:orders", "phx_join", JoinPayload(forged), cancellationToken);
        }

        Task<List<Frame>> heartbeat = client.HeartbeatAsync("hb", cancellationToken);
        TimeSpan waited = await AdvanceUntilAsync(clock, heartbeat, TimeSpan.FromMilliseconds(500), cancellationToken);
        List<Frame> replies = await heartbeat;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(replies.Select(r => r.Response.GetProperty("reason").GetString()), Is.EqualTo(Enumerable.Repeat("JwtSignatureError: Failed to validate JWT signature", 3)));
            Assert.That(waited, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(15)), "fake time before the heartbeat was answered");
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Expiry_ChannelGetsSupabasesSystemMessageThenPhxCloseAtExp(CancellationToken cancellationToken)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        await using RealtimeServer server = await JwtTestAuth.StartAsync(clock);
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", cancellationToken);
        await client.JoinAsync("realtime:orders", JoinPayload(JwtTestAuth.Token(clock, TimeSpan.FromSeconds(30))), "1", cancellationToken);
        await client.HeartbeatAsync("h0", cancellationToken);

        clock.Advance(TimeSpan.FromSeconds(29));
        List<Frame> before = await client.HeartbeatAsync("h1", cancellationToken);
        Assert.That(before.Where(f => f.Event == "system" && f.Payload.GetProperty("extension").GetString() == "system"), Is.Empty, "still valid one second before exp");

        clock.Advance(TimeSpan.FromSeconds(1));
        Frame system = await client.ReceiveUntilAsync(f => f.Event == "system" && f.Payload.GetProperty("extension").GetString() == "system", cancellationToken);
        Frame close = await client.ReceiveAsync(cancellationToken) ?? throw new AssertionException("socket closed");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(system.Text, Is.EqualTo("""["1",null,"realtime:orders","system",{"extension":"system","status":"error","message":"Token has expired 0 seconds ago","channel":"orders"}]"""));
            Assert.That(close.Text, Is.EqualTo("""["1","1","realtime:orders","phx_close",{}]"""));
            Assert.That(server.Notifier!.GetSubscriberCount("public", "orders"), Is.Zero);
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Expiry_LongLivedToken_IsRecheckedEveryIntervalAndEndsExactlyAtExp(CancellationToken cancellationToken)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        await using RealtimeServer server = await JwtTestAuth.StartAsync(clock);
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", cancellationToken);
        await client.JoinAsync("realtime:orders", JoinPayload(JwtTestAuth.Token(clock, TimeSpan.FromMinutes(12))), "1", cancellationToken);
        await client.HeartbeatAsync("h0", cancellationToken);

        // Checks at 5 and 10 minutes find the token valid; the one at 12 (min(5 min, exp - now)) ends the channel.
        for (int minute = 1; minute <= 11; minute++)
        {
            clock.Advance(TimeSpan.FromMinutes(1));
            Assert.That(await client.HeartbeatAsync("m" + minute, cancellationToken), Is.Empty, $"minute {minute}");
        }

        clock.Advance(TimeSpan.FromMinutes(1));
        Frame system = await client.ReceiveUntilAsync(f => f.Event == "system", cancellationToken);
        Assert.That(system.Payload.GetProperty("message").GetString(), Is.EqualTo("Token has expired 0 seconds ago"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Refresh_BeforeExpiry_KeepsTheChannelAndItsChanges(CancellationToken cancellationToken)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        await using RealtimeServer server = await JwtTestAuth.StartAsync(clock);
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", cancellationToken);
        await client.JoinAsync("realtime:orders", JoinPayload(JwtTestAuth.Token(clock, TimeSpan.FromSeconds(30))), "2", cancellationToken);
        await client.HeartbeatAsync("h0", cancellationToken);

        clock.Advance(TimeSpan.FromSeconds(20));
        await client.PushAsync("2", null, "realtime:orders", "access_token", $$"""{"access_token":"{{JwtTestAuth.Token(clock, TimeSpan.FromHours(1))}}"}""", cancellationToken);
        Assert.That(await client.HeartbeatAsync("h1", cancellationToken), Is.Empty, "access_token is never answered");

        clock.Advance(TimeSpan.FromSeconds(20));
        Assert.That(await client.HeartbeatAsync("h2", cancellationToken), Is.Empty, "the old token's expiry no longer ends the channel");

        server.Notify(ChangeKind.Insert, """{"id":1,"customer":"a"}""");
        Frame change = await client.ReceiveUntilAsync(f => f.Event == "postgres_changes", cancellationToken);
        Assert.That(change.Payload.GetProperty("data").GetProperty("type").GetString(), Is.EqualTo("INSERT"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Refresh_InvalidToken_EndsTheChannelWithTheMessage(CancellationToken cancellationToken)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        await using RealtimeServer server = await JwtTestAuth.StartAsync(clock);
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", cancellationToken);
        await client.JoinAsync("realtime:orders", JoinPayload(JwtTestAuth.Token(clock, TimeSpan.FromHours(1))), "1", cancellationToken);
        string forged = JwtTestAuth.Token(clock, TimeSpan.FromHours(2), "service_role", secret: JwtTestAuth.OtherSecret);

        await client.PushAsync("1", null, "realtime:orders", "access_token", $$"""{"access_token":"{{forged}}"}""", cancellationToken);
        Frame system = await client.ReceiveUntilAsync(f => f.Event == "system" && f.Payload.GetProperty("extension").GetString() == "system", cancellationToken);
        Frame close = await client.ReceiveAsync(cancellationToken) ?? throw new AssertionException("socket closed");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(system.Payload.GetProperty("message").GetString(), Is.EqualTo("Failed to validate JWT signature"));
            Assert.That(close.Event, Is.EqualTo("phx_close"));
            Assert.That(system.Text, Does.Not.Contain(forged));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Refresh_SbKeyNullOrSameToken_IsIgnored(CancellationToken cancellationToken)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        await using RealtimeServer server = await JwtTestAuth.StartAsync(clock);
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0", cancellationToken);
        string token = JwtTestAuth.Token(clock, TimeSpan.FromHours(1));
        await client.JoinAsync("realtime:orders", JoinPayload(token), "1", cancellationToken);
        await client.HeartbeatAsync("h0", cancellationToken);

        foreach (string payload in new[] { """{"access_token":"sb_publishable_x"}""", """{"access_token":null}""", $$"""{"access_token":"{{token}}"}""", "{}" })
        {
            await client.PushAsync("1", null, "realtime:orders", "access_token", payload, cancellationToken);
        }

        Assert.That(await client.HeartbeatAsync("h", cancellationToken), Is.Empty);
        Assert.That(server.Notifier!.GetSubscriberCount("public", "orders"), Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task NoScheme_TokensAreIgnoredAsBefore(CancellationToken cancellationToken)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=2.0.0&apikey=not-a-jwt", cancellationToken);
        Frame reply = await client.JoinAsync("realtime:orders", JoinPayload("also-not-a-jwt"), "1", cancellationToken);
        Assert.That(reply.Status, Is.EqualTo("ok"));
    }
}
