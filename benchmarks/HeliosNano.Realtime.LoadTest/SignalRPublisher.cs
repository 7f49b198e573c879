using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>The SignalR baseline hub: clients only listen; the count of connected clients is the subscriber count.</summary>
internal sealed class LoadHub : Hub
{
    private static int s_connections;
    private static int s_groupMembers;

    public static int Connections => Volatile.Read(ref s_connections);

    /// <summary>Gets how many connections were added to the broadcast group (set <see cref="JoinGroup"/> first).</summary>
    public static int GroupMembers => Volatile.Read(ref s_groupMembers);

    /// <summary>Gets or sets a value indicating whether each connection joins <see cref="BroadcastPayload.Group"/> (broadcast scenario).</summary>
    public static bool JoinGroup { get; set; }

    public override async Task OnConnectedAsync()
    {
        Interlocked.Increment(ref s_connections);
        if (JoinGroup)
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, BroadcastPayload.Group);
            Interlocked.Increment(ref s_groupMembers);
        }

        await base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        Interlocked.Decrement(ref s_connections);
        if (JoinGroup)
        {
            // SignalR removes a closed connection from its groups itself.
            Interlocked.Decrement(ref s_groupMembers);
        }

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
