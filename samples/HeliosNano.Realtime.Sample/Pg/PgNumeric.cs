using System.Buffers.Binary;
using System.Globalization;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// The binary form of <c>numeric</c>: <c>ndigits</c>, <c>weight</c>, <c>sign</c>, <c>dscale</c> (int16 each), then
/// <c>ndigits</c> base-10,000 digits, the first worth 10,000^<c>weight</c>. Converted to and from <see cref="decimal"/>,
/// which holds what SQLite stores (its REAL, INTEGER or TEXT values) without loss.
/// </summary>
internal static class PgNumeric
{
    private const short Positive = 0x0000;
    private const short Negative = 0x4000;
    private const short NaN = unchecked((short)0xC000);

    /// <summary>Gets how many bytes <see cref="Write"/> writes for <paramref name="value"/>.</summary>
    public static int Length(decimal value)
    {
        Span<short> digits = stackalloc short[16];
        return 8 + (2 * Digits(value, digits, out _, out _));
    }

    /// <summary>Writes <paramref name="value"/> in the binary form into <paramref name="span"/>; returns the bytes written.</summary>
    public static int Write(decimal value, Span<byte> span)
    {
        Span<short> digits = stackalloc short[16];
        int count = Digits(value, digits, out short weight, out short scale);
        BinaryPrimitives.WriteInt16BigEndian(span, (short)count);
        BinaryPrimitives.WriteInt16BigEndian(span[2..], weight);
        BinaryPrimitives.WriteInt16BigEndian(span[4..], value < 0 ? Negative : Positive);
        BinaryPrimitives.WriteInt16BigEndian(span[6..], scale);
        for (int i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteInt16BigEndian(span[(8 + (2 * i))..], digits[i]);
        }

        return 8 + (2 * count);
    }

    /// <summary>Reads the binary form as a decimal's invariant text (<c>NaN</c> for NaN), ready to bind.</summary>
    /// <exception cref="FormatException">The value is malformed.</exception>
    /// <exception cref="OverflowException">The value does not fit a <see cref="decimal"/>.</exception>
    public static string Read(ReadOnlySpan<byte> data)
    {
        if (data.Length < 8)
        {
            throw new FormatException("invalid numeric binary value");
        }

        int count = BinaryPrimitives.ReadInt16BigEndian(data);
        int weight = BinaryPrimitives.ReadInt16BigEndian(data[2..]);
        short sign = BinaryPrimitives.ReadInt16BigEndian(data[4..]);
        int scale = BinaryPrimitives.ReadInt16BigEndian(data[6..]);
        if (sign == NaN)
        {
            return "NaN";
        }

        if (count < 0 || data.Length != 8 + (2 * count) || sign is not (Positive or Negative) || scale is < 0 or > 28)
        {
            throw new FormatException("invalid numeric binary value");
        }

        decimal value = 0;
        for (int i = 0; i < count; i++)
        {
            short digit = BinaryPrimitives.ReadInt16BigEndian(data[(8 + (2 * i))..]);
            if (digit is < 0 or > 9999)
            {
                throw new FormatException("invalid digit in numeric binary value");
            }

            value += digit * Power(weight - i);
        }

        value = decimal.Round(sign == Negative ? -value : value, scale);
        return value.ToString("F" + scale.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    private static decimal Power(int exponent)
    {
        decimal result = 1;
        for (int i = 0; i < Math.Abs(exponent); i++)
        {
            result = exponent > 0 ? result * 10_000 : result / 10_000;
        }

        return result;
    }

    private static int Digits(decimal value, Span<short> digits, out short weight, out short scale)
    {
        string text = Math.Abs(value).ToString(CultureInfo.InvariantCulture);
        int point = text.IndexOf('.', StringComparison.Ordinal);
        string whole = point < 0 ? text : text[..point];
        string fraction = point < 0 ? string.Empty : text[(point + 1)..];
        scale = (short)fraction.Length;

        // Whole part grouped by four from the point leftwards, fraction by four rightwards (padded with zeros).
        int wholeGroups = (whole.Length + 3) / 4;
        string padded = whole.PadLeft(wholeGroups * 4, '0') + fraction.PadRight((fraction.Length + 3) / 4 * 4, '0');
        int count = padded.Length / 4;
        int first = 0;
        while (first < count && padded.AsSpan(first * 4, 4).SequenceEqual("0000"))
        {
            first++;
        }

        int last = count;
        while (last > first && padded.AsSpan((last - 1) * 4, 4).SequenceEqual("0000"))
        {
            last--;
        }

        weight = (short)(first == last ? 0 : wholeGroups - 1 - first);
        for (int i = first; i < last; i++)
        {
            digits[i - first] = short.Parse(padded.AsSpan(i * 4, 4), CultureInfo.InvariantCulture);
        }

        return last - first;
    }
}
