using System.Text.Json;
using HeliosNano.Realtime.Sample.Auth;

namespace HeliosNano.Realtime.Sample.Tests.Auth;

/// <summary>The sample with --jwt-secret: who may run /sql, and REST reads and writes under CREATE POLICY.</summary>
public class JwtModeTests
{
    private const string Secret = "super-secret-jwt-token-with-at-least-32-characters-long";
    private static readonly SampleJwt s_jwt = new(Secret, TimeSpan.FromHours(1), TimeProvider.System);
    private static readonly SampleJwt s_forger = new("a-different-secret-that-is-also-32-bytes-long!", TimeSpan.FromHours(1), TimeProvider.System);

    private static (string, string) Bearer(string token) => ("Authorization", "Bearer " + token);

    [Test]
    [CancelAfter(30_000)]
    public async Task Sql_NeedsTheServiceRole_RestReadsFollowPolicies_RestWritesNeedTheServiceRole(CancellationToken ct)
    {
        await using SampleServer server = await SampleServer.StartAsync("--jwt-secret", Secret);
        string service = s_jwt.Mint(SamplePolicies.ServiceRole).Token;
        string alice = s_jwt.Mint("authenticated", "alice-id", "alice@example.com").Token;
        string forged = s_forger.Mint(SamplePolicies.ServiceRole).Token;

        (int noToken, _) = await server.PostSqlAsync("SELECT 1", ct);
        (int asUser, JsonElement userBody, _) = await server.SendAsync(HttpMethod.Post, "/sql", """{"query":"SELECT 1"}""", ct, Bearer(alice));
        (int asForged, _, _) = await server.SendAsync(HttpMethod.Post, "/sql", """{"query":"SELECT 1"}""", ct, Bearer(forged));
        (int asService, _, _) = await server.SendAsync(HttpMethod.Post, "/sql", """{"query":"CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT)"}""", ct, Bearer(service));
        (int policy, JsonElement policyBody, _) = await server.SendAsync(HttpMethod.Post, "/sql", """{"query":"CREATE POLICY own ON notes FOR SELECT USING (owner = auth.uid())"}""", ct, Bearer(service));
        await server.SendAsync(HttpMethod.Post, "/sql", """{"query":"INSERT INTO notes VALUES (1, 'alice-id'), (2, 'bob-id'), (3, 'alice-id')"}""", ct, Bearer(service));
        (int read, JsonElement rows, _) = await server.SendAsync(HttpMethod.Get, "/rest/v1/notes?select=id&order=id", null, ct, ("apikey", alice));
        (int write, JsonElement writeBody, _) = await server.SendAsync(HttpMethod.Post, "/rest/v1/notes", """{"id":4,"owner":"alice-id"}""", ct, Bearer(alice));
        (int serviceRead, JsonElement all, _) = await server.SendAsync(HttpMethod.Get, "/rest/v1/notes?select=id&order=id", null, ct, Bearer(service));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(noToken, Is.EqualTo(401));
            Assert.That((asUser, userBody.GetProperty("error").GetString()), Is.EqualTo((403, "/sql runs for the service_role only: row-level security cannot apply to raw SQL.")));
            Assert.That(asForged, Is.EqualTo(401), "a forged service key is no key");
            Assert.That(asService, Is.EqualTo(200));
            Assert.That((policy, policyBody.GetRawText()), Is.EqualTo((200, """{"results":[{"command":"CREATE POLICY"}]}""")));
            Assert.That((read, rows.GetRawText()), Is.EqualTo((200, """[{"id":1},{"id":3}]""")));
            Assert.That((write, writeBody.GetProperty("code").GetString()), Is.EqualTo((403, "42501")));
            Assert.That((serviceRead, all.GetArrayLength()), Is.EqualTo((200, 3)), "the service role bypasses");
        }
    }
}
