using System.Globalization;
using System.Security.Claims;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>Reads Supabase-style claims from a principal, whether or not the scheme mapped their names (JwtBearer's <c>MapInboundClaims</c>).</summary>
internal static class RealtimeClaims
{
    public static string? Get(ClaimsPrincipal principal, string name)
    {
        string? value = principal.FindFirst(name)?.Value;
        if (value is not null)
        {
            return value;
        }

        string? mapped = name switch
        {
            "sub" => ClaimTypes.NameIdentifier,
            "role" => ClaimTypes.Role,
            "email" => ClaimTypes.Email,
            _ => null,
        };
        return mapped is null ? null : principal.FindFirst(mapped)?.Value;
    }

    /// <summary>Reads <c>exp</c> (seconds since the epoch; a decimal one is rounded, as Supabase).</summary>
    public static bool TryGetExpiry(ClaimsPrincipal principal, out DateTimeOffset expires)
    {
        expires = default;
        string? text = principal.FindFirst("exp")?.Value;
        if (text is null || !decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out decimal seconds)
            || seconds < 0 || seconds > 253402300799m)
        {
            return false;
        }

        expires = DateTimeOffset.FromUnixTimeSeconds((long)Math.Round(seconds, MidpointRounding.AwayFromZero));
        return true;
    }
}
