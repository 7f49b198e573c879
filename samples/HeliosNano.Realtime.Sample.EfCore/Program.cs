using HeliosNano.Realtime;
using HeliosNano.Realtime.EntityFrameworkCore;
using HeliosNano.Realtime.Sample.EfCore;
using HeliosNano.Realtime.WebSockets;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.FileProviders;

// An orders board: EF Core writes, HeliosNano publishes each committed change, the page (supabase-js) updates live.
//   dotnet run --project samples/HeliosNano.Realtime.Sample.EfCore                       (in-memory SQLite)
//   dotnet run --project samples/HeliosNano.Realtime.Sample.EfCore -- --postgres "Host=…;Username=…;Database=…"
string? postgres = Arg(args, "--postgres");
string? supabaseJs = Arg(args, "--supabase-js") ?? FindSupabaseJs();
WebApplicationBuilder builder = WebApplication.CreateBuilder(args.Where((a, i) => !IsOwnArg(args, i)).ToArray());
if (builder.Configuration["urls"] is null)
{
    builder.WebHost.UseUrls("http://127.0.0.1:8081");
}

// A named in-memory SQLite database lives while one connection to it is open: this one, for the app's lifetime.
using var keeper = postgres is null ? new SqliteConnection("Data Source=board;Mode=Memory;Cache=Shared") : null;
keeper?.Open();

builder.Services.AddHeliosRealtime();
builder.Services.AddHeliosRealtimeWebSockets();
builder.Services.AddDbContext<BoardDb>((sp, o) =>
    (postgres is null ? o.UseSqlite(keeper!.ConnectionString) : o.UseNpgsql(postgres)).AddHeliosRealtimeCapture(sp));

WebApplication app = builder.Build();
using (IServiceScope scope = app.Services.CreateScope())
{
    BoardDb db = scope.ServiceProvider.GetRequiredService<BoardDb>();
    db.Database.EnsureCreated();
    db.RegisterHeliosRealtimeTables(); // so the page can join public.orders before the first save

}

var pages = new EmbeddedFileProvider(typeof(BoardDb).Assembly, "HeliosNano.Realtime.Sample.EfCore.wwwroot");
app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = pages });
app.UseStaticFiles(new StaticFileOptions { FileProvider = pages });

// supabase-js is served from a local npm install (no CDN): npm i @supabase/supabase-js, or --supabase-js <supabase.js>.
app.MapGet("/vendor/supabase.js", () => supabaseJs is not null && File.Exists(supabaseJs)
    ? Results.File(supabaseJs, "text/javascript")
    : Results.NotFound("supabase.js not found: run 'npm ci' in tests/browser, or pass --supabase-js <path to dist/umd/supabase.js>"));

app.MapGet("/api/orders", async (BoardDb db, CancellationToken ct) => await db.Orders.OrderBy(o => o.Id).ToListAsync(ct));
app.MapPost("/api/orders", async (NewOrder order, BoardDb db, CancellationToken ct) =>
{
    var row = new Order { Customer = order.Customer, Total = order.Total };
    db.Orders.Add(row);
    await db.SaveChangesAsync(ct);
    return Results.Created($"/api/orders/{row.Id}", row);
});
app.MapPost("/api/orders/{id:int}/status/{status}", async (int id, string status, BoardDb db, CancellationToken ct) =>
{
    Order? row = await db.Orders.FindAsync([id], ct);
    if (row is null)
    {
        return Results.NotFound();
    }

    row.Status = status;
    row.UpdatedAt = DateTime.UtcNow;
    await db.SaveChangesAsync(ct);
    return Results.Ok(row);
});
app.MapDelete("/api/orders/{id:int}", async (int id, BoardDb db, CancellationToken ct) =>
{
    Order? row = await db.Orders.FindAsync([id], ct);
    if (row is null)
    {
        return Results.NotFound();
    }

    db.Orders.Remove(row);
    await db.SaveChangesAsync(ct);
    return Results.NoContent();
});
app.MapHeliosRealtime("/realtime/v1/websocket");
BoardLog.Started(app.Logger, postgres is null ? "in-memory SQLite" : "PostgreSQL", supabaseJs ?? "(not found)");
await app.RunAsync();

static string? Arg(string[] args, string name)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

static bool IsOwnArg(string[] args, int i) =>
    args[i] is "--postgres" or "--supabase-js" || (i > 0 && args[i - 1] is "--postgres" or "--supabase-js");

static string? FindSupabaseJs()
{
    const string Relative = "node_modules/@supabase/supabase-js/dist/umd/supabase.js";
    for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        foreach (string candidate in (string[])[Path.Combine(dir.FullName, Relative), Path.Combine(dir.FullName, "tests/browser", Relative)])
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
    }

    return null;
}

/// <summary>The sample's log messages.</summary>
internal static partial class BoardLog
{
    [LoggerMessage(1, LogLevel.Information, "Orders board on {Database}; supabase-js from {SupabaseJs}", EventName = "BoardStarted")]
    public static partial void Started(ILogger logger, string database, string supabaseJs);
}

/// <summary>The body of <c>POST /api/orders</c>.</summary>
internal sealed record NewOrder(string Customer, decimal Total);
