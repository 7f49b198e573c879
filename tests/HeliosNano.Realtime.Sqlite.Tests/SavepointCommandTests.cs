using System.Text;

namespace HeliosNano.Realtime.Sqlite.Tests;

public class SavepointCommandTests
{
    [TestCase("SAVEPOINT a", "Savepoint", "a")]
    [TestCase("  savepoint \"My \"\"SP\"\"\";", "Savepoint", "My \"SP\"")]
    [TestCase("/* c */ -- line\n SAVEPOINT [x y]", "Savepoint", "x y")]
    [TestCase("RELEASE a", "Release", "a")]
    [TestCase("release savepoint `b`", "Release", "b")]
    [TestCase("ROLLBACK TO a", "RollbackTo", "a")]
    [TestCase("ROLLBACK TRANSACTION TO SAVEPOINT 'q'", "RollbackTo", "q")]
    [TestCase("rollback to savepoint sp1;", "RollbackTo", "sp1")]
    [TestCase("ROLLBACK", "None", null)]
    [TestCase("ROLLBACK TRANSACTION", "None", null)]
    [TestCase("SELECT 'SAVEPOINT a'", "None", null)]
    [TestCase("REPLACE INTO t VALUES (1)", "None", null)]
    [TestCase("-- TRIGGER items_audit", "None", null)]
    [TestCase("", "None", null)]
    public void Parse_RecognisesSavepointStatements(string sql, string kind, string? name)
    {
        SavepointCommand command = SavepointCommand.Parse(Encoding.UTF8.GetBytes(sql));

        Assert.That(command, Is.EqualTo(new SavepointCommand(Enum.Parse<SavepointCommandKind>(kind), name)));
    }
}
