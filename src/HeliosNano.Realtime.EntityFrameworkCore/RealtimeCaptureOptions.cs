using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.EntityFrameworkCore;

/// <summary>Options of the Entity Framework Core capture (<see cref="RealtimeCaptureDbContextOptionsBuilderExtensions"/>).</summary>
public sealed class RealtimeCaptureOptions
{
    /// <summary>The default <see cref="Schema"/>: <c>public</c>, as Supabase clients subscribe to it.</summary>
    public const string DefaultSchema = "public";

    /// <summary>
    /// Gets or sets the schema name that changes to tables the model maps without a schema are published under (SQLite
    /// has none; SQL Server's implicit <c>dbo</c> is not in the model). A table mapped with an explicit schema keeps it.
    /// The default is <c>public</c>.
    /// </summary>
    public string Schema { get; set; } = DefaultSchema;

    /// <summary>
    /// Gets or sets a value indicating whether <c>ExecuteUpdate</c> and <c>ExecuteDelete</c> are reported as "the table
    /// changed": each such statement that affected rows is published, after its commit, as one lost change of its
    /// table and kind (<see cref="ChangeNotifier.NotifyLost(ChangeTable, ChangeKind, DateTimeOffset?)"/>), so a watching
    /// reader counts a missed change (and a WebSocket client gets a <c>system</c> message) and can re-read the table.
    /// The default is <see langword="false"/>: those statements are not seen at all.
    /// </summary>
    public bool ReportBulkChanges { get; set; }

    /// <summary>
    /// Gets or sets the clock that stamps each committed transaction (every change of a transaction carries the same
    /// commit timestamp). The default is <see langword="null"/>: the notifier's clock, read per change.
    /// </summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>
    /// Gets or sets the logger factory for the capture's start-up notice and warnings. The default is
    /// <see langword="null"/>: the one registered in the service provider, when the DI overload is used; else none.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}
