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
}
