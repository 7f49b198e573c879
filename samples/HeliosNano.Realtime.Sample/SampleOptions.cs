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

    /// <summary>
    /// Gets or sets the StackExchange.Redis configuration of the scale-out backplane (<c>--redis localhost:6379</c>):
    /// several sample processes over one database file (<c>--db</c>, opened in WAL mode) then share one order of
    /// changes, and every client on every process sees every write. <see langword="null"/> (the default) for one process.
    /// </summary>
    public string? Redis { get; set; }

    /// <summary>
    /// Gets or sets how many changes the Redis log keeps (<c>--redis-log-length</c>): how far back a client can resume
    /// with its <c>last_seq</c> on any process. <see langword="null"/> (the default) for the backplane's 16,384.
    /// </summary>
    public int? RedisLogLength { get; set; }

    /// <summary>
    /// Gets or sets the HS256 secret (<c>--jwt-secret</c>, at least 32 bytes) that switches the server to Supabase-style
    /// JWT auth: <c>/auth/v1</c> sign-up and sign-in, <c>CREATE POLICY</c> row-level security for REST and realtime, and
    /// <c>/sql</c> for the <c>service_role</c> only. <see langword="null"/> (the default) for none.
    /// </summary>
    public string? JwtSecret { get; set; }

    /// <summary>Gets or sets the lifetime of issued access tokens, in seconds (<c>--jwt-expiry</c>). The default is 3600.</summary>
    public int JwtExpiry { get; set; } = 3600;

    /// <summary>The PostgreSQL protocol port used when none is configured: 5432, PostgreSQL's own.</summary>
    public const int DefaultPgPort = 5432;

    /// <summary>
    /// Gets or sets the port of the PostgreSQL protocol listener on 127.0.0.1 (<c>--pg-port</c>); 0 for a free one;
    /// <see langword="null"/> (the default) for 5432, where a port already taken only gets a warning.
    /// </summary>
    public int? PgPort { get; set; }

    /// <summary>Gets or sets whether the PostgreSQL protocol listener is off (<c>--no-pg</c>). The default is <see langword="false"/>.</summary>
    public bool NoPg { get; set; }

    /// <summary>
    /// Gets or sets the PostgreSQL protocol's authentication (<c>--auth</c>): <c>scram-sha-256</c> or <c>trust</c>;
    /// <see langword="null"/> (the default) for <c>scram-sha-256</c> when a password is set, else <c>trust</c>.
    /// </summary>
    public string? Auth { get; set; }

    /// <summary>Gets or sets the password <c>scram-sha-256</c> checks, for any user name (<c>--password</c>).</summary>
    public string? Password { get; set; }

    /// <summary>The default of <see cref="IdleInTransactionSessionTimeout"/>: 5 minutes.</summary>
    public static readonly TimeSpan DefaultIdleInTransactionSessionTimeout = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Gets or sets how long a PostgreSQL-protocol session may hold the database while waiting on its client (inside
    /// <c>BEGIN</c>, or in an extended-protocol batch before its <c>Sync</c>); past it the session is closed with
    /// <c>FATAL 25P03</c> and its transaction rolled back, as PostgreSQL's <c>idle_in_transaction_session_timeout</c>
    /// does. SQLite has one writer, so everyone else waits meanwhile. Zero turns the limit off. The default is 5 minutes.
    /// </summary>
    public TimeSpan IdleInTransactionSessionTimeout { get; set; } = DefaultIdleInTransactionSessionTimeout;

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
    /// Gets or sets the largest JSON response of <c>/sql</c> and <c>/rest/v1</c>, and the largest answer the PostgreSQL
    /// protocol buffers before sending it, in bytes; a larger result is refused (and the request rolled back) instead of
    /// being built. The default is 16 MiB.
    /// </summary>
    public long MaxResponseBytes { get; set; } = DefaultMaxResponseBytes;
}
