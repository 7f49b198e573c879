using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// Takes <c>?apikey=</c> and <c>?token=</c> out of every request's URL before anything logs it (ASP.NET's own
/// "Request starting … ?apikey=…" line shows <c>apikey=redacted</c>) and keeps the values for
/// <see cref="RealtimeAccessToken"/>.
/// </summary>
/// <remarks>
/// An <see cref="IHttpContextFactory"/> is the one place that runs before the hosting layer writes its request log, so
/// this decorates the default factory instead of being a middleware (a middleware runs after that log).
/// </remarks>
internal sealed class RealtimeQueryTokenRedaction : IHttpContextFactory
{
    /// <summary>The value that replaces a token in the URL.</summary>
    public const string Redacted = "redacted";

    private static readonly string[] s_parameters = ["apikey", "token"];
    private readonly DefaultHttpContextFactory _inner;

    public RealtimeQueryTokenRedaction(IServiceProvider services) => _inner = new DefaultHttpContextFactory(services);

    public HttpContext Create(IFeatureCollection featureCollection)
    {
        HttpContext context = _inner.Create(featureCollection);
        IQueryCollection query = context.Request.Query;
        Dictionary<string, StringValues>? originals = null;
        foreach (string parameter in s_parameters)
        {
            if (query.TryGetValue(parameter, out StringValues value))
            {
                (originals ??= new(StringComparer.OrdinalIgnoreCase))[parameter] = value;
            }
        }

        if (originals is null)
        {
            return context;
        }

        context.Features.Set(new RedactedQuery(originals));
        var builder = new QueryBuilder();
        foreach ((string name, StringValues values) in query)
        {
            if (originals.ContainsKey(name))
            {
                builder.Add(name, Redacted);
                continue;
            }

            foreach (string? value in values)
            {
                builder.Add(name, value ?? string.Empty);
            }
        }

        context.Request.QueryString = builder.ToQueryString();
        return context;
    }

    public void Dispose(HttpContext httpContext) => _inner.Dispose(httpContext);

    /// <summary>The values the URL carried before redaction.</summary>
    internal sealed class RedactedQuery(Dictionary<string, StringValues> values)
    {
        public StringValues Get(string name) => values.TryGetValue(name, out StringValues value) ? value : default;
    }
}
