using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>
/// The idle wait of a connection without postgres_changes bindings: woken by a signal, not by cancelling the ring
/// wait, so a broadcast to idle receivers throws nothing; and no wake-up is ever lost.
/// </summary>
public class RealtimeConnectionWakeSignalTests
{
    private const string BroadcastOnly = """{"config":{"broadcast":{"self":false},"presence":{"enabled":false}}}""";

    // Each broadcast reaches a receiver that went idle after the previous one: before the signal, every such wake-up
    // cancelled the ring wait and threw (and caught) an OperationCanceledException inside the connection loop.
    [Test]
    [NonParallelizable] // counts exceptions of the whole process
    [CancelAfter(30_000)]
    public async Task BroadcastOnlyConnection_WokenFromIdleByEachBroadcast_ThrowsNothingAndReceivesAllInOrder(CancellationToken ct)
    {
        const int Count = 50;
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=1.0.0", ct);
        await client.JoinAsync("realtime:room", BroadcastOnly, "1", ct);
        RealtimeBroadcaster broadcaster = server.Services.GetRequiredService<RealtimeBroadcaster>();
        int thrownInConnectionLoop = 0;
        EventHandler<System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs> count = (_, e) =>
        {
            if (e.Exception is OperationCanceledException && Environment.StackTrace.Contains("RealtimeConnection", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref thrownInConnectionLoop);
            }
        };

        var received = new List<int>();
        AppDomain.CurrentDomain.FirstChanceException += count;
        try
        {
            for (int n = 0; n < Count; n++)
            {
                using JsonDocument payload = JsonDocument.Parse($$"""{"n":{{n}}}""");
                await broadcaster.BroadcastAsync("room", "tick", payload.RootElement, ct);
                Frame frame = await client.ReceiveUntilAsync(f => f.Event == "broadcast", ct);
                received.Add(frame.Payload.GetProperty("payload").GetProperty("n").GetInt32());
                await Task.Delay(2, ct); // let the connection loop go idle again
            }
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= count;
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(received, Is.EqualTo(Enumerable.Range(0, Count)));
            Assert.That(thrownInConnectionLoop, Is.Zero, "a wake-up of a broadcast-only connection must not go through a cancellation");
        }
    }

    // A connection moves between the two waits as channels come and go: broadcast only, then with a postgres_changes
    // channel (ring wait), then broadcast only again; it receives what each mode is for.
    [Test]
    [CancelAfter(30_000)]
    public async Task Connection_JoinsAndLeavesAPostgresChannel_KeepsReceivingBroadcastsAndGetsChangesWhileJoined(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=1.0.0", ct);
        await client.JoinAsync("realtime:room", BroadcastOnly, "1", ct);
        RealtimeBroadcaster broadcaster = server.Services.GetRequiredService<RealtimeBroadcaster>();
        using JsonDocument payload = JsonDocument.Parse("""{"n":1}""");

        await broadcaster.BroadcastAsync("room", "before", payload.RootElement, ct);
        Frame before = await client.ReceiveUntilAsync(f => f.Event == "broadcast", ct);

        await client.JoinOrdersAsync("realtime:orders", "2", ct);
        server.Notify(ChangeKind.Insert, """{"id":7}""");
        Frame change = await client.ReceiveUntilAsync(f => f.Event == "postgres_changes", ct);
        await broadcaster.BroadcastAsync("room", "during", payload.RootElement, ct);
        Frame during = await client.ReceiveUntilAsync(f => f.Event == "broadcast", ct);

        await client.PushAsync("2", "3", "realtime:orders", "phx_leave", "{}", ct);
        await client.ReceiveUntilAsync(f => f.Event == "phx_close", ct);
        await broadcaster.BroadcastAsync("room", "after", payload.RootElement, ct);
        Frame after = await client.ReceiveUntilAsync(f => f.Event == "broadcast", ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(before.Payload.GetProperty("event").GetString(), Is.EqualTo("before"));
            Assert.That(change.Topic, Is.EqualTo("realtime:orders"));
            Assert.That(during.Payload.GetProperty("event").GetString(), Is.EqualTo("during"));
            Assert.That(after.Payload.GetProperty("event").GetString(), Is.EqualTo("after"));
        }
    }

    // A socket with only broadcast channels does not read the change feed, so the feed ending does not close it: it
    // keeps receiving broadcasts (a socket with a postgres_changes channel is closed with 1001, see RealtimeConnectionTests).
    [Test]
    [CancelAfter(15_000)]
    public async Task BroadcastOnlyConnection_NotifierCompletes_StaysOpenAndKeepsReceivingBroadcasts(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        await using TestClient client = await server.ConnectAsync("?vsn=1.0.0", ct);
        await client.JoinAsync("realtime:room", BroadcastOnly, "1", ct);
        server.Notifier!.Complete();
        using JsonDocument payload = JsonDocument.Parse("""{"n":1}""");
        await server.Services.GetRequiredService<RealtimeBroadcaster>().BroadcastAsync("room", "still", payload.RootElement, ct);
        Frame frame = await client.ReceiveUntilAsync(f => f.Event == "broadcast", ct);
        List<Frame> afterHeartbeat = await client.HeartbeatAsync("hb", ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(frame.Payload.GetProperty("event").GetString(), Is.EqualTo("still"));
            Assert.That(afterHeartbeat, Is.Empty, "the heartbeat is answered and nothing else arrived");
            Assert.That(client.CloseStatus, Is.Null);
        }
    }

    // Many threads enqueue then signal while one consumer drains and waits: a lost wake-up would leave items in the
    // queue with the consumer waiting for a signal that never comes (the bounded wait then fails the test).
    [Test]
    [CancelAfter(30_000)]
    public async Task Signal_ManyProducersOneWaiter_NoWakeUpIsLost(CancellationToken ct)
    {
        const int Producers = 4;
        const int PerProducer = 20_000;
        var signal = new RealtimeConnection.WakeSignal();
        var queue = new ConcurrentQueue<int>();
        Task[] producers = [.. Enumerable.Range(0, Producers).Select(p => Task.Run(() =>
        {
            for (int i = 0; i < PerProducer; i++)
            {
                queue.Enqueue(i);
                signal.Signal();
                if (i % 64 == 0)
                {
                    Thread.Yield();
                }
            }
        }, ct))];

        int consumed = 0;
        while (consumed < Producers * PerProducer)
        {
            ct.ThrowIfCancellationRequested();
            while (queue.TryDequeue(out _))
            {
                consumed++;
            }

            if (consumed < Producers * PerProducer)
            {
                await signal.WaitAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10), ct);
            }
        }

        await Task.WhenAll(producers);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(consumed, Is.EqualTo(Producers * PerProducer));
            Assert.That(queue, Is.Empty);
        }
    }
}
