using System.Threading.Tasks.Sources;

namespace HeliosNano.Realtime;

public sealed partial class ChangeReader
{
    /// <summary>
    /// The reader's one reusable wait: an <see cref="IValueTaskSource{TResult}"/> over
    /// <see cref="ManualResetValueTaskSourceCore{TResult}"/>, so waiting allocates nothing.
    /// </summary>
    /// <remarks>
    /// State machine, driven by compare-exchange on <see cref="_state"/> so that exactly one party completes each wait:
    /// <c>Idle</c> → (<see cref="Arm"/>, by the consumer) → <c>Armed</c> → (<see cref="TrySignal"/> by a wake-up, by the
    /// consumer's own re-check or by <see cref="Dispose"/>; or the cancellation callback) → <c>Completed</c> → (the
    /// consumer's next <see cref="Arm"/>) → <c>Armed</c>. Whoever wins Armed → Completed also removes the waiter from the
    /// notifier's list. The cancellation registration is disposed in <see cref="GetResult"/>, which waits for a callback
    /// already running, so a stale callback can never complete a later wait.
    /// </remarks>
    internal sealed class Waiter : IValueTaskSource<bool>
    {
        private const int Idle = 0;
        private const int Armed = 1;
        private const int Completed = 2;

        private readonly ChangeReader _reader;
        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
        private CancellationTokenRegistration _cancellation;
        private CancellationToken _token;
        private int _state;

        public Waiter(ChangeReader reader) => _reader = reader;

        /// <summary>Gets the reader this wait belongs to.</summary>
        public ChangeReader Reader => _reader;

        /// <summary>Gets or sets the index in the notifier's waiter list, or -1 when not in it; guarded by the list's lock.</summary>
        public int ListIndex { get; set; } = -1;

        /// <summary>Marks the wait armed; called by the notifier under its waiter-list lock, right after adding it.</summary>
        public void MarkArmed() => Volatile.Write(ref _state, Armed); // release: ListIndex is visible to whoever sees Armed

        public ValueTask<bool> Arm(CancellationToken cancellationToken)
        {
            // A wait abandoned without GetResult may leave a registration behind: drop it before reuse.
            _cancellation.Dispose();
            _cancellation = default;
            _core.Reset();
            _token = cancellationToken;
            if (_reader.HasWakeFilter)
            {
                _reader.BeginWakeScan();
            }

            // Joins the notifier's list and becomes Armed in one step under the list's lock, so whoever completes the
            // wait always finds it in the list and takes it out.
            _reader._notifier.AddWaiter(this);
            if (cancellationToken.CanBeCanceled)
            {
                _cancellation = cancellationToken.UnsafeRegister(static state => ((Waiter)state!).OnCancelled(), this);
            }

            return new ValueTask<bool>(this, _core.Version);
        }

        /// <summary>Completes the armed wait with <paramref name="result"/>; does nothing if it is not armed.</summary>
        /// <param name="result">The wait's result.</param>
        /// <param name="inline">
        /// Run the consumer's continuation on this thread. Only the wake-up work item asks for it; the flag is set by the
        /// one party that won the Armed → Completed exchange, right before it completes, so no other thread races on it.
        /// </param>
        public bool TrySignal(bool result, bool inline = false)
        {
            if (Interlocked.CompareExchange(ref _state, Completed, Armed) != Armed)
            {
                return false;
            }

            if (ListIndex >= 0)
            {
                _reader._notifier.RemoveWaiter(this);
            }

            _core.RunContinuationsAsynchronously = !inline;
            _core.SetResult(result);
            return true;
        }

        private void OnCancelled()
        {
            if (Interlocked.CompareExchange(ref _state, Completed, Armed) != Armed)
            {
                return;
            }

            _reader._notifier.RemoveWaiter(this);
            _core.RunContinuationsAsynchronously = true;
            _core.SetException(new OperationCanceledException(_token));
        }

        public bool GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                // Only the current wait's result releases its registration: a stale ValueTask's GetResult throws above
                // and must leave the live wait cancellable.
                if (token == _core.Version)
                {
                    _cancellation.Dispose();
                    _cancellation = default;
                }
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
