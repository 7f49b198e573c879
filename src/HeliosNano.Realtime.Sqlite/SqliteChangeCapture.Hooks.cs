using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HeliosNano.Realtime.Sqlite;

public sealed unsafe partial class SqliteChangeCapture
{
    // ---------------------------------------------------------------- native entry points

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnPreUpdate(nint context, nint db, int op, byte* databaseName, byte* tableName, long key1, long key2)
    {
        if (Target(context) is SqliteChangeCapture capture)
        {
            capture.HandlePreUpdate(op, databaseName, tableName, op == SqliteNative.OpDelete ? key1 : key2);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnCommit(nint context)
    {
        Target(context)?.HandleCommit();
        return 0; // never veto: a non-zero return would turn the COMMIT into a rollback
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnRollback(nint context) => Target(context)?.HandleRollback();

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnTrace(uint type, nint context, nint p, nint x)
    {
        Target(context)?.HandleTrace(type, p, x);
        return 0;
    }

    private static SqliteChangeCapture? Target(nint context) => s_contexts.TryGetValue(context, out SqliteChangeCapture? capture) ? capture : null;


    // ---------------------------------------------------------------- commit, rollback, statement boundaries

    private void HandleCommit()
    {
        try
        {
            if (_state != Capturing)
            {
                return;
            }

            _statementSerial++;
            _commitSeen = true;
            if (_statements.Count == 0)
            {
                // No traced statement is running, so no "statement finished" event will follow this commit (a statement
                // reset before completion commits after its event): this is the last moment the capture sees.
                CompleteCommit();
            }
        }
        catch (Exception ex)
        {
            OnCallbackError("commit", ex);
        }
    }

    private void HandleRollback()
    {
        try
        {
            if (_state == Capturing)
            {
                _statementSerial++;
                DiscardTransaction();
            }
        }
        catch (Exception ex)
        {
            OnCallbackError("rollback", ex);
        }
    }

    private void HandleTrace(uint type, nint statement, nint x)
    {
        try
        {
            if (_state != Capturing || _inInternalQuery)
            {
                return;
            }

            if (type == SqliteNative.TraceStatement)
            {
                OnStatementStarted(statement, (byte*)x);
            }
            else if (type == SqliteNative.TraceProfile)
            {
                OnStatementFinished(statement);
            }
        }
        catch (Exception ex)
        {
            OnCallbackError("trace", ex);
        }
    }
}
