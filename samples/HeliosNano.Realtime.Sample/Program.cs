using HeliosNano.Realtime.Sample;

// The tutorial's server on http://localhost:8080: an empty in-memory SQLite database, POST /sql, /rest/v1/<table>,
// the live dashboard at /, the Supabase Realtime WebSocket at /realtime/v1/websocket and its REST broadcast at /realtime/v1/api.
// Options: --urls <url> (as in any ASP.NET app), --db <file> (a database file instead of memory), --apikey <key>.
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
