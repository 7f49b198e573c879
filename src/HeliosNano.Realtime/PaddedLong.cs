using System.Runtime.InteropServices;

namespace HeliosNano.Realtime;

/// <summary>
/// A <see cref="long"/> alone on its cache line (128 bytes: two 64-byte lines, because adjacent-line prefetch makes
/// neighbours share on x64), so that the counter every producer increments does not false-share with fields readers
/// write. The layout follows the padding of Disruptor's sequences.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 192)]
internal struct PaddedLong
{
    [FieldOffset(64)]
    public long Value;
}
