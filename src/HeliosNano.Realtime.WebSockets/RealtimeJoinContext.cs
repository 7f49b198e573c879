using Microsoft.AspNetCore.Http;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>One binding of a <c>phx_join</c>, given to <see cref="RealtimeWebSocketOptions.AuthorizeJoin"/>.</summary>
public sealed class RealtimeJoinContext
{
    internal RealtimeJoinContext(HttpContext httpContext, string topic, string eventName, string schema, string table, string? filter, string? accessToken, System.Security.Claims.ClaimsPrincipal user)
    {
        User = user;
        HttpContext = httpContext;
        Topic = topic;
        Event = eventName;
        Schema = schema;
        Table = table;
        Filter = filter;
        AccessToken = accessToken;
    }

    /// <summary>
    /// Gets who the channel acts as: the principal of the join's <c>access_token</c> as the configured authentication
    /// scheme validated it, else the connection's (<c>HttpContext.User</c>).
    /// </summary>
    public System.Security.Claims.ClaimsPrincipal User { get; }

    /// <summary>Gets the WebSocket upgrade request's context (user, query string with <c>apikey</c>, services).</summary>
    public HttpContext HttpContext { get; }

    /// <summary>Gets the joined topic, e.g. <c>realtime:orders</c>.</summary>
    public string Topic { get; }

    /// <summary>Gets the binding's event: <c>*</c>, <c>INSERT</c>, <c>UPDATE</c> or <c>DELETE</c>.</summary>
    public string Event { get; }

    /// <summary>Gets the schema, or <c>*</c> for every schema.</summary>
    public string Schema { get; }

    /// <summary>Gets the table, or <c>*</c> for every table.</summary>
    public string Table { get; }

    /// <summary>Gets the binding's row filter (<c>col=op.value,…</c>), or <see langword="null"/>.</summary>
    public string? Filter { get; }

    /// <summary>Gets the join's <c>access_token</c> (or <c>user_token</c>), or <see langword="null"/> when it has none.</summary>
    public string? AccessToken { get; }
}
