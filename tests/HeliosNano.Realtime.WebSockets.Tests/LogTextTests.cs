namespace HeliosNano.Realtime.WebSockets.Tests;

public class LogTextTests
{
    [TestCase("realtime:orders", "realtime:orders")]
    [TestCase("x\ninfo: forged\r\u001b[31mRED\u001b]0;title\u0007", "x\\u000ainfo: forged\\u000d\\u001b[31mRED\\u001b]0;title\\u0007")]
    [TestCase("del\u007f c1\u009b bidi\u202e ls\u2028", "del\\u007f c1\\u009b bidi\\u202e ls\\u2028")]
    public void Sanitize_ClientText_EscapesEveryControlAndKeepsTheRest(string text, string expected)
    {
        Assert.That(LogText.Sanitize(text), Is.EqualTo(expected));
    }

    [Test]
    public void Sanitize_LongText_IsCutWithTheCountLeftOut()
    {
        string result = LogText.Sanitize(new string('a', 1000));

        Assert.That(result, Is.EqualTo(new string('a', LogText.MaxLength) + "…(744 more characters)"));
    }

    [Test]
    public void Sanitize_UnpairedSurrogates_AreEscapedAndPairsKept()
    {
        // Built at run time: a lone surrogate cannot survive in an attribute's constant.
        string text = "lone " + (char)0xD800 + " pair \ud83d\ude00 low " + (char)0xDC00;

        Assert.That(LogText.Sanitize(text), Is.EqualTo("lone \\ud800 pair \ud83d\ude00 low \\udc00"));
    }
}
