namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// An <c>ERROR</c> the session reports with its own SQLSTATE (a bad parameter, an unknown portal): the statement fails,
/// the session goes on, as opposed to a <see cref="PgProtocolException"/>, which ends it.
/// </summary>
internal sealed class PgErrorException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="PgErrorException"/> class.</summary>
    public PgErrorException()
        : this("XX000", "internal error")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="PgErrorException"/> class with PostgreSQL's message.</summary>
    public PgErrorException(string message)
        : this("XX000", message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="PgErrorException"/> class with a message and a cause.</summary>
    public PgErrorException(string message, Exception innerException)
        : base(message, innerException)
    {
        SqlState = "XX000";
    }

    /// <summary>Initializes a new instance of the <see cref="PgErrorException"/> class with a SQLSTATE and PostgreSQL's message.</summary>
    public PgErrorException(string sqlState, string message)
        : base(message)
    {
        SqlState = sqlState;
    }

    /// <summary>Gets the SQLSTATE, e.g. <c>34000</c> (no such portal).</summary>
    public string SqlState { get; }
}
