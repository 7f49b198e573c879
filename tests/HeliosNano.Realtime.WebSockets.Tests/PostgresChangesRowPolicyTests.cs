using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>Row-level policies at fan-out: each tenant gets exactly its rows, in order, for one evaluation per group and change.</summary>
public sealed class PostgresChangesRowPolicyTests
{
    private const string Join = """{"config":{"postgres_changes":[{"event":"*","schema":"public","table":"orders"}]}}""";

    private static Task<RealtimeServer> StartAsync(FakeTimeProvider clock, RealtimeRowPolicy policy) =>
        JwtTestAuth.StartAsync(clock, o => o.Auth.RowPolicies.Add(policy));

    private static async Task<TestClient> ConnectAsync(RealtimeServer server, FakeTimeProvider clock, string tenant, CancellationToken ct, string role = "authenticated")
    {
        string token = JwtTestAuth.Token(clock, TimeSpan.FromHours(1), role, "u-" + tenant, extra: new Dictionary<string, object> { ["tenant_id"] = tenant });
        TestClient client = await server.ConnectAsync("?vsn=1.0.0&apikey=" + token, ct);
        await client.JoinOrdersAsync("realtime:orders", "1", ct);
        return client;
    }

    private static async Task<List<JsonElement>> ReceiveChangesAsync(TestClient client, int count, CancellationToken ct)
    {
        var changes = new List<JsonElement>();
        while (changes.Count < count)
        {
            Frame frame = await client.ReceiveUntilAsync(f => f.Event is "postgres_changes" or "system", ct);
            changes.Add(frame.Payload);
        }

        return changes;
    }

    private static readonly RealtimeRowPolicy s_tenant = RealtimeRowPolicy.ColumnEqualsClaim("tenant_rows", "public", "orders", "customer", "tenant_id");

    [Test]
    [CancelAfter(30_000)]
    public async Task TwoTenants_GetDisjointCompleteOrderedStreams_ForOneEvaluationPerGroupNotPerSubscriber(CancellationToken ct)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        await using RealtimeServer server = await StartAsync(clock, s_tenant);
        using var evaluations = new MetricCollector<long>(server.Services.GetRequiredService<IMeterFactory>(), RealtimeWebSocketMetrics.MeterName, "heliosnano.realtime.ws.row_policy.evaluations");
        var clients = new List<(string Tenant, TestClient Client)>();
        for (int i = 0; i < 10; i++)
        {
            string tenant = i % 2 == 0 ? "t1" : "t2";
            clients.Add((tenant, await ConnectAsync(server, clock, tenant, ct)));
        }

        TestClient service = await ConnectAsync(server, clock, "t1", ct, role: "service_role");
        const int Changes = 40;
        for (int id = 1; id <= Changes; id++)
        {
            server.Notify(ChangeKind.Insert, $$"""{"id":{{id}},"customer":"{{(id % 2 == 1 ? "t1" : "t2")}}"}""");
        }

        try
        {
            foreach ((string tenant, TestClient client) in clients)
            {
                List<JsonElement> got = await ReceiveChangesAsync(client, Changes / 2, ct);
                int[] ids = [.. got.Select(c => c.GetProperty("record").GetProperty("id").GetInt32())];
                int[] expected = [.. Enumerable.Range(1, Changes).Where(id => (id % 2 == 1) == (tenant == "t1"))];
                Assert.That(ids, Is.EqualTo(expected), $"{tenant}: exactly its rows, all of them, in commit order");
                Assert.That(await client.HeartbeatAsync("end", ct), Is.Empty, $"{tenant}: nothing else");
            }

            List<JsonElement> all = await ReceiveChangesAsync(service, Changes, ct);
            Assert.That(all.Select(c => c.GetProperty("record").GetProperty("id").GetInt32()), Is.EqualTo(Enumerable.Range(1, Changes)), "service_role bypasses the policy");

            // 40 changes × 2 groups; per subscriber it would be 40 × 10 (and 40 more for the service role).
            evaluations.RecordObservableInstruments();
            Assert.That(evaluations.GetMeasurementSnapshot().Sum(m => m.Value), Is.EqualTo(Changes * 2));
        }
        finally
        {
            foreach ((_, TestClient client) in clients)
            {
                await client.DisposeAsync();
            }

            await service.DisposeAsync();
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task RowMovesBetweenTenants_OldTenantGetsADeleteNewTenantAnInsert(CancellationToken ct)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        await using RealtimeServer server = await StartAsync(clock, s_tenant);
        await using TestClient t1 = await ConnectAsync(server, clock, "t1", ct);
        await using TestClient t2 = await ConnectAsync(server, clock, "t2", ct);

        server.Notify(ChangeKind.Update, """{"id":7,"customer":"t2","total":"9"}""", """{"id":7,"customer":"t1","total":"5"}""");
        JsonElement atT1 = (await ReceiveChangesAsync(t1, 1, ct))[0];
        JsonElement atT2 = (await ReceiveChangesAsync(t2, 1, ct))[0];

        using (Assert.EnterMultipleScope())
        {
            Assert.That(atT1.GetProperty("data").GetProperty("type").GetString(), Is.EqualTo("DELETE"));
            Assert.That(atT1.GetProperty("data").GetProperty("record").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(atT1.GetProperty("data").GetProperty("old_record").GetProperty("total").GetString(), Is.EqualTo("5"));
            Assert.That(atT1.GetProperty("type").GetString(), Is.EqualTo("DELETE"), "the flat mirror agrees");
            Assert.That(atT2.GetProperty("data").GetProperty("type").GetString(), Is.EqualTo("INSERT"));
            Assert.That(atT2.GetProperty("data").GetProperty("old_record").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(atT2.GetProperty("data").GetProperty("record").GetProperty("total").GetString(), Is.EqualTo("9"));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task ThrowingRule_OnlyItsGroupIsToldAndMissesTheChange(CancellationToken ct)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        RealtimeRowPolicy policy = RealtimeRowPolicy.Create("fragile", "public", "orders", ["tenant_id"], c =>
            c.GetClaim("tenant_id") == "bad" ? throw new InvalidOperationException("policy bug") : c.ColumnEquals("customer", c.GetClaim("tenant_id")));
        await using RealtimeServer server = await StartAsync(clock, policy);
        await using TestClient bad = await ConnectAsync(server, clock, "bad", ct);
        await using TestClient good = await ConnectAsync(server, clock, "t1", ct);

        server.Notify(ChangeKind.Insert, """{"id":1,"customer":"t1"}""");
        JsonElement atBad = (await ReceiveChangesAsync(bad, 1, ct))[0];
        JsonElement atGood = (await ReceiveChangesAsync(good, 1, ct))[0];

        using (Assert.EnterMultipleScope())
        {
            Assert.That(atBad.GetProperty("message").GetString(), Does.StartWith("RowPolicyFailed: the row policy of public.orders failed on change"));
            Assert.That(atBad.GetProperty("status").GetString(), Is.EqualTo("error"));
            Assert.That(atGood.GetProperty("record").GetProperty("id").GetInt32(), Is.EqualTo(1));
            Assert.That(server.Logs.GetSnapshot().Count(r => r.Id.Name == "RowPolicyFailed"), Is.EqualTo(1), "logged once for the group");
        }

        // The healthy group keeps receiving.
        server.Notify(ChangeKind.Insert, """{"id":2,"customer":"t1"}""");
        Assert.That((await ReceiveChangesAsync(good, 1, ct))[0].GetProperty("record").GetProperty("id").GetInt32(), Is.EqualTo(2));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Refresh_WithOtherClaims_MovesTheChannelToTheNewGroup(CancellationToken ct)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        await using RealtimeServer server = await StartAsync(clock, s_tenant);
        await using TestClient client = await server.ConnectAsync("?vsn=1.0.0", ct);
        string t1 = JwtTestAuth.Token(clock, TimeSpan.FromHours(1), extra: new Dictionary<string, object> { ["tenant_id"] = "t1" });
        string join = """{"config":{"postgres_changes":[{"event":"*","schema":"public","table":"orders"}]},"access_token":"T1"}""";
        Assert.That((await client.JoinAsync("realtime:orders", join.Replace("T1", t1, StringComparison.Ordinal), "1", ct)).Status, Is.EqualTo("ok"));
        await client.HeartbeatAsync("joined", ct);

        server.Notify(ChangeKind.Insert, """{"id":1,"customer":"t1"}""");
        server.Notify(ChangeKind.Insert, """{"id":2,"customer":"t2"}""");
        Assert.That((await ReceiveChangesAsync(client, 1, ct))[0].GetProperty("record").GetProperty("id").GetInt32(), Is.EqualTo(1));
        await client.HeartbeatAsync("h1", ct);

        string t2 = JwtTestAuth.Token(clock, TimeSpan.FromHours(1), extra: new Dictionary<string, object> { ["tenant_id"] = "t2" });
        await client.PushAsync("1", null, "realtime:orders", "access_token", $$"""{"access_token":"{{t2}}"}""", ct);
        await client.HeartbeatAsync("h2", ct);
        server.Notify(ChangeKind.Insert, """{"id":3,"customer":"t1"}""");
        server.Notify(ChangeKind.Insert, """{"id":4,"customer":"t2"}""");
        Assert.That((await ReceiveChangesAsync(client, 1, ct))[0].GetProperty("record").GetProperty("id").GetInt32(), Is.EqualTo(4));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task PoliciesAddedWhileRunning_ApplyFromTheNextChange(CancellationToken ct)
    {
        FakeTimeProvider clock = JwtTestAuth.NewClock();
        RealtimeRowPolicyCollection? policies = null;
        await using RealtimeServer server = await JwtTestAuth.StartAsync(clock, o => policies = o.Auth.RowPolicies);
        await using TestClient client = await ConnectAsync(server, clock, "t1", ct);

        server.Notify(ChangeKind.Insert, """{"id":1,"customer":"t2"}""");
        Assert.That((await ReceiveChangesAsync(client, 1, ct))[0].GetProperty("record").GetProperty("id").GetInt32(), Is.EqualTo(1), "no policy yet: visible");

        policies!.Add(s_tenant);
        server.Notify(ChangeKind.Insert, """{"id":2,"customer":"t2"}""");
        server.Notify(ChangeKind.Insert, """{"id":3,"customer":"t1"}""");
        Assert.That((await ReceiveChangesAsync(client, 1, ct))[0].GetProperty("record").GetProperty("id").GetInt32(), Is.EqualTo(3));

        policies.Clear();
        server.Notify(ChangeKind.Insert, """{"id":4,"customer":"t2"}""");
        Assert.That((await ReceiveChangesAsync(client, 1, ct))[0].GetProperty("record").GetProperty("id").GetInt32(), Is.EqualTo(4), "policy dropped: visible again");
    }
}
