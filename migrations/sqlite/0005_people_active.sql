-- People can be deactivated (they leave the company): sign-in is refused
-- and no session of theirs is honoured until they are reactivated.
ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
