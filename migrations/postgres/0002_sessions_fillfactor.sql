-- Activity writes change only sessions.last_activity_at, which no index
-- covers: PostgreSQL can update such a row in place (a HOT update, no index
-- entries written) when the new version fits on the same page. Leave room
-- for it on every page.
ALTER TABLE sessions SET (fillfactor = 70);
