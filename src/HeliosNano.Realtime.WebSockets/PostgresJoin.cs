namespace HeliosNano.Realtime.WebSockets;

/// <summary>What <see cref="PostgresChangesExtension.PrepareJoinAsync"/> made of a join's <c>postgres_changes</c>.</summary>
/// <param name="Specs">Every requested binding, echoed in the reply in order.</param>
/// <param name="Active">The bindings that were set up.</param>
/// <param name="Errors">One system error message per binding that could not be set up.</param>
/// <param name="Refusal">The join's refusal reason when authorization refused a binding; <see langword="null"/> otherwise.</param>
internal sealed record PostgresJoin(List<BindingSpec> Specs, List<PostgresBinding> Active, List<string> Errors, string? Refusal);
