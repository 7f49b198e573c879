using Microsoft.EntityFrameworkCore;

namespace HeliosNano.Realtime.EntityFrameworkCore.Tests;

public enum OrderStatus
{
    Pending,
    Paid,
}

public class Order
{
    public int Id { get; set; }
    public string Customer { get; set; } = "";
    public decimal Total { get; set; }
    public int Quantity { get; set; }
    public int Doubled { get; set; }
    public bool Paid { get; set; }
    public OrderStatus Status { get; set; }
    public DateTime CreatedAt { get; set; } = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
    public Guid Ref { get; set; } = Guid.Parse("6f9619ff-8b86-d011-b42d-00c04fc964ff");
    public byte[]? Attachment { get; set; }
    public double Weight { get; set; }
    public int Version { get; set; }
    public Address? Shipping { get; set; }
}

public class Address
{
    public string Street { get; set; } = "";
    public string City { get; set; } = "";
}

public class Product
{
    public int Id { get; set; }
    public string Name { get; set; } = "";
    public ProductDetails? Details { get; set; }
}

public class ProductDetails
{
    public int Id { get; set; }
    public string Description { get; set; } = "";
    public int Stock { get; set; }
}

public abstract class Animal
{
    public int Id { get; set; }
    public string Name { get; set; } = "";
}

public class Dog : Animal
{
    public string Breed { get; set; } = "";
}

public class Cat : Animal
{
    public int Lives { get; set; }
}

public class Vehicle
{
    public int Id { get; set; }
    public int Wheels { get; set; }
}

public class Car : Vehicle
{
    public int Seats { get; set; }
}

public abstract class Payment
{
    public int Id { get; set; }
    public decimal Amount { get; set; }
}

public class CardPayment : Payment
{
    public string Last4 { get; set; } = "";
}

public class CashPayment : Payment
{
    public string Till { get; set; } = "";
}

public class Post
{
    public int Id { get; set; }
    public string Title { get; set; } = "";
    public List<Tag> Tags { get; set; } = [];
}

public class Tag
{
    public int Id { get; set; }
    public string Label { get; set; } = "";
    public List<Post> Posts { get; set; } = [];
}

/// <summary>One model with every mapping shape the capture must handle.</summary>
public sealed class ShopDb(DbContextOptions<ShopDb> options) : DbContext(options)
{
    public static readonly string[] AllTables = ["orders", "products", "animals", "vehicles", "cars", "card_payments", "cash_payments", "posts", "tags", "post_tags"];

    public DbSet<Order> Orders => Set<Order>();
    public DbSet<Product> Products => Set<Product>();
    public DbSet<Animal> Animals => Set<Animal>();
    public DbSet<Vehicle> Vehicles => Set<Vehicle>();
    public DbSet<Payment> Payments => Set<Payment>();
    public DbSet<Post> Posts => Set<Post>();
    public DbSet<Tag> Tags => Set<Tag>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Order>(b =>
        {
            b.ToTable("orders");
            b.Property(o => o.Total).HasPrecision(10, 2);
            b.Property(o => o.Status).HasConversion<string>();
            b.Property(o => o.Doubled).HasComputedColumnSql("\"Quantity\" * 2", stored: true);
            b.Property(o => o.Version).IsConcurrencyToken();
            b.Property<string>("Note"); // shadow property
            b.OwnsOne(o => o.Shipping); // table-split into orders: Shipping_Street, Shipping_City
        });
        modelBuilder.Entity<Product>(b =>
        {
            b.ToTable("products");
            b.HasOne(p => p.Details).WithOne().HasForeignKey<ProductDetails>(d => d.Id);
        });
        modelBuilder.Entity<ProductDetails>().ToTable("products"); // table splitting
        modelBuilder.Entity<Animal>().ToTable("animals"); // TPH (the default)
        modelBuilder.Entity<Dog>();
        modelBuilder.Entity<Cat>();
        modelBuilder.Entity<Vehicle>().UseTptMappingStrategy().ToTable("vehicles");
        modelBuilder.Entity<Car>().ToTable("cars");
        modelBuilder.Entity<Payment>().UseTpcMappingStrategy().Property(p => p.Id).ValueGeneratedNever();
        modelBuilder.Entity<CardPayment>().ToTable("card_payments");
        modelBuilder.Entity<CashPayment>().ToTable("cash_payments");
        modelBuilder.Entity<Post>().ToTable("posts").HasMany(p => p.Tags).WithMany(t => t.Posts).UsingEntity(j => j.ToTable("post_tags"));
        modelBuilder.Entity<Tag>().ToTable("tags");
    }
}
