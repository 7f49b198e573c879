namespace HeliosNano.Realtime.Sqlite;

/// <summary>What a statement is, from its first keyword, as far as deciding whether SQLite undid its changes needs to know.</summary>
internal enum StatementKind : byte
{
    /// <summary>Anything else (SELECT, PRAGMA, transaction control, …).</summary>
    Other = 0,

    /// <summary>INSERT, UPDATE, DELETE, REPLACE or a WITH prefix of one: SQLite sets <c>sqlite3_changes()</c> when it halts.</summary>
    Dml = 1,

    /// <summary>CREATE, ALTER or DROP: the schema may change, and a rollback of it reuses schema version numbers.</summary>
    Ddl = 2,
}
