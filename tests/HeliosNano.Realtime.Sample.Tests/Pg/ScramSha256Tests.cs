using HeliosNano.Realtime.Sample.Pg;

namespace HeliosNano.Realtime.Sample.Tests.Pg;

public class ScramSha256Tests
{
    // RFC 7677, section 3: user "user", password "pencil".
    private const string ClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    private const string ServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    private const string ServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    private const string ClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    private const string ServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    [Test]
    public void Exchange_Rfc7677TestVector_ProducesItsMessages()
    {
        var scram = new ScramSha256("pencil", Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
        Assert.That(ScramSha256.TryParseClientFirst(ClientFirst, out string gs2, out string bare, out string nonce), Is.True);
        string serverFirst = scram.CreateServerFirst(nonce, ServerNonce);
        bool verified = scram.TryVerifyClientFinal(gs2, bare, serverFirst, ClientFinal, out string serverFinal);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(gs2, Is.EqualTo("n,,"));
            Assert.That(bare, Is.EqualTo("n=user,r=rOprNGfwEbeRWgbNEkqO"));
            Assert.That(serverFirst, Is.EqualTo(ServerFirst));
            Assert.That(verified, Is.True);
            Assert.That(serverFinal, Is.EqualTo(ServerFinal));
        }
    }

    [Test]
    public void TryVerifyClientFinal_OtherPassword_Fails()
    {
        var scram = new ScramSha256("pencil!", Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
        Assert.That(scram.TryVerifyClientFinal("n,,", "n=user,r=rOprNGfwEbeRWgbNEkqO", ServerFirst, ClientFinal, out _), Is.False);
    }

    [Test]
    public void TryVerifyClientFinal_OtherNonce_Fails()
    {
        var scram = new ScramSha256("pencil", Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
        string replayed = scram.CreateServerFirst("rOprNGfwEbeRWgbNEkqO", "another-server-nonce");
        Assert.That(scram.TryVerifyClientFinal("n,,", "n=user,r=rOprNGfwEbeRWgbNEkqO", replayed, ClientFinal, out _), Is.False);
    }

    [Test]
    public void TryParseClientFirst_ChannelBindingRequired_IsRefused() =>
        Assert.That(ScramSha256.TryParseClientFirst("p=tls-server-end-point,,n=,r=abc", out _, out _, out _), Is.False);
}
