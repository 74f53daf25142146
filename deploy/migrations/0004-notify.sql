-- rg-notify: the WebSocket message contract (docs/notify.md) and replay retention.
--
-- A notification's `type` is render.queued | render.progress | render.done | render.failed
-- and its `state` the run's state as GET renders/{id} shows it (queued|running|done|failed);
-- notifications.kind is the type.  0003 wrote type 'render' with the step name as state:
-- flow_notify is replaced, and rows (and unpublished outbox messages) already written are
-- rewritten to the new shape.

CREATE OR REPLACE FUNCTION flow_notify(p_run workflow_runs, p_state text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n bigint := nextval(pg_get_serial_sequence('notifications', 'id'));
    t text := 'render.' || CASE p_state WHEN 'rendering' THEN 'progress' ELSE p_state END;
    msg jsonb;
BEGIN
    msg := jsonb_strip_nulls(jsonb_build_object(
        'id', n, 'type', t, 'run_id', p_run.id, 'resume_id', p_run.resume_id,
        'state', CASE p_state WHEN 'rendering' THEN 'running' ELSE p_state END,
        'pdf_url', CASE WHEN p_state = 'done' THEN '/api/v1/renders/' || p_run.id || '/pdf' END,
        'error', CASE WHEN p_state = 'failed' THEN p_run.error END,
        'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
    INSERT INTO notifications (id, user_id, kind, payload) VALUES (n, p_run.user_id, t, msg);
    INSERT INTO outbox (exchange, routing_key, message_id, payload, run_id)
        VALUES ('rg.notify', 'user.' || p_run.user_id, 'notify:' || n, msg::text, p_run.id);
END $$;

-- The 0003 shape -> the contract: type from kind, state 'rendering' -> 'running'.
CREATE FUNCTION notify_upgrade_0004(p jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p->>'type' = 'render' THEN
        p || jsonb_build_object(
            'type', 'render.' || CASE p->>'state' WHEN 'rendering' THEN 'progress' ELSE p->>'state' END,
            'state', CASE p->>'state' WHEN 'rendering' THEN 'running' ELSE p->>'state' END)
    ELSE p END
$$;
UPDATE notifications SET payload = notify_upgrade_0004(payload) WHERE payload->>'type' = 'render';
UPDATE notifications SET kind = payload->>'type' WHERE kind <> payload->>'type';
UPDATE outbox SET payload = notify_upgrade_0004(payload::jsonb)::text
 WHERE exchange = 'rg.notify' AND published_at IS NULL;
DROP FUNCTION notify_upgrade_0004(jsonb);

-- Retention: the hubs delete notifications older than their `retention` setting and
-- remember the highest id deleted, so that a client asking for messages after an older
-- id is told to resync instead of getting an incomplete replay.
CREATE INDEX notifications_created ON notifications (created_at);
CREATE TABLE notify_retention (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    pruned_upto bigint NOT NULL DEFAULT 0
);
INSERT INTO notify_retention DEFAULT VALUES;

-- Deletes up to p_limit notifications older than p_keep; returns how many.  Several hubs
-- may run it at once (SKIP LOCKED: they share the work, never wait).
CREATE FUNCTION notify_prune(p_keep interval, p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    top bigint;
    k integer;
BEGIN
    WITH d AS (
        DELETE FROM notifications WHERE id IN (
            SELECT id FROM notifications WHERE created_at < now() - p_keep
             ORDER BY created_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
        RETURNING id)
    SELECT max(id), count(*) INTO top, k FROM d;
    IF k > 0 THEN
        UPDATE notify_retention SET pruned_upto = greatest(pruned_upto, top);
    END IF;
    RETURN k;
END $$;
