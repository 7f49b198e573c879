using System.Threading.Tasks.Sources;

namespace HeliosNano.Realtime.WebSockets;

internal sealed partial class RealtimeConnection
{
    /// <summary>
    /// The idle wait of a connection that has no postgres_changes binding (only broadcast and presence): set by
    /// <see cref="Wake"/> from any thread, awaited by the connection loop only. Waking the ring wait instead means
    /// cancelling it, which costs an <see cref="OperationCanceledException"/> thrown and caught per wake-up, the
    /// largest item of a broadcast's per-receiver cost when receivers are idle between messages.
    /// </summary>
    /// <remarks>
    /// A signal given while nobody waits is kept, so the next <see cref="WaitAsync"/> returns at once: a wake-up that
    /// races with the loop's last check before waiting is never lost. Several signals before one wait count as one
    /// (the loop re-checks everything after each wait).
    /// </remarks>
    internal sealed class WakeSignal : IValueTaskSource
    {
        private const int Idle = 0;
        private const int Signalled = 1;
        private const int Waiting = 2;

        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
        private int _state;

        /// <summary>Completes the pending wait, or makes the next one return at once. Thread-safe, never blocks.</summary>
        public void Signal()
        {
            if (Interlocked.Exchange(ref _state, Signalled) == Waiting)
            {
                // Only the signal that saw Waiting completes it: exactly one completion per wait.
                _core.SetResult(true);
            }
        }

        /// <summary>Waits for a signal given since the previous wait returned. Only the connection loop calls this.</summary>
        public ValueTask WaitAsync()
        {
            if (Interlocked.CompareExchange(ref _state, Idle, Signalled) == Signalled)
            {
                return ValueTask.CompletedTask;
            }

            _core.Reset();
            if (Interlocked.CompareExchange(ref _state, Waiting, Idle) != Idle)
            {
                // A signal arrived between the two steps: take it.
                Interlocked.Exchange(ref _state, Idle);
                return ValueTask.CompletedTask;
            }

            return new ValueTask(this, _core.Version);
        }

        void IValueTaskSource.GetResult(short token)
        {
            _core.GetResult(token);

            // An atomic exchange, not a plain write: it reads the signal that completed us (or a later one), so what
            // was enqueued before that signal is visible to the loop's next checks.
            Interlocked.Exchange(ref _state, Idle);
        }

        ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

        void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
