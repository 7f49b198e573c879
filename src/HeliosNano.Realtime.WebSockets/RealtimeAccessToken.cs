using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>Where realtime clients put their token on the WebSocket upgrade, for the host's authentication scheme.</summary>
/// <remarks>
/// Browsers cannot set headers on a WebSocket upgrade, so supabase-js sends its key as <c>?apikey=</c> and phoenix.js
/// as <c>?token=</c>. For <c>MapHeliosRealtime().RequireAuthorization()</c> to see that token, let JwtBearer read it:
/// <code>
/// o.Events = new JwtBearerEvents { OnMessageReceived = c =&gt; { c.Token ??= RealtimeAccessToken.FromQuery(c.Request); return Task.CompletedTask; } };
/// </code>
/// Without <c>RequireAuthorization</c> this is not needed: the endpoint validates a query token through the scheme itself.
/// </remarks>
public static class RealtimeAccessToken
{
    /// <summary>
    /// Returns the upgrade request's query token: <c>token</c>, else a JWT-shaped <c>apikey</c>, or <see langword="null"/>
    /// when there is none, the request is not a WebSocket handshake, or the value is a key and no token (<c>sb_…</c>, or
    /// an <c>apikey</c> that is not JWT-shaped).
    /// </summary>
    /// <param name="request">The request.</param>
    /// <returns>The token, or <see langword="null"/>.</returns>
    public static string? FromQuery(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Authentication runs before the endpoint's WebSocket middleware, so IsWebSocketRequest is not known yet: read the
        // handshake's headers (HTTP/1.1 Upgrade, or an HTTP/2 extended CONNECT).
        bool upgrade = request.Headers.Upgrade.ToString().Contains("websocket", StringComparison.OrdinalIgnoreCase)
            || HttpMethods.IsConnect(request.Method);
        if (!upgrade)
        {
            return null;
        }

        string? token = GetQueryValue(request, "token");
        if (RealtimeTokenValidator.IsToken(token))
        {
            return token!.Trim();
        }

        string? apiKey = GetQueryValue(request, "apikey");
        return RealtimeTokenValidator.IsApiKeyToken(apiKey) ? apiKey!.Trim() : null;
    }

    /// <summary>
    /// Returns a query parameter as the client sent it: for <c>apikey</c> and <c>token</c>, the value from before
    /// <see cref="RealtimeAuthServiceCollectionExtensions.AddHeliosRealtimeQueryTokenRedaction"/> replaced it with
    /// <c>redacted</c>; for other parameters, the current value.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="name">The parameter's name.</param>
    /// <returns>The values, or none.</returns>
    public static StringValues GetQueryValue(HttpRequest request, string name)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(name);
        return request.HttpContext.Features.Get<RealtimeQueryTokenRedaction.RedactedQuery>() is { } redacted && redacted.Get(name) is { Count: > 0 } original
            ? original
            : request.Query[name];
    }
}
