using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace HeliosNano.Realtime.Sample.Auth;

/// <summary>
/// The sample's users and refresh tokens, in a SQLite database of their own (next to <c>--db</c>, or in memory), so
/// password hashes are never captured as changes, served by <c>/rest/v1</c> or reachable from <c>/sql</c>.
/// </summary>
/// <remarks>Passwords are hashed with PBKDF2-HMAC-SHA256, 100,000 iterations (below OWASP's 600,000, to keep a sample's sign-in fast on a small machine; raise it for real use), 16-byte salt; refresh tokens are stored as SHA-256 hashes and rotate on use.</remarks>
internal sealed class UserStore : IDisposable
{
    private const int Iterations = 100_000;
    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();

    public UserStore(string? databaseFile)
    {
        string source = string.IsNullOrEmpty(databaseFile) ? "file:heliosnano-auth-" + Guid.NewGuid().ToString("N") + "?mode=memory&cache=shared" : databaseFile + ".auth.db";
        _connection = new SqliteConnection("Data Source=" + source);
        _connection.Open();
        Run("""
            CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE, password_hash TEXT NOT NULL, user_metadata TEXT NOT NULL, created_at TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS refresh_tokens (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
            """);
    }

    /// <summary>One user as the token endpoint returns it.</summary>
    public sealed record User(string Id, string Email, string UserMetadata, string CreatedAt);

    /// <summary>Creates a user; <see langword="null"/> when the email is taken.</summary>
    public User? Create(string email, string password, string userMetadata, DateTimeOffset now)
    {
        string hash = HashPassword(password);
        var user = new User(Guid.NewGuid().ToString(), email, userMetadata, now.UtcDateTime.ToString("O"));
        lock (_gate)
        {
            using SqliteCommand command = _connection.CreateCommand();
            command.CommandText = "INSERT INTO users (id, email, password_hash, user_metadata, created_at) VALUES ($id, $email, $hash, $meta, $created) ON CONFLICT DO NOTHING";
            command.Parameters.AddWithValue("$id", user.Id);
            command.Parameters.AddWithValue("$email", email);
            command.Parameters.AddWithValue("$hash", hash);
            command.Parameters.AddWithValue("$meta", userMetadata);
            command.Parameters.AddWithValue("$created", user.CreatedAt);
            return command.ExecuteNonQuery() == 1 ? user : null;
        }
    }

    /// <summary>Returns the user when the password matches; the hash is computed even for an unknown email, so timing tells nothing.</summary>
    public User? Verify(string email, string password)
    {
        (User User, string Hash)? found = Find("email = $v", email);
        bool ok = VerifyPassword(password, found?.Hash ?? HashPassword("x"));
        return ok && found is { } f ? f.User : null;
    }

    /// <summary>Issues a refresh token for <paramref name="userId"/>.</summary>
    public string IssueRefreshToken(string userId)
    {
        string token = Base64Url(RandomNumberGenerator.GetBytes(32));
        lock (_gate)
        {
            using SqliteCommand command = _connection.CreateCommand();
            command.CommandText = "INSERT INTO refresh_tokens (token_hash, user_id) VALUES ($h, $u)";
            command.Parameters.AddWithValue("$h", HashToken(token));
            command.Parameters.AddWithValue("$u", userId);
            command.ExecuteNonQuery();
        }

        return token;
    }

    /// <summary>Consumes a refresh token (it rotates: a used one is revoked) and returns its user.</summary>
    public User? Redeem(string refreshToken)
    {
        string? userId;
        lock (_gate)
        {
            using SqliteCommand command = _connection.CreateCommand();
            command.CommandText = "UPDATE refresh_tokens SET revoked = 1 WHERE token_hash = $h AND revoked = 0 RETURNING user_id";
            command.Parameters.AddWithValue("$h", HashToken(refreshToken));
            userId = command.ExecuteScalar() as string;
        }

        return userId is null ? null : Find("id = $v", userId)?.User;
    }

    public void Dispose() => _connection.Dispose();

    private (User User, string Hash)? Find(string where, string value)
    {
        lock (_gate)
        {
            using SqliteCommand command = _connection.CreateCommand();
            command.CommandText = "SELECT id, email, user_metadata, created_at, password_hash FROM users WHERE " + where;
            command.Parameters.AddWithValue("$v", value);
            using SqliteDataReader reader = command.ExecuteReader();
            return reader.Read() ? (new User(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)), reader.GetString(4)) : null;
        }
    }

    private void Run(string sql)
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    internal static string HashPassword(string password)
    {
        byte[] salt = RandomNumberGenerator.GetBytes(16);
        byte[] hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, Iterations, HashAlgorithmName.SHA256, 32);
        return $"pbkdf2-sha256${Iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    internal static bool VerifyPassword(string password, string stored)
    {
        string[] parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != "pbkdf2-sha256" || !int.TryParse(parts[1], out int iterations))
        {
            return false;
        }

        byte[] expected = Convert.FromBase64String(parts[3]);
        byte[] actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), Convert.FromBase64String(parts[2]), iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static string HashToken(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Parses stored user metadata (always a JSON object).</summary>
    public static JsonElement Metadata(User user) => JsonDocument.Parse(user.UserMetadata).RootElement.Clone();
}
