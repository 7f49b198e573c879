namespace HeliosNano.Realtime.Sample.Sql;

/// <summary>A statement of a <c>/sql</c> request failed; the whole request was rolled back.</summary>
internal sealed class SqlBatchException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="SqlBatchException"/> class.</summary>
    public SqlBatchException(string message, int statementNumber, string? statement, Exception? innerException = null)
        : base(message, innerException)
    {
        StatementNumber = statementNumber;
        Statement = statement;
    }

    /// <summary>Initializes a new instance of the <see cref="SqlBatchException"/> class.</summary>
    public SqlBatchException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SqlBatchException"/> class.</summary>
    public SqlBatchException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SqlBatchException"/> class.</summary>
    public SqlBatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets the 1-based number of the failing statement in the request (0 when the request as a whole was bad).</summary>
    public int StatementNumber { get; }

    /// <summary>Gets the failing statement as sent, if any.</summary>
    public string? Statement { get; }
}
