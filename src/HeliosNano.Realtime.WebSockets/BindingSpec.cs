using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// One requested binding of a join: the client's JSON (echoed verbatim in the reply, plus <c>id</c>), and either the
/// binding it sets up or why it could not be set up.
/// </summary>
internal sealed class BindingSpec
{
    private readonly JsonElement _element;

    private BindingSpec(JsonElement element, int id, PostgresBinding? binding, string? error)
    {
        _element = element;
        Id = id;
        Binding = binding;
        Error = error;
    }

    public int Id { get; }

    public PostgresBinding? Binding { get; }

    public string? Error { get; }

    /// <summary>Reads one element of <c>config.postgres_changes</c>: <c>{event, schema?, table?, filter?}</c>.</summary>
    public static BindingSpec FromElement(JsonElement element, RealtimeWebSocketOptions? limits = null)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return new BindingSpec(element, 0, null, "Error parsing `postgres_changes` params: each binding must be an object");
        }

        if (!TryGetString(element, "event", out string? eventName)
            || !TryGetString(element, "schema", out string? schema)
            || !TryGetString(element, "table", out string? table)
            || !TryGetString(element, "filter", out string? filter))
        {
            return new BindingSpec(element, 0, null, "Error parsing `postgres_changes` params: event, schema, table and filter must be strings");
        }

        int id = PostgresBinding.ComputeId(eventName, schema, table, filter);
        return Create(element, id, eventName ?? "*", schema, table, filter, limits);
    }

    /// <summary>
    /// Derives the binding of a join without <c>config</c> from its topic name (after <c>realtime:</c>):
    /// <c>*</c> = every table; <c>schema:table[:filter]</c>; one segment = a table (the tutorial's rightmost-segment
    /// rule), or a schema when the notifier knows a schema but no table of that name.
    /// </summary>
    public static BindingSpec FromTopic(string name, ChangeNotifier notifier, RealtimeWebSocketOptions? limits = null)
    {
        string schema;
        string table;
        string? filter = null;
        if (name == TableFilter.Wildcard)
        {
            schema = TableFilter.Wildcard;
            table = TableFilter.Wildcard;
        }
        else
        {
            string[] parts = name.Split(':', 3);
            if (parts.Length == 1)
            {
                bool isTable = notifier.Tables.Any(t => string.Equals(t.Name, name, StringComparison.Ordinal));
                bool isSchema = !isTable && notifier.Tables.Any(t => string.Equals(t.Schema, name, StringComparison.Ordinal));
                schema = isSchema ? name : TableFilter.Wildcard;
                table = isSchema ? TableFilter.Wildcard : name;
            }
            else
            {
                schema = parts[0].Length == 0 ? TableFilter.Wildcard : parts[0];
                table = parts[1].Length == 0 ? TableFilter.Wildcard : parts[1];
                filter = parts.Length == 3 ? parts[2] : null;
            }
        }

        int id = PostgresBinding.ComputeId("*", schema, table, filter);
        return Create(default, id, "*", schema, table, filter, limits);
    }

    /// <summary>Writes the client's binding verbatim, in its own key order, plus <c>"id"</c>.</summary>
    public void WriteEcho(Utf8JsonWriter writer)
    {
        if (_element.ValueKind != JsonValueKind.Object)
        {
            if (_element.ValueKind == JsonValueKind.Undefined)
            {
                writer.WriteNullValue();
            }
            else
            {
                _element.WriteTo(writer);
            }

            return;
        }

        writer.WriteStartObject();
        foreach (JsonProperty property in _element.EnumerateObject())
        {
            if (!property.NameEquals("id"u8))
            {
                property.WriteTo(writer);
            }
        }

        writer.WriteNumber("id"u8, Id);
        writer.WriteEndObject();
    }

    private static BindingSpec Create(JsonElement element, int id, string eventName, string? schema, string? table, string? filterText, RealtimeWebSocketOptions? limits)
    {
        // Supabase's defaults: no table (or *) = every table; a table without a schema is in public.
        string effectiveTable = string.IsNullOrEmpty(table) ? TableFilter.Wildcard : table;
        string effectiveSchema = string.IsNullOrEmpty(schema)
            ? (effectiveTable == TableFilter.Wildcard ? TableFilter.Wildcard : "public")
            : schema;
        RowFilter? filter;
        try
        {
            filter = RowFilter.Parse(filterText, limits?.MaxFilterLength ?? int.MaxValue, limits?.MaxFilterConditions ?? int.MaxValue);
        }
        catch (FormatException e)
        {
            return new BindingSpec(element, id, null, $"Error parsing `filter` params: {e.Message}");
        }

        return new BindingSpec(element, id, new PostgresBinding(id, eventName, effectiveSchema, effectiveTable, filterText, filter), null);
    }

    private static bool TryGetString(JsonElement element, string name, out string? value)
    {
        value = null;
        if (!element.TryGetProperty(name, out JsonElement property) || property.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (property.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        value = property.GetString();
        return true;
    }
}
