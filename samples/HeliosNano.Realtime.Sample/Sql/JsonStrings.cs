using System.Text.Json;

namespace HeliosNano.Realtime.Sample.Sql;

/// <summary>Finds strings System.Text.Json parsed but cannot read: an escaped lone surrogate such as <c>"\ud800"</c>.</summary>
internal static class JsonStrings
{
    /// <summary>Returns whether every string and property name under <paramref name="element"/> can be read.</summary>
    public static bool AreReadable(JsonElement element)
    {
        try
        {
            Visit(element);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }

        static void Visit(JsonElement element)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    _ = element.GetString();
                    break;
                case JsonValueKind.Array:
                    foreach (JsonElement item in element.EnumerateArray())
                    {
                        Visit(item);
                    }

                    break;
                case JsonValueKind.Object:
                    foreach (JsonProperty property in element.EnumerateObject())
                    {
                        _ = property.Name;
                        Visit(property.Value);
                    }

                    break;
                default:
                    break;
            }
        }
    }
}
