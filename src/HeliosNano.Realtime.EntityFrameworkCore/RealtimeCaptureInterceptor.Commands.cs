using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace HeliosNano.Realtime.EntityFrameworkCore;

internal sealed partial class RealtimeCaptureInterceptor
{
    // ---------------------------------------------------------------- commands (IDbCommandInterceptor)
    // ExecuteUpdate/ExecuteDelete and raw SQL bypass the change tracker. EF tags their commands with a CommandSource, so
    // the capture can at least say so (once per context type), and, with ReportBulkChanges, report an ExecuteUpdate or
    // ExecuteDelete that affected rows as one lost change of its table after its commit.

    public int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        OnNonQuery(command, eventData, result);
        return result;
    }

    public ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        OnNonQuery(command, eventData, result);
        return ValueTask.FromResult(result);
    }

    private void OnNonQuery(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        CommandSource source = eventData.CommandSource;
        if (source is not (CommandSource.ExecuteUpdate or CommandSource.ExecuteDelete or CommandSource.ExecuteSqlRaw) || eventData.Context is not { } context)
        {
            return;
        }

        CaptureModel model = GetModel(context);
        if (!model.AnyWatched())
        {
            return;
        }

        if (source == CommandSource.ExecuteSqlRaw || !_reportBulkChanges)
        {
            if (_uncapturedLogged.TryAdd((context.GetType(), source.ToString()), 0))
            {
                CaptureLog.UncapturedWrite(_logger, context.GetType().Name, source.ToString());
            }

            return;
        }

        if (result <= 0 || model.FindTableIn(command.CommandText) is not { } table || !table.Handle.IsWatched)
        {
            return;
        }

        ChangeKind kind = source == CommandSource.ExecuteDelete ? ChangeKind.Delete : ChangeKind.Update;
        ContextState state = _contexts.GetValue(context, static _ => new ContextState());
        Route(context, state, [new PendingRow(table, kind) { Lost = true }]);
    }
}
