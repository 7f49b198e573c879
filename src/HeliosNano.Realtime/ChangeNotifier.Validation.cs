using System.Text.Json;

namespace HeliosNano.Realtime;

public sealed partial class ChangeNotifier
{
    private void CheckOwnTable(ChangeTable table)
    {
        // Each notifier has its own registry, so one reference compare proves the handle is ours (no hashed look-up).
        if (!table.BelongsTo(_registry))
        {
            throw new ArgumentException("The table handle belongs to another notifier; get it from this notifier's GetTable.", nameof(table));
        }
    }

    /// <summary>The checks a change from the shared log gets before <see cref="SequencedChangeWriter"/> publishes it.</summary>
    internal void CheckSequencedChange(ChangeTable table, ChangeKind kind, int recordLength, int oldRecordLength)
    {
        CheckOwnTable(table);
        CheckKind(kind);
        CheckImages(kind, recordLength, oldRecordLength);
    }

    private static void CheckKind(ChangeKind kind)
    {
        if (kind is not (ChangeKind.Insert or ChangeKind.Update or ChangeKind.Delete))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "The kind must be Insert, Update or Delete.");
        }
    }

    private static void CheckImages(ChangeKind kind, int recordLength, int oldRecordLength)
    {
        string? error = kind switch
        {
            ChangeKind.Insert when recordLength == 0 => "An INSERT needs the after image (record).",
            ChangeKind.Insert when oldRecordLength != 0 => "An INSERT has no before image (old record).",
            ChangeKind.Update when recordLength == 0 => "An UPDATE needs the after image (record).",
            ChangeKind.Delete when oldRecordLength == 0 => "A DELETE needs the before image (old record).",
            ChangeKind.Delete when recordLength != 0 => "A DELETE has no after image (record).",
            _ => null,
        };
        if (error is not null)
        {
            throw new ArgumentException(error, kind == ChangeKind.Delete ? "oldRecord" : "record");
        }
    }

    private static void CheckJsonObject(ReadOnlySpan<byte> json, string paramName)
    {
        if (json.IsEmpty)
        {
            return;
        }

        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new ArgumentException("The image must be one JSON object.", paramName);
            }

            reader.Skip();
            if (reader.Read())
            {
                throw new ArgumentException("The image must be exactly one JSON object, with nothing after it.", paramName);
            }
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"The image is not valid JSON: {ex.Message}", paramName, ex);
        }
    }
}
