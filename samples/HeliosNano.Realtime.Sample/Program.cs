using HeliosNano.Realtime.Sample;

// The tutorial's server on http://localhost:8080: an empty in-memory SQLite database, POST /sql, /rest/v1/<table>,
// the live dashboard at /, the Supabase Realtime WebSocket at /realtime/v1/websocket and its REST broadcast at /realtime/v1/api.
// Options: --urls <url> (as in any ASP.NET app), --db <file> (a database file instead of memory), --apikey <key>.
// --jwt-secret <secret> --print-keys: print the anon and service_role keys (10-year HS256 tokens) and exit; they are
// keys like Supabase's, so they go to stdout on request, never to a log.
if (args.Contains("--print-keys"))
{
    string? secret = SampleApp.ReadOption(args, "--jwt-secret");
    if (secret is null)
    {
        await Console.Error.WriteLineAsync("error: --print-keys needs --jwt-secret <secret>");
        return 2;
    }

    try
    {
        var jwt = new HeliosNano.Realtime.Sample.Auth.SampleJwt(secret, TimeSpan.FromDays(3650), TimeProvider.System);
        Console.WriteLine("anon=" + jwt.Mint("anon").Token);
        Console.WriteLine("service_role=" + jwt.Mint(HeliosNano.Realtime.Sample.Auth.SamplePolicies.ServiceRole).Token);
        return 0;
    }
    catch (SampleStartupException ex)
    {
        await Console.Error.WriteLineAsync("error: " + ex.Message);
        return 2;
    }
}

WebApplication app;
try
{
    app = SampleApp.Build(args);
}
catch (SampleStartupException ex)
{
    await Console.Error.WriteLineAsync("error: " + ex.Message);
    return 2;
}

await app.RunAsync();
return 0;
