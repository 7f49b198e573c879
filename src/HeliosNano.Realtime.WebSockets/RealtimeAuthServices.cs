using System.Diagnostics.Metrics;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>One endpoint's authentication and authorization parts, shared by its connections.</summary>
internal sealed class RealtimeAuthServices
{
    public RealtimeAuthServices(RealtimeAuthOptions options, IServiceProvider services, TimeProvider timeProvider, ILogger logger)
    {
        Options = options;
        TimeProvider = timeProvider;
        Logger = logger;
        Validator = new RealtimeTokenValidator(services, options, timeProvider, logger);
        Authorization = services.GetService<IAuthorizationService>();
        Rows = new RowPolicyRegistry(options, logger, services.GetService<IMeterFactory>()?.Create(RealtimeWebSocketMetrics.MeterName));
    }

    public RealtimeAuthOptions Options { get; }

    public TimeProvider TimeProvider { get; }

    public ILogger Logger { get; }

    public RealtimeTokenValidator Validator { get; }

    public IAuthorizationService? Authorization { get; }

    public RowPolicyRegistry Rows { get; }

    /// <summary>
    /// Works out who an upgrade request is: the principal the authentication middleware set (a header token), else the
    /// token in <c>?token=</c>, <c>?apikey=</c> or <c>Authorization: Bearer</c> validated through the scheme, else
    /// <c>HttpContext.User</c> unauthenticated. With no scheme registered tokens are not looked at.
    /// </summary>
    public async ValueTask<RealtimeTokenResult> AuthenticateUpgradeAsync(HttpContext context)
    {
        string? scheme = await Validator.GetSchemeAsync().ConfigureAwait(false);
        if (scheme is null)
        {
            return new RealtimeTokenResult(context.User, null, null, null, null);
        }

        string? token = FindUpgradeToken(context.Request);
        ClaimsPrincipal user = context.User;
        if (user.Identity?.IsAuthenticated == true && RealtimeClaims.TryGetExpiry(user, out _))
        {
            // The middleware (or RequireAuthorization's policy) already ran the scheme on this request.
            return Validator.CheckClaims(user, token);
        }

        if (token is null)
        {
            return new RealtimeTokenResult(user, null, null, null, null);
        }

        RealtimeTokenResult result = await Validator.ValidateAsync(scheme, token, context.RequestAborted).ConfigureAwait(false);
        if (result.Succeeded)
        {
            // Endpoint code after this point (and the AuthorizeJoin callback) sees the same user.
            context.User = result.Principal!;
        }

        return result;
    }

    /// <summary>Gets the upgrade's token: <c>?token=</c>, then <c>Authorization: Bearer</c>, then <c>?apikey=</c>; <c>sb_…</c> keys are not tokens.</summary>
    public static string? FindUpgradeToken(HttpRequest request)
    {
        string? token = RealtimeAccessToken.GetQueryValue(request, "token");
        if (RealtimeTokenValidator.IsToken(token))
        {
            return token!.Trim();
        }

        string authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && RealtimeTokenValidator.IsToken(authorization[7..]))
        {
            return authorization[7..].Trim();
        }

        string? apiKey = RealtimeAccessToken.GetQueryValue(request, "apikey");
        return RealtimeTokenValidator.IsApiKeyToken(apiKey) ? apiKey!.Trim() : null;
    }

    /// <summary>Evaluates one named policy; <see langword="null"/> allows on public channels and refuses on private ones.</summary>
    public async ValueTask<bool> AuthorizeAsync(ClaimsPrincipal user, string? policy, RealtimeChannelResource resource)
    {
        if (policy is null)
        {
            return !resource.IsPrivate || resource.Access == RealtimeChannelAccess.ReadChanges;
        }

        if (Authorization is null)
        {
            throw new InvalidOperationException("A realtime authorization policy is configured but no IAuthorizationService is registered: call services.AddAuthorization().");
        }

        try
        {
            AuthorizationResult result = await Authorization.AuthorizeAsync(user, resource, policy).ConfigureAwait(false);
            return result.Succeeded;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A failing policy refuses; it never takes the connection down.
            RealtimeAuthLog.ChannelPolicyFailed(Logger, resource.Topic, policy, e);
            return false;
        }
    }

    /// <summary>Gets the policy name configured for <paramref name="access"/>.</summary>
    public string? PolicyFor(RealtimeChannelAccess access) => access switch
    {
        RealtimeChannelAccess.ReadChanges => Options.ReadChangesPolicy,
        RealtimeChannelAccess.ReadBroadcast => Options.ReadBroadcastPolicy,
        RealtimeChannelAccess.WriteBroadcast => Options.WriteBroadcastPolicy,
        RealtimeChannelAccess.ReadPresence => Options.ReadPresencePolicy,
        _ => Options.WritePresencePolicy,
    };
}
