namespace HeliosNano.Realtime;

/// <summary>A set of <see cref="ChangeKind"/> values, used to filter subscriptions by event kind.</summary>
[Flags]
public enum ChangeKinds
{
    /// <summary>No kind: a filter entry with this value matches nothing.</summary>
    None = 0,

    /// <summary>Matches <see cref="ChangeKind.Insert"/>.</summary>
    Insert = ChangeKind.Insert,

    /// <summary>Matches <see cref="ChangeKind.Update"/>.</summary>
    Update = ChangeKind.Update,

    /// <summary>Matches <see cref="ChangeKind.Delete"/>.</summary>
    Delete = ChangeKind.Delete,

    /// <summary>Matches every kind (the <c>*</c> event filter).</summary>
    All = Insert | Update | Delete,
}
