using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace HeliosNano.Realtime.Sample;

/// <summary>
/// Confines SQL run on the sample's connection to the configured database: nothing a client sends through
/// <c>/sql</c> or <c>/rest/v1</c> may open, create or load another file.
/// </summary>
/// <remarks>
/// <para>
/// Two independent locks, so that either one alone keeps the guarantee. SQLite's attached-database limit is set to 0,
/// which makes every <c>ATTACH</c> fail, and also <c>VACUUM</c> and <c>VACUUM INTO</c>, which attach their target
/// internally. An authorizer denies <c>ATTACH</c> and <c>DETACH</c> at prepare time (whatever transaction wrapper is
/// around the statement), and calls of <c>load_extension</c> (Microsoft.Data.Sqlite already leaves extension loading
/// off; this keeps it refused even if that default changes).
/// </para>
/// <para>
/// The authorizer runs for every statement SQLite prepares: it compares one integer for most actions, so it costs
/// nothing measurable.
/// </para>
/// </remarks>
internal static class SqliteSandbox
{
    // SQLite action codes (sqlite3.h); SQLitePCLRaw exposes some of them, these are spelled out for readability.
    private const int ActionAttach = 24;
    private const int ActionDetach = 25;
    private const int ActionFunction = 31;

    /// <summary>Kept in a static field: SQLite holds a pointer to the callback for the connection's lifetime.</summary>
    private static readonly strdelegate_authorizer s_authorizer = Authorize;

    /// <summary>Applies the limit and the authorizer to an open connection.</summary>
    public static void Apply(SqliteConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        sqlite3 handle = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        raw.sqlite3_limit(handle, raw.SQLITE_LIMIT_ATTACHED, 0);
        int rc = raw.sqlite3_set_authorizer(handle, s_authorizer, null);
        if (rc != raw.SQLITE_OK)
        {
            throw new InvalidOperationException($"sqlite3_set_authorizer failed with {rc}.");
        }
    }

    private static int Authorize(object userData, int actionCode, string param0, string param1, string dbName, string innerMostTriggerOrView) => actionCode switch
    {
        ActionAttach or ActionDetach => raw.SQLITE_DENY,

        // For SQLITE_FUNCTION the second parameter is the function's name.
        ActionFunction when string.Equals(param1, "load_extension", StringComparison.OrdinalIgnoreCase) => raw.SQLITE_DENY,
        _ => raw.SQLITE_OK,
    };
}
