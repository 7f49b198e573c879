using System.Diagnostics;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// <c>micro</c>: in-process measurements of per-frame and per-wake costs seen in the adapter's source, to back the
/// profile notes in the README with numbers (not a benchmark of the adapter itself; no server involved).
/// </summary>
internal static class MicroCommand
{
    public static async Task<int> RunAsync(CommandLine args)
    {
        int n = args.GetInt("iterations", 200_000);
        args.EnsureAllUsed();

        // 1. The send timeout as the adapter arms it around every frame: CancelAfter + TryReset on one CTS.
        Console.WriteLine($"CancelAfter(30 s) + TryReset, 1 thread:  {CancelAfterNs(n):0} ns per frame");
        double[] perThread = new double[Environment.ProcessorCount];
        Parallel.For(0, perThread.Length, i => perThread[i] = CancelAfterNs(n));
        Console.WriteLine($"CancelAfter(30 s) + TryReset, {perThread.Length} threads: {perThread.Average():0} ns per frame (timers share one queue per core)");

        // 2. What one wake-up of an idle connection allocates: the adapter's WhenAny over AsTask'd waits vs a plain await.
        using var notifier = new ChangeNotifier();
        ChangeTable table = notifier.GetTable(OrderPayload.Schema, OrderPayload.Table);
        using ChangeReader reader = notifier.Subscribe(ChangeFilter.For(OrderPayload.Schema, OrderPayload.Table));
        var row = new OrderPayload.Row(1, 0, OrderPayload.MakeNote(64));
        Task<bool> inbound = new TaskCompletionSource<bool>().Task;
        Task close = new TaskCompletionSource().Task;

        double notifyOnly = await AllocatedPerIterationAsync(n, () =>
        {
            notifier.Notify(table, ChangeKind.Insert, row, OrderPayload.Writer);
            reader.TryRead(out _);
            return Task.CompletedTask;
        });
        double plainWait = await AllocatedPerIterationAsync(n / 10, async () =>
        {
            ValueTask<bool> wait = reader.WaitToReadAsync();
            notifier.Notify(table, ChangeKind.Insert, row, OrderPayload.Writer);
            await wait;
            reader.TryRead(out _);
        });
        double whenAny = await AllocatedPerIterationAsync(n / 10, async () =>
        {
            Task<bool> wait = reader.WaitToReadAsync().AsTask();
            notifier.Notify(table, ChangeKind.Insert, row, OrderPayload.Writer);
            await Task.WhenAny(inbound, wait, close);
            reader.TryRead(out _);
        });
        Console.WriteLine($"Notify + TryRead (the change itself): {notifyOnly:0} B per change");
        Console.WriteLine($"one wake-up awaiting reader.WaitToReadAsync() directly: {plainWait - notifyOnly:0} B (includes this harness's async-lambda box, present in both)");
        Console.WriteLine($"one wake-up via Task.WhenAny(inbound, WaitToReadAsync().AsTask(), close) as the adapter's loop: {whenAny - notifyOnly:0} B, i.e. {whenAny - plainWait:0} B more per connection per wake-up");

        // 3. WebSocket.SendAsync of one 1.3 KB text frame into a sink stream: with CancellationToken.None vs a cancelable
        //    token (the adapter passes its send-timeout token on every frame).
        byte[] frame = new byte[1300];
        using var socket = System.Net.WebSockets.WebSocket.CreateFromStream(new SinkStream(), new System.Net.WebSockets.WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        using var timeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, TimeProvider.System);
        (double noneNs, double noneBytes) = await SendCostAsync(socket, frame, n, CancellationToken.None);
        (double tokenNs, double tokenBytes) = await SendCostAsync(socket, frame, n, timeout.Token);
        Console.WriteLine($"WebSocket.SendAsync 1.3 KB, CancellationToken.None: {noneNs:0} ns, {noneBytes:0} B per frame");
        Console.WriteLine($"WebSocket.SendAsync 1.3 KB, cancelable token:       {tokenNs:0} ns, {tokenBytes:0} B per frame");

        // 4. The writer's Notify time with readers parked (idle connections) vs none, one change per millisecond.
        foreach (int parked in new[] { 0, 1000 })
        {
            LatencySummary notify = await NotifyWithParkedReadersAsync(parked, 2000, row);
            Console.WriteLine($"Notify with {parked,6:N0} parked readers, 1 change/ms: p50 {notify.P50 / 1000.0:0.0} µs, p99 {notify.P99 / 1000.0:0.0} µs, max {notify.Max / 1000.0:0.0} µs");
        }

        return 0;
    }

    private static async Task<(double Ns, double Bytes)> SendCostAsync(System.Net.WebSockets.WebSocket socket, byte[] frame, int n, CancellationToken token)
    {
        for (int i = 0; i < 1000; i++)
        {
            await socket.SendAsync(frame.AsMemory(), System.Net.WebSockets.WebSocketMessageType.Text, endOfMessage: true, token);
        }

        long bytes = GC.GetTotalAllocatedBytes(precise: true);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < n; i++)
        {
            await socket.SendAsync(frame.AsMemory(), System.Net.WebSockets.WebSocketMessageType.Text, endOfMessage: true, token);
        }

        return (Stopwatch.GetElapsedTime(start).TotalNanoseconds / n, (GC.GetTotalAllocatedBytes(precise: true) - bytes) / (double)n);
    }

    private static async Task<LatencySummary> NotifyWithParkedReadersAsync(int parked, int changes, OrderPayload.Row row)
    {
        using var notifier = new ChangeNotifier();
        ChangeTable table = notifier.GetTable(OrderPayload.Schema, OrderPayload.Table);
        var readers = new List<ChangeReader>();
        var loops = new List<Task>();
        for (int i = 0; i < Math.Max(1, parked); i++)
        {
            ChangeReader reader = notifier.Subscribe(ChangeFilter.For(OrderPayload.Schema, OrderPayload.Table));
            readers.Add(reader);
            if (parked > 0)
            {
                loops.Add(Task.Run(async () =>
                {
                    while (await reader.WaitToReadAsync())
                    {
                        while (reader.TryRead(out _))
                        {
                        }
                    }
                }));
            }
        }

        var histogram = new LatencyHistogram();
        for (int i = 0; i < changes; i++)
        {
            await Task.Delay(1);
            long t0 = Stopwatch.GetTimestamp();
            notifier.Notify(table, ChangeKind.Insert, row, OrderPayload.Writer);
            histogram.Record((long)Stopwatch.GetElapsedTime(t0).TotalNanoseconds, 0);
            if (parked == 0)
            {
                readers[0].TryRead(out _);
            }
        }

        foreach (ChangeReader reader in readers)
        {
            reader.Dispose();
        }

        await Task.WhenAll(loops);
        return histogram.Summarize();
    }

    private static double CancelAfterNs(int n)
    {
        using var cts = new CancellationTokenSource(Timeout.InfiniteTimeSpan, TimeProvider.System);
        for (int i = 0; i < 1000; i++)
        {
            cts.CancelAfter(TimeSpan.FromSeconds(30));
            cts.TryReset();
        }

        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < n; i++)
        {
            cts.CancelAfter(TimeSpan.FromSeconds(30));
            cts.TryReset();
        }

        return Stopwatch.GetElapsedTime(start).TotalNanoseconds / n;
    }

    private static async Task<double> AllocatedPerIterationAsync(int n, Func<Task> body)
    {
        for (int i = 0; i < 1000; i++)
        {
            await body();
        }

        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < n; i++)
        {
            await body();
        }

        return (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)n;
    }

    /// <summary>A duplex stream whose writes vanish and whose reads never complete: a socket with an infinitely fast peer.</summary>
    private sealed class SinkStream : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
    }
}
