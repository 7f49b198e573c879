using System.Numerics;
using Microsoft.Extensions.Options;

namespace HeliosNano.Realtime;

/// <summary>Validates <see cref="ChangeNotifierOptions"/> at start-up (registered with <c>ValidateOnStart</c>).</summary>
internal sealed class ChangeNotifierOptionsValidator : IValidateOptions<ChangeNotifierOptions>
{
    public ValidateOptionsResult Validate(string? name, ChangeNotifierOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string? error = GetError(options);
        return error is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(error);
    }

    internal static string? GetError(ChangeNotifierOptions options) =>
        options.Capacity is < 2 or > ChangeNotifierOptions.MaxCapacity || !BitOperations.IsPow2(options.Capacity)
            ? $"ChangeNotifierOptions.Capacity must be a power of two between 2 and {ChangeNotifierOptions.MaxCapacity}; it is {options.Capacity}."
            : options.MaxRetainedBytes < 1
                ? $"ChangeNotifierOptions.MaxRetainedBytes must be at least 1; it is {options.MaxRetainedBytes}."
                : null;
}
