/* rg-notify: the WebSocket hub (docs/notify.md).  Internal interface of src/notify/.
 *
 * Three threads meet here.  The libwebsockets service thread owns every socket and every
 * session; it is the only one that calls lws_* (but lws_cancel_service).  The broker
 * thread (notify-broker.c) owns the RabbitMQ connection and turns deliveries into
 * struct notify_msg.  The store thread (notify-store.c) owns the Redis and PostgreSQL
 * connections and answers jobs (session checks, replays).  They talk through the queues of
 * struct notify_hub, under its mutex; whoever adds to a queue the service thread reads
 * calls lws_cancel_service, and the service thread drains the queues whole in
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED. */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <libwebsockets.h>
#include <pthread.h>
#include <stdint.h>

#include "rg/cfg.h"
#include "rg/err.h"
#include "rg/httpd.h"

#define NOTIFY_SUBPROTOCOL "resumego.v1"
#define NOTIFY_COOKIE "rg_session" /* rg-core's session cookie (src/core/core-auth.c) */
#define NOTIFY_TOKEN_CHARS 43      /* base64url of 32 random bytes */
/* File descriptors kept for the hub itself (stdio, the event loop, Redis, PostgreSQL,
 * RabbitMQ, the metrics listener and its clients) beside max_connections sockets. */
#define NOTIFY_FD_RESERVE 128

struct notify_config {
    char *listen_addr;
    int64_t port;
    char *metrics_addr;
    int64_t metrics_port;
    char *pg_url, *amqp_url, *redis_url; /* RG_PG_URL / RG_AMQP_URL / RG_REDIS_URL fallbacks */
    char *redis_prefix;
    char *allowed_origins;
    int64_t max_connections, max_per_user, max_message, queue_max, queue_bytes;
    int64_t auth_timeout, ping_interval, idle_timeout, session_recheck, close_grace; /* ms */
    int64_t replay_max, retention, prune_interval;                                 /* -, ms, ms */
    int64_t prefetch, amqp_timeout, pg_timeout, redis_timeout;
    char *log_level;
};

extern const struct rg_cfg_opt notify_cfg_opts[];
int notify_config_load(struct notify_config *cfg, const char *path, const char *const *sets,
                       size_t nsets, struct rg_errinfo *ei);
void notify_config_done(struct notify_config *cfg);

struct notify_stats {
    uint64_t connections, connections_total, authenticated, auth_failures, rejected_full,
        rejected_user;
    uint64_t msgs_in, msgs_malformed, msgs_unrouted, msgs_out, msgs_duplicate;
    uint64_t replays, replayed, resyncs, slow_closes, oversize_closes, protocol_closes;
    uint64_t broker_reconnects, store_errors, gap_fills;
    uint64_t broker_ok, pg_ok, redis_ok;
    struct rg_hist latency; /* broker delivery -> socket write */
};
#define NOTIFY_ADD(st, f, n) __atomic_add_fetch(&(st)->f, (n), __ATOMIC_RELAXED)
#define NOTIFY_SUB(st, f, n) __atomic_sub_fetch(&(st)->f, (n), __ATOMIC_RELAXED)
#define NOTIFY_SET(st, f, v) __atomic_store_n(&(st)->f, (v), __ATOMIC_RELAXED)
#define NOTIFY_GET(st, f) __atomic_load_n(&(st)->f, __ATOMIC_RELAXED)

/* One outgoing message, shared by every session it goes to (refcounted on the service
 * thread only).  buf has LWS_PRE bytes of headroom before the len bytes of JSON text. */
struct notify_msg {
    struct notify_msg *next; /* in the hub's inbox, or a result's row list */
    int64_t uid;             /* user (live messages) */
    int64_t id;              /* notification id; 0 for protocol messages (ready, pong, ...) */
    int64_t seq;             /* the user's notification seq (the socket cursor); 0 likewise */
    int64_t t_recv_us;       /* when the broker thread received it; 0 for replayed/protocol */
    int refs;
    size_t len;
    unsigned char buf[];
};
/* A message of len bytes of text (copied); refs = 0. */
struct notify_msg *notify_msg_new(const char *text, size_t len, int64_t uid, int64_t id);
/* Drops a reference; frees at zero; NULL-safe. */
void notify_msg_unref(struct notify_msg *m);
static inline unsigned char *notify_msg_text(struct notify_msg *m)
{
    return m->buf + LWS_PRE;
}

enum notify_job_kind { NOTIFY_JOB_AUTH, NOTIFY_JOB_RECHECK, NOTIFY_JOB_REPLAY };

/* Work for the store thread, and its answer (the same struct travels back). */
struct notify_job {
    struct notify_job *next;
    enum notify_job_kind kind;
    uint64_t sid;              /* session serial: the session may be gone by the answer */
    int64_t uid;               /* REPLAY: user; answer of AUTH/RECHECK: user, 0 = no session */
    int64_t since;             /* REPLAY: seq after which to read; -1 = live only */
    int catchup;               /* REPLAY after a broker reconnect (no `ready`) */
    char hash[65];             /* AUTH/RECHECK: sha256 hex of the token */
    /* answers */
    int err;                   /* < 0: the backend failed */
    struct notify_msg *rows;   /* REPLAY: seq order, contiguous from since + 1 */
    int64_t last_seq;          /* REPLAY: the user's newest committed seq (or the last row) */
    const char *resync;        /* REPLAY: reason, or NULL */
};

struct notify_hub {
    const struct notify_config *cfg;
    struct notify_stats *stats;
    volatile int stop;
    struct lws_context *lws;
    pthread_mutex_t mu;
    pthread_cond_t jobs_cv;
    struct notify_msg *inbox, **inbox_tail;     /* broker -> service */
    struct notify_job *jobs, **jobs_tail;       /* service -> store */
    struct notify_job *answers, **answers_tail; /* store -> service */
    uint64_t broker_gen;                        /* bumped on each broker (re)subscribe */
};

/* Service thread side (notify-ws.c). */
extern const struct lws_protocols notify_protocols[];
void notify_ws_init(struct notify_hub *hub);
/* Asks every socket to close with 1001; returns the number still open. */
int notify_ws_shutdown(void);
int notify_ws_open(void);
/* Sockets lws holds (WebSocket connections and those still in their handshake). */
int notify_ws_sockets(void);
/* Queues a job for the store thread (any thread). */
void notify_job_submit(struct notify_hub *hub, struct notify_job *job);

/* Broker and store threads.  Both run until hub->stop. */
void *notify_broker_main(void *hub);
void *notify_store_main(void *hub);

int64_t notify_now_us(void);
/* "2026-12-03T21:40:35.123Z" into buf (>= 32 bytes). */
void notify_now_rfc3339(char *buf, size_t cap);

#endif
