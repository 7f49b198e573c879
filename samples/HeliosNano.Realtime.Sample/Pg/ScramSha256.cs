using System.Security.Cryptography;
using System.Text;

namespace HeliosNano.Realtime.Sample.Pg;

/// <summary>
/// The server side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL runs it: the user name in the client's message
/// is ignored (the start-up packet's counts), no channel binding is offered (no TLS, so <c>n,,</c> or <c>y,,</c>), and
/// only the stored and server keys are kept, never the password.
/// </summary>
internal sealed class ScramSha256
{
    /// <summary>The SASL mechanism name.</summary>
    public const string Mechanism = "SCRAM-SHA-256";

    /// <summary>PostgreSQL's default iteration count (<c>scram_iterations</c>).</summary>
    public const int DefaultIterations = 4096;

    private readonly byte[] _salt;
    private readonly int _iterations;
    private readonly byte[] _storedKey;
    private readonly byte[] _serverKey;

    /// <summary>Initializes a new instance of the <see cref="ScramSha256"/> class: derives the keys of <paramref name="password"/>.</summary>
    public ScramSha256(string password, byte[] salt, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(salt);
        _salt = salt;
        _iterations = iterations;

        // SASLprep is the identity for printable ASCII, which is what a sample's --password holds.
        byte[] salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        _storedKey = SHA256.HashData(HMACSHA256.HashData(salted, "Client Key"u8));
        _serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
    }

    /// <summary>Parses <c>client-first-message</c>, e.g. <c>n,,n=user,r=nonce</c>.</summary>
    /// <returns><see langword="false"/> when it is malformed or asks for channel binding (<c>p=</c>).</returns>
    public static bool TryParseClientFirst(string message, out string gs2Header, out string clientFirstBare, out string clientNonce)
    {
        ArgumentNullException.ThrowIfNull(message);
        gs2Header = clientFirstBare = clientNonce = string.Empty;
        if (!(message.StartsWith("n,", StringComparison.Ordinal) || message.StartsWith("y,", StringComparison.Ordinal)))
        {
            return false;
        }

        int second = message.IndexOf(',', 2);
        if (second < 0)
        {
            return false;
        }

        gs2Header = message[..(second + 1)];
        clientFirstBare = message[(second + 1)..];
        foreach (string attribute in clientFirstBare.Split(','))
        {
            if (attribute.StartsWith("r=", StringComparison.Ordinal))
            {
                clientNonce = attribute[2..];
            }
        }

        return clientNonce.Length > 0;
    }

    /// <summary>Creates a random server nonce (18 random bytes in base64, as PostgreSQL does).</summary>
    public static string CreateNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));

    /// <summary>Builds <c>server-first-message</c>: <c>r=&lt;client nonce&gt;&lt;server nonce&gt;,s=&lt;salt&gt;,i=&lt;iterations&gt;</c>.</summary>
    public string CreateServerFirst(string clientNonce, string serverNonce) =>
        $"r={clientNonce}{serverNonce},s={Convert.ToBase64String(_salt)},i={_iterations}";

    /// <summary>Checks <c>client-final-message</c> and, when its proof holds, builds <c>server-final-message</c> (<c>v=…</c>).</summary>
    /// <returns><see langword="true"/> when the client knows the password.</returns>
    public bool TryVerifyClientFinal(string gs2Header, string clientFirstBare, string serverFirst, string clientFinal, out string serverFinal)
    {
        ArgumentNullException.ThrowIfNull(clientFinal);
        serverFinal = string.Empty;
        int proofAt = clientFinal.LastIndexOf(",p=", StringComparison.Ordinal);
        if (proofAt < 0)
        {
            return false;
        }

        string withoutProof = clientFinal[..proofAt];
        string? binding = null;
        string? nonce = null;
        foreach (string attribute in withoutProof.Split(','))
        {
            if (attribute.StartsWith("c=", StringComparison.Ordinal))
            {
                binding = attribute[2..];
            }
            else if (attribute.StartsWith("r=", StringComparison.Ordinal))
            {
                nonce = attribute[2..];
            }
        }

        string expectedNonce = serverFirst.Split(',')[0][2..];
        if (binding != Convert.ToBase64String(Encoding.ASCII.GetBytes(gs2Header)) || nonce != expectedNonce)
        {
            return false;
        }

        Span<byte> proof = stackalloc byte[32];
        if (!Convert.TryFromBase64String(clientFinal[(proofAt + 3)..], proof, out int written) || written != 32)
        {
            return false;
        }

        byte[] authMessage = Encoding.UTF8.GetBytes(clientFirstBare + "," + serverFirst + "," + withoutProof);
        byte[] clientSignature = HMACSHA256.HashData(_storedKey, authMessage);
        Span<byte> clientKey = stackalloc byte[32];
        for (int i = 0; i < 32; i++)
        {
            clientKey[i] = (byte)(proof[i] ^ clientSignature[i]);
        }

        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(clientKey), _storedKey))
        {
            return false;
        }

        serverFinal = "v=" + Convert.ToBase64String(HMACSHA256.HashData(_serverKey, authMessage));
        return true;
    }
}
