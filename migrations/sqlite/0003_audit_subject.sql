-- The person an audit entry is about (the session's owner, the agent whose
-- availability changed, the agent a conversation left, the person a failed
-- sign-in named), so the log can be filtered by person.
ALTER TABLE audit_log ADD COLUMN subject_user_id BIGINT;
UPDATE audit_log SET subject_user_id = COALESCE(
    json_extract(details, '$.user_id'),
    json_extract(details, '$.from_user_id'),
    CASE WHEN target LIKE 'user:%' THEN CAST(substr(target, 6) AS INTEGER) END
);
CREATE INDEX audit_log_by_subject ON audit_log (account_id, subject_user_id, id);
