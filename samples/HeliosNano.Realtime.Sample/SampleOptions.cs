namespace HeliosNano.Realtime.Sample;

/// <summary>The sample server's settings: configuration section <c>Sample</c>, or <c>--db</c> / <c>--apikey</c> on the command line.</summary>
internal sealed class SampleOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Sample";

    /// <summary>The URL the server listens on when none is configured.</summary>
    public const string DefaultUrl = "http://localhost:8080";

    /// <summary>Gets or sets the SQLite database file; <see langword="null"/> or empty (the default) for an empty in-memory database.</summary>
    public string? Database { get; set; }

    /// <summary>
    /// Gets or sets the API key that <c>/sql</c>, <c>/rest/v1</c>, <c>/api</c> and the WebSocket require; <see langword="null"/>
    /// (the default) for none, in which case the server only listens on loopback.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>The default of <see cref="StatementTimeout"/>: 30 seconds.</summary>
    public static readonly TimeSpan DefaultStatementTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how long one request may run SQL on the database (its statements together, once it holds the
    /// connection); past it SQLite is interrupted and the request is rolled back. The default is 30 seconds.
    /// </summary>
    public TimeSpan StatementTimeout { get; set; } = DefaultStatementTimeout;

    /// <summary>The default of <see cref="MaxResponseBytes"/>: 16 MiB.</summary>
    public const long DefaultMaxResponseBytes = 16 * 1024 * 1024;

    /// <summary>
    /// Gets or sets the largest JSON response of <c>/sql</c> and <c>/rest/v1</c>, in bytes; a larger result is refused
    /// (and the request rolled back) instead of being built. The default is 16 MiB.
    /// </summary>
    public long MaxResponseBytes { get; set; } = DefaultMaxResponseBytes;
}
