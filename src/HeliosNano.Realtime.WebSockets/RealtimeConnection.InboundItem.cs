namespace HeliosNano.Realtime.WebSockets;

internal sealed partial class RealtimeConnection
{
    /// <summary>An inbound message for the connection loop, or a note from the receive loop.</summary>
    internal sealed record InboundItem(PhoenixMessage? Message, string? Error, string? Ref, string? Topic)
    {
        public static readonly InboundItem RateLimited = new(null, null, null, null) { IsRateLimited = true };

        public bool IsRateLimited { get; private init; }

        /// <summary>Gets a decoded binary kind-3 broadcast push, whose bytes are <see cref="BinaryFrame"/>.</summary>
        public PhoenixBinaryFrame.BinaryPush? BinaryPush { get; private init; }

        /// <summary>Gets the whole binary frame of <see cref="BinaryPush"/>.</summary>
        public byte[]? BinaryFrame { get; private init; }

        public static InboundItem FromBinaryPush(PhoenixBinaryFrame.BinaryPush push, byte[] frame) =>
            new(null, null, null, null) { BinaryPush = push, BinaryFrame = frame };
    }
}
