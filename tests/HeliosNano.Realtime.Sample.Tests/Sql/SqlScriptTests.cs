using HeliosNano.Realtime.Sample.Sql;

namespace HeliosNano.Realtime.Sample.Tests.Sql;

public class SqlScriptTests
{
    [Test]
    public void Split_TutorialStatements_ReturnsEachStatementWithoutSemicolon()
    {
        List<string> statements = SqlScript.Split(
            "INSERT INTO orders (customer, total) VALUES ('Alice', 49.99);UPDATE orders SET status = 'paid', updated_at = now() WHERE id = 1;DELETE FROM orders WHERE id = 1;");

        Assert.That(statements, Is.EqualTo(new[]
        {
            "INSERT INTO orders (customer, total) VALUES ('Alice', 49.99)",
            "UPDATE orders SET status = 'paid', updated_at = now() WHERE id = 1",
            "DELETE FROM orders WHERE id = 1",
        }));
    }

    [Test]
    public void Split_SemicolonsInsideQuotesAndComments_DoNotEndStatements()
    {
        List<string> statements = SqlScript.Split(
            "INSERT INTO t VALUES ('a;b', 'it''s;'); -- note; here\nSELECT \"odd;name\" FROM t /* x; y */ ; ;  -- only a comment;");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(statements, Has.Count.EqualTo(2));
            Assert.That(statements[0], Is.EqualTo("INSERT INTO t VALUES ('a;b', 'it''s;')"));
            Assert.That(statements[1], Does.StartWith("-- note; here\nSELECT \"odd;name\" FROM t /* x; y */"));
        }
    }

    [Test]
    public void Split_CreateTrigger_KeepsBodyTogetherUntilEnd()
    {
        List<string> statements = SqlScript.Split(
            "CREATE TEMP TRIGGER audit AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.id); UPDATE n SET c = c + 1; END; SELECT 1");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(statements, Has.Count.EqualTo(2));
            Assert.That(statements[0], Does.EndWith("UPDATE n SET c = c + 1; END"));
            Assert.That(statements[1], Is.EqualTo("SELECT 1"));
        }
    }

    [Test]
    public void Split_OnlyWhitespaceAndComments_ReturnsNothing()
    {
        Assert.That(SqlScript.Split("  -- nothing\n /* at all */ ;\n"), Is.Empty);
    }

    [Test]
    public void LeadingWords_SkipsCommentsAndUppercases()
    {
        Assert.That(SqlScript.LeadingWords("/* c */ -- d\n begin transaction;", 2), Is.EqualTo(new[] { "BEGIN", "TRANSACTION" }));
    }
}
