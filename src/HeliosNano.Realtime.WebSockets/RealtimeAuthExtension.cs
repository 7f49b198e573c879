using System.Security.Claims;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// Authentication and channel authorization for one connection: the token of each join (its <c>access_token</c> or
/// the connection's), Supabase's join error reasons and back-off, the decisions cached per channel, refreshes by
/// <c>access_token</c> push, and the expiry check at min(<see cref="RealtimeAuthOptions.MaxTokenCheckInterval"/>, exp − now).
/// </summary>
/// <remarks>Runs on the connection loop only; timers only signal it.</remarks>
internal sealed class RealtimeAuthExtension
{
    private readonly RealtimeConnection _connection;
    private readonly RealtimeChannelCollection _channels;
    private readonly RealtimeAuthServices _services;
    private readonly RealtimeTokenResult _connectionIdentity;

    /// <summary>The last in-band token validated on this connection, so the same token on N joins is validated once.</summary>
    private RealtimeTokenResult? _lastValidated;

    public RealtimeAuthExtension(RealtimeConnection connection, RealtimeChannelCollection channels, RealtimeAuthServices services, RealtimeTokenResult connectionIdentity)
    {
        _connection = connection;
        _channels = channels;
        _services = services;
        _connectionIdentity = connectionIdentity;
    }

    /// <summary>Gets whether <c>config.private</c> is enforced: a scheme validates tokens or a private-channel policy is set. Otherwise private channels are public ones, as before auth existed.</summary>
    public async ValueTask<bool> EnforcesPrivateAsync()
    {
        RealtimeAuthOptions o = _services.Options;
        return o.ReadBroadcastPolicy is not null || o.ReadPresencePolicy is not null || o.WriteBroadcastPolicy is not null || o.WritePresencePolicy is not null
            || await _services.Validator.GetSchemeAsync().ConfigureAwait(false) is not null;
    }

    /// <summary>Works out the principal of a join: its <c>access_token</c> when it is a token, else the connection's. A failure carries the join's reason.</summary>
    public async ValueTask<RealtimeTokenResult> AuthenticateJoinAsync(string? accessToken)
    {
        string? scheme = await _services.Validator.GetSchemeAsync().ConfigureAwait(false);
        if (scheme is null || !RealtimeTokenValidator.IsToken(accessToken) || string.Equals(accessToken!.Trim(), _connectionIdentity.Token, StringComparison.Ordinal))
        {
            return Recheck(_connectionIdentity);
        }

        return await ValidateAsync(scheme, accessToken).ConfigureAwait(false);
    }

    /// <summary>Decides the read policies of a join; returns the refusal reason or <see langword="null"/>.</summary>
    public async ValueTask<string?> AuthorizeJoinAsync(RealtimeChannelAuth auth, string name, bool isPrivate, IReadOnlyList<PostgresBinding> bindings)
    {
        foreach (PostgresBinding binding in bindings)
        {
            var resource = new RealtimeChannelResource(RealtimeChannelAccess.ReadChanges, name, isPrivate, binding.Schema, binding.Table);
            if (!await _services.AuthorizeAsync(auth.User, _services.Options.ReadChangesPolicy, resource).ConfigureAwait(false))
            {
                return $"Unauthorized: You do not have permissions to read from this table: {binding.Schema}.{binding.Table}";
            }
        }

        if (!isPrivate)
        {
            return null;
        }

        // As Supabase: the join passes when broadcast or presence may be read; the other one is then simply not delivered.
        auth.CanReadBroadcast = await AllowsAsync(auth, RealtimeChannelAccess.ReadBroadcast, name).ConfigureAwait(false);
        auth.CanReadPresence = await AllowsAsync(auth, RealtimeChannelAccess.ReadPresence, name).ConfigureAwait(false);
        return auth.CanReadBroadcast || auth.CanReadPresence
            ? null
            : "Unauthorized: You do not have permissions to read from this Channel topic: " + name;
    }

    /// <summary>Waits <see cref="RealtimeAuthOptions.JoinErrorBackoff"/> before a refused join's reply, as Supabase.</summary>
    public Task BackoffAsync() => _services.Options.JoinErrorBackoff > TimeSpan.Zero
        ? Task.Delay(_services.Options.JoinErrorBackoff, _services.TimeProvider)
        : Task.CompletedTask;

    /// <summary>Makes the channel's auth state: principal, expiry and row groups.</summary>
    public RealtimeChannelAuth CreateAuth(RealtimeTokenResult identity) =>
        new(identity.Principal ?? new ClaimsPrincipal(new ClaimsIdentity()), identity.Token, identity.Expires, _services.Rows);

    /// <summary>Arms the channel's expiry check at min(<see cref="RealtimeAuthOptions.MaxTokenCheckInterval"/>, exp − now).</summary>
    public void Schedule(RealtimeChannel channel)
    {
        if (channel.Auth is not { Expires: DateTimeOffset expires } auth)
        {
            return;
        }

        TimeSpan left = expires - _services.TimeProvider.GetUtcNow();
        TimeSpan due = left < _services.Options.MaxTokenCheckInterval ? left : _services.Options.MaxTokenCheckInterval;
        auth.Schedule(_services.TimeProvider, due < TimeSpan.Zero ? TimeSpan.Zero : due, _connection.RequestAuthCheck);
    }

    /// <summary>Checks every channel whose timer fired: an expired token ends the channel with Supabase's system message and <c>phx_close</c>.</summary>
    public async ValueTask RunDueChecksAsync()
    {
        foreach (RealtimeChannel channel in _channels.InOrder.ToArray())
        {
            if (channel.Auth is not { CheckDue: true, Expires: DateTimeOffset expires })
            {
                continue;
            }

            DateTimeOffset now = _services.TimeProvider.GetUtcNow();
            if (now < expires)
            {
                Schedule(channel);
                continue;
            }

            string message = RealtimeTokenValidator.ExpiredMessage(now, expires);
            RealtimeAuthLog.TokenExpired(_services.Logger, _connection.Id, channel.Topic);
            await EndChannelAsync(channel, message).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Handles an <c>access_token</c> push (never answered): a null, <c>sb_…</c> or identical token is ignored; a valid
    /// one replaces the channel's principal, resets its cached decisions and re-decides its reads; an invalid one, or
    /// a read no longer allowed, ends the channel with a <c>system</c> error and <c>phx_close</c>.
    /// </summary>
    public async ValueTask RefreshAsync(RealtimeChannel channel, string? token)
    {
        string? scheme = await _services.Validator.GetSchemeAsync().ConfigureAwait(false);
        if (scheme is null || !RealtimeTokenValidator.IsToken(token) || string.Equals(token!.Trim(), channel.Auth?.Token, StringComparison.Ordinal))
        {
            return;
        }

        RealtimeTokenResult result = await ValidateAsync(scheme, token).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            await EndChannelAsync(channel, result.Message!).ConfigureAwait(false);
            return;
        }

        RealtimeChannelAuth fresh = CreateAuth(result);
        RealtimeChannelAuth? old = channel.Auth;
        bool couldRead = old is null || old.CanReadBroadcast || old.CanReadPresence;
        string? refusal = await AuthorizeJoinAsync(fresh, channel.Name, channel.IsPrivate, channel.Bindings).ConfigureAwait(false);
        if (refusal is not null)
        {
            fresh.Dispose();
            string message = couldRead
                ? "You no longer have permission to read from this Channel topic: " + channel.Name
                : refusal["Unauthorized: ".Length..];
            await EndChannelAsync(channel, message).ConfigureAwait(false);
            return;
        }

        channel.Auth = fresh;
        old?.Dispose();
        Schedule(channel);
        RealtimeAuthLog.TokenRefreshed(_services.Logger, _connection.Id, channel.Topic);
    }

    /// <summary>Decides (once per token) whether the channel may send broadcasts or track presence.</summary>
    public async ValueTask<bool> CanWriteAsync(RealtimeChannel channel, RealtimeChannelAccess access)
    {
        if (!channel.IsPrivate || channel.Auth is not RealtimeChannelAuth auth)
        {
            return true;
        }

        bool? cached = access == RealtimeChannelAccess.WriteBroadcast ? auth.CanWriteBroadcast : auth.CanWritePresence;
        if (cached is bool known)
        {
            return known;
        }

        bool allowed = await AllowsAsync(auth, access, channel.Name).ConfigureAwait(false);
        if (access == RealtimeChannelAccess.WriteBroadcast)
        {
            auth.CanWriteBroadcast = allowed;
        }
        else
        {
            auth.CanWritePresence = allowed;
        }

        return allowed;
    }

    private async ValueTask<bool> AllowsAsync(RealtimeChannelAuth auth, RealtimeChannelAccess access, string name) =>
        await _services.AuthorizeAsync(auth.User, _services.PolicyFor(access), new RealtimeChannelResource(access, name, isPrivate: true, null, null)).ConfigureAwait(false);

    private async ValueTask<RealtimeTokenResult> ValidateAsync(string scheme, string token)
    {
        token = token.Trim();
        if (_lastValidated is { } last && string.Equals(last.Token, token, StringComparison.Ordinal))
        {
            return Recheck(last);
        }

        RealtimeTokenResult result = await _services.Validator.ValidateAsync(scheme, token, _connection.HttpContext.RequestAborted).ConfigureAwait(false);
        if (result.Succeeded)
        {
            _lastValidated = result;
        }

        return result;
    }

    /// <summary>A principal validated earlier is still bound by its expiry.</summary>
    private RealtimeTokenResult Recheck(RealtimeTokenResult identity)
    {
        if (identity.Expires is DateTimeOffset expires && expires <= _services.TimeProvider.GetUtcNow())
        {
            return RealtimeTokenResult.Fail(RealtimeTokenValidator.InvalidJwtToken, RealtimeTokenValidator.ExpiredMessage(_services.TimeProvider.GetUtcNow(), expires));
        }

        return identity;
    }

    private async ValueTask EndChannelAsync(RealtimeChannel channel, string message)
    {
        await _channels.RemoveAsync(channel).ConfigureAwait(false);
        _connection.OnChannelRemoved();
        await _connection.SendSystemAsync(channel, "system", "error", message).ConfigureAwait(false);
        await _connection.SendCloseAsync(channel).ConfigureAwait(false);
    }
}
