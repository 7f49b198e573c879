using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>Maps the realtime WebSocket endpoint.</summary>
public static class RealtimeEndpointRouteBuilderExtensions
{
    /// <summary>The path Supabase clients connect to: <c>/realtime/v1/websocket</c>.</summary>
    public const string DefaultPattern = "/realtime/v1/websocket";

    /// <summary>The prefix of Supabase's REST broadcast endpoints: <c>/realtime/v1/api</c> (supabase-js derives it from the socket URL).</summary>
    public const string DefaultApiPrefix = "/realtime/v1/api";

    /// <summary>
    /// Maps Supabase's REST broadcast under <paramref name="prefix"/>: <c>POST {prefix}/broadcast</c> with
    /// <c>{"messages":[{"topic","event","payload","private"}]}</c> (what <c>channel.send()</c> uses while the channel is
    /// not joined) and <c>POST {prefix}/broadcast/{topic}/events/{event}</c> with the payload as the body, JSON or
    /// <c>application/octet-stream</c> (what <c>channel.httpSend()</c> calls). Both answer 202 with an empty body and
    /// deliver to every channel on the topic; a bad body gets a 4xx with a JSON error.
    /// </summary>
    /// <remarks>
    /// Requires <see cref="RealtimeWebSocketServiceCollectionExtensions.AddHeliosRealtimeWebSockets"/>. The endpoints
    /// authorize nothing themselves (<c>apikey</c> and <c>Authorization</c> are ignored, <c>private</c> is treated as
    /// public): chain <c>RequireAuthorization()</c> on the returned builder.
    /// </remarks>
    /// <param name="endpoints">The endpoint route builder (the <c>WebApplication</c>).</param>
    /// <param name="prefix">The route prefix. The default is <c>/realtime/v1/api</c>.</param>
    /// <returns>A builder for both endpoints, to add conventions such as <c>RequireAuthorization()</c>.</returns>
    public static IEndpointConventionBuilder MapHeliosRealtimeBroadcast(this IEndpointRouteBuilder endpoints, string prefix = DefaultApiPrefix)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        RealtimeBroadcaster broadcaster = endpoints.ServiceProvider.GetService<RealtimeBroadcaster>()
            ?? throw new InvalidOperationException("Call 'services.AddHeliosRealtimeWebSockets()' before mapping the broadcast endpoints.");
        RealtimeWebSocketOptions options = endpoints.ServiceProvider.GetService<IOptions<RealtimeWebSocketOptions>>()?.Value ?? new RealtimeWebSocketOptions();
        var handlers = new RealtimeBroadcastEndpoints(broadcaster, options.MaxBroadcastPayloadBytes);
        RouteGroupBuilder group = endpoints.MapGroup(prefix);
        group.MapPost("/broadcast", handlers.HandleBatchAsync).WithDisplayName("HeliosNano Realtime broadcast (batch)");
        group.MapPost("/broadcast/{topic}/events/{event}", handlers.HandleSingleAsync).WithDisplayName("HeliosNano Realtime broadcast");
        return group;
    }

    /// <summary>
    /// Maps the Phoenix / Supabase Realtime WebSocket endpoint at <paramref name="pattern"/>: clients join channels
    /// with <c>postgres_changes</c> bindings and receive every matching change committed through the registered
    /// <see cref="ChangeNotifier"/>. The endpoint carries its own WebSocket middleware, so the app needs no
    /// <c>UseWebSockets()</c>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Protocol: vsn 1.0.0 (object frames, the default) or 2.0.0 (array frames) from the query string; <c>phx_join</c>
    /// with <c>config.postgres_changes</c> (bindings echoed in order with stable ids) or without <c>config</c>
    /// (<c>realtime:schema:table[:filter]</c>, <c>realtime:*</c>, <c>realtime:table</c>), <c>phx_leave</c>,
    /// <c>heartbeat</c>, <c>access_token</c>.
    /// </para>
    /// <para>
    /// Change frames: event <c>postgres_changes</c>, payload <c>{"ids":[…],"data":{schema, table, commit_timestamp,
    /// type, columns, errors, record, old_record}, …the same fields flat…, "seq":N}</c>. <c>seq</c> is the change's
    /// <see cref="ChangeEvent.Sequence"/>; a client that joins with <c>config.postgres_changes_options.last_seq = N</c> (or
    /// <c>config.heliosnano.last_seq</c>) first gets
    /// the retained changes after N, or a <c>system</c> lag message when they were already overwritten.
    /// </para>
    /// <para>
    /// Auth (<see cref="RealtimeWebSocketOptions.Auth"/>): tokens are validated by the host's authentication scheme,
    /// channel policies through <c>IAuthorizationService</c>, row-level policies at fan-out; <c>config.private: true</c> is
    /// enforced once a scheme or a private-channel policy is configured, and treated as public otherwise. The
    /// <see cref="RealtimeWebSocketOptions.AuthorizeJoin"/> callback and conventions such as <c>RequireAuthorization()</c>
    /// apply as well.
    /// </para>
    /// <para>
    /// Broadcast: a <c>broadcast</c> push on a joined channel (text on vsn 1.0.0 and 2.0.0, or a vsn 2.0.0 binary kind-3
    /// frame) reaches every channel on the topic, honouring <c>config.broadcast.self</c> and <c>config.broadcast.ack</c>
    /// and <see cref="RealtimeWebSocketOptions.MaxBroadcastPayloadBytes"/>. A vsn 2.0.0 client receives binary kind-4
    /// frames once it has pushed a kind-3 frame itself (realtime-js), JSON arrays otherwise (phoenix.js).
    /// </para>
    /// <para>
    /// Presence: <c>track</c> / <c>untrack</c> pushes are always answered; a join with <c>config.presence.enabled</c>
    /// gets <c>presence_state</c> after its reply, then <c>presence_diff</c>s in order; what a channel tracked leaves
    /// however the channel ends.
    /// </para>
    /// <para>
    /// If no <see cref="ChangeNotifier"/> is registered, a client is sent one <c>system</c> error ("Realtime
    /// notifications are not enabled on this server") and the socket is closed.
    /// </para>
    /// </remarks>
    /// <param name="endpoints">The endpoint route builder (the <c>WebApplication</c>).</param>
    /// <param name="pattern">The route pattern. The default is <c>/realtime/v1/websocket</c>.</param>
    /// <param name="configure">Adjusts the options for this endpoint, on top of <c>AddHeliosRealtimeWebSockets</c>'s.</param>
    /// <returns>A builder to add conventions such as <c>RequireAuthorization()</c> or <c>RequireCors()</c>.</returns>
    public static IEndpointConventionBuilder MapHeliosRealtime(this IEndpointRouteBuilder endpoints, string pattern = DefaultPattern, Action<RealtimeWebSocketOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        RealtimeWebSocketOptions options = (endpoints.ServiceProvider.GetService<IOptions<RealtimeWebSocketOptions>>()?.Value ?? new RealtimeWebSocketOptions()).Clone();
        configure?.Invoke(options);
        options.Validate();

        var handler = new RealtimeWebSocketHandler(options, endpoints.ServiceProvider);

        // A sub-pipeline with its own WebSocket middleware, as SignalR's MapConnections: mounting takes one line.
        IApplicationBuilder pipeline = endpoints.CreateApplicationBuilder();
        // ASP.NET's default keep-alive (an unsolicited pong every 2 minutes) stays on: Phoenix heartbeats only flow
        // client to server, and the pongs keep idle NAT and proxy mappings warm in the other direction at no cost.
        pipeline.UseWebSockets();
        pipeline.Run(handler.HandleAsync);
        RequestDelegate app = pipeline.Build();
        return endpoints.Map(pattern, app).WithDisplayName("HeliosNano Realtime WebSocket");
    }
}
