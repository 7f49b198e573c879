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
}
