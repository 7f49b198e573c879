using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime.EntityFrameworkCore;

/// <summary>Wires Entity Framework Core's <c>SaveChanges</c> into a <see cref="ChangeNotifier"/> with one call on the context options.</summary>
public static class RealtimeCaptureDbContextOptionsBuilderExtensions
{
    /// <summary>
    /// Publishes every INSERT, UPDATE and DELETE that <c>SaveChanges</c>/<c>SaveChangesAsync</c> of this context commits
    /// to the <see cref="ChangeNotifier"/> registered in <paramref name="services"/> (<c>services.AddHeliosRealtime()</c>):
    /// <c>services.AddDbContext&lt;AppDb&gt;((sp, o) =&gt; o.UseSqlite(cs).AddHeliosRealtimeCapture(sp))</c>.
    /// </summary>
    /// <param name="builder">The context options; call this after the other interceptors are added, so it sees what they changed.</param>
    /// <param name="services">The application's service provider, holding the notifier (and, optionally, an <see cref="ILoggerFactory"/>).</param>
    /// <param name="configure">Adjusts the options; <see langword="null"/> for the defaults.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="InvalidOperationException">No <see cref="ChangeNotifier"/> is registered.</exception>
    /// <remarks>
    /// The capture is an interceptor (save changes, transactions, commands); it keeps no per-context state in itself, so
    /// pooled contexts and context factories are safe. See the package README for what it does and does not see.
    /// </remarks>
    public static DbContextOptionsBuilder AddHeliosRealtimeCapture(this DbContextOptionsBuilder builder, IServiceProvider services, Action<RealtimeCaptureOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(services);
        ChangeNotifier notifier = services.GetService<ChangeNotifier>()
            ?? throw new InvalidOperationException("No ChangeNotifier is registered: call 'services.AddHeliosRealtime()' before 'AddHeliosRealtimeCapture(sp)'.");
        var options = new RealtimeCaptureOptions { LoggerFactory = services.GetService<ILoggerFactory>() };
        configure?.Invoke(options);
        return Add(builder, notifier, options);
    }

    /// <summary>Publishes every INSERT, UPDATE and DELETE that <c>SaveChanges</c> of this context commits to <paramref name="notifier"/> (no DI).</summary>
    /// <param name="builder">The context options; call this after the other interceptors are added.</param>
    /// <param name="notifier">The notifier that publishes the changes.</param>
    /// <param name="configure">Adjusts the options; <see langword="null"/> for the defaults.</param>
    /// <returns>The same builder.</returns>
    public static DbContextOptionsBuilder AddHeliosRealtimeCapture(this DbContextOptionsBuilder builder, ChangeNotifier notifier, Action<RealtimeCaptureOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(notifier);
        var options = new RealtimeCaptureOptions();
        configure?.Invoke(options);
        return Add(builder, notifier, options);
    }

    /// <summary>Publishes every change <c>SaveChanges</c> commits to the notifier in <paramref name="services"/>; the typed form of <see cref="AddHeliosRealtimeCapture(DbContextOptionsBuilder, IServiceProvider, Action{RealtimeCaptureOptions}?)"/>.</summary>
    /// <typeparam name="TContext">The context type.</typeparam>
    /// <param name="builder">The context options.</param>
    /// <param name="services">The application's service provider.</param>
    /// <param name="configure">Adjusts the options; <see langword="null"/> for the defaults.</param>
    /// <returns>The same builder.</returns>
    public static DbContextOptionsBuilder<TContext> AddHeliosRealtimeCapture<TContext>(this DbContextOptionsBuilder<TContext> builder, IServiceProvider services, Action<RealtimeCaptureOptions>? configure = null)
        where TContext : DbContext =>
        (DbContextOptionsBuilder<TContext>)AddHeliosRealtimeCapture((DbContextOptionsBuilder)builder, services, configure);

    /// <summary>Publishes every change <c>SaveChanges</c> commits to <paramref name="notifier"/>; the typed form of <see cref="AddHeliosRealtimeCapture(DbContextOptionsBuilder, ChangeNotifier, Action{RealtimeCaptureOptions}?)"/>.</summary>
    /// <typeparam name="TContext">The context type.</typeparam>
    /// <param name="builder">The context options.</param>
    /// <param name="notifier">The notifier that publishes the changes.</param>
    /// <param name="configure">Adjusts the options; <see langword="null"/> for the defaults.</param>
    /// <returns>The same builder.</returns>
    public static DbContextOptionsBuilder<TContext> AddHeliosRealtimeCapture<TContext>(this DbContextOptionsBuilder<TContext> builder, ChangeNotifier notifier, Action<RealtimeCaptureOptions>? configure = null)
        where TContext : DbContext =>
        (DbContextOptionsBuilder<TContext>)AddHeliosRealtimeCapture((DbContextOptionsBuilder)builder, notifier, configure);

    private static DbContextOptionsBuilder Add(DbContextOptionsBuilder builder, ChangeNotifier notifier, RealtimeCaptureOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(options.Schema, "options.Schema");
        // One interceptor per notifier and option set, reused by every context built with these options (scoped options
        // run this per scope): model maps and the start-up log are made once.
        return builder.AddInterceptors(CaptureHub.For(notifier).GetInterceptor(options).Interceptors);
    }
}
