/* The WebSocket side of rg-notify: protocol resumego.v1 on the libwebsockets service
 * thread.  Everything in this file runs on that thread, so the session tables need no
 * lock; the other threads reach it only through the hub's queues (notify.h).
 *
 * A session (struct sess, lws's per-session memory) goes through
 *   WAIT_AUTH  no credentials yet (waiting for an auth message, auth_timeout)
 *   AUTHING    a session look-up is out at the store thread
 *   REPLAYING  subscribed (in the user's list, so live messages arrive) but live messages
 *              are held back while PostgreSQL is read for what came after `since`
 *   LIVE       live messages go straight to its queue
 * and back to REPLAYING when the broker connection was re-made (catch-up: anything
 * published while the hub had no queue comes from PostgreSQL; see notify-broker.c).
 *
 * Cursor: `cursor` is the user's notification seq up to which the socket has everything
 * (its since, then each seq queued).  A user's seqs are committed without a hole
 * (0005-notify-seq.sql), so a live message with seq <= cursor is a duplicate and dropped,
 * seq = cursor + 1 is queued, and a larger seq means something committed before it has not
 * reached this hub yet (another transaction's message still on its way, or lost with a
 * broker connection): the message is held and the gap read from PostgreSQL first (a
 * catch-up replay, the socket REPLAYING meanwhile).  Every socket thus gets each seq once,
 * in order.
 *
 * Output: each session has a queue of shared, refcounted messages.  One lws_write per
 * SERVER_WRITEABLE; more pending asks for another.  A queue past queue_max/queue_bytes
 * means a client that does not read: its queue is dropped and it is closed with 1008.
 * lws frees the session memory after CLOSED, where it leaves both tables. */
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "rg/digest.h"
#include "rg/httpd.h"
#include "rg/log.h"
#include "rg/mem.h"

enum { S_WAIT_AUTH, S_AUTHING, S_REPLAYING, S_LIVE };


struct ring {
    struct notify_msg **v;
    uint32_t head, len, cap;
    size_t bytes;
};

struct user;

struct sess {
    struct lws *wsi;
    uint64_t sid;
    int64_t uid;
    int state;
    int close_code; /* non-zero: closing with it at the next WRITEABLE */
    const char *close_reason;
    int need_catchup;
    int ping_due;              /* a WebSocket ping goes out at the next WRITEABLE */
    int64_t last_rx, ping_at;  /* monotonic ms: last frame or pong from the peer, last ping */
    int64_t since_req; /* -1: live only */
    int64_t cursor;
    struct ring q, held;
    char hash[65];
    char *rx;
    size_t rxlen;
    struct sess *user_next, *sid_next;
    struct user *user;
};

struct user {
    int64_t uid;
    struct sess *head;
    int n;
    struct user *next;
};

static struct notify_hub *hub;
static const struct notify_config *cfg;
static struct notify_stats *st;
static uint64_t next_sid, seen_gen;
static int nopen;
static struct sess **sid_tab;
static size_t sid_cap, sid_count;
static struct user **user_tab;
static size_t user_cap, user_count;
static lws_sorted_usec_list_t recheck_sul, idle_sul;

#define IDLE_SCAN_MS 250
#define PINGS_PER_SCAN 2500 /* at most 10,000 pings a second, spread over the scans */

/* ---- tables ---------------------------------------------------------------------------- */

static size_t slot(uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

static void sid_insert(struct sess *s)
{
    if (sid_count + 1 > sid_cap) {
        size_t ncap = sid_cap ? sid_cap * 2 : 1024;
        struct sess **nt = rg_calloc(ncap, sizeof *nt);
        for (size_t i = 0; i < sid_cap; i++)
            for (struct sess *e = sid_tab[i], *nx; e; e = nx) {
                nx = e->sid_next;
                size_t b = slot(e->sid, ncap);
                e->sid_next = nt[b];
                nt[b] = e;
            }
        rg_free(sid_tab);
        sid_tab = nt;
        sid_cap = ncap;
    }
    size_t b = slot(s->sid, sid_cap);
    s->sid_next = sid_tab[b];
    sid_tab[b] = s;
    sid_count++;
}

static struct sess *sid_find(uint64_t sid)
{
    if (!sid_cap)
        return NULL;
    for (struct sess *e = sid_tab[slot(sid, sid_cap)]; e; e = e->sid_next)
        if (e->sid == sid)
            return e;
    return NULL;
}

static void sid_remove(struct sess *s)
{
    if (!sid_cap)
        return;
    for (struct sess **p = &sid_tab[slot(s->sid, sid_cap)]; *p; p = &(*p)->sid_next)
        if (*p == s) {
            *p = s->sid_next;
            sid_count--;
            return;
        }
}

static struct user *user_find(int64_t uid)
{
    if (!user_cap)
        return NULL;
    for (struct user *u = user_tab[slot((uint64_t)uid, user_cap)]; u; u = u->next)
        if (u->uid == uid)
            return u;
    return NULL;
}

static struct user *user_get(int64_t uid)
{
    struct user *u = user_find(uid);
    if (u)
        return u;
    if (user_count + 1 > user_cap) {
        size_t ncap = user_cap ? user_cap * 2 : 1024;
        struct user **nt = rg_calloc(ncap, sizeof *nt);
        for (size_t i = 0; i < user_cap; i++)
            for (struct user *e = user_tab[i], *nx; e; e = nx) {
                nx = e->next;
                size_t b = slot((uint64_t)e->uid, ncap);
                e->next = nt[b];
                nt[b] = e;
            }
        rg_free(user_tab);
        user_tab = nt;
        user_cap = ncap;
    }
    u = rg_calloc(1, sizeof *u);
    u->uid = uid;
    size_t b = slot((uint64_t)uid, user_cap);
    u->next = user_tab[b];
    user_tab[b] = u;
    user_count++;
    return u;
}

static void user_leave(struct sess *s)
{
    struct user *u = s->user;
    if (!u)
        return;
    for (struct sess **p = &u->head; *p; p = &(*p)->user_next)
        if (*p == s) {
            *p = s->user_next;
            u->n--;
            break;
        }
    s->user = NULL;
    if (u->n > 0)
        return;
    for (struct user **p = &user_tab[slot((uint64_t)u->uid, user_cap)]; *p; p = &(*p)->next)
        if (*p == u) {
            *p = u->next;
            user_count--;
            break;
        }
    rg_free(u);
}

/* ---- queues ---------------------------------------------------------------------------- */

static void ring_push(struct ring *r, struct notify_msg *m)
{
    if (r->len == r->cap) {
        uint32_t ncap = r->cap ? r->cap * 2 : 4;
        struct notify_msg **nv = rg_malloc(ncap * sizeof *nv);
        for (uint32_t i = 0; i < r->len; i++)
            nv[i] = r->v[(r->head + i) % r->cap];
        rg_free(r->v);
        r->v = nv;
        r->head = 0;
        r->cap = ncap;
    }
    r->v[(r->head + r->len) % r->cap] = m;
    r->len++;
    r->bytes += m->len;
    m->refs++;
}

/* The caller owns the reference it returns. */
static struct notify_msg *ring_pop(struct ring *r)
{
    if (!r->len)
        return NULL;
    struct notify_msg *m = r->v[r->head];
    r->head = (r->head + 1) % r->cap;
    r->len--;
    r->bytes -= m->len;
    if (!r->len) {
        /* An idle socket keeps no queue memory. */
        r->v = rg_free(r->v);
        r->cap = r->head = 0;
    }
    return m;
}

static void ring_clear(struct ring *r)
{
    struct notify_msg *m;
    while ((m = ring_pop(r)))
        notify_msg_unref(m);
}

static struct notify_msg *ctl_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct notify_msg *ctl_msg(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    RG_ASSERT(n > 0 && (size_t)n < sizeof buf);
    return notify_msg_new(buf, (size_t)n, 0, 0);
}

/* ---- sessions -------------------------------------------------------------------------- */

/* Closes s with code at its next WRITEABLE; a socket that never becomes writable again
 * (a client that stopped reading) is cut after close_grace. */
static void sess_close(struct sess *s, int code, const char *reason)
{
    if (s->close_code)
        return;
    s->close_code = code;
    s->close_reason = reason;
    ring_clear(&s->q);
    ring_clear(&s->held);
    lws_callback_on_writable(s->wsi);
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, (int)(cfg->close_grace / 1000));
}

static void slow_close(struct sess *s)
{
    NOTIFY_ADD(st, slow_closes, 1);
    RG_LOG(RG_LOG_INFO, RG_EVENT("notify.slow_client"), RG_KV_I64("user_id", s->uid),
           RG_KV_I64("queued", s->q.len + s->held.len),
           RG_KV_I64("bytes", (int64_t)(s->q.bytes + s->held.bytes)));
    sess_close(s, 1008, "not reading fast enough");
}

/* Queues m for s.  bounded: live traffic, subject to queue_max/queue_bytes. */
static void sess_push(struct sess *s, struct notify_msg *m, int bounded)
{
    if (s->close_code)
        return;
    if (bounded && ((int64_t)s->q.len >= cfg->queue_max ||
                    (int64_t)(s->q.bytes + m->len) > cfg->queue_bytes)) {
        slow_close(s);
        return;
    }
    ring_push(&s->q, m);
    if (m->seq > s->cursor)
        s->cursor = m->seq;
    lws_callback_on_writable(s->wsi);
}

/* Queues a new protocol message (refs 0): freed here if it could not be queued. */
static void push_ctl(struct sess *s, struct notify_msg *m, int bounded)
{
    m->refs++;
    sess_push(s, m, bounded);
    notify_msg_unref(m);
}

static void submit_replay(struct sess *s, int64_t since, int catchup);

static int hold(struct sess *s, struct notify_msg *m)
{
    if ((int64_t)s->held.len >= cfg->queue_max ||
        (int64_t)(s->held.bytes + m->len) > cfg->queue_bytes) {
        slow_close(s);
        return -1;
    }
    ring_push(&s->held, m);
    return 0;
}

static void sess_live(struct sess *s, struct notify_msg *m)
{
    if (s->close_code)
        return;
    if (s->state == S_REPLAYING) {
        (void)hold(s, m);
        return;
    }
    if (m->seq <= s->cursor) {
        NOTIFY_ADD(st, msgs_duplicate, 1);
        return;
    }
    if (m->seq == s->cursor + 1) {
        sess_push(s, m, 1);
        return;
    }
    /* A gap: what lies between is committed (seq order is commit order); read it first. */
    NOTIFY_ADD(st, gap_fills, 1);
    if (hold(s, m) == 0)
        submit_replay(s, s->cursor, 1);
}

static void submit_replay(struct sess *s, int64_t since, int catchup)
{
    struct notify_job *j = rg_calloc(1, sizeof *j);
    j->kind = NOTIFY_JOB_REPLAY;
    j->sid = s->sid;
    j->uid = s->uid;
    j->since = since;
    j->catchup = catchup;
    s->state = S_REPLAYING;
    s->need_catchup = 0;
    notify_job_submit(hub, j);
}

static int cmp_seq(const void *a, const void *b)
{
    int64_t x = (*(struct notify_msg *const *)a)->seq, y = (*(struct notify_msg *const *)b)->seq;
    return x < y ? -1 : x > y;
}

static void on_replay(struct sess *s, struct notify_job *j)
{
    char at[40];
    int replayed = 0;

    if (j->err < 0) {
        sess_close(s, 1011, "notifications unavailable, reconnect later");
        return;
    }
    if (!j->catchup)
        NOTIFY_ADD(st, replays, j->since >= 0);
    notify_now_rfc3339(at, sizeof at);
    if (j->resync) {
        NOTIFY_ADD(st, resyncs, 1);
        struct notify_msg *m =
            ctl_msg("{\"type\":\"resync\",\"reason\":\"%s\",\"last_seq\":%" PRId64 ",\"at\":\"%s\"}",
                    j->resync, j->last_seq, at);
        push_ctl(s, m, 0);
        if (j->last_seq > s->cursor)
            s->cursor = j->last_seq;
    } else {
        if (j->since < 0) {
            if (j->last_seq > s->cursor)
                s->cursor = j->last_seq; /* live only: the socket starts at the user's newest */
        } else if (j->since > s->cursor) {
            s->cursor = j->since;
        }
        for (struct notify_msg *m = j->rows; m; m = m->next) {
            if (m->seq <= s->cursor)
                continue;
            sess_push(s, m, 0);
            replayed++;
        }
        NOTIFY_ADD(st, replayed, (uint64_t)replayed);
    }
    /* Live messages that arrived meanwhile, in seq order: those already sent are dropped,
     * those that follow on are queued; past another gap they wait for one more catch-up. */
    size_t n = s->held.len, k = 0;
    struct notify_msg **v = n ? rg_malloc(n * sizeof *v) : NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = ring_pop(&s->held);
    qsort(v, n, sizeof *v, cmp_seq);
    for (; k < n && !s->close_code; k++) {
        if (v[k]->seq <= s->cursor)
            NOTIFY_ADD(st, msgs_duplicate, 1);
        else if (v[k]->seq == s->cursor + 1)
            sess_push(s, v[k], 1);
        else
            break;
        notify_msg_unref(v[k]);
    }
    int gap = k < n && !s->close_code;
    for (; k < n; k++) {
        if (gap)
            ring_push(&s->held, v[k]);
        notify_msg_unref(v[k]);
    }
    rg_free(v);
    if (s->close_code)
        return;
    if (!j->catchup) {
        struct notify_msg *r = ctl_msg("{\"type\":\"ready\",\"user_id\":%" PRId64
                                       ",\"last_seq\":%" PRId64 ",\"replayed\":%d,\"at\":\"%s\"}",
                                       s->uid, s->cursor, replayed, at);
        push_ctl(s, r, 0);
    }
    s->state = S_LIVE;
    if (gap || s->need_catchup)
        submit_replay(s, s->cursor, 1);
}

static void on_auth(struct sess *s, struct notify_job *j)
{
    if (j->kind == NOTIFY_JOB_RECHECK) {
        /* A backend failure proves nothing: keep the socket until a look-up says no. */
        if (j->err == 0 && j->uid != s->uid) {
            RG_LOG(RG_LOG_INFO, RG_EVENT("notify.session_ended"), RG_KV_I64("user_id", s->uid));
            sess_close(s, 4401, "session ended");
        }
        return;
    }
    if (j->err < 0) {
        sess_close(s, 1011, "sessions unavailable, reconnect later");
        return;
    }
    if (j->uid <= 0) {
        NOTIFY_ADD(st, auth_failures, 1);
        sess_close(s, 4401, "invalid or expired session");
        return;
    }
    struct user *u = user_get(j->uid);
    if (u->n >= cfg->max_per_user) {
        NOTIFY_ADD(st, rejected_user, 1);
        sess_close(s, 4429, "too many connections for this user");
        return;
    }
    s->uid = j->uid;
    s->user = u;
    s->user_next = u->head;
    u->head = s;
    u->n++;
    memcpy(s->hash, j->hash, sizeof s->hash);
    lws_set_timer_usecs(s->wsi, LWS_SET_TIMER_USEC_CANCEL);
    NOTIFY_ADD(st, authenticated, 1);
    /* Subscribed first (the user's list above), then the replay: nothing falls between. */
    submit_replay(s, s->since_req, 0);
}

static int token_ok(const char *t, size_t n)
{
    if (n != NOTIFY_TOKEN_CHARS)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* Starts the session look-up; 0, or a close code for a malformed token. */
static int start_auth(struct sess *s, const char *token, size_t n)
{
    if (!token_ok(token, n)) {
        NOTIFY_ADD(st, auth_failures, 1);
        return 4401;
    }
    struct notify_job *j = rg_calloc(1, sizeof *j);
    j->kind = NOTIFY_JOB_AUTH;
    j->sid = s->sid;
    rg_sha256_hex(token, n, j->hash);
    s->state = S_AUTHING;
    notify_job_submit(hub, j);
    return 0;
}

/* "123" -> 123; -1 when it is not a plain non-negative integer. */
static int64_t parse_since(const char *v)
{
    if (!*v || strlen(v) > 18)
        return -1;
    for (const char *p = v; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    return strtoll(v, NULL, 10);
}

static void sess_open(struct lws *wsi, struct sess *s)
{
    char buf[512];
    const char *v;

    memset(s, 0, sizeof *s);
    s->wsi = wsi;
    s->sid = ++next_sid;
    s->since_req = -1;
    s->last_rx = notify_now_us() / 1000;
    sid_insert(s);
    nopen++;
    NOTIFY_SET(st, connections, (uint64_t)nopen);
    NOTIFY_ADD(st, connections_total, 1);
    lws_set_timer_usecs(wsi, cfg->auth_timeout * 1000);
    if (nopen > cfg->max_connections) {
        NOTIFY_ADD(st, rejected_full, 1);
        sess_close(s, 1013, "too many connections, try again later");
        return;
    }
    if ((v = lws_get_urlarg_by_name(wsi, "since=", buf, sizeof buf))) {
        s->since_req = parse_since(v);
        if (s->since_req < 0) {
            NOTIFY_ADD(st, protocol_closes, 1);
            sess_close(s, 4400, "since must be a non-negative integer");
            return;
        }
    }
    /* Explicit credentials first (query, Authorization), then the browser's cookie. */
    const char *tok = NULL;
    if ((v = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf))) {
        tok = v;
    } else if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
               !strncasecmp(buf, "Bearer ", 7)) {
        tok = buf + 7;
        while (*tok == ' ')
            tok++;
    } else {
        size_t max = sizeof buf;
        if (lws_http_cookie_get(wsi, NOTIFY_COOKIE, buf, &max) == 0)
            tok = buf;
    }
    if (tok) {
        int code = start_auth(s, tok, strlen(tok));
        if (code)
            sess_close(s, code, "invalid or expired session");
    }
}

static void sess_closed(struct sess *s)
{
    if (!s->wsi)
        return; /* never established */
    user_leave(s);
    sid_remove(s);
    ring_clear(&s->q);
    ring_clear(&s->held);
    s->rx = rg_free(s->rx);
    s->wsi = NULL;
    nopen--;
    NOTIFY_SET(st, connections, (uint64_t)nopen);
}

/* One whole client message.  Returns 0, or a close code (with *reason).  Before the
 * socket is authenticated only an auth message is accepted: anything else (a ping,
 * garbage) closes with 4401. */
static int sess_message(struct sess *s, const char *text, size_t len, const char **reason)
{
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    const char *type = json_is_object(doc) ? json_string_value(json_object_get(doc, "type")) : NULL;
    int authed = s->state != S_WAIT_AUTH && s->state != S_AUTHING;
    int code = 0;

    *reason = "malformed message";
    if (type && !strcmp(type, "auth")) {
        if (s->state == S_WAIT_AUTH) {
            json_t *tok = json_object_get(doc, "token"), *since = json_object_get(doc, "since");
            if (!json_is_string(tok)) {
                code = 4401;
                *reason = "auth needs a token";
            } else if (since && !json_is_null(since) &&
                       !(json_is_integer(since) && json_integer_value(since) >= 0)) {
                code = 4400;
                *reason = "since must be a non-negative integer";
            } else {
                if (json_is_integer(since))
                    s->since_req = json_integer_value(since);
                code = start_auth(s, json_string_value(tok), json_string_length(tok));
                *reason = "invalid or expired session";
            }
        }
    } else if (!authed) {
        code = 4401;
        *reason = "authenticate first";
    } else if (!type) {
        code = 4400;
    } else if (!strcmp(type, "ping")) {
        char at[40];
        notify_now_rfc3339(at, sizeof at);
        push_ctl(s, ctl_msg("{\"type\":\"pong\",\"at\":\"%s\"}", at), 1);
    } else {
        code = 4400;
        *reason = "unknown message type";
    }
    json_decref(doc);
    if (code == 4400)
        NOTIFY_ADD(st, protocol_closes, 1);
    return code;
}

static int close_now(struct lws *wsi, int code, const char *reason)
{
    lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)reason, strlen(reason));
    return -1;
}

/* A close decided while receiving goes out at the next WRITEABLE, and what the client
 * still sends meanwhile is read and dropped: closing the socket with unread input would
 * reset the connection and lose the close frame. */
static int rx_close(struct sess *s, int code, const char *reason)
{
    s->rx = rg_free(s->rx);
    s->rxlen = 0;
    sess_close(s, code, reason);
    return 0;
}

static int sess_rx(struct lws *wsi, struct sess *s, const char *in, size_t len)
{
    const char *reason;
    int code;

    if (s->close_code)
        return 0;
    if (lws_frame_is_binary(wsi)) {
        NOTIFY_ADD(st, protocol_closes, 1);
        return rx_close(s, 1003, "binary frames are not accepted");
    }
    size_t rest = lws_remaining_packet_payload(wsi);
    int final = lws_is_final_fragment(wsi) && rest == 0;
    if ((int64_t)(s->rxlen + len + rest) > cfg->max_message) {
        NOTIFY_ADD(st, oversize_closes, 1);
        return rx_close(s, 1009, "message too big");
    }
    if (final && !s->rxlen) {
        code = sess_message(s, in, len, &reason);
    } else {
        s->rx = rg_realloc(s->rx, s->rxlen + len + 1);
        memcpy(s->rx + s->rxlen, in, len);
        s->rxlen += len;
        if (!final)
            return 0;
        code = sess_message(s, s->rx, s->rxlen, &reason);
        s->rx = rg_free(s->rx);
        s->rxlen = 0;
    }
    return code ? rx_close(s, code, reason) : 0;
}

static int sess_write(struct lws *wsi, struct sess *s)
{
    /* A ping with a payload: libwebsockets' own client does not answer empty ones. */
    unsigned char ping[LWS_PRE + 4];
    if (s->close_code)
        return close_now(wsi, s->close_code, s->close_reason);
    if (s->ping_due) {
        s->ping_due = 0;
        memcpy(ping + LWS_PRE, "ping", 4);
        if (lws_write(wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 4)
            return -1;
        if (s->q.len)
            lws_callback_on_writable(wsi);
        return 0;
    }
    struct notify_msg *m = ring_pop(&s->q);
    if (!m)
        return 0;
    int n = lws_write(wsi, notify_msg_text(m), m->len, LWS_WRITE_TEXT);
    if (n < (int)m->len) {
        notify_msg_unref(m);
        return -1;
    }
    if (m->id > 0)
        NOTIFY_ADD(st, msgs_out, 1);
    if (m->t_recv_us)
        rg_hist_observe(&st->latency, notify_now_us() - m->t_recv_us);
    notify_msg_unref(m);
    if (s->q.len)
        lws_callback_on_writable(wsi);
    return 0;
}

/* ---- the other threads' queues --------------------------------------------------------- */

static void catch_up_all(void)
{
    for (size_t i = 0; i < sid_cap; i++)
        for (struct sess *s = sid_tab[i]; s; s = s->sid_next) {
            if (s->close_code)
                continue;
            if (s->state == S_LIVE)
                submit_replay(s, s->cursor, 1);
            else if (s->state == S_REPLAYING)
                s->need_catchup = 1;
        }
}

static void drain(void)
{
    struct notify_msg *in;
    struct notify_job *ans;
    uint64_t gen;

    pthread_mutex_lock(&hub->mu);
    in = hub->inbox;
    hub->inbox = NULL;
    hub->inbox_tail = &hub->inbox;
    ans = hub->answers;
    hub->answers = NULL;
    hub->answers_tail = &hub->answers;
    gen = hub->broker_gen;
    pthread_mutex_unlock(&hub->mu);

    if (gen != seen_gen) {
        seen_gen = gen;
        catch_up_all();
    }
    while (ans) {
        struct notify_job *j = ans;
        ans = j->next;
        struct sess *s = sid_find(j->sid);
        for (struct notify_msg *m = j->rows; m; m = m->next)
            m->refs++; /* the job's own reference, dropped below */
        if (s && !s->close_code) {
            if (j->kind == NOTIFY_JOB_REPLAY)
                on_replay(s, j);
            else
                on_auth(s, j);
        }
        while (j->rows) {
            struct notify_msg *m = j->rows;
            j->rows = m->next;
            notify_msg_unref(m);
        }
        rg_free(j);
    }
    while (in) {
        struct notify_msg *m = in;
        in = m->next;
        struct user *u = user_find(m->uid);
        m->refs++; /* held across the fan-out */
        if (!u)
            NOTIFY_ADD(st, msgs_unrouted, 1);
        for (struct sess *s = u ? u->head : NULL, *nx; s; s = nx) {
            nx = s->user_next;
            sess_live(s, m);
        }
        notify_msg_unref(m);
    }
}

static void recheck(lws_sorted_usec_list_t *sul)
{
    for (size_t i = 0; i < sid_cap; i++)
        for (struct sess *s = sid_tab[i]; s; s = s->sid_next) {
            if (s->close_code || (s->state != S_LIVE && s->state != S_REPLAYING))
                continue;
            struct notify_job *j = rg_calloc(1, sizeof *j);
            j->kind = NOTIFY_JOB_RECHECK;
            j->sid = s->sid;
            memcpy(j->hash, s->hash, sizeof j->hash);
            notify_job_submit(hub, j);
        }
    lws_sul_schedule(hub->lws, 0, sul, recheck, cfg->session_recheck * 1000);
}

/* Pings a socket ping_interval after the last frame from its peer (or the last ping), and
 * hangs up, without a close frame, on one that sent nothing, not even a pong, for
 * idle_timeout.  One scan of every session every IDLE_SCAN_MS instead of a timer per
 * socket. */
static void idle_scan(lws_sorted_usec_list_t *sul)
{
    int64_t now = notify_now_us() / 1000;
    int pings = 0;
    for (size_t i = 0; i < sid_cap; i++)
        for (struct sess *s = sid_tab[i]; s; s = s->sid_next) {
            if (now - s->last_rx >= cfg->idle_timeout) {
                if (s->last_rx >= 0) {
                    RG_LOG(RG_LOG_INFO, RG_EVENT("notify.idle_hangup"), RG_KV_I64("user_id", s->uid));
                    s->last_rx = -1; /* once */
                    lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
                }
                continue;
            }
            int64_t since = s->ping_at > s->last_rx ? s->ping_at : s->last_rx;
            if (!s->close_code && !s->ping_due && now - since >= cfg->ping_interval &&
                pings < PINGS_PER_SCAN) {
                s->ping_due = 1;
                s->ping_at = now;
                pings++;
                lws_callback_on_writable(s->wsi);
            }
        }
    lws_sul_schedule(hub->lws, 0, sul, idle_scan, IDLE_SCAN_MS * LWS_US_PER_MS);
}

void notify_job_submit(struct notify_hub *h, struct notify_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&h->mu);
    *h->jobs_tail = job;
    h->jobs_tail = &job->next;
    pthread_cond_signal(&h->jobs_cv);
    pthread_mutex_unlock(&h->mu);
}

/* The upgrade will authenticate with the session cookie (no token in the query, no
 * Authorization) and its Origin is missing or not allowed: a page of another site must
 * not open a socket with the user's cookie (cross-site WebSocket hijacking). */
static int cookie_origin_refused(struct lws *wsi)
{
    char buf[512], host[256];
    size_t max = sizeof buf;
    if (lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf) ||
        (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
         !strncasecmp(buf, "Bearer ", 7)) ||
        lws_http_cookie_get(wsi, NOTIFY_COOKIE, buf, &max) != 0)
        return 0;
    if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_ORIGIN) <= 0)
        return 1;
    if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0)
        host[0] = 0;
    return !rg_origin_allowed(cfg->allowed_origins, buf, host);
}

static int nsock;

int notify_ws_sockets(void)
{
    return nsock;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct sess *s = user;
    char uri[64];

    switch (reason) {
    case LWS_CALLBACK_PROTOCOL_INIT:
        lws_sul_schedule(hub->lws, 0, &recheck_sul, recheck, cfg->session_recheck * 1000);
        lws_sul_schedule(hub->lws, 0, &idle_sul, idle_scan, IDLE_SCAN_MS * LWS_US_PER_MS);
        return 0;
    case LWS_CALLBACK_PROTOCOL_DESTROY:
        lws_sul_cancel(&recheck_sul);
        lws_sul_cancel(&idle_sul);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        drain();
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        /* Only /ws upgrades (404 otherwise); a cookie needs an allowed Origin (403). */
        if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/ws")) {
            lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
            return 1;
        }
        if (cookie_origin_refused(wsi)) {
            NOTIFY_ADD(st, auth_failures, 1);
            lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, "Origin not allowed");
            return 1;
        }
        return 0;
    case LWS_CALLBACK_WSI_CREATE:
        nsock++;
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        nsock--;
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        sess_open(wsi, s);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (s->last_rx >= 0)
            s->last_rx = notify_now_us() / 1000;
        return sess_rx(wsi, s, in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        if (s->last_rx >= 0)
            s->last_rx = notify_now_us() / 1000;
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return sess_write(wsi, s);
    case LWS_CALLBACK_TIMER:
        if (s->state == S_WAIT_AUTH || s->state == S_AUTHING) {
            NOTIFY_ADD(st, auth_failures, 1);
            sess_close(s, 4401, "authentication timeout");
        }
        return 0;
    case LWS_CALLBACK_CLOSED:
        sess_closed(s);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* rx_buffer_size is allocated for every socket: clients send a few small messages (auth,
 * ping), so 256 bytes, and anything longer (up to max_message) is put together in sess_rx.
 * tx_packet_size: without it lws would cut every send to rx_buffer_size. */
const struct lws_protocols notify_protocols[] = {
    {NOTIFY_SUBPROTOCOL, callback, sizeof(struct sess), 256, 0, NULL, 16384},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

void notify_ws_init(struct notify_hub *h)
{
    hub = h;
    cfg = h->cfg;
    st = h->stats;
}

int notify_ws_shutdown(void)
{
    for (size_t i = 0; i < sid_cap; i++)
        for (struct sess *s = sid_tab[i]; s; s = s->sid_next)
            sess_close(s, 1001, "server shutting down");
    return nopen;
}

int notify_ws_open(void)
{
    return nopen;
}
