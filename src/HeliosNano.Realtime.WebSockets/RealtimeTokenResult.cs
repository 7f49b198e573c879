using System.Security.Claims;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>What <see cref="RealtimeTokenValidator"/> made of a token: a principal and its expiry, or Supabase's error.</summary>
/// <param name="Principal">The validated principal, or <see langword="null"/> on failure.</param>
/// <param name="Token">The token, kept to recognise an identical refresh; never logged or echoed.</param>
/// <param name="Expires">The token's <c>exp</c>; <see langword="null"/> for a principal without a token (anonymous, cookie).</param>
/// <param name="Code">The error code, e.g. <c>InvalidJWTToken</c>; <see langword="null"/> on success.</param>
/// <param name="Message">The error text, e.g. <c>Token has expired 3 seconds ago</c>; it never contains the token.</param>
internal sealed record RealtimeTokenResult(ClaimsPrincipal? Principal, string? Token, DateTimeOffset? Expires, string? Code, string? Message)
{
    public bool Succeeded => Principal is not null;

    /// <summary>Gets the join refusal reason, <c>Code: Message</c>.</summary>
    public string Reason => Code + ": " + Message;

    public static RealtimeTokenResult Fail(string code, string message) => new(null, null, null, code, message);
}
