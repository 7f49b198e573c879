using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>A real Kestrel server on a free loopback port with the realtime endpoint mapped, for end-to-end tests.</summary>
internal sealed class RealtimeServer : IAsyncDisposable
{
    public static readonly ChangeColumn[] OrderColumns =
    [
        new("id", "int4"),
        new("customer", "text"),
        new("total", "numeric"),
        new("status", "text"),
        new("paid", "bool"),
    ];

    private RealtimeServer(WebApplication app, Uri baseUri)
    {
        App = app;
        Notifier = app.Services.GetService<ChangeNotifier>();
        WebSocketUri = new Uri(baseUri.ToString().Replace("http://", "ws://", StringComparison.Ordinal).TrimEnd('/') + RealtimeEndpointRouteBuilderExtensions.DefaultPattern);
        BaseUri = baseUri;
    }

    public WebApplication App { get; }

    public Uri BaseUri { get; }

    public Uri WebSocketUri { get; }

    public ChangeNotifier? Notifier { get; }

    public FakeLogCollector Logs => App.Services.GetFakeLogCollector();

    public IServiceProvider Services => App.Services;

    public static async Task<RealtimeServer> StartAsync(
        Action<RealtimeWebSocketOptions>? configure = null,
        int capacity = 1024,
        TimeProvider? timeProvider = null,
        bool registerNotifier = true,
        Action<WebApplication>? map = null,
        Action<IServiceCollection>? configureServices = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, "http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddFakeLogging();
        builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));
        if (timeProvider is not null)
        {
            builder.Services.AddSingleton(timeProvider);
        }

        if (registerNotifier)
        {
            builder.Services.AddHeliosRealtime(o => o.Capacity = capacity);
        }

        builder.Services.AddHeliosRealtimeWebSockets();
        configureServices?.Invoke(builder.Services);
        WebApplication app = builder.Build();
        if (app.Services.GetService<ChangeNotifier>() is ChangeNotifier notifier)
        {
            notifier.GetTable("public", "orders").SetColumns(OrderColumns);
            notifier.GetTable("public", "todos").SetColumns([new ChangeColumn("id", "int8"), new ChangeColumn("title", "text")]);
        }

        if (map is not null)
        {
            map(app);
        }
        else
        {
            app.MapHeliosRealtime(configure: configure);
        }

        await app.StartAsync();
        return new RealtimeServer(app, new Uri(app.Urls.First()));
    }

    public async Task<TestClient> ConnectAsync(string query = "?apikey=test&vsn=2.0.0", CancellationToken cancellationToken = default, params string[] subProtocols)
    {
        var uri = new Uri(WebSocketUri + query);
        return await TestClient.ConnectAsync(uri, !query.Contains("vsn=1", StringComparison.Ordinal) && query.Contains("vsn=2", StringComparison.Ordinal), subProtocols, cancellationToken);
    }

    /// <summary>Notifies a change to public.orders (or another table) with JSON images.</summary>
    public long Notify(ChangeKind kind, string? record, string? oldRecord = null, string table = "orders") =>
        Notifier!.Notify("public", table, kind, record is null ? [] : Encoding.UTF8.GetBytes(record), oldRecord is null ? [] : Encoding.UTF8.GetBytes(oldRecord));

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
