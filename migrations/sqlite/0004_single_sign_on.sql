-- Single sign-on through an OpenID Connect provider (see backend/src/sso/).

-- How each session began; for SSO sessions, the connection and the
-- provider's subject and session id (`sid`), which back-channel logout
-- tokens name.
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password'
    CHECK (method IN ('password', 'sso'));
ALTER TABLE sessions ADD COLUMN sso_connection_id TEXT;
ALTER TABLE sessions ADD COLUMN sso_sub TEXT;
ALTER TABLE sessions ADD COLUMN sso_sid TEXT;
CREATE INDEX sessions_live_by_sso_sid ON sessions (sso_connection_id, sso_sid)
    WHERE ended_at IS NULL AND sso_sid IS NOT NULL;
CREATE INDEX sessions_live_by_sso_sub ON sessions (sso_connection_id, sso_sub)
    WHERE ended_at IS NULL AND sso_sub IS NOT NULL;

-- An account's connections to identity providers. The client secret is
-- needed to redeem codes, so it is stored as given; it is never returned,
-- logged or audited. `provider` is the discovery document and `jwks` the
-- provider's keys as last fetched.
CREATE TABLE sso_connections (
    id                   TEXT PRIMARY KEY,
    account_id           BIGINT NOT NULL REFERENCES accounts(id),
    name                 TEXT NOT NULL,
    issuer               TEXT NOT NULL,
    client_id            TEXT NOT NULL,
    client_secret        TEXT NOT NULL,
    -- Space-separated: agents, requesters.
    audiences            TEXT NOT NULL,
    password_agents      INTEGER NOT NULL,
    password_requesters  INTEGER NOT NULL,
    jit_requesters       INTEGER NOT NULL,
    provider             TEXT NOT NULL,
    jwks                 TEXT NOT NULL,
    jwks_fetched_at      BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    UNIQUE (account_id, name)
);

-- A sign-in on its way through the provider, bound to the browser that
-- started it: the key is the SHA-256 of the __Host-vigil-sso cookie.
-- Taken (deleted) by the callback, so it is used once.
CREATE TABLE sso_logins (
    cookie_hash    TEXT PRIMARY KEY,
    connection_id  TEXT NOT NULL,
    state          TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    pkce_verifier  TEXT NOT NULL,
    audience       TEXT NOT NULL,
    remember_me    INTEGER NOT NULL,
    next           TEXT,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX sso_logins_expiry ON sso_logins (expires_at);

-- Logout tokens accepted, so each `jti` is accepted once.
CREATE TABLE sso_logout_tokens (
    connection_id  TEXT NOT NULL,
    jti            TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    PRIMARY KEY (connection_id, jti)
);
CREATE INDEX sso_logout_tokens_expiry ON sso_logout_tokens (expires_at);
