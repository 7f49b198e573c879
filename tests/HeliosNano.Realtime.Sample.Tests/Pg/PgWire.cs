using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

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
