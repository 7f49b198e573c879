using System.Text.Json;

namespace HeliosNano.Realtime.Sample.Auth;

/// <summary>
/// A minimal GoTrue (<c>/auth/v1</c>) for supabase-js: <c>signUp</c> (<c>POST /auth/v1/signup</c>),
/// <c>signInWithPassword</c> (<c>POST /auth/v1/token?grant_type=password</c>) and the session refresh
/// (<c>grant_type=refresh_token</c>); each answers GoTrue's session JSON with an HS256 access token.
/// </summary>
internal static class AuthEndpoints
{
    private static readonly string[] s_providers = ["email"];

    public static IEndpointRouteBuilder MapAuthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/auth/v1/signup", SignUpAsync).WithDisplayName("Sign up");
        endpoints.MapPost("/auth/v1/token", TokenAsync).WithDisplayName("Token");
        endpoints.MapPost("/auth/v1/logout", static () => Results.NoContent()).WithDisplayName("Log out");
        return endpoints;
    }

    private static async Task<IResult> SignUpAsync(HttpContext context, UserStore users, SampleJwt jwt)
    {
        using JsonDocument? body = await ReadAsync(context);
        if (body is null || !TryGetCredentials(body.RootElement, out string email, out string password))
        {
            return Error(400, "validation_failed", "Signup requires a valid email and a password of at least 6 characters");
        }

        string metadata = body.RootElement.TryGetProperty("data", out JsonElement data) && data.ValueKind == JsonValueKind.Object ? data.GetRawText() : "{}";
        UserStore.User? user = users.Create(email, password, metadata, jwt.TimeProvider.GetUtcNow());
        return user is null ? Error(422, "user_already_exists", "User already registered") : Session(user, users, jwt);
    }

    private static async Task<IResult> TokenAsync(HttpContext context, UserStore users, SampleJwt jwt)
    {
        using JsonDocument? body = await ReadAsync(context);
        string? grant = context.Request.Query["grant_type"];
        if (body is null)
        {
            return Error(400, "validation_failed", "Invalid JSON body");
        }

        switch (grant)
        {
            case "password":
                if (!TryGetCredentials(body.RootElement, out string email, out string password))
                {
                    return Error(400, "invalid_credentials", "Invalid login credentials");
                }

                UserStore.User? user = users.Verify(email, password);
                return user is null ? Error(400, "invalid_credentials", "Invalid login credentials") : Session(user, users, jwt);
            case "refresh_token":
                string? refresh = body.RootElement.TryGetProperty("refresh_token", out JsonElement r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
                UserStore.User? owner = string.IsNullOrEmpty(refresh) ? null : users.Redeem(refresh);
                return owner is null ? Error(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found") : Session(owner, users, jwt);
            default:
                return Error(400, "unsupported_grant_type", "grant_type must be password or refresh_token");
        }
    }

    private static IResult Session(UserStore.User user, UserStore users, SampleJwt jwt)
    {
        JsonElement metadata = UserStore.Metadata(user);
        (string token, DateTimeOffset expires) = jwt.Mint("authenticated", user.Id, user.Email, metadata);
        return Results.Json(new
        {
            access_token = token,
            token_type = "bearer",
            expires_in = (long)jwt.Lifetime.TotalSeconds,
            expires_at = expires.ToUnixTimeSeconds(),
            refresh_token = users.IssueRefreshToken(user.Id),
            user = new
            {
                id = user.Id,
                aud = "authenticated",
                role = "authenticated",
                email = user.Email,
                app_metadata = new { provider = "email", providers = s_providers },
                user_metadata = metadata,
                created_at = user.CreatedAt,
                updated_at = user.CreatedAt,
            },
        });
    }

    private static bool TryGetCredentials(JsonElement body, out string email, out string password)
    {
        email = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("email", out JsonElement e) && e.ValueKind == JsonValueKind.String ? e.GetString()!.Trim() : string.Empty;
        password = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("password", out JsonElement p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : string.Empty;
        return email.Contains('@', StringComparison.Ordinal) && email.Length <= 320 && password.Length is >= 6 and <= 1024;
    }

    private static async Task<JsonDocument?> ReadAsync(HttpContext context)
    {
        try
        {
            return await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>GoTrue's error body, which supabase-js turns into an <c>AuthApiError</c>.</summary>
    private static IResult Error(int status, string code, string message) =>
        Results.Json(new { code = status, error_code = code, msg = message }, statusCode: status);
}
