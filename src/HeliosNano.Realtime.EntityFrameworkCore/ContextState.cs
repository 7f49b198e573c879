using Microsoft.EntityFrameworkCore;

namespace HeliosNano.Realtime.EntityFrameworkCore;

/// <summary>
/// What the capture remembers about one context instance (kept in a weak table, so pools and factories share nothing):
/// the rows of the save in flight, and the rows saved inside the context's current transaction until it commits.
/// </summary>
/// <remarks>
/// A transaction disposed without a commit raises no callback: its rows stay here until the context starts or uses
/// another transaction, saves outside one, or is collected; they are never published.
/// </remarks>
internal sealed class ContextState
{
    public ContextState() => OnSaveFailed = (_, _) => ResetSave();

    /// <summary>Gets or sets the rows captured by <c>SavingChanges</c>, waiting for <c>SavedChanges</c>.</summary>
    public List<PendingRow>? Saving { get; set; }

    /// <summary>Gets or sets a value indicating whether a save is in flight (its own savepoint is not the application's).</summary>
    public bool InSave { get; set; }

    /// <summary>Gets or sets the entities a concurrency check failed for (their rows were not written even if the exception is suppressed).</summary>
    public HashSet<object>? FailedEntities { get; set; }

    /// <summary>Gets the handler that clears the save when it fails; EF raises only the event for a concurrency failure.</summary>
    public EventHandler<SaveChangesFailedEventArgs> OnSaveFailed { get; }

    /// <summary>Gets the EF id of the transaction <see cref="TransactionRows"/> belong to.</summary>
    public Guid TransactionId { get; private set; }

    public List<PendingRow> TransactionRows { get; } = [];

    /// <summary>Gets the row counts at each open application savepoint, innermost last.</summary>
    public Stack<int> Savepoints { get; } = new();

    public void ResetSave()
    {
        Saving = null;
        InSave = false;
        FailedEntities = null;
    }

    /// <summary>Makes <paramref name="transactionId"/> the transaction rows are kept for, dropping any other's.</summary>
    public void UseTransaction(Guid transactionId)
    {
        if (TransactionId != transactionId)
        {
            DropTransaction();
            TransactionId = transactionId;
        }
    }

    public void DropTransaction()
    {
        TransactionId = Guid.Empty;
        TransactionRows.Clear();
        Savepoints.Clear();
    }

    public bool Owns(Guid transactionId) => transactionId != Guid.Empty && TransactionId == transactionId;
}
