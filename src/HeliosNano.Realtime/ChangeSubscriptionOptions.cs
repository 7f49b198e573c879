namespace HeliosNano.Realtime;

/// <summary>Options of one subscription (<see cref="ChangeNotifier.Subscribe(ChangeSubscriptionOptions)"/>).</summary>
public sealed class ChangeSubscriptionOptions
{
    /// <summary>Gets or sets which changes the reader receives. The default is <see cref="ChangeFilter.All"/>.</summary>
    public ChangeFilter Filter { get; set; } = ChangeFilter.All;

    /// <summary>
    /// Gets or sets the sequence number of the last change the subscriber already has, to replay what the ring still
    /// holds after it. <see langword="null"/> (the default) starts with the next change notified; 0 replays everything
    /// still held. If changes after it were already overwritten, the first read reports them as missed (lag) and resumes
    /// at the oldest change still held; a value beyond the newest change starts live.
    /// </summary>
    public long? StartAfterSequence { get; set; }

    /// <summary>Gets or sets a name for logs and the debugger, e.g. a connection id. The default is <see langword="null"/>.</summary>
    public string? Name { get; set; }

    /// <summary>Gets or sets how <see cref="ChangeReader.ReadAllAsync(CancellationToken)"/> surfaces a lag. The default is <see cref="LagBehavior.Continue"/>.</summary>
    public LagBehavior LagBehavior { get; set; } = LagBehavior.Continue;

    /// <summary>
    /// Gets or sets a callback invoked on the reading thread, before the read returns, each time the reader finds it
    /// was lapped: it receives the reader and how many changes were overwritten. The default is <see langword="null"/>.
    /// </summary>
    public Action<ChangeReader, long>? OnLagged { get; set; }

    /// <summary>
    /// Gets or sets a predicate over the changes the filter admits that tells a <em>waiting</em> reader's wake-up apart
    /// from a change it would only skip: while the reader waits, a change for which it returns <see langword="false"/>
    /// does not complete the wait. The default, <see langword="null"/>, wakes the reader for every change.
    /// </summary>
    /// <remarks>
    /// For subscribers that read a table but keep a small part of it (a tenant's rows, a row filter): without it each
    /// change wakes every such reader only for it to skip the change. It does not filter reads: <c>TryRead</c> still
    /// returns every change the <see cref="Filter"/> admits, including those the predicate rejected, once the reader
    /// is awake. The notifier still wakes a reader that has half the ring unread, so it moves past what it skips before
    /// writers overwrite it, and wakes it for a lap or a loss to report. The predicate runs on the notifier's wake-up
    /// work item, never on a writer, possibly while the reader's consumer runs; it must be fast and thread-safe, and it
    /// may be conservative (a <see langword="true"/> too many costs one wake-up); one that throws counts as
    /// <see langword="true"/>.
    /// </remarks>
    public Func<ChangeEvent, bool>? WakeFilter { get; set; }
}
