using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HeliosNano.Realtime.EntityFrameworkCore;

/// <summary>What one notifier's captures share: the interceptors per option set, and the start-up notice logged once.</summary>
internal sealed class CaptureHub
{
    private static readonly ConditionalWeakTable<ChangeNotifier, CaptureHub> s_hubs = [];

    private readonly ChangeNotifier _notifier;
    private readonly ConcurrentDictionary<InterceptorKey, RealtimeCaptureInterceptor> _interceptors = new();
    private int _startupLogged;

    private CaptureHub(ChangeNotifier notifier) => _notifier = notifier;

    public static CaptureHub For(ChangeNotifier notifier) => s_hubs.GetValue(notifier, static n => new CaptureHub(n));

    public RealtimeCaptureInterceptor GetInterceptor(RealtimeCaptureOptions options)
    {
        var key = new InterceptorKey(options.Schema, options.ReportBulkChanges, options.TimeProvider, options.LoggerFactory);
        if (_interceptors.TryGetValue(key, out RealtimeCaptureInterceptor? existing))
        {
            return existing;
        }

        ILogger logger = options.LoggerFactory?.CreateLogger("HeliosNano.Realtime.EntityFrameworkCore") ?? NullLogger.Instance;
        RealtimeCaptureInterceptor created = _interceptors.GetOrAdd(key, static (k, state) =>
            new RealtimeCaptureInterceptor(state.Notifier, k.Schema, k.ReportBulkChanges, k.TimeProvider, state.Logger), (Notifier: _notifier, Logger: logger));
        if (Interlocked.Exchange(ref _startupLogged, 1) == 0)
        {
            CaptureLog.CaptureStarted(logger, options.ReportBulkChanges
                ? "reported as one lost change of the table per statement (ReportBulkChanges)"
                : "not seen (set ReportBulkChanges to have them reported as table changed)");
        }

        return created;
    }

    private readonly record struct InterceptorKey(string Schema, bool ReportBulkChanges, TimeProvider? TimeProvider, ILoggerFactory? LoggerFactory);
}
