using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>The request delegate behind one mapped endpoint: checks the upgrade, picks the serializer, runs a <see cref="RealtimeConnection"/>.</summary>
internal sealed class RealtimeWebSocketHandler
{
    /// <summary>The tutorial's one-shot message when the host never called <c>AddHeliosRealtime()</c>.</summary>
    internal const string NotEnabledMessage = "Realtime notifications are not enabled on this server";

    private readonly RealtimeWebSocketOptions _options;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    private readonly RealtimeWebSocketMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly RealtimeTopicManager _topics;
    private readonly RealtimeOriginPolicy _origins;
    private readonly RealtimeConnectionLimiter _connections;
    private readonly RealtimePresenceTracker _presence;
    private readonly RealtimeAuthServices _auth;
    private long _nextConnectionId;

    public RealtimeWebSocketHandler(RealtimeWebSocketOptions options, IServiceProvider services)
    {
        _options = options;
        _services = services;
        _logger = services.GetService<ILoggerFactory>()?.CreateLogger("HeliosNano.Realtime.WebSockets.RealtimeConnection") ?? NullLogger.Instance;
        _metrics = services.GetService<RealtimeWebSocketMetrics>() ?? new RealtimeWebSocketMetrics(services.GetService<IMeterFactory>());
        _timeProvider = services.GetService<TimeProvider>() ?? TimeProvider.System;
        _origins = new RealtimeOriginPolicy(options.AllowedOrigins, options.ValidateOrigin, services);
        _connections = new RealtimeConnectionLimiter(options.MaxConnections);
        _auth = new RealtimeAuthServices(options.Auth, services, _timeProvider, _logger);

        // Without AddHeliosRealtimeWebSockets the endpoint still works, with topics shared by its own connections only.
        _topics = services.GetService<RealtimeTopicManager>() ?? new DefaultRealtimeTopicManager();
        RealtimePresenceTracker? presence = services.GetService<RealtimePresenceTracker>();
        _presence = presence is not null && ReferenceEquals(services.GetService<RealtimeTopicManager>(), _topics) ? presence : new RealtimePresenceTracker(_topics);
    }

    internal RealtimeWebSocketMetrics Metrics => _metrics;

    /// <summary>Gets the endpoint's auth parts (row policy groups and their evaluation count), for tests and benchmarks.</summary>
    internal RealtimeAuthServices Auth => _auth;

    /// <summary>Gets the endpoint's connection count, for tests.</summary>
    internal RealtimeConnectionLimiter Connections => _connections;

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("Expected a WebSocket upgrade request.").ConfigureAwait(false);
            return;
        }

        // vsn 1.0.0 (object frames) is the Phoenix default when absent; Supabase accepts ~> 1.0.0 and ~> 2.0.0.
        string? vsn = context.Request.Query["vsn"];
        bool arrayFormat;
        if (string.IsNullOrEmpty(vsn) || vsn.StartsWith("1.", StringComparison.Ordinal))
        {
            arrayFormat = false;
        }
        else if (vsn.StartsWith("2.", StringComparison.Ordinal))
        {
            arrayFormat = true;
        }
        else
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"error\":\"Unsupported vsn: use 1.0.0 or 2.0.0\"}").ConfigureAwait(false);
            return;
        }

        // Before the upgrade: a page from another site must not get a socket that carries its visitor's cookies.
        if (!await _origins.IsAllowedAsync(context.Request).ConfigureAwait(false))
        {
            RealtimeConnection.Log.OriginRefused(_logger, context.Request.Headers.Origin.ToString());
            await RealtimeOriginPolicy.RefuseAsync(context).ConfigureAwait(false);
            return;
        }

        // Who is connecting, before a connection slot is taken: a bad token waits, then gets a 401 (never echoed).
        RealtimeTokenResult identity = await _auth.AuthenticateUpgradeAsync(context).ConfigureAwait(false);
        if (!identity.Succeeded)
        {
            RealtimeAuthLog.UpgradeRefused(_logger, identity.Code!, identity.Message!);
            if (_options.Auth.ConnectErrorBackoff > TimeSpan.Zero)
            {
                await Task.Delay(_options.Auth.ConnectErrorBackoff, _timeProvider, context.RequestAborted).ConfigureAwait(false);
            }

            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"error\":\"" + JsonEncodedText.Encode(identity.Message!) + "\"}").ConfigureAwait(false);
            return;
        }

        if (!_connections.TryAcquire())
        {
            RealtimeConnection.Log.ConnectionLimitReached(_logger, _options.MaxConnections);
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"error\":\"" + RealtimeConnectionLimiter.RefusalMessage + "\"}").ConfigureAwait(false);
            return;
        }

        try
        {
            await RunAsync(context, arrayFormat, identity).ConfigureAwait(false);
        }
        finally
        {
            _connections.Release();
        }
    }

    private async Task RunAsync(HttpContext context, bool arrayFormat, RealtimeTokenResult identity)
    {
        // phoenix.js offers ["phoenix", "base64url.bearer.phx.…"] when it has an auth token; browsers abort unless one is selected.
        string? subProtocol = context.WebSockets.WebSocketRequestedProtocols.Contains("phoenix") ? "phoenix" : null;
        string id = "ws-" + Interlocked.Increment(ref _nextConnectionId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        bool hasApiKey = !string.IsNullOrEmpty(context.Request.Query["apikey"]) || context.Request.Headers.ContainsKey("x-api-key");
        bool hasToken = !string.IsNullOrEmpty(context.Request.Query["token"]);
        RealtimeConnection.Log.Connected(_logger, id, arrayFormat ? "2.0.0" : "1.0.0", hasApiKey, hasToken);

        using WebSocket socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { SubProtocol = subProtocol }).ConfigureAwait(false);
        ChangeNotifier? notifier = context.RequestServices.GetService<ChangeNotifier>() ?? _services.GetService<ChangeNotifier>();
        if (notifier is null)
        {
            RealtimeConnection.Log.NotifierMissing(_logger);
            await SendNotEnabledAsync(socket, arrayFormat, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        CancellationToken stopping = context.RequestServices.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        // Replay beyond the ring, when a scale-out backplane registered its shared log (one look-up per connection).
        IChangeHistory? history = context.RequestServices.GetService<IChangeHistory>() ?? _services.GetService<IChangeHistory>();
        using var connection = new RealtimeConnection(socket, context, _options, notifier, _topics, _presence, _metrics, _logger, _timeProvider, arrayFormat, id, _auth, identity, history);
        await connection.RunAsync(stopping).ConfigureAwait(false);
    }

    private async Task SendNotEnabledAsync(WebSocket socket, bool arrayFormat, CancellationToken cancellationToken)
    {
        using var frames = new PhoenixFrameWriter(arrayFormat);
        Utf8JsonWriter w = frames.Begin(null, null, "phoenix", JsonEncodedText.Encode("system"));
        w.WriteStartObject();
        w.WriteString("extension"u8, "system");
        w.WriteString("status"u8, "error");
        w.WriteString("message"u8, NotEnabledMessage);
        w.WriteString("channel"u8, string.Empty);
        w.WriteEndObject();
        try
        {
            await socket.SendAsync(frames.End(), WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
            _metrics.FramesSent.Add(1);
            await socket.CloseOutputAsync(WebSocketCloseStatus.InternalServerError, "realtime not enabled", cancellationToken).ConfigureAwait(false);

            // Wait briefly for the client's close so the close handshake completes.
            using var timeout = new CancellationTokenSource(_options.CloseTimeout, _timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            byte[] sink = new byte[256];
            while (socket.State == WebSocketState.CloseSent)
            {
                ValueWebSocketReceiveResult result = await socket.ReceiveAsync(sink.AsMemory(), linked.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            RealtimeConnection.Log.ConnectionAborted(_logger, "(notifier missing)", e.Message);
        }
    }
}
