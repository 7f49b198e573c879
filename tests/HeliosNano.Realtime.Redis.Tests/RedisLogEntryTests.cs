using System.Text;

namespace HeliosNano.Realtime.Redis.Tests;

/// <summary>The stream entry encoding: what one node writes, another reads back byte for byte.</summary>
public class RedisLogEntryTests
{
    [Test]
    public void EncodeDecode_Update_RoundTripsImagesColumnsKindAndTime()
    {
        using var notifier = new ChangeNotifier();
        var sequencer = new CapturingSequencer();
        notifier.UseSequencer(sequencer);
        ChangeTable orders = notifier.GetTable("public", "orders");
        orders.SetColumns([new("id", "int4"), new("note", "text")]);
        var at = new DateTimeOffset(2026, 12, 2, 1, 2, 3, 456, TimeSpan.Zero);
        notifier.Notify(orders, ChangeKind.Update, """{"id":1,"note":"é \"q\""}"""u8, """{"id":1,"note":null}"""u8, at);

        RedisLogEntry.Decoded decoded = RedisLogEntry.Decode(RedisLogEntry.Encode(sequencer.Last!));

        Assert.Multiple(() =>
        {
            Assert.That((decoded.Schema, decoded.Table, decoded.Kind, decoded.CommitTimestamp), Is.EqualTo(("public", "orders", ChangeKind.Update, at)));
            Assert.That(Encoding.UTF8.GetString(decoded.Record.Span), Is.EqualTo("""{"id":1,"note":"é \"q\""}"""));
            Assert.That(Encoding.UTF8.GetString(decoded.OldRecord.Span), Is.EqualTo("""{"id":1,"note":null}"""));
            Assert.That(RedisLogEntry.ParseColumns(decoded.Columns.Span), Is.EqualTo(new ChangeColumn[] { new("id", "int4"), new("note", "text") }));
        });
    }

    [Test]
    public void Decode_Insert_HasNoOldRecord()
    {
        using var notifier = new ChangeNotifier();
        var sequencer = new CapturingSequencer();
        notifier.UseSequencer(sequencer);
        notifier.Notify("public", "orders", ChangeKind.Insert, """{"id":2}"""u8, []);

        RedisLogEntry.Decoded decoded = RedisLogEntry.Decode(RedisLogEntry.Encode(sequencer.Last!));

        Assert.That(decoded.OldRecord.IsEmpty && !decoded.Record.IsEmpty, Is.True);
    }

    [Test]
    public void Decode_NotAnEntry_Throws() =>
        Assert.Throws<System.Text.Json.JsonException>(() => RedisLogEntry.Decode("""{"k":1}"""u8.ToArray()));

    private sealed class CapturingSequencer : IChangeSequencer
    {
        public ChangeEvent? Last { get; private set; }

        public void Attach(SequencedChangeWriter writer)
        {
        }

        public void Submit(ChangeEvent change) => Last = change;

        public void SubmitLost(ChangeTable table, ChangeKind kind, DateTimeOffset commitTimestamp)
        {
        }
    }
}
