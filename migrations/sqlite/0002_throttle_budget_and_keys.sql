-- The per-person budget counts failures over a sliding hour: the current
-- window's count and the previous window's (see backend/src/auth/throttle.rs).
ALTER TABLE login_throttle ADD COLUMN previous BIGINT NOT NULL DEFAULT 0;

-- Keys the server signs with, shared by every replica: `device` signs the
-- __Host-vigil-device cookie. `vigil rotate-device-key` replaces it.
CREATE TABLE server_keys (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
