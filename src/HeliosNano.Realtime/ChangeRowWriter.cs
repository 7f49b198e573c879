using System.Text.Json;

namespace HeliosNano.Realtime;

/// <summary>
/// Writes one image of a changed row as a JSON object. Called by
/// <see cref="ChangeNotifier.Notify{TState}(ChangeTable, ChangeKind, TState, ChangeRowWriter{TState}, DateTimeOffset?)"/>
/// only when somebody watches the table, so a commit hook pays nothing to build rows nobody reads.
/// </summary>
/// <typeparam name="TState">The host's state: typically the engine's row or statement context.</typeparam>
/// <param name="writer">The writer to write exactly one JSON object into (column name to value).</param>
/// <param name="state">The state given to <c>Notify</c>.</param>
/// <param name="image">Which image to write: <see cref="RowImage.New"/> or <see cref="RowImage.Old"/>.</param>
public delegate void ChangeRowWriter<in TState>(Utf8JsonWriter writer, TState state, RowImage image);
