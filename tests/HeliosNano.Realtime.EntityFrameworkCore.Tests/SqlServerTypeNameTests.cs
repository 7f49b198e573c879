using Microsoft.EntityFrameworkCore;

namespace HeliosNano.Realtime.EntityFrameworkCore.Tests;

/// <summary>SQL Server store types map to PostgreSQL type names: model level only (no server is opened).</summary>
public sealed class SqlServerTypeNameTests
{
    private sealed class Row
    {
        public int Id { get; set; }
        public long Big { get; set; }
        public short Small { get; set; }
        public byte Tiny { get; set; }
        public bool Flag { get; set; }
        public string Name { get; set; } = "";
        public decimal Price { get; set; }
        public double Ratio { get; set; }
        public float Single { get; set; }
        public DateTime At { get; set; }
        public DateTimeOffset AtOffset { get; set; }
        public DateOnly Day { get; set; }
        public TimeOnly Time { get; set; }
        public Guid Key { get; set; }
        public byte[] Blob { get; set; } = [];
        public byte[] RowVersion { get; set; } = [];
        public OrderStatus Status { get; set; }
    }

    private sealed class SqlDb(DbContextOptions<SqlDb> options) : DbContext(options)
    {
        protected override void OnModelCreating(ModelBuilder modelBuilder) =>
            modelBuilder.Entity<Row>(b =>
            {
                b.ToTable("rows", "sales");
                b.Property(r => r.RowVersion).IsRowVersion();
                b.Property(r => r.Status).HasConversion<string>().HasMaxLength(20);
            });
    }

    [Test]
    public void StoreTypes_MapToPostgresTypeNames()
    {
        using var notifier = new ChangeNotifier();
        var options = new DbContextOptionsBuilder<SqlDb>().UseSqlServer("Server=.;Database=none;Connect Timeout=1").Options;
        using var db = new SqlDb(options);
        var model = new CaptureModel(db.Model, notifier, "public", db.Database.ProviderName);
        TableMap table = model.Tables.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That((table.Schema, table.Name), Is.EqualTo(("sales", "rows")), "an explicit schema is kept");
            Assert.That(table.Columns.ToDictionary(c => c.Name, c => c.TypeName), Is.EquivalentTo(new Dictionary<string, string>
            {
                ["Id"] = "int4",
                ["Big"] = "int8",
                ["Small"] = "int2",
                ["Tiny"] = "int2",
                ["Flag"] = "bool",
                ["Name"] = "text",
                ["Price"] = "numeric",
                ["Ratio"] = "float8",
                ["Single"] = "float4",
                ["At"] = "timestamp",
                ["AtOffset"] = "timestamptz",
                ["Day"] = "date",
                ["Time"] = "time",
                ["Key"] = "uuid",
                ["Blob"] = "bytea",
                ["RowVersion"] = "bytea",
                ["Status"] = "text",
            }));
        }
    }

    [TestCase("nvarchar(max)", typeof(string), "text")]
    [TestCase("decimal(18,2)", typeof(decimal), "numeric")]
    [TestCase("datetime", typeof(DateTime), "timestamp")]
    [TestCase("smalldatetime", typeof(DateTime), "timestamp")]
    [TestCase("uniqueidentifier", typeof(Guid), "uuid")]
    [TestCase("varbinary(900)", typeof(byte[]), "bytea")]
    [TestCase("money", typeof(decimal), "numeric")]
    [TestCase("xml", typeof(string), "xml")]
    [TestCase("json", typeof(string), "jsonb")]
    [TestCase("sql_variant", typeof(object), "text")]
    public void SqlServer_StoreType_IsMapped(string storeType, Type clr, string expected) =>
        Assert.That(PostgresTypeNames.For(storeType, clr, StoreTypeDialect.SqlServer), Is.EqualTo(expected));

    [TestCase("timestamp(3) with time zone", typeof(DateTime), "timestamptz")]
    [TestCase("character varying(200)", typeof(string), "varchar")]
    [TestCase("integer[]", typeof(int[]), "_int4")]
    [TestCase("numeric(10,2)", typeof(decimal), "numeric")]
    [TestCase("time without time zone", typeof(TimeOnly), "time")]
    [TestCase("xid", typeof(uint), "xid")]
    public void Postgres_StoreType_IsNormalised(string storeType, Type clr, string expected) =>
        Assert.That(PostgresTypeNames.For(storeType, clr, StoreTypeDialect.Postgres), Is.EqualTo(expected));
}
