namespace HeliosNano.Realtime.Sqlite;

public sealed unsafe partial class SqliteChangeCapture
{
    /// <summary>
    /// Applies a savepoint statement to the capture's stack only where SQLite's changed: SQLite reports no savepoint
    /// outcome, so the rules SQLite applies are followed (names compared with ASCII-only case folding, RELEASE refused
    /// while a write statement is in progress, the transaction's savepoint released only by a commit).
    /// </summary>
    private void ApplySavepointCommand(RunningStatement finished)
    {
        SavepointCommand command = finished.Command;
        switch (command.Kind)
        {
            case SavepointCommandKind.Savepoint:
                bool opensTransaction = finished.StartedInAutocommit;
                if (!opensTransaction || SqliteNative.GetAutocommit(_db) == 0)
                {
                    // (outside a transaction SAVEPOINT begins one; if the transaction is not open after it, it failed)
                    _savepoints.Add(new Savepoint(command.Name!, finished.ChangeMark, opensTransaction));
                }

                break;
            case SavepointCommandKind.Release when FindSavepoint(command.Name!) is int released and >= 0:
                if (_savepoints[released].IsTransaction)
                {
                    // Releasing the savepoint that opened the transaction commits it; a failed commit (a deferred
                    // foreign key, SQLITE_BUSY) leaves the transaction and every savepoint open.
                    if (SqliteNative.GetAutocommit(_db) != 0)
                    {
                        _savepoints.Clear();
                    }
                }
                else if (!WriteStatementInProgress())
                {
                    _savepoints.RemoveRange(released, _savepoints.Count - released);
                }

                break;
            case SavepointCommandKind.RollbackTo when FindSavepoint(command.Name!) is int target and >= 0:
                // ROLLBACK TO undoes the changes since the savepoint and keeps the savepoint itself open.
                TruncateTo(_savepoints[target].ChangeMark);
                _savepoints.RemoveRange(target + 1, _savepoints.Count - target - 1);
                InvalidateMetadata();
                break;
        }

        // A RELEASE or ROLLBACK TO of a name the capture does not know fails in SQLite too ("no such savepoint"): the
        // capture starts only outside a transaction and sees every savepoint statement, so its stack is SQLite's.
    }

    /// <summary>SQLite refuses RELEASE while a write statement is still running (<c>db->nVdbeWrite</c> &gt; 0).</summary>
    private bool WriteStatementInProgress()
    {
        foreach (RunningStatement running in _statements)
        {
            if (!running.ReadOnly && SqliteNative.StmtBusy(running.Statement) != 0)
            {
                return true;
            }
        }

        return false;
    }

    private int FindSavepoint(string name)
    {
        for (int i = _savepoints.Count - 1; i >= 0; i--)
        {
            if (SavepointCommand.NamesEqual(_savepoints[i].Name, name))
            {
                return i;
            }
        }

        return -1;
    }
}
