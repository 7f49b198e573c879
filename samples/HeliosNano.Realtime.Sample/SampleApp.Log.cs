namespace HeliosNano.Realtime.Sample;

internal static partial class SampleApp
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "API key mode: /sql, /rest/v1, /api/tables, the WebSocket and the REST broadcast (/realtime/v1/api) require the key (apikey header or Authorization: Bearer; ?apikey= on the WebSocket only).", EventName = "ApiKeyMode")]
        public static partial void ApiKeyMode(ILogger logger);

        [LoggerMessage(2, LogLevel.Information, "Open mode: no API key is set, so the server listens on loopback only ({Urls}) and refuses cross-site browser requests. Pass --apikey <key> to listen elsewhere.", EventName = "OpenMode")]
        public static partial void OpenMode(ILogger logger, string urls);

        [LoggerMessage(3, LogLevel.Information, "Database: {Location}{Note}.", EventName = "Database")]
        public static partial void Database(ILogger logger, string location, string note);

        [LoggerMessage(4, LogLevel.Information, "Dashboard: {Url}/   SQL: POST {Url}/sql   REST: {Url}/rest/v1/<table>   Realtime: {WebSocketUrl}/realtime/v1/websocket", EventName = "Endpoints")]
        public static partial void Endpoints(ILogger logger, string url, string webSocketUrl);
    }
}
