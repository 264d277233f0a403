-- API tokens: what a script holds to call the admin API (SPEC "Automation").
-- Only the SHA-256 of the secret is stored (a 256-bit random secret needs
-- no slow hash); the secret is shown once, when it is created. Revoking a
-- token deletes its row. `last_used_at` is written at most once a minute
-- per token. Times are milliseconds since the epoch.
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts(id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    -- Space-separated: sessions:read, sessions:write, users:write, ...
    scopes        TEXT NOT NULL,
    created_by    BIGINT NOT NULL REFERENCES users(id),
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    last_used_at  BIGINT,
    UNIQUE (account_id, name)
);
