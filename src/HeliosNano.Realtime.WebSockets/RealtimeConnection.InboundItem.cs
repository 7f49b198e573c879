namespace HeliosNano.Realtime.WebSockets;

internal sealed partial class RealtimeConnection
{
    /// <summary>An inbound message for the connection loop, or a note from the receive loop.</summary>
    internal sealed record InboundItem(PhoenixMessage? Message, string? Error, string? Ref, string? Topic)
    {
        public static readonly InboundItem RateLimited = new(null, null, null, null) { IsRateLimited = true };

        public bool IsRateLimited { get; private init; }
    }
}
