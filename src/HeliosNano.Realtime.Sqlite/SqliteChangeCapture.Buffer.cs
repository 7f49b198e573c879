using System.Runtime.CompilerServices;

namespace HeliosNano.Realtime.Sqlite;

public sealed unsafe partial class SqliteChangeCapture
{
    private void BufferChange(PendingChange change)
    {
        if (_overflowed)
        {
            AddLost(change.Table, change.Kind);
            return;
        }

        if (!TryGrow(ref _changes, _changeCount + 1L))
        {
            Overflow(change.Table, change.Kind);
            return;
        }

        _changes[_changeCount++] = change;
    }

    /// <summary>
    /// The transaction cannot be buffered whole: drop every buffered image (their memory is released now) and keep only
    /// which tables and kinds changed, to report them as lost if the transaction commits. Publishing the part that fit
    /// would hand readers a transaction with rows silently missing.
    /// </summary>
    private void Overflow(TableState table, ChangeKind kind)
    {
        for (int i = 0; i < _changeCount; i++)
        {
            AddLost(_changes[i].Table, _changes[i].Kind);
        }

        AddLost(table, kind);
        _overflowed = true;
        _changeCount = 0;
        _valueCount = 0;
        _byteCount = 0;
        _changes = new PendingChange[16];
        _values = new CapturedValue[64];
        _bytes = new byte[1024];
        Log.TransactionTooLarge(_logger, _maxBufferedBytes);
    }

    private void AddLost(TableState table, ChangeKind kind)
    {
        if (!_lost.Contains((table, kind)))
        {
            _lost.Add((table, kind));
        }
    }

    /// <summary>Grows <paramref name="array"/> to hold <paramref name="needed"/> elements: doubling (64-bit arithmetic), never past <see cref="Array.MaxLength"/>.</summary>
    /// <returns><see langword="false"/> when that many elements cannot be held in one array (or the memory is not there).</returns>
    private static bool TryGrow<T>(ref T[] array, long needed)
    {
        if (needed <= array.Length)
        {
            return true;
        }

        if (needed > Array.MaxLength)
        {
            return false;
        }

        long size = Math.Min(Math.Max(array.LongLength * 2, needed), Array.MaxLength);
        try
        {
            Array.Resize(ref array, (int)size);
            return true;
        }
        catch (OutOfMemoryException)
        {
            return false;
        }
    }

    /// <summary>What the buffered images take: the byte arena plus the value slots.</summary>
    private long BufferedBytes(long extraBytes, long extraValues) =>
        _byteCount + extraBytes + ((_valueCount + extraValues) * Unsafe.SizeOf<CapturedValue>());

    private bool ReadValues(int count, bool old)
    {
        if (BufferedBytes(0, count) > _maxBufferedBytes || !TryGrow(ref _values, (long)_valueCount + count))
        {
            return false;
        }

        for (int i = 0; i < count; i++)
        {
            nint value;
            int rc = old ? SqliteNative.PreUpdateOld(_db, i, &value) : SqliteNative.PreUpdateNew(_db, i, &value);
            if (rc == SqliteNative.SqliteRange)
            {
                // A VIRTUAL generated column: computed on read, not stored in the row the hook sees (written as null).
                _values[_valueCount++] = new CapturedValue(NotStored, 0, 0, 0, 0);
                continue;
            }

            if (rc != SqliteNative.SqliteOk)
            {
                throw new InvalidOperationException($"sqlite3_preupdate_{(old ? "old" : "new")}({i}) failed with SQLite error {rc}.");
            }

            int type = SqliteNative.ValueType(value);
            CapturedValue captured;
            switch (type)
            {
                case SqliteNative.TypeInteger:
                    captured = new CapturedValue(type, SqliteNative.ValueInt64(value), 0, 0, 0);
                    break;
                case SqliteNative.TypeFloat:
                    captured = new CapturedValue(type, 0, SqliteNative.ValueDouble(value), 0, 0);
                    break;
                case SqliteNative.TypeText:
                case SqliteNative.TypeBlob:
                    // text before bytes: sqlite3_value_bytes then reports the length of that UTF-8 text
                    byte* source = type == SqliteNative.TypeText ? SqliteNative.ValueText(value) : SqliteNative.ValueBlob(value);
                    if (!TryCopyBytes(type, source, SqliteNative.ValueBytes(value), out captured))
                    {
                        return false;
                    }

                    break;
                default:
                    captured = new CapturedValue(SqliteNative.TypeNull, 0, 0, 0, 0);
                    break;
            }

            _values[_valueCount++] = captured;
        }

        return true;
    }

    private bool TryCopyBytes(int type, byte* source, int length, out CapturedValue value)
    {
        value = default;
        if (BufferedBytes(length, 0) > _maxBufferedBytes || !TryGrow(ref _bytes, (long)_byteCount + length))
        {
            return false;
        }

        int offset = _byteCount;
        if (length > 0)
        {
            new ReadOnlySpan<byte>(source, length).CopyTo(_bytes.AsSpan(offset));
        }

        _byteCount += length;
        value = new CapturedValue(type, 0, 0, offset, length);
        return true;
    }
}
