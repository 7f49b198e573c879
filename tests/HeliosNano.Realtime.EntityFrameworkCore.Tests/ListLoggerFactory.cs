using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.EntityFrameworkCore.Tests;

/// <summary>Collects log entries (event name and message) in memory.</summary>
internal sealed class ListLoggerFactory : ILoggerFactory
{
    public List<(string EventName, LogLevel Level, string Message)> Entries { get; } = [];

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => new ListLogger(this);

    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner.Entries)
            {
                owner.Entries.Add((eventId.Name ?? "", logLevel, formatter(state, exception)));
            }
        }
    }
}
