using HeliosNano.Realtime.Sample.Auth;

namespace HeliosNano.Realtime.Sample.Tests.Auth;

public class UserStoreTests
{
    [Test]
    public void Passwords_AreSaltedPbkdf2_AndVerifyOnlyWithTheRightPassword()
    {
        string first = UserStore.HashPassword("correct horse");
        string second = UserStore.HashPassword("correct horse");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(first, Does.StartWith("pbkdf2-sha256$100000$").And.Not.Contain("correct horse"));
            Assert.That(second, Is.Not.EqualTo(first), "a fresh salt per hash");
            Assert.That(UserStore.VerifyPassword("correct horse", first), Is.True);
            Assert.That(UserStore.VerifyPassword("correct horsE", first), Is.False);
        }
    }

    [Test]
    public void RefreshTokens_RotateOnUse()
    {
        using var store = new UserStore(null);
        UserStore.User user = store.Create("a@example.com", "secret1", "{}", DateTimeOffset.UnixEpoch)!;
        string refresh = store.IssueRefreshToken(user.Id);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(store.Create("A@example.com", "other", "{}", DateTimeOffset.UnixEpoch), Is.Null, "emails are unique, case-insensitively");
            Assert.That(store.Verify("a@example.com", "secret1")?.Id, Is.EqualTo(user.Id));
            Assert.That(store.Verify("a@example.com", "wrong"), Is.Null);
            Assert.That(store.Redeem(refresh)?.Id, Is.EqualTo(user.Id));
            Assert.That(store.Redeem(refresh), Is.Null, "a used refresh token is revoked");
        }
    }
}
