using System.Buffers;
using System.Globalization;
using System.Text.Json;
using HeliosNano.Realtime.Sample.Sql;
using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sample.Rest;

/// <summary>
/// PostgREST-style <c>GET/HEAD/POST/PATCH/DELETE /rest/v1/{table}</c>, enough for supabase-js <c>from(t).select()</c>,
/// <c>.insert()</c>, <c>.upsert()</c>, <c>.update().eq()</c>, <c>.delete().eq()</c> and <c>.single()</c>.
/// </summary>
/// <remarks>
/// Each request runs in one transaction on the shared connection, so a bulk insert is all-or-nothing and its changes
/// are published together after the commit. Honoured headers: <c>Prefer: return=representation|minimal</c>,
/// <c>count=exact</c>, <c>resolution=merge-duplicates|ignore-duplicates</c>, and
/// <c>Accept: application/vnd.pgrst.object+json</c> (a single object).
/// </remarks>
internal static class RestEndpoints
{
    private const string SingleObjectMediaType = "application/vnd.pgrst.object+json";

    /// <summary>Maps the <c>/rest/v1/{table}</c> endpoints.</summary>
    public static IEndpointRouteBuilder MapRestEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods("/rest/v1/{table}", ["GET", "HEAD", "POST", "PATCH", "DELETE"], HandleAsync).WithDisplayName("PostgREST-style table access");
        return endpoints;
    }

    private static async Task HandleAsync(HttpContext context, string table, SampleDatabase database)
    {
        HttpRequest request = context.Request;
        Preferences prefer = Preferences.Parse(request.Headers["Prefer"]);
        bool single = request.Headers.Accept.ToString().Contains(SingleObjectMediaType, StringComparison.OrdinalIgnoreCase);
        JsonDocument? body = null;
        try
        {
            if (request.Method is "POST" or "PATCH")
            {
                try
                {
                    body = await JsonDocument.ParseAsync(request.Body, cancellationToken: context.RequestAborted);
                }
                catch (JsonException ex)
                {
                    throw new RestException(400, "PGRST102", "Empty or invalid json", ex.Message);
                }

                if (!JsonStrings.AreReadable(body.RootElement))
                {
                    throw new RestException(400, "PGRST102", "Empty or invalid json", "A string holds an unpaired UTF-16 surrogate escape.");
                }
            }

            Auth.SamplePolicies? policies = context.RequestServices.GetService<Auth.SamplePolicies>();
            if (policies is not null && request.Method is not ("GET" or "HEAD") && policies.HasPolicies(table) && !Auth.SamplePolicies.IsServiceRole(context.User))
            {
                // Only SELECT policies exist here: writes to a table under row-level security need the service role.
                throw new RestException(403, "42501", $"new row violates row-level security policy for table \"{table}\"");
            }

            RestResponse response = await database.RunAsync(
                connection => Execute(connection, request, table, body?.RootElement, prefer, single, database.MaxResponseBytes, policies, context.User),
                context.RequestAborted);
            await WriteAsync(context, response, prefer, single);
        }
        catch (RestException ex)
        {
            await WriteErrorAsync(context, ex);
        }
        catch (SqlTimeoutException ex)
        {
            // PostgREST answers a PostgreSQL statement timeout with 500 and its SQLSTATE.
            await WriteErrorAsync(context, new RestException(500, "57014", ex.Message, innerException: ex));
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            await WriteErrorAsync(context, new RestException(503, "PGRST000", "The server is stopping; the request was rolled back."));
        }
        finally
        {
            body?.Dispose();
        }
    }

    private static RestResponse Execute(SqliteConnection connection, HttpRequest request, string tableName, JsonElement? body, Preferences prefer, bool single, long maxBytes, Auth.SamplePolicies? policies, System.Security.Claims.ClaimsPrincipal user)
    {
        TableInfo table = TableCatalog.FindTable(connection, tableName)
            ?? throw new RestException(404, "PGRST205", $"Could not find the table 'public.{tableName}' in the schema cache");
        PostgrestQuery query = PostgrestQuery.Parse(request.Query, table);
        if (policies?.ReadCondition(table.Name, user, query.AddParameter) is { } condition)
        {
            // Row-level security: the reader's policies are one more condition, as PostgreSQL adds them to the plan.
            query.AddCondition(condition);
        }

        var buffer = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer, RowJson.WriterOptions);
        writer.WriteStartArray();
        int rows;
        long? total = null;

        SqlBatch.Run(connection, "BEGIN");
        try
        {
            switch (request.Method)
            {
                case "GET" or "HEAD":
                    rows = Select(connection, query, writer, maxBytes);
                    if (prefer.Count)
                    {
                        total = Count(connection, query);
                    }

                    break;
                case "POST":
                    rows = Insert(connection, query, body!.Value, prefer, writer, maxBytes);
                    break;
                case "PATCH":
                    rows = Update(connection, query, body!.Value, prefer, writer, maxBytes);
                    break;
                default:
                    rows = Delete(connection, query, prefer, writer, maxBytes);
                    break;
            }

            // .single() is checked before the commit: a 406 must mean nothing was changed and nothing was published
            // (PostgREST aborts the transaction too), whatever return= says.
            if (single && rows != 1)
            {
                throw new RestException(406, "PGRST116", "JSON object requested, multiple (or no) rows returned",
                    $"The result contains {rows} rows");
            }

            SqlBatch.Run(connection, "COMMIT");
        }
        catch (ResponseTooLargeException ex)
        {
            SqlBatch.RollBack(connection);

            // PostgreSQL's SQLSTATE for a limit the query ran into (program_limit_exceeded), as PostgREST would pass it on.
            throw new RestException(400, "54000", ex.Message, hint: "Add limit= or select fewer columns.", innerException: ex);
        }
        catch (SqliteException ex)
        {
            SqlBatch.RollBack(connection);
            bool conflict = ex.SqliteErrorCode == 19 && (ex.Message.Contains("UNIQUE", StringComparison.Ordinal) || ex.Message.Contains("PRIMARY KEY", StringComparison.Ordinal));
            throw new RestException(conflict ? 409 : 400, conflict ? "23505" : "SQLITE" + ex.SqliteErrorCode.ToString(CultureInfo.InvariantCulture), TrimMessage(ex), innerException: ex);
        }
        catch
        {
            SqlBatch.RollBack(connection);
            throw;
        }

        writer.WriteEndArray();
        writer.Flush();
        return new RestResponse(request.Method, buffer.WrittenMemory, rows, query.Offset, total);
    }

    private static int Select(SqliteConnection connection, PostgrestQuery query, Utf8JsonWriter writer, long maxBytes)
    {
        using SqliteCommand command = connection.CreateCommand();
        string sql = $"SELECT {query.SelectList} FROM {query.Table.QuotedName}{query.WhereClause}{query.OrderClause}";
        if (query.Limit is not null || query.Offset > 0)
        {
            sql += $" LIMIT {query.Limit ?? -1} OFFSET {query.Offset}";
        }

        command.CommandText = sql;
        query.Bind(command);
        using SqliteDataReader reader = command.ExecuteReader();
        return RowJson.WriteRows(writer, reader, maxBytes);
    }

    private static long Count(SqliteConnection connection, PostgrestQuery query)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {query.Table.QuotedName}{query.WhereClause}";
        query.Bind(command);
        return (long)command.ExecuteScalar()!;
    }

    private static int Insert(SqliteConnection connection, PostgrestQuery query, JsonElement body, Preferences prefer, Utf8JsonWriter writer, long maxBytes)
    {
        IEnumerable<JsonElement> objects = body.ValueKind switch
        {
            JsonValueKind.Object => [body],
            JsonValueKind.Array => body.EnumerateArray(),
            _ => throw new RestException(400, "PGRST102", "The body must be a JSON object or an array of objects."),
        };

        int count = 0;
        foreach (JsonElement row in objects)
        {
            if (row.ValueKind != JsonValueKind.Object)
            {
                throw new RestException(400, "PGRST102", "Every element of the body array must be a JSON object.");
            }

            var columns = new List<string>();
            var values = new List<string>();
            using SqliteCommand command = connection.CreateCommand();
            int index = 0;
            foreach (JsonProperty property in row.EnumerateObject())
            {
                TableColumn column = query.Column(property.Name);
                string parameter = "$v" + index++.ToString(CultureInfo.InvariantCulture);
                columns.Add(TableInfo.Quote(column.Name));
                values.Add(parameter);
                command.Parameters.AddWithValue(parameter, PostgrestQuery.ToDatabaseValue(property.Value, column));
            }

            string sql = columns.Count == 0
                ? $"INSERT INTO {query.Table.QuotedName} DEFAULT VALUES"
                : $"INSERT INTO {query.Table.QuotedName} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", values)})";
            if (prefer.Resolution is not null && columns.Count > 0)
            {
                IReadOnlyList<string> target = query.OnConflict
                    ?? query.Table.Columns.Where(c => c.PrimaryKeyOrdinal > 0).OrderBy(c => c.PrimaryKeyOrdinal).Select(c => TableInfo.Quote(c.Name)).ToList();
                string conflict = target.Count == 0 ? " ON CONFLICT" : $" ON CONFLICT ({string.Join(", ", target)})";
                List<string> updates = columns.Where(c => !target.Contains(c, StringComparer.OrdinalIgnoreCase)).Select(c => $"{c} = excluded.{c}").ToList();
                sql += prefer.Resolution == "merge-duplicates" && updates.Count > 0 && target.Count > 0
                    ? $"{conflict} DO UPDATE SET {string.Join(", ", updates)}"
                    : $"{conflict} DO NOTHING";
            }

            count += Execute(command, sql + Returning(query, prefer), writer, maxBytes);
        }

        return count;
    }

    private static int Update(SqliteConnection connection, PostgrestQuery query, JsonElement body, Preferences prefer, Utf8JsonWriter writer, long maxBytes)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw new RestException(400, "PGRST102", "The body of an update must be a JSON object.");
        }

        var assignments = new List<string>();
        foreach (JsonProperty property in body.EnumerateObject())
        {
            TableColumn column = query.Column(property.Name);
            assignments.Add($"{TableInfo.Quote(column.Name)} = {query.AddParameter(PostgrestQuery.ToDatabaseValue(property.Value, column))}");
        }

        if (assignments.Count == 0)
        {
            return 0;
        }

        using SqliteCommand command = connection.CreateCommand();
        query.Bind(command);
        return Execute(command, $"UPDATE {query.Table.QuotedName} SET {string.Join(", ", assignments)}{query.WhereClause}{Returning(query, prefer)}", writer, maxBytes);
    }

    private static int Delete(SqliteConnection connection, PostgrestQuery query, Preferences prefer, Utf8JsonWriter writer, long maxBytes)
    {
        using SqliteCommand command = connection.CreateCommand();
        query.Bind(command);
        return Execute(command, $"DELETE FROM {query.Table.QuotedName}{query.WhereClause}{Returning(query, prefer)}", writer, maxBytes);
    }

    private static string Returning(PostgrestQuery query, Preferences prefer) =>
        prefer.Return == "representation" ? " RETURNING " + query.SelectList : string.Empty;

    private static int Execute(SqliteCommand command, string sql, Utf8JsonWriter writer, long maxBytes)
    {
        command.CommandText = sql;
        using SqliteDataReader reader = command.ExecuteReader();
        if (reader.FieldCount > 0)
        {
            RowJson.WriteRows(writer, reader, maxBytes);
        }

        // For RETURNING statements RecordsAffected is final only once all rows were read.
        return reader.RecordsAffected;
    }

    private static async Task WriteAsync(HttpContext context, RestResponse result, Preferences prefer, bool single)
    {
        HttpResponse response = context.Response;
        string first = result.Rows == 0 ? "*" : $"{result.Offset}-{result.Offset + result.Rows - 1}";
        response.Headers["Content-Range"] = $"{first}/{(result.Total is long total ? total.ToString(CultureInfo.InvariantCulture) : "*")}";
        if (prefer.Applied.Count > 0)
        {
            response.Headers["Preference-Applied"] = string.Join(", ", prefer.Applied);
        }

        bool representation = result.Method is "GET" or "HEAD" || prefer.Return == "representation";
        if (!representation)
        {
            response.StatusCode = result.Method == "POST" ? StatusCodes.Status201Created : StatusCodes.Status204NoContent;
            return;
        }

        response.StatusCode = result.Method == "POST" ? StatusCodes.Status201Created : StatusCodes.Status200OK;
        if (result.Method == "HEAD")
        {
            // supabase-js select(…, { head: true, count: 'exact' }): the count is in Content-Range, there is no body.
            response.ContentType = "application/json; charset=utf-8";
            return;
        }

        if (!single)
        {
            response.ContentType = "application/json; charset=utf-8";
            await response.Body.WriteAsync(result.Json, context.RequestAborted);
            return;
        }

        if (result.Rows != 1)
        {
            throw new RestException(406, "PGRST116", "JSON object requested, multiple (or no) rows returned",
                $"The result contains {result.Rows} rows");
        }

        // The one object inside the array: "[{…}]" without its brackets.
        response.ContentType = SingleObjectMediaType + "; charset=utf-8";
        await response.Body.WriteAsync(result.Json[1..^1], context.RequestAborted);
    }

    private static async Task WriteErrorAsync(HttpContext context, RestException error)
    {
        context.Response.StatusCode = error.StatusCode;
        context.Response.ContentType = "application/json; charset=utf-8";
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, RowJson.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("code", error.Code);
            writer.WriteString("details", error.Details);
            writer.WriteString("hint", error.Hint);
            writer.WriteString("message", error.Message);
            writer.WriteEndObject();
        }

        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private static string TrimMessage(SqliteException ex) => SqlBatch.CleanMessage(ex);

    private sealed record RestResponse(string Method, ReadOnlyMemory<byte> Json, int Rows, long Offset, long? Total);

    private sealed class Preferences
    {
        public string? Return { get; private set; }

        public string? Resolution { get; private set; }

        public bool Count { get; private set; }

        public List<string> Applied { get; } = [];

        public static Preferences Parse(Microsoft.Extensions.Primitives.StringValues headers)
        {
            var result = new Preferences();
            foreach (string? header in headers)
            {
                foreach (string token in (header ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    switch (token)
                    {
                        case "return=representation" or "return=minimal" or "return=headers-only":
                            result.Return = token["return=".Length..];
                            result.Applied.Add(token);
                            break;
                        case "resolution=merge-duplicates" or "resolution=ignore-duplicates":
                            result.Resolution = token["resolution=".Length..];
                            result.Applied.Add(token);
                            break;
                        case "count=exact" or "count=planned" or "count=estimated":
                            result.Count = true;
                            result.Applied.Add(token);
                            break;
                        default:
                            break;
                    }
                }
            }

            return result;
        }
    }
}
