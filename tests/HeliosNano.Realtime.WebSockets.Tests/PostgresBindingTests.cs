namespace HeliosNano.Realtime.WebSockets.Tests;

public class PostgresBindingTests
{
    [Test]
    public void ComputeId_SameParameters_SameIdAcrossCalls()
    {
        int first = PostgresBinding.ComputeId("*", "public", "orders", "id=eq.1");
        int second = PostgresBinding.ComputeId("*", "public", "orders", "id=eq.1");
        Assert.That(second, Is.EqualTo(first));
    }

    [Test]
    public void ComputeId_KnownParameters_IsStableAcrossProcesses()
    {
        // FNV-1a over the UTF-8 fields, masked to 27 bits: a constant, unlike string.GetHashCode (randomized per process).
        Assert.That(PostgresBinding.ComputeId("*", "public", "orders", null), Is.EqualTo(ExpectedFnv("*", "public", "orders", null)));
    }

    [TestCase("INSERT", "public", "orders", null)]
    [TestCase("*", "public", "orders", "")]
    [TestCase("*", "public", "order", "s")]
    [TestCase("*", null, "orders", null)]
    public void ComputeId_DifferentParameters_DifferentIds(string? e, string? schema, string? table, string? filter)
    {
        Assert.That(PostgresBinding.ComputeId(e, schema, table, filter), Is.Not.EqualTo(PostgresBinding.ComputeId("*", "public", "orders", null)));
    }

    [Test]
    public void ComputeId_AnyInput_IsBelowTwoToThe27()
    {
        for (int i = 0; i < 1000; i++)
        {
            int id = PostgresBinding.ComputeId("*", "s" + i, "t" + i, new string('x', i));
            Assert.That(id, Is.InRange(0, (1 << 27) - 1));
        }
    }

    [Test]
    public void Matches_Delete_UsesOldRecordForTheFilter()
    {
        using var notifier = new ChangeNotifier();
        using ChangeReader reader = notifier.Subscribe();
        notifier.GetTable("public", "orders").SetColumns(RealtimeServer.OrderColumns);
        notifier.Notify("public", "orders", ChangeKind.Delete, [], """{"id":3}"""u8);
        Assert.That(reader.TryRead(out ChangeEvent? change), Is.True);
        var binding = new PostgresBinding(1, "DELETE", "public", "orders", "id=eq.3", RowFilter.Parse("id=eq.3"));
        var other = new PostgresBinding(2, "DELETE", "public", "orders", "id=eq.4", RowFilter.Parse("id=eq.4"));
        var inserts = new PostgresBinding(3, "INSERT", "public", "orders", null, null);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(binding.Matches(change!), Is.True);
            Assert.That(other.Matches(change!), Is.False);
            Assert.That(inserts.Matches(change!), Is.False);
        }
    }

    private static int ExpectedFnv(params string?[] fields)
    {
        uint hash = 2166136261;
        foreach (string? field in fields)
        {
            hash = (hash ^ (field is null ? 0u : 1u)) * 16777619;
            if (field is null)
            {
                continue;
            }

            foreach (byte b in System.Text.Encoding.UTF8.GetBytes(field))
            {
                hash = (hash ^ b) * 16777619;
            }

            hash = (hash ^ 0xFF) * 16777619;
        }

        return (int)(hash & ((1 << 27) - 1));
    }
}
