using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>The join-time bounds on what one connection can make the server hold and compute (review findings #2 and #3).</summary>
public class RealtimeWebSocketLimitsTests
{
    /// <summary>The review's row: catastrophic for a backtracking <c>^(a+)+$</c> (2^40 paths), trivial for a linear engine.</summary>
    private const string AttackRow = """{"id":1,"customer":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!","total":"1","status":"x","paid":false}""";

    private static string Bindings(int count, Func<int, string?> filter) =>
        string.Join(",", Enumerable.Range(0, count).Select(i => filter(i) is string f
            ? $$"""{"event":"*","schema":"public","table":"orders","filter":{{System.Text.Json.JsonSerializer.Serialize(f)}}}"""
            : """{"event":"*","schema":"public","table":"orders"}"""));

    private static string JoinPayload(string bindings) => "{\"config\":{\"postgres_changes\":[" + bindings + "]}}";

    [Test]
    [CancelAfter(20_000)]
    public async Task Join_MoreBindingsThanMaxBindingsPerChannel_IsRefused(CancellationToken cancellationToken)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync(cancellationToken: cancellationToken);

        Frame reply = await client.JoinAsync("realtime:many", JoinPayload(Bindings(RealtimeWebSocketOptions.DefaultMaxBindingsPerChannel + 1, _ => null)), "1", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(reply.Status, Is.EqualTo("error"));
            Assert.That(reply.Response.GetProperty("reason").GetString(), Does.StartWith("TooManyBindings:"));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Join_LargerThanMaxJoinPayloadBytes_IsRefusedAndTheConnectionStays(CancellationToken cancellationToken)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync(cancellationToken: cancellationToken);
        string filler = new('x', RealtimeWebSocketOptions.DefaultMaxJoinPayloadBytes);

        Frame reply = await client.JoinAsync("realtime:big", "{\"access_token\":\"" + filler + "\",\"config\":{\"postgres_changes\":[]}}", "1", cancellationToken);
        Frame ok = await client.JoinAsync("realtime:small", JoinPayload(Bindings(1, _ => null)), "2", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(reply.Status, Is.EqualTo("error"));
            Assert.That(reply.Response.GetProperty("reason").GetString(), Does.StartWith("PayloadTooLarge:"));
            Assert.That(ok.Status, Is.EqualTo("ok"));
        }
    }

    [TestCase(4097, 1)]
    [TestCase(0, 11)]
    [CancelAfter(20_000)]
    public async Task Join_FilterOverLengthOrConditionLimit_GetsTheBindingError(int length, int conditions, CancellationToken cancellationToken)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync(cancellationToken: cancellationToken);
        string filter = length > 0
            ? "customer=eq." + new string('x', length)
            : string.Join(",", Enumerable.Repeat("customer=neq.x", conditions));

        Frame reply = await client.JoinAsync("realtime:f", JoinPayload(Bindings(1, _ => filter)), "1", cancellationToken);
        Frame system = await client.ReceiveAsync(cancellationToken) ?? throw new AssertionException("closed");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(reply.Status, Is.EqualTo("ok"), "a bad filter does not fail the join, as on Supabase");
            Assert.That(system.Payload.GetProperty("status").GetString(), Is.EqualTo("error"));
            Assert.That(system.Payload.GetProperty("message").GetString(), Does.StartWith("Error parsing `filter` params:").And.Contain("at most"));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Join_PastMaxFilterConditionsPerConnection_IsRefused(CancellationToken cancellationToken)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync(o => o.MaxFilterConditionsPerConnection = 5);
        await using TestClient client = await server.ConnectAsync(cancellationToken: cancellationToken);

        Frame first = await client.JoinAsync("realtime:a", JoinPayload(Bindings(1, _ => "id=in.(1,2,3)")), "1", cancellationToken);
        Frame second = await client.JoinAsync("realtime:b", JoinPayload(Bindings(1, _ => "id=in.(4,5,6)")), "2", cancellationToken);
        Frame replacing = await client.JoinAsync("realtime:a", JoinPayload(Bindings(1, _ => "id=in.(1,2),customer=eq.x")), "3", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.Status, Is.EqualTo("ok"));
            Assert.That(second.Status, Is.EqualTo("error"), "3 + 3 in-values is over 5");
            Assert.That(second.Response.GetProperty("reason").GetString(), Does.StartWith("FilterBudgetExceeded:"));
            Assert.That(replacing.Status, Is.EqualTo("ok"), "a re-join does not count the channel it replaces");
        }
    }

    [TestCase("customer=match.(a)\\1")]
    [TestCase("customer=match.(?=a)a")]
    [TestCase("customer=imatch.(?>a+)b")]
    public void Parse_RegexTheLinearEngineCannotRun_IsRefused(string filter)
    {
        Assert.That(() => RowFilter.Parse(filter), Throws.TypeOf<FormatException>().With.Message.Contains("does not evaluate"));
    }

    /// <summary>
    /// The worst join the defaults allow, measured in this process: 100 channels, each with one unfiltered binding and
    /// ten <c>match.^(a+)+$|xN</c> bindings (distinct patterns, so none is shared), 1,000 regex conditions in all: the
    /// whole per-connection budget. Before the fix one such change cost about 100 CPU-seconds (1,000 × the 100 ms regex
    /// timeout); the bound here is generous and still 20 times below that.
    /// </summary>
    [Test]
    [NonParallelizable] // measures the whole process: other tests' work would blur it
    [CancelAfter(120_000)]
    public async Task Change_WorstAllowedJoin_CpuPerChangeStaysBounded(CancellationToken cancellationToken)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync(cancellationToken: cancellationToken);
        int channels = RealtimeWebSocketOptions.DefaultMaxChannelsPerConnection;
        int perChannel = RealtimeWebSocketOptions.DefaultMaxFilterConditionsPerConnection / channels;
        for (int c = 0; c < channels; c++)
        {
            string bindings = Bindings(perChannel, i => $"customer=match.^(a+)+$|x{(c * perChannel) + i}") + "," + Bindings(1, _ => null);
            Frame reply = await client.JoinAsync($"realtime:c{c}", JoinPayload(bindings), c.ToString(CultureInfo.InvariantCulture), cancellationToken);
            Assert.That(reply.Status, Is.EqualTo("ok"), reply.Text);
        }

        // Drain the per-binding system messages so the next frames are the change's.
        double[] cpuMs = new double[2];
        string[] rows = [AttackRow, AttackRow.Replace("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", new string('a', 16 * 1024) + "!", StringComparison.Ordinal)];
        for (int r = 0; r < rows.Length; r++)
        {
            TimeSpan before = Process.GetCurrentProcess().TotalProcessorTime;
            long sequence = server.Notify(ChangeKind.Insert, rows[r]);
            string lastTopic = $"realtime:c{channels - 1}";
            await client.ReceiveUntilAsync(f => f.Topic == lastTopic && f.Event == "postgres_changes"
                && f.Payload.GetProperty("seq").GetInt64() == sequence, cancellationToken);
            cpuMs[r] = (Process.GetCurrentProcess().TotalProcessorTime - before).TotalMilliseconds;
        }

        TestContext.Out.WriteLine($"CPU for one change, worst allowed join ({channels} channels x {perChannel} regex bindings + 1 plain): {cpuMs[0]:F0} ms (41-character value), {cpuMs[1]:F0} ms (16 KiB value)");
        Assert.That(cpuMs[0], Is.LessThan(5_000), "CPU-milliseconds for one change; before the fix about 100,000");
    }

    /// <summary>
    /// The review's memory attack: joins of about 1 MB (one binding, a filter of 95,000 conditions) grew the server by
    /// about 40 MB each. Now each is refused at the join cap, and the worst allowed joins (100 channels of 100 bindings at
    /// the 16 KiB cap) hold a bounded few MB; both measured in this process's managed heap.
    /// </summary>
    [Test]
    [NonParallelizable] // measures the whole process: other tests' work would blur it
    [CancelAfter(120_000)]
    public async Task Joins_ReviewAttackAndWorstAllowed_RetainBoundedMemory(CancellationToken cancellationToken)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync(cancellationToken: cancellationToken);
        string attackFilter = string.Join(",", Enumerable.Repeat("customer=neq.x", 60_000));

        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        for (int c = 0; c < 10; c++)
        {
            Frame refused = await client.JoinAsync($"realtime:attack{c}", JoinPayload(Bindings(1, _ => attackFilter)), "a" + c.ToString(CultureInfo.InvariantCulture), cancellationToken);
            Assert.That(refused.Status, Is.EqualTo("error"), refused.Text[..Math.Min(300, refused.Text.Length)]);
        }

        long afterAttack = GC.GetTotalMemory(forceFullCollection: true);

        // Worst allowed: each join just under 16 KiB, 100 bindings, filters up to the 1,000-condition budget in total
        // (on a second connection: the first one's 10 joins count against its 100 messages per second).
        await using TestClient worst = await server.ConnectAsync(cancellationToken: cancellationToken);
        for (int c = 0; c < RealtimeWebSocketOptions.DefaultMaxChannelsPerConnection; c++)
        {
            int index = c;
            string bindings = Bindings(RealtimeWebSocketOptions.DefaultMaxBindingsPerChannel, i => i < 10 ? $"customer=eq.{new string('v', 40)}{index}_{i}" : null);
            Frame reply = await worst.JoinAsync($"realtime:w{c}", JoinPayload(bindings), "w" + c.ToString(CultureInfo.InvariantCulture), cancellationToken);
            Assert.That(reply.Status, Is.EqualTo("ok"), reply.Text[..Math.Min(300, reply.Text.Length)]);
        }

        long afterWorst = GC.GetTotalMemory(forceFullCollection: true);
        double attackMb = (afterAttack - baseline) / 1e6;
        double worstMb = (afterWorst - afterAttack) / 1e6;
        TestContext.Out.WriteLine($"retained: 10 attack joins of {Encoding.UTF8.GetByteCount(attackFilter) / 1e6:F1} MB each: {attackMb:F2} MB; 100 worst allowed joins: {worstMb:F2} MB ({worstMb * 1000 / 100:F0} KB per join)");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(attackMb, Is.LessThan(64), "pooled receive buffers only; before the fix about 40 MB per join, 400 MB here");
            Assert.That(worstMb, Is.LessThan(64), "one connection's bindings at every default limit");
        }
    }

    /// <summary>
    /// The review saw the CPU pinned for 20 s after the attacker's sockets closed: the loop only noticed at its next
    /// failed send. 200 queued changes at the worst allowed join cost about 20 CPU-seconds to evaluate; once the client
    /// closes, the connection must stop within the change it is on.
    /// </summary>
    [Test]
    [NonParallelizable] // measures the whole process: other tests' work would blur it
    [CancelAfter(120_000)]
    public async Task Close_WithChangesQueued_StopsEvaluatingFilters(CancellationToken cancellationToken)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        TestClient client = await server.ConnectAsync(cancellationToken: cancellationToken);
        int channels = RealtimeWebSocketOptions.DefaultMaxChannelsPerConnection;
        int perChannel = RealtimeWebSocketOptions.DefaultMaxFilterConditionsPerConnection / channels;
        for (int c = 0; c < channels; c++)
        {
            // No binding matches: nothing is sent, so only the evaluations cost anything.
            string bindings = Bindings(perChannel, i => $"customer=match.^(a+)+$|x{(c * perChannel) + i}");
            Frame reply = await client.JoinAsync($"realtime:c{c}", JoinPayload(bindings), c.ToString(CultureInfo.InvariantCulture), cancellationToken);
            Assert.That(reply.Status, Is.EqualTo("ok"), reply.Text);
        }

        string row = AttackRow.Replace("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", new string('a', 16 * 1024) + "!", StringComparison.Ordinal);
        TimeSpan before = Process.GetCurrentProcess().TotalProcessorTime;
        for (int i = 0; i < 200; i++)
        {
            server.Notify(ChangeKind.Insert, row);
        }

        await client.Socket.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, cancellationToken);
        while (!server.Logs.GetSnapshot().Any(r => r.Id.Name == "Disconnected"))
        {
            await Task.Delay(20, cancellationToken);
        }

        double cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - before).TotalMilliseconds;
        TestContext.Out.WriteLine($"CPU from 200 queued changes to the end of a closed connection: {cpuMs:F0} ms");
        Assert.That(cpuMs, Is.LessThan(8_000), "CPU-milliseconds; evaluating all 200 changes cost about 20,000 (measured without the check)");
        await client.DisposeAsync();
    }
}
