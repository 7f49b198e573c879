using System.Net;
using System.Text;
using HeliosNano.Realtime.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HeliosNano.Realtime.Sample.Tests;

public class SampleAppTests
{
    private const string Key = "s3cret-key";

    [TestCase("http://localhost:8080", true)]
    [TestCase("http://127.0.0.1:0", true)]
    [TestCase("https://[::1]:5001", true)]
    [TestCase("http://*:8080", false)]
    [TestCase("http://+:80", false)]
    [TestCase("http://0.0.0.0:8080", false)]
    [TestCase("http://[::]:8080", false)]
    [TestCase("http://example.com:8080", false)]
    public void IsLoopbackUrl_Url_TellsWhetherOnlyThisMachineCanConnect(string url, bool loopback)
    {
        Assert.That(SampleApp.IsLoopbackUrl(url), Is.EqualTo(loopback));
    }

    [Test]
    public void Build_NonLoopbackUrlWithoutKey_RefusesToStart()
    {
        Assert.That(() => SampleApp.Build(["--urls", "http://0.0.0.0:0"]),
            Throws.TypeOf<SampleStartupException>().With.Message.Contains("without an API key").And.Message.Contains("--apikey"));
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Build_NonLoopbackUrlWithKey_Starts(CancellationToken cancellationToken)
    {
        await using var app = SampleApp.Build(["--urls", "http://0.0.0.0:0", "--apikey", Key, "--Logging:LogLevel:Default", "Warning"]);
        await app.StartAsync(cancellationToken);
        int port = new Uri(app.Urls.First().Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)).Port;
        using var http = new HttpClient();
        using var content = new StringContent("SELECT 1", Encoding.UTF8);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/sql") { Content = content };
        request.Headers.Add("apikey", Key);
        using HttpResponseMessage response = await http.SendAsync(request, cancellationToken);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await app.StopAsync(cancellationToken);
    }

    [Test]
    public async Task Build_NoUrlConfigured_ListensOnLocalhost8080()
    {
        await using WebApplication app = SampleApp.Build(["--Logging:LogLevel:Default", "Warning"]);

        Assert.That(app.Configuration["urls"], Is.EqualTo("http://localhost:8080"));
    }

    [Test]
    public async Task Build_UrlsGiven_KeepsThem()
    {
        await using WebApplication app = SampleApp.Build(["--urls", "http://127.0.0.1:5123"]);

        Assert.That(app.Configuration["urls"], Is.EqualTo("http://127.0.0.1:5123"));
    }

    [Test]
    public async Task Build_RealtimeSocket_WaitsTenMinutesForSilentClients()
    {
        await using WebApplication app = SampleApp.Build(["--urls", "http://127.0.0.1:0"]);

        Assert.That(app.Services.GetRequiredService<IOptions<RealtimeWebSocketOptions>>().Value.IdleTimeout, Is.EqualTo(TimeSpan.FromMinutes(10)));
    }

    [Test]
    public void ExpandFlags_TutorialStartLine_BecomesConfigurationPairs()
    {
        Assert.That(
            SampleApp.ExpandFlags(["--memory", "--auth", "scram-sha-256", "--password", "s3cret", "--no-pg"]),
            Is.EqualTo(new[] { "--auth", "scram-sha-256", "--password", "s3cret", "--no-pg", "true" }));
    }

    [Test]
    public void ExpandFlags_MemoryWithDb_RefusesToStart() =>
        Assert.Throws<SampleStartupException>(() => SampleApp.ExpandFlags(["--memory", "--db", "x.db"]));

    [Test]
    public void Build_TutorialStartLine_ConfiguresScramWithThePassword()
    {
        WebApplication app = SampleApp.Build(["--memory", "--auth", "scram-sha-256", "--password", "s3cret", "--pg-port", "0"]);
        SampleOptions options = app.Services.GetRequiredService<IOptions<SampleOptions>>().Value;
        using (Assert.EnterMultipleScope())
        {
            Assert.That((options.Database, options.Password, options.PgPort, options.NoPg), Is.EqualTo(((string?)null, "s3cret", (int?)0, false)));
            Assert.That(app.Services.GetRequiredService<HeliosNano.Realtime.Sample.Pg.PgListener>().AuthMethod, Is.EqualTo("scram-sha-256"));
        }
    }

    [TestCase("/")]
    [TestCase("/index.html")]
    [TestCase("/api/info")]
    [CancelAfter(15_000)]
    public async Task Dashboard_AnyResponse_CannotBeFramedByAnotherSite(string path, CancellationToken cancellationToken)
    {
        await using SampleServer server = await SampleServer.StartAsync();
        using HttpResponseMessage response = await server.Http.GetAsync(path, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Headers.GetValues("X-Frame-Options"), Is.EqualTo(new[] { "DENY" }));
            Assert.That(response.Headers.GetValues("Content-Security-Policy"), Is.EqualTo(new[] { "frame-ancestors 'none'" }));
        }
    }
}
