namespace HeliosNano.Realtime.Sqlite.Tests;

public class SqliteTypeMapperTests
{
    [TestCase("INTEGER", false, "int8")]
    [TestCase("INTEGER", true, "int4")]
    [TestCase("int", false, "int8")]
    [TestCase("SERIAL", false, "int4")]
    [TestCase("MEDIUMINT", false, "int4")]
    [TestCase("BIGINT", false, "int8")]
    [TestCase("unsigned  big   int", false, "int8")]
    [TestCase("SMALLINT", false, "int2")]
    [TestCase("NUMERIC(10, 2)", false, "numeric")]
    [TestCase("decimal(5)", false, "numeric")]
    [TestCase("DOUBLE PRECISION", false, "float8")]
    [TestCase("FLOAT", false, "float8")]
    [TestCase("REAL", false, "float8")]
    [TestCase("VARCHAR(255)", false, "text")]
    [TestCase("CLOB", false, "text")]
    [TestCase("BOOLEAN", false, "bool")]
    [TestCase("bool", false, "bool")]
    [TestCase("TIMESTAMP", false, "timestamp")]
    [TestCase("DATETIME", false, "timestamp")]
    [TestCase("TIMESTAMPTZ", false, "timestamptz")]
    [TestCase("timestamp with time zone", false, "timestamptz")]
    [TestCase("DATE", false, "date")]
    [TestCase("JSON", false, "jsonb")]
    [TestCase("JSONB", false, "jsonb")]
    [TestCase("BLOB", false, "bytea")]
    [TestCase("BYTEA", false, "bytea")]
    [TestCase("UUID", false, "uuid")]
    [TestCase("", false, "text")]
    [TestCase("GEOMETRY", false, "text")]
    [TestCase("UNSIGNED INTEGER", false, "int8")]
    [TestCase("NATIVE CHARACTER(70)", false, "text")]
    [TestCase("FLOATING POINT", false, "int8")] // SQLite's own rule: "INT" in "POINT" wins, as the column's affinity does
    public void ToPostgresType_MapsDeclaredType(string declared, bool isRowIdAlias, string expected) =>
        Assert.That(SqliteTypeMapper.ToPostgresType(declared, isRowIdAlias), Is.EqualTo(expected));

    [TestCase("bool", "Boolean")]
    [TestCase("jsonb", "Json")]
    [TestCase("int8", "Plain")]
    [TestCase("text", "Plain")]
    public void GetFormat_ReturnsHowValuesAreWritten(string type, string expected) =>
        Assert.That(SqliteTypeMapper.GetFormat(type), Is.EqualTo(Enum.Parse<ColumnFormat>(expected)));

    [TestCase("NUMERIC(10, 2)", 2)]
    [TestCase("decimal( 12 ,4 )", 4)]
    [TestCase("NUMERIC(5)", 0)]
    [TestCase("NUMERIC", null)]
    [TestCase("NUMERIC(a, b)", null)]
    [TestCase(null, null)]
    public void GetNumericScale_ReadsTheDeclaredScale(string? declared, int? expected) =>
        Assert.That(SqliteTypeMapper.GetNumericScale(declared), Is.EqualTo(expected));
}
