using System.Text;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>A SignalR client (WebSockets transport, no negotiate round trip) that receives the "change" text.</summary>
internal sealed class SignalRLoadConnection(int id, LatencyHistogram latency) : LoadConnection(id, latency)
{
    [ThreadStatic]
    private static byte[]? s_buffer;

    private HubConnection? _connection;

    public override async Task ConnectAsync(Uri server, CancellationToken cancellationToken)
    {
        _connection = new HubConnectionBuilder()
            .WithUrl(server, HttpTransportType.WebSockets, o => o.SkipNegotiation = true)
            .Build();
        _connection.On<string>("change", OnChange);
        _connection.Closed += e =>
        {
            Faulted = e is not null;
            SetEnded();
            return Task.CompletedTask;
        };
        await _connection.StartAsync(cancellationToken);
        SetJoined(true);
    }

    public override async Task CloseAsync(CancellationToken cancellationToken)
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        SetEnded();
    }

    public override void Abort()
    {
        // The client has no abort: dispose without waiting (the transport is torn down).
        _ = _connection?.DisposeAsync().AsTask();
    }

    private void OnChange(string json)
    {
        byte[] buffer = s_buffer ??= new byte[16 * 1024];
        int max = Encoding.UTF8.GetMaxByteCount(json.Length);
        if (max > buffer.Length)
        {
            s_buffer = buffer = new byte[max];
        }

        int n = Encoding.UTF8.GetBytes(json, buffer);
        OnFrame(buffer.AsSpan(0, n));
    }
}
