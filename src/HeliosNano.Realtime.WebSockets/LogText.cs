using System.Globalization;
using System.Text;

namespace HeliosNano.Realtime.WebSockets;

/// <summary>
/// Makes client-supplied text (topics, events, reasons that quote a filter) safe to log: every log call that takes
/// such text passes it through <see cref="Sanitize"/> first.
/// </summary>
/// <remarks>
/// C0 controls (CR, LF, ESC, BEL…), DEL, C1 controls, the Unicode line and paragraph separators, bidirectional
/// overrides and unpaired surrogates are written as <c>\uXXXX</c>, so a client can neither forge log lines nor send
/// escape sequences to the operator's terminal. Text longer than <see cref="MaxLength"/> is cut, with the count of
/// what was left out.
/// </remarks>
internal static class LogText
{
    /// <summary>The most characters of one client string a log line shows.</summary>
    public const int MaxLength = 256;

    /// <summary>Returns <paramref name="text"/> with unsafe characters escaped and cut to <see cref="MaxLength"/>.</summary>
    public static string Sanitize(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? string.Empty;
        }

        int cut = Math.Min(text.Length, MaxLength);
        bool clean = cut == text.Length;
        for (int i = 0; i < cut && clean; i++)
        {
            clean = !IsUnsafe(text, i);
        }

        if (clean)
        {
            return text;
        }

        var builder = new StringBuilder(cut + 16);
        for (int i = 0; i < cut; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                // A valid pair stays as it is (both halves), even when it straddles the cut.
                builder.Append(c).Append(text[++i]);
            }
            else if (IsUnsafe(text, i))
            {
                builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        if (text.Length > cut)
        {
            builder.Append("…(").Append((text.Length - cut).ToString(CultureInfo.InvariantCulture)).Append(" more characters)");
        }

        return builder.ToString();
    }

    private static bool IsUnsafe(string text, int index)
    {
        char c = text[index];
        if (char.IsHighSurrogate(c))
        {
            return index + 1 >= text.Length || !char.IsLowSurrogate(text[index + 1]);
        }

        if (char.IsLowSurrogate(c))
        {
            return index == 0 || !char.IsHighSurrogate(text[index - 1]);
        }

        return c < 0x20 || c is >= '\u007f' and <= '\u009f' or '\u2028' or '\u2029' or >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069';
    }
}
