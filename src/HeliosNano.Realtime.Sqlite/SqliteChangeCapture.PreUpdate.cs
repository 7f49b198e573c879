using System.Runtime.InteropServices;
using System.Text;

namespace HeliosNano.Realtime.Sqlite;

public sealed unsafe partial class SqliteChangeCapture
{
    // ---------------------------------------------------------------- pre-update: capture one row

    private void HandlePreUpdate(int op, byte* databaseName, byte* tableName, long rowId)
    {
        try
        {
            if (_state != Capturing)
            {
                return;
            }

            if (!MemoryMarshal.CreateReadOnlySpanFromNullTerminated(databaseName).SequenceEqual("main"u8))
            {
                _rowsSkipped++;
                return;
            }

            TableState table = GetTableState(tableName);
            // The only per-row work for a table nobody watches: the look-up above and this check. A completed notifier
            // publishes nothing more, so nothing is read for it either, even while readers are still registered.
            if (table.ChangeTable is not { IsWatched: true } || _notifier.IsCompleted)
            {
                _rowsSkipped++;
                return;
            }

            ChangeKind kind = op switch
            {
                SqliteNative.OpInsert => ChangeKind.Insert,
                SqliteNative.OpUpdate => ChangeKind.Update,
                SqliteNative.OpDelete => ChangeKind.Delete,
                _ => (ChangeKind)(-1),
            };
            if (kind == (ChangeKind)(-1))
            {
                return;
            }

            if (kind == ChangeKind.Delete && SqliteNative.PreUpdateBlobWrite(_db) >= 0)
            {
                CaptureBlobWrite(table, rowId);
                return;
            }

            CaptureRow(table, kind, rowId);
        }
        catch (Exception ex)
        {
            OnCallbackError("pre-update", ex);
        }
    }

    private TableState GetTableState(byte* tableName)
    {
        ReadOnlySpan<byte> name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(tableName);
        // SQLite passes its Table object's name pointer, stable until the schema is reloaded: check it, then the bytes.
        if (_tablesByPointer.TryGetValue((nint)tableName, out TableState? known) && name.SequenceEqual(known.Utf8Name))
        {
            return known;
        }

        string text = Encoding.UTF8.GetString(name);
        if (!_tablesByName.TryGetValue(text, out TableState? table))
        {
            // sqlite_* tables are SQLite's own; shadow tables hold a virtual table's data (FTS5, R-Tree) in an internal
            // format: neither is a change of application data.
            bool isInternal = text.StartsWith("sqlite_", StringComparison.OrdinalIgnoreCase) || IsShadowTable(text);
            table = new TableState(text, name.ToArray(), isInternal ? null : _notifier.GetTable(Schema, text));
            _tablesByName.Add(text, table);
        }

        if (_tablesByPointer.Count >= MaxTablePointers)
        {
            _tablesByPointer.Clear(); // each schema reload brings new name pointers: forget the stale ones
        }

        _tablesByPointer[(nint)tableName] = table;
        return table;
    }

    private void CaptureRow(TableState table, ChangeKind kind, long rowId)
    {
        if (_overflowed)
        {
            AddLost(table, kind); // the transaction is past the buffer limit: only remember what to report
            return;
        }

        int count = SqliteNative.PreUpdateCount(_db);
        TableMetadata metadata = GetMetadata(table, count);
        int valueMark = _valueCount;
        int byteMark = _byteCount;
        try
        {
            int oldStart = -1;
            int newStart = -1;
            bool buffered = true;
            if (kind != ChangeKind.Insert)
            {
                oldStart = _valueCount;
                buffered = ReadValues(count, old: true);
            }

            if (buffered && kind != ChangeKind.Delete)
            {
                newStart = _valueCount;
                buffered = ReadValues(count, old: false);
            }

            if (!buffered)
            {
                _valueCount = valueMark;
                _byteCount = byteMark;
                Overflow(table, kind);
                return;
            }

            BufferChange(new PendingChange(table, metadata, kind, oldStart, newStart, count, valueMark, byteMark, rowId, Lost: false));
            _rowsSerialized++;
        }
        catch
        {
            _valueCount = valueMark;
            _byteCount = byteMark;
            throw;
        }
    }
}
