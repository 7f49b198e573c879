using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// Decides whether a browser page's <c>Origin</c> may open the socket, and writes the 403 refusal; one piece any
/// endpoint check (the handshake today, an authorization step later) can reuse.
/// </summary>
/// <remarks>
/// ASP.NET's <c>WebSocketOptions.AllowedOrigins</c> semantics: a request without an <c>Origin</c> header (not a
/// browser) passes; with one, it must be listed. With an empty list the check is off, unless it is switched on
/// (<see cref="RealtimeWebSocketOptions.ValidateOrigin"/>, or automatically when the host registers cookie
/// authentication); then only the request's own origin passes. Browsers attach cookies to a cross-site WebSocket
/// handshake and CORS does not apply to it, so this is the check that stops cross-site WebSocket hijacking.
/// </remarks>
internal sealed class RealtimeOriginPolicy
{
    /// <summary>The refusal's <c>error</c>, in the shape of Supabase's connect errors (<c>{"error":"…"}</c>).</summary>
    public const string RefusalMessage = "Origin not allowed";

    private readonly HashSet<string> _allowed;
    private readonly bool? _validate;
    private readonly IServiceProvider _services;
    private int _cookieAuthentication; // 0 = not looked up yet, 1 = no, 2 = yes

    public RealtimeOriginPolicy(IEnumerable<string> allowedOrigins, bool? validate, IServiceProvider services)
    {
        _allowed = new HashSet<string>(allowedOrigins.Select(static o => o.Trim().TrimEnd('/')), StringComparer.OrdinalIgnoreCase);
        _validate = validate;
        _services = services;
    }

    /// <summary>Returns whether the request may proceed.</summary>
    public async ValueTask<bool> IsAllowedAsync(HttpRequest request)
    {
        string? origin = request.Headers.Origin;
        if (string.IsNullOrEmpty(origin))
        {
            return true;
        }

        if (_allowed.Count > 0)
        {
            return _allowed.Contains(origin);
        }

        if (!await IsCheckedWithoutListAsync().ConfigureAwait(false))
        {
            return true;
        }

        // Same origin: the page was served by this host, under the scheme the request came in on.
        string self = request.Scheme + "://" + request.Host.Value;
        return string.Equals(origin, self, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Writes the refusal: 403 with <c>{"error":"Origin not allowed"}</c>.</summary>
    public static async Task RefuseAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync("{\"error\":\"" + RefusalMessage + "\"}").ConfigureAwait(false);
    }

    private async ValueTask<bool> IsCheckedWithoutListAsync()
    {
        if (_validate is bool explicitly)
        {
            return explicitly;
        }

        // Looked up at the first browser request, not at mapping time: schemes may be added after the endpoint is mapped.
        int known = Volatile.Read(ref _cookieAuthentication);
        if (known == 0)
        {
            bool cookies = false;
            if (_services.GetService<IAuthenticationSchemeProvider>() is { } schemes)
            {
                cookies = (await schemes.GetAllSchemesAsync().ConfigureAwait(false))
                    .Any(static s => typeof(CookieAuthenticationHandler).IsAssignableFrom(s.HandlerType));
            }

            known = cookies ? 2 : 1;
            Volatile.Write(ref _cookieAuthentication, known);
        }

        return known == 2;
    }
}
