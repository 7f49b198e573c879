using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace HeliosNano.Realtime.WebSockets.Tests;

/// <summary>The claim rules and every token attack, through a real JwtBearer scheme (no socket needed).</summary>
public sealed class RealtimeTokenValidatorTests
{
    private FakeTimeProvider _clock = null!;
    private ServiceProvider _services = null!;
    private RealtimeTokenValidator _validator = null!;

    [SetUp]
    public void SetUp()
    {
        _clock = JwtTestAuth.NewClock();
        var services = new ServiceCollection();
        services.AddLogging();
        JwtTestAuth.AddJwt(services, audience: "realtime", issuer: "https://auth.example");
        _services = services.BuildServiceProvider();
        _validator = new RealtimeTokenValidator(_services, new RealtimeAuthOptions(), _clock, NullLogger.Instance);
    }

    [TearDown]
    public void TearDown() => _services.Dispose();

    private string Valid(TimeSpan? expiresIn = null, string? role = "authenticated") =>
        JwtTestAuth.Token(_clock, expiresIn ?? TimeSpan.FromHours(1), role, audience: "realtime", issuer: "https://auth.example");

    private async Task<RealtimeTokenResult> ValidateAsync(string token) =>
        await _validator.ValidateAsync((await _validator.GetSchemeAsync())!, token, CancellationToken.None);

    [Test]
    public async Task ValidateAsync_ValidToken_ReturnsPrincipalAndExpiry()
    {
        RealtimeTokenResult result = await ValidateAsync(Valid(TimeSpan.FromMinutes(10)));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Succeeded, Is.True, result.Message);
            Assert.That(result.Expires, Is.EqualTo(_clock.GetUtcNow() + TimeSpan.FromMinutes(10)));
            Assert.That(RealtimeClaims.Get(result.Principal!, "role"), Is.EqualTo("authenticated"));
            Assert.That(RealtimeClaims.Get(result.Principal!, "sub"), Is.EqualTo("user-1"));
        }
    }

    [Test]
    public async Task ValidateAsync_AlgNone_IsASignatureError()
    {
        RealtimeTokenResult result = await ValidateAsync(JwtTestAuth.Unsigned(_clock, TimeSpan.FromHours(1)));
        Assert.That((result.Succeeded, result.Reason), Is.EqualTo((false, "JwtSignatureError: Failed to validate JWT signature")));
    }

    [Test]
    public async Task ValidateAsync_ForgedSignature_IsASignatureError()
    {
        string forged = JwtTestAuth.Token(_clock, TimeSpan.FromHours(1), "service_role", secret: JwtTestAuth.OtherSecret, audience: "realtime", issuer: "https://auth.example");
        RealtimeTokenResult result = await ValidateAsync(forged);
        Assert.That((result.Succeeded, result.Reason), Is.EqualTo((false, "JwtSignatureError: Failed to validate JWT signature")));
    }

    [Test]
    public async Task ValidateAsync_TamperedPayload_IsASignatureError()
    {
        string[] parts = Valid().Split('.');
        string payload = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(parts[1]).Replace("\"authenticated\"", "\"service_role\"", StringComparison.Ordinal);
        string tampered = parts[0] + "." + Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(payload) + "." + parts[2];
        RealtimeTokenResult result = await ValidateAsync(tampered);
        Assert.That(result.Reason, Is.EqualTo("JwtSignatureError: Failed to validate JWT signature"));
    }

    [Test]
    public async Task ValidateAsync_Expired_SaysHowLongAgoVerbatim()
    {
        RealtimeTokenResult result = await ValidateAsync(Valid(TimeSpan.FromSeconds(-300)));
        Assert.That((result.Succeeded, result.Reason), Is.EqualTo((false, "InvalidJWTToken: Token has expired 300 seconds ago")));
    }

    [Test]
    public async Task ValidateAsync_NotYetValid_IsRefused()
    {
        string token = JwtTestAuth.Token(_clock, TimeSpan.FromHours(2), audience: "realtime", issuer: "https://auth.example", notBefore: _clock.GetUtcNow().AddHours(1));
        RealtimeTokenResult result = await ValidateAsync(token);
        Assert.That((result.Succeeded, result.Reason), Is.EqualTo((false, "InvalidJWTToken: Token is not valid yet")));
    }

    [Test]
    public async Task ValidateAsync_WrongAudience_IsRefused()
    {
        string token = JwtTestAuth.Token(_clock, TimeSpan.FromHours(1), audience: "another-app", issuer: "https://auth.example");
        RealtimeTokenResult result = await ValidateAsync(token);
        Assert.That((result.Succeeded, result.Reason), Is.EqualTo((false, "InvalidJWTToken: Invalid value for JWT claim \"aud\"")));
    }

    [Test]
    public async Task ValidateAsync_WrongIssuer_IsRefused()
    {
        string token = JwtTestAuth.Token(_clock, TimeSpan.FromHours(1), audience: "realtime", issuer: "https://evil.example");
        RealtimeTokenResult result = await ValidateAsync(token);
        Assert.That((result.Succeeded, result.Reason), Is.EqualTo((false, "InvalidJWTToken: Invalid value for JWT claim \"iss\"")));
    }

    [Test]
    public async Task ValidateAsync_MissingRole_SaysRoleAndExpAreRequired()
    {
        RealtimeTokenResult result = await ValidateAsync(Valid(role: null));
        Assert.That((result.Succeeded, result.Reason), Is.EqualTo((false, "InvalidJWTToken: Fields `role` and `exp` are required in JWT")));
    }

    [Test]
    public async Task ValidateAsync_MissingExp_IsRefused()
    {
        // JwtBearer itself refuses a token without exp (RequireExpirationTime); either way it never becomes a principal.
        string token = JwtTestAuth.Token(_clock, TimeSpan.Zero, withExp: false, audience: "realtime", issuer: "https://auth.example");
        RealtimeTokenResult result = await ValidateAsync(token);
        Assert.That(result.Succeeded, Is.False);
        Assert.That(result.Code, Is.EqualTo("InvalidJWTToken"));
    }

    [Test]
    public async Task ValidateAsync_RoleNotRequired_AcceptsTokenWithoutRole()
    {
        var validator = new RealtimeTokenValidator(_services, new RealtimeAuthOptions { RequireRoleClaim = false }, _clock, NullLogger.Instance);
        RealtimeTokenResult result = await validator.ValidateAsync((await validator.GetSchemeAsync())!, Valid(role: null), CancellationToken.None);
        Assert.That(result.Succeeded, Is.True);
    }

    [TestCase("not a jwt")]
    [TestCase("a.b.c")]
    [TestCase("eyJhbGciOiJIUzI1NiJ9.%%%.x")]
    public async Task ValidateAsync_Garbage_IsMalformed(string token)
    {
        RealtimeTokenResult result = await ValidateAsync(token);
        Assert.That((result.Succeeded, result.Reason), Is.EqualTo((false, "MalformedJWT: The token provided is not a valid JWT")));
    }

    [TestCase(null, false)]
    [TestCase("", false)]
    [TestCase("  ", false)]
    [TestCase("sb_publishable_abc", false)]
    [TestCase(" sb_secret_abc", false)]
    [TestCase("eyJ.x.y", true)]
    public void IsToken_SbKeysAndBlanksAreNotTokens(string? value, bool expected) =>
        Assert.That(RealtimeTokenValidator.IsToken(value), Is.EqualTo(expected));

    [TestCase("s3cret-key", false)]
    [TestCase("sb_publishable_a.b.c", false)]
    [TestCase("eyJ.x.y", true)]
    public void IsApiKeyToken_OnlyJwtShapedKeysAreTokens(string value, bool expected) =>
        Assert.That(RealtimeTokenValidator.IsApiKeyToken(value), Is.EqualTo(expected));

    [Test]
    public void ExpiredMessage_CountsWholeSecondsSinceExpiry()
    {
        DateTimeOffset exp = _clock.GetUtcNow();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(RealtimeTokenValidator.ExpiredMessage(exp, exp), Is.EqualTo("Token has expired 0 seconds ago"));
            Assert.That(RealtimeTokenValidator.ExpiredMessage(exp.AddSeconds(3.9), exp), Is.EqualTo("Token has expired 3 seconds ago"));
        }
    }

    [Test]
    public async Task ValidateAsync_FailureText_NeverContainsTheToken()
    {
        string forged = JwtTestAuth.Token(_clock, TimeSpan.FromHours(1), secret: JwtTestAuth.OtherSecret);
        RealtimeTokenResult result = await ValidateAsync(forged);
        Assert.That(result.Reason, Does.Not.Contain(forged.Split('.')[1]));
    }
}
