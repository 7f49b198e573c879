namespace HeliosNano.Realtime.Sqlite;

public sealed unsafe partial class SqliteChangeCapture
{
    /// <summary>
    /// A <c>sqlite3_blob_write</c> (SqliteBlob): SQLite reports it as a DELETE of the row, which stays, before the bytes
    /// are written, and does not say which ones. It is buffered as an UPDATE with the old image and no new one; the new
    /// image is read from the table at the next moment SQLite allows a query (the next blob write to another row, or the
    /// next statement, such as the COMMIT of the transaction). A blob write that commits before that (in autocommit mode
    /// the commit comes from closing the blob, where no query may run) is reported to readers as lost. A stream written
    /// in chunks calls the hook per chunk: consecutive writes to one row are one change.
    /// </summary>
    private void CaptureBlobWrite(TableState table, long rowId)
    {
        if (_changeCount > 0 && _changes[_changeCount - 1] is { Lost: true } previous && previous.Table == table && previous.RowId == rowId)
        {
            return;
        }

        ResolveBlobWrite(); // the previous row's blob is written by now
        if (_overflowed)
        {
            AddLost(table, ChangeKind.Update);
            return;
        }

        int count = SqliteNative.PreUpdateCount(_db);
        TableMetadata metadata = GetMetadata(table, count);
        int valueMark = _valueCount;
        int byteMark = _byteCount;
        if (!ReadValues(count, old: true))
        {
            _valueCount = valueMark;
            _byteCount = byteMark;
            Overflow(table, ChangeKind.Update);
            return;
        }

        BufferChange(new PendingChange(table, metadata, ChangeKind.Update, valueMark, -1, count, valueMark, byteMark, rowId, Lost: true));
        _rowsSerialized++;
    }

    /// <summary>Reads the new image of a buffered blob write (the last buffered change) from the table, making it a whole UPDATE.</summary>
    private void ResolveBlobWrite()
    {
        if (_changeCount == 0 || _changes[_changeCount - 1] is not { Lost: true } change || change.Metadata.LookupSql is not byte[] sql)
        {
            return;
        }

        int valueMark = _valueCount;
        int byteMark = _byteCount;
        _lookup = change;
        _lookupFound = false;
        _lookupMatches = true; // becomes false if a value does not fit the buffer
        try
        {
            RunInternalQuery(sql, static (statement, self) => self.CopyLookupRow(statement), static (statement, self) => self.BindLookupKey(statement));
        }
        catch (InvalidOperationException)
        {
            _lookupFound = false;
        }
        finally
        {
            _lookup = default;
        }

        if (!_lookupFound || !_lookupMatches || _valueCount - valueMark != change.ColumnCount)
        {
            _valueCount = valueMark; // stays lost: reported as such at commit
            _byteCount = byteMark;
            return;
        }

        _changes[_changeCount - 1] = change with { NewStart = valueMark, Lost = false };
    }

    private void CopyLookupRow(nint statement)
    {
        PendingChange change = _lookup;
        if (_lookupFound || SqliteNative.ColumnCount(statement) != change.ColumnCount || BufferedBytes(0, change.ColumnCount) > _maxBufferedBytes
            || !TryGrow(ref _values, (long)_valueCount + change.ColumnCount))
        {
            _lookupMatches = false;
            return;
        }

        _lookupFound = true;
        for (int i = 0; i < change.ColumnCount && _lookupMatches; i++)
        {
            int type = SqliteNative.ColumnType(statement, i);
            CapturedValue value = default;
            if (_values[change.OldStart + i].Type == NotStored)
            {
                value = new CapturedValue(NotStored, 0, 0, 0, 0); // as the hook reports it: not part of the row
            }
            else if (type == SqliteNative.TypeInteger)
            {
                value = new CapturedValue(type, SqliteNative.ColumnInt64(statement, i), 0, 0, 0);
            }
            else if (type == SqliteNative.TypeFloat)
            {
                value = new CapturedValue(type, 0, SqliteNative.ColumnDouble(statement, i), 0, 0);
            }
            else if (type is SqliteNative.TypeText or SqliteNative.TypeBlob)
            {
                byte* source = type == SqliteNative.TypeText ? SqliteNative.ColumnText(statement, i) : SqliteNative.ColumnBlob(statement, i);
                _lookupMatches = TryCopyBytes(type, source, SqliteNative.ColumnBytes(statement, i), out value);
            }
            else
            {
                value = new CapturedValue(SqliteNative.TypeNull, 0, 0, 0, 0);
            }

            _values[_valueCount++] = value;
        }
    }
}
