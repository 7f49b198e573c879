namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>A frontend broke the protocol (a bad length, an unknown message type); the connection gets a FATAL error and is closed.</summary>
internal sealed class PgProtocolException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="PgProtocolException"/> class.</summary>
    public PgProtocolException()
        : this("protocol violation")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="PgProtocolException"/> class with PostgreSQL's message.</summary>
    public PgProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="PgProtocolException"/> class with a message and a cause.</summary>
    public PgProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
