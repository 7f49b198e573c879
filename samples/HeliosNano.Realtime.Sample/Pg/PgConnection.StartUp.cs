using System.Buffers;
using System.Text;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>Start-up: <c>SSLRequest</c>, the start-up packet, authentication and the greeting.</summary>
internal sealed partial class PgConnection
{
    private async Task<string?> StartUpAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (!await NextAsync(startup: true, cancellationToken))
            {
                return null;
            }

            PgMessageReader.TryReadInt32(_message.Body, 0, out int code);
            if (code is PgMessageReader.SslRequestCode or PgMessageReader.GssEncRequestCode)
            {
                // No TLS (nor GSS encryption) here: 'N' tells the client to go on in the clear, as a server without ssl does.
                _reader.AdvanceTo(_consumed);
                _writer.GetSpan(1)[0] = (byte)'N';
                _writer.Advance(1);
                await _writer.FlushAsync(cancellationToken);
                continue;
            }

            if (code == PgMessageReader.CancelRequestCode)
            {
                return null;
            }

            if (code >> 16 != 3)
            {
                await TryFatalAsync("0A000", $"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: server supports 3.0 to 3.0");
                return null;
            }

            string? user = null;
            var reader = new SequenceReader<byte>(_message.Body.Slice(4));
            while (reader.TryReadTo(out ReadOnlySequence<byte> name, 0) && name.Length > 0 && reader.TryReadTo(out ReadOnlySequence<byte> value, 0))
            {
                if (name.Length == 4 && Encoding.ASCII.GetString(name) == "user")
                {
                    user = Encoding.UTF8.GetString(value);
                }
            }

            _reader.AdvanceTo(_consumed);
            if (string.IsNullOrEmpty(user))
            {
                await TryFatalAsync("28000", "no PostgreSQL user name specified in startup packet");
                return null;
            }

            return user;
        }
    }

    private async Task<bool> AuthenticateAsync(string user, CancellationToken cancellationToken)
    {
        if (_scram is null)
        {
            PgMessageWriter.AuthenticationOk(_writer);
            return true;
        }

        PgMessageWriter.AuthenticationSasl(_writer);
        await _writer.FlushAsync(cancellationToken);
        string clientFirst = await ReadSaslAsync(initial: true, cancellationToken);
        if (!ScramSha256.TryParseClientFirst(clientFirst, out string gs2Header, out string clientFirstBare, out string clientNonce))
        {
            throw new PgProtocolException("malformed SCRAM message");
        }

        string serverFirst = _scram.CreateServerFirst(clientNonce, ScramSha256.CreateNonce());
        PgMessageWriter.AuthenticationSasl(_writer, 11, serverFirst);
        await _writer.FlushAsync(cancellationToken);
        string clientFinal = await ReadSaslAsync(initial: false, cancellationToken);
        if (!_scram.TryVerifyClientFinal(gs2Header, clientFirstBare, serverFirst, clientFinal, out string serverFinal))
        {
            Log.AuthenticationFailed(_logger, _processId, user);
            await TryFatalAsync("28P01", $"password authentication failed for user \"{user}\"");
            return false;
        }

        PgMessageWriter.AuthenticationSasl(_writer, 12, serverFinal);
        PgMessageWriter.AuthenticationOk(_writer);
        return true;
    }

    private async Task<string> ReadSaslAsync(bool initial, CancellationToken cancellationToken)
    {
        if (!await NextAsync(startup: false, cancellationToken))
        {
            throw new IOException("The client left during authentication.");
        }

        if (_message.Type != (byte)'p')
        {
            throw new PgProtocolException($"expected SASL response, got message type {_message.Type}");
        }

        ReadOnlySequence<byte> data = _message.Body;
        if (initial)
        {
            var reader = new SequenceReader<byte>(data);
            if (!reader.TryReadTo(out ReadOnlySequence<byte> mechanism, 0) || Encoding.ASCII.GetString(mechanism) != ScramSha256.Mechanism)
            {
                throw new PgProtocolException("client selected an invalid SASL authentication mechanism");
            }

            if (!reader.TryReadBigEndian(out int length) || length < 0 || length > reader.Remaining)
            {
                throw new PgProtocolException("malformed SASL initial response");
            }

            data = reader.UnreadSequence.Slice(0, length);
        }

        string text = Encoding.UTF8.GetString(data);
        _reader.AdvanceTo(_consumed);
        return text;
    }

    private void SendGreeting(string user)
    {
        foreach ((string name, string value) in new[]
        {
            ("server_version", "15.0"),
            ("server_encoding", "UTF8"),
            ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"),
            ("IntervalStyle", "postgres"),
            ("TimeZone", "UTC"),
            ("integer_datetimes", "on"),
            ("standard_conforming_strings", "on"),
            ("is_superuser", "on"),
            ("session_authorization", user),
            ("application_name", string.Empty),
        })
        {
            PgMessageWriter.ParameterStatus(_writer, name, value);
        }

        PgMessageWriter.BackendKeyData(_writer, _processId, Random.Shared.Next());
        PgMessageWriter.ReadyForQuery(_writer, _runner.Status);
    }
}
