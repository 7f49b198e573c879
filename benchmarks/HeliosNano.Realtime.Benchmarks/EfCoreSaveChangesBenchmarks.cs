using BenchmarkDotNet.Attributes;
using HeliosNano.Realtime.EntityFrameworkCore;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace HeliosNano.Realtime.Benchmarks;

/// <summary>
/// EF Core <c>SaveChanges</c> of 1 and of 100 new rows on in-memory SQLite: without the capture (the baseline), with
/// the capture attached and nobody watching (target ≤ 3 % and no allocation per entity), and with a watching reader
/// that drains every change (the cost of building and publishing the images, next to the save itself).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(BenchmarkConfig))]
public class EfCoreSaveChangesBenchmarks
{
    private SqliteConnection _connection = null!;
    private ChangeNotifier _notifier = null!;
    private DbContextOptions<BenchDb> _plain = null!;
    private DbContextOptions<BenchDb> _captured = null!;
    private BenchDb _db = null!;
    private ChangeReader? _reader;

    [Params(1, 100)]
    public int Entities { get; set; }

    [GlobalSetup(Targets = [nameof(NoCapture)])]
    public void SetupPlain() => Setup(capture: false, watch: false);

    [GlobalSetup(Targets = [nameof(CaptureNobodyWatching)])]
    public void SetupUnwatched() => Setup(capture: true, watch: false);

    [GlobalSetup(Targets = [nameof(CaptureWatched)])]
    public void SetupWatched() => Setup(capture: true, watch: true);

    [Benchmark(Baseline = true, Description = "SaveChanges, no capture")]
    public int NoCapture() => Save();

    [Benchmark(Description = "SaveChanges, capture attached, nobody watching")]
    public int CaptureNobodyWatching() => Save();

    [Benchmark(Description = "SaveChanges, capture, one reader draining")]
    public int CaptureWatched()
    {
        int saved = Save();
        while (_reader!.TryRead(out _))
        {
        }

        return saved;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _db.Dispose();
        _reader?.Dispose();
        _notifier.Dispose();
        _connection.Dispose();
    }

    private int Save()
    {
        for (int i = 0; i < Entities; i++)
        {
            _db.Orders.Add(new BenchOrder { Customer = "Alice", Total = 49.99m, Status = "pending", CreatedAt = new DateTime(2026, 1, 2, 3, 4, 5) });
        }

        int saved = _db.SaveChanges();
        _db.ChangeTracker.Clear();
        return saved;
    }

    private void Setup(bool capture, bool watch)
    {
        _connection = new SqliteConnection("Data Source=:memory:");
        _connection.Open();
        _notifier = new ChangeNotifier();
        _plain = new DbContextOptionsBuilder<BenchDb>().UseSqlite(_connection).Options;
        _captured = new DbContextOptionsBuilder<BenchDb>().UseSqlite(_connection).AddHeliosRealtimeCapture(_notifier).Options;
        using (var db = new BenchDb(_plain))
        {
            db.Database.EnsureCreated();
        }

        _db = new BenchDb(capture ? _captured : _plain);
        if (watch)
        {
            _reader = _notifier.Subscribe(ChangeFilter.For("public", "orders"));
        }
    }

    public sealed class BenchOrder
    {
        public int Id { get; set; }
        public string Customer { get; set; } = "";
        public decimal Total { get; set; }
        public string Status { get; set; } = "";
        public DateTime CreatedAt { get; set; }
    }

    public sealed class BenchDb(DbContextOptions<BenchDb> options) : DbContext(options)
    {
        public DbSet<BenchOrder> Orders => Set<BenchOrder>();

        protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.Entity<BenchOrder>().ToTable("orders");
    }
}
