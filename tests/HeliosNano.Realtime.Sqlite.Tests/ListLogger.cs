using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.Sqlite.Tests;

/// <summary>Keeps every log entry's event name and message, to check which warnings a capture logs.</summary>
internal sealed class ListLogger : ILogger
{
    public List<(LogLevel Level, string EventName, string Message)> Entries { get; } = [];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Add((logLevel, eventId.Name ?? string.Empty, formatter(state, exception)));
}
