using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.EntityFrameworkCore.Tests;

/// <summary>The one call through DI, and the start-up notice of what the capture cannot see, logged once.</summary>
public sealed class StartupLogTests
{
    private sealed class Label
    {
        public int Id { get; set; }
        public string Text { get; set; } = "";
    }

    private sealed class TinyDb(DbContextOptions<TinyDb> options) : DbContext(options)
    {
        public DbSet<Label> Labels => Set<Label>();
    }

    [Test]
    public void AddHeliosRealtimeCapture_FromDi_LogsWhatIsNotCapturedOnce_AndPublishes()
    {
        var logs = new ListLoggerFactory();
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=:memory:");
        connection.Open();
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(logs);
        services.AddHeliosRealtime();
        services.AddDbContext<TinyDb>((sp, o) => o.UseSqlite(connection).AddHeliosRealtimeCapture(sp));
        using ServiceProvider provider = services.BuildServiceProvider();
        var notifier = provider.GetRequiredService<ChangeNotifier>();
        using ChangeReader reader = notifier.Subscribe();
        for (int i = 0; i < 3; i++)
        {
            using IServiceScope scope = provider.CreateScope();
            TinyDb db = scope.ServiceProvider.GetRequiredService<TinyDb>();
            db.Database.EnsureCreated();
            db.Labels.Add(new Label { Text = $"t{i}" });
            db.SaveChanges();
        }

        List<ChangeEvent> changes = TestDatabase.Drain(reader);
        var started = logs.Entries.Where(e => e.EventName == "CaptureStarted").ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(changes, Has.Count.EqualTo(3));
            Assert.That(started, Has.Count.EqualTo(1), "three scopes, one notice");
            Assert.That(started[0].Message, Does.Contain("ExecuteUpdate/ExecuteDelete").And.Contain("raw SQL").And.Contain("triggers"));
        }
    }

    [Test]
    public void RegisterHeliosRealtimeTables_MakesTheTablesKnownBeforeTheFirstSave()
    {
        using var notifier = new ChangeNotifier();
        using var db = new TinyDb(new DbContextOptionsBuilder<TinyDb>().UseSqlite("Data Source=:memory:").AddHeliosRealtimeCapture(notifier).Options);
        Assert.That(notifier.Tables, Is.Empty);
        Assert.That(db.RegisterHeliosRealtimeTables(), Is.EqualTo(1));
        ChangeTable labels = notifier.Tables.Single();
        Assert.That((labels.Schema, labels.Name), Is.EqualTo(("public", "Labels")));
        Assert.That(labels.Columns.Select(c => (c.Name, c.TypeName)), Is.EquivalentTo(new[] { ("Id", "int4"), ("Text", "text") }));
    }

    [Test]
    public void AddHeliosRealtimeCapture_WithoutTheNotifier_SaysWhatToCall()
    {
        using ServiceProvider provider = new ServiceCollection().BuildServiceProvider();
        var ex = Assert.Throws<InvalidOperationException>(() => new DbContextOptionsBuilder().UseSqlite("Data Source=:memory:").AddHeliosRealtimeCapture(provider));
        Assert.That(ex!.Message, Does.Contain("AddHeliosRealtime()"));
    }
}
