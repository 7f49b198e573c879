using System.Buffers;
using System.Text;
using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets.Tests;

public class PhoenixFrameWriterTests
{
    // The buffer is given back between bursts; frames written after Release (small or larger than the first rent) are complete.
    [Test]
    public void Release_ThenWriteFrames_FramesAreComplete()
    {
        using var frames = new PhoenixFrameWriter(arrayFormat: true);
        string large = new('x', 5000);
        var texts = new List<string>();
        foreach (string value in (string[])["small", large, "again"])
        {
            Utf8JsonWriter w = frames.Begin("1", "2", "realtime:orders", JsonEncodedText.Encode("phx_reply"));
            w.WriteStartObject();
            w.WriteString("status", value);
            w.WriteEndObject();
            texts.Add(Encoding.UTF8.GetString(frames.End().Span));
            frames.Release();
            Assert.That(frames.WrittenMemory.Length, Is.Zero);
        }

        Assert.That(texts, Is.EqualTo(new[]
        {
            """[1,2,"realtime:orders","phx_reply",{"status":"small"}]""",
            $$"""[1,2,"realtime:orders","phx_reply",{"status":"{{large}}"}]""",
            """[1,2,"realtime:orders","phx_reply",{"status":"again"}]""",
        }));
    }

    // Raw frames (the change path) grow the rented buffer past its first size without losing the bytes already written.
    [Test]
    public void BeginRaw_PayloadLargerThanBuffer_CopiesEveryByte()
    {
        using var frames = new PhoenixFrameWriter(arrayFormat: false);
        byte[] payload = Encoding.UTF8.GetBytes("\"" + new string('y', 3000) + "\"");
        frames.BeginRaw("{\"payload\":"u8);
        frames.Buffer.Write(payload);
        string text = Encoding.UTF8.GetString(frames.EndRaw("}"u8).Span);
        Assert.That(text, Is.EqualTo("{\"payload\":" + Encoding.UTF8.GetString(payload) + "}"));
    }
}
