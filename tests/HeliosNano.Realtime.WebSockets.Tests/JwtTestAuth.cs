using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>HS256 tokens and a Kestrel server whose realtime endpoint validates them through a real JwtBearer scheme.</summary>
internal static class JwtTestAuth
{
    public const string Secret = "super-secret-jwt-token-with-at-least-32-characters-long";
    public const string OtherSecret = "another-secret-that-is-also-at-least-32-characters-long";

    public static SymmetricSecurityKey Key { get; } = new(Encoding.UTF8.GetBytes(Secret));

    /// <summary>A fake clock at the current second: JwtBearer checks lifetimes against the wall clock, our expiry checks against this one.</summary>
    public static FakeTimeProvider NewClock() => new(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));

    /// <summary>Mints a token; <paramref name="expiresIn"/> is relative to <paramref name="clock"/>; claims with a null value are left out.</summary>
    public static string Token(TimeProvider clock, TimeSpan expiresIn, string? role = "authenticated", string sub = "user-1", string secret = Secret, IDictionary<string, object>? extra = null, bool withExp = true, string? audience = null, string? issuer = null, DateTimeOffset? notBefore = null)
    {
        var claims = new Dictionary<string, object> { ["sub"] = sub };
        if (role is not null)
        {
            claims["role"] = role;
        }

        if (withExp)
        {
            claims["exp"] = (clock.GetUtcNow() + expiresIn).ToUnixTimeSeconds();
        }

        if (notBefore is DateTimeOffset nbf)
        {
            claims["nbf"] = nbf.ToUnixTimeSeconds();
        }

        foreach (KeyValuePair<string, object> pair in extra ?? new Dictionary<string, object>())
        {
            claims[pair.Key] = pair.Value;
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Claims = claims,
            Audience = audience,
            Issuer = issuer,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>An unsigned token (<c>alg: none</c>) with the given claims.</summary>
    public static string Unsigned(TimeProvider clock, TimeSpan expiresIn)
    {
        static string B64(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));
        string payload = JsonSerializer.Serialize(new { sub = "attacker", role = "service_role", exp = (clock.GetUtcNow() + expiresIn).ToUnixTimeSeconds() });
        return B64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + B64(payload) + ".";
    }

    /// <summary>Registers JwtBearer (HS256 with <see cref="Secret"/>, no clock skew, claims unmapped) and authorization policies.</summary>
    public static void AddJwt(IServiceCollection services, string? audience = null, string? issuer = null, Action<AuthorizationOptions>? policies = null)
    {
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
        {
            o.MapInboundClaims = false;
            o.TokenValidationParameters = new TokenValidationParameters
            {
                IssuerSigningKey = Key,
                ValidateIssuer = issuer is not null,
                ValidIssuer = issuer,
                ValidateAudience = audience is not null,
                ValidAudience = audience,
                ClockSkew = TimeSpan.Zero,
            };
            o.Events = new JwtBearerEvents
            {
                OnMessageReceived = c =>
                {
                    c.Token ??= RealtimeAccessToken.FromQuery(c.Request);
                    return Task.CompletedTask;
                },
            };
        });
        services.AddAuthorization(o => policies?.Invoke(o));
    }

    /// <summary>Starts a server with JwtBearer, <paramref name="clock"/>, no back-off unless asked, and a long idle timeout (the fake clock jumps).</summary>
    public static Task<RealtimeServer> StartAsync(FakeTimeProvider clock, Action<RealtimeWebSocketOptions>? configure = null, Action<IServiceCollection>? services = null, bool requireAuthorization = false, string? audience = null, string? issuer = null, Action<AuthorizationOptions>? policies = null)
    {
        void Configure(RealtimeWebSocketOptions o)
        {
            o.IdleTimeout = TimeSpan.FromDays(1);
            o.SendTimeout = TimeSpan.FromDays(1);
            o.Auth.JoinErrorBackoff = TimeSpan.Zero;
            o.Auth.ConnectErrorBackoff = TimeSpan.Zero;
            configure?.Invoke(o);
        }

        return RealtimeServer.StartAsync(
            timeProvider: clock,
            configureServices: s =>
            {
                AddJwt(s, audience, issuer, policies);
                s.AddHeliosRealtimeQueryTokenRedaction();
                services?.Invoke(s);
            },
            map: app =>
            {
                IEndpointConventionBuilder endpoint = app.MapHeliosRealtime(configure: Configure);
                if (requireAuthorization)
                {
                    endpoint.RequireAuthorization();
                }
            });
    }
}
