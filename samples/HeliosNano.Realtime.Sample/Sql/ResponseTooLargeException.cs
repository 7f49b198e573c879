namespace HeliosNano.Realtime.Sample.Sql;

/// <summary>A response would exceed <see cref="SampleOptions.MaxResponseBytes"/>; nothing of it was sent.</summary>
internal sealed class ResponseTooLargeException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="ResponseTooLargeException"/> class.</summary>
    public ResponseTooLargeException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ResponseTooLargeException"/> class for a cap of <paramref name="maxBytes"/>.</summary>
    public ResponseTooLargeException(long maxBytes)
        : base($"The response would exceed the server's limit of {maxBytes} bytes; select fewer rows (limit=) or columns.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ResponseTooLargeException"/> class.</summary>
    public ResponseTooLargeException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ResponseTooLargeException"/> class.</summary>
    public ResponseTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
