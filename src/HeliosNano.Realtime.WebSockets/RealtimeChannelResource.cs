namespace HeliosNano.Realtime.WebSockets;

/// <summary>What a channel asks to do, checked by a <see cref="RealtimeAuthOptions"/> policy.</summary>
public enum RealtimeChannelAccess
{
    /// <summary>Receive one table's <c>postgres_changes</c>.</summary>
    ReadChanges,

    /// <summary>Receive broadcasts on a private channel.</summary>
    ReadBroadcast,

    /// <summary>Send broadcasts on a private channel.</summary>
    WriteBroadcast,

    /// <summary>Receive presence on a private channel.</summary>
    ReadPresence,

    /// <summary>Track presence on a private channel.</summary>
    WritePresence,
}

/// <summary>
/// The resource an authorization policy sees (<c>IAuthorizationService.AuthorizeAsync(user, resource, policy)</c>):
/// e.g. <c>policy.RequireAssertion(c =&gt; c.Resource is RealtimeChannelResource { Topic: var t } &amp;&amp; t.StartsWith(...))</c>.
/// </summary>
public sealed class RealtimeChannelResource
{
    internal RealtimeChannelResource(RealtimeChannelAccess access, string topic, bool isPrivate, string? schema, string? table)
    {
        Access = access;
        Topic = topic;
        IsPrivate = isPrivate;
        Schema = schema;
        Table = table;
    }

    /// <summary>Gets what is asked.</summary>
    public RealtimeChannelAccess Access { get; }

    /// <summary>Gets the sub-topic, without <c>realtime:</c> (Supabase's <c>realtime.topic()</c>), e.g. <c>room1</c>.</summary>
    public string Topic { get; }

    /// <summary>Gets a value indicating whether the channel was joined with <c>config.private: true</c>.</summary>
    public bool IsPrivate { get; }

    /// <summary>Gets the schema for <see cref="RealtimeChannelAccess.ReadChanges"/> (<c>*</c> for all), otherwise <see langword="null"/>.</summary>
    public string? Schema { get; }

    /// <summary>Gets the table for <see cref="RealtimeChannelAccess.ReadChanges"/> (<c>*</c> for all), otherwise <see langword="null"/>.</summary>
    public string? Table { get; }

    /// <inheritdoc/>
    public override string ToString() => Table is null ? $"{Access} {Topic}" : $"{Access} {Schema}.{Table}";
}
