namespace HeliosNano.Realtime.WebSockets.Tests;

public class RealtimeChannelCollectionTests
{
    [Test]
    public async Task AddAndRemove_KeepTheTopicMembershipInStep()
    {
        using var metrics = new RealtimeWebSocketMetrics(null);
        var topics = new DefaultRealtimeTopicManager();
        var channels = new RealtimeChannelCollection(metrics, topics);
        var first = new RealtimeChannel(null, "realtime:a", "\"1\"", [], arrayFormat: true);
        var second = new RealtimeChannel(null, "realtime:b", "\"2\"", [], arrayFormat: true);

        await channels.AddAsync(first);
        await channels.AddAsync(second);
        int membersAfterAdd = topics.GetLocalMemberCount("realtime:a");
        bool removed = await channels.RemoveAsync(first);
        bool removedAgain = await channels.RemoveAsync(first);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(membersAfterAdd, Is.EqualTo(1));
            Assert.That((removed, removedAgain), Is.EqualTo((true, false)));
            Assert.That(first.IsClosed, Is.True, "messages still queued for a removed channel are dropped");
            Assert.That(topics.GetLocalMemberCount("realtime:a"), Is.Zero);
            Assert.That(channels.InOrder, Is.EqualTo(new[] { second }));
        }

        RealtimeChannel[] all = await channels.RemoveAllAsync();
        Assert.That((all.Length, channels.Count, topics.GetLocalMemberCount("realtime:b")), Is.EqualTo((1, 0, 0)));
    }
}
