namespace HeliosNano.Realtime.WebSockets.Tests;

public class PhoenixBinaryFrameTests
{
    [Test]
    public void TryDecodePush_ProtocolDocExample_ReadsEveryField()
    {
        byte[] frame = [0x03, 0x01, 0x01, 0x0E, 0x06, 0x00, 0x01, .. "13realtime:room1cursor{\"x\":1}"u8];

        bool ok = PhoenixBinaryFrame.TryDecodePush(frame, out PhoenixBinaryFrame.BinaryPush push, out string? error);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ok, Is.True, error);
            Assert.That(push.JoinRef, Is.EqualTo("\"1\""));
            Assert.That(push.Ref, Is.EqualTo("\"3\""));
            Assert.That(push.Topic, Is.EqualTo("realtime:room1"));
            Assert.That(push.Event, Is.EqualTo("cursor"));
            Assert.That(push.IsBinary, Is.False);
            Assert.That(frame.AsSpan(push.PayloadOffset).ToArray(), Is.EqualTo("{\"x\":1}"u8.ToArray()));
        }
    }

    [TestCase(new byte[0])]
    [TestCase(new byte[] { 0x04, 0, 0, 0, 0 })]
    [TestCase(new byte[] { 0x03, 0x01, 0x01, 0x0E, 0x06, 0x00, 0x01, 0x31 })]
    [TestCase(new byte[] { 0x03, 0, 0, 0, 0, 0, 0x07 })]
    public void TryDecodePush_NotAKind3Frame_FailsWithAReason(byte[] frame)
    {
        bool ok = PhoenixBinaryFrame.TryDecodePush(frame, out _, out string? error);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ok, Is.False);
            Assert.That(error, Is.Not.Null.And.Not.Empty);
        }
    }
}
