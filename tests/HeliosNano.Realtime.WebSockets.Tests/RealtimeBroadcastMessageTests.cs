using System.Text;
using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets.Tests;

public class RealtimeBroadcastMessageTests
{
    [Test]
    public void GetFrame_JsonPayload_EncodesEachFormatOnceAsSupabaseDoes()
    {
        RealtimeBroadcastMessage message = RealtimeBroadcastMessage.FromJson("realtime:room1", "cursor", "{\"x\":1}"u8);

        ReadOnlyMemory<byte> v1 = message.GetFrame(RealtimeFrameFormat.V1Json, out bool v1Binary);
        ReadOnlyMemory<byte> v2 = message.GetFrame(RealtimeFrameFormat.V2Json, out bool v2Binary);
        ReadOnlyMemory<byte> kind4 = message.GetFrame(RealtimeFrameFormat.V2Binary, out bool kind4Binary);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Encoding.UTF8.GetString(v1.Span), Is.EqualTo("""{"topic":"realtime:room1","event":"broadcast","payload":{"event":"cursor","payload":{"x":1},"type":"broadcast"},"ref":null}"""));
            Assert.That(Encoding.UTF8.GetString(v2.Span), Is.EqualTo("""[null,null,"realtime:room1","broadcast",{"event":"cursor","payload":{"x":1},"type":"broadcast"}]"""));
            Assert.That(Convert.ToHexString(kind4.Span), Is.EqualTo("040E060001" + Convert.ToHexString("realtime:room1cursor{\"x\":1}"u8)), "the protocol doc's 32-byte example");
            Assert.That((v1Binary, v2Binary, kind4Binary), Is.EqualTo((false, false, true)));

            // Encoded once per format: every later receiver gets the very same bytes.
            Assert.That(message.GetFrame(RealtimeFrameFormat.V2Binary, out _).Equals(kind4), Is.True);
            Assert.That(message.GetFrame(RealtimeFrameFormat.V1Json, out _).Equals(v1), Is.True);
        }
    }

    [Test]
    public void GetFrame_TextPush_IsForwardedVerbatimAndStaysTextForKind4Clients()
    {
        using JsonDocument push = JsonDocument.Parse("""{"type":"broadcast","event":"chat","payload":{"m":"hi"},"extra":1}""");
        RealtimeBroadcastMessage message = RealtimeBroadcastMessage.FromTextPush("realtime:r", push.RootElement);

        ReadOnlyMemory<byte> frame = message.GetFrame(RealtimeFrameFormat.V2Binary, out bool binary);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(message.Event, Is.EqualTo("chat"));
            Assert.That(binary, Is.False);
            Assert.That(Encoding.UTF8.GetString(frame.Span), Is.EqualTo("""[null,null,"realtime:r","broadcast",{"type":"broadcast","event":"chat","payload":{"m":"hi"},"extra":1}]"""));
        }
    }

    [Test]
    public void GetFrame_BinaryPayloadToTextClient_IsEmptySoItIsDropped()
    {
        RealtimeBroadcastMessage message = RealtimeBroadcastMessage.FromBinary("realtime:r", "blob", [1, 2, 3]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(message.GetFrame(RealtimeFrameFormat.V1Json, out _).IsEmpty, Is.True);
            Assert.That(message.GetFrame(RealtimeFrameFormat.V2Json, out _).IsEmpty, Is.True);
            Assert.That(Convert.ToHexString(message.GetFrame(RealtimeFrameFormat.V2Binary, out _).Span), Is.EqualTo("040A040000" + Convert.ToHexString("realtime:rblob"u8) + "010203"));
        }
    }
}
