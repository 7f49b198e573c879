// The server the JavaScript client tests run against: the realtime endpoint on /realtime/v1/websocket and a
// test-only POST /test/notify that notifies one change in-process. Start it with --urls http://127.0.0.1:0; it
// prints "Now listening on: <url>" once it accepts connections. Optional: --capacity N (ring size, power of two),
// --max-inbound-per-second N (RealtimeWebSocketOptions.MaxInboundMessagesPerSecond).
using System.Globalization;
using System.Text;
using System.Text.Json;
using HeliosNano.Realtime;
using HeliosNano.Realtime.WebSockets;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
int capacity = builder.Configuration.GetValue("capacity", ChangeNotifierOptions.DefaultCapacity);
builder.Services.AddHeliosRealtime(o => o.Capacity = capacity);
// --max-inbound-per-second N: the broadcast tests push bursts above the default 100 messages/s of one socket.
int maxInbound = builder.Configuration.GetValue("max-inbound-per-second", RealtimeWebSocketOptions.DefaultMaxInboundMessagesPerSecond);
builder.Services.AddHeliosRealtimeWebSockets(o => o.MaxInboundMessagesPerSecond = maxInbound);

WebApplication app = builder.Build();
ChangeNotifier notifier = app.Services.GetRequiredService<ChangeNotifier>();
notifier.GetTable("public", "orders").SetColumns(
[
    new ChangeColumn("id", "int4"),
    new ChangeColumn("customer", "text"),
    new ChangeColumn("total", "numeric"),
    new ChangeColumn("status", "text"),
    new ChangeColumn("paid", "bool"),
    new ChangeColumn("meta", "jsonb"),
    new ChangeColumn("updated_at", "timestamp"),
]);
notifier.GetTable("public", "todos").SetColumns([new ChangeColumn("id", "int8"), new ChangeColumn("title", "text"), new ChangeColumn("done", "bool")]);

app.MapHeliosRealtime();
app.MapHeliosRealtimeBroadcast();

app.MapPost("/test/notify", async (HttpContext context) =>
{
    using JsonDocument body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
    JsonElement root = body.RootElement;
    string schema = root.TryGetProperty("schema", out JsonElement s) ? s.GetString()! : "public";
    string table = root.GetProperty("table").GetString()!;
    ChangeKind kind = Enum.Parse<ChangeKind>(root.GetProperty("type").GetString()!, ignoreCase: true);
    ChangeTable handle = notifier.GetTable(schema, table);
    if (root.TryGetProperty("columns", out JsonElement columns) && columns.ValueKind == JsonValueKind.Array)
    {
        handle.SetColumns(columns.EnumerateArray().Select(c => new ChangeColumn(c.GetProperty("name").GetString()!, c.GetProperty("type").GetString()!)));
    }

    byte[] record = Image(root, "record");
    byte[] oldRecord = Image(root, "old_record");
    long sequence = notifier.Notify(handle, kind, record, oldRecord);
    return Results.Text("{\"seq\":" + sequence.ToString(CultureInfo.InvariantCulture) + "}", "application/json");
});

app.MapGet("/test/stats", () => Results.Text(
    $"{{\"subscribers\":{notifier.SubscriberCount},\"orders\":{notifier.GetSubscriberCount("public", "orders")},\"last_seq\":{notifier.LastSequence}}}",
    "application/json"));

app.Run();

static byte[] Image(JsonElement root, string name) =>
    root.TryGetProperty(name, out JsonElement image) && image.ValueKind == JsonValueKind.Object ? Encoding.UTF8.GetBytes(image.GetRawText()) : [];
