using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>The SignalR baseline hub: clients only listen; the count of connected clients is the subscriber count.</summary>
internal sealed class LoadHub : Hub
{
    private static int s_connections;

    public static int Connections => Volatile.Read(ref s_connections);

    public override Task OnConnectedAsync()
    {
        Interlocked.Increment(ref s_connections);
        return base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        Interlocked.Decrement(ref s_connections);
        return base.OnDisconnectedAsync(exception);
    }
}

/// <summary>Publishes the same frame text as HeliosNano through <c>Clients.All.SendAsync("change", json)</c>.</summary>
internal sealed class SignalRPublisher(IHubContext<LoadHub> hub, string note) : LoadPublisher(note)
{
    private readonly ArrayBufferWriter<byte> _scratch = new(2048);
    private readonly Utf8JsonWriter _writer = new(Stream.Null);
    private long _sequence;

    public override string Target => "signalr";

    public override int Subscribers => LoadHub.Connections;

    protected override async ValueTask<long> PublishAsync(OrderPayload.Row row)
    {
        long sequence = ++_sequence;
        string json = Encoding.UTF8.GetString(OrderPayload.BuildFrame(sequence, row, _scratch, _writer));
        await hub.Clients.All.SendAsync("change", json);
        return sequence;
    }
}
