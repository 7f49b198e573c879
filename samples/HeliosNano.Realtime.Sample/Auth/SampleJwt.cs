using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace HeliosNano.Realtime.Sample.Auth;

/// <summary>Mints and describes the sample's HS256 tokens (Supabase's shape: <c>sub</c>, <c>email</c>, <c>role</c>, <c>aud</c>, <c>exp</c>).</summary>
internal sealed class SampleJwt
{
    private readonly SigningCredentials _credentials;
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };

    public SampleJwt(string secret, TimeSpan lifetime, TimeProvider timeProvider)
    {
        if (Encoding.UTF8.GetByteCount(secret) < 32)
        {
            throw new SampleStartupException("--jwt-secret must be at least 32 bytes (HS256 needs a 256-bit key), as Supabase's JWT secret is.");
        }

        Key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret));
        _credentials = new SigningCredentials(Key, SecurityAlgorithms.HmacSha256);
        Lifetime = lifetime;
        TimeProvider = timeProvider;
    }

    public SymmetricSecurityKey Key { get; }

    public TimeSpan Lifetime { get; }

    public TimeProvider TimeProvider { get; }

    /// <summary>The validation JwtBearer applies: HS256 with the secret, lifetime checked (our realtime check adds the exact expiry), no issuer.</summary>
    public TokenValidationParameters ValidationParameters => new()
    {
        IssuerSigningKey = Key,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ValidateIssuer = false,
        ValidateAudience = false,
        ClockSkew = TimeSpan.Zero,
    };

    /// <summary>Mints a token for <paramref name="role"/>; a user's carries its id, email and metadata.</summary>
    public (string Token, DateTimeOffset Expires) Mint(string role, string? sub = null, string? email = null, JsonElement? userMetadata = null, TimeSpan? lifetime = null)
    {
        DateTimeOffset now = TimeProvider.GetUtcNow();
        DateTimeOffset expires = now + (lifetime ?? Lifetime);
        var claims = new Dictionary<string, object>
        {
            ["role"] = role,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = expires.ToUnixTimeSeconds(),
            ["iss"] = "heliosnano-sample",
        };
        if (sub is not null)
        {
            claims["sub"] = sub;
            claims["aud"] = "authenticated";
        }

        if (email is not null)
        {
            claims["email"] = email;
        }

        if (userMetadata is { ValueKind: JsonValueKind.Object } metadata)
        {
            claims["user_metadata"] = metadata;
        }

        string token = _handler.CreateToken(new SecurityTokenDescriptor { Claims = claims, SigningCredentials = _credentials });
        return (token, expires);
    }

    /// <summary>
    /// Reads a claim as Supabase's <c>auth.jwt() -&gt;&gt; 'name'</c> would; <c>a.b</c> reads key <c>b</c> of the JSON object
    /// claim <c>a</c> (<c>auth.jwt() -&gt; 'a' -&gt;&gt; 'b'</c>).
    /// </summary>
    public static string? GetClaim(ClaimsPrincipal user, string path)
    {
        string[] parts = path.Split('.', 2);
        string? value = user.FindFirst(parts[0])?.Value;
        if (parts.Length == 1 || value is null)
        {
            return value;
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(value);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(parts[1], out JsonElement inner)
                ? inner.ValueKind == JsonValueKind.String ? inner.GetString() : inner.GetRawText()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
