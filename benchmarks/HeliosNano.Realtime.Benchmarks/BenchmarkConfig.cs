using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace HeliosNano.Realtime.Benchmarks;

/// <summary>
/// The job every benchmark class uses: one launch, 3 warm-up and 10 measured iterations. Shorter than BenchmarkDotNet's
/// default (which runs until the error is small) because the reference machine is a shared 2-core VM; the Error and
/// StdDev columns say how noisy each row was, and ratios within one class are more trustworthy than absolute times.
/// </summary>
public class BenchmarkConfig : ManualConfig
{
    public BenchmarkConfig()
    {
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(10).WithId("Shared2Core"));
    }
}

/// <summary><see cref="BenchmarkConfig"/> plus the <see cref="DeliveredPerSecondColumn"/>.</summary>
public sealed class DeliveredConfig : BenchmarkConfig
{
    public DeliveredConfig() => AddColumn(new DeliveredPerSecondColumn());
}

/// <summary>
/// Delivered events per second: <c>Readers / Mean</c>, for benchmarks whose operation is one published event and whose
/// <c>Readers</c> parameter says how many readers each event is delivered to.
/// </summary>
public sealed class DeliveredPerSecondColumn : IColumn
{
    public string Id => nameof(DeliveredPerSecondColumn);

    public string ColumnName => "Delivered/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Events delivered per second, summed over readers (Readers × 1 s / Mean)";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? meanNanoseconds = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (meanNanoseconds is not double mean || mean <= 0 || benchmarkCase.Parameters["Readers"] is not int readers)
        {
            return "-";
        }

        double perSecond = readers * 1e9 / mean;
        return (perSecond / 1e6).ToString("N2", CultureInfo.InvariantCulture) + " M";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
