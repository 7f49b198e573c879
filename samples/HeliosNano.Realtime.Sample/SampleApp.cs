using HeliosNano.Realtime.Redis;
using HeliosNano.Realtime.Sample.Auth;
using HeliosNano.Realtime.Sample.Pg;
using HeliosNano.Realtime.Sample.Rest;
using HeliosNano.Realtime.Sample.Sql;
using HeliosNano.Realtime.WebSockets;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Primitives;

namespace HeliosNano.Realtime.Sample;

/// <summary>Builds the sample server: configuration, services, the data endpoints, the dashboard and the realtime socket.</summary>
internal static partial class SampleApp
{
    /// <summary>The path of the Supabase Realtime WebSocket.</summary>
    public const string RealtimePath = "/realtime/v1/websocket";

    /// <summary>How long a WebSocket client may stay silent before the server closes it: 10 minutes.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(10);

    private static readonly Dictionary<string, string> s_switchMappings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["--db"] = SampleOptions.SectionName + ":" + nameof(SampleOptions.Database),
        ["--apikey"] = SampleOptions.SectionName + ":" + nameof(SampleOptions.ApiKey),
        ["--redis"] = SampleOptions.SectionName + ":" + nameof(SampleOptions.Redis),
        ["--redis-log-length"] = SampleOptions.SectionName + ":" + nameof(SampleOptions.RedisLogLength),
        ["--pg-port"] = SampleOptions.SectionName + ":" + nameof(SampleOptions.PgPort),
        ["--no-pg"] = SampleOptions.SectionName + ":" + nameof(SampleOptions.NoPg),
        ["--auth"] = SampleOptions.SectionName + ":" + nameof(SampleOptions.Auth),
        ["--password"] = SampleOptions.SectionName + ":" + nameof(SampleOptions.Password),
        ["--jwt-secret"] = SampleOptions.SectionName + ":" + nameof(SampleOptions.JwtSecret),
        ["--jwt-expiry"] = SampleOptions.SectionName + ":" + nameof(SampleOptions.JwtExpiry),
    };

    /// <summary>
    /// Builds the application from command-line arguments (<c>--urls</c>, <c>--db</c>, <c>--apikey</c>, the PostgreSQL
    /// listener's <c>--pg-port</c> / <c>--no-pg</c> / <c>--auth</c> / <c>--password</c>, the tutorial's <c>--memory</c>,
    /// any ASP.NET setting).
    /// </summary>
    /// <exception cref="SampleStartupException">The configuration is refused (a non-loopback URL without an API key).</exception>
    public static WebApplication Build(string[] args)
    {
        args = ExpandFlags(args);
        WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddCommandLine(args, s_switchMappings);

        // Quiet per-request logs by default, as the ASP.NET templates' appsettings.json do; lowest priority, so any
        // setting (--Logging:LogLevel:Microsoft.AspNetCore Information, appsettings.json, environment) overrides it.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            },
        });
        SampleOptions options = builder.Configuration.GetSection(SampleOptions.SectionName).Get<SampleOptions>() ?? new SampleOptions();
        bool jwtMode = !string.IsNullOrEmpty(options.JwtSecret);

        // With JWT auth every data request needs a valid token, so the server may listen beyond loopback as with a key.
        bool hasKey = !string.IsNullOrEmpty(options.ApiKey) || jwtMode;

        List<string> urls = ConfiguredUrls(builder.Configuration);
        if (urls.Count == 0)
        {
            builder.WebHost.UseUrls(SampleOptions.DefaultUrl);
            urls.Add(SampleOptions.DefaultUrl);
        }

        if (!hasKey)
        {
            string? exposed = urls.FirstOrDefault(url => !IsLoopbackUrl(url));
            if (exposed is not null)
            {
                throw new SampleStartupException(
                    $"Refusing to listen on '{exposed}' without an API key: anyone who can reach it could read and change the database. " +
                    "Listen on loopback only (e.g. --urls http://localhost:8080), or set a key with --apikey <key> (or Sample__ApiKey).");
            }

            // Defence against DNS rebinding: without a key, only loopback host names are served (unless configured otherwise).
            if (string.IsNullOrEmpty(builder.Configuration["AllowedHosts"]) || builder.Configuration["AllowedHosts"] == "*")
            {
                builder.Configuration["AllowedHosts"] = "localhost;*.localhost;127.0.0.1;[::1]";
            }
        }

        builder.Services.Configure<SampleOptions>(builder.Configuration.GetSection(SampleOptions.SectionName));
        builder.Services.AddHeliosRealtime();
        builder.Services.AddHealthChecks();
        if (!string.IsNullOrEmpty(options.Redis))
        {
            // One order of changes across every process on this Redis; a client resumes from its log on any process.
            builder.Services.AddRedisBackplane(options.Redis, o => o.LogLength = options.RedisLogLength ?? o.LogLength);
        }

        // Phoenix clients heartbeat every 25-30 s, but a tutorial reader typing into wscat does not: give a silent
        // connection 10 minutes (the adapter's default is Phoenix's 60 s) to switch terminals and write some SQL.
        builder.Services.AddHeliosRealtimeWebSockets(o => o.IdleTimeout = IdleTimeout);
        builder.Services.AddSingleton<SampleDatabase>();
        builder.Services.AddSingleton(new AccessGuard(options.ApiKey, jwtMode));
        SamplePolicies? policies = null;
        if (jwtMode)
        {
            policies = new SamplePolicies();
            AddJwtAuth(builder, options, policies);
        }
        builder.Services.AddCors();
        if (!options.NoPg)
        {
            PgListener.ResolveAuth(options);
            builder.Services.AddSingleton<PgListener>();
            builder.Services.AddHostedService(services => services.GetRequiredService<PgListener>());
        }

        // ?apikey= and ?token= are moved out of the URL before the hosting layer logs "Request starting …".
        builder.Services.AddHeliosRealtimeQueryTokenRedaction();

        WebApplication app = builder.Build();
        AccessGuard guard = app.Services.GetRequiredService<AccessGuard>();

        // The dashboard runs SQL on a click: no other site may frame it (clickjacking).
        app.Use(static (context, next) =>
        {
            context.Response.Headers.XFrameOptions = "DENY";
            context.Response.Headers.ContentSecurityPolicy = "frame-ancestors 'none'";
            return next(context);
        });

        var dashboard = new EmbeddedFileProvider(typeof(SampleApp).Assembly, typeof(SampleApp).Namespace + ".wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = dashboard });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = dashboard });
        app.UseCors(policy => policy
            .SetIsOriginAllowed(origin => hasKey || AccessGuard.IsLoopbackOrigin(origin))
            .AllowAnyHeader()
            .AllowAnyMethod()
            .WithExposedHeaders("Content-Range", "Preference-Applied"));
        if (jwtMode)
        {
            app.UseAuthentication();
            app.UseAuthorization();
        }

        app.Use(guard.InvokeAsync);

        if (jwtMode)
        {
            app.MapAuthEndpoints();
        }

        app.MapSqlEndpoint();
        app.MapRestEndpoints();
        app.MapGet("/api/info", (SampleDatabase database) => new
        {
            apiKeyRequired = guard.RequiresKey,
            database = database.IsInMemory ? "memory" : "file",
            realtimePath = RealtimePath,
        });
        app.MapGet("/api/tables", async (SampleDatabase database, CancellationToken cancellationToken) =>
            await database.RunAsync(
                connection => TableCatalog.ListTables(connection).Select(t => new
                {
                    name = t.Name,
                    columns = t.Columns.Select(c => new { name = c.Name, type = c.DeclaredType, primaryKey = c.PrimaryKeyOrdinal > 0 }),
                }).ToList(),
                cancellationToken));
        MapRealtime(app, policies);
        app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = SampleHealth.WriteAsync });

        // Open the database (and attach change capture) now rather than on the first request.
        SampleDatabase database = app.Services.GetRequiredService<SampleDatabase>();

        // Stopping interrupts whatever SQL runs, so shutdown never waits for a client's query to finish.
        app.Lifetime.ApplicationStopping.Register(database.Stop);
        app.Lifetime.ApplicationStarted.Register(() => LogStartup(app, guard));
        return app;
    }

    /// <summary>Reads <c>--name value</c> or <c>--name=value</c> from the command line.</summary>
    internal static string? ReadOption(string[] args, string name)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].Equals(name, StringComparison.OrdinalIgnoreCase) && i + 1 < args.Length)
            {
                return args[i + 1];
            }

            if (args[i].StartsWith(name + "=", StringComparison.OrdinalIgnoreCase))
            {
                return args[i][(name.Length + 1)..];
            }
        }

        return null;
    }

    /// <summary>Returns whether an ASP.NET URL (<c>http://host:port</c>, <c>http://*:80</c>, <c>http://+:80</c>) binds to loopback only.</summary>
    internal static bool IsLoopbackUrl(string url)
    {
        string rest = url.Trim();
        int scheme = rest.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            rest = rest[(scheme + 3)..];
        }

        if (rest.StartsWith("unix:", StringComparison.OrdinalIgnoreCase) || rest.StartsWith("pipe:", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        string authority = slash >= 0 ? rest[..slash] : rest;
        string host = authority.StartsWith('[')
            ? authority[..(authority.IndexOf(']', StringComparison.Ordinal) + 1)]
            : authority.Split(':')[0];
        return AccessGuard.IsLoopbackHost(host);
    }

    /// <summary>
    /// Turns the value-less switches into configuration pairs: <c>--no-pg</c> into <c>--no-pg true</c>, and drops the
    /// tutorial's <c>--memory</c> (an in-memory database is the default; it cannot be combined with <c>--db</c>).
    /// </summary>
    internal static string[] ExpandFlags(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var expanded = new List<string>(args.Length + 1);
        bool memory = false;
        bool file = false;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg.Equals("--memory", StringComparison.OrdinalIgnoreCase))
            {
                memory = true;
                continue;
            }

            file |= arg.Equals("--db", StringComparison.OrdinalIgnoreCase) || arg.StartsWith("--db=", StringComparison.OrdinalIgnoreCase);
            expanded.Add(arg);
            if (arg.Equals("--no-pg", StringComparison.OrdinalIgnoreCase) && (i + 1 == args.Length || !bool.TryParse(args[i + 1], out _)))
            {
                expanded.Add("true");
            }
        }

        if (memory && file)
        {
            throw new SampleStartupException("--memory and --db contradict each other: --memory (the default) keeps the database in memory, --db <file> in a file.");
        }

        return [.. expanded];
    }

    private static List<string> ConfiguredUrls(ConfigurationManager configuration)
    {
        // What Kestrel would bind: --urls / ASPNETCORE_URLS, Kestrel:Endpoints, or ASPNETCORE_HTTP(S)_PORTS (all interfaces).
        var urls = (configuration["urls"] ?? string.Empty)
            .Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .ToList();
        urls.AddRange(configuration.GetSection("Kestrel:Endpoints").GetChildren()
            .Select(endpoint => endpoint["Url"]).OfType<string>());
        if (urls.Count == 0)
        {
            foreach (string key in new[] { "http_ports", "https_ports" })
            {
                urls.AddRange((configuration[key] ?? string.Empty)
                    .Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Select(port => "http://*:" + port));
            }
        }

        return urls;
    }

    // The socket, and Supabase's REST broadcast (what supabase-js `httpSend()` calls, and `send()` before the channel is
    // joined) under /realtime/v1/api: both behind the AccessGuard, which guards every /realtime path.
    private static void MapRealtime(WebApplication app, SamplePolicies? policies)
    {
        app.MapHeliosRealtime(RealtimePath, o =>
        {
            if (policies is not null)
            {
                // CREATE POLICY on a table fills the endpoint's row policies; on realtime.messages it decides private channels.
                policies.AttachRealtime(o.Auth.RowPolicies);
                o.Auth.ReadBroadcastPolicy = SamplePolicies.ReadTopicPolicy;
                o.Auth.ReadPresencePolicy = SamplePolicies.ReadTopicPolicy;
                o.Auth.WriteBroadcastPolicy = SamplePolicies.WriteTopicPolicy;
                o.Auth.WritePresencePolicy = SamplePolicies.WriteTopicPolicy;
            }
        });
        app.MapHeliosRealtimeBroadcast();
    }

    /// <summary>
    /// JWT mode: JwtBearer with the HS256 secret (tokens from <c>Authorization: Bearer</c>, a JWT <c>apikey</c> header, or
    /// the WebSocket's <c>?apikey=</c> / <c>?token=</c>), the users' store, and the private-channel policies.
    /// </summary>
    private static void AddJwtAuth(WebApplicationBuilder builder, SampleOptions options, SamplePolicies policies)
    {
        var jwt = new SampleJwt(options.JwtSecret!, TimeSpan.FromSeconds(Math.Max(1, options.JwtExpiry)), TimeProvider.System);
        builder.Services.AddSingleton(jwt);
        builder.Services.AddSingleton(policies);
        builder.Services.AddSingleton(_ => new UserStore(options.Database));
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
        {
            o.MapInboundClaims = false;
            o.TokenValidationParameters = jwt.ValidationParameters;
            o.Events = new JwtBearerEvents
            {
                OnMessageReceived = context =>
                {
                    if (context.Token is null && StringValues.IsNullOrEmpty(context.Request.Headers.Authorization))
                    {
                        string? apiKey = context.Request.Headers["apikey"];
                        context.Token = RealtimeAccessToken.FromQuery(context.Request)
                            ?? (apiKey is not null && apiKey.Count(c => c == '.') == 2 ? apiKey : null);
                    }

                    return Task.CompletedTask;
                },
            };
        });
        builder.Services.AddAuthorization(o =>
        {
            o.AddPolicy(SamplePolicies.ReadTopicPolicy, p => p.RequireAssertion(c => c.Resource is RealtimeChannelResource r && policies.AllowsTopic(c.User, r.Topic, write: false)));
            o.AddPolicy(SamplePolicies.WriteTopicPolicy, p => p.RequireAssertion(c => c.Resource is RealtimeChannelResource r && policies.AllowsTopic(c.User, r.Topic, write: true)));
        });
    }

    private static void LogStartup(WebApplication app, AccessGuard guard)
    {
        ILogger logger = app.Logger;
        ICollection<string> addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        if (guard.RequiresKey)
        {
            Log.ApiKeyMode(logger);
        }
        else
        {
            Log.OpenMode(logger, string.Join(", ", addresses));
        }

        SampleDatabase database = app.Services.GetRequiredService<SampleDatabase>();
        Log.Database(logger, database.Location, database.IsInMemory ? " (empty, in memory: gone when the server stops; --db <file> keeps it)" : string.Empty);
        string url = addresses.FirstOrDefault() ?? SampleOptions.DefaultUrl;
        Log.Endpoints(logger, url, "ws" + url[url.IndexOf(':', StringComparison.Ordinal)..]);
    }
}
