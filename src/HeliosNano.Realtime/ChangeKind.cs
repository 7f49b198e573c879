namespace HeliosNano.Realtime;

/// <summary>The kind of row change a storage engine committed.</summary>
public enum ChangeKind
{
    /// <summary>A row was inserted: the change has an after image (<see cref="ChangeEvent.Record"/>) and no before image.</summary>
    Insert = 1,

    /// <summary>A row was updated: the change has an after image and, when the engine knows it, a before image.</summary>
    Update = 2,

    /// <summary>A row was deleted: the change has a before image (<see cref="ChangeEvent.OldRecord"/>) and no after image.</summary>
    Delete = 4,
}
