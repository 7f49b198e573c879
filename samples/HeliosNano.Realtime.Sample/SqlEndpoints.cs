using System.Buffers;
using System.Text;
using System.Text.Json;
using HeliosNano.Realtime.Sample.Sql;

namespace HeliosNano.Realtime.Sample;

/// <summary><c>POST /sql</c>: runs SQL text (or <c>{"query":"…"}</c>) and answers with JSON results.</summary>
internal static class SqlEndpoints
{
    /// <summary>Maps <c>POST /sql</c>.</summary>
    public static IEndpointRouteBuilder MapSqlEndpoint(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/sql", HandleAsync).WithDisplayName("Run SQL");
        return endpoints;
    }

    private static async Task HandleAsync(HttpContext context, SampleDatabase database)
    {
        string body;
        using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync(context.RequestAborted);
        }

        string? sql = ExtractSql(body, out string? bodyError);
        if (sql is null)
        {
            await WriteErrorAsync(context, bodyError!, 0, null);
            return;
        }

        // Microsoft.Data.Sqlite's statement loop never advances past an embedded NUL (sqlite3_prepare leaves the tail
        // where it was) and spins for ever outside SQLite's reach: such text must never get there.
        if (sql.Contains('\0', StringComparison.Ordinal))
        {
            await WriteErrorAsync(context, "The SQL text contains a NUL character (\\u0000), which SQLite cannot run; nothing was executed.", 0, null);
            return;
        }

        // JWT mode: CREATE POLICY / ENABLE ROW LEVEL SECURITY are the sample's own statements (not SQLite's).
        if (context.RequestServices.GetService<Auth.SamplePolicies>() is { } policies && await TryApplyPoliciesAsync(context, policies, sql))
        {
            return;
        }

        var buffer = new ArrayBufferWriter<byte>();
        try
        {
            await database.RunAsync(
                connection =>
                {
                    using var writer = new Utf8JsonWriter(buffer, RowJson.WriterOptions);
                    try
                    {
                        SqlBatch.Execute(connection, sql, writer, database.MaxResponseBytes);
                    }
                    finally
                    {
                        database.RegisterTables(connection);
                    }

                    return true;
                },
                context.RequestAborted);
        }
        catch (SqlBatchException ex)
        {
            await WriteErrorAsync(context, ex.Message, ex.StatementNumber, ex.Statement);
            return;
        }
        catch (SqlTimeoutException ex)
        {
            SqlBatchException? batch = ex.InnerException as SqlBatchException;
            await WriteErrorAsync(context, ex.Message, batch?.StatementNumber ?? 0, batch?.Statement);
            return;
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            await WriteErrorAsync(context, "The server is stopping; the request was rolled back.", 0, null, StatusCodes.Status503ServiceUnavailable);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    /// <summary>Handles a request made only of policy statements; returns <see langword="false"/> when it holds none (ordinary SQL).</summary>
    private static async Task<bool> TryApplyPoliciesAsync(HttpContext context, Auth.SamplePolicies policies, string sql)
    {
        List<string> statements = SqlScript.Split(sql);
        var tags = new List<string>();
        for (int i = 0; i < statements.Count; i++)
        {
            string? tag;
            try
            {
                tag = policies.TryApply(statements[i]);
            }
            catch (FormatException ex)
            {
                await WriteErrorAsync(context, ex.Message, i + 1, statements[i]);
                return true;
            }

            if (tag is null)
            {
                if (tags.Count > 0)
                {
                    await WriteErrorAsync(context, "Send CREATE POLICY and ALTER TABLE … ENABLE ROW LEVEL SECURITY in a request of their own (the policies before this statement were applied).", i + 1, statements[i]);
                    return true;
                }

                return false;
            }

            tags.Add(tag);
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsJsonAsync(new { results = tags.Select(t => new { command = t }) }, context.RequestAborted);
        return true;
    }

    /// <summary>Gets the SQL of a request body: the text itself, or the <c>query</c> of a JSON object.</summary>
    internal static string? ExtractSql(string body, out string? error)
    {
        error = null;
        if (!body.AsSpan().TrimStart().StartsWith("{"))
        {
            return body;
        }

        // SQL never starts with '{', so a body that does is the JSON form whatever its content type.
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.TryGetProperty("query", out JsonElement query) && query.ValueKind == JsonValueKind.String)
            {
                return query.GetString()!;
            }
        }
        catch (JsonException ex)
        {
            error = "The body starts with '{' but is not valid JSON: " + ex.Message;
            return null;
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate ("\ud800") parses, but cannot be read as text.
            error = "The body's \"query\" holds an unpaired UTF-16 surrogate escape.";
            return null;
        }

        error = "A JSON body must be an object with a string property \"query\".";
        return null;
    }

    private static async Task WriteErrorAsync(HttpContext context, string message, int statementNumber, string? statement, int status = StatusCodes.Status400BadRequest)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, RowJson.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("error", message);
            if (statementNumber > 0)
            {
                writer.WriteNumber("statement", statementNumber);
                writer.WriteString("sql", statement);
            }

            writer.WriteEndObject();
        }

        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }
}
