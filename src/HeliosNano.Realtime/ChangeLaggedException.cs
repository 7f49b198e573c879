namespace HeliosNano.Realtime;

/// <summary>
/// Thrown by <see cref="ChangeReader.ReadAllAsync(CancellationToken)"/> under <see cref="LagBehavior.Throw"/> when the
/// reader fell more than the ring's capacity behind and changes were overwritten before it read them.
/// </summary>
public sealed class ChangeLaggedException : Exception
{
    /// <summary>Initializes a new instance with no details.</summary>
    public ChangeLaggedException()
        : base("The reader lagged behind and missed changes.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public ChangeLaggedException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The inner exception.</param>
    public ChangeLaggedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance for a lag of <paramref name="missed"/> changes.</summary>
    /// <param name="missed">How many changes were overwritten before the reader saw them.</param>
    /// <param name="resumeSequence">The sequence number of the oldest change still held, where the reader resumes.</param>
    public ChangeLaggedException(long missed, long resumeSequence)
        : base($"The reader lagged by {missed} changes; it resumes at sequence {resumeSequence}, the oldest change still held.")
    {
        Missed = missed;
        ResumeSequence = resumeSequence;
    }

    /// <summary>Gets how many changes were overwritten before the reader saw them.</summary>
    public long Missed { get; }

    /// <summary>
    /// Gets the position at which the reader resumed after the missed changes: every change from here on that passes
    /// its filter is still delivered, starting with the one held back by this exception. A new subscription resumes
    /// at the same place with <see cref="ChangeSubscriptionOptions.StartAfterSequence"/> = <c>ResumeSequence - 1</c>.
    /// </summary>
    public long ResumeSequence { get; }
}
