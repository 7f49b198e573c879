// The in-process use of HeliosNano.Realtime: an app embeds SQLite, captures its committed changes into the notifier,
// and reads them back with `await foreach` — no server, no socket.
using System.Text;
using HeliosNano.Realtime;
using HeliosNano.Realtime.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

// 1. The notifier, registered the way a host registers it.
await using ServiceProvider services = new ServiceCollection().AddHeliosRealtime().BuildServiceProvider();
ChangeNotifier notifier = services.GetRequiredService<ChangeNotifier>();

// 2. An in-memory database whose committed INSERT/UPDATE/DELETE go to the notifier.
using var connection = new SqliteConnection("Data Source=:memory:");
connection.Open();
using SqliteChangeCapture capture = connection.CaptureChanges(notifier);

// 3. Subscribe before writing (Subscribe is live when it returns), then consume with await foreach.
using ChangeReader reader = notifier.Subscribe(ChangeFilter.For("public", "orders"));
Task printer = Task.Run(async () =>
{
    await foreach (ChangeEvent change in reader.ReadAllAsync())
    {
        string record = change.HasRecord ? Encoding.UTF8.GetString(change.Record.Span) : "null";
        string oldRecord = change.HasOldRecord ? Encoding.UTF8.GetString(change.OldRecord.Span) : "null";
        Console.WriteLine($"#{change.Sequence} {change.Kind,-6} {change.Schema}.{change.Table}  record={record}  old_record={oldRecord}");
    }
});

// 4. Write. Each change is published once its statement's transaction has committed.
Execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total NUMERIC(10, 2), status TEXT DEFAULT 'pending', paid BOOLEAN DEFAULT 0)");
Execute("INSERT INTO orders (customer, total) VALUES ('Alice', 49.99), ('Bob', 12.50)");
Execute("UPDATE orders SET status = 'paid', paid = 1 WHERE id = 1");
Execute("BEGIN; DELETE FROM orders WHERE id = 2; ROLLBACK");   // rolled back: never published
Execute("DELETE FROM orders WHERE id = 1");

// 5. Done writing: completing the notifier ends the await foreach once everything published has been read.
notifier.Complete();
await printer;
Console.WriteLine($"{capture.ChangesPublished} changes published, {capture.TransactionsRolledBack} transaction rolled back.");

void Execute(string sql)
{
    using SqliteCommand command = connection.CreateCommand();
    command.CommandText = sql;
    command.ExecuteNonQuery();
}
