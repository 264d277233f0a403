-- "On a call" keeps a session alive at most `call_max_secs` after the last
-- input: each session remembers when its person last gave input (key,
-- mouse, or a request that was not a background poll), written with its
-- activity. NULL in rows written before this column existed: their last
-- activity stands in for it.
ALTER TABLE sessions ADD COLUMN last_input_at BIGINT;
