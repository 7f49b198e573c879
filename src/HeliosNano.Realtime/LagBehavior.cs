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
    /// still held, so enumerating <see cref="ChangeReader.ReadAllAsync(CancellationToken)"/> again resumes there.
    /// </summary>
    Throw = 1,
}
