using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sqlite.Tests;

/// <summary>
/// The review's check: replays published changes onto an empty model of a table (INSERT adds the new image, UPDATE
/// removes the old image and adds the new one, DELETE removes the old image) and reads the real rows to compare with.
/// </summary>
/// <remarks>
/// Rows are compared as canonical strings (<c>column=value;…</c>): numbers in round-trip form, text as is, blobs in the
/// capture's <c>\x</c> hex form, NULL as <c>NULL</c>; so it suits tables of INTEGER, REAL, TEXT and BLOB columns.
/// </remarks>
internal static class ChangeReplay
{
    /// <summary>The rows the changes of <paramref name="table"/> add up to, sorted.</summary>
    public static List<string> Model(IEnumerable<ChangeEvent> changes, string table)
    {
        var model = new List<string>();
        foreach (ChangeEvent change in changes.Where(c => c.Table == table))
        {
            if (change.Kind != ChangeKind.Insert)
            {
                string old = Canonical(change.ParseOldRecord()!.RootElement);
                if (!model.Remove(old))
                {
                    model.Add("REMOVED BUT NEVER ADDED: " + old);
                }
            }

            if (change.Kind != ChangeKind.Delete)
            {
                model.Add(Canonical(change.ParseRecord()!.RootElement));
            }
        }

        model.Sort(StringComparer.Ordinal);
        return model;
    }

    /// <summary>The rows of <paramref name="table"/> as <c>SELECT *</c> reads them, sorted.</summary>
    public static List<string> Table(SqliteConnection connection, string table)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM \"{table}\"";
        using SqliteDataReader reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            var columns = new List<string>();
            for (int i = 0; i < reader.FieldCount; i++)
            {
                object value = reader.GetValue(i);
                string text = value switch
                {
                    DBNull => "NULL",
                    long integer => ((double)integer).ToString("R", CultureInfo.InvariantCulture),
                    double real => real.ToString("R", CultureInfo.InvariantCulture),
                    byte[] blob => "\\x" + Convert.ToHexStringLower(blob),
                    _ => Convert.ToString(value, CultureInfo.InvariantCulture)!,
                };
                columns.Add($"{reader.GetName(i)}={text}");
            }

            rows.Add(string.Join(";", columns));
        }

        rows.Sort(StringComparer.Ordinal);
        return rows;
    }

    private static string Canonical(JsonElement row) => string.Join(";", row.EnumerateObject().Select(p => $"{p.Name}={Value(p.Value)}"));

    private static string Value(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => "NULL",
        JsonValueKind.Number => value.GetDouble().ToString("R", CultureInfo.InvariantCulture),
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.True => "1",
        JsonValueKind.False => "0",
        _ => value.GetRawText(),
    };
}
