using System.Runtime.InteropServices;

namespace HeliosNano.Realtime.Sqlite;

public sealed unsafe partial class SqliteChangeCapture
{
    private void OnStatementStarted(nint statement, byte* sql)
    {
        foreach (RunningStatement running in _statements)
        {
            if (running.Statement == statement)
            {
                return; // a trigger program starting inside the statement reports the same statement again
            }
        }

        ResolveBlobWrite();

        if (SqliteNative.GetAutocommit(_db) != 0 && SqliteNative.TxnState(_db, null) == 0)
        {
            // No transaction of any kind is open, so no statement can be running: settle whatever the last one left.
            _statements.Clear();
            if (_commitSeen)
            {
                CompleteCommit();
            }
            else
            {
                DiscardTransaction();
            }

            // Re-arm the rollback hook: SqliteTransaction replaces it while a transaction is open and clears it after.
            SqliteNative.RollbackHook(_db, &OnRollback, _context);
        }

        _statementSerial++;
        ReadOnlySpan<byte> text = sql is null ? default : MemoryMarshal.CreateReadOnlySpanFromNullTerminated(sql);
        _statements.Add(new RunningStatement(
            statement,
            _changeCount,
            SavepointCommand.Parse(text),
            StatementText.Classify(text),
            ReadOnly: SqliteNative.StmtReadonly(statement) != 0,
            StartedInAutocommit: SqliteNative.GetAutocommit(_db) != 0));
    }

    private void OnStatementFinished(nint statement)
    {
        int index = _statements.Count - 1;
        while (index >= 0 && _statements[index].Statement != statement)
        {
            index--;
        }

        if (index < 0)
        {
            return;
        }

        RunningStatement finished = _statements[index];
        _statements.RemoveAt(index);

        // A statement reset before it ran to completion (INSERT … RETURNING read partly) reports "finished" before it
        // halts: its changes stand (DML with RETURNING is done before the first row), and the commit hook or the
        // transaction's end decides. A halted statement that wrote may have failed; SQLite then undid, through its
        // statement savepoint, everything written since it began, without any hook. Autocommit needs no check: there
        // the commit hook or the end of the transaction tells.
        bool halted = SqliteNative.StmtBusy(statement) == 0;
        bool writeOpen = SqliteNative.TxnState(_db, null) == SqliteNative.TxnWrite;
        if (halted && !finished.ReadOnly && !_commitSeen && writeOpen && _changeCount > finished.ChangeMark && WasUndone(finished))
        {
            TruncateTo(finished.ChangeMark);
            InvalidateMetadata();
        }

        if (finished.Kind == StatementKind.Ddl)
        {
            InvalidateMetadata();
        }

        ApplySavepointCommand(finished);

        if (_commitSeen)
        {
            if (!writeOpen)
            {
                CompleteCommit();
            }
            else
            {
                _commitSeen = false; // COMMIT returned SQLITE_BUSY: the transaction is still open and may commit later
            }
        }
        else if (!writeOpen && (_changeCount > 0 || _overflowed) && SqliteNative.GetAutocommit(_db) != 0)
        {
            DiscardTransaction(); // the transaction ended without a commit: ROLLBACK, or rolled back by an error
        }
    }

    /// <summary>
    /// Decides whether SQLite undid what was written since <paramref name="finished"/> began (it failed with ABORT, the
    /// default conflict action, or RAISE(ABORT)). Never from another statement's numbers: <c>sqlite3_changes()</c> is
    /// used only for a DML statement, which sets it when it halts, and only when it is not zero (a statement SQLite
    /// undid sets 0; so do an INSTEAD OF trigger's view, INSERT OR IGNORE and DO NOTHING, while their triggers' writes
    /// stand). Otherwise the last buffered change is read back from the table: it stands exactly when the statement
    /// (whose savepoint covers it) was not undone.
    /// </summary>
    private bool WasUndone(RunningStatement finished)
    {
        if (finished.Kind == StatementKind.Dml && SqliteNative.Changes64(_db) > 0)
        {
            return false;
        }

        return !LastChangeStands();
    }

    /// <summary>
    /// Reads the row of the last buffered change back: an INSERT or UPDATE stands when the row holds its new image, a
    /// DELETE when the row is gone. A change that cannot be checked (no key known, the table is gone) is kept.
    /// </summary>
    private bool LastChangeStands()
    {
        PendingChange last = _changes[_changeCount - 1];
        if (last.Lost || last.Metadata.LookupSql is not byte[] sql)
        {
            return true;
        }

        _lookup = last;
        _lookupFound = false;
        _lookupMatches = false;
        try
        {
            RunInternalQuery(sql, static (statement, self) => self.CompareLookupRow(statement), static (statement, self) => self.BindLookupKey(statement));
        }
        catch (InvalidOperationException)
        {
            return true; // the table cannot be read (dropped by the statement, say): nothing to compare with
        }
        finally
        {
            _lookup = default;
        }

        return last.Kind == ChangeKind.Delete ? !_lookupFound : _lookupFound && _lookupMatches;
    }

    private int BindLookupKey(nint statement)
    {
        PendingChange change = _lookup;
        if (change.Metadata.LookupKey is not int[] key)
        {
            return SqliteNative.BindInt64(statement, 1, change.RowId);
        }

        int start = change.Kind == ChangeKind.Delete ? change.OldStart : change.NewStart;
        for (int k = 0; k < key.Length; k++)
        {
            CapturedValue value = _values[start + key[k]];
            int rc;
            fixed (byte* bytes = _bytes)
            {
                rc = value.Type switch
                {
                    SqliteNative.TypeInteger => SqliteNative.BindInt64(statement, k + 1, value.Integer),
                    SqliteNative.TypeFloat => SqliteNative.BindDouble(statement, k + 1, value.Real),
                    SqliteNative.TypeText => SqliteNative.BindText(statement, k + 1, bytes + value.Offset, value.Length, SqliteNative.Transient),
                    SqliteNative.TypeBlob => SqliteNative.BindBlob(statement, k + 1, bytes + value.Offset, value.Length, SqliteNative.Transient),
                    _ => SqliteNative.SqliteOk, // unbound parameters are NULL
                };
            }

            if (rc != SqliteNative.SqliteOk)
            {
                return rc;
            }
        }

        return SqliteNative.SqliteOk;
    }

    private void CompareLookupRow(nint statement)
    {
        _lookupFound = true;
        PendingChange change = _lookup;
        if (change.Kind == ChangeKind.Delete)
        {
            return;
        }

        _lookupMatches = SqliteNative.ColumnCount(statement) == change.ColumnCount;
        for (int i = 0; i < change.ColumnCount && _lookupMatches; i++)
        {
            _lookupMatches = ColumnEquals(statement, i, _values[change.NewStart + i]);
        }
    }

    private bool ColumnEquals(nint statement, int column, CapturedValue value)
    {
        int type = SqliteNative.ColumnType(statement, column);
        switch (value.Type)
        {
            case NotStored:
                return true; // a VIRTUAL generated column: computed, not part of the change
            case SqliteNative.TypeInteger or SqliteNative.TypeFloat when type is SqliteNative.TypeInteger or SqliteNative.TypeFloat:
                // REAL affinity may hand the hook 1.0 as the integer 1; reading the column gives 1.0 back
                return value.Type == SqliteNative.TypeInteger && type == SqliteNative.TypeInteger
                    ? SqliteNative.ColumnInt64(statement, column) == value.Integer
                    : SqliteNative.ColumnDouble(statement, column) == (value.Type == SqliteNative.TypeInteger ? value.Integer : value.Real);
            case SqliteNative.TypeText when type == SqliteNative.TypeText:
                byte* text = SqliteNative.ColumnText(statement, column);
                return new ReadOnlySpan<byte>(text, SqliteNative.ColumnBytes(statement, column)).SequenceEqual(_bytes.AsSpan(value.Offset, value.Length));
            case SqliteNative.TypeBlob when type == SqliteNative.TypeBlob:
                byte* blob = SqliteNative.ColumnBlob(statement, column);
                return new ReadOnlySpan<byte>(blob, SqliteNative.ColumnBytes(statement, column)).SequenceEqual(_bytes.AsSpan(value.Offset, value.Length));
            case SqliteNative.TypeNull:
                return type == SqliteNative.TypeNull;
            default:
                return false;
        }
    }
}
