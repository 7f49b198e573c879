namespace HeliosNano.Realtime.Sample;

/// <summary>The sample server refuses to start with this configuration; the message says what to change.</summary>
internal sealed class SampleStartupException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="SampleStartupException"/> class.</summary>
    public SampleStartupException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SampleStartupException"/> class.</summary>
    public SampleStartupException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SampleStartupException"/> class.</summary>
    public SampleStartupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
