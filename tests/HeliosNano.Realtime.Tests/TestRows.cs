using System.Text;
using System.Text.Json;

namespace HeliosNano.Realtime.Tests;

/// <summary>Helpers that build rows and notifiers for the tests.</summary>
internal static class TestRows
{
    public static readonly byte[] Row = Encoding.UTF8.GetBytes("""{"id":1,"customer":"Alice"}""");

    public static ChangeNotifier CreateNotifier(int capacity = 1024, TimeProvider? timeProvider = null) =>
        new(new ChangeNotifierOptions { Capacity = capacity }, timeProvider: timeProvider);

    public static byte[] RowWithId(long id) => Encoding.UTF8.GetBytes($$"""{"id":{{id}}}""");

    public static long Insert(this ChangeNotifier notifier, string table = "orders", long id = 1, string schema = "public") =>
        notifier.Notify(schema, table, ChangeKind.Insert, RowWithId(id), []);

    public static long IdOf(ChangeEvent change)
    {
        using JsonDocument document = JsonDocument.Parse(change.HasRecord ? change.Record : change.OldRecord);
        return document.RootElement.GetProperty("id").GetInt64();
    }

    /// <summary>Reads every change the reader can return now, without waiting.</summary>
    public static List<ChangeEvent> ReadAvailable(ChangeReader reader)
    {
        var changes = new List<ChangeEvent>();
        while (reader.TryRead(out ChangeEvent? change))
        {
            changes.Add(change);
        }

        return changes;
    }
}
