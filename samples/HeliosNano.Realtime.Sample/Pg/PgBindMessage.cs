namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>A <c>Bind</c> message: which statement becomes which portal, with what parameter values and result formats.</summary>
/// <param name="Portal">The portal name; empty for the unnamed portal.</param>
/// <param name="Statement">The statement name; empty for the unnamed statement.</param>
/// <param name="ParameterFormats">No entry (all text), one (for all), or one per parameter: 0 text, 1 binary.</param>
/// <param name="Parameters">The parameter values as sent, <see langword="null"/> for SQL NULL (copied out of the receive buffer).</param>
/// <param name="ResultFormats">No entry (all text), one (for all), or one per result column: 0 text, 1 binary.</param>
internal sealed record PgBindMessage(string Portal, string Statement, short[] ParameterFormats, byte[]?[] Parameters, short[] ResultFormats)
{
    /// <summary>Gets the format of parameter <paramref name="index"/>, as the protocol spreads the format codes.</summary>
    public short ParameterFormat(int index) => Format(ParameterFormats, index);

    /// <summary>Gets the format a result column is asked in.</summary>
    public static short Format(short[] formats, int index) => formats.Length switch
    {
        0 => 0,
        1 => formats[0],
        _ => index < formats.Length ? formats[index] : (short)0,
    };
}
