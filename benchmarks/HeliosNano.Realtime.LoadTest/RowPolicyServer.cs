using System.Text;
using HeliosNano.Realtime.WebSockets;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// The server side of the <c>rowpolicy</c> scenario (issue 12): JwtBearer (HS256) authenticates every connection, and
/// one of four configurations decides which rows of <c>public.orders</c> each subscriber gets.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>none</c>: no row policy; every subscriber gets every row (the run "with no policy").</item>
/// <item><c>open</c>: a policy over the tenant claim that admits every row, <c>tenant_id = claims.tenant_id OR
/// visibility = 'public'</c>, on public rows: the policy is evaluated once per tenant group and change, and every
/// subscriber still gets every row, so the delivered messages equal <c>none</c>'s and the difference is the policy.</item>
/// <item><c>tenant</c>: <c>tenant_id = claims.tenant_id</c>; rows go round-robin over the tenants, each to its
/// tenant's subscribers only.</item>
/// <item><c>filter</c>: no policy, each subscriber asks for its tenant's rows with a postgres_changes filter
/// (<c>tenant_id=eq.tenant-N</c>): the same deliveries as <c>tenant</c>, the way to get them without auth.</item>
/// </list>
/// Every configuration authenticates the same way, so the only difference between runs is the row step.
/// </remarks>
internal static class RowPolicyServer
{
    public static readonly string[] Modes = ["none", "open", "tenant", "filter"];

    public static void AddServices(IServiceCollection services, string mode, int tenants, string secret, string note)
    {
        if (!Modes.Contains(mode))
        {
            throw new ArgumentException($"Unknown row policy mode '{mode}': use {string.Join(", ", Modes)}.");
        }

        var key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret));
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
        {
            o.MapInboundClaims = false;
            o.TokenValidationParameters = new TokenValidationParameters { IssuerSigningKey = key, ValidateIssuer = false, ValidateAudience = false };
            o.Events = new JwtBearerEvents
            {
                OnMessageReceived = c =>
                {
                    c.Token ??= RealtimeAccessToken.FromQuery(c.Request);
                    return Task.CompletedTask;
                },
            };
        });
        services.AddAuthorization();
        services.AddHeliosRealtime();
        services.AddHeliosRealtimeWebSockets(o =>
        {
            if (mode == "tenant")
            {
                o.Auth.RowPolicies.Add(RealtimeRowPolicy.ColumnEqualsClaim("tenant_rows", OrderPayload.Schema, OrderPayload.Table, "tenant_id", "tenant_id"));
            }
            else if (mode == "open")
            {
                o.Auth.RowPolicies.Add(RealtimeRowPolicy.Create("tenant_or_public", OrderPayload.Schema, OrderPayload.Table, ["tenant_id"], static c =>
                    c.ColumnEquals("tenant_id", c.GetClaim("tenant_id")) || c.ColumnEquals("visibility", "public")));
            }
        });
        string[] names = [.. Enumerable.Range(0, tenants).Select(TenantName)];
        services.AddSingleton<LoadPublisher>(sp => new HeliosPublisher(sp.GetRequiredService<ChangeNotifier>(), note, names, tenantOnly: mode is "tenant" or "filter"));
    }

    public static void MapEndpoints(WebApplication app) =>
        // The load clients only listen (no heartbeats): the default 60 s idle timeout would close them.
        app.MapHeliosRealtime(RealtimeEndpointRouteBuilderExtensions.DefaultPattern, o => o.IdleTimeout = TimeSpan.FromHours(1));

    /// <summary>The name of tenant <paramref name="index"/>, as rows and tokens carry it.</summary>
    public static string TenantName(int index) => "tenant-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
