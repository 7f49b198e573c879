using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;

namespace HeliosNano.Realtime.Sample;

/// <summary>
/// Takes <c>?apikey=</c> out of every request's URL before anything logs it, and keeps its value for
/// <see cref="AccessGuard"/>: ASP.NET's own "Request starting … ?apikey=…" line (and any later one) shows
/// <c>apikey=redacted</c>.
/// </summary>
/// <remarks>
/// An <see cref="IHttpContextFactory"/> is the one place that runs before the hosting layer writes its request log,
/// so this decorates the default factory instead of being a middleware (a middleware runs after that log).
/// </remarks>
internal sealed class QueryKeyRedaction : IHttpContextFactory
{
    /// <summary>The value that replaces the key in the URL.</summary>
    public const string Redacted = "redacted";

    private const string KeyParameter = "apikey";
    private static readonly object s_itemKey = new();
    private readonly DefaultHttpContextFactory _inner;

    /// <summary>Initializes a new instance of the <see cref="QueryKeyRedaction"/> class.</summary>
    public QueryKeyRedaction(IServiceProvider services)
    {
        _inner = new DefaultHttpContextFactory(services);
    }

    /// <summary>Gets the <c>?apikey=</c> value(s) the request carried before redaction.</summary>
    public static Microsoft.Extensions.Primitives.StringValues GetQueryKey(HttpContext context) =>
        context.Items.TryGetValue(s_itemKey, out object? value) && value is Microsoft.Extensions.Primitives.StringValues key ? key : default;

    /// <inheritdoc/>
    public HttpContext Create(IFeatureCollection featureCollection)
    {
        HttpContext context = _inner.Create(featureCollection);
        IQueryCollection query = context.Request.Query;
        if (query.TryGetValue(KeyParameter, out Microsoft.Extensions.Primitives.StringValues key))
        {
            context.Items[s_itemKey] = key;
            var builder = new QueryBuilder();
            foreach ((string name, Microsoft.Extensions.Primitives.StringValues values) in query)
            {
                if (string.Equals(name, KeyParameter, StringComparison.OrdinalIgnoreCase))
                {
                    builder.Add(name, Redacted);
                }
                else
                {
                    foreach (string? value in values)
                    {
                        builder.Add(name, value ?? string.Empty);
                    }
                }
            }

            context.Request.QueryString = builder.ToQueryString();
        }

        return context;
    }

    /// <inheritdoc/>
    public void Dispose(HttpContext httpContext) => _inner.Dispose(httpContext);
}
