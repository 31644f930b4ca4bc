-- A leader invites staff only; the principal (and the task force) invites leaders.
-- Leader invitations that a leader made before this rule, and that are still
-- open, are revoked, so an old code cannot make a second leader. The event log
-- says so (actor NULL: the bot itself).

INSERT INTO events (at, actor_id, action, subject, subject_id, before, after)
SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), NULL, 'invitation.revoked', 'invitation', i.id,
       NULL, '{"reason": "a leader may not invite leaders"}'
FROM invitations i
WHERE i.role = 'leader' AND i.revoked_at IS NULL AND i.created_by IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM memberships m
      WHERE m.person_id = i.created_by
        AND (m.role = 'taskforce' OR (m.role = 'principal' AND m.school_id = i.school_id))
  );

UPDATE invitations SET revoked_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
WHERE role = 'leader' AND revoked_at IS NULL AND created_by IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM memberships m
      WHERE m.person_id = invitations.created_by
        AND (m.role = 'taskforce' OR (m.role = 'principal' AND m.school_id = invitations.school_id))
  );
