-- Webhooks (Standard Webhooks), a transactional outbox: an event row and a
-- delivery per subscribed endpoint are written in the transaction that
-- causes the event; the dispatcher (backend/src/webhooks/) claims due
-- deliveries with a lease and records every attempt.

-- An account's endpoints. The signing secret is needed to sign, so it is
-- stored as created (whsec_…); it is returned once, never logged.
CREATE TABLE webhook_endpoints (
    id             TEXT PRIMARY KEY,
    account_id     BIGINT NOT NULL REFERENCES accounts(id),
    url            TEXT NOT NULL,
    -- Space-separated event types, or "*".
    events         TEXT NOT NULL,
    description    TEXT,
    secret         TEXT NOT NULL,
    enabled        INTEGER NOT NULL,
    created_at     BIGINT NOT NULL,
    -- The first failed attempt since the last success.
    failing_since  BIGINT,
    disabled_at    BIGINT
);
CREATE INDEX webhook_endpoints_by_account ON webhook_endpoints (account_id);

-- Events, each with the exact body every attempt sends.
CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY,
    account_id  BIGINT NOT NULL,
    type        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- One event to one endpoint. No foreign key to the endpoint: an event
-- written while the endpoint is being deleted must not fail the change
-- that caused it; the dispatcher drops deliveries whose endpoint is gone.
-- `claim` and `locked_until`: the lease of the dispatcher attempting it.
CREATE TABLE webhook_deliveries (
    id                TEXT PRIMARY KEY,
    event_id          TEXT NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    endpoint_id       TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT,
    locked_until      BIGINT,
    claim             TEXT,
    last_status_code  INTEGER,
    delivered_at      BIGINT,
    created_at        BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);

-- Every attempt: when, the status code (when the endpoint answered), what
-- went wrong.
CREATE TABLE webhook_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    at           BIGINT NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    duration_ms  BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id);
