using System.Collections.ObjectModel;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// The row-level policies of an endpoint (<see cref="RealtimeAuthOptions.RowPolicies"/>). Thread-safe to change while
/// the endpoint runs (a host that declares policies at run time, e.g. from <c>CREATE POLICY</c>): every channel
/// re-reads them at its next change.
/// </summary>
/// <remarks>Enumerate <see cref="Snapshot"/> rather than the collection itself while another thread may change it.</remarks>
public sealed class RealtimeRowPolicyCollection : Collection<RealtimeRowPolicy>
{
    private readonly Lock _gate = new();
    private int _version;

    /// <summary>Gets a number that changes with every change to the collection.</summary>
    internal int Version => Volatile.Read(ref _version);

    /// <summary>Returns a copy of the policies, consistent with <see cref="Version"/> at the time of the call.</summary>
    /// <returns>The policies.</returns>
    public RealtimeRowPolicy[] Snapshot()
    {
        lock (_gate)
        {
            return [.. this];
        }
    }

    internal (RealtimeRowPolicy[] Policies, int Version) SnapshotWithVersion()
    {
        lock (_gate)
        {
            return ([.. this], _version);
        }
    }

    /// <inheritdoc/>
    protected override void InsertItem(int index, RealtimeRowPolicy item)
    {
        ArgumentNullException.ThrowIfNull(item);
        lock (_gate)
        {
            base.InsertItem(index, item);
            Interlocked.Increment(ref _version);
        }
    }

    /// <inheritdoc/>
    protected override void SetItem(int index, RealtimeRowPolicy item)
    {
        ArgumentNullException.ThrowIfNull(item);
        lock (_gate)
        {
            base.SetItem(index, item);
            Interlocked.Increment(ref _version);
        }
    }

    /// <inheritdoc/>
    protected override void RemoveItem(int index)
    {
        lock (_gate)
        {
            base.RemoveItem(index);
            Interlocked.Increment(ref _version);
        }
    }

    /// <inheritdoc/>
    protected override void ClearItems()
    {
        lock (_gate)
        {
            base.ClearItems();
            Interlocked.Increment(ref _version);
        }
    }
}
