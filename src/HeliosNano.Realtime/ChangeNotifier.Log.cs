using Microsoft.Extensions.Logging;

namespace HeliosNano.Realtime;

public sealed partial class ChangeNotifier
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Reader '{ReaderName}' lagged by {Missed} events; it resumes at sequence {ResumeSequence}, the oldest event still held.", EventName = "ReaderLagged")]
        public static partial void ReaderLagged(ILogger logger, string readerName, long missed, long resumeSequence);

        [LoggerMessage(2, LogLevel.Debug, "Change {Sequence} was overwritten by a later lap of the ring before its writer could publish it; readers count it as lag.", EventName = "WriteLapped")]
        public static partial void WriteLapped(ILogger logger, long sequence);

        [LoggerMessage(3, LogLevel.Debug, "Reader '{ReaderName}' subscribed to {Filter} at sequence {StartSequence}.", EventName = "ReaderSubscribed")]
        public static partial void ReaderSubscribed(ILogger logger, string readerName, ChangeFilter filter, long startSequence);

        [LoggerMessage(4, LogLevel.Debug, "Reader '{ReaderName}' left after receiving {Received} events and missing {Missed}.", EventName = "ReaderLeft")]
        public static partial void ReaderLeft(ILogger logger, string readerName, long received, long missed);
    }
}
