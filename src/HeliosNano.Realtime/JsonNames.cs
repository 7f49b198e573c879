using System.Text.Json;

namespace HeliosNano.Realtime;

/// <summary>Property names of the change JSON, encoded once.</summary>
internal static class JsonNames
{
    public static readonly JsonEncodedText Name = JsonEncodedText.Encode("name");
    public static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    public static readonly JsonEncodedText Schema = JsonEncodedText.Encode("schema");
    public static readonly JsonEncodedText Table = JsonEncodedText.Encode("table");
    public static readonly JsonEncodedText CommitTimestamp = JsonEncodedText.Encode("commit_timestamp");
    public static readonly JsonEncodedText Columns = JsonEncodedText.Encode("columns");
    public static readonly JsonEncodedText Errors = JsonEncodedText.Encode("errors");
    public static readonly JsonEncodedText Record = JsonEncodedText.Encode("record");
    public static readonly JsonEncodedText OldRecord = JsonEncodedText.Encode("old_record");
    public static readonly JsonEncodedText Insert = JsonEncodedText.Encode("INSERT");
    public static readonly JsonEncodedText Update = JsonEncodedText.Encode("UPDATE");
    public static readonly JsonEncodedText Delete = JsonEncodedText.Encode("DELETE");

    public static JsonEncodedText ForKind(ChangeKind kind) => kind switch
    {
        ChangeKind.Insert => Insert,
        ChangeKind.Update => Update,
        _ => Delete,
    };
}
