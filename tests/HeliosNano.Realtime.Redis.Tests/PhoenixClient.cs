using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace HeliosNano.Realtime.Redis.Tests;

/// <summary>A bare Phoenix (vsn 1.0.0) client joined to <c>realtime:public:orders</c>: it records each change's seq and each lag report.</summary>
internal sealed class PhoenixClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(long Seq, string Customer)> _changes = [];
    private readonly List<long> _missed = [];
    private readonly List<(string Event, string Payload)> _broadcasts = [];
    private readonly Dictionary<string, (string Key, string Meta)> _presence = new(StringComparer.Ordinal);
    private int _presenceStates;
    private Task _receive = Task.CompletedTask;

    public string Node { get; private set; } = "";

    /// <summary>Gets what ended the receive loop, if it failed.</summary>
    public Exception? Error { get; private set; }

    public static Task<PhoenixClient> ConnectAsync(SampleNode node, long? lastSeq, CancellationToken cancellationToken)
    {
        string options = lastSeq is long seq ? ",\"postgres_changes_options\":{\"last_seq\":" + seq + "}" : "";
        return JoinAsync(node, "realtime:orders", "{\"postgres_changes\":[{\"event\":\"*\",\"schema\":\"public\",\"table\":\"orders\"}]" + options + "}", cancellationToken);
    }

    /// <summary>Joins <paramref name="topic"/> with the given <c>config</c> object.</summary>
    public static Task<PhoenixClient> JoinAsync(SampleNode node, string topic, string config, CancellationToken cancellationToken) =>
        JoinAsync(node, topic, config, accessToken: null, cancellationToken);

    /// <summary>Joins <paramref name="topic"/> with the given <c>config</c>, carrying <paramref name="accessToken"/> (a JWT) on the upgrade and in the join.</summary>
    public static async Task<PhoenixClient> JoinAsync(SampleNode node, string topic, string config, string? accessToken, CancellationToken cancellationToken)
    {
        var client = new PhoenixClient { Node = node.Name };
        await client._socket.ConnectAsync(accessToken is null ? node.WebSocketUri : new Uri(node.WebSocketUri + "&apikey=" + accessToken), cancellationToken);
        string token = accessToken is null ? "" : ",\"access_token\":\"" + accessToken + "\"";
        string join = "{\"topic\":\"" + topic + "\",\"event\":\"phx_join\",\"ref\":\"1\",\"payload\":{\"config\":" + config + token + "}}";
        var joined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client._receive = Task.Run(() => client.ReceiveAsync(joined), CancellationToken.None);
        await client._socket.SendAsync(Encoding.UTF8.GetBytes(join), WebSocketMessageType.Text, true, cancellationToken);
        await joined.Task.WaitAsync(cancellationToken);
        return client;
    }

    /// <summary>Sends one text frame.</summary>
    public Task SendAsync(string frame, CancellationToken cancellationToken) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, cancellationToken);

    /// <summary>Gets the user events of the broadcasts received, with their payloads as JSON text.</summary>
    public (string Event, string Payload)[] Broadcasts
    {
        get
        {
            lock (_changes)
            {
                return [.. _broadcasts];
            }
        }
    }

    public (long Seq, string Customer)[] Changes
    {
        get
        {
            lock (_changes)
            {
                return [.. _changes];
            }
        }
    }

    /// <summary>Gets the presence this client holds, as realtime-js would: ref → (key, meta JSON), from its <c>presence_state</c> and the diffs after it.</summary>
    public IReadOnlyDictionary<string, (string Key, string Meta)> Presence
    {
        get
        {
            lock (_changes)
            {
                return new Dictionary<string, (string Key, string Meta)>(_presence, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>Gets how many <c>presence_state</c> messages arrived.</summary>
    public int PresenceStates
    {
        get
        {
            lock (_changes)
            {
                return _presenceStates;
            }
        }
    }

    /// <summary>Sends a presence <c>track</c> of <paramref name="metaJson"/> on <paramref name="topic"/>.</summary>
    public Task TrackAsync(string topic, string metaJson, CancellationToken cancellationToken) =>
        SendAsync("{\"topic\":\"" + topic + "\",\"event\":\"presence\",\"ref\":\"t\",\"payload\":{\"type\":\"presence\",\"event\":\"track\",\"payload\":" + metaJson + "}}", cancellationToken);

    /// <summary>Sends a presence <c>untrack</c> on <paramref name="topic"/>.</summary>
    public Task UntrackAsync(string topic, CancellationToken cancellationToken) =>
        SendAsync("{\"topic\":\"" + topic + "\",\"event\":\"presence\",\"ref\":\"u\",\"payload\":{\"type\":\"presence\",\"event\":\"untrack\"}}", cancellationToken);

    /// <summary>Waits until the client's presence satisfies <paramref name="condition"/>.</summary>
    public async Task<IReadOnlyDictionary<string, (string Key, string Meta)>> WaitForPresenceAsync(Func<IReadOnlyDictionary<string, (string Key, string Meta)>, bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            IReadOnlyDictionary<string, (string Key, string Meta)> presence = Presence;
            if (PresenceStates > 0 && condition(presence))
            {
                return presence;
            }

            if (_receive.IsCompleted)
            {
                throw new InvalidOperationException($"the socket on {Node} closed", Error);
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    public long[] Seqs => [.. Changes.Select(c => c.Seq)];

    public long[] Missed
    {
        get
        {
            lock (_changes)
            {
                return [.. _missed];
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_changes)
            {
                return _changes.Count;
            }
        }
    }

    /// <summary>Waits until the client holds at least <paramref name="count"/> changes.</summary>
    public async Task WaitForAsync(int count, CancellationToken cancellationToken)
    {
        while (Count < count)
        {
            if (_receive.IsCompleted)
            {
                throw new InvalidOperationException($"the socket on {Node} closed after {Count} of {count} changes", Error);
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>Waits until the client holds a change tagged <paramref name="customer"/>.</summary>
    public async Task WaitForCustomerAsync(string customer, CancellationToken cancellationToken)
    {
        while (!Changes.Any(c => c.Customer == customer))
        {
            if (_receive.IsCompleted)
            {
                throw new InvalidOperationException($"the socket on {Node} closed after {Count} changes before '{customer}'", Error);
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    private async Task ReceiveAsync(TaskCompletionSource joined)
    {
        byte[] buffer = new byte[1 << 20];
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                int length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), _stop.Token);
                    length += result.Count;
                }
                while (!result.EndOfMessage);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                Handle(JsonDocument.Parse(buffer.AsMemory(0, length)).RootElement, joined);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
        catch (Exception ex)
        {
            Error = ex;
        }
        finally
        {
            joined.TrySetException(new InvalidOperationException("closed before the join reply"));
        }
    }

    private void Handle(JsonElement frame, TaskCompletionSource joined)
    {
        string? type = frame.GetProperty("event").GetString();
        JsonElement payload = frame.GetProperty("payload");
        if (type == "phx_reply" && frame.GetProperty("ref").GetString() == "1")
        {
            joined.TrySetResult();
        }
        else if (type == "postgres_changes")
        {
            JsonElement data = payload.GetProperty("data");
            JsonElement record = data.GetProperty("record");
            string customer = record.ValueKind == JsonValueKind.Object ? record.GetProperty("customer").GetString() ?? "" : "";
            lock (_changes)
            {
                _changes.Add((payload.GetProperty("seq").GetInt64(), customer));
            }
        }
        else if (type == "broadcast")
        {
            lock (_changes)
            {
                _broadcasts.Add((payload.GetProperty("event").GetString()!, payload.GetProperty("payload").GetRawText()));
            }
        }
        else if (type == "presence_state")
        {
            lock (_changes)
            {
                _presenceStates++;
                _presence.Clear();
                AddMetas(payload);
            }
        }
        else if (type == "presence_diff")
        {
            lock (_changes)
            {
                foreach (JsonProperty key in payload.GetProperty("leaves").EnumerateObject())
                {
                    foreach (JsonElement meta in key.Value.GetProperty("metas").EnumerateArray())
                    {
                        _presence.Remove(meta.GetProperty("phx_ref").GetString()!);
                    }
                }

                AddMetas(payload.GetProperty("joins"));
            }
        }
        else if (type == "system" && payload.TryGetProperty("missed", out JsonElement missed))
        {
            lock (_changes)
            {
                _missed.Add(missed.GetInt64());
            }
        }
    }

    private void AddMetas(JsonElement keys)
    {
        foreach (JsonProperty key in keys.EnumerateObject())
        {
            foreach (JsonElement meta in key.Value.GetProperty("metas").EnumerateArray())
            {
                _presence[meta.GetProperty("phx_ref").GetString()!] = (key.Name, meta.GetRawText());
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _receive;
        _socket.Dispose();
        _stop.Dispose();
    }
}
