using System.Globalization;
using System.Security.Claims;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// Reads Supabase-style claims from a principal, whether or not the scheme mapped their names (JwtBearer's
/// <c>MapInboundClaims</c>); <c>a.b</c> reads key <c>b</c> of the JSON object claim <c>a</c>.
/// </summary>
internal static class RealtimeClaims
{
    public static string? Get(ClaimsPrincipal principal, string name)
    {
        string? value = principal.FindFirst(name)?.Value;
        if (value is not null)
        {
            return value;
        }

        int dot = name.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0 && principal.FindFirst(name[..dot])?.Value is { } outer)
        {
            // "user_metadata.tenant_id": a key of a JSON object claim, as auth.jwt() -> 'user_metadata' ->> 'tenant_id'.
            return ReadJsonKey(outer, name[(dot + 1)..]);
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

    private static string? ReadJsonKey(string json, string key)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            return document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && document.RootElement.TryGetProperty(key, out System.Text.Json.JsonElement value)
                ? value.ValueKind == System.Text.Json.JsonValueKind.String ? value.GetString() : value.GetRawText()
                : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
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
