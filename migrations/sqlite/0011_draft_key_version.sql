-- Drafts kept in a browser are encrypted under a key derived from the
-- person and this version (GET /api/me/draft-key). Deactivation,
-- reactivation and a password change bump it, so drafts written before
-- can no longer be read and the console discards them.
ALTER TABLE users ADD COLUMN draft_key_version INTEGER NOT NULL DEFAULT 0;
