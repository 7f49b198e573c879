#:package Npgsql
#:property PublishAot=false
// Single-row INSERTs per second through Npgsql (the extended query protocol: Parse/Bind/Describe/Execute/Sync per
// statement, binary parameters), over N connections, each running `count` statements in turn.
// Usage: dotnet run benchmarks/pg/npgsql_inserts.cs -- <host> <port> <connections> <count> <unprepared|prepared>
using System.Diagnostics;
using System.Globalization;
using Npgsql;

string host = args[0];
int port = int.Parse(args[1], CultureInfo.InvariantCulture);
int connections = int.Parse(args[2], CultureInfo.InvariantCulture);
int count = int.Parse(args[3], CultureInfo.InvariantCulture);
bool prepared = args[4] == "prepared";

// The sample has no pg_type to load types from; the setting costs a real PostgreSQL nothing either.
string connectionString = $"Host={host};Port={port};Username=postgres;Password=s3cret;Database=postgres;Server Compatibility Mode=NoTypeLoading;Maximum Pool Size={connections}";
await using NpgsqlDataSource source = NpgsqlDataSource.Create(connectionString);
var open = new List<NpgsqlConnection>();
for (int i = 0; i < connections; i++)
{
    open.Add(await source.OpenConnectionAsync());
}

// A warm-up round first (not timed): a short run would otherwise measure the client's JIT more than the server.
await RunAsync(count / 5);
var clock = Stopwatch.StartNew();
await RunAsync(count);
clock.Stop();
foreach (NpgsqlConnection connection in open)
{
    await connection.DisposeAsync();
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"clients={connections}  npgsql {(prepared ? "prepared" : "unprepared")}: {connections * count / clock.Elapsed.TotalSeconds:F0} statements/s"));

Task RunAsync(int statements) => Task.WhenAll(open.Select(connection => Task.Run(async () =>
{
    await using var insert = new NpgsqlCommand("INSERT INTO bench (v) VALUES ($1)", connection);
    var value = new NpgsqlParameter<string> { TypedValue = "row" };
    insert.Parameters.Add(value);
    if (prepared)
    {
        await insert.PrepareAsync();
    }

    for (int i = 0; i < statements; i++)
    {
        await insert.ExecuteNonQueryAsync();
    }
})));
