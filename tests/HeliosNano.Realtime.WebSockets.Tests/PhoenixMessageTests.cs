using System.Text;

namespace HeliosNano.Realtime.WebSockets.Tests;

public class PhoenixMessageTests
{
    [Test]
    public void TryParse_V2Array_ReadsAllFieldsAndKeepsRefsRaw()
    {
        using PhoenixMessage? message = Parse("""["6","7","realtime:orders","phx_join",{"config":{}}]""", arrayFormat: true, out _, out _);
        Assert.That(message, Is.Not.Null);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(message!.JoinRef, Is.EqualTo("\"6\""));
            Assert.That(message.Ref, Is.EqualTo("\"7\""));
            Assert.That(message.Topic, Is.EqualTo("realtime:orders"));
            Assert.That(message.Event, Is.EqualTo("phx_join"));
            Assert.That(message.Payload.TryGetProperty("config", out _), Is.True);
        }
    }

    [Test]
    public void TryParse_V1ObjectWithNumericRef_KeepsTheNumber()
    {
        using PhoenixMessage? message = Parse("""{"topic":"phoenix","event":"heartbeat","payload":{},"ref":42}""", arrayFormat: false, out _, out _);
        Assert.That(message!.Ref, Is.EqualTo("42"));
        Assert.That(message.JoinRef, Is.Null);
    }

    [TestCase("{not json", false)]
    [TestCase("[\"1\",\"1\",\"t\",\"e\",{}]", false)] // array sent to a 1.0.0 connection
    [TestCase("{\"topic\":\"t\",\"event\":\"e\",\"payload\":{}}", true)] // object sent to a 2.0.0 connection
    [TestCase("[null,\"1\",\"t\",\"e\"]", true)]
    [TestCase("[null,\"1\",5,\"e\",{}]", true)]
    [TestCase("[null,{},\"t\",\"e\",{}]", true)]
    [TestCase("[null,\"1\",\"t\",\"e\",[1]]", true)]
    [TestCase("42", false)]
    public void TryParse_WrongShape_ReturnsNullWithReason(string text, bool arrayFormat)
    {
        PhoenixMessage? message = Parse(text, arrayFormat, out string? error, out _);
        Assert.That(message, Is.Null);
        Assert.That(error, Is.Not.Empty);
    }

    [Test]
    public void TryParse_WrongPayloadType_StillReportsRefAndTopicForTheErrorReply()
    {
        PhoenixMessage? message = PhoenixMessage.TryParse(Encoding.UTF8.GetBytes("""[null,"9","realtime:x","phx_join","oops"]"""), true, out string? error, out string? @ref, out string? topic);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(message, Is.Null);
            Assert.That(error, Does.Contain("payload"));
            Assert.That(@ref, Is.EqualTo("\"9\""));
            Assert.That(topic, Is.EqualTo("realtime:x"));
        }
    }

    private static PhoenixMessage? Parse(string text, bool arrayFormat, out string? error, out string? @ref) =>
        PhoenixMessage.TryParse(Encoding.UTF8.GetBytes(text), arrayFormat, out error, out @ref, out _);
}
