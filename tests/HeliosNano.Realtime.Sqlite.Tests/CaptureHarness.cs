using System.Text;
using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sqlite.Tests;

/// <summary>A notifier, an open in-memory connection with a capture, and a reader of every change.</summary>
internal sealed class CaptureHarness : IDisposable
{
    public CaptureHarness(ChangeFilter? filter = null, string connectionString = "Data Source=:memory:")
    {
        Notifier = new ChangeNotifier(new ChangeNotifierOptions { Capacity = 4096 });
        Connection = new SqliteConnection(connectionString);
        Connection.Open();
        Capture = Connection.CaptureChanges(Notifier);
        Reader = Notifier.Subscribe(filter ?? ChangeFilter.All);
    }

    public ChangeNotifier Notifier { get; }

    public SqliteConnection Connection { get; }

    public SqliteChangeCapture Capture { get; }

    public ChangeReader Reader { get; }

    public int Execute(string sql)
    {
        using SqliteCommand command = Connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    /// <summary>Reads what is published so far: the capture publishes before the statement returns, so no wait is needed.</summary>
    public List<ChangeEvent> Drain()
    {
        var changes = new List<ChangeEvent>();
        while (Reader.TryRead(out ChangeEvent? change))
        {
            changes.Add(change);
        }

        return changes;
    }

    public static string Record(ChangeEvent change) => Encoding.UTF8.GetString(change.Record.Span);

    public static string OldRecord(ChangeEvent change) => Encoding.UTF8.GetString(change.OldRecord.Span);

    public void Dispose()
    {
        Reader.Dispose();
        Capture.Dispose();
        Connection.Dispose();
        Notifier.Dispose();
    }
}
