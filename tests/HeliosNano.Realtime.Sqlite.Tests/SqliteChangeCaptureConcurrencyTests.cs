using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sqlite.Tests;

public class SqliteChangeCaptureConcurrencyTests
{
    private const int Connections = 4;
    private const int RowsPerConnection = 250;

    [Test]
    [CancelAfter(60_000)]
    public async Task ManyConnections_WritingConcurrently_EveryChangeArrivesOnceInPerConnectionOrder(CancellationToken cancellationToken)
    {
        string directory = Directory.CreateTempSubdirectory("helios-sqlite-").FullName;
        string connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(directory, "shared.db"),
            Pooling = false,
            DefaultTimeout = 60, // busy timeout while the other writers hold the write lock
        }.ToString();
        try
        {
            using var notifier = new ChangeNotifier(new ChangeNotifierOptions { Capacity = 4096 });
            using (var setup = new SqliteConnection(connectionString))
            {
                setup.Open();
                using SqliteCommand command = setup.CreateCommand();
                command.CommandText = "PRAGMA journal_mode = WAL; CREATE TABLE events (writer INTEGER, n INTEGER, PRIMARY KEY (writer, n))";
                command.ExecuteNonQuery();
            }

            using ChangeReader reader = notifier.Subscribe(ChangeFilter.For("public", "events"));
            var captures = new SqliteChangeCapture[Connections];
            Task[] writers = Enumerable.Range(0, Connections).Select(writer => Task.Run(() =>
            {
                using var connection = new SqliteConnection(connectionString);
                connection.Open();
                using SqliteChangeCapture capture = connection.CaptureChanges(notifier);
                captures[writer] = capture;
                using SqliteCommand insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO events VALUES ($writer, $n)";
                SqliteParameter n = insert.Parameters.Add("$n", SqliteType.Integer);
                insert.Parameters.AddWithValue("$writer", writer);
                for (int i = 0; i < RowsPerConnection; i++)
                {
                    if (i % 10 == 0)
                    {
                        // a mix of autocommit statements and explicit transactions of ten rows
                        using SqliteTransaction transaction = connection.BeginTransaction();
                        insert.Transaction = transaction;
                        for (int j = i; j < i + 10; j++)
                        {
                            n.Value = j;
                            insert.ExecuteNonQuery();
                        }

                        transaction.Commit();
                        insert.Transaction = null;
                        i += 9;
                    }
                    else
                    {
                        n.Value = i;
                        insert.ExecuteNonQuery();
                    }
                }
            }, cancellationToken)).ToArray();

            var seen = new List<(int Writer, int N)>();
            await foreach (ChangeEvent change in reader.ReadAllAsync(cancellationToken))
            {
                using var record = change.ParseRecord()!;
                seen.Add((record.RootElement.GetProperty("writer").GetInt32(), record.RootElement.GetProperty("n").GetInt32()));
                if (seen.Count == Connections * RowsPerConnection)
                {
                    break;
                }
            }

            await Task.WhenAll(writers);
            using (Assert.EnterMultipleScope())
            {
                Assert.That(reader.Missed, Is.Zero);
                Assert.That(seen.Distinct().Count(), Is.EqualTo(Connections * RowsPerConnection), "every change exactly once");
                for (int writer = 0; writer < Connections; writer++)
                {
                    Assert.That(seen.Where(s => s.Writer == writer).Select(s => s.N), Is.EqualTo(Enumerable.Range(0, RowsPerConnection)), $"writer {writer} in order");
                    Assert.That(captures[writer].ChangesPublished, Is.EqualTo(RowsPerConnection));
                    Assert.That(captures[writer].Errors, Is.Zero);
                }

                Assert.That(reader.TryRead(out _), Is.False, "nothing more than what was written");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
