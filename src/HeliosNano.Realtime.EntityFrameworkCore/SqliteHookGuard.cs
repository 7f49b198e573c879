using System.Collections;
using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.InteropServices;

namespace HeliosNano.Realtime.EntityFrameworkCore;

/// <summary>
/// Tells whether a SQLite connection is also captured by <c>HeliosNano.Realtime.Sqlite</c>'s pre-update hook
/// (<c>connection.CaptureChanges(notifier)</c>), which sees every row itself: the EF capture then stands down for that
/// connection, or every change would be published twice. Found without a package reference: through the hook
/// capture's registry of captured native handles, when that assembly is loaded.
/// </summary>
internal static class SqliteHookGuard
{
    private const string SqliteConnectionType = "Microsoft.Data.Sqlite.SqliteConnection";
    private const string CaptureType = "HeliosNano.Realtime.Sqlite.SqliteChangeCapture";

    private static IDictionary? s_active;
    private static bool s_resolved;
    private static bool s_watching;
    private static readonly Lock s_lock = new();

    public static bool IsHooked(DbConnection connection)
    {
        if (connection.State != ConnectionState.Open || !string.Equals(connection.GetType().FullName, SqliteConnectionType, StringComparison.Ordinal))
        {
            return false; // a closed connection has no native handle, and closing a connection stops its hook capture
        }

        IDictionary? active = Active();
        if (active is null || active.Count == 0)
        {
            return false;
        }

        nint handle = NativeHandle(connection);
        return handle != 0 && active.Contains(handle);
    }

    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "SqliteConnection.Handle is public API; trimmed away, the guard finds no handle and reports no hook.")]
    private static nint NativeHandle(DbConnection connection) =>
        connection.GetType().GetProperty("Handle", BindingFlags.Public | BindingFlags.Instance)?.GetValue(connection) is SafeHandle { IsInvalid: false } safe
            ? safe.DangerousGetHandle()
            : 0;

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only present when the application uses the hook capture, which keeps its own type.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "A private field of the hook capture; trimmed away, the guard reports no hook.")]
    private static IDictionary? Active()
    {
        if (Volatile.Read(ref s_resolved))
        {
            return s_active;
        }

        lock (s_lock)
        {
            if (!s_watching)
            {
                // Look once through what is loaded, then only at assemblies loaded later: never load one to find out, and
                // never walk every assembly's name on a save (that allocated ~40 KB per watched save).
                s_watching = true;
                AppDomain.CurrentDomain.AssemblyLoad += static (_, e) =>
                {
                    if (IsHookAssembly(e.LoadedAssembly))
                    {
                        Resolve(e.LoadedAssembly);
                    }
                };
                if (AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(IsHookAssembly) is { } loaded)
                {
                    Resolve(loaded);
                }
            }
        }

        return Volatile.Read(ref s_resolved) ? s_active : null;
    }

    private static bool IsHookAssembly(Assembly assembly) => assembly.GetName().Name == "HeliosNano.Realtime.Sqlite";

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only present when the application uses the hook capture, which keeps its own type.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "A private field of the hook capture; trimmed away, the guard reports no hook.")]
    private static void Resolve(Assembly assembly)
    {
        s_active = assembly.GetType(CaptureType)?.GetField("s_active", BindingFlags.NonPublic | BindingFlags.Static)?.GetValue(null) as IDictionary;
        Volatile.Write(ref s_resolved, true);
    }
}
