using System.Text.Json.Nodes;
using HeliosNano.Realtime.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace HeliosNano.Realtime.EntityFrameworkCore.Tests;

/// <summary>
/// The same changes captured through EF Core and through the SQLite pre-update hook (<c>CaptureChanges</c>) give the
/// same events; and when both are attached to one connection, each change is published once.
/// </summary>
public sealed class SqliteHookParityTests
{
    public sealed class Item
    {
        public int Id { get; set; }
        public string Name { get; set; } = "";
        public bool Done { get; set; }
        public long Big { get; set; }
        public double Ratio { get; set; }
        public DateTime At { get; set; }
        public byte[]? Data { get; set; }
        public string? Note { get; set; }
    }

    public sealed class ItemDb(DbContextOptions<ItemDb> options) : DbContext(options)
    {
        public DbSet<Item> Items => Set<Item>();

        // Declared types both captures read the same way (EF's own INTEGER for a bool says nothing to the hook).
        protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.Entity<Item>(b =>
        {
            b.ToTable("items");
            b.Property(i => i.Done).HasColumnType("BOOLEAN");
            b.Property(i => i.At).HasColumnType("TIMESTAMP");
        });
    }

    private static void RunScenario(ItemDb db)
    {
        db.Items.AddRange(
            new Item { Name = "a", Done = false, Big = 1L << 40, Ratio = 0.5, At = new DateTime(2026, 1, 2, 3, 4, 5), Data = [0, 1, 254] },
            new Item { Name = "b", Note = "n", At = new DateTime(2026, 1, 2, 3, 4, 5, 123) });
        db.SaveChanges();
        Item a = db.Items.Single(i => i.Name == "a");
        a.Done = true;
        a.Ratio = -1.25;
        a.Note = "changed";
        db.SaveChanges();
        db.Items.Remove(db.Items.Single(i => i.Name == "b"));
        db.SaveChanges();
        using (IDbContextTransaction transaction = db.Database.BeginTransaction())
        {
            db.Items.Add(new Item { Name = "committed" });
            db.SaveChanges();
            transaction.Commit();
        }

        using (IDbContextTransaction transaction = db.Database.BeginTransaction())
        {
            db.Items.Add(new Item { Name = "rolled back" });
            db.SaveChanges();
            transaction.Rollback();
        }
    }

    private static (SqliteConnection Connection, DbContextOptions<ItemDb> Plain) NewDatabase()
    {
        var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        DbContextOptions<ItemDb> plain = new DbContextOptionsBuilder<ItemDb>().UseSqlite(connection).Options;
        using (var db = new ItemDb(plain))
        {
            db.Database.EnsureCreated();
        }

        return (connection, plain);
    }

    [Test]
    public void SameChanges_ThroughEfAndThroughTheHook_GiveTheSameEvents()
    {
        using var efNotifier = new ChangeNotifier();
        using ChangeReader efReader = efNotifier.Subscribe();
        (SqliteConnection efConnection, _) = NewDatabase();
        using (efConnection)
        using (var db = new ItemDb(new DbContextOptionsBuilder<ItemDb>().UseSqlite(efConnection).AddHeliosRealtimeCapture(efNotifier).Options))
        {
            RunScenario(db);
        }

        using var hookNotifier = new ChangeNotifier();
        using ChangeReader hookReader = hookNotifier.Subscribe();
        (SqliteConnection hookConnection, DbContextOptions<ItemDb> plain) = NewDatabase();
        using (hookConnection)
        using (hookConnection.CaptureChanges(hookNotifier))
        using (var db = new ItemDb(plain))
        {
            RunScenario(db);
        }

        List<ChangeEvent> ef = TestDatabase.Drain(efReader);
        List<ChangeEvent> hook = TestDatabase.Drain(hookReader);
        Assert.That(ef.Select(c => c.Kind), Is.EqualTo(hook.Select(c => c.Kind)), "same kinds in the same order");
        Assert.That(ef, Has.Count.EqualTo(5));
        using (Assert.EnterMultipleScope())
        {
            for (int i = 0; i < ef.Count; i++)
            {
                Assert.That((ef[i].Schema, ef[i].Table), Is.EqualTo((hook[i].Schema, hook[i].Table)));
                Assert.That(ef[i].Columns.OrderBy(c => c.Name), Is.EqualTo(hook[i].Columns.OrderBy(c => c.Name)), $"columns of change {i}");
                TestDatabase.AssertSameJson(Parse(ef[i].Record), Parse(hook[i].Record), $"record of change {i} (EF vs hook)");
                TestDatabase.AssertSameJson(Parse(ef[i].OldRecord), Parse(hook[i].OldRecord), $"old_record of change {i} (EF vs hook)");
            }
        }
    }

    [Test]
    public void BothCapturesOnOneConnection_PublishEachChangeOnce_AndSaySo()
    {
        var logs = new ListLoggerFactory();
        using var notifier = new ChangeNotifier();
        using ChangeReader reader = notifier.Subscribe();
        (SqliteConnection connection, _) = NewDatabase();
        using (connection)
        using (connection.CaptureChanges(notifier))
        using (var db = new ItemDb(new DbContextOptionsBuilder<ItemDb>().UseSqlite(connection).AddHeliosRealtimeCapture(notifier, o => o.LoggerFactory = logs).Options))
        {
            RunScenario(db);
        }

        List<ChangeEvent> changes = TestDatabase.Drain(reader);
        Assert.That(changes.Select(c => c.Kind), Is.EqualTo(new[] { ChangeKind.Insert, ChangeKind.Insert, ChangeKind.Update, ChangeKind.Delete, ChangeKind.Insert }));
        Assert.That(logs.Entries.Count(e => e.EventName == "SqliteHookDetected"), Is.EqualTo(1));
    }

    private static JsonNode? Parse(ReadOnlyMemory<byte> json) => json.IsEmpty ? null : JsonNode.Parse(json.Span);
}
