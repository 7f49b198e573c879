using System.Security.Claims;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// Who a channel acts as (its token's principal and expiry) and what it was allowed, decided at join and cached until
/// a new token arrives; also the channel's row-policy groups and its expiry timer.
/// </summary>
/// <remarks>The connection loop owns it; the read decisions are also read by topic fan-out on other threads (plain bools, set before the channel is visible).</remarks>
internal sealed class RealtimeChannelAuth : IDisposable
{
    private readonly RowPolicyRegistry? _registry;
    private readonly bool _bypassRows;
    private Dictionary<(string Schema, string Table), RowPolicyGroup?>? _groups;
    private int _groupsVersion;

    // The last table asked about and its group: consecutive changes are usually of one table, and ChangeEvent.Schema /
    // Table are the table handle's own strings, so a reference check replaces the dictionary look-up.
    private string? _lastSchema;
    private string? _lastTable;
    private RowPolicyGroup? _lastGroup;
    private ITimer? _timer;
    private volatile bool _checkDue;

    public RealtimeChannelAuth(ClaimsPrincipal user, string? token, DateTimeOffset? expires, RowPolicyRegistry? registry)
    {
        User = user;
        Token = token;
        Expires = expires;
        _registry = registry;
        _bypassRows = _registry?.Bypasses(user) ?? true;
    }

    /// <summary>Gets the channel's principal (its token's, or the connection's).</summary>
    public ClaimsPrincipal User { get; }

    /// <summary>Gets the token the principal came from, to ignore an identical refresh; never logged.</summary>
    public string? Token { get; }

    /// <summary>Gets the token's expiry; <see langword="null"/> without a token.</summary>
    public DateTimeOffset? Expires { get; }

    /// <summary>Gets or sets whether broadcasts may be received (private channels).</summary>
    public bool CanReadBroadcast { get; set; } = true;

    /// <summary>Gets or sets whether presence may be received (private channels).</summary>
    public bool CanReadPresence { get; set; } = true;

    /// <summary>Gets or sets the cached broadcast write decision; <see langword="null"/> until the first send.</summary>
    public bool? CanWriteBroadcast { get; set; }

    /// <summary>Gets or sets the cached presence write decision; <see langword="null"/> until the first track.</summary>
    public bool? CanWritePresence { get; set; }

    /// <summary>Gets whether the expiry timer fired and the connection loop has not checked yet.</summary>
    public bool CheckDue => _checkDue;

    /// <summary>
    /// Gets the channel's group for the change's table, or <see langword="null"/> when nothing restricts it (no policy on
    /// the table, or a bypassing role). Connection loop only.
    /// </summary>
    public RowPolicyGroup? GetRowGroup(ChangeEvent change) => GetRowGroup(change.Schema, change.Table);

    /// <summary>Gets the channel's group for a table (see <see cref="GetRowGroup(ChangeEvent)"/>). Connection loop only.</summary>
    public RowPolicyGroup? GetRowGroup(string schema, string table)
    {
        if (_bypassRows || (_groups is null && !_registry!.HasPolicies))
        {
            return null;
        }

        int version = _registry!.Version;
        if (_groups is not null && _groupsVersion == version && ReferenceEquals(schema, _lastSchema) && ReferenceEquals(table, _lastTable))
        {
            return _lastGroup;
        }

        if (_groups is not null && _groupsVersion != version)
        {
            // The policies changed: drop the groups built on the old ones.
            ReleaseGroups();
        }

        _groupsVersion = version;
        _groups ??= [];
        (string, string) key = (schema, table);
        if (!_groups.TryGetValue(key, out RowPolicyGroup? group))
        {
            group = _registry!.Acquire(schema, table, User);
            _groups.Add(key, group);
        }

        (_lastSchema, _lastTable, _lastGroup) = (schema, table, group);
        return group;
    }

    /// <summary>Gets the version of the row policies the groups were built on; any thread (a changed version means they are stale).</summary>
    public int PolicyVersion => _registry?.Version ?? 0;

    /// <summary>Arms the check at <paramref name="due"/>; <paramref name="onDue"/> runs on a timer thread and must only signal.</summary>
    public void Schedule(TimeProvider timeProvider, TimeSpan due, Action onDue)
    {
        _checkDue = false;
        if (_timer is null)
        {
            _timer = timeProvider.CreateTimer(static state =>
            {
                var (auth, callback) = ((RealtimeChannelAuth, Action))state!;
                auth._checkDue = true;
                callback();
            }, (this, onDue), due, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _timer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _timer = null;
        ReleaseGroups();
    }

    private void ReleaseGroups()
    {
        if (_groups is not null)
        {
            foreach (RowPolicyGroup? group in _groups.Values)
            {
                if (group is not null)
                {
                    _registry!.Release(group);
                }
            }

            _groups = null;
            (_lastSchema, _lastTable, _lastGroup) = (null, null, null);
        }
    }
}
