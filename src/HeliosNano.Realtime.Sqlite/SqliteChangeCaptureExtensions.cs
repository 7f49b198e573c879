using System.Data;
using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sqlite;

/// <summary>Wires a Microsoft.Data.Sqlite connection's commit path into a <see cref="ChangeNotifier"/>.</summary>
public static class SqliteChangeCaptureExtensions
{
    /// <summary>
    /// Starts capturing every row change committed on <paramref name="connection"/>, whatever SQL issued it, and hands each
    /// committed change to <paramref name="notifier"/>; dispose the result to stop.
    /// </summary>
    /// <param name="connection">An open connection outside a transaction. Each connection that writes needs its own capture.</param>
    /// <param name="notifier">The notifier that publishes the changes.</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <returns>The capture, with its counters; dispose it to remove the hooks.</returns>
    /// <exception cref="InvalidOperationException">
    /// The connection is not open, has an open transaction (start the capture before <c>BEGIN</c>: it could not know the
    /// changes and savepoints made before it), or already has a capture.
    /// </exception>
    /// <exception cref="NotSupportedException">The native SQLite library lacks the pre-update hook.</exception>
    /// <remarks>See <see cref="SqliteChangeCapture"/> for the guarantees and the hooks it owns.</remarks>
    public static SqliteChangeCapture CaptureChanges(this SqliteConnection connection, ChangeNotifier notifier, SqliteChangeCaptureOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(notifier);
        if (connection.State != ConnectionState.Open)
        {
            throw new InvalidOperationException("Open the connection before calling CaptureChanges: the hooks are installed on its native handle.");
        }

        options ??= new SqliteChangeCaptureOptions();
        ArgumentException.ThrowIfNullOrEmpty(options.Schema, "options.Schema");
        return new SqliteChangeCapture(connection, notifier, options);
    }
}
