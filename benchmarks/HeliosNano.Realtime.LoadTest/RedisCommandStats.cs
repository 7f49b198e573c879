using System.Globalization;

namespace HeliosNano.Realtime.LoadTest;

/// <summary>
/// Redis's <c>INFO commandstats</c>: calls and server time per command (<c>cmdstat_xrange:calls=12,usec=340,…</c>).
/// Commands a script runs count under their own names as well as the script call's (Redis 7), so the append
/// script's <c>XADD</c> and <c>PUBLISH</c> show up next to <c>evalsha</c>. Subtract two snapshots for one pass.
/// </summary>
internal sealed class RedisCommandStats
{
    private readonly Dictionary<string, (long Calls, long Microseconds)> _commands;

    private RedisCommandStats(Dictionary<string, (long Calls, long Microseconds)> commands) => _commands = commands;

    public IEnumerable<string> Commands => _commands.Keys;

    public static RedisCommandStats Parse(string info)
    {
        var commands = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        foreach (string raw in info.Split('\n'))
        {
            string line = raw.Trim();
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                continue;
            }

            int colon = line.IndexOf(':', StringComparison.Ordinal);
            long calls = 0, usec = 0;
            foreach (string pair in line[(colon + 1)..].Split(','))
            {
                string[] kv = pair.Split('=');
                if (kv.Length == 2 && kv[0] == "calls")
                {
                    calls = long.Parse(kv[1], CultureInfo.InvariantCulture);
                }
                else if (kv.Length == 2 && kv[0] == "usec")
                {
                    usec = long.Parse(kv[1], CultureInfo.InvariantCulture);
                }
            }

            // Sub-commands are reported as cmdstat_client|setname: keep the name as Redis prints it.
            commands[line[8..colon]] = (calls, usec);
        }

        return new RedisCommandStats(commands);
    }

    public long Calls(string command) => _commands.TryGetValue(command, out var v) ? v.Calls : 0;

    public long Microseconds(string command) => _commands.TryGetValue(command, out var v) ? v.Microseconds : 0;

    /// <summary>Server time per call of <paramref name="command"/>, in microseconds (0 when it was not called).</summary>
    public double MicrosecondsPerCall(string command) => Calls(command) == 0 ? 0 : Microseconds(command) / (double)Calls(command);

    public static RedisCommandStats operator -(RedisCommandStats after, RedisCommandStats before)
    {
        var delta = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        foreach ((string name, (long calls, long usec)) in after._commands)
        {
            (long c0, long u0) = before._commands.GetValueOrDefault(name);
            if (calls - c0 != 0)
            {
                delta[name] = (calls - c0, usec - u0);
            }
        }

        return new RedisCommandStats(delta);
    }

    /// <summary>Calls and µs/call per command, the busiest first: <c>evalsha 40 (12.3 µs), xrange 120 (4.1 µs)</c>.</summary>
    public string Describe() => string.Join(", ", _commands.OrderByDescending(c => c.Value.Calls)
        .Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key} {c.Value.Calls:N0} ({(c.Value.Calls == 0 ? 0 : c.Value.Microseconds / (double)c.Value.Calls):0.0} µs)")));
}
