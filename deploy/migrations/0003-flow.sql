-- rg-flow: durable workflow runs (PDF generation), their history, the transactional
-- outbox relayed to RabbitMQ, user notifications, and the render cache.  See docs/flow.md.
-- The state machine lives in the functions below so that rg-core, rg-flow and the tests
-- change runs the same way, each change in one transaction with its history row.

CREATE TABLE workflow_runs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind            text NOT NULL,                      -- 'render'
    user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    resume_id       uuid REFERENCES resumes(id) ON DELETE CASCADE,
    state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','running','done','failed')),
    step            text NOT NULL DEFAULT 'render',
    attempt         integer NOT NULL DEFAULT 1,         -- the attempt in flight (1-based)
    max_attempts    integer NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    -- json, not jsonb: the resume snapshot keeps its key order (as resumes.data).
    input           json NOT NULL,
    output          jsonb,                              -- {"storage_key","sha256","size"}
    error           jsonb,                              -- {"code","message","retryable"}
    idempotency_key text,
    cache_key       text,                               -- resume:version:theme:paper:locale
    lease_owner     text,                               -- the rg-flow replica that dispatched it
    lease_until     timestamptz,                        -- step deadline: past it, re-dispatch
    next_attempt_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX workflow_runs_lease ON workflow_runs (lease_until) WHERE state IN ('queued','running');
CREATE INDEX workflow_runs_resume ON workflow_runs (resume_id, created_at DESC, id DESC);

CREATE TABLE workflow_history (
    id         bigserial PRIMARY KEY,
    run_id     uuid NOT NULL REFERENCES workflow_runs(id) ON DELETE CASCADE,
    attempt    integer NOT NULL,
    from_state text,
    to_state   text NOT NULL,
    event      text NOT NULL,   -- submitted, cached, dispatched, done, retry, failed, timeout
    detail     jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_history_run ON workflow_history (run_id, id);

CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    exchange      text NOT NULL,
    routing_key   text NOT NULL,
    message_id    text NOT NULL UNIQUE,
    payload       text NOT NULL,          -- exact JSON bytes to publish
    run_id        uuid,
    attempt       integer NOT NULL DEFAULT 1,
    expiration_ms integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

CREATE TABLE notifications (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       text NOT NULL,          -- render.queued|render.rendering|render.done|render.failed
    payload    jsonb NOT NULL,         -- the WebSocket message (DESIGN.md)
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_user ON notifications (user_id, id);

-- A finished render of one resume version in one theme/paper/locale: a repeat request
-- finishes from it at once, without rendering.
CREATE TABLE render_cache (
    cache_key  text PRIMARY KEY,
    output     jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Writes the notification row for a state the user should see and, in the same
-- transaction, its outbox row for rg.notify (topic key user.<id>).
CREATE FUNCTION flow_notify(p_run workflow_runs, p_state text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n bigint := nextval(pg_get_serial_sequence('notifications', 'id'));
    msg jsonb;
BEGIN
    msg := jsonb_strip_nulls(jsonb_build_object(
        'id', n, 'type', 'render', 'run_id', p_run.id, 'resume_id', p_run.resume_id,
        'state', p_state,
        'pdf_url', CASE WHEN p_state = 'done' THEN '/api/v1/renders/' || p_run.id || '/pdf' END,
        'error', CASE WHEN p_state = 'failed' THEN p_run.error END,
        'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
    INSERT INTO notifications (id, user_id, kind, payload) VALUES (n, p_run.user_id, 'render.' || p_state, msg);
    INSERT INTO outbox (exchange, routing_key, message_id, payload, run_id)
        VALUES ('rg.notify', 'user.' || p_run.user_id, 'notify:' || n, msg::text, p_run.id);
END $$;

-- Creates a render run (or returns the one with the same idempotency key).  A cached
-- render of the same version/theme/paper/locale finishes the run at once.
CREATE FUNCTION flow_render_submit(p_user bigint, p_resume uuid, p_version integer, p_theme text,
                                   p_paper text, p_locale text, p_idem text, p_max_attempts integer)
RETURNS TABLE (run_id uuid, run_state text, created boolean)
LANGUAGE plpgsql AS $$
DECLARE
    r workflow_runs;
    v resume_versions;
    ck text;
    cached jsonb;
    inp json;
BEGIN
    IF p_idem IS NOT NULL THEN
        SELECT * INTO r FROM workflow_runs w WHERE w.user_id = p_user AND w.idempotency_key = p_idem;
        IF FOUND THEN
            RETURN QUERY SELECT r.id, r.state, false;
            RETURN;
        END IF;
    END IF;
    SELECT * INTO v FROM resume_versions rv WHERE rv.resume_id = p_resume AND rv.version = p_version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'resume % has no version %', p_resume, p_version USING ERRCODE = 'no_data_found';
    END IF;
    ck := p_resume || ':' || p_version || ':' || p_theme || ':' || lower(p_paper) || ':' || p_locale;
    -- source_date is the version's creation time: the same version always gives the
    -- same PDF bytes, so the content address deduplicates.
    inp := json_build_object('resume_id', p_resume, 'version', p_version, 'theme', p_theme,
                             'paper', p_paper, 'locale', p_locale,
                             'source_date', floor(extract(epoch FROM v.created_at))::bigint,
                             'resume', v.data);
    SELECT c.output INTO cached FROM render_cache c WHERE c.cache_key = ck;
    INSERT INTO workflow_runs AS w (kind, user_id, resume_id, state, attempt, max_attempts, input,
                                    output, idempotency_key, cache_key)
        VALUES ('render', p_user, p_resume, CASE WHEN cached IS NULL THEN 'queued' ELSE 'done' END,
                1, greatest(p_max_attempts, 1), inp, cached, p_idem, ck)
        ON CONFLICT (user_id, idempotency_key) DO NOTHING
        RETURNING * INTO r;
    IF NOT FOUND THEN -- a concurrent request with the same key won
        SELECT * INTO r FROM workflow_runs w WHERE w.user_id = p_user AND w.idempotency_key = p_idem;
        RETURN QUERY SELECT r.id, r.state, false;
        RETURN;
    END IF;
    IF cached IS NOT NULL THEN
        INSERT INTO workflow_history (run_id, attempt, from_state, to_state, event, detail)
            VALUES (r.id, 1, NULL, 'done', 'cached', cached);
        PERFORM flow_notify(r, 'done');
    ELSE
        INSERT INTO workflow_history (run_id, attempt, from_state, to_state, event)
            VALUES (r.id, 1, NULL, 'queued', 'submitted');
        PERFORM flow_notify(r, 'queued');
        INSERT INTO outbox (exchange, routing_key, message_id, payload, run_id, attempt)
            VALUES ('rg.tasks', 'render', r.id || ':1',
                    json_build_object('run_id', r.id, 'kind', 'render', 'attempt', 1, 'input', inp)::text,
                    r.id, 1);
    END IF;
    PERFORM pg_notify('rg_outbox', '');
    RETURN QUERY SELECT r.id, r.state, true;
END $$;

-- The relay published outbox rows ids: task messages move their runs to 'running' with
-- a step deadline (the retry delay + p_timeout_ms); the first dispatch tells the user.
CREATE FUNCTION flow_dispatched(p_ids bigint[], p_owner text, p_timeout_ms integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    o record;
    r workflow_runs;
    n integer := 0;
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
                PERFORM flow_notify(r, 'rendering');
            END IF;
        END IF;
    END LOOP;
    RETURN n;
END $$;

-- Schedules attempt+1 after a jittered exponential delay: tier = min(base * 2^(attempt-1),
-- max_tier) picks the retry queue rg.retry.<tier>; the message's own expiration is the
-- tier * [0.8, 1.2) (the queue's TTL, 5/4 of the tier, only bounds it).
CREATE FUNCTION flow_retry(p_run workflow_runs, p_error jsonb, p_base_ms integer, p_max_tier_ms integer,
                           p_timeout_ms integer, p_event text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    tier bigint := least(p_base_ms::bigint << least(p_run.attempt - 1, 30), p_max_tier_ms::bigint);
    delay integer := greatest(1, round(tier * (0.8 + random() * 0.4)))::integer;
    r workflow_runs;
BEGIN
    UPDATE workflow_runs w SET attempt = w.attempt + 1, state = 'queued', error = p_error,
           next_attempt_at = now() + make_interval(secs => delay / 1000.0),
           lease_until = now() + make_interval(secs => (delay + p_timeout_ms) / 1000.0),
           lease_owner = NULL, updated_at = now()
     WHERE w.id = p_run.id RETURNING * INTO r;
    INSERT INTO workflow_history (run_id, attempt, from_state, to_state, event, detail)
        VALUES (r.id, r.attempt, p_run.state, 'queued', p_event,
                jsonb_build_object('delay_ms', delay, 'tier_ms', tier, 'error', p_error));
    INSERT INTO outbox (exchange, routing_key, message_id, payload, run_id, attempt, expiration_ms)
        VALUES ('rg.retry', tier::text, r.id || ':' || r.attempt,
                json_build_object('run_id', r.id, 'kind', r.kind, 'attempt', r.attempt, 'input', r.input)::text,
                r.id, r.attempt, delay);
    PERFORM pg_notify('rg_outbox', '');
END $$;

CREATE FUNCTION flow_fail(p_run workflow_runs, p_error jsonb, p_event text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r workflow_runs;
BEGIN
    UPDATE workflow_runs w SET state = 'failed', error = p_error, lease_owner = NULL, lease_until = NULL,
           next_attempt_at = NULL, updated_at = now()
     WHERE w.id = p_run.id RETURNING * INTO r;
    INSERT INTO workflow_history (run_id, attempt, from_state, to_state, event, detail)
        VALUES (r.id, r.attempt, p_run.state, 'failed', p_event, p_error);
    PERFORM flow_notify(r, 'failed');
    PERFORM pg_notify('rg_outbox', '');
END $$;

-- Applies one result message.  Returns what happened: done, retry, failed, duplicate
-- (the run already ended), stale (a failure of a superseded attempt), unknown (no run).
-- A success of any attempt finishes a run that has not ended: the PDF is as good.
CREATE FUNCTION flow_apply_result(p_run uuid, p_attempt integer, p_ok boolean, p_output jsonb,
                                  p_error jsonb, p_base_ms integer, p_max_tier_ms integer,
                                  p_timeout_ms integer) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r workflow_runs;
    d workflow_runs;
BEGIN
    SELECT * INTO r FROM workflow_runs WHERE id = p_run FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'unknown';
    END IF;
    IF r.state IN ('done', 'failed') THEN
        RETURN 'duplicate';
    END IF;
    IF p_ok THEN
        UPDATE workflow_runs w SET state = 'done', output = p_output, error = NULL, lease_owner = NULL,
               lease_until = NULL, next_attempt_at = NULL, updated_at = now()
         WHERE w.id = r.id RETURNING * INTO d;
        INSERT INTO workflow_history (run_id, attempt, from_state, to_state, event, detail)
            VALUES (r.id, p_attempt, r.state, 'done', 'done', p_output);
        IF r.cache_key IS NOT NULL THEN
            INSERT INTO render_cache (cache_key, output) VALUES (r.cache_key, p_output)
                ON CONFLICT (cache_key) DO NOTHING;
        END IF;
        PERFORM flow_notify(d, 'done');
        PERFORM pg_notify('rg_outbox', '');
        RETURN 'done';
    END IF;
    IF p_attempt <> r.attempt THEN
        RETURN 'stale';
    END IF;
    IF coalesce((p_error->>'retryable')::boolean, false) = false THEN
        PERFORM flow_fail(r, p_error, 'failed');
        RETURN 'failed';
    END IF;
    IF r.attempt >= r.max_attempts THEN
        PERFORM flow_fail(r, jsonb_set(p_error, '{message}', to_jsonb(format('%s (gave up after %s attempts)',
                          p_error->>'message', r.attempt))), 'failed');
        RETURN 'failed';
    END IF;
    PERFORM flow_retry(r, p_error, p_base_ms, p_max_tier_ms, p_timeout_ms, 'retry');
    RETURN 'retry';
END $$;

-- Re-dispatches runs whose step outlived its deadline (a lost task, a worker that hung):
-- each counts as a failed attempt.  SKIP LOCKED: replicas share the work, never wait.
CREATE FUNCTION flow_reap(p_limit integer, p_base_ms integer, p_max_tier_ms integer,
                          p_timeout_ms integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r workflow_runs;
    n integer := 0;
    err jsonb;
BEGIN
    FOR r IN SELECT * FROM workflow_runs WHERE state IN ('queued', 'running') AND lease_until < now()
             ORDER BY lease_until LIMIT p_limit FOR UPDATE SKIP LOCKED LOOP
        n := n + 1;
        err := jsonb_build_object('code', 'timeout', 'retryable', true,
                                  'message', format('attempt %s did not finish in time', r.attempt));
        IF r.attempt >= r.max_attempts THEN
            PERFORM flow_fail(r, jsonb_build_object('code', 'timeout', 'retryable', false,
                'message', format('rendering did not finish in time (gave up after %s attempts)', r.attempt)),
                'timeout');
        ELSE
            PERFORM flow_retry(r, err, p_base_ms, p_max_tier_ms, p_timeout_ms, 'timeout');
        END IF;
    END LOOP;
    RETURN n;
END $$;
