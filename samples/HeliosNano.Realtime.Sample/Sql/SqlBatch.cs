using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sample.Sql;

/// <summary>Runs the statements of one <c>POST /sql</c> request with psql-like results and all-or-nothing effect.</summary>
/// <remarks>
/// <para>
/// Statements run in order. The request as a whole is one SQLite transaction, as with <c>psql --single-transaction</c>:
/// when every statement succeeds it commits (and the capture publishes the changes, in statement order); when one
/// fails, nothing of the request is applied and the error names the statement. So a request is never half-applied.
/// </para>
/// <para>
/// Explicit transaction control is honoured inside that: <c>BEGIN</c>/<c>START TRANSACTION</c> opens a savepoint,
/// <c>COMMIT</c>/<c>END</c> releases it and <c>ROLLBACK</c>/<c>ABORT</c> undoes the work since <c>BEGIN</c> (its
/// changes are never published). As in PostgreSQL, <c>COMMIT</c> or <c>ROLLBACK</c> outside a transaction and
/// <c>BEGIN</c> inside one only produce a notice, and a transaction still open when the request ends is rolled back,
/// as when a psql session ends. <c>SAVEPOINT</c>, <c>RELEASE</c> and <c>ROLLBACK TO</c> pass through unchanged.
/// <c>VACUUM</c> fails (it cannot run inside a transaction, and <see cref="SqliteSandbox"/> refuses what it attaches); <c>ATTACH</c>,
/// <c>DETACH</c>, <c>VACUUM INTO</c> and <c>load_extension</c> are refused by <see cref="SqliteSandbox"/>.
/// </para>
/// </remarks>
internal static class SqlBatch
{
    private const string UserSavepoint = "helios_user_transaction";

    /// <summary>What a statement does to the transaction: nothing, or <c>BEGIN</c> / <c>COMMIT</c> / <c>ROLLBACK</c>.</summary>
    internal enum Control
    {
        None,
        Begin,
        Commit,
        Rollback,
    }

    /// <summary>Runs <paramref name="sql"/> and writes <c>{"results":[…]}</c>; throws <see cref="SqlBatchException"/> after rolling back.</summary>
    public static void Execute(SqliteConnection connection, string sql, Utf8JsonWriter writer, long maxResponseBytes = long.MaxValue)
    {
        List<string> statements = SqlScript.Split(sql);
        if (statements.Count == 0)
        {
            throw new SqlBatchException("The request holds no SQL statement.", 0, null);
        }

        Run(connection, "BEGIN");
        bool userTransaction = false;
        int number = 0;
        try
        {
            writer.WriteStartObject();
            writer.WriteStartArray("results");
            foreach (string statement in statements)
            {
                number++;
                writer.WriteStartObject();
                switch (Classify(statement))
                {
                    case Control.Begin:
                        writer.WriteString("command", "BEGIN");
                        if (userTransaction)
                        {
                            writer.WriteString("notice", "there is already a transaction in progress");
                        }
                        else
                        {
                            Run(connection, "SAVEPOINT " + UserSavepoint);
                            userTransaction = true;
                        }

                        break;
                    case Control.Commit:
                        writer.WriteString("command", "COMMIT");
                        if (userTransaction)
                        {
                            Run(connection, "RELEASE " + UserSavepoint);
                            userTransaction = false;
                        }
                        else
                        {
                            writer.WriteString("notice", "there is no transaction in progress");
                        }

                        break;
                    case Control.Rollback:
                        writer.WriteString("command", "ROLLBACK");
                        if (userTransaction)
                        {
                            Run(connection, "ROLLBACK TO " + UserSavepoint);
                            Run(connection, "RELEASE " + UserSavepoint);
                            userTransaction = false;
                        }
                        else
                        {
                            writer.WriteString("notice", "there is no transaction in progress");
                        }

                        break;
                    default:
                        RunStatement(connection, statement, writer, maxResponseBytes);
                        break;
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            if (userTransaction)
            {
                Run(connection, "ROLLBACK TO " + UserSavepoint);
                Run(connection, "RELEASE " + UserSavepoint);
                writer.WriteString("notice", "the transaction left open at the end of the request was rolled back");
            }

            writer.WriteEndObject();
            Run(connection, "COMMIT");
        }
        catch (Exception ex) when (ex is SqliteException or InvalidOperationException or ArgumentException or ResponseTooLargeException)
        {
            RollBack(connection);
            throw new SqlBatchException(ex is SqliteException sqlite ? CleanMessage(sqlite) : ex.Message, number, number > 0 ? statements[number - 1] : null, ex);
        }
    }

    /// <summary>Gets the psql-style command tag of a statement, e.g. <c>INSERT</c>, <c>CREATE TABLE</c>.</summary>
    public static string CommandTag(string statement)
    {
        List<string> words = SqlScript.LeadingWords(statement, 6);
        if (words.Count == 0)
        {
            return "UNKNOWN";
        }

        if (words[0] is "CREATE" or "DROP" or "ALTER")
        {
            string? noun = words.Skip(1).FirstOrDefault(w => w is not ("UNIQUE" or "TEMP" or "TEMPORARY" or "VIRTUAL" or "OR" or "REPLACE"));
            return noun is null ? words[0] : words[0] + " " + noun;
        }

        return words[0];
    }

    /// <summary>Tells the transaction-control statements (<c>BEGIN</c>, <c>COMMIT</c>, <c>ROLLBACK</c> and their synonyms) apart.</summary>
    internal static Control Classify(string statement)
    {
        List<string> words = SqlScript.LeadingWords(statement, 2);
        return words switch
        {
            ["BEGIN", ..] => Control.Begin,
            ["START", "TRANSACTION"] => Control.Begin,
            ["COMMIT", ..] or ["END", ..] => Control.Commit,
            ["ROLLBACK", "TO"] => Control.None,
            ["ROLLBACK", ..] or ["ABORT", ..] => Control.Rollback,
            _ => Control.None,
        };
    }

    private static void RunStatement(SqliteConnection connection, string statement, Utf8JsonWriter writer, long maxResponseBytes)
    {
        using SqliteCommand command = Prepare(connection, statement, out string tag);
        using SqliteDataReader reader = command.ExecuteReader();
        if (reader.FieldCount > 0)
        {
            writer.WriteString("command", tag == "WITH" ? "SELECT" : tag);
            writer.WriteStartArray("rows");
            int rows = RowJson.WriteRows(writer, reader, maxResponseBytes);
            writer.WriteEndArray();

            // For INSERT/UPDATE/DELETE … RETURNING the count is the rows changed; for queries, the rows returned.
            writer.WriteNumber("rowCount", tag is "INSERT" or "UPDATE" or "DELETE" or "REPLACE" ? reader.RecordsAffected : rows);
        }
        else
        {
            writer.WriteString("command", tag);
            if (tag is "INSERT" or "UPDATE" or "DELETE" or "REPLACE")
            {
                writer.WriteNumber("rowCount", reader.RecordsAffected);
            }
        }
    }

    /// <summary>
    /// Creates the command for one (non transaction-control) statement, translated by the dialect shim, and gets its
    /// psql-style tag. The one way both <c>POST /sql</c> and the PostgreSQL protocol listener run a statement.
    /// </summary>
    internal static SqliteCommand Prepare(SqliteConnection connection, string statement, out string tag)
    {
        tag = CommandTag(statement);
        SqliteCommand command = connection.CreateCommand();
        command.CommandText = PostgresDialect.Translate(statement);
        return command;
    }

    /// <summary>Gets SQLite's own message from <c>SQLite Error 1: 'no such table: x'.</c>, i.e. <c>no such table: x</c>.</summary>
    internal static string CleanMessage(SqliteException exception)
    {
        string message = exception.Message;
        int start = message.IndexOf(": '", StringComparison.Ordinal);
        return start >= 0 && message.EndsWith("'.", StringComparison.Ordinal) && message.StartsWith("SQLite Error", StringComparison.Ordinal)
            ? message[(start + 3)..^2]
            : message;
    }

    /// <summary>Runs one statement that returns no rows.</summary>
    internal static void Run(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Rolls the open transaction back, if SQLite has not already done so itself.</summary>
    internal static void RollBack(SqliteConnection connection)
    {
        try
        {
            Run(connection, "ROLLBACK");
        }
        catch (SqliteException)
        {
            // SQLite already rolled the transaction back itself (some errors do); nothing is left to undo.
        }
    }
}
