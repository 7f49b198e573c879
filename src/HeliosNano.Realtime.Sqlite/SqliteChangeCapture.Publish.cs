namespace HeliosNano.Realtime.Sqlite;

public sealed partial class SqliteChangeCapture
{
    // ---------------------------------------------------------------- publish and discard

    private void CompleteCommit()
    {
        _commitSeen = false;
        _savepoints.Clear();
        _transactionsCommitted++;
        if (_changeCount == 0 && _lost.Count == 0)
        {
            _overflowed = false;
            return;
        }

        DateTimeOffset? commitTimestamp = _timeProvider?.GetUtcNow();
        try
        {
            for (int i = 0; i < _changeCount; i++)
            {
                PendingChange change = _changes[i];
                if (change.Lost)
                {
                    ReportLost(change.Table, change.Kind, commitTimestamp);
                    continue;
                }

                try
                {
                    Publish(i, commitTimestamp);
                }
                catch (Exception ex)
                {
                    // One row that cannot be written (a value too large for a record, say) must not cost the
                    // transaction's other changes, and must not vanish either: readers are told they missed it.
                    OnCallbackError("publish", ex);
                    ReportLost(change.Table, change.Kind, commitTimestamp);
                }
            }

            foreach ((TableState table, ChangeKind kind) in _lost)
            {
                ReportLost(table, kind, commitTimestamp);
            }
        }
        finally
        {
            ClearBuffer();
        }
    }

    private void Publish(int index, DateTimeOffset? commitTimestamp)
    {
        PendingChange change = _changes[index];
        TableState table = change.Table;
        ChangeTable changeTable = table.ChangeTable!;
        if (!ReferenceEquals(table.PublishedMetadata, change.Metadata) || !ReferenceEquals(changeTable.Columns, table.PublishedColumns))
        {
            changeTable.SetColumns(change.Metadata.Columns);
            table.PublishedMetadata = change.Metadata;
            table.PublishedColumns = changeTable.Columns;
        }

        if (_notifier.Notify(changeTable, change.Kind, new RowRef(this, index), s_writeRow, commitTimestamp) > 0)
        {
            _changesPublished++;
        }
    }

    /// <summary>Tells every reader that watches the table and kind that it missed one committed change (no event is published for it).</summary>
    private void ReportLost(TableState table, ChangeKind kind, DateTimeOffset? commitTimestamp)
    {
        if (table.ChangeTable is ChangeTable changeTable)
        {
            Log.ChangeLost(_logger, table.Name, kind);
            if (_notifier.NotifyLost(changeTable, kind, commitTimestamp) > 0)
            {
                _changesLost++;
            }
        }
    }

    private void DiscardTransaction()
    {
        _commitSeen = false;
        _savepoints.Clear();
        if (_changeCount > 0 || _overflowed)
        {
            _transactionsRolledBack++;
            TruncateTo(0);
        }

        ClearBuffer();
        InvalidateMetadata(); // the rollback may have undone DDL: its schema_version numbers will be handed out again
    }

    private void TruncateTo(int mark)
    {
        // Past the buffer limit nothing is buffered: the lost tables and kinds stay (telling a reader it missed a change
        // that was then undone only makes it refresh).
        if (mark >= _changeCount)
        {
            return;
        }

        _changesDiscarded += _changeCount - mark;
        _valueCount = _changes[mark].ValueMark;
        _byteCount = _changes[mark].ByteMark;
        Array.Clear(_changes, mark, _changeCount - mark);
        _changeCount = mark;
    }

    private void ClearBuffer()
    {
        Array.Clear(_changes, 0, _changeCount);
        _changeCount = 0;
        _valueCount = 0;
        _byteCount = 0;
        _overflowed = false;
        _lost.Clear();
        if (_changes.Length > MaxRetainedChanges)
        {
            _changes = new PendingChange[16];
        }

        if (_values.Length > MaxRetainedValues)
        {
            _values = new CapturedValue[64];
        }

        if (_bytes.Length > MaxRetainedBytes)
        {
            _bytes = new byte[1024];
        }
    }

    private void OnCallbackError(string hook, Exception exception)
    {
        Interlocked.Increment(ref _errors);
        try
        {
            Log.CallbackFailed(_logger, hook, exception);
        }
#pragma warning disable CA1031 // a logger's failure must not escape into native code either
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
