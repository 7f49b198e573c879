namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// How the realtime endpoint authenticates tokens and authorizes channels (<see cref="RealtimeWebSocketOptions.Auth"/>).
/// </summary>
/// <remarks>
/// <para>
/// Tokens are validated by an ASP.NET Core authentication scheme the host registers (typically
/// <c>AddAuthentication().AddJwtBearer(...)</c>): the one named by <see cref="Scheme"/>, or the default authenticate
/// scheme. With no scheme registered, tokens are not looked at and every connection is the upgrade request's
/// <c>HttpContext.User</c>. A token is read from the upgrade's <c>Authorization: Bearer</c> header (through the
/// authentication middleware), its <c>?token=</c> or <c>?apikey=</c> query parameter, a join's <c>access_token</c> and
/// later <c>access_token</c> pushes; <c>sb_…</c> keys are not tokens and are ignored, as on Supabase.
/// </para>
/// <para>
/// Decisions are named ASP.NET Core authorization policies evaluated through <c>IAuthorizationService</c> with a
/// <see cref="RealtimeChannelResource"/> as the resource; <see langword="null"/> allows on public channels and refuses on
/// private ones (<c>config.private: true</c>), as a private Supabase channel without a policy.
/// </para>
/// </remarks>
public sealed class RealtimeAuthOptions
{
    /// <summary>The default of <see cref="JoinErrorBackoff"/>: 5 seconds (Supabase's <c>CHANNEL_ERROR_BACKOFF_MS</c>).</summary>
    public static readonly TimeSpan DefaultJoinErrorBackoff = TimeSpan.FromSeconds(5);

    /// <summary>The default of <see cref="ConnectErrorBackoff"/>: 2 seconds (Supabase's <c>CONNECT_ERROR_BACKOFF_MS</c>).</summary>
    public static readonly TimeSpan DefaultConnectErrorBackoff = TimeSpan.FromSeconds(2);

    /// <summary>The default of <see cref="MaxTokenCheckInterval"/>: 5 minutes, as Supabase.</summary>
    public static readonly TimeSpan DefaultMaxTokenCheckInterval = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Gets or sets the authentication scheme that validates tokens. The default is <see langword="null"/>: the
    /// default authenticate scheme, if any.
    /// </summary>
    public string? Scheme { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether a token must carry the <c>role</c> claim (the <c>exp</c> claim is always
    /// required), as Supabase: <c>Fields `role` and `exp` are required in JWT</c>. The default is <see langword="true"/>.
    /// </summary>
    public bool RequireRoleClaim { get; set; } = true;

    /// <summary>
    /// Gets or sets how long a join refused for its token or a policy waits before its error reply, so a client that
    /// hammers joins with bad tokens is slowed (its connection answers nothing else meanwhile). The default is 5 seconds.
    /// </summary>
    public TimeSpan JoinErrorBackoff { get; set; } = DefaultJoinErrorBackoff;

    /// <summary>Gets or sets how long an upgrade with an invalid token waits before its 401. The default is 2 seconds.</summary>
    public TimeSpan ConnectErrorBackoff { get; set; } = DefaultConnectErrorBackoff;

    /// <summary>
    /// Gets or sets the longest time between two checks of a channel's token: it is checked at
    /// min(this, exp − now), so exactly at its expiry. The default is 5 minutes.
    /// </summary>
    public TimeSpan MaxTokenCheckInterval { get; set; } = DefaultMaxTokenCheckInterval;

    /// <summary>Gets or sets the policy that decides whether a channel may read a table's changes (<see cref="RealtimeChannelAccess.ReadChanges"/>).</summary>
    public string? ReadChangesPolicy { get; set; }

    /// <summary>Gets or sets the policy for receiving broadcasts on a private channel. <see langword="null"/> refuses.</summary>
    public string? ReadBroadcastPolicy { get; set; }

    /// <summary>Gets or sets the policy for sending broadcasts on a private channel (denied sends are dropped silently, as Supabase). <see langword="null"/> refuses.</summary>
    public string? WriteBroadcastPolicy { get; set; }

    /// <summary>Gets or sets the policy for receiving presence on a private channel. <see langword="null"/> refuses.</summary>
    public string? ReadPresencePolicy { get; set; }

    /// <summary>Gets or sets the policy for tracking presence on a private channel (a denied track is answered with an error). <see langword="null"/> refuses.</summary>
    public string? WritePresencePolicy { get; set; }

    /// <summary>
    /// Gets the row-level policies applied to <c>postgres_changes</c>; a table with none is fully visible. They may change
    /// while the endpoint runs.
    /// </summary>
    public RealtimeRowPolicyCollection RowPolicies { get; private set; } = [];

    /// <summary>Gets the <c>role</c> claim values that bypass row policies. The default holds <c>service_role</c>, as Supabase.</summary>
    public ISet<string> BypassRowPolicyRoles { get; private set; } = new HashSet<string>(StringComparer.Ordinal) { "service_role" };

    internal RealtimeAuthOptions Clone()
    {
        var clone = (RealtimeAuthOptions)MemberwiseClone();
        clone.RowPolicies = [.. RowPolicies.Snapshot()];
        clone.BypassRowPolicyRoles = new HashSet<string>(BypassRowPolicyRoles, StringComparer.Ordinal);
        return clone;
    }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(JoinErrorBackoff, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(ConnectErrorBackoff, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MaxTokenCheckInterval, TimeSpan.Zero);
    }
}
