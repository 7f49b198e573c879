using System.Globalization;
using StackExchange.Redis;

namespace HeliosNano.Realtime.Redis;

/// <summary>
/// One entry of the log stream, classified, and what it says about the positions before it: the one reading of the log
/// that both the tail loop (into the ring) and history reads (into a <see cref="ChangeHistoryPage"/>) use, so a
/// position is lost, void or a change in the same way on both paths.
/// </summary>
/// <remarks>
/// The stream ID is the position (<c>&lt;seq&gt;-0</c>); the entry's one field says what it is: <c>d</c> a change
/// (<see cref="RedisLogEntry"/>), <c>g</c> a gap (lost positions ending at this one), <c>x</c> an epoch
/// (<c>&lt;epoch&gt;:&lt;known top&gt;</c>: positions up to the known top not read are lost, those after it void).
/// </remarks>
internal readonly struct RedisLogItem
{
    private RedisLogItem(long sequence, char kind, byte[]? data, string? epoch, long knownTop)
    {
        Sequence = sequence;
        Kind = kind;
        Data = data;
        Epoch = epoch;
        KnownTop = knownTop;
    }

    /// <summary>Gets the entry's position.</summary>
    public long Sequence { get; }

    /// <summary>Gets <c>d</c> (a change), <c>g</c> (a gap) or <c>x</c> (an epoch).</summary>
    public char Kind { get; }

    /// <summary>Gets a change's encoded entry.</summary>
    public byte[]? Data { get; }

    /// <summary>Gets an epoch entry's epoch.</summary>
    public string? Epoch { get; }

    /// <summary>Gets an epoch entry's known top: the highest position a node may have seen before the jump.</summary>
    public long KnownTop { get; }

    /// <summary>Gets whether the entry is a change.</summary>
    public bool IsChange => Kind == 'd';

    /// <summary>Gets why positions before the entry are lost, for logs.</summary>
    public string LossReason => Kind switch { 'd' => "trimmed", 'x' => "epoch", _ => "gap" };

    public static RedisLogItem Parse(StreamEntry entry)
    {
        string id = entry.Id!;
        long sequence = long.Parse(id.AsSpan(0, id.IndexOf('-', StringComparison.Ordinal)), NumberStyles.None, CultureInfo.InvariantCulture);
        NameValueEntry field = entry.Values[0];
        string name = field.Name!;
        if (name == "d")
        {
            return new RedisLogItem(sequence, 'd', (byte[])field.Value!, null, 0);
        }

        if (name == "x")
        {
            string value = field.Value!;
            int colon = value.LastIndexOf(':');
            string epoch = colon < 0 ? value : value[..colon];
            long knownTop = colon < 0 ? sequence : Math.Min(sequence, long.Parse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture));
            return new RedisLogItem(sequence, 'x', null, epoch, knownTop);
        }

        return new RedisLogItem(sequence, 'g', null, null, 0);
    }

    /// <summary>
    /// Splits the positions after <paramref name="last"/> (the last one accounted for) up to this entry: the lost ones,
    /// then the void ones (either range empty when first &gt; last); a change then takes <see cref="Sequence"/> itself.
    /// </summary>
    public ((long First, long Last) Lost, (long First, long Last) Void) Split(long last) => Kind switch
    {
        // The stream no longer holds the positions before a change (trimmed while behind, or before this reader started).
        'd' => ((last + 1, Sequence - 1), (Sequence, Sequence - 1)),

        // Positions up to the known top may have held changes nobody can read now (lost); the jump after it never held any (void).
        'x' => ((last + 1, KnownTop), (Math.Max(last, KnownTop) + 1, Sequence)),
        _ => ((last + 1, Sequence), (Sequence + 1, Sequence)),
    };
}
