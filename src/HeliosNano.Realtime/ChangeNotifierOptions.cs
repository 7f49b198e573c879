using System.ComponentModel.DataAnnotations;

namespace HeliosNano.Realtime;

/// <summary>Options of a <see cref="ChangeNotifier"/>.</summary>
public sealed class ChangeNotifierOptions
{
    /// <summary>The default <see cref="Capacity"/>: 1024 changes, the ring size of the product this library reproduces.</summary>
    public const int DefaultCapacity = 1024;

    /// <summary>The largest <see cref="Capacity"/>: 2^20 changes (8 MiB of slots on 64-bit, plus the changes they hold).</summary>
    public const int MaxCapacity = 1 << 20;

    /// <summary>
    /// Gets or sets how many changes the ring retains; must be a power of two between 2 and <see cref="MaxCapacity"/>.
    /// A reader that falls further behind than this is told how many changes it missed. The default is 1024.
    /// </summary>
    [Range(2, MaxCapacity)]
    public int Capacity { get; set; } = DefaultCapacity;

    /// <summary>The default <see cref="MaxRetainedBytes"/>: 64 MiB.</summary>
    public const long DefaultMaxRetainedBytes = 64L * 1024 * 1024;

    /// <summary>
    /// Gets or sets the byte budget of the ring next to its count <see cref="Capacity"/>: when the changes it holds
    /// (their row images plus 128 bytes each) exceed this, the oldest are evicted early, and a reader that reaches an
    /// evicted change counts it as missed, exactly like a lap. The newest change is always kept, however large. The
    /// default is 64 MiB; at least 1; <see cref="long.MaxValue"/> turns the budget off. A change's JSON form, built
    /// when a reader first asks for it, lives as long as the change and is not counted.
    /// </summary>
    [Range(1, long.MaxValue)]
    public long MaxRetainedBytes { get; set; } = DefaultMaxRetainedBytes;
}
