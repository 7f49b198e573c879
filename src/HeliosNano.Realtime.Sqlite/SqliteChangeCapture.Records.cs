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
        public TableMetadata(ChangeColumn[] columns, string[] declaredTypes, bool numericAsString)
        {
            Columns = columns;
            DeclaredTypes = declaredTypes;
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
    }

    /// <summary>One column value copied out of SQLite during the pre-update hook (text and blob bytes live in the byte arena).</summary>
    private readonly record struct CapturedValue(int Type, long Integer, double Real, int Offset, int Length);

    /// <summary>
    /// One captured row change waiting for its transaction's outcome. Images are ranges of the value arena
    /// (<c>-1</c> when absent); the marks say where the arenas stood before it, so a rollback can cut back to it.
    /// </summary>
    private readonly record struct PendingChange(
        TableState Table, TableMetadata Metadata, ChangeKind Kind, int OldStart, int NewStart, int ColumnCount, int ValueMark, int ByteMark);

    /// <summary>A statement that started running (statement trace) and has not finished (profile trace) yet.</summary>
    private readonly record struct RunningStatement(nint Statement, int ChangeMark, SavepointCommand Command);

    /// <summary>An open savepoint and how many changes were buffered when it was taken.</summary>
    private readonly record struct Savepoint(string Name, int ChangeMark);

    /// <summary>The state a row writer gets: which buffered change to write.</summary>
    private readonly record struct RowRef(SqliteChangeCapture Capture, int Index);
}
