namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>The extended query protocol's messages: decoded here, run by <see cref="PgExtendedQuery"/> with the database held.</summary>
internal sealed partial class PgConnection
{
    private async Task ExtendedAsync(byte type, CancellationToken cancellationToken)
    {
        // The body is decoded (names, SQL, parameter values copied out) before the receive buffer is released.
        PgParseMessage? parse = null;
        PgBindMessage? bind = null;
        string name = string.Empty;
        byte kind = 0;
        int maxRows = 0;
        switch (type)
        {
            case (byte)'P':
                parse = PgExtendedMessageReader.ReadParse(_message.Body);
                break;
            case (byte)'B':
                bind = PgExtendedMessageReader.ReadBind(_message.Body);
                break;
            case (byte)'D' or (byte)'C':
                name = PgExtendedMessageReader.ReadTarget(_message.Body, out kind);
                break;
            default:
                name = PgExtendedMessageReader.ReadExecute(_message.Body, out maxRows);
                break;
        }

        _reader.AdvanceTo(_consumed);
        if (parse is not null)
        {
            _extended.Parse(_held, parse, _writer);
        }
        else if (type == (byte)'C')
        {
            _extended.Close(kind, name, _writer);
        }
        else
        {
            _held ??= await _database.EnterAsync(cancellationToken);
            _database.RunEntered(
                connection =>
                {
                    switch (type)
                    {
                        case (byte)'B':
                            _extended.Bind(connection, bind!, _writer);
                            break;
                        case (byte)'D':
                            _extended.Describe(connection, kind, name, _writer);
                            break;
                        default:
                            if (_extended.Execute(connection, name, maxRows, _writer))
                            {
                                _database.RegisterTables(connection);
                            }

                            break;
                    }

                    return true;
                },
                cancellationToken);
        }

        if (_extended.SkippingToSync)
        {
            if (!_runner.InTransaction && !_extended.HasPortals && _held is not null)
            {
                // The error ended the implicit transaction: nothing needs the database until Sync.
                Release();
            }

            // As PostgreSQL does, an error is sent at once: a client waiting on a Flush must not wait for a Sync.
            await FlushAsync(cancellationToken);
        }
    }

    private async Task SyncAsync(CancellationToken cancellationToken)
    {
        _extended.Sync(_held, _writer);
        if (_held is not null && !_runner.InTransaction)
        {
            Release();
        }

        PgMessageWriter.ReadyForQuery(_writer, _runner.Status);
        await FlushAsync(cancellationToken);
    }
}
