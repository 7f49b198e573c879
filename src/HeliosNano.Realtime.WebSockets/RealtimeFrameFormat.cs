namespace HeliosNano.Realtime.WebSockets;

/// <summary>How a connection's outbound frames are encoded; a broadcast is encoded once per format and topic.</summary>
internal enum RealtimeFrameFormat
{
    /// <summary>vsn 1.0.0: JSON objects <c>{"topic","event","payload","ref"}</c>.</summary>
    V1Json = 0,

    /// <summary>vsn 2.0.0 as phoenix.js speaks it: JSON arrays only (phoenix.js knows no binary kind 4).</summary>
    V2Json = 1,

    /// <summary>vsn 2.0.0 as realtime-js speaks it: JSON arrays, and broadcasts as binary kind-4 frames.</summary>
    V2Binary = 2,
}
