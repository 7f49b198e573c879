using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace HeliosNano.Realtime.Sample;

/// <summary>Guards the data endpoints: the optional API key, and cross-site browser requests when no key is set.</summary>
/// <remarks>
/// <para>
/// Guarded paths: <c>/sql</c>, <c>/rest/v1</c>, <c>/api/tables</c>, the realtime WebSocket and the REST broadcast under
/// <c>/realtime/v1/api</c>. The dashboard page itself and
/// <c>/api/info</c> are public.
/// </para>
/// <para>
/// With a key, a request must carry it as an <c>apikey</c> (or <c>x-api-key</c>) header, as <c>Authorization: Bearer</c>,
/// or, on the realtime WebSocket only, as <c>?apikey=</c> (browsers cannot set headers on a WebSocket, so supabase-js
/// sends the query parameter; <c>AddHeliosRealtimeQueryTokenRedaction</c> keeps it out of the logs); else 401. Without a key the server listens on loopback only, which still leaves the browser as a way in: any web page may
/// POST to <c>http://localhost:8080/sql</c> or open a WebSocket to it. So without a key a request that carries an
/// <c>Origin</c> header is refused (403) unless that origin is itself on loopback (the dashboard, a local dev server).
/// </para>
/// </remarks>
internal sealed class AccessGuard
{
    private static readonly PathString[] s_guarded = ["/sql", "/rest/v1", "/api/tables", "/realtime"];
    private readonly byte[]? _key;
    private readonly bool _jwtMode;

    /// <summary>Initializes a new instance of the <see cref="AccessGuard"/> class.</summary>
    /// <param name="apiKey">The API key; <see langword="null"/> or empty for none.</param>
    /// <param name="jwtMode">Whether <c>--jwt-secret</c> is set: then a guarded request needs a valid JWT (any role) instead of a loopback origin, and <c>/sql</c> the <c>service_role</c>.</param>
    public AccessGuard(string? apiKey, bool jwtMode = false)
    {
        _key = string.IsNullOrEmpty(apiKey) ? null : Encoding.UTF8.GetBytes(apiKey);
        _jwtMode = jwtMode;
    }

    /// <summary>Gets whether an API key is required.</summary>
    public bool RequiresKey => _key is not null;

    /// <summary>Gets whether JWT auth is on.</summary>
    public bool JwtMode => _jwtMode;

    /// <summary>Returns whether <paramref name="origin"/> (an <c>Origin</c> header value) is a page served from loopback.</summary>
    public static bool IsLoopbackOrigin(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out Uri? uri) && IsLoopbackHost(uri.Host);

    /// <summary>Returns whether <paramref name="host"/> names this machine's loopback interface.</summary>
    public static bool IsLoopbackHost(string host)
    {
        host = host.Trim('[', ']');
        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out IPAddress? address) && IPAddress.IsLoopback(address));
    }

    /// <summary>Returns whether <paramref name="path"/> is one of the guarded data endpoints.</summary>
    public static bool IsGuarded(PathString path) => s_guarded.Any(path.StartsWithSegments);

    /// <summary>The middleware: answers 401/403 for a guarded request that may not pass, else calls <paramref name="next"/>.</summary>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (IsGuarded(context.Request.Path))
        {
            string? refusal = Check(context.Request, out int status);
            if (refusal is not null)
            {
                context.Response.StatusCode = status;
                if (status == StatusCodes.Status401Unauthorized)
                {
                    context.Response.Headers.WWWAuthenticate = "Bearer";
                }

                await context.Response.WriteAsJsonAsync(new ErrorBody(refusal), context.RequestAborted);
                return;
            }
        }

        await next(context);
    }

    /// <summary>Checks a guarded request; returns why it is refused (and the status), or <see langword="null"/> to let it pass.</summary>
    internal string? Check(HttpRequest request, out int status)
    {
        status = StatusCodes.Status200OK;
        if (_jwtMode)
        {
            string? refusal = CheckJwt(request, out status);
            if (refusal is not null || _key is null)
            {
                return refusal;
            }
        }

        if (_key is null)
        {
            string? origin = request.Headers.Origin;
            if (!string.IsNullOrEmpty(origin) && !IsLoopbackOrigin(origin))
            {
                status = StatusCodes.Status403Forbidden;
                return $"Cross-origin request from '{origin}' refused: without an API key the sample server only accepts browser requests from pages on loopback.";
            }

            return null;
        }

        // ?apikey= only on the WebSocket, where browsers cannot set headers (supabase-js sends it there); elsewhere a
        // key in the URL would end up in logs, proxies and browser history, so it must come in a header.
        bool queryAllowed = request.Path.StartsWithSegments(SampleApp.RealtimePath);
        if (Matches(request.Headers["apikey"]) || Matches(request.Headers["x-api-key"])
            || (queryAllowed && Matches(HeliosNano.Realtime.WebSockets.RealtimeAccessToken.GetQueryValue(request, "apikey"))))
        {
            return null;
        }

        string authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && Matches(authorization["Bearer ".Length..].Trim()))
        {
            return null;
        }

        status = StatusCodes.Status401Unauthorized;
        return queryAllowed
            ? "API key is missing or invalid: send it as the 'apikey' header, 'Authorization: Bearer <key>', or '?apikey=<key>'."
            : "API key is missing or invalid: send it as the 'apikey' header or 'Authorization: Bearer <key>' ('?apikey=' is accepted on the realtime WebSocket only).";
    }

    /// <summary>JWT mode: the authentication middleware must have accepted a token; <c>/sql</c> runs for the service role only.</summary>
    private static string? CheckJwt(HttpRequest request, out int status)
    {
        status = StatusCodes.Status200OK;
        System.Security.Claims.ClaimsPrincipal user = request.HttpContext.User;
        if (user.Identity?.IsAuthenticated != true)
        {
            // No token, or one JwtBearer refused (the reason is in JwtBearer's own log, never the token).
            status = StatusCodes.Status401Unauthorized;
            return "A valid JWT is required: send 'Authorization: Bearer <token>' (or the anon key as 'apikey'; '?apikey=' on the realtime WebSocket).";
        }

        if (request.Path.StartsWithSegments("/sql") && !Auth.SamplePolicies.IsServiceRole(user))
        {
            status = StatusCodes.Status403Forbidden;
            return "/sql runs for the service_role only: row-level security cannot apply to raw SQL.";
        }

        return null;
    }

    private bool Matches(Microsoft.Extensions.Primitives.StringValues candidates) => candidates.Count == 1 && Matches(candidates[0]);

    private bool Matches(string? candidate) =>
        !string.IsNullOrEmpty(candidate) && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(candidate), _key);

    /// <summary>The JSON body of a refusal.</summary>
    /// <param name="Error">Why the request was refused.</param>
    internal sealed record ErrorBody(string Error);
}
