using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace HeliosNano.Realtime.EntityFrameworkCore;

/// <summary>
/// Added beside the capture only with <see cref="RealtimeCaptureOptions.ReportBulkChanges"/>: a command interceptor makes
/// EF build event data for every command, a cost nobody should pay for a report they did not ask for.
/// </summary>
internal sealed class BulkChangeInterceptor(RealtimeCaptureInterceptor capture) : IDbCommandInterceptor
{
    public int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        capture.OnNonQuery(command, eventData, result);
        return result;
    }

    public ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        capture.OnNonQuery(command, eventData, result);
        return ValueTask.FromResult(result);
    }
}

internal sealed partial class RealtimeCaptureInterceptor
{
    // ---------------------------------------------------------------- commands (through BulkChangeInterceptor)
    // ExecuteUpdate/ExecuteDelete and raw SQL bypass the change tracker. EF tags their commands with a CommandSource (EF 10
    // tags ExecuteUpdate as BulkUpdate, ExecuteDelete as ExecuteDelete: checked by the tests), so
    // the capture can at least say so (once per context type), and, with ReportBulkChanges, report an ExecuteUpdate or
    // ExecuteDelete that affected rows as one lost change of its table after its commit.

    internal void OnNonQuery(DbCommand command, CommandExecutedEventData eventData, int result)
    {
#pragma warning disable CS0618 // EF 10.0.15 still tags ExecuteUpdate commands with the obsolete BulkUpdate
        CommandSource source = eventData.CommandSource == CommandSource.BulkUpdate ? CommandSource.ExecuteUpdate : eventData.CommandSource;
#pragma warning restore CS0618
        if (source is not (CommandSource.ExecuteUpdate or CommandSource.ExecuteDelete or CommandSource.ExecuteSqlRaw) || eventData.Context is not { } context)
        {
            return;
        }

        CaptureModel model = GetModel(context);
        if (!model.AnyWatched())
        {
            return;
        }

        if (source == CommandSource.ExecuteSqlRaw)
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
