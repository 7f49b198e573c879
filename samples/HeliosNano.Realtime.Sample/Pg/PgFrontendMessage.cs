using System.Buffers;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// One frontend message as framed by <see cref="PgMessageReader"/>: its type byte (0 for a start-up packet) and its
/// body, a slice of the <see cref="System.IO.Pipelines.PipeReader"/>'s buffer (valid until the reader advances).
/// </summary>
/// <param name="Type">The type byte, e.g. <c>'Q'</c>; 0 for a start-up packet, whose body starts with the protocol code.</param>
/// <param name="Body">The bytes after the length word, not copied.</param>
internal readonly record struct PgFrontendMessage(byte Type, ReadOnlySequence<byte> Body);
