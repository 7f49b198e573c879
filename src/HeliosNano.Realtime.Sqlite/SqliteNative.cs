using System.Runtime.InteropServices;

namespace HeliosNano.Realtime.Sqlite;

/// <summary>
/// The SQLite C functions the capture calls, bound as unmanaged function pointers to the very native library
/// SQLitePCLRaw loaded (<c>raw.GetNativeLibraryName()</c>: <c>e_sqlite3</c> with Microsoft.Data.Sqlite's default bundle).
/// </summary>
/// <remarks>
/// Binding by name at run time instead of a fixed <c>[DllImport("e_sqlite3")]</c> matters: a connection handle must only
/// ever be passed to the library that opened it, and an app may plug another SQLitePCLRaw provider (for example the
/// system <c>libsqlite3</c>). The library must be built with <c>SQLITE_ENABLE_PREUPDATE_HOOK</c>; both the bundled
/// e_sqlite3 and Debian's libsqlite3 are.
/// </remarks>
internal static unsafe class SqliteNative
{
    public const int SqliteOk = 0;
    public const int SqliteRange = 25;
    public const int SqliteRow = 100;
    public const int SqliteDone = 101;

    public const int OpDelete = 9;
    public const int OpInsert = 18;
    public const int OpUpdate = 23;

    public const int TypeInteger = 1;
    public const int TypeFloat = 2;
    public const int TypeText = 3;
    public const int TypeBlob = 4;
    public const int TypeNull = 5;

    public const uint TraceStatement = 0x01;
    public const uint TraceProfile = 0x02;

    public const int TxnWrite = 2;

    /// <summary><c>SQLITE_TRANSIENT</c>: SQLite copies a bound value before the bind call returns.</summary>
    public const nint Transient = -1;

    private static readonly Lock s_gate = new();
    private static string? s_libraryName;

    public static delegate* unmanaged[Cdecl]<nint, delegate* unmanaged[Cdecl]<nint, nint, int, byte*, byte*, long, long, void>, nint, nint> PreUpdateHook;
    public static delegate* unmanaged[Cdecl]<nint, int, nint*, int> PreUpdateOld;
    public static delegate* unmanaged[Cdecl]<nint, int, nint*, int> PreUpdateNew;
    public static delegate* unmanaged[Cdecl]<nint, int> PreUpdateCount;
    public static delegate* unmanaged[Cdecl]<nint, delegate* unmanaged[Cdecl]<nint, int>, nint, nint> CommitHook;
    public static delegate* unmanaged[Cdecl]<nint, delegate* unmanaged[Cdecl]<nint, void>, nint, nint> RollbackHook;
    public static delegate* unmanaged[Cdecl]<nint, uint, delegate* unmanaged[Cdecl]<uint, nint, nint, nint, int>, nint, int> TraceV2;
    public static delegate* unmanaged[Cdecl]<nint, int> GetAutocommit;
    public static delegate* unmanaged[Cdecl]<nint, byte*, int> TxnState;
    public static delegate* unmanaged[Cdecl]<nint, long> Changes64;
    public static delegate* unmanaged[Cdecl]<nint, int> StmtBusy;
    public static delegate* unmanaged[Cdecl]<nint, int> ValueType;
    public static delegate* unmanaged[Cdecl]<nint, long> ValueInt64;
    public static delegate* unmanaged[Cdecl]<nint, double> ValueDouble;
    public static delegate* unmanaged[Cdecl]<nint, byte*> ValueText;
    public static delegate* unmanaged[Cdecl]<nint, byte*> ValueBlob;
    public static delegate* unmanaged[Cdecl]<nint, int> ValueBytes;
    public static delegate* unmanaged[Cdecl]<nint, byte*, int, nint*, byte**, int> PrepareV2;
    public static delegate* unmanaged[Cdecl]<nint, int> Step;
    public static delegate* unmanaged[Cdecl]<nint, int> Finalize;
    public static delegate* unmanaged[Cdecl]<nint, int, byte*> ColumnText;
    public static delegate* unmanaged[Cdecl]<nint, int, long> ColumnInt64;
    public static delegate* unmanaged[Cdecl]<nint, int, double> ColumnDouble;
    public static delegate* unmanaged[Cdecl]<nint, int, byte*> ColumnBlob;
    public static delegate* unmanaged[Cdecl]<nint, int, int> ColumnBytes;
    public static delegate* unmanaged[Cdecl]<nint, int, int> ColumnType;
    public static delegate* unmanaged[Cdecl]<nint, int> ColumnCount;
    public static delegate* unmanaged[Cdecl]<nint, int, long, int> BindInt64;
    public static delegate* unmanaged[Cdecl]<nint, int, double, int> BindDouble;
    public static delegate* unmanaged[Cdecl]<nint, int, byte*, int, nint, int> BindText;
    public static delegate* unmanaged[Cdecl]<nint, int, byte*, int, nint, int> BindBlob;
    public static delegate* unmanaged[Cdecl]<nint, int> PreUpdateBlobWrite;
    public static delegate* unmanaged[Cdecl]<nint, int> StmtReadonly;

    /// <summary>Binds every function from <paramref name="libraryName"/> once per process.</summary>
    /// <exception cref="NotSupportedException">The library lacks the pre-update hook or another needed export.</exception>
    public static void EnsureLoaded(string libraryName)
    {
        lock (s_gate)
        {
            if (s_libraryName is not null)
            {
                if (!string.Equals(s_libraryName, libraryName, StringComparison.Ordinal))
                {
                    throw new NotSupportedException(
                        $"SQLite change capture is bound to the native library '{s_libraryName}', but this connection uses '{libraryName}'. Use one SQLitePCLRaw provider per process.");
                }

                return;
            }

            nint library = Load(libraryName);
            PreUpdateHook = (delegate* unmanaged[Cdecl]<nint, delegate* unmanaged[Cdecl]<nint, nint, int, byte*, byte*, long, long, void>, nint, nint>)Export(library, libraryName, "sqlite3_preupdate_hook");
            PreUpdateOld = (delegate* unmanaged[Cdecl]<nint, int, nint*, int>)Export(library, libraryName, "sqlite3_preupdate_old");
            PreUpdateNew = (delegate* unmanaged[Cdecl]<nint, int, nint*, int>)Export(library, libraryName, "sqlite3_preupdate_new");
            PreUpdateCount = (delegate* unmanaged[Cdecl]<nint, int>)Export(library, libraryName, "sqlite3_preupdate_count");
            CommitHook = (delegate* unmanaged[Cdecl]<nint, delegate* unmanaged[Cdecl]<nint, int>, nint, nint>)Export(library, libraryName, "sqlite3_commit_hook");
            RollbackHook = (delegate* unmanaged[Cdecl]<nint, delegate* unmanaged[Cdecl]<nint, void>, nint, nint>)Export(library, libraryName, "sqlite3_rollback_hook");
            TraceV2 = (delegate* unmanaged[Cdecl]<nint, uint, delegate* unmanaged[Cdecl]<uint, nint, nint, nint, int>, nint, int>)Export(library, libraryName, "sqlite3_trace_v2");
            GetAutocommit = (delegate* unmanaged[Cdecl]<nint, int>)Export(library, libraryName, "sqlite3_get_autocommit");
            TxnState = (delegate* unmanaged[Cdecl]<nint, byte*, int>)Export(library, libraryName, "sqlite3_txn_state");
            Changes64 = (delegate* unmanaged[Cdecl]<nint, long>)Export(library, libraryName, "sqlite3_changes64");
            StmtBusy = (delegate* unmanaged[Cdecl]<nint, int>)Export(library, libraryName, "sqlite3_stmt_busy");
            ValueType = (delegate* unmanaged[Cdecl]<nint, int>)Export(library, libraryName, "sqlite3_value_type");
            ValueInt64 = (delegate* unmanaged[Cdecl]<nint, long>)Export(library, libraryName, "sqlite3_value_int64");
            ValueDouble = (delegate* unmanaged[Cdecl]<nint, double>)Export(library, libraryName, "sqlite3_value_double");
            ValueText = (delegate* unmanaged[Cdecl]<nint, byte*>)Export(library, libraryName, "sqlite3_value_text");
            ValueBlob = (delegate* unmanaged[Cdecl]<nint, byte*>)Export(library, libraryName, "sqlite3_value_blob");
            ValueBytes = (delegate* unmanaged[Cdecl]<nint, int>)Export(library, libraryName, "sqlite3_value_bytes");
            PrepareV2 = (delegate* unmanaged[Cdecl]<nint, byte*, int, nint*, byte**, int>)Export(library, libraryName, "sqlite3_prepare_v2");
            Step = (delegate* unmanaged[Cdecl]<nint, int>)Export(library, libraryName, "sqlite3_step");
            Finalize = (delegate* unmanaged[Cdecl]<nint, int>)Export(library, libraryName, "sqlite3_finalize");
            ColumnText = (delegate* unmanaged[Cdecl]<nint, int, byte*>)Export(library, libraryName, "sqlite3_column_text");
            ColumnInt64 = (delegate* unmanaged[Cdecl]<nint, int, long>)Export(library, libraryName, "sqlite3_column_int64");
            ColumnDouble = (delegate* unmanaged[Cdecl]<nint, int, double>)Export(library, libraryName, "sqlite3_column_double");
            ColumnBlob = (delegate* unmanaged[Cdecl]<nint, int, byte*>)Export(library, libraryName, "sqlite3_column_blob");
            ColumnBytes = (delegate* unmanaged[Cdecl]<nint, int, int>)Export(library, libraryName, "sqlite3_column_bytes");
            ColumnType = (delegate* unmanaged[Cdecl]<nint, int, int>)Export(library, libraryName, "sqlite3_column_type");
            ColumnCount = (delegate* unmanaged[Cdecl]<nint, int>)Export(library, libraryName, "sqlite3_column_count");
            BindInt64 = (delegate* unmanaged[Cdecl]<nint, int, long, int>)Export(library, libraryName, "sqlite3_bind_int64");
            BindDouble = (delegate* unmanaged[Cdecl]<nint, int, double, int>)Export(library, libraryName, "sqlite3_bind_double");
            BindText = (delegate* unmanaged[Cdecl]<nint, int, byte*, int, nint, int>)Export(library, libraryName, "sqlite3_bind_text");
            BindBlob = (delegate* unmanaged[Cdecl]<nint, int, byte*, int, nint, int>)Export(library, libraryName, "sqlite3_bind_blob");
            // sqlite3_preupdate_blobwrite (3.36+) tells a sqlite3_blob_write, reported as SQLITE_DELETE, from a real DELETE.
            PreUpdateBlobWrite = (delegate* unmanaged[Cdecl]<nint, int>)Export(library, libraryName, "sqlite3_preupdate_blobwrite");
            StmtReadonly = (delegate* unmanaged[Cdecl]<nint, int>)Export(library, libraryName, "sqlite3_stmt_readonly");
            s_libraryName = libraryName;
        }
    }

    private static nint Load(string libraryName)
    {
        // Resolve the way SQLitePCLRaw's own [DllImport] does (the app's deps.json native assets first), so that the
        // loader hands back the module already loaded rather than a second copy of SQLite.
        if (NativeLibrary.TryLoad(libraryName, typeof(SQLitePCL.raw).Assembly, null, out nint handle)
            || NativeLibrary.TryLoad(libraryName, typeof(SqliteNative).Assembly, null, out handle))
        {
            return handle;
        }

        throw new NotSupportedException($"The native SQLite library '{libraryName}' that SQLitePCLRaw uses could not be loaded for change capture.");
    }

    private static nint Export(nint library, string libraryName, string name) =>
        NativeLibrary.TryGetExport(library, name, out nint address)
            ? address
            : throw new NotSupportedException(
                $"The native SQLite library '{libraryName}' does not export {name}; change capture needs a build with SQLITE_ENABLE_PREUPDATE_HOOK " +
                "(the e_sqlite3 library of SQLitePCLRaw.bundle_e_sqlite3, which Microsoft.Data.Sqlite uses by default, has it).");

    /// <summary>Runs one query on <paramref name="db"/> and calls <paramref name="onRow"/> per row; for the capture's own metadata reads.</summary>
    /// <returns>The SQLite result code of the last step (<see cref="SqliteDone"/> on success).</returns>
    public static int Query<TState>(nint db, ReadOnlySpan<byte> sql, TState state, Action<nint, TState> onRow) =>
        Query(db, sql, state, bind: null, onRow);

    /// <summary>Prepares one query, lets <paramref name="bind"/> bind its parameters, and calls <paramref name="onRow"/> per row.</summary>
    /// <returns>The SQLite result code of the prepare, a failed bind, or the last step (<see cref="SqliteDone"/> on success).</returns>
    public static int Query<TState>(nint db, ReadOnlySpan<byte> sql, TState state, Func<nint, TState, int>? bind, Action<nint, TState> onRow)
    {
        nint statement;
        int rc;
        fixed (byte* text = sql)
        {
            rc = PrepareV2(db, text, sql.Length, &statement, null);
        }

        if (rc != SqliteOk)
        {
            return rc;
        }

        try
        {
            if (bind is not null && (rc = bind(statement, state)) != SqliteOk)
            {
                return rc;
            }

            while ((rc = Step(statement)) == SqliteRow)
            {
                onRow(statement, state);
            }

            return rc;
        }
        finally
        {
            Finalize(statement);
        }
    }

    /// <summary>Reads a column of the current row as a string (<see langword="null"/> for SQL NULL).</summary>
    public static string? GetString(nint statement, int column)
    {
        byte* text = ColumnText(statement, column);
        return text is null ? null : Marshal.PtrToStringUTF8((nint)text);
    }
}
