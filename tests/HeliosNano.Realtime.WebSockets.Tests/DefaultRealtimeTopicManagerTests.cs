namespace HeliosNano.Realtime.WebSockets.Tests;

public class DefaultRealtimeTopicManagerTests
{
    [Test]
    public async Task SendAsync_MembersOfTheTopic_EachGetsTheSameInstanceExceptTheExcluded()
    {
        var topics = new DefaultRealtimeTopicManager();
        var a = new RecordingMember("realtime:room1");
        var b = new RecordingMember("realtime:room1");
        var other = new RecordingMember("realtime:room2");
        await topics.AddAsync(a);
        await topics.AddAsync(b);
        await topics.AddAsync(other);
        RealtimeBroadcastMessage message = RealtimeBroadcastMessage.FromJson("realtime:room1", "cursor", "{\"x\":1}"u8);

        await topics.SendAsync(message, except: a);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(a.Received, Is.Empty);
            Assert.That(b.Received, Is.EqualTo(new[] { message }));
            Assert.That(other.Received, Is.Empty);
            Assert.That(topics.GetLocalMemberCount("realtime:room1"), Is.EqualTo(2));
        }
    }

    [Test]
    public async Task RemoveAsync_LastMember_ForgetsTheTopicAndLaterSendsReachNobody()
    {
        var topics = new DefaultRealtimeTopicManager();
        var a = new RecordingMember("realtime:room1");
        await topics.AddAsync(a);
        await topics.AddAsync(a); // adding twice keeps one membership
        Assert.That(topics.GetLocalMemberCount("realtime:room1"), Is.EqualTo(1));

        await topics.RemoveAsync(a);
        await topics.RemoveAsync(a); // removing twice is harmless
        await topics.SendAsync(RealtimeBroadcastMessage.FromJson("realtime:room1", "e", "{}"u8));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(topics.GetLocalMemberCount("realtime:room1"), Is.Zero);
            Assert.That(a.Received, Is.Empty);
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task SendAsync_ConcurrentSenders_EveryMemberSeesTheSameOrder(CancellationToken ct)
    {
        var topics = new DefaultRealtimeTopicManager();
        RecordingMember[] members = [.. Enumerable.Range(0, 4).Select(_ => new RecordingMember("realtime:t"))];
        foreach (RecordingMember member in members)
        {
            await topics.AddAsync(member, ct);
        }

        Task[] senders = [.. Enumerable.Range(0, 4).Select(s => Task.Run(async () =>
        {
            for (int i = 0; i < 500; i++)
            {
                await topics.SendAsync(RealtimeBroadcastMessage.FromJson("realtime:t", $"{s}-{i}", "{}"u8), cancellationToken: ct);
            }
        }, ct))];
        await Task.WhenAll(senders);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(members[0].Received, Has.Count.EqualTo(2000));
            foreach (RecordingMember member in members.Skip(1))
            {
                Assert.That(member.Received, Is.EqualTo(members[0].Received));
            }
        }
    }

    [Test]
    public async Task AddAndRemove_TenThousandMembersOfOneTopic_CostNoMoreThanTheSetItself()
    {
        // A copied member array made N joins cost O(N²): ~400 MB allocated for 10,000 members of one topic.
        var manager = new DefaultRealtimeTopicManager();
        RecordingMember[] members = [.. Enumerable.Range(0, 10_000).Select(_ => new RecordingMember("realtime:big"))];
        long before = GC.GetAllocatedBytesForCurrentThread();
        foreach (RecordingMember member in members)
        {
            await manager.AddAsync(member);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(manager.GetLocalMemberCount("realtime:big"), Is.EqualTo(10_000));
        Assert.That(allocated, Is.LessThan(4_000_000), $"allocated {allocated:N0} B to add 10,000 members");
        foreach (RecordingMember member in members.Reverse())
        {
            await manager.RemoveAsync(member);
        }

        Assert.That(manager.GetLocalMemberCount("realtime:big"), Is.Zero);
    }

    private sealed class RecordingMember(string topic) : IRealtimeTopicMember
    {
        private readonly List<RealtimeBroadcastMessage> _received = [];

        public string Topic { get; } = topic;

        public List<RealtimeBroadcastMessage> Received
        {
            get
            {
                lock (_received)
                {
                    return [.. _received];
                }
            }
        }

        public void Deliver(RealtimeBroadcastMessage message)
        {
            lock (_received)
            {
                _received.Add(message);
            }
        }
    }
}
