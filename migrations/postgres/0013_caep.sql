-- Webhook endpoints in a second format: OpenID CAEP session-revoked
-- Security Event Tokens (RFC 8417), pushed per RFC 8935, signed with a key
-- Vigil keeps here and publishes at /api/caep/jwks.json.

-- 'standard_webhooks' (HMAC-signed JSON) or 'caep' (signed SETs; such an
-- endpoint has no HMAC secret: its `secret` is empty). `issuer`: the SETs'
-- `iss`, fixed when a CAEP endpoint is added.
ALTER TABLE webhook_endpoints ADD COLUMN format TEXT NOT NULL DEFAULT 'standard_webhooks';
ALTER TABLE webhook_endpoints ADD COLUMN issuer TEXT;

-- The RS256 keys SETs are signed with, one per generation: the newest
-- signs, the newest two are published (so a receiver holding the previous
-- key's SETs can still check them after a rotation). Generation 1 is
-- inserted with ON CONFLICT DO NOTHING, so replicas making the first key
-- at once end up with one. `private_key` (PKCS#1 PEM) never leaves the
-- server: no API returns it and nothing logs it.
CREATE TABLE caep_signing_keys (
    generation   BIGINT PRIMARY KEY,
    kid          TEXT NOT NULL UNIQUE,
    private_key  TEXT NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
