namespace HeliosNano.Realtime.Redis;

/// <summary>The Lua scripts of the shared log; each runs atomically in Redis's single thread, which is the total order.</summary>
internal static class RedisLogScripts
{
    /// <summary>
    /// Appends one batch of a node's outbox. KEYS: meta hash, log stream, the node's last-batch key. ARGV: the node's
    /// floor (the highest position it has seen), a candidate epoch, the epoch gap, MAXLEN, the batch number, the wake
    /// channel, then pairs <c>d &lt;entry&gt;</c> (a change: one position) or <c>g &lt;n&gt;</c> (a gap: n positions).
    /// Returns <c>{epoch, top, duplicate}</c>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// <b>Epoch.</b> The meta hash remembers the run id of the server that last numbered a change. When it is missing
    /// (first use, data lost), the counter is below the caller's floor, or the run id differs (the server restarted, possibly from an older AOF, or a replica was promoted),
    /// the counter may be behind what nodes have already delivered, so the script starts a new epoch: the counter jumps
    /// to the highest of (meta counter, stream top, the caller's floor), the known top, plus the epoch gap, and an epoch
    /// entry (<c>x &lt;epoch&gt;:&lt;known top&gt;</c>) at that position tells every node that positions up to the known
    /// top it has not read are lost and the positions after it never held a change (void). A number is
    /// therefore never given to two changes. The first script to run after the restart does this, before any append.
    /// </para>
    /// <para>
    /// <b>Retries.</b> A batch whose reply was lost is sent again with the same number: the node's last-batch key makes
    /// the retry a no-op, unless Redis lost the batch with its data, in which case it is appended again, as it must be.
    /// </para>
    /// </remarks>
    public const string Append = """
        local meta, log, last_batch = KEYS[1], KEYS[2], KEYS[3]
        local floor = tonumber(ARGV[1])
        local maxlen = ARGV[4]
        local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
        local epoch = redis.call('HGET', meta, 'epoch')
        local seq = tonumber(redis.call('HGET', meta, 'seq') or '0')
        if (not epoch) or seq < floor or redis.call('HGET', meta, 'rid') ~= run_id then
          local top = seq
          local newest = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)
          if #newest > 0 then
            local newest_seq = tonumber(string.match(newest[1][1], '^(%d+)'))
            if newest_seq > top then top = newest_seq end
          end
          if floor > top then top = floor end
          seq = top + tonumber(ARGV[3])
          epoch = ARGV[2]
          redis.call('HSET', meta, 'epoch', epoch, 'rid', run_id, 'seq', string.format('%.0f', seq))
          redis.call('XADD', log, 'MAXLEN', '~', maxlen, string.format('%.0f', seq) .. '-0', 'x', epoch .. ':' .. string.format('%.0f', top))
        end
        local done = redis.call('GET', last_batch)
        if done and tonumber(done) >= tonumber(ARGV[5]) then
          return {epoch, string.format('%.0f', seq), 1}
        end
        for i = 7, #ARGV, 2 do
          if ARGV[i] == 'd' then
            seq = seq + 1
            redis.call('XADD', log, 'MAXLEN', '~', maxlen, string.format('%.0f', seq) .. '-0', 'd', ARGV[i + 1])
          else
            seq = seq + tonumber(ARGV[i + 1])
            redis.call('XADD', log, 'MAXLEN', '~', maxlen, string.format('%.0f', seq) .. '-0', 'g', ARGV[i + 1])
          end
        end
        redis.call('HSET', meta, 'seq', string.format('%.0f', seq))
        redis.call('SET', last_batch, ARGV[5], 'EX', 86400)
        redis.call('PUBLISH', ARGV[6], string.format('%.0f', seq))
        return {epoch, string.format('%.0f', seq), 0}
        """;
}
