using Microsoft.EntityFrameworkCore;

namespace HeliosNano.Realtime.Sample.EfCore;

/// <summary>One order on the board.</summary>
public sealed class Order
{
    public int Id { get; set; }

    public string Customer { get; set; } = "";

    public decimal Total { get; set; }

    public string Status { get; set; } = "pending";

    public DateTime UpdatedAt { get; set; } = DateTime.UtcNow;
}

/// <summary>The board's context: one table, <c>public.orders</c>.</summary>
public sealed class BoardDb(DbContextOptions<BoardDb> options) : DbContext(options)
{
    public DbSet<Order> Orders => Set<Order>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.Entity<Order>(b =>
    {
        b.ToTable("orders");
        b.Property(o => o.Id).HasColumnName("id");
        b.Property(o => o.Customer).HasColumnName("customer");
        b.Property(o => o.Total).HasColumnName("total").HasPrecision(10, 2);
        b.Property(o => o.Status).HasColumnName("status");
        b.Property(o => o.UpdatedAt).HasColumnName("updated_at");
    });
}
