using System.Text;
using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sqlite.Tests;

/// <summary>A notifier, an open in-memory connection with a capture, and a reader of every change.</summary>
internal sealed class CaptureHarness : IDisposable
{
    public CaptureHarness(ChangeFilter? filter = null, string connectionString = "Data Source=:memory:", SqliteChangeCaptureOptions? options = null)
    {
        Notifier = new ChangeNotifier(new ChangeNotifierOptions { Capacity = 4096 });
        Connection = new SqliteConnection(connectionString);
        Connection.Open();
        Capture = Connection.CaptureChanges(Notifier, options);
        Reader = Notifier.Subscribe(filter ?? ChangeFilter.All);
    }

    /// <summary>Every change <see cref="Drain"/> has read so far, for <see cref="AssertReplayMatches"/>.</summary>
    public List<ChangeEvent> Received { get; } = [];

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

        Received.AddRange(changes);
        return changes;
    }

    /// <summary>Replays every change received onto empty tables and checks that each table then holds what SQLite holds.</summary>
    public void AssertReplayMatches(params string[] tables)
    {
        Drain();
        using (Assert.EnterMultipleScope())
        {
            foreach (string table in tables)
            {
                Assert.That(ChangeReplay.Model(Received, table), Is.EqualTo(ChangeReplay.Table(Connection, table)), $"replayed changes of '{table}' against SELECT *");
            }
        }
    }

    /// <summary>Opens a reader; the command stays alive with it (disposing it would finalize the reader's statement).</summary>
    public SqliteDataReader ExecuteReader(string sql)
    {
        SqliteCommand command = Connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteReader();
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
