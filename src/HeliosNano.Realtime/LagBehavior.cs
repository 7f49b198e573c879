namespace HeliosNano.Realtime;

/// <summary>How <see cref="ChangeReader.ReadAllAsync(CancellationToken)"/> surfaces a lag (changes overwritten before the reader saw them).</summary>
public enum LagBehavior
{
    /// <summary>
    /// Count the missed changes in <see cref="ChangeReader.Missed"/>, call
    /// <see cref="ChangeSubscriptionOptions.OnLagged"/> if set, and continue with the oldest change still held. The default.
    /// </summary>
    Continue = 0,

    /// <summary>
    /// Throw a <see cref="ChangeLaggedException"/> carrying the count. The reader has already moved to the oldest change
    /// still held, so enumerating the same reader's <see cref="ChangeReader.ReadAllAsync(CancellationToken)"/> again
    /// resumes there. <see cref="ChangeNotifier.ReadAllAsync"/> owns its reader and disposes it with the exception:
    /// resume it with <see cref="ChangeSubscriptionOptions.StartAfterSequence"/> = <see cref="ChangeLaggedException.ResumeSequence"/> − 1.
    /// </summary>
    Throw = 1,
}
