using System.Text.Json;

namespace HeliosNano.Realtime.Sqlite;

public sealed partial class SqliteChangeCapture
{
    /// <summary>One table of the connection's <c>main</c> database, as the pre-update hook meets it.</summary>
    private sealed class TableState(string name, byte[] utf8Name, ChangeTable? changeTable)
    {
        public string Name { get; } = name;

        /// <summary>The name as SQLite hands it to the hook, to recognise the table without decoding a string per row.</summary>
        public byte[] Utf8Name { get; } = utf8Name;

        /// <summary>The notifier's handle, kept so the hook answers "is anybody watching?" in two reads; <see langword="null"/> for sqlite_* tables.</summary>
        public ChangeTable? ChangeTable { get; } = changeTable;

        public TableMetadata? Metadata { get; set; }

        /// <summary>The capture's metadata generation <see cref="Metadata"/> was read in (a schema change starts a new one).</summary>
        public int MetadataGeneration { get; set; } = -1;

        /// <summary>The column list the notifier's table held after this capture last set it; a different reference means somebody else set it since.</summary>
        public IReadOnlyList<ChangeColumn>? PublishedColumns { get; set; }

        public TableMetadata? PublishedMetadata { get; set; }
    }

    /// <summary>A table's columns as <c>PRAGMA table_xinfo</c> reported them, with what writing a record needs.</summary>
    private sealed class TableMetadata
    {
        public TableMetadata(ChangeColumn[] columns, string[] declaredTypes, bool numericAsString, byte[]? lookupSql, int[]? lookupKey)
        {
            Columns = columns;
            DeclaredTypes = declaredTypes;
            LookupSql = lookupSql;
            LookupKey = lookupKey;
            Names = new JsonEncodedText[columns.Length];
            Formats = new ColumnFormat[columns.Length];
            NumericFormats = new string[columns.Length];
            for (int i = 0; i < columns.Length; i++)
            {
                Names[i] = JsonEncodedText.Encode(columns[i].Name);
                Formats[i] = SqliteTypeMapper.GetFormat(columns[i].TypeName);
                if (numericAsString && columns[i].TypeName == "numeric")
                {
                    Formats[i] = ColumnFormat.NumericString;
                    // NUMERIC(10, 2) keeps two decimals, as PostgreSQL prints it; without a scale, the shortest round-trip form.
                    NumericFormats[i] = SqliteTypeMapper.GetNumericScale(declaredTypes[i]) is int scale ? $"F{scale}" : "R";
                }
            }
        }

        public ChangeColumn[] Columns { get; }

        /// <summary>Property names pre-encoded once per table, not per row.</summary>
        public JsonEncodedText[] Names { get; }

        public ColumnFormat[] Formats { get; }

        /// <summary>For <see cref="ColumnFormat.NumericString"/> columns, the .NET format of the value.</summary>
        public string[] NumericFormats { get; }

        public string[] DeclaredTypes { get; }

        /// <summary>The query reading one row by its key (<c>?1</c> = rowid, or the primary key columns in order); <see langword="null"/> when the columns were not all known.</summary>
        public byte[]? LookupSql { get; }

        /// <summary>For a WITHOUT ROWID table, the indexes of the primary key columns bound to <see cref="LookupSql"/>; <see langword="null"/> for a rowid table.</summary>
        public int[]? LookupKey { get; }
    }

    /// <summary>
    /// One column value copied out of SQLite during the pre-update hook (text and blob bytes live in the byte arena).
    /// <see cref="Type"/> is a SQLite fundamental type, or <see cref="NotStored"/> for a VIRTUAL generated column.
    /// </summary>
    private readonly record struct CapturedValue(int Type, long Integer, double Real, int Offset, int Length);

    /// <summary>
    /// One captured row change waiting for its transaction's outcome. Images are ranges of the value arena
    /// (<c>-1</c> when absent); the marks say where the arenas stood before it, so a rollback can cut back to it.
    /// </summary>
    /// <remarks>
    /// <see cref="RowId"/> is the row's rowid as the hook reported it (the new one for INSERT and UPDATE), to read the row
    /// back. <see cref="Lost"/> marks a change whose images are not known (a blob write): it is reported as lost.
    /// </remarks>
    private readonly record struct PendingChange(
        TableState Table, TableMetadata Metadata, ChangeKind Kind, int OldStart, int NewStart, int ColumnCount, int ValueMark, int ByteMark,
        long RowId, bool Lost);

    /// <summary>A statement that started running (statement trace) and has not finished (profile trace) yet.</summary>
    /// <remarks>
    /// <see cref="ChangeMark"/> is how many changes were buffered when it started: SQLite's statement rollback returns the
    /// database to that point (the statement savepoint covers every write made after the statement began, also by
    /// statements that ran while it was open). <see cref="ReadOnly"/> is <c>sqlite3_stmt_readonly</c>: such a statement
    /// writes nothing, so it never undoes anything when it finishes. <see cref="StartedInAutocommit"/> tells whether a
    /// SAVEPOINT it runs opens the transaction.
    /// </remarks>
    private readonly record struct RunningStatement(nint Statement, int ChangeMark, SavepointCommand Command, StatementKind Kind, bool ReadOnly, bool StartedInAutocommit);

    /// <summary>An open savepoint, how many changes were buffered when it was taken, and whether it opened the transaction.</summary>
    private readonly record struct Savepoint(string Name, int ChangeMark, bool IsTransaction);

    /// <summary>The state a row writer gets: which buffered change to write.</summary>
    private readonly record struct RowRef(SqliteChangeCapture Capture, int Index);
}
