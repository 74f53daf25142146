-- rg-notify: a per-user sequence number given out in commit order (docs/notify.md).
--
-- notifications.id comes from a global sequence when the row is written, so two
-- transactions of one user can commit in the opposite order of their ids, and a client
-- that saw the higher id and asked for what came after it never got the lower one.
-- users.notify_seq is incremented in the same transaction as the notification row: the
-- row lock on the user orders that user's notifying transactions, so seq N is committed
-- only after every seq below it has committed (or rolled back, handing its number on).
-- The committed seqs of a user are therefore always 1..users.notify_seq with no hole,
-- except what retention deleted from the bottom.  The WebSocket cursor (since, ready and
-- resync) is this seq.

ALTER TABLE users ADD COLUMN notify_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN seq bigint;

-- Existing rows are numbered per user in id order, and each payload gets its seq.
UPDATE notifications n SET seq = s.rn, payload = n.payload || jsonb_build_object('seq', s.rn)
  FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS rn FROM notifications) s
 WHERE s.id = n.id;
UPDATE users u SET notify_seq = x.m
  FROM (SELECT user_id, max(seq) AS m FROM notifications GROUP BY user_id) x
 WHERE x.user_id = u.id;
-- Messages not yet published carry the seq too (the hub requires it).
UPDATE outbox o SET payload = (o.payload::jsonb || jsonb_build_object('seq', n.seq))::text
  FROM notifications n
 WHERE o.exchange = 'rg.notify' AND o.published_at IS NULL AND o.message_id = 'notify:' || n.id;
ALTER TABLE notifications ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX notifications_user_seq ON notifications (user_id, seq);

CREATE OR REPLACE FUNCTION flow_notify(p_run workflow_runs, p_state text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n bigint := nextval(pg_get_serial_sequence('notifications', 'id'));
    t text := 'render.' || CASE p_state WHEN 'rendering' THEN 'progress' ELSE p_state END;
    q bigint;
    msg jsonb;
BEGIN
    -- Locks the user's row until the commit: the user's next notification waits for it.
    UPDATE users SET notify_seq = notify_seq + 1 WHERE id = p_run.user_id RETURNING notify_seq INTO q;
    msg := jsonb_strip_nulls(jsonb_build_object(
        'id', n, 'seq', q, 'type', t, 'run_id', p_run.id, 'resume_id', p_run.resume_id,
        'state', CASE p_state WHEN 'rendering' THEN 'running' ELSE p_state END,
        'pdf_url', CASE WHEN p_state = 'done' THEN '/api/v1/renders/' || p_run.id || '/pdf' END,
        'error', CASE WHEN p_state = 'failed' THEN p_run.error END,
        'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
    INSERT INTO notifications (id, user_id, seq, kind, payload) VALUES (n, p_run.user_id, q, t, msg);
    INSERT INTO outbox (exchange, routing_key, message_id, payload, run_id)
        VALUES ('rg.notify', 'user.' || p_run.user_id, 'notify:' || n, msg::text, p_run.id);
END $$;

-- The relay's transaction stays open while RabbitMQ confirms its batch.  It must not hold
-- a user's row meanwhile (the user's submits and results would wait for the broker), so
-- flow_dispatched no longer writes the render.progress notifications: it leaves the runs
-- in the transaction-local setting rg.dispatched_first, and the relay calls
-- flow_dispatched_notify() once the batch is confirmed, just before its COMMIT.
CREATE OR REPLACE FUNCTION flow_dispatched(p_ids bigint[], p_owner text, p_timeout_ms integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    o record;
    r workflow_runs;
    n integer := 0;
    first text := coalesce(current_setting('rg.dispatched_first', true), '');
BEGIN
    UPDATE outbox SET published_at = now() WHERE id = ANY(p_ids);
    FOR o IN SELECT * FROM outbox WHERE id = ANY(p_ids) AND exchange IN ('rg.tasks', 'rg.retry') ORDER BY id LOOP
        UPDATE workflow_runs w SET state = 'running', lease_owner = p_owner,
               lease_until = now() + make_interval(secs => (o.expiration_ms + p_timeout_ms) / 1000.0),
               updated_at = now()
         WHERE w.id = o.run_id AND w.attempt = o.attempt AND w.state = 'queued'
        RETURNING * INTO r;
        IF FOUND THEN
            n := n + 1;
            INSERT INTO workflow_history (run_id, attempt, from_state, to_state, event, detail)
                VALUES (r.id, r.attempt, 'queued', 'running', 'dispatched',
                        jsonb_build_object('delay_ms', o.expiration_ms, 'by', p_owner));
            IF r.attempt = 1 THEN
                first := first || CASE WHEN first = '' THEN '' ELSE ',' END || r.id;
            END IF;
        END IF;
    END LOOP;
    PERFORM set_config('rg.dispatched_first', first, true);
    RETURN n;
END $$;

-- Tells the users of the runs flow_dispatched moved to running for the first time in this
-- transaction; in user order, so that two relays never wait for each other's users.
CREATE FUNCTION flow_dispatched_notify() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r workflow_runs;
    n integer := 0;
    first text := coalesce(current_setting('rg.dispatched_first', true), '');
BEGIN
    IF first = '' THEN
        RETURN 0;
    END IF;
    FOR r IN SELECT * FROM workflow_runs
              WHERE id = ANY(string_to_array(first, ',')::uuid[]) ORDER BY user_id, created_at LOOP
        PERFORM flow_notify(r, 'rendering');
        n := n + 1;
    END LOOP;
    PERFORM set_config('rg.dispatched_first', '', true);
    RETURN n;
END $$;
