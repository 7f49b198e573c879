namespace HeliosNano.Realtime;

/// <summary>One entry of a <see cref="ChangeHistoryPage"/>: a change at one position, or a range of lost positions.</summary>
/// <param name="FirstSequence">The first position the entry covers.</param>
/// <param name="LastSequence">The last position the entry covers (the change's own for a change).</param>
/// <param name="Change">The change, or <see langword="null"/> for positions whose changes the history no longer holds (a lag of N).</param>
public readonly record struct ChangeHistoryEntry(long FirstSequence, long LastSequence, ChangeEvent? Change)
{
    /// <summary>Gets a value indicating whether the entry is a range of lost positions rather than a change.</summary>
    public bool IsLost => Change is null;

    /// <summary>Gets how many positions the entry covers.</summary>
    public long Count => LastSequence - FirstSequence + 1;
}
