namespace HeliosNano.Realtime.Sample;

/// <summary>A request's SQL ran past <see cref="SampleOptions.StatementTimeout"/> and was interrupted (and rolled back).</summary>
internal sealed class SqlTimeoutException : Exception
{
    /// <summary>PostgreSQL's message for the same event (SQLSTATE 57014), which PostgREST passes on.</summary>
    public const string TimeoutMessage = "canceling statement due to statement timeout";

    /// <summary>Initializes a new instance of the <see cref="SqlTimeoutException"/> class.</summary>
    public SqlTimeoutException()
        : base(TimeoutMessage)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SqlTimeoutException"/> class.</summary>
    public SqlTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SqlTimeoutException"/> class.</summary>
    public SqlTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
