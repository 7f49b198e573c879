using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HeliosNano.Realtime.Tests;

public class RealtimeServiceCollectionExtensionsTests
{
    [Test]
    public void AddHeliosRealtime_RegistersOneConfiguredNotifier()
    {
        using ServiceProvider services = new ServiceCollection()
            .AddHeliosRealtime(o => o.Capacity = 256)
            .AddHeliosRealtime()
            .BuildServiceProvider();

        ChangeNotifier notifier = services.GetRequiredService<ChangeNotifier>();

        Assert.That(notifier.Capacity, Is.EqualTo(256));
        Assert.That(services.GetRequiredService<ChangeNotifier>(), Is.SameAs(notifier));
    }

    [Test]
    public void AddHeliosRealtime_InvalidCapacity_FailsValidationWithAClearMessage()
    {
        using ServiceProvider services = new ServiceCollection()
            .AddHeliosRealtime(o => o.Capacity = 1000)
            .BuildServiceProvider();

        Assert.That(
            () => services.GetRequiredService<ChangeNotifier>(),
            Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("power of two"));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task AddHeliosRealtime_HostEngineCommitHook_IsWiredWithOneCall(CancellationToken cancellationToken)
    {
        // The embedding application: its engine raises a commit hook; one DI call wires it to the notifier.
        using ServiceProvider services = new ServiceCollection()
            .AddHeliosRealtime()
            .AddSingleton<TinyEngine>()
            .BuildServiceProvider();
        TinyEngine engine = services.GetRequiredService<TinyEngine>();
        ChangeNotifier notifier = services.GetRequiredService<ChangeNotifier>();
        ChangeTable todos = notifier.GetTable("public", "todos");
        engine.Committed += (id, title) => notifier.Notify(todos, ChangeKind.Insert, (id, title), static (writer, row, _) =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("id", row.id);
            writer.WriteString("title", row.title);
            writer.WriteEndObject();
        });

        await using IAsyncEnumerator<ChangeEvent> changes = notifier
            .ReadAllAsync(new ChangeSubscriptionOptions { Filter = ChangeFilter.For("public", "todos") }, cancellationToken)
            .GetAsyncEnumerator(cancellationToken);
        ValueTask<bool> next = changes.MoveNextAsync(); // subscribes, then waits
        while (!todos.IsWatched)
        {
            await Task.Yield();
        }

        engine.Insert(1, "write the README");

        Assert.That(await next, Is.True);
        using JsonDocument row = changes.Current.ParseRecord()!;
        Assert.That(row.RootElement.GetProperty("title").GetString(), Is.EqualTo("write the README"));
    }

    private sealed class TinyEngine
    {
        public event Action<int, string>? Committed;

        public void Insert(int id, string title) => Committed?.Invoke(id, title);
    }
}
