using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.Sqlite;

/// <summary>Options for <see cref="SqliteChangeCaptureExtensions.CaptureChanges"/>.</summary>
public sealed class SqliteChangeCaptureOptions
{
    /// <summary>The default <see cref="Schema"/>: <c>public</c>, as Supabase clients subscribe to it.</summary>
    public const string DefaultSchema = "public";

    /// <summary>The default <see cref="MaxBufferedBytes"/>: 1 GiB.</summary>
    public const long DefaultMaxBufferedBytes = 1L << 30;

    /// <summary>
    /// Gets or sets the schema name that changes to the connection's <c>main</c> database are published under.
    /// The default is <c>public</c>.
    /// </summary>
    /// <remarks>Give each database its own schema name when one notifier serves several databases whose table names collide.</remarks>
    public string Schema { get; set; } = DefaultSchema;

    /// <summary>
    /// Gets or sets the logger that records failures inside the native callbacks (which are counted in
    /// <see cref="SqliteChangeCapture.Errors"/> and never thrown into SQLite). The default is <see langword="null"/>: no logging.
    /// </summary>
    public ILogger? Logger { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether values of NUMERIC/DECIMAL columns are written as JSON strings, as
    /// PostgreSQL's <c>numeric</c> is in Supabase payloads that keep exact decimals (<c>"total":"49.99"</c>), with the
    /// declared scale (<c>NUMERIC(10, 2)</c> writes <c>12.5</c> as <c>"12.50"</c>). The default is <see langword="false"/>:
    /// numbers.
    /// </summary>
    public bool NumericAsString { get; set; }

    /// <summary>
    /// Gets or sets the clock that stamps each committed transaction (every change of a transaction carries the same
    /// commit timestamp). The default is <see langword="null"/>: the notifier's clock, read per change.
    /// </summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>
    /// Gets or sets how many bytes of row images one transaction may buffer until it commits (values, plus 32 bytes per
    /// column value). The default is 1 GiB (<see cref="DefaultMaxBufferedBytes"/>).
    /// </summary>
    /// <remarks>
    /// A transaction that needs more is not published in part: its buffer is dropped at once and, if it commits, every
    /// reader watching a table it changed is told it missed a change of that kind (one lost marker per table and kind,
    /// see <see cref="SqliteChangeCapture.ChangesLost"/>), so it can re-read the table.
    /// </remarks>
    public long MaxBufferedBytes
    {
        get => _maxBufferedBytes;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _maxBufferedBytes = value;
        }
    }

    private long _maxBufferedBytes = DefaultMaxBufferedBytes;
}
