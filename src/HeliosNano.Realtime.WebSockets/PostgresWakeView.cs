namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// An immutable picture of one connection's postgres_changes channels (bindings, start points, row-policy groups),
/// so the notifier's wake-up work item can tell whether a change would reach any of them
/// (<see cref="ChangeSubscriptionOptions.WakeFilter"/>) while the connection waits: the tenant's subscribers of a
/// shared table then sleep through the other tenants' rows instead of waking to skip each one.
/// </summary>
/// <remarks>
/// Built on the connection loop just before it waits, whenever the channels changed; read on the wake-up work item.
/// Conservative where it cannot know: a table whose group it did not resolve (a wildcard binding), policies changed
/// since it was built, or a rule that failed all answer "wake", and the loop then decides as it always does. Only the
/// host's row policies are evaluated here (once per group and change, shared with delivery); a client's own row
/// filters are not (they are bounded per connection and run on its loop, and must not slow every connection's
/// wake-ups): a binding with a filter wakes its connection for every change of its table, as before.
/// </remarks>
internal sealed class PostgresWakeView
{
    private readonly Entry[] _entries;

    private PostgresWakeView(Entry[] entries) => _entries = entries;

    /// <summary>Returns the view of <paramref name="channels"/>, or <paramref name="current"/> when nothing it depends on changed.</summary>
    public static PostgresWakeView For(List<RealtimeChannel> channels, PostgresWakeView? current)
    {
        if (current is not null && current.Describes(channels))
        {
            return current;
        }

        var entries = new List<Entry>(channels.Count);
        foreach (RealtimeChannel channel in channels)
        {
            if (channel.Bindings.Length == 0)
            {
                continue;
            }

            RealtimeChannelAuth? auth = channel.Auth;
            (string Schema, string Table, RowPolicyGroup? Group)[]? groups = null;
            if (auth is not null)
            {
                groups = new (string, string, RowPolicyGroup?)[channel.Bindings.Length];
                for (int i = 0; i < channel.Bindings.Length && groups is not null; i++)
                {
                    PostgresBinding b = channel.Bindings[i];
                    groups = b.Schema == TableFilter.Wildcard || b.Table == TableFilter.Wildcard
                        ? null // tables not known in advance: every change of them wakes the connection
                        : groups;
                    if (groups is not null)
                    {
                        groups[i] = (b.Schema, b.Table, auth.GetRowGroup(b.Schema, b.Table));
                    }
                }
            }

            entries.Add(new Entry(channel, channel.StartAfter, auth, auth?.PolicyVersion ?? 0, groups, Unknown: auth is not null && groups is null));
        }

        return new PostgresWakeView([.. entries]);
    }

    /// <summary>Whether <paramref name="change"/> would be delivered to (or must be decided by) at least one channel. Any thread.</summary>
    public bool Wants(ChangeEvent change)
    {
        foreach (Entry e in _entries)
        {
            if (change.Sequence <= e.StartAfter)
            {
                continue;
            }

            ChangeKind kind = change.Kind;
            if (e.Auth is not null)
            {
                if (e.Unknown || e.Auth.PolicyVersion != e.PolicyVersion || !TryFind(e.Groups!, change, out RowPolicyGroup? group))
                {
                    return true;
                }

                switch (group?.Evaluate(change, out _))
                {
                    case RowVisibility.Hidden:
                        continue;
                    case RowVisibility.Failed:
                        return true; // the channel is told
                    case RowVisibility.AsInsert:
                        kind = ChangeKind.Insert;
                        break;
                    case RowVisibility.AsDelete:
                        kind = ChangeKind.Delete;
                        break;
                }
            }

            foreach (PostgresBinding binding in e.Channel.Bindings)
            {
                // A client's row filter is its own connection's work (bounded per connection), never the shared
                // wake-up's: a binding with one wakes the connection for every change of its table.
                if (binding.MatchesTableAndKind(change, kind))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool TryFind((string Schema, string Table, RowPolicyGroup? Group)[] groups, ChangeEvent change, out RowPolicyGroup? group)
    {
        foreach ((string schema, string table, RowPolicyGroup? g) in groups)
        {
            if (string.Equals(schema, change.Schema, StringComparison.Ordinal) && string.Equals(table, change.Table, StringComparison.Ordinal))
            {
                group = g;
                return true;
            }
        }

        group = null;
        return false;
    }

    /// <summary>Whether the channels are still the ones this view was built from, with the same start points, tokens and policies.</summary>
    private bool Describes(List<RealtimeChannel> channels)
    {
        int i = 0;
        foreach (RealtimeChannel channel in channels)
        {
            if (channel.Bindings.Length == 0)
            {
                continue;
            }

            if (i >= _entries.Length)
            {
                return false;
            }

            Entry e = _entries[i++];
            if (!ReferenceEquals(e.Channel, channel) || e.StartAfter != channel.StartAfter || !ReferenceEquals(e.Auth, channel.Auth)
                || e.PolicyVersion != (channel.Auth?.PolicyVersion ?? 0))
            {
                return false;
            }
        }

        return i == _entries.Length;
    }

    private readonly record struct Entry(RealtimeChannel Channel, long StartAfter, RealtimeChannelAuth? Auth, int PolicyVersion, (string Schema, string Table, RowPolicyGroup? Group)[]? Groups, bool Unknown);
}
