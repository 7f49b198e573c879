using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.EntityFrameworkCore;

/// <summary>
/// The capture: one interceptor for saves and transactions (plus <see cref="BulkChangeInterceptor"/> on opt-in). It holds no per-context state in fields (that
/// lives in weak tables keyed by the context), so one instance serves pooled contexts and factories.
/// </summary>
/// <remarks>
/// <para><b>SavingChanges</b>: when no table of the model is watched it returns after a few memory reads, nothing built.
/// Otherwise it takes one pass over the tracked entries and keeps, per row of a watched table, the entries that fill it
/// and the before image from their original values (after value conversion).</para>
/// <para><b>SavedChanges</b>: the after image from the current values (generated keys, defaults, computed columns and
/// concurrency tokens are there now). Outside any transaction EF has committed: publish. Inside the context's transaction
/// the rows wait for <c>TransactionCommitted</c> (in memory only; EF 10 forbids using the context there); inside an
/// ambient <c>System.Transactions</c> transaction on a provider that enlists, for its completion.</para>
/// </remarks>
internal sealed partial class RealtimeCaptureInterceptor : ISaveChangesInterceptor, IDbTransactionInterceptor
{
    private static readonly ChangeRowWriter<PendingRow> s_writeRow = PendingRow.WriteImage;

    private readonly ChangeNotifier _notifier;
    private readonly string _schema;
    private readonly TimeProvider? _timeProvider;
    private readonly ILogger _logger;
    private readonly ConditionalWeakTable<IModel, CaptureModel> _models = [];
    private readonly ConditionalWeakTable<DbContext, ContextState> _contexts = [];
    private readonly ConcurrentDictionary<(Type, string), byte> _uncapturedLogged = new();
    private int _hookLogged;

    public RealtimeCaptureInterceptor(ChangeNotifier notifier, string schema, bool reportBulkChanges, TimeProvider? timeProvider, ILogger logger)
    {
        _notifier = notifier;
        _schema = schema;
        Interceptors = reportBulkChanges ? [this, new BulkChangeInterceptor(this)] : [this];
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Gets what <c>AddInterceptors</c> receives.</summary>
    internal IInterceptor[] Interceptors { get; }

    /// <summary>Gets how many saves found a watched table and built rows (for tests and benchmarks: 0 proves nothing was built).</summary>
    internal long SavesCaptured => Interlocked.Read(ref _savesCaptured);

    /// <summary>Gets how many row images were built.</summary>
    internal long RowsBuilt => Interlocked.Read(ref _rowsBuilt);

    private long _savesCaptured;
    private long _rowsBuilt;

    // ---------------------------------------------------------------- save changes

    public InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        BeginSave(eventData.Context, result.HasResult);
        return result;
    }

    public ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        BeginSave(eventData.Context, result.HasResult);
        return ValueTask.FromResult(result);
    }

    public int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        EndSave(eventData.Context);
        return result;
    }

    public ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        EndSave(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public void SaveChangesFailed(DbContextErrorEventData eventData) => AbandonSave(eventData.Context);

    public Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        AbandonSave(eventData.Context);
        return Task.CompletedTask;
    }

    public void SaveChangesCanceled(DbContextEventData eventData) => AbandonSave(eventData.Context);

    public Task SaveChangesCanceledAsync(DbContextEventData eventData, CancellationToken cancellationToken = default)
    {
        AbandonSave(eventData.Context);
        return Task.CompletedTask;
    }

    public InterceptionResult ThrowingConcurrencyException(ConcurrencyExceptionEventData eventData, InterceptionResult result)
    {
        MarkFailed(eventData);
        return result;
    }

    public ValueTask<InterceptionResult> ThrowingConcurrencyExceptionAsync(ConcurrencyExceptionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        MarkFailed(eventData);
        return ValueTask.FromResult(result);
    }

    private CaptureModel GetModel(DbContext context)
    {
        IModel model = context.Model;
        if (_models.TryGetValue(model, out CaptureModel? existing))
        {
            return existing;
        }

        var created = new CaptureModel(model, _notifier, _schema, context.Database.ProviderName);
        return _models.TryAdd(model, created) ? created : _models.TryGetValue(model, out existing) ? existing : created;
    }

    /// <summary>Builds the model map of <paramref name="context"/>, which registers its tables with the notifier.</summary>
    internal int Register(DbContext context) => GetModel(context).Tables.Length;

    private void BeginSave(DbContext? context, bool suppressed)
    {
        if (context is null)
        {
            return;
        }

        if (_contexts.TryGetValue(context, out ContextState? state))
        {
            state.ResetSave(); // a concurrency failure raises no SaveChangesFailed callback: start clean
        }

        CaptureModel model = GetModel(context);
        if (suppressed || !model.AnyWatched())
        {
            return; // nobody watches: nothing read, nothing built
        }

        if (model.SqliteStorage && SqliteHookGuard.IsHooked(context.Database.GetDbConnection()))
        {
            if (Interlocked.Exchange(ref _hookLogged, 1) == 0)
            {
                CaptureLog.SqliteHookDetected(_logger, context.GetType().Name);
            }

            return;
        }

        state ??= _contexts.GetValue(context, static _ => new ContextState());
        state.InSave = true;
        // Re-attached per save: a pooled context's events are cleared when it goes back to the pool.
        context.SaveChangesFailed -= state.OnSaveFailed;
        context.SaveChangesFailed += state.OnSaveFailed;
        List<PendingRow> rows = RowCapture.Capture(context, model);
        state.Saving = rows.Count == 0 ? null : rows;
        Interlocked.Increment(ref _savesCaptured);
    }

    private void EndSave(DbContext? context)
    {
        if (context is null || !_contexts.TryGetValue(context, out ContextState? state))
        {
            return;
        }

        context.SaveChangesFailed -= state.OnSaveFailed;
        List<PendingRow>? rows = state.Saving;
        HashSet<object>? failed = state.FailedEntities;
        state.ResetSave();
        if (rows is null)
        {
            return;
        }

        if (failed is not null)
        {
            // a suppressed concurrency exception: those rows were not written
            rows.RemoveAll(row => row.Sources.Exists(source => failed.Contains(source.Entry.Entity)));
        }

        RowCapture.CompleteAfterImages(rows);
        Interlocked.Add(ref _rowsBuilt, rows.Count);
        Route(context, state, rows);
    }

    private void AbandonSave(DbContext? context)
    {
        if (context is not null && _contexts.TryGetValue(context, out ContextState? state))
        {
            context.SaveChangesFailed -= state.OnSaveFailed;
            state.ResetSave();
        }
    }

    private void MarkFailed(ConcurrencyExceptionEventData eventData)
    {
        if (eventData.Context is { } context && _contexts.TryGetValue(context, out ContextState? state) && state.Saving is not null)
        {
            state.FailedEntities ??= new HashSet<object>(ReferenceEqualityComparer.Instance);
            foreach (Microsoft.EntityFrameworkCore.ChangeTracking.EntityEntry entry in eventData.Entries)
            {
                state.FailedEntities.Add(entry.Entity);
            }
        }
    }

    // ---------------------------------------------------------------- routing and publishing

    /// <summary>Publishes now when EF has committed, or keeps the rows for the transaction they are part of.</summary>
    private void Route(DbContext context, ContextState state, List<PendingRow> rows)
    {
        if (context.Database.CurrentTransaction is { } transaction)
        {
            state.UseTransaction(transaction.TransactionId);
            state.TransactionRows.AddRange(rows);
            return;
        }

        state.DropTransaction(); // a transaction that ended unseen (disposed without commit) is gone
        CaptureModel model = GetModel(context);
        if (System.Transactions.Transaction.Current is { } ambient && !model.SqliteStorage)
        {
            AmbientBuffer.Add(this, ambient, rows); // Npgsql and SqlClient enlist; SQLite ignores the scope and has committed
            return;
        }

        Publish(rows);
    }

    internal void Publish(List<PendingRow> rows)
    {
        DateTimeOffset? commitTimestamp = _timeProvider?.GetUtcNow();
        foreach (PendingRow row in rows)
        {
            ChangeTable handle = row.Table.Handle;
            if (row.Lost)
            {
                _notifier.NotifyLost(handle, row.Kind, commitTimestamp);
                continue;
            }

            try
            {
                row.Table.EnsureColumns();
                _notifier.Notify(handle, row.Kind, row, s_writeRow, commitTimestamp);
            }
#pragma warning disable CA1031 // one row that cannot be written must not cost the others, nor vanish: readers are told
            catch (Exception ex)
#pragma warning restore CA1031
            {
                CaptureLog.PublishFailed(_logger, row.Table.ToString(), ex);
                _notifier.NotifyLost(handle, row.Kind, commitTimestamp);
            }
        }
    }

    /// <summary>Reports every table and kind of <paramref name="rows"/> as one lost change (a commit whose outcome is unknown).</summary>
    internal void PublishLost(List<PendingRow> rows)
    {
        DateTimeOffset? commitTimestamp = _timeProvider?.GetUtcNow();
        foreach ((TableMap table, ChangeKind kind) in rows.Select(r => (r.Table, r.Kind)).Distinct())
        {
            _notifier.NotifyLost(table.Handle, kind, commitTimestamp);
        }
    }
}
