using System.Runtime.InteropServices;

namespace HeliosNano.Realtime;

/// <summary>An <see cref="int"/> alone on its cache line; see <see cref="PaddedLong"/>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 192)]
internal struct PaddedInt
{
    [FieldOffset(64)]
    public int Value;
}
