namespace HeliosNano.Realtime;

/// <summary>Which image of a changed row a <see cref="ChangeRowWriter{TState}"/> is asked to write.</summary>
public enum RowImage
{
    /// <summary>The row after the change (<see cref="ChangeEvent.Record"/>): written for INSERT and UPDATE.</summary>
    New = 0,

    /// <summary>The row before the change (<see cref="ChangeEvent.OldRecord"/>): written for UPDATE and DELETE.</summary>
    Old = 1,
}
