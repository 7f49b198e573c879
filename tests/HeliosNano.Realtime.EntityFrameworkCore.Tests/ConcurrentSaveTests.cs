using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace HeliosNano.Realtime.EntityFrameworkCore.Tests;

/// <summary>
/// One interceptor shared by every context built from the same options (a pool or factory): concurrent saves and
/// transactions must neither lose, duplicate nor mix up each other's rows.
/// </summary>
public sealed class ConcurrentSaveTests : ProviderTestBase
{
    public ConcurrentSaveTests()
        : base(Provider.Postgres)
    {
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ConcurrentContexts_SharingOneInterceptor_PublishEveryCommittedRowOnce(CancellationToken cancellationToken)
    {
        const int Writers = 8;
        const int SavesPerWriter = 20;
        DbContextOptions<ShopDb> options = Db.Options<ShopDb>(Notifier); // one options instance, one interceptor
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < SavesPerWriter; i++)
            {
                await using var db = new ShopDb(options);
                if (i % 2 == 0)
                {
                    db.Orders.Add(new Order { Customer = $"w{w}-{i}" });
                    await db.SaveChangesAsync(cancellationToken);
                    continue;
                }

                // odd saves: inside a transaction, committed or (every fourth) rolled back
                await using IDbContextTransaction transaction = await db.Database.BeginTransactionAsync(cancellationToken);
                db.Orders.Add(new Order { Customer = $"w{w}-{i}" });
                await db.SaveChangesAsync(cancellationToken);
                if (i % 4 == 3)
                {
                    await transaction.RollbackAsync(cancellationToken);
                }
                else
                {
                    await transaction.CommitAsync(cancellationToken);
                }
            }
        }, cancellationToken)));

        List<string> published = [.. Drain().Select(c => (string)TestDatabase.Record(c)["Customer"]!)];
        var expected = Enumerable.Range(0, Writers)
            .SelectMany(w => Enumerable.Range(0, SavesPerWriter).Where(i => i % 4 != 3).Select(i => $"w{w}-{i}"))
            .ToList();
        Assert.That(published, Is.EquivalentTo(expected), "every committed row once, no rolled-back row");
        using (Assert.EnterMultipleScope())
        {
            for (int w = 0; w < Writers; w++)
            {
                string prefix = $"w{w}-";
                List<int> order = [.. published.Where(p => p.StartsWith(prefix, StringComparison.Ordinal)).Select(p => int.Parse(p[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture))];
                Assert.That(order, Is.Ordered, $"writer {w}'s commits in commit order");
            }
        }
    }
}
