using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace HeliosNano.Realtime.EntityFrameworkCore.Tests;

/// <summary>Column names and PostgreSQL type names come from the EF relational model.</summary>
[TestFixture(Provider.Sqlite)]
[TestFixture(Provider.Postgres)]
public sealed class ColumnTypeTests(Provider provider) : ProviderTestBase(provider)
{
    [Test]
    public void Columns_AreTheTablesColumnsWithPostgresTypeNames()
    {
        using ShopDb db = Shop();
        db.Orders.Add(new Order { Customer = "A" });
        db.SaveChanges();
        ChangeEvent change = Drain().Single();
        Dictionary<string, string> actual = change.Columns.ToDictionary(c => c.Name, c => c.TypeName);
        Dictionary<string, string> expected = Provider == Provider.Postgres
            ? PgTypes("orders")
            : new()
            {
                // SQLite stores INTEGER/TEXT/REAL/BLOB: the names come from the provider CLR type after conversion
                ["Id"] = "int4",
                ["Customer"] = "text",
                ["Total"] = "numeric",
                ["Quantity"] = "int4",
                ["Doubled"] = "int4",
                ["Paid"] = "bool",
                ["Status"] = "text",
                ["CreatedAt"] = "timestamp",
                ["Ref"] = "uuid",
                ["Attachment"] = "bytea",
                ["Weight"] = "float8",
                ["Version"] = "int4",
                ["Note"] = "text",
                ["Shipping_Street"] = "text",
                ["Shipping_City"] = "text",
            };
        Assert.That(actual, Is.EquivalentTo(expected));
    }

    [Test]
    public void Columns_OfEveryTable_MatchTheDatabase()
    {
        if (Provider != Provider.Postgres)
        {
            Assert.Pass("SQLite has no PostgreSQL catalogue to compare with; the orders test covers its names");
        }

        using ShopDb db = Shop();
        var model = new CaptureModel(db.Model, Notifier, "public", db.Database.ProviderName);
        using (Assert.EnterMultipleScope())
        {
            foreach (TableMap table in model.Tables)
            {
                Assert.That(table.Columns.ToDictionary(c => c.Name, c => c.TypeName), Is.EquivalentTo(PgTypes(table.Name)), table.Name);
            }
        }
    }

    /// <summary>What the server says: <c>pg_attribute</c> joined to <c>pg_type</c>, the names Supabase sends.</summary>
    private Dictionary<string, string> PgTypes(string table)
    {
        using ShopDb db = Shop();
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        connection.Open();
        using var command = new NpgsqlCommand(
            "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid " +
            "WHERE a.attrelid = @t::regclass AND a.attnum > 0 AND NOT a.attisdropped", connection);
        command.Parameters.AddWithValue("t", $"\"{table}\"");
        using NpgsqlDataReader reader = command.ExecuteReader();
        var types = new Dictionary<string, string>();
        while (reader.Read())
        {
            types[reader.GetString(0)] = reader.GetString(1);
        }

        return types;
    }
}
