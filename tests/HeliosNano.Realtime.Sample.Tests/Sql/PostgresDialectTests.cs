using HeliosNano.Realtime.Sample.Sql;
using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sample.Tests.Sql;

public class PostgresDialectTests
{
    private const string TutorialCreate =
        "CREATE TABLE orders ( id SERIAL PRIMARY KEY, customer TEXT, total NUMERIC(10, 2), status TEXT DEFAULT 'pending', updated_at TIMESTAMP DEFAULT now())";

    [Test]
    public void Translate_TutorialCreateTable_UsesAutoincrementKeyAndKeepsDeclaredTypes()
    {
        string sql = PostgresDialect.Translate(TutorialCreate);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(sql, Does.Contain("id INTEGER PRIMARY KEY AUTOINCREMENT"));
            Assert.That(sql, Does.Contain("total NUMERIC(10, 2)"));
            Assert.That(sql, Does.Contain("updated_at TIMESTAMP DEFAULT " + PostgresDialect.NowExpression));
        }
    }

    [Test]
    public void Translate_TutorialStatements_RunOnSqliteWithPostgresResults()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        Execute(connection, TutorialCreate);
        Execute(connection, "INSERT INTO orders (customer, total) VALUES ('Alice', 49.99)");
        Execute(connection, "INSERT INTO orders (customer, total) VALUES ('Bob', 5)");
        Execute(connection, "UPDATE orders SET status = 'paid', updated_at = now() WHERE id = 1");

        using SqliteCommand query = connection.CreateCommand();
        query.CommandText = "SELECT id, total, status, updated_at FROM orders ORDER BY id";
        using SqliteDataReader reader = query.ExecuteReader();
        Assert.That(reader.Read(), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reader.GetInt64(0), Is.EqualTo(1), "SERIAL numbers rows from 1");
            Assert.That(reader.GetDouble(1), Is.EqualTo(49.99));
            Assert.That(reader.GetString(2), Is.EqualTo("paid"));
            Assert.That(reader.GetString(3), Does.Match(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$"), "now() is a Postgres timestamp's JSON form");
            Assert.That(DeclaredType(connection, "total"), Is.EqualTo("NUMERIC(10, 2)"), "the declared type survives for column metadata");
        }

        Assert.That(reader.Read(), Is.True);
        Assert.That(reader.GetInt64(0), Is.EqualTo(2));
    }

    [Test]
    public void Translate_StringLiteralsAndComments_AreLeftAlone()
    {
        const string Sql = "INSERT INTO notes (body) VALUES ('now() and SERIAL PRIMARY KEY ::text') -- now() ILIKE";

        Assert.That(PostgresDialect.Translate(Sql), Is.EqualTo(Sql));
    }

    [TestCase("SELECT '49.99'::numeric", "SELECT '49.99'")]
    [TestCase("SELECT name FROM t WHERE name ILIKE 'a%'", "SELECT name FROM t WHERE name LIKE 'a%'")]
    [TestCase("CREATE TABLE t (n BIGSERIAL, at TIMESTAMP WITH TIME ZONE)", "CREATE TABLE t (n INTEGER, at TIMESTAMPTZ)")]
    [TestCase("CREATE TABLE t (id INT GENERATED ALWAYS AS IDENTITY PRIMARY KEY)", "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)")]
    [TestCase("SELECT x::varchar(20), y::double precision FROM t", "SELECT x, y FROM t")]
    [TestCase("CREATE TABLE serial (serial TEXT, \"n\" SERIAL, m bigserial PRIMARY KEY)", "CREATE TABLE serial (serial TEXT, \"n\" INTEGER, m INTEGER PRIMARY KEY AUTOINCREMENT)")]
    [TestCase("SELECT serial FROM t WHERE serial = 'SERIAL PRIMARY KEY'", "SELECT serial FROM t WHERE serial = 'SERIAL PRIMARY KEY'")]
    [TestCase("ALTER TABLE t ADD COLUMN n SERIAL", "ALTER TABLE t ADD COLUMN n INTEGER")]
    public void Translate_PostgresOnlySyntax_BecomesSqlite(string postgres, string sqlite)
    {
        Assert.That(PostgresDialect.Translate(postgres), Is.EqualTo(sqlite));
    }

    [Test]
    public void Translate_GenRandomUuid_ProducesVersion4Uuids()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = PostgresDialect.Translate("SELECT gen_random_uuid()");

        Assert.That((string)command.ExecuteScalar()!, Does.Match("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"));
    }

    private static string DeclaredType(SqliteConnection connection, string column)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT type FROM pragma_table_info('orders') WHERE name = $c";
        command.Parameters.AddWithValue("$c", column);
        return (string)command.ExecuteScalar()!;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = PostgresDialect.Translate(sql);
        command.ExecuteNonQuery();
    }
}
