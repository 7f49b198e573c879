using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HeliosNano.Realtime.Sample;

/// <summary>Writes <c>GET /health</c> as JSON: the overall status and each check's status, description and data.</summary>
internal static class SampleHealth
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                description = e.Value.Description,
                data = e.Value.Data,
            }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, cancellationToken: context.RequestAborted);
    }
}
