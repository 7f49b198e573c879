using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace HeliosNano.Realtime.EntityFrameworkCore;

internal sealed partial class RealtimeCaptureInterceptor
{
    // ---------------------------------------------------------------- transactions (IDbTransactionInterceptor)
    // Rows saved inside the context's transaction wait here. Commit publishes them, in memory only (EF 10 forbids using
    // the context in TransactionCommitted); rollback drops them; dispose without commit raises nothing, so they are
    // dropped when the context next starts, uses or leaves a transaction. Savepoint names are not given to
    // interceptors: savepoints are assumed nested (LIFO), and the one EF sets around its own save is ignored.

    public DbTransaction TransactionStarted(DbConnection connection, TransactionEndEventData eventData, DbTransaction result)
    {
        OnTransactionBegun(eventData);
        return result;
    }

    public ValueTask<DbTransaction> TransactionStartedAsync(DbConnection connection, TransactionEndEventData eventData, DbTransaction result, CancellationToken cancellationToken = default)
    {
        OnTransactionBegun(eventData);
        return ValueTask.FromResult(result);
    }

    public DbTransaction TransactionUsed(DbConnection connection, TransactionEventData eventData, DbTransaction result)
    {
        OnTransactionBegun(eventData);
        return result;
    }

    public ValueTask<DbTransaction> TransactionUsedAsync(DbConnection connection, TransactionEventData eventData, DbTransaction result, CancellationToken cancellationToken = default)
    {
        OnTransactionBegun(eventData);
        return ValueTask.FromResult(result);
    }

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => OnCommitted(eventData);

    public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        OnCommitted(eventData);
        return Task.CompletedTask;
    }

    public void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => OnRolledBack(eventData);

    public Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        OnRolledBack(eventData);
        return Task.CompletedTask;
    }

    public void TransactionFailed(DbTransaction transaction, TransactionErrorEventData eventData) => OnFailed(eventData);

    public Task TransactionFailedAsync(DbTransaction transaction, TransactionErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        OnFailed(eventData);
        return Task.CompletedTask;
    }

    public void CreatedSavepoint(DbTransaction transaction, TransactionEventData eventData)
    {
        if (ApplicationTransaction(eventData) is { } state)
        {
            state.Savepoints.Push(state.TransactionRows.Count);
        }
    }

    public Task CreatedSavepointAsync(DbTransaction transaction, TransactionEventData eventData, CancellationToken cancellationToken = default)
    {
        CreatedSavepoint(transaction, eventData);
        return Task.CompletedTask;
    }

    public void RolledBackToSavepoint(DbTransaction transaction, TransactionEventData eventData)
    {
        if (ApplicationTransaction(eventData) is { } state && state.Savepoints.TryPeek(out int mark) && mark < state.TransactionRows.Count)
        {
            state.TransactionRows.RemoveRange(mark, state.TransactionRows.Count - mark); // the savepoint itself stays, as in SQL
        }
    }

    public Task RolledBackToSavepointAsync(DbTransaction transaction, TransactionEventData eventData, CancellationToken cancellationToken = default)
    {
        RolledBackToSavepoint(transaction, eventData);
        return Task.CompletedTask;
    }

    public void ReleasedSavepoint(DbTransaction transaction, TransactionEventData eventData)
    {
        if (ApplicationTransaction(eventData) is { } state)
        {
            state.Savepoints.TryPop(out _);
        }
    }

    public Task ReleasedSavepointAsync(DbTransaction transaction, TransactionEventData eventData, CancellationToken cancellationToken = default)
    {
        ReleasedSavepoint(transaction, eventData);
        return Task.CompletedTask;
    }

    /// <summary>The context's state when the event is about its tracked transaction and not about EF's savepoint around a save.</summary>
    private ContextState? ApplicationTransaction(TransactionEventData eventData) =>
        eventData.Context is { } context && _contexts.TryGetValue(context, out ContextState? state) && !state.InSave
            ? Track(state, eventData.TransactionId)
            : null;

    private static ContextState Track(ContextState state, Guid transactionId)
    {
        state.UseTransaction(transactionId);
        return state;
    }

    private void OnTransactionBegun(TransactionEventData eventData)
    {
        if (eventData.Context is { } context && _contexts.TryGetValue(context, out ContextState? state))
        {
            state.UseTransaction(eventData.TransactionId); // rows of an earlier transaction disposed without commit are dropped
        }
    }

    private void OnCommitted(TransactionEventData eventData)
    {
        if (eventData.Context is { } context && _contexts.TryGetValue(context, out ContextState? state) && state.Owns(eventData.TransactionId))
        {
            if (state.TransactionRows.Count > 0)
            {
                List<PendingRow> rows = [.. state.TransactionRows];
                state.DropTransaction();
                Publish(rows);
            }
            else
            {
                state.DropTransaction();
            }
        }
    }

    private void OnRolledBack(TransactionEventData eventData)
    {
        if (eventData.Context is { } context && _contexts.TryGetValue(context, out ContextState? state) && state.Owns(eventData.TransactionId))
        {
            state.DropTransaction();
        }
    }

    private void OnFailed(TransactionErrorEventData eventData)
    {
        if (eventData.Context is not { } context || !_contexts.TryGetValue(context, out ContextState? state) || !state.Owns(eventData.TransactionId))
        {
            return;
        }

        if (eventData.Action == "Commit" && state.TransactionRows.Count > 0)
        {
            // The commit may or may not have happened: never publish what might not be there, never skip silently.
            List<PendingRow> rows = [.. state.TransactionRows];
            CaptureLog.CommitOutcomeUnknown(_logger, context.GetType().Name, rows.Count);
            PublishLost(rows);
        }

        if (eventData.Action is "Commit" or "Rollback")
        {
            state.DropTransaction();
        }
    }
}
