using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace HeliosNano.Realtime.EntityFrameworkCore;

/// <summary>Start-up helpers for a context that has the capture attached.</summary>
public static class RealtimeCaptureDbContextExtensions
{
    /// <summary>
    /// Makes the model's tables (with their columns and PostgreSQL type names) known to the notifier now rather than at
    /// the first save, so that WebSocket clients can join <c>realtime:public:orders</c> before anything was written (an
    /// unknown table gets a <c>system</c> error at join). Call it once at start-up, e.g. after <c>EnsureCreated</c>.
    /// </summary>
    /// <param name="context">A context built with <c>AddHeliosRealtimeCapture</c>.</param>
    /// <returns>The number of tables registered.</returns>
    /// <exception cref="InvalidOperationException">The context's options have no HeliosNano capture.</exception>
    public static int RegisterHeliosRealtimeTables(this DbContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = context.GetService<IDbContextOptions>();
        RealtimeCaptureInterceptor? capture = options.FindExtension<CoreOptionsExtension>()?.Interceptors?.OfType<RealtimeCaptureInterceptor>().FirstOrDefault();
        return capture is null
            ? throw new InvalidOperationException("The context has no HeliosNano capture: add '.AddHeliosRealtimeCapture(...)' to its options.")
            : capture.Register(context);
    }
}
