using System.Buffers;
using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>What a change looks like to one policy group.</summary>
internal enum RowVisibility
{
    /// <summary>Not visible: nothing is sent.</summary>
    Hidden,

    /// <summary>Visible as it is.</summary>
    Visible,

    /// <summary>An UPDATE whose old image was not visible but whose new image is: the row moved in, sent as an INSERT.</summary>
    AsInsert,

    /// <summary>An UPDATE whose old image was visible but whose new image is not: the row moved out, sent as a DELETE.</summary>
    AsDelete,

    /// <summary>A rule threw: nothing is sent and the group's channels get a <c>system</c> error.</summary>
    Failed,
}

/// <summary>
/// Subscribers of one table whose policy claims are equal. Each change is evaluated once for the whole group, whatever
/// the number of its channels and connections, and the outcome is kept in a ring by sequence for the others.
/// </summary>
/// <remarks>
/// The ring has as many slots as the change ring has by default (<see cref="Slots"/>, 1,024): a channel further
/// behind than that has lagged anyway, so under load, however far apart its connections read, a group evaluates each
/// change once; and the judgement the notifier's wake-up work item made for a waiting connection
/// (<see cref="PostgresWakeView"/>) is the one the connection then delivers by. 8 KB per group, plus 8 KB once a row
/// moves across the group's boundary. The first to see a change evaluates it under the group's lock; the others read
/// the outcome without locking.
/// </remarks>
internal sealed class RowPolicyGroup
{
    /// <summary>Outcomes kept per shared group: a power of two, the default capacity of the change ring.</summary>
    internal const int Slots = ChangeNotifierOptions.DefaultCapacity;

    private readonly RowPolicyRegistry _registry;
    private readonly RowPolicySet _set;
    private readonly IReadOnlyDictionary<string, string?> _claims;
    private readonly Lock _gate = new();

    /// <summary>Per slot: the change's sequence shifted left by 3, or'ed with its <see cref="RowVisibility"/>.</summary>
    private readonly long[] _packed = new long[Slots];

    /// <summary>Per slot: the rewritten <c>data</c> JSON of a moved row; null until a row moves; written and read under the lock.</summary>
    private byte[]?[]? _data;

    public RowPolicyGroup(RowPolicyRegistry registry, RowPolicySet set, IReadOnlyDictionary<string, string?> claims, string key)
    {
        _registry = registry;
        _set = set;
        _claims = claims;
        Key = key;
    }

    public string Key { get; }

    /// <summary>Gets or sets the channels holding the group; guarded by the registry's lock.</summary>
    public int References { get; set; }

    /// <summary>Gets the policy set's description for messages, e.g. <c>public.orders</c>.</summary>
    public string TableName => _set.Schema + "." + _set.Table;

    /// <summary>Evaluates (or recalls) what <paramref name="change"/> looks like to this group; <paramref name="data"/> is the rewritten <c>data</c> JSON for a moved row.</summary>
    public RowVisibility Evaluate(ChangeEvent change, out ReadOnlyMemory<byte> data)
    {
        long[] slots = _packed;
        int index = (int)(change.Sequence & (Slots - 1));

        // Lock-free hit: sequence and outcome are one 64-bit word, published after the outcome's data, so the other
        // channels of the group read it with one volatile load (a move's rewritten data is read under the lock).
        long packed = Volatile.Read(ref slots[index]);
        if (packed >> 3 == change.Sequence && (RowVisibility)(packed & 7) is RowVisibility.Visible or RowVisibility.Hidden or RowVisibility.Failed)
        {
            data = default;
            return (RowVisibility)(packed & 7);
        }

        lock (_gate)
        {
            packed = slots[index];
            if (packed >> 3 != change.Sequence)
            {
                RowVisibility visibility = Compute(change, out byte[]? moved);
                if (moved is not null || _data is not null)
                {
                    _data ??= new byte[Slots][];
                    _data[index] = moved;
                }

                packed = (change.Sequence << 3) | (long)visibility;
                Volatile.Write(ref slots[index], packed);
            }

            RowVisibility outcome = (RowVisibility)(packed & 7);
            data = outcome is RowVisibility.AsInsert or RowVisibility.AsDelete ? _data![index] : default;
            return outcome;
        }
    }

    private RowVisibility Compute(ChangeEvent change, out byte[]? data)
    {
        data = null;
        try
        {
            switch (change.Kind)
            {
                case ChangeKind.Insert:
                    return IsVisible(change.Record) ? RowVisibility.Visible : RowVisibility.Hidden;
                case ChangeKind.Delete:
                    return IsVisible(change.OldRecord) ? RowVisibility.Visible : RowVisibility.Hidden;
                default:
                    bool now = IsVisible(change.Record);
                    bool before = change.HasOldRecord ? IsVisible(change.OldRecord) : now;
                    if (now && before)
                    {
                        return RowVisibility.Visible;
                    }

                    if (!now && !before)
                    {
                        return RowVisibility.Hidden;
                    }

                    // The row crossed this group's boundary: the group sees it appear or disappear, never the image it
                    // could not see.
                    data = Rewrite(change.GetUtf8Json().Span, now ? "INSERT" : "DELETE", dropRecord: !now, dropOld: now);
                    return now ? RowVisibility.AsInsert : RowVisibility.AsDelete;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            RealtimeAuthLog.RowPolicyFailed(_registry.Logger, TableName, change.Sequence, e);
            return RowVisibility.Failed;
        }
    }

    private bool IsVisible(ReadOnlyMemory<byte> row)
    {
        _registry.CountEvaluation();
        return !row.IsEmpty && _set.IsVisible(row, _claims);
    }

    /// <summary>Copies a change's <c>data</c> JSON with another <c>type</c> and <c>record</c> or <c>old_record</c> set to null.</summary>
    internal static byte[] Rewrite(ReadOnlySpan<byte> data, string type, bool dropRecord, bool dropOld)
    {
        var reader = new Utf8JsonReader(data);
        using JsonDocument document = JsonDocument.ParseValue(ref reader);
        var buffer = new ArrayBufferWriter<byte>(data.Length);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (property.NameEquals("type"u8))
                {
                    w.WriteString("type"u8, type);
                }
                else if ((dropRecord && property.NameEquals("record"u8)) || (dropOld && property.NameEquals("old_record"u8)))
                {
                    w.WriteNull(property.Name);
                }
                else
                {
                    property.WriteTo(w);
                }
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
