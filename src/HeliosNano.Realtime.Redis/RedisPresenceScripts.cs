namespace HeliosNano.Realtime.Redis;

/// <summary>
/// The Lua scripts of presence across nodes. Redis holds every node's tracked metas in one hash (field: the meta's
/// <c>phx_ref</c>; value: <c>{"n":node,"t":topic,"k":key,"r":ref,"p":previous ref,"m":payload}</c>), and each script
/// that changes it numbers the change (<c>INCR</c> of one counter) and publishes it on the presence channel as
/// <c>{"n":node,"s":number,"j":[value,…],"l":["ref",…]}</c>, atomically: a node that reads the hash and the counter
/// together knows exactly which published changes the read already holds.
/// </summary>
/// <remarks>
/// KEYS everywhere: the hash, the counter, the set of nodes that wrote, and (but the sweep) the node's heartbeat key.
/// Refs are base64url and node ids hex, so the published JSON is built by concatenation.
/// </remarks>
internal static class RedisPresenceScripts
{
    /// <summary>
    /// One change of one node, in the order the node made them. ARGV: node, channel, heartbeat TTL (ms), the number of
    /// joins, then (ref, value) per join, then the refs that left. Returns 1 when the node's heartbeat key was missing
    /// (a sweep may have removed the node's other metas: the node must reconcile), else 0.
    /// </summary>
    public const string Write = """
        local hash, counter, nodes, alive = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
        local node, channel, ttl, joins = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
        local missing = 0
        if redis.call('EXISTS', alive) == 0 then
          missing = 1
          redis.call('SET', alive, '1', 'PX', ttl)
        end
        redis.call('SADD', nodes, node)
        local j, l = {}, {}
        for i = 5, 4 + 2 * joins, 2 do
          redis.call('HSET', hash, ARGV[i], ARGV[i + 1])
          j[#j + 1] = ARGV[i + 1]
        end
        for i = 5 + 2 * joins, #ARGV do
          redis.call('HDEL', hash, ARGV[i])
          l[#l + 1] = '"' .. ARGV[i] .. '"'
        end
        local s = redis.call('INCR', counter)
        redis.call('PUBLISH', channel, '{"n":"' .. node .. '","s":' .. s .. ',"j":[' .. table.concat(j, ',') .. '],"l":[' .. table.concat(l, ',') .. ']}')
        return missing
        """;

    /// <summary>
    /// Makes Redis hold exactly this node's metas: ARGV node, channel, heartbeat TTL (ms; 0 = the node leaves: its
    /// heartbeat key and membership are removed), then (ref, value) per meta. Publishes the difference, if any.
    /// </summary>
    public const string Reconcile = """
        local hash, counter, nodes, alive = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
        local node, channel, ttl = ARGV[1], ARGV[2], ARGV[3]
        if ttl == '0' then
          redis.call('DEL', alive)
          redis.call('SREM', nodes, node)
        else
          redis.call('SET', alive, '1', 'PX', ttl)
          redis.call('SADD', nodes, node)
        end
        local want, have = {}, {}
        for i = 4, #ARGV, 2 do want[ARGV[i]] = true end
        local prefix = '{"n":"' .. node .. '"'
        local all = redis.call('HGETALL', hash)
        local j, l = {}, {}
        for i = 1, #all, 2 do
          if string.sub(all[i + 1], 1, #prefix) == prefix then
            if want[all[i]] then
              have[all[i]] = true
            else
              redis.call('HDEL', hash, all[i])
              l[#l + 1] = '"' .. all[i] .. '"'
            end
          end
        end
        for i = 4, #ARGV, 2 do
          if not have[ARGV[i]] then
            redis.call('HSET', hash, ARGV[i], ARGV[i + 1])
            j[#j + 1] = ARGV[i + 1]
          end
        end
        if #j == 0 and #l == 0 then return 0 end
        local s = redis.call('INCR', counter)
        redis.call('PUBLISH', channel, '{"n":"' .. node .. '","s":' .. s .. ',"j":[' .. table.concat(j, ',') .. '],"l":[' .. table.concat(l, ',') .. ']}')
        return #j + #l
        """;

    /// <summary>
    /// Removes the metas of every node whose heartbeat key expired and publishes their leaves. Atomic, so any number
    /// of nodes may sweep at once: the first removes, the others find nothing. ARGV: the heartbeat key prefix, the
    /// channel. Returns how many metas left.
    /// </summary>
    public const string Sweep = """
        local hash, counter, nodes = KEYS[1], KEYS[2], KEYS[3]
        local dead, any = {}, false
        for _, node in ipairs(redis.call('SMEMBERS', nodes)) do
          if redis.call('EXISTS', ARGV[1] .. node) == 0 then
            dead[node] = true
            any = true
            redis.call('SREM', nodes, node)
          end
        end
        if not any then return 0 end
        local all = redis.call('HGETALL', hash)
        local l = {}
        for i = 1, #all, 2 do
          local owner = string.match(all[i + 1], '^{"n":"([^"]+)"')
          if owner and dead[owner] then
            redis.call('HDEL', hash, all[i])
            l[#l + 1] = '"' .. all[i] .. '"'
          end
        end
        if #l == 0 then return 0 end
        local s = redis.call('INCR', counter)
        redis.call('PUBLISH', ARGV[2], '{"n":"","s":' .. s .. ',"j":[],"l":[' .. table.concat(l, ',') .. ']}')
        return #l
        """;

    /// <summary>The counter and the whole hash, read together. Returns <c>{counter, {field, value, …}}</c>.</summary>
    public const string Snapshot = """
        return {redis.call('GET', KEYS[2]) or '0', redis.call('HGETALL', KEYS[1])}
        """;
}
