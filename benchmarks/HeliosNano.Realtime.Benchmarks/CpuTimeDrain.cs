using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;

namespace HeliosNano.Realtime.Benchmarks;

/// <summary>
/// The <see cref="PublishDrainBenchmarks"/> scenario measured in process CPU time as well as wall time
/// (<c>-- --cpu-drain</c>). On a shared, overloaded machine the wall clock mostly measures time-slicing; the CPU time
/// the process spent per published event (publisher plus all readers) is what the two designs really cost, and it is
/// much more repeatable. Also reports how often each reader went back to waiting and how many thread-pool work items
/// (wake-ups) a batch took.
/// </summary>
internal static class CpuTimeDrain
{
    private const int EventsPerBatch = PublishDrainBenchmarks.EventsPerInvocation;
    private const int WarmupBatches = 300;
    private const int MeasuredBatches = 1500;

    public static void Run(TextWriter output)
    {
        output.WriteLine($"Build the event alone (row JSON + ChangeEvent): {MeasureBuild():F0} ns CPU per event");
        foreach (int readers in (int[])[1, 4, 16])
        {
            Result channels = Measure(readers, useChannels: true);
            Result ring = Measure(readers, useChannels: false);
            output.WriteLine(channels.Format("Channels", readers));
            output.WriteLine(ring.Format("Ring    ", readers));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  R={readers,2}: ring delivers {channels.CpuPerEvent / ring.CpuPerEvent:F2}x the events per CPU-second, {channels.WallPerEvent / ring.WallPerEvent:F2}x per wall-second"));
        }
    }

    private static double MeasureBuild()
    {
        using var notifier = new ChangeNotifier();
        ChangeTable orders = notifier.GetTable(OrderRow.Schema, OrderRow.Table);
        orders.SetColumns(OrderRow.Columns);
        OrderRow[] rows = OrderRow.CreateMany(EventsPerBatch);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using var writer = new Utf8JsonWriter(buffer);
        long sink = 0;
        TimeSpan start = default;
        for (int batch = 0; batch < WarmupBatches + MeasuredBatches; batch++)
        {
            if (batch == WarmupBatches)
            {
                start = Process.GetCurrentProcess().TotalProcessorTime;
            }

            foreach (OrderRow row in rows)
            {
                sink += row.ToEvent(orders, writer, buffer).Record.Length;
            }
        }

        GC.KeepAlive(sink);
        return (Process.GetCurrentProcess().TotalProcessorTime - start).TotalNanoseconds / (MeasuredBatches * (double)EventsPerBatch);
    }

    private static Result Measure(int readers, bool useChannels)
    {
        using var notifier = new ChangeNotifier();
        using var lifetime = new CancellationTokenSource();
        using var drained = new CountdownEvent(readers);
        ChangeTable orders = notifier.GetTable(OrderRow.Schema, OrderRow.Table);
        orders.SetColumns(OrderRow.Columns);
        OrderRow[] rows = OrderRow.CreateMany(EventsPerBatch);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using var writer = new Utf8JsonWriter(buffer);
        var channels = new Channel<ChangeEvent>[useChannels ? readers : 0];
        var subscriptions = new ChangeReader[useChannels ? 0 : readers];
        var tasks = new Task[readers];
        long[] rounds = new long[readers];
        long expected = 0;
        for (int i = 0; i < readers; i++)
        {
            int index = i;
            if (useChannels)
            {
                Channel<ChangeEvent> channel = channels[i] = Channel.CreateBounded<ChangeEvent>(
                    new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
                tasks[i] = Task.Run(async () =>
                {
                    long received = 0;
                    while (await channel.Reader.WaitToReadAsync(lifetime.Token).ConfigureAwait(false))
                    {
                        rounds[index]++;
                        while (channel.Reader.TryRead(out ChangeEvent? change))
                        {
                            received += change.Record.IsEmpty ? 0 : 1;
                            if (received == Volatile.Read(ref expected))
                            {
                                drained.Signal();
                            }
                        }
                    }
                });
            }
            else
            {
                ChangeReader reader = subscriptions[i] = notifier.Subscribe(ChangeFilter.For(OrderRow.Schema, OrderRow.Table));
                tasks[i] = Task.Run(async () =>
                {
                    long received = 0;
                    while (await reader.WaitToReadAsync(lifetime.Token).ConfigureAwait(false))
                    {
                        rounds[index]++;
                        while (reader.TryRead(out ChangeEvent? change))
                        {
                            received += change.Record.IsEmpty ? 0 : 1;
                            if (received == Volatile.Read(ref expected))
                            {
                                drained.Signal();
                            }
                        }
                    }
                });
            }
        }

        var wall = new Stopwatch();
        TimeSpan cpuStart = default;
        long workItemsStart = 0;
        for (int batch = 0; batch < WarmupBatches + MeasuredBatches; batch++)
        {
            if (batch == WarmupBatches)
            {
                Array.Clear(rounds);
                workItemsStart = ThreadPool.CompletedWorkItemCount;
                cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
                wall.Start();
            }

            drained.Reset(readers);
            Volatile.Write(ref expected, expected + EventsPerBatch);
            foreach (OrderRow row in rows)
            {
                if (useChannels)
                {
                    ChangeEvent change = row.ToEvent(orders, writer, buffer);
                    foreach (Channel<ChangeEvent> channel in channels)
                    {
                        channel.Writer.TryWrite(change);
                    }
                }
                else
                {
                    notifier.Notify(orders, ChangeKind.Insert, row, OrderRow.Writer);
                }
            }

            if (!drained.Wait(TimeSpan.FromSeconds(30)))
            {
                throw new TimeoutException("The readers did not drain the batch: an event was lost.");
            }
        }

        wall.Stop();
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuStart;
        long workItems = ThreadPool.CompletedWorkItemCount - workItemsStart;
        foreach (Channel<ChangeEvent> channel in channels)
        {
            channel.Writer.TryComplete();
        }

        notifier.Complete();
        Task.WaitAll(tasks, TimeSpan.FromSeconds(30));
        foreach (ChangeReader reader in subscriptions)
        {
            reader.Dispose();
        }

        double events = MeasuredBatches * (double)EventsPerBatch;
        return new Result(cpu.TotalNanoseconds / events, wall.Elapsed.TotalNanoseconds / events, rounds.Average() / MeasuredBatches, workItems / (double)MeasuredBatches);
    }

    private readonly record struct Result(double CpuPerEvent, double WallPerEvent, double WaitRoundsPerReaderPerBatch, double WorkItemsPerBatch)
    {
        public string Format(string name, int readers) => string.Create(CultureInfo.InvariantCulture,
            $"{name} R={readers,2}: CPU {CpuPerEvent,6:F0} ns/event ({CpuPerEvent / readers,5:F0} ns/delivery, {readers * 1e3 / CpuPerEvent,6:F2} M deliveries per CPU-second), " +
            $"wall {WallPerEvent,6:F0} ns/event ({readers * 1e3 / WallPerEvent,6:F2} M delivered/s), wait rounds/reader/batch {WaitRoundsPerReaderPerBatch,5:F1}, work items/batch {WorkItemsPerBatch,5:F0}");
    }
}
