namespace HeliosNano.Realtime.EntityFrameworkCore.Tests;

/// <summary>Per test: a fresh database (SQLite in memory; PostgreSQL: one database per fixture, emptied per test), a notifier and a reader of every change.</summary>
public abstract class ProviderTestBase(Provider provider)
{
    private string? _pgConnectionString;

    protected Provider Provider { get; } = provider;

    internal TestDatabase Db { get; private set; } = null!;

    protected ChangeNotifier Notifier { get; private set; } = null!;

    protected ChangeReader Reader { get; private set; } = null!;

    internal RealtimeCaptureInterceptor Capture => CaptureHub.For(Notifier).GetInterceptor(new RealtimeCaptureOptions());

    [OneTimeSetUp]
    public void CreateDatabase()
    {
        if (Provider == Provider.Postgres)
        {
            Assert.That(PostgresServer.Available, Is.True, PostgresServer.UnavailableReason ?? "the PostgreSQL server did not start");
            _pgConnectionString = PostgresServer.CreateDatabase();
        }
    }

    [SetUp]
    public void SetUpDatabase()
    {
        Db = TestDatabase.Create(Provider, _pgConnectionString);
        Db.Reset();
        Notifier = new ChangeNotifier(new ChangeNotifierOptions { Capacity = 1024 });
        Reader = Notifier.Subscribe();
    }

    [TearDown]
    public void TearDownDatabase()
    {
        Reader.Dispose();
        Notifier.Dispose();
        Db.Dispose();
    }

    internal ShopDb Shop(Action<RealtimeCaptureOptions>? configure = null, Microsoft.EntityFrameworkCore.Diagnostics.IInterceptor[]? before = null, bool retry = false) =>
        Db.Shop(Notifier, configure, before, retry);

    protected List<ChangeEvent> Drain() => TestDatabase.Drain(Reader);

    /// <summary>The event's record equals the row as a plain query reads it back.</summary>
    protected void AssertRecordIsRow(ChangeEvent change, string where)
    {
        System.Text.Json.Nodes.JsonObject? row = Db.ReadRow(change.Table, where, change.Columns);
        Assert.That(row, Is.Not.Null, $"row {where} of {change.Table}");
        TestDatabase.AssertSameJson(TestDatabase.Record(change), row, $"{change.Kind} record of {change.Table} vs SELECT");
    }
}
