-- Vigil schema, SQLite flavour. Instants are milliseconds since the Unix
-- epoch (UTC) in BIGINT columns so that the same queries run on PostgreSQL.
-- Flags are INTEGER 0/1: sqlx's Any driver cannot read SQLite BOOLEAN.

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    BIGINT NOT NULL REFERENCES accounts(id),
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'agent', 'requester')),
    -- Space-separated permission names granted beyond the role.
    permissions   TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    available     INTEGER NOT NULL DEFAULT 0,
    auto_assign   INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    UNIQUE (account_id, email)
);

CREATE TABLE security_settings (
    account_id  BIGINT PRIMARY KEY REFERENCES accounts(id),
    version     BIGINT NOT NULL,
    settings    TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  BIGINT REFERENCES users(id)
);

CREATE TABLE sessions (
    id                TEXT PRIMARY KEY,
    token_hash        TEXT NOT NULL UNIQUE,
    account_id        BIGINT NOT NULL REFERENCES accounts(id),
    user_id           BIGINT NOT NULL REFERENCES users(id),
    audience          TEXT NOT NULL CHECK (audience IN ('agents', 'requesters')),
    persistent        INTEGER NOT NULL,
    created_at        BIGINT NOT NULL,
    last_activity_at  BIGINT NOT NULL,
    -- The earlier of the idle and absolute deadlines under the policy last
    -- applied; an index for the sweeper, re-checked with the full rule.
    expires_at        BIGINT NOT NULL,
    ended_at          BIGINT,
    end_reason        TEXT,
    ip                TEXT,
    user_agent        TEXT
);
CREATE INDEX sessions_live_expiry ON sessions (expires_at) WHERE ended_at IS NULL;
CREATE INDEX sessions_live_by_user ON sessions (user_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_live_by_account ON sessions (account_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_ended ON sessions (ended_at) WHERE ended_at IS NOT NULL;

CREATE TABLE conversations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    BIGINT NOT NULL REFERENCES accounts(id),
    requester_id  BIGINT NOT NULL REFERENCES users(id),
    subject       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    assignee_id   BIGINT REFERENCES users(id),
    created_at    BIGINT NOT NULL
);
CREATE INDEX conversations_open_by_assignee ON conversations (assignee_id) WHERE status = 'open';
CREATE INDEX conversations_by_requester ON conversations (requester_id);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT,
    details     TEXT NOT NULL
);
CREATE INDEX audit_log_by_account ON audit_log (account_id, id);

-- Failed sign-ins, by throttle key (see backend/src/auth/throttle.rs).
CREATE TABLE login_throttle (
    key           TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    window_start  BIGINT NOT NULL,
    locked_until  BIGINT NOT NULL
);
