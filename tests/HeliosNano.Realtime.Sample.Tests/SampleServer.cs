using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace HeliosNano.Realtime.Sample.Tests;

/// <summary>The real sample server, in process on Kestrel at 127.0.0.1 on a free port, plus small client helpers.</summary>
internal sealed class SampleServer : IAsyncDisposable
{
    private SampleServer(WebApplication app, Uri address)
    {
        App = app;
        Address = address;
        Http = new HttpClient { BaseAddress = address };
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    public HttpClient Http { get; }

    /// <summary>Gets the port the PostgreSQL protocol listener chose (with <c>--pg-port 0</c>).</summary>
    public int PgPort => App.Services.GetRequiredService<HeliosNano.Realtime.Sample.Pg.PgListener>().Port;

    public Uri WebSocketUri => new($"ws://{Address.Authority}/realtime/v1/websocket");

    public static async Task<SampleServer> StartAsync(params string[] args)
    {
        // The PostgreSQL listener is off unless a test asks for it (with --pg-port 0): 5432 may be taken on the machine.
        string[] pg = args.Any(a => a.StartsWith("--pg-port", StringComparison.Ordinal) || a == "--no-pg") ? [] : ["--no-pg"];
        string[] all = ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default", "Warning", .. pg, .. args];
        WebApplication app = SampleApp.Build(all);
        await app.StartAsync();
        return new SampleServer(app, new Uri(app.Urls.First()));
    }

    public async Task<(int Status, JsonElement Body)> PostSqlAsync(string sql, CancellationToken cancellationToken, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/sql") { Content = new StringContent(sql, Encoding.UTF8, "text/plain") };
        if (apiKey is not null)
        {
            request.Headers.Add("apikey", apiKey);
        }

        using HttpResponseMessage response = await Http.SendAsync(request, cancellationToken);
        return ((int)response.StatusCode, await ReadJsonAsync(response, cancellationToken));
    }

    public async Task<(int Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(
        HttpMethod method, string path, string? json, CancellationToken cancellationToken, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        foreach ((string name, string value) in headers)
        {
            if (name.Equals("Accept", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(value));
            }
            else
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        HttpResponseMessage response = await Http.SendAsync(request, cancellationToken);
        return ((int)response.StatusCode, await ReadJsonAsync(response, cancellationToken), response);
    }

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string text = await response.Content.ReadAsStringAsync(cancellationToken);
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<ClientWebSocket> ConnectAsync(CancellationToken cancellationToken, string? query = null)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(WebSocketUri + (query ?? string.Empty)), cancellationToken);
        return socket;
    }

    public static Task SendFrameAsync(ClientWebSocket socket, string json, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    public static async Task<JsonElement> ReceiveFrameAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        using var message = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, cancellationToken);
            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);
        return JsonDocument.Parse(message.ToArray()).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
