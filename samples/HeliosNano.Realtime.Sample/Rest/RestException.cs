namespace HeliosNano.Realtime.Sample.Rest;

/// <summary>A PostgREST-style error: an HTTP status plus <c>{"code","message","details","hint"}</c>.</summary>
internal sealed class RestException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="RestException"/> class.</summary>
    public RestException(int statusCode, string code, string message, string? details = null, string? hint = null, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        Code = code;
        Details = details;
        Hint = hint;
    }

    /// <summary>Initializes a new instance of the <see cref="RestException"/> class.</summary>
    public RestException()
        : this(400, "PGRST100", "Bad request")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RestException"/> class.</summary>
    public RestException(string message)
        : this(400, "PGRST100", message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RestException"/> class.</summary>
    public RestException(string message, Exception innerException)
        : this(400, "PGRST100", message, innerException: innerException)
    {
    }

    /// <summary>Gets the HTTP status code.</summary>
    public int StatusCode { get; }

    /// <summary>Gets the PostgREST or SQLSTATE-like error code.</summary>
    public string Code { get; }

    /// <summary>Gets the optional details.</summary>
    public string? Details { get; }

    /// <summary>Gets the optional hint.</summary>
    public string? Hint { get; }
}
