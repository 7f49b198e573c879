using System.Buffers.Text;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// Validates the tokens a realtime client presents through the host's own ASP.NET Core authentication scheme, then
/// applies Supabase's claim rules (<c>exp</c> and <c>role</c> required, <c>exp</c> in the future).
/// </summary>
/// <remarks>
/// <para>
/// A token that arrives in band (a join's <c>access_token</c>, an <c>access_token</c> push) is validated by running the
/// configured scheme's handler on a synthetic request that carries it as <c>Authorization: Bearer</c>: the very
/// handler, options, events, key rollover (JwtBearer's <c>ConfigurationManager</c>) and claims transformation that
/// authenticate the host's HTTP endpoints. The alternative, calling <c>JsonWebTokenHandler</c> with the scheme's
/// <c>TokenValidationParameters</c>, would skip the handler's events and metadata refresh, tie this package to JwtBearer
/// and IdentityModel, and make a custom (non-JWT) scheme impossible.
/// </para>
/// <para>
/// The handler's failure is classified by its exception's type name (e.g. <c>SecurityTokenExpiredException</c>) into
/// Supabase's reason strings, so this package needs no IdentityModel reference. Neither the token nor the handler's
/// exception message ever reaches a reply or a log.
/// </para>
/// </remarks>
internal sealed class RealtimeTokenValidator
{
    public const string InvalidJwtToken = "InvalidJWTToken";
    public const string MalformedJwt = "MalformedJWT";
    public const string JwtSignatureError = "JwtSignatureError";
    public const string FieldsRequired = "Fields `role` and `exp` are required in JWT";
    public const string NotAJwt = "The token provided is not a valid JWT";

    private readonly IServiceProvider _services;
    private readonly RealtimeAuthOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private string? _scheme;
    private bool _resolved;

    public RealtimeTokenValidator(IServiceProvider services, RealtimeAuthOptions options, TimeProvider timeProvider, ILogger logger)
    {
        _services = services;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Gets the scheme that validates tokens, or <see langword="null"/> when the host registered none (tokens are then ignored).</summary>
    public async ValueTask<string?> GetSchemeAsync()
    {
        if (!_resolved)
        {
            IAuthenticationSchemeProvider? schemes = _services.GetService<IAuthenticationSchemeProvider>();
            AuthenticationScheme? scheme = schemes is null ? null
                : _options.Scheme is { } name ? await schemes.GetSchemeAsync(name).ConfigureAwait(false)
                : await schemes.GetDefaultAuthenticateSchemeAsync().ConfigureAwait(false);
            if (_options.Scheme is not null && scheme is null)
            {
                throw new InvalidOperationException($"The realtime endpoint's authentication scheme '{_options.Scheme}' is not registered: call services.AddAuthentication().Add…(\"{_options.Scheme}\", …).");
            }

            _scheme = scheme?.Name;
            _resolved = true;
        }

        return _scheme;
    }

    /// <summary>Returns whether <paramref name="token"/> is something to validate: not empty, and not an <c>sb_…</c> key (those are not tokens).</summary>
    public static bool IsToken(string? token) => !string.IsNullOrWhiteSpace(token) && !token.AsSpan().Trim().StartsWith("sb_", StringComparison.Ordinal);

    /// <summary>
    /// Returns whether an <c>apikey</c> value is a token: <see cref="IsToken"/> and JWT-shaped (three dot-separated parts).
    /// The API key slot may hold a project key that is no JWT (an <c>sb_…</c> key, a plain shared key the host checks
    /// itself); such a key says nothing about who connects.
    /// </summary>
    public static bool IsApiKeyToken(string? value) => IsToken(value) && value!.AsSpan().Count('.') == 2;

    /// <summary>Validates <paramref name="token"/> through the scheme, then applies the claim rules.</summary>
    public async ValueTask<RealtimeTokenResult> ValidateAsync(string scheme, string token, CancellationToken cancellationToken)
    {
        token = token.Trim();
        AuthenticateResult result;
        AsyncServiceScope scope = _services.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider, RequestAborted = cancellationToken };
            context.Request.Headers.Authorization = "Bearer " + token;
            try
            {
                result = await context.AuthenticateAsync(scheme).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                RealtimeAuthLog.HandlerThrew(_logger, scheme, e.GetType().Name);
                return RealtimeTokenResult.Fail(InvalidJwtToken, "The token could not be validated");
            }
        }

        if (!result.Succeeded || result.Principal is null)
        {
            RealtimeTokenResult failure = Classify(result.Failure, token);
            RealtimeAuthLog.TokenRejected(_logger, failure.Code!, failure.Message!, result.Failure?.GetType().Name ?? "no result");
            return failure;
        }

        return CheckClaims(result.Principal, token);
    }

    /// <summary>Applies Supabase's claim rules to a principal the scheme accepted (here or in the authentication middleware).</summary>
    public RealtimeTokenResult CheckClaims(ClaimsPrincipal principal, string? token)
    {
        if (!RealtimeClaims.TryGetExpiry(principal, out DateTimeOffset expires)
            || (_options.RequireRoleClaim && RealtimeClaims.Get(principal, "role") is null))
        {
            return RealtimeTokenResult.Fail(InvalidJwtToken, FieldsRequired);
        }

        DateTimeOffset now = _timeProvider.GetUtcNow();
        if (expires <= now)
        {
            return RealtimeTokenResult.Fail(InvalidJwtToken, ExpiredMessage(now, expires));
        }

        return new RealtimeTokenResult(principal, token, expires, null, null);
    }

    /// <summary>Supabase's exact wording, which clients string-match: <c>Token has expired N seconds ago</c>.</summary>
    public static string ExpiredMessage(DateTimeOffset now, DateTimeOffset expires) =>
        "Token has expired " + Math.Max(0, (long)Math.Floor((now - expires).TotalSeconds)).ToString(CultureInfo.InvariantCulture) + " seconds ago";

    private RealtimeTokenResult Classify(Exception? failure, string token)
    {
        for (Exception? e = failure; e is not null; e = e.InnerException)
        {
            string name = e.GetType().Name;
            if (name.Contains("Expired", StringComparison.Ordinal))
            {
                return TryPeekExpiry(token, out DateTimeOffset expires)
                    ? RealtimeTokenResult.Fail(InvalidJwtToken, ExpiredMessage(_timeProvider.GetUtcNow(), expires))
                    : RealtimeTokenResult.Fail(InvalidJwtToken, "Token has expired");
            }

            if (name.Contains("Signature", StringComparison.Ordinal) || name.Contains("SigningKey", StringComparison.Ordinal))
            {
                return RealtimeTokenResult.Fail(JwtSignatureError, "Failed to validate JWT signature");
            }

            if (name.Contains("NotYetValid", StringComparison.Ordinal))
            {
                return RealtimeTokenResult.Fail(InvalidJwtToken, "Token is not valid yet");
            }

            if (name.Contains("Audience", StringComparison.Ordinal))
            {
                return RealtimeTokenResult.Fail(InvalidJwtToken, "Invalid value for JWT claim \"aud\"");
            }

            if (name.Contains("Issuer", StringComparison.Ordinal))
            {
                return RealtimeTokenResult.Fail(InvalidJwtToken, "Invalid value for JWT claim \"iss\"");
            }

            if (name.Contains("Lifetime", StringComparison.Ordinal) || name.Contains("NoExpiration", StringComparison.Ordinal))
            {
                return RealtimeTokenResult.Fail(InvalidJwtToken, "Token expiration time is invalid");
            }

            if (name.Contains("Algorithm", StringComparison.Ordinal))
            {
                return RealtimeTokenResult.Fail(JwtSignatureError, "Failed to validate JWT signature");
            }
        }

        return RealtimeTokenResult.Fail(MalformedJwt, NotAJwt);
    }

    /// <summary>Reads <c>exp</c> from an unverified JWT payload, only to word the message of a token the scheme already refused as expired.</summary>
    internal static bool TryPeekExpiry(string token, out DateTimeOffset expires)
    {
        expires = default;
        string[] parts = token.Split('.');
        if (parts.Length < 2 || parts[1].Length > 16 * 1024)
        {
            return false;
        }

        byte[] bytes = new byte[Base64Url.GetMaxDecodedLength(parts[1].Length)];
        if (!Base64Url.TryDecodeFromChars(parts[1], bytes, out int written))
        {
            return false;
        }

        try
        {
            using JsonDocument payload = JsonDocument.Parse(bytes.AsMemory(0, written));
            if (payload.RootElement.ValueKind == JsonValueKind.Object && payload.RootElement.TryGetProperty("exp"u8, out JsonElement exp)
                && exp.ValueKind == JsonValueKind.Number && exp.TryGetDecimal(out decimal seconds) && seconds is >= 0 and <= 253402300799m)
            {
                expires = DateTimeOffset.FromUnixTimeSeconds((long)Math.Round(seconds, MidpointRounding.AwayFromZero));
                return true;
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }
}
