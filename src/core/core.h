/* rg-core internals shared by its modules (core-*.c) and its tests.
 *
 * Request life: core-http.c owns the libmicrohttpd daemon and one struct core_req per
 * request; core-routes.c matches the path to a handler (core-auth.c, core-resumes.c, ...);
 * a handler answers through core_reply_*() and returns.  Handlers run on MHD's worker
 * threads and may block on PostgreSQL and Redis: each worker thread has its own
 * connection to both (core-pg.c, core-redis.c), so nothing is shared between requests
 * but the read-only config, the metrics counters and the themes list. */
#ifndef CORE_H
#define CORE_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "rg/buf.h"
#include "rg/cfg.h"
#include "rg/err.h"

/* ---- configuration (core-config.c) --------------------------------------------------- */

struct core_config {
    char *listen_addr;
    int64_t port;
    int64_t threads; /* 0 = one per core, twice */
    int64_t max_body;
    int64_t conn_timeout_ms;
    int64_t request_timeout_ms;
    int64_t conn_limit;
    int64_t per_ip_limit;
    int64_t conn_memory;
    char *pg_url;
    int64_t pg_connect_timeout_ms;
    int64_t pg_statement_timeout_ms;
    char *redis_url;
    int64_t redis_timeout_ms;
    char *redis_prefix;
    int64_t session_ttl_ms;
    int cookie_secure;
    char *allowed_origins;
    int trust_proxy;
    int64_t login_ip_max;
    int64_t login_account_max;
    int64_t login_window_ms;
    int64_t register_ip_max;
    int64_t cache_ttl_ms;
    int64_t trash_days;
    int64_t argon2_memory;
    int64_t argon2_iterations;
    char *data_dir;
    char *log_level;
    int64_t log_flush_ms;
    int64_t preview_max;       /* previews holding or waiting for the renderer */
    int64_t preview_wait_ms;   /* longest wait for it */
    int64_t preview_max_body;  /* bytes */
    int64_t preview_max_width; /* pixels */
    char *secret_key;               /* 64 hex digits; parsed into secret_key_bytes */
    unsigned char secret_key_bytes[32];
    int has_secret_key;
};

extern const struct rg_cfg_opt core_cfg_opts[];
/* The running configuration; set once by main before the daemon starts, never changed. */
extern const struct core_config *core_cfg;

/* Loads defaults < file < RG_CORE_* < sets, then falls back to RG_PG_URL / RG_REDIS_URL
 * for the two URLs.  0 or RG_ECONFIG with ei filled. */
int core_config_load(struct core_config *cfg, const char *path, const char *const *sets,
                     size_t nsets, struct rg_errinfo *ei);
/* Logs the effective configuration once, secrets replaced by "***". */
void core_config_log(const struct core_config *cfg);

/* ---- requests and replies (core-http.c) ---------------------------------------------- */

#define CORE_MAX_PARAMS 3
#define CORE_MAX_HDRS 8

struct MHD_Connection;
struct MHD_Daemon;

struct core_req {
    struct MHD_Connection *conn;
    const char *method; /* borrowed from MHD, valid for the request */
    const char *path;   /* borrowed, without the query */
    char id[40];        /* request id: X-Request-Id when sane, else generated */
    char ip[64];
    int64_t t0_ns;
    struct rg_buf body;
    int body_too_big;
    int route; /* index into core_routes, -1 before/without a match */
    char *params[CORE_MAX_PARAMS];
    /* authentication (core-auth.c) */
    int64_t uid;         /* 0 = anonymous */
    char sess_key[160];  /* Redis key of the session, "" without one */
    int auth_via_cookie; /* writes then need a matching Origin (CSRF) */
    /* the reply */
    unsigned status;
    struct rg_buf out;
    const char *ctype;
    char *hdr_name[CORE_MAX_HDRS], *hdr_value[CORE_MAX_HDRS];
    size_t nhdrs;
    int deferred; /* answered later by another thread (core_req_defer) */
};

/* Id of the request the calling thread is handling ("" outside requests), for log lines
 * written below the handlers. */
extern __thread const char *core_req_id_tl;

/* Starts the daemon with core_cfg.  Returns 0, or a negative error (logged). */
int core_http_start(void);
/* Stops accepting, waits up to grace_ms for open requests, then stops the daemon. */
void core_http_stop(int64_t grace_ms);

/* Replies.  Each sets the status and body of req; a handler calls exactly one. */
void core_reply_json(struct core_req *req, unsigned status, json_t *body); /* steals body */
void core_reply_raw(struct core_req *req, unsigned status, const char *ctype, const char *body,
                    size_t len);
void core_reply_empty(struct core_req *req, unsigned status);
/* For a handler whose answer comes from another thread: suspends the connection (call it
 * before handing req over); that thread fills the reply and calls core_req_resume, after
 * which req must not be touched.  The worker thread serves its other connections meanwhile. */
void core_req_defer(struct core_req *req);
void core_req_resume(struct core_req *req);
/* 1 when the client of a deferred request has closed its connection (nothing to answer). */
int core_req_client_gone(const struct core_req *req);
/* {"error":{"code","message","field"?}}; field is a JSON pointer or NULL. */
void core_reply_error(struct core_req *req, unsigned status, const char *code, const char *message,
                      const char *field);
/* 503 for an unreachable database (-EAGAIN), else 500; logs the event once. */
void core_reply_backend_error(struct core_req *req, int err, const char *event);
/* Adds a response header (both strings copied). */
void core_header_add(struct core_req *req, const char *name, const char *value);
/* Request header or NULL (borrowed, valid for the request). */
const char *core_req_header(const struct core_req *req, const char *name);
/* Query argument or NULL (borrowed, valid for the request). */
const char *core_req_query(const struct core_req *req, const char *name);
/* Parses the body as a JSON value after checking its Content-Type (application/json, or
 * any +json type when any_json is set).  On failure replies 400/415 itself and returns a
 * negative value; on success *ret owns a new reference. */
int core_req_json(struct core_req *req, int any_json, json_t **ret);
/* The Content-Type and non-empty checks of core_req_json without parsing: 0, or a
 * negative value after replying 415/400. */
int core_req_json_ok(struct core_req *req, int any_json);

/* ---- resume bodies (core-resumes.c) ------------------------------------------------- */

struct core_loaded {
    char *data;       /* normalised JSON text */
    json_t *doc;      /* the same, parsed */
    json_t *warnings; /* [{"pointer","message"}] */
};

/* Runs the resume loader (the renderer's, rg_resume_load) over buf; pointers in replies
 * get prefix (e.g. "/data").  Replies 413/422 itself and returns a negative value on
 * rejection; with quiet_syntax, a syntax error returns -EAGAIN without a reply. */
int core_resume_load(struct core_req *req, const char *buf, size_t len, const char *prefix,
                     int quiet_syntax, struct core_loaded *out);
void core_loaded_done(struct core_loaded *l);

/* ---- JSON scanning (core-json.c) ----------------------------------------------------- */

/* Validates buf as a JSON object (RFC 8259, UTF-8, optional BOM) without building it, and
 * stores in ret_spans[i] the bytes of the value of top-level member keys[i] ({NULL, 0}
 * when absent; the last one when repeated).  0 on success; -1 when the text is not a
 * valid JSON object; -2 when the scanner declines (an escaped member name, nesting deeper
 * than 1000).  nkeys <= 8.  Numbers are checked for syntax only (jansson also refuses
 * ones it cannot represent). */
int core_json_members(const char *buf, size_t len, const char *const *keys, size_t nkeys,
                      struct rg_str *ret_spans);

/* ---- routing (core-routes.c) --------------------------------------------------------- */

typedef void core_handler_fn(struct core_req *req);

enum {
    CORE_ROUTE_AUTH = 1u << 0,      /* needs a session */
    CORE_ROUTE_AUTH_SELF = 1u << 1, /* needs a session, but the handler authenticates itself
                                     * (to fold the session lookup into its own Redis round
                                     * trip); it must call core_auth_resolve_with() first */
};

struct core_route {
    const char *method;
    const char *path; /* "/api/v1/resumes/{id}"; {x} matches one segment */
    core_handler_fn *fn;
    unsigned flags;
};

extern const struct core_route core_routes[];
extern const size_t core_nroutes;

/* Finds the route for method + path, fills req->route and req->params, authenticates
 * when the route asks for it, and calls the handler; replies 404/405/401/403 itself. */
void core_route_dispatch(struct core_req *req);
/* The OpenAPI 3.1 document (embedded at build time; borrowed, static). */
const char *core_openapi_json(void);

/* ---- metrics (core-metrics.c) -------------------------------------------------------- */

void core_metrics_observe(int route, unsigned status, double seconds);
/* Prometheus text exposition into out. */
int core_metrics_render(struct rg_buf *out);

/* ---- PostgreSQL (core-pg.c) ---------------------------------------------------------- */

/* A statement, prepared on each worker connection on first use.  `idempotent` allows one
 * retry on a fresh connection when the old one turned out to be dead. */
struct core_stmt {
    const char *name;
    const char *sql;
    int nparams;
    int idempotent;
};

/* Runs st with text params on this thread's connection, connecting (or reconnecting)
 * first when needed.  On success stores the result in *ret_res (caller PQclear()s) and
 * returns 0.  Fails with -EAGAIN when the server cannot be reached (-> 503), -EEXIST on a
 * unique violation, -EINVAL on invalid text for a typed parameter, RG_EPG otherwise (logged
 * at warn with the server's message). */
int core_pg_exec(const struct core_stmt *st, const char *const *params, PGresult **ret_res);
/* 0 when a trivial query answers, else negative (readyz). */
int core_pg_ping(void);
/* Closes this thread's connection (thread exit, shutdown). */
void core_pg_thread_done(void);

/* ---- Redis (core-redis.c) ------------------------------------------------------------ */

/* Runs one command (argv form: binary-safe) on this thread's context, connecting first
 * when needed; every call is bounded by redis_timeout.  When the connection turned out
 * to be broken it reconnects and, if idempotent, retries once.  On success *ret_reply is
 * the reply (never an error reply; caller freeReplyObject()s) and 0 is returned;
 * RG_EREDIS otherwise (logged at warn, rate-limited). */
int core_redis_argv(int idempotent, redisReply **ret_reply, int argc, const char **argv,
                    const size_t *lens);
/* printf-style convenience over core_redis_argv for keys and numbers (hiredis format:
 * use %b for user-supplied bytes). */
int core_redis_cmd(int idempotent, redisReply **ret_reply, const char *fmt, ...);
/* Sends n commands (argv form, NUL-terminated strings) in one round trip and stores the
 * replies in ret[0..n-1] (caller frees each; error replies are returned, not failed).
 * Every command must be safe to repeat: after a broken connection all are sent again once.
 * 0 or RG_EREDIS (then nothing is stored). */
int core_redis_pipeline(size_t n, const int *argc, const char *const *const *argv,
                        redisReply **ret);
/* Writes prefix + formatted key into buf (cap n).  Returns buf. */
char *core_rkey(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int core_redis_ping(void);
void core_redis_thread_done(void);

/* ---- crypto helpers (core-crypto.c) -------------------------------------------------- */

/* n random bytes from the kernel; aborts if the kernel cannot give them (never happens
 * on Linux >= 3.17 after boot). */
void core_random(void *buf, size_t n);
/* base64url without padding of n bytes into out (cap >= 4*n/3+4). */
void core_b64url(const void *data, size_t n, char *out, size_t cap);
/* RFC 4648 base32 (no padding) of n bytes into out (cap >= 8*n/5+2). */
void core_base32(const void *data, size_t n, char *out, size_t cap);
/* Decodes base32 (case-insensitive, no padding); returns bytes or -EINVAL. */
int core_base32_decode(const char *s, unsigned char *out, size_t cap);
/* RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s) of key at the given step. */
unsigned core_totp(const unsigned char *key, size_t keylen, uint64_t step);
/* Authenticated encryption of a short text (AES-256-GCM, random 96-bit nonce) bound to aad:
 * out gets "v1:" + hex(nonce | ciphertext | tag).  0, or -1 when out is too small. */
int core_seal(const unsigned char key[32], const char *aad, const char *plain, char *out,
              size_t cap);
/* Inverse of core_seal: the text into out (NUL-terminated); -1 if the value is not sealed,
 * was sealed under another key or aad, or was altered. */
int core_unseal(const unsigned char key[32], const char *aad, const char *sealed, char *out,
                size_t cap);
/* Constant-time comparison of two NUL-terminated strings of the same length. */
int core_streq_ct(const char *a, const char *b);

/* ---- JSON Merge Patch (core-patch.c) ------------------------------------------------- */

/* RFC 7396: returns a new reference to target patched with patch (target may be NULL). */
json_t *core_merge_patch(const json_t *target, const json_t *patch);

/* ---- modules ------------------------------------------------------------------------- */

/* core-auth.c: resolves the session of req (Bearer or cookie) into req->uid.  Returns 1
 * when authenticated, 0 when not (no/unknown token, or Redis unreachable). */
int core_auth_resolve(struct core_req *req);
/* Like core_auth_resolve, and in the same Redis round trip GETs extra_key into
 * *ret_extra (caller frees; NULL when Redis failed).  For CORE_ROUTE_AUTH_SELF routes. */
int core_auth_resolve_with(struct core_req *req, const char *extra_key, redisReply **ret_extra);
/* Replies 401 (with WWW-Authenticate). */
void core_reply_unauthorized(struct core_req *req);
/* 1 when a cookie-authenticated write comes from an allowed Origin (or none is needed). */
int core_auth_origin_ok(const struct core_req *req);
/* Precomputes the dummy hash that makes unknown e-mails cost as much as known ones. */
void core_auth_init(void);

/* core-resumes.c: deletes resumes that stayed in the trash past trash_days.  Returns the
 * number deleted or a negative error. */
int core_resumes_purge(void);
/* core-misc.c: loads the themes list from data_dir/themes. */
void core_themes_init(void);
/* POST /api/v1/preview (core-preview.c) and the renderer it makes on first use. */
void core_h_preview(struct core_req *req);
/* Joins the render thread and frees the renderer; 1 (and neither) when a render is still
 * running, which exit() must then not race (see main). */
int core_preview_done(void);
/* Shutdown: queued previews are answered 503; the one being drawn gets wait_ms. */
void core_preview_quiesce(int64_t wait_ms);
void core_themes_done(void);

/* handlers */
core_handler_fn core_h_healthz, core_h_readyz, core_h_metrics, core_h_openapi, core_h_themes;
core_handler_fn core_h_register, core_h_login, core_h_logout, core_h_me, core_h_password;
core_handler_fn core_h_session;
core_handler_fn core_h_totp_setup, core_h_totp_enable, core_h_totp_disable;
core_handler_fn core_h_resumes_list, core_h_resumes_create, core_h_resumes_import;
core_handler_fn core_h_resume_get, core_h_resume_put, core_h_resume_patch, core_h_resume_delete;
core_handler_fn core_h_resume_restore, core_h_resume_export;
core_handler_fn core_h_versions_list, core_h_version_get, core_h_version_restore;
core_handler_fn core_h_share_get, core_h_share_create, core_h_share_delete, core_h_public_get;

/* Monotonic clock in nanoseconds. */
int64_t core_now_ns(void);

#endif
