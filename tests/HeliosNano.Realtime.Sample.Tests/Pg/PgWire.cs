using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace HeliosNano.Realtime.Sample.Tests.Pg;

/// <summary>Test helpers: a raw PostgreSQL protocol client (for hostile bytes) and the real psql.</summary>
internal static class PgWire
{
    public const string Psql = "/usr/bin/psql";

    public static async Task<NetworkStream> ConnectAsync(int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", port, cancellationToken);
        return new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>Sends a start-up packet for user postgres and reads up to the first ReadyForQuery (trust).</summary>
    public static async Task<NetworkStream> StartAsync(int port, CancellationToken cancellationToken)
    {
        NetworkStream stream = await ConnectAsync(port, cancellationToken);
        await stream.WriteAsync(PgMessageReaderTests.Startup("user\0postgres\0database\0postgres\0\0"), cancellationToken);
        List<(char Type, byte[] Body)> greeting = await ReadUntilAsync(stream, 'Z', cancellationToken);
        Assert.That(greeting.Select(m => m.Type), Does.Contain('R').And.Contain('K').And.Contain('S'));
        return stream;
    }

    /// <summary>Reads backend messages up to one of type <paramref name="last"/>, or to the end of the stream.</summary>
    public static async Task<List<(char Type, byte[] Body)>> ReadUntilAsync(Stream stream, char last, CancellationToken cancellationToken)
    {
        var messages = new List<(char, byte[])>();
        var header = new byte[5];
        while (true)
        {
            try
            {
                await stream.ReadExactlyAsync(header, cancellationToken);
            }
            catch (EndOfStreamException)
            {
                return messages;
            }
            catch (IOException)
            {
                return messages;
            }

            var body = new byte[BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1)) - 4];
            await stream.ReadExactlyAsync(body, cancellationToken);
            messages.Add(((char)header[0], body));
            if (header[0] == last)
            {
                return messages;
            }
        }
    }

    /// <summary>Gets a field of an ErrorResponse body, e.g. <c>'C'</c> for the SQLSTATE.</summary>
    public static string? Field(byte[] errorBody, char code)
    {
        int at = 0;
        while (at < errorBody.Length && errorBody[at] != 0)
        {
            char field = (char)errorBody[at];
            int end = Array.IndexOf(errorBody, (byte)0, at + 1);
            if (field == code)
            {
                return Encoding.UTF8.GetString(errorBody, at + 1, end - at - 1);
            }

            at = end + 1;
        }

        return null;
    }

    /// <summary>A <c>Parse</c> message.</summary>
    public static byte[] Parse(string name, string sql, params int[] types)
    {
        var body = new List<byte>();
        body.AddRange(CString(name));
        body.AddRange(CString(sql));
        body.AddRange(Int16(types.Length));
        foreach (int type in types)
        {
            body.AddRange(Int32(type));
        }

        return Frame('P', body);
    }

    /// <summary>A <c>Bind</c> message with text-format parameters (<see langword="null"/>: NULL) and one result format for all columns.</summary>
    public static byte[] Bind(string portal, string statement, string?[] parameters, short resultFormat = 0) =>
        Bind(portal, statement, [], [.. parameters.Select(p => p is null ? null : Encoding.UTF8.GetBytes(p))], [resultFormat]);

    /// <summary>A <c>Bind</c> message.</summary>
    public static byte[] Bind(string portal, string statement, short[] formats, byte[]?[] parameters, short[] resultFormats)
    {
        var body = new List<byte>();
        body.AddRange(CString(portal));
        body.AddRange(CString(statement));
        body.AddRange(Int16(formats.Length));
        foreach (short format in formats)
        {
            body.AddRange(Int16(format));
        }

        body.AddRange(Int16(parameters.Length));
        foreach (byte[]? parameter in parameters)
        {
            body.AddRange(Int32(parameter?.Length ?? -1));
            body.AddRange(parameter ?? []);
        }

        body.AddRange(Int16(resultFormats.Length));
        foreach (short format in resultFormats)
        {
            body.AddRange(Int16(format));
        }

        return Frame('B', body);
    }

    /// <summary>A <c>Describe</c> (<c>'S'</c> or <c>'P'</c>) message.</summary>
    public static byte[] Describe(char kind, string name) => Frame('D', [(byte)kind, .. CString(name)]);

    /// <summary>A <c>Close</c> (<c>'S'</c> or <c>'P'</c>) message.</summary>
    public static byte[] Close(char kind, string name) => Frame('C', [(byte)kind, .. CString(name)]);

    /// <summary>An <c>Execute</c> message.</summary>
    public static byte[] Execute(string portal, int maxRows = 0) => Frame('E', [.. CString(portal), .. Int32(maxRows)]);

    /// <summary>A <c>Sync</c> message.</summary>
    public static byte[] Sync() => Frame('S', []);

    /// <summary>A <c>Flush</c> message.</summary>
    public static byte[] Flush() => Frame('H', []);

    /// <summary>Frames a message body with its type and length.</summary>
    public static byte[] Frame(char type, IEnumerable<byte> body)
    {
        byte[] bytes = [.. body];
        var message = new byte[5 + bytes.Length];
        message[0] = (byte)type;
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), 4 + bytes.Length);
        bytes.CopyTo(message, 5);
        return message;
    }

    /// <summary>Joins <c>realtime:public:&lt;table&gt;</c> on the sample's realtime socket.</summary>
    public static async Task<ClientWebSocket> JoinAsync(SampleServer server, string table, CancellationToken cancellationToken)
    {
        ClientWebSocket socket = await server.ConnectAsync(cancellationToken);
        await SampleServer.SendFrameAsync(socket, $$$"""{"event":"phx_join","topic":"realtime:public:{{{table}}}","ref":"1","payload":{}}""", cancellationToken);
        JsonElement reply = await SampleServer.ReceiveFrameAsync(socket, cancellationToken);
        Assert.That(reply.GetProperty("payload").GetProperty("status").GetString(), Is.EqualTo("ok"));
        return socket;
    }

    /// <summary>Receives frames up to the next <c>postgres_changes</c> one, and gets its payload.</summary>
    public static async Task<JsonElement> ReceiveChangeAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        while (true)
        {
            JsonElement frame = await SampleServer.ReceiveFrameAsync(socket, cancellationToken);
            if (frame.GetProperty("event").GetString() == "postgres_changes")
            {
                return frame.GetProperty("payload");
            }
        }
    }

    private static byte[] CString(string value) => [.. Encoding.UTF8.GetBytes(value), 0];

    private static byte[] Int16(int value) => [(byte)(value >> 8), (byte)value];

    private static byte[] Int32(int value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    /// <summary>Runs psql with the tutorial's connection URI (on <paramref name="port"/>) and its heredoc on stdin.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunPsqlAsync(string password, int port, string heredoc, CancellationToken cancellationToken)
    {
        Assert.That(File.Exists(Psql), Is.True, "psql is needed (Debian's postgresql-client; .ci/run installs it)");
        var start = new ProcessStartInfo(Psql, $"postgresql://postgres:{password}@127.0.0.1:{port}/postgres")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["PSQLRC"] = "/nonexistent";
        start.Environment["PGCONNECT_TIMEOUT"] = "20";
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.StandardInput.WriteAsync(heredoc);
        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }

        return (process.ExitCode, await output, await error);
    }
}
