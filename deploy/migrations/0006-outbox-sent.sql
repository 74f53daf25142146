-- The outbox keeps only what is still to be sent.
--
-- A published row used to stay in the table, marked published_at, for ever: three rows
-- per render (the task and two notifications) that nothing read again.  Worse, the
-- relay's statements on the table run inside flow_dispatched, whose plans PL/pgSQL
-- caches for the session: planned while the table was small, `id = ANY(p_ids)` became a
-- sequential scan that then read every row ever sent, on every batch (0.5 ms per batch
-- after 3,000 renders, and growing without end).  Now the relay deletes the rows of a
-- batch in the transaction that publishes it: a crash before the commit brings them back,
-- to be sent again, exactly as the old mark did.  published_at stays for older readers;
-- it is always NULL now.
DELETE FROM outbox WHERE published_at IS NOT NULL;

CREATE OR REPLACE FUNCTION flow_dispatched(p_ids bigint[], p_owner text, p_timeout_ms integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    o record;
    r workflow_runs;
    n integer := 0;
    first text := coalesce(current_setting('rg.dispatched_first', true), '');
BEGIN
    FOR o IN WITH sent AS (DELETE FROM outbox WHERE id = ANY(p_ids) RETURNING *)
             SELECT * FROM sent WHERE exchange IN ('rg.tasks', 'rg.retry') ORDER BY id LOOP
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

-- rg-flow's gauges count failed runs every 2 s: through this index, a count of the failed
-- runs only, not a read of every run ever made.
CREATE INDEX workflow_runs_failed ON workflow_runs (id) WHERE state = 'failed';
