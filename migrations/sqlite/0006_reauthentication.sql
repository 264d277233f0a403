-- Re-authentication for sensitive actions: when each session last proved
-- who is at the keyboard (its sign-in, or a later re-authentication). NULL
-- in rows written before this column existed: their sign-in (created_at).
ALTER TABLE sessions ADD COLUMN authenticated_at BIGINT;
-- A single sign-on round trip started to re-authenticate this live session
-- (`…/start?reauth=1`) rather than to sign in.
ALTER TABLE sso_logins ADD COLUMN reauth_session TEXT;
