using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.SignalR;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// The broadcast scenario's SignalR baseline: every client is in group <see cref="BroadcastPayload.Group"/> (added by
/// <see cref="LoadHub.OnConnectedAsync"/>), and the publisher awaits <c>Clients.Group(g).SendAsync("change", json)</c>
/// with the same frame text HeliosNano sends.
/// </summary>
internal sealed class SignalRGroupPublisher(IHubContext<LoadHub> hub, string note) : LoadPublisher(note)
{
    private readonly ArrayBufferWriter<byte> _scratch = new(1024);
    private long _sequence;

    public override string Target => "signalr";

    public override int Subscribers => LoadHub.GroupMembers;

    protected override async ValueTask<long> PublishAsync(OrderPayload.Row row)
    {
        long sequence = ++_sequence;
        string json = Encoding.UTF8.GetString(BroadcastPayload.BuildFrame(sequence, row, _scratch));
        await hub.Clients.Group(BroadcastPayload.Group).SendAsync("change", json);
        return sequence;
    }
}
