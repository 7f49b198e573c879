using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace HeliosNano.Realtime.WebSockets.Tests;

public class RealtimePresenceTests
{
    private const string JoinPayload = """{"config":{"presence":{"key":"alice","enabled":true},"postgres_changes":[]}}""";

    [Test]
    [CancelAfter(15_000)]
    public async Task GetMembersAndGetStateJson_ShowWhatClientsTrack_AsALateJoinerSeesIt(CancellationToken ct)
    {
        await using RealtimeServer server = await RealtimeServer.StartAsync();
        RealtimePresence presence = server.Services.GetRequiredService<RealtimePresence>();
        await using TestClient alice = await server.ConnectAsync("?vsn=2.0.0", ct);
        await alice.JoinAsync("realtime:room1", JoinPayload, "1", ct);
        await alice.PushAsync("1", "2", "realtime:room1", "presence", """{"type":"presence","event":"track","payload":{"name":"Alice"}}""", ct);
        await alice.ReceiveUntilAsync(f => f.Event == "presence_diff", ct);

        IReadOnlyList<RealtimePresenceMeta> members = presence.GetMembers("room1");
        string state = Encoding.UTF8.GetString(presence.GetStateJson("realtime:room1").Span);
        await using TestClient late = await server.ConnectAsync("?vsn=2.0.0", ct);
        await late.JoinAsync("realtime:room1", JoinPayload.Replace("alice", "late", StringComparison.Ordinal), "1", ct);
        Frame lateState = await late.ReceiveUntilAsync(f => f.Event == "presence_state", ct);
        await alice.PushAsync("1", "3", "realtime:room1", "presence", """{"type":"presence","event":"untrack"}""", ct);
        await alice.ReceiveUntilAsync(f => f.Event == "presence_diff", ct);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(members, Has.Count.EqualTo(1));
            Assert.That(members[0].Key, Is.EqualTo("alice"));
            Assert.That(Encoding.UTF8.GetString(members[0].Payload.Span), Is.EqualTo("""{"name":"Alice"}"""));
            Assert.That(state, Is.EqualTo(lateState.Payload.GetRawText()));
            Assert.That(state, Does.Contain(members[0].PresenceRef));
            Assert.That(presence.GetMembers("room1"), Is.Empty, "untracked");
            Assert.That(presence.GetMembers("nobody-here"), Is.Empty);
            Assert.That(Encoding.UTF8.GetString(presence.GetStateJson("nobody-here").Span), Is.EqualTo("{}"));
        }
    }
}
