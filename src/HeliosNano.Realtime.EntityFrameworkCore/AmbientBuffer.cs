using System.Collections.Concurrent;
using System.Transactions;

namespace HeliosNano.Realtime.EntityFrameworkCore;

/// <summary>
/// Rows saved inside an ambient <see cref="Transaction"/> (<c>TransactionScope</c>) on a provider that enlists
/// (Npgsql, SqlClient): published when it completes committed, dropped when it aborts. EF raises no interceptor
/// callback for an ambient commit, so the capture listens to <see cref="Transaction.TransactionCompleted"/>.
/// </summary>
internal sealed class AmbientBuffer
{
    private static readonly ConcurrentDictionary<string, AmbientBuffer> s_buffers = new(StringComparer.Ordinal);

    private readonly RealtimeCaptureInterceptor _capture;
    private readonly List<PendingRow> _rows = [];

    private AmbientBuffer(RealtimeCaptureInterceptor capture) => _capture = capture;

    public static void Add(RealtimeCaptureInterceptor capture, Transaction ambient, List<PendingRow> rows)
    {
        string id = ambient.TransactionInformation.LocalIdentifier + "/" + System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(capture);
        bool created = false;
        AmbientBuffer buffer = s_buffers.GetOrAdd(id, _ =>
        {
            created = true;
            return new AmbientBuffer(capture);
        });
        lock (buffer._rows)
        {
            buffer._rows.AddRange(rows);
        }

        if (created)
        {
            ambient.TransactionCompleted += (_, e) =>
            {
                s_buffers.TryRemove(id, out AmbientBuffer? _);
                List<PendingRow> done;
                lock (buffer._rows)
                {
                    done = [.. buffer._rows];
                }

                if (e.Transaction?.TransactionInformation.Status == TransactionStatus.Committed)
                {
                    buffer._capture.Publish(done);
                }
                else if (e.Transaction?.TransactionInformation.Status == TransactionStatus.InDoubt)
                {
                    buffer._capture.PublishLost(done);
                }
            };
        }
    }
}
