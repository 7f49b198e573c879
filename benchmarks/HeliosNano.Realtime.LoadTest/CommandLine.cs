using System.Globalization;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// A deliberately small parser: <c>verb --name value --flag</c>. Unknown options are errors, so a typo never silently
/// runs a different benchmark than the one asked for.
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    private CommandLine(string verb) => Verb = verb;

    public string Verb { get; }

    public static CommandLine Parse(string[] args)
    {
        var line = new CommandLine(args.Length > 0 ? args[0] : "help");
        for (int i = 1; i < args.Length; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Unexpected argument '{arg}': options are written --name value.");
            }

            string name = arg[2..];
            string? value = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }

            line._values[name] = value;
        }

        return line;
    }

    public string GetString(string name, string fallback) => Take(name) ?? fallback;

    public string? GetOptionalString(string name) => Take(name);

    public int GetInt(string name, int fallback) => Take(name) is { } v ? int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture) : fallback;

    public double GetDouble(string name, double fallback) => Take(name) is { } v ? double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture) : fallback;

    public bool GetFlag(string name)
    {
        if (!_values.ContainsKey(name))
        {
            return false;
        }

        string? v = Take(name);
        return v is null || !string.Equals(v, "false", StringComparison.OrdinalIgnoreCase);
    }

    public int[] GetInts(string name, int[] fallback) => Take(name) is { } v
        ? [.. v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture))]
        : fallback;

    public string[] GetStrings(string name, string[] fallback) => Take(name) is { } v
        ? v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        : fallback;

    /// <summary>Throws when an option was given that the verb never asked for.</summary>
    public void EnsureAllUsed()
    {
        string[] unknown = [.. _values.Keys.Where(k => !_used.Contains(k))];
        if (unknown.Length > 0)
        {
            throw new ArgumentException($"Unknown option(s) for '{Verb}': --{string.Join(", --", unknown)}. Run 'help' for the list.");
        }
    }

    private string? Take(string name)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out string? v) ? v : null;
    }
}
