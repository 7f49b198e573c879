using System.Text.Json;

namespace HeliosNano.Realtime.WebSockets.Tests;

public class PostgresChangesExtensionTests
{
    [TestCase("""{"postgres_changes_options":{"last_seq":7}}""", true, 7)]
    [TestCase("""{"postgres_changes_options":{"last_seq":"12"}}""", true, 12)]
    [TestCase("""{"heliosnano":{"last_seq":3}}""", true, 3)]
    [TestCase("""{"postgres_changes_options":{"last_seq":-1}}""", false, -1)]
    [TestCase("""{"postgres_changes_options":{"last_seq":"x"}}""", false, 0)]
    [TestCase("""{"broadcast":{"self":true}}""", false, 0)]
    [TestCase("""[]""", false, 0)]
    public void TryGetLastSequence_Config_ReadsTheReplayPoint(string config, bool expected, long expectedSequence)
    {
        using JsonDocument document = JsonDocument.Parse(config);

        bool found = PostgresChangesExtension.TryGetLastSequence(document.RootElement, out long lastSeen);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(found, Is.EqualTo(expected));
            Assert.That(lastSeen, Is.EqualTo(expectedSequence));
        }
    }
}
