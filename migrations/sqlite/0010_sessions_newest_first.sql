-- The session lists (GET /api/admin/sessions, GET /api/me/sessions) page
-- newest first by (created_at, id), a key no session's row ever changes:
-- each page starts after the last key of the one before, read from these
-- indexes backwards. They replace the live-session indexes on account_id
-- and user_id alone (each is their prefix), so a sign-in writes no more
-- index entries than before; activity writes touch none of these columns.
DROP INDEX sessions_live_by_account;
DROP INDEX sessions_live_by_user;
CREATE INDEX sessions_live_by_account_newest ON sessions (account_id, created_at, id) WHERE ended_at IS NULL;
CREATE INDEX sessions_live_by_user_newest ON sessions (user_id, created_at, id) WHERE ended_at IS NULL;
