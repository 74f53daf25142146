/* The HTTP layer of rg-core over libmicrohttpd 0.9.75.
 *
 * MHD runs a pool of worker threads, each with its own epoll set; every connection stays
 * on one worker.  The library's defaults are unsafe for a public service, so each limit
 * is set here explicitly from the config: connection timeout (slowloris), total and
 * per-address connection limits, per-connection header memory, and our own body cap.
 *
 * One struct core_req lives from the first call of the access handler (headers only) to
 * MHD's "request completed" notification, where the access-log line is written, the
 * metrics are counted and the request is freed. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "rg/json.h"
#include "rg/log.h"
#include "rg/mem.h"

/* Largest reply we build (a list page of 100 resumes or one 2 MiB resume, with room). */
#define CORE_MAX_REPLY (8u * 1024 * 1024)

static struct MHD_Daemon *daemon_;

/* Slow senders.  MHD's connection timeout is an idle timeout: a client that trickles one
 * byte a second keeps a connection for ever.  So every connection is registered here with
 * the time its current request started arriving; a reaper thread shuts down the socket of
 * any request that has not fully arrived within request_timeout.  shutdown(2), not
 * close(2): MHD owns the descriptor, sees EOF and closes the connection itself, and
 * unregisters it (NOTIFY_CLOSED, which MHD sends before closing the descriptor) under
 * the same lock, so the reaper never touches a reused descriptor. */
struct conn_entry {
    int fd;
    _Atomic int64_t reading_since; /* 0 while a request is being handled or answered */
    struct conn_entry *prev, *next;
};

static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn_entry *conns_head;
static pthread_t reaper;
static int reaper_started;
static _Atomic int reaper_stop;

static struct conn_entry *conn_entry_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct conn_entry *e = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci)
            return;
        e = rg_calloc(1, sizeof *e);
        e->fd = ci->connect_fd;
        e->reading_since = core_now_ns();
        pthread_mutex_lock(&conns_lock);
        e->next = conns_head;
        if (conns_head)
            conns_head->prev = e;
        conns_head = e;
        pthread_mutex_unlock(&conns_lock);
        *socket_context = e;
        return;
    }
    if (!e)
        return;
    pthread_mutex_lock(&conns_lock);
    if (e->prev)
        e->prev->next = e->next;
    else
        conns_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    pthread_mutex_unlock(&conns_lock);
    rg_free(e);
    *socket_context = NULL;
}

static void *reaper_main(void *arg)
{
    (void)arg;
    while (!reaper_stop) {
        usleep(250000);
        int64_t now = core_now_ns(), limit = core_cfg->request_timeout_ms * 1000000;
        int cut = 0;
        pthread_mutex_lock(&conns_lock);
        for (struct conn_entry *e = conns_head; e; e = e->next) {
            int64_t since = e->reading_since;
            if (since && now - since > limit) {
                (void)shutdown(e->fd, SHUT_RDWR);
                e->reading_since = 0;
                cut++;
            }
        }
        pthread_mutex_unlock(&conns_lock);
        if (cut)
            RG_LOG(RG_LOG_WARN, RG_EVENT("http.slow_request_cut"), RG_KV_I64("connections", cut));
    }
    return NULL;
}

/* The id of the request this thread is handling, for log lines written below the
 * handlers (core-pg.c, core-redis.c).  Empty between requests. */
__thread const char *core_req_id_tl = "";

int64_t core_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Request ids need to be unique, not secret: a per-thread xorshift seeded once from the
 * kernel is enough and costs nothing per request. */
static void gen_request_id(char *out, size_t cap)
{
    static __thread uint64_t s;
    while (!s)
        core_random(&s, sizeof s);
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    snprintf(out, cap, "%016llx", (unsigned long long)s);
}

static int request_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!(s[n] == '-' || s[n] == '_' || s[n] == '.' || (s[n] >= '0' && s[n] <= '9') ||
              (s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z')))
            return 0;
    return n > 0 && n < 40;
}

static void client_ip(struct core_req *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(req->ip, sizeof req->ip, "unknown");
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, req->ip,
                      sizeof req->ip);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, req->ip,
                      sizeof req->ip);
    }
    if (core_cfg->trust_proxy) {
        /* The edge appends the address it saw: the last entry is the one we can trust. */
        const char *xff = core_req_header(req, "X-Forwarded-For");
        if (xff && *xff) {
            const char *last = strrchr(xff, ',');
            last = last ? last + 1 : xff;
            while (*last == ' ')
                last++;
            if (*last && strlen(last) < sizeof req->ip)
                snprintf(req->ip, sizeof req->ip, "%s", last);
        }
    }
}

const char *core_req_header(const struct core_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *core_req_query(const struct core_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

void core_header_add(struct core_req *req, const char *name, const char *value)
{
    RG_ASSERT(req->nhdrs < CORE_MAX_HDRS);
    req->hdr_name[req->nhdrs] = rg_strdup(name);
    req->hdr_value[req->nhdrs] = rg_strdup(value);
    req->nhdrs++;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    return rg_buf_append(data, buffer, size) < 0 ? -1 : 0;
}

void core_reply_json(struct core_req *req, unsigned status, json_t *body)
{
    rg_buf_reset(&req->out);
    if (json_dump_callback(body, dump_cb, &req->out, JSON_COMPACT | JSON_ENCODE_ANY) < 0) {
        json_decref(body);
        RG_LOG(RG_LOG_ERROR, RG_EVENT("http.reply_too_big"), RG_KV_STR("req_id", req->id));
        rg_buf_reset(&req->out);
        (void)rg_buf_puts(&req->out,
                          "{\"error\":{\"code\":\"internal\",\"message\":\"reply too large\"}}");
        req->status = 500;
        req->ctype = "application/json";
        return;
    }
    json_decref(body);
    req->status = status;
    req->ctype = "application/json";
}

void core_reply_raw(struct core_req *req, unsigned status, const char *ctype, const char *body,
                    size_t len)
{
    rg_buf_reset(&req->out);
    if (rg_buf_append(&req->out, body, len) < 0) {
        core_reply_error(req, 500, "internal", "reply too large", NULL);
        return;
    }
    req->status = status;
    req->ctype = ctype;
}

void core_reply_empty(struct core_req *req, unsigned status)
{
    rg_buf_reset(&req->out);
    req->status = status;
    req->ctype = NULL;
}

void core_reply_error(struct core_req *req, unsigned status, const char *code, const char *message,
                      const char *field)
{
    json_t *e = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (field)
        json_object_set_new(e, "field", json_string(field));
    core_reply_json(req, status, json_pack("{s:o}", "error", e));
}

void core_reply_backend_error(struct core_req *req, int err, const char *event)
{
    if (err == -EAGAIN || err == RG_EREDIS) {
        RG_LOG(RG_LOG_WARN, RG_EVENT(event), RG_KV_STR("req_id", req->id), RG_KV_ERR(err));
        core_header_add(req, "Retry-After", "1");
        core_reply_error(req, 503, "unavailable",
                         err == RG_EREDIS ? "a backend is unreachable; retry shortly"
                                          : "the database is unreachable; retry shortly",
                         NULL);
        return;
    }
    RG_LOG(RG_LOG_ERROR, RG_EVENT(event), RG_KV_STR("req_id", req->id), RG_KV_ERR(err));
    core_reply_error(req, 500, "internal", "internal error", NULL);
}

static int ctype_is_json(const char *ct, int any_json)
{
    size_t n = strcspn(ct, "; \t");
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return 1;
    /* RFC 6839 structured syntax suffix: application/merge-patch+json and friends. */
    return any_json && n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0 &&
           strncasecmp(ct, "application/", 12) == 0;
}

int core_req_json_ok(struct core_req *req, int any_json)
{
    const char *ct = core_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);

    if (!ct || !ctype_is_json(ct, any_json)) {
        core_reply_error(req, 415, "unsupported_media_type",
                         any_json
                             ? "send the body as application/json or application/merge-patch+json"
                             : "send the body as application/json",
                         NULL);
        return -EINVAL;
    }
    if (req->body.len == 0) {
        core_reply_error(req, 400, "empty_body", "a JSON body is required", NULL);
        return -EINVAL;
    }
    return 0;
}

int core_req_json(struct core_req *req, int any_json, json_t **ret)
{
    struct rg_errinfo ei;
    int r = core_req_json_ok(req, any_json);

    if (r < 0)
        return r;
    r = rg_json_parse(req->body.ptr, req->body.len, ret, &ei);
    if (r == RG_EUTF8) {
        json_t *e = json_pack("{s:s, s:s, s:I}", "code", "invalid_utf8", "message", ei.msg,
                              "offset", (json_int_t)ei.offset);
        core_reply_json(req, 400, json_pack("{s:o}", "error", e));
        return r;
    }
    if (r < 0) {
        json_t *e = json_pack("{s:s, s:s, s:I, s:I}", "code", "malformed_json", "message", ei.msg,
                              "line", (json_int_t)ei.line, "column", (json_int_t)ei.column);
        core_reply_json(req, 400, json_pack("{s:o}", "error", e));
        return r;
    }
    return 0;
}

static void free_cb(void *p)
{
    rg_free(p);
}

static enum MHD_Result queue(struct core_req *req)
{
    struct MHD_Response *resp;
    size_t len = 0;
    enum MHD_Result ret;

    if (req->out.len) {
        char *body = rg_buf_take(&req->out, &len);
        resp = MHD_create_response_from_buffer_with_free_callback(len, body, free_cb);
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    if (req->ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->ctype);
    MHD_add_response_header(resp, "X-Request-Id", req->id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    int has_cache_control = 0;
    for (size_t i = 0; i < req->nhdrs; i++) {
        MHD_add_response_header(resp, req->hdr_name[i], req->hdr_value[i]);
        has_cache_control |= strcasecmp(req->hdr_name[i], "Cache-Control") == 0;
    }
    /* Responses carry private data: no shared cache may keep them unless a handler says so. */
    if (!has_cache_control)
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    ret = MHD_queue_response(req->conn, req->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Request framing (RFC 9112 section 6.3).  A body whose length two parties could read
 * differently is how requests are smuggled past a proxy: libmicrohttpd 0.9.75 picks one
 * reading and lookups only show the first occurrence of a header, so every occurrence is
 * looked at here, before a byte of the body is read. */
struct framing {
    int n_cl, n_te, cl_differ, cl_bad, te_bad;
    const char *cl;
};

static enum MHD_Result framing_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    struct framing *f = cls;
    (void)kind;
    if (!value)
        value = "";
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (!*value || value[strspn(value, "0123456789")] != '\0')
            f->cl_bad = 1;
        if (f->n_cl++ == 0)
            f->cl = value;
        else if (strcmp(f->cl, value) != 0)
            f->cl_differ = 1;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        /* Only a single, plain "chunked" is understood; "gzip, chunked", "identity" or
         * chunked twice would be read differently by someone. */
        if (f->n_te++ || strcasecmp(value, "chunked") != 0)
            f->te_bad = 1;
    }
    return MHD_YES;
}

/* 1 when the framing headers of req are unambiguous; else replies 400/501 (closing the
 * connection: where the next request starts is unknown) and returns 0. */
static int framing_ok(struct core_req *req)
{
    struct framing f = {0};
    const char *msg = NULL;
    unsigned status = 400;

    (void)MHD_get_connection_values(req->conn, MHD_HEADER_KIND, framing_cb, &f);
    if (f.n_cl && f.n_te)
        msg = "a request may not carry both Content-Length and Transfer-Encoding";
    else if (f.cl_bad)
        msg = "Content-Length is not a decimal number";
    else if (f.cl_differ)
        msg = "Content-Length is given twice with different values";
    else if (f.te_bad) {
        status = 501;
        msg = "the only Transfer-Encoding accepted is a single \"chunked\"";
    }
    if (!msg)
        return 1;
    struct conn_entry *e = conn_entry_of(req->conn);
    if (e)
        e->reading_since = 0;
    core_header_add(req, "Connection", "close");
    core_reply_error(req, status, status == 501 ? "unsupported_transfer_encoding" : "bad_framing",
                     msg, NULL);
    return 0;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct core_req *req = *con_cls;

    if (!req) {
        /* First call: headers only. */
        req = rg_calloc(1, sizeof *req);
        req->conn = conn;
        req->method = method;
        req->path = url;
        req->route = -1;
        req->t0_ns = core_now_ns();
        rg_buf_init(&req->body, (size_t)core_cfg->max_body);
        rg_buf_init(&req->out, CORE_MAX_REPLY);
        const char *rid = core_req_header(req, "X-Request-Id");
        if (rid && request_id_ok(rid))
            snprintf(req->id, sizeof req->id, "%s", rid);
        else
            gen_request_id(req->id, sizeof req->id);
        client_ip(req);
        *con_cls = req;
        if (!framing_ok(req))
            return queue(req);

        /* A declared length past the cap is refused before a byte of it is read (this also
         * answers `Expect: 100-continue` with 413 instead of 100). */
        const char *cl = core_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || end == cl || n > (unsigned long long)core_cfg->max_body) {
                struct conn_entry *e = conn_entry_of(conn);
                if (e)
                    e->reading_since = 0;
                core_header_add(req, "Connection", "close");
                core_reply_error(req, 413, "body_too_large", "the request body is too large", NULL);
                return queue(req);
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!req->body_too_big && rg_buf_append(&req->body, upload_data, *upload_data_size) < 0)
            req->body_too_big = 1;
        *upload_data_size = 0;
        /* A chunked body past the cap: MHD 0.9.75 cannot queue a reply in the middle of a
         * body, so the connection is closed instead of reading the rest. */
        return req->body_too_big ? MHD_NO : MHD_YES;
    }
    if (req->deferred) { /* resumed: the reply was filled by another thread */
        req->deferred = 0;
        return queue(req);
    }
    if (req->status)
        return MHD_YES; /* already answered (413 above) */
    struct conn_entry *e = conn_entry_of(conn);
    if (e)
        e->reading_since = 0; /* the request is in; handling time is not the client's */
    core_req_id_tl = req->id;
    core_route_dispatch(req);
    core_req_id_tl = "";
    if (req->deferred)
        return MHD_YES;
    RG_ASSERT(req->status != 0);
    return queue(req);
}

void core_req_defer(struct core_req *req)
{
    req->deferred = 1;
    MHD_suspend_connection(req->conn);
}

void core_req_resume(struct core_req *req)
{
    MHD_resume_connection(req->conn);
}

int core_req_client_gone(const struct core_req *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    char c;
    /* A suspended connection is not polled by MHD: an orderly close shows as a 0-byte
     * read (a pipelined next request as data, which is not "gone"). */
    return ci && recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct core_req *req = *con_cls;
    struct conn_entry *e = conn_entry_of(conn);
    if (e)
        e->reading_since = core_now_ns(); /* a kept-alive connection waits for its next request */
    if (!req)
        return;
    double secs = (double)(core_now_ns() - req->t0_ns) / 1e9;
    unsigned status = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? req->status : 0;
    static const char *const toe_names[] = {"ok",       "error",      "timeout",
                                            "shutdown", "read_error", "client_abort"};
    const char *how = (unsigned)toe < RG_ARRAY_SIZE(toe_names) ? toe_names[toe] : "unknown";

    core_metrics_observe(req->route, status ? status : req->status, secs);
    /* A share slug is a capability: logs get the route template instead of the path. */
    const char *path = req->route >= 0 && core_routes[req->route].fn == core_h_public_get
                           ? core_routes[req->route].path
                           : req->path;
    RG_LOG(RG_LOG_INFO, RG_EVENT("http.access"), RG_KV_STR("req_id", req->id),
           RG_KV_STR("method", req->method), RG_KV_STR("path", path),
           RG_KV_I64("status", req->status), RG_KV_STR("end", how), RG_KV_F64("ms", secs * 1000.0),
           RG_KV_I64("bytes_in", req->body.len), RG_KV_STR("ip", req->ip),
           RG_KV_I64("uid", req->uid));

    for (size_t i = 0; i < req->nhdrs; i++) {
        rg_free(req->hdr_name[i]);
        rg_free(req->hdr_value[i]);
    }
    for (size_t i = 0; i < CORE_MAX_PARAMS; i++)
        rg_free(req->params[i]);
    rg_buf_done(&req->body);
    rg_buf_done(&req->out);
    rg_free(req);
    *con_cls = NULL;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decoding of the path and query, as libmicrohttpd's own but for %00: decoded, a
 * NUL would cut the path short, so "/api/v1/themes%00" would be served as
 * "/api/v1/themes".  It stays as written, which no route or value accepts. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    char *w = s;
    (void)cls;
    (void)c;
    for (const char *r = s; *r; r++) {
        int hi, lo;
        if (r[0] == '%' && (hi = hex_digit(r[1])) >= 0 && (lo = hex_digit(r[2])) >= 0 &&
            (hi | lo) != 0) {
            *w++ = (char)(hi << 4 | lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    RG_LOG(RG_LOG_WARN, RG_EVENT("http.mhd"), RG_KV_STR("msg", msg));
}

int core_http_start(void)
{
    const struct core_config *c = core_cfg;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct sockaddr *sa;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
    unsigned threads = (unsigned)c->threads;

    if (!threads) {
        /* A worker waits, not computes, through each PostgreSQL round trip and commit: with
         * 2 per core a save-heavy load left the CPU idle.  On 2 cores (bench-core): 4 threads
         * PUT 2,670/s, cached GET 31-33,000/s with p99 3.7-5.8 ms; 8 threads PUT 2,900-3,100,
         * GET 34-35,000 with p99 6.5 ms; 16 threads PUT 2,950, GET p99 6.7-7.1 ms.  More
         * workers than that only queue on the cores and lengthen the GET tail. */
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = (unsigned)(n > 0 ? n : 1) * 4;
    }
    memset(&sin, 0, sizeof sin);
    memset(&sin6, 0, sizeof sin6);
    if (inet_pton(AF_INET, c->listen_addr, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)c->port);
        sa = (struct sockaddr *)&sin;
    } else if (inet_pton(AF_INET6, c->listen_addr, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)c->port);
        sa = (struct sockaddr *)&sin6;
        flags |= MHD_USE_IPv6;
    } else {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("http.bad_listen_addr"), RG_KV_STR("addr", c->listen_addr));
        return -EINVAL;
    }
    /* MHD counts the timeout in whole seconds; round up so that 1500ms is not 1 s. */
    unsigned timeout_s = (unsigned)((c->conn_timeout_ms + 999) / 1000);

    daemon_ = MHD_start_daemon(
        flags, (uint16_t)c->port, NULL, NULL, on_access, NULL,
        /* First, so that MHD's own complaints about later options reach our log too. */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->conn_limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)c->per_ip_limit, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)c->conn_memory,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_UNESCAPE_CALLBACK, unescape,
        NULL, MHD_OPTION_END);
    if (!daemon_) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("http.start_failed"), RG_KV_STR("addr", c->listen_addr),
               RG_KV_I64("port", c->port));
        return -EADDRINUSE;
    }
    reaper_started = pthread_create(&reaper, NULL, reaper_main, NULL) == 0;
    RG_LOG(RG_LOG_INFO, RG_EVENT("http.listening"), RG_KV_STR("addr", c->listen_addr),
           RG_KV_I64("port", c->port), RG_KV_I64("threads", threads),
           RG_KV_I64("conn_timeout_s", timeout_s), RG_KV_I64("max_body", c->max_body));
    return 0;
}

void core_http_stop(int64_t grace_ms)
{
    if (!daemon_)
        return;
    /* Stop accepting first, let the requests in flight finish, then tear down. */
    MHD_socket ls = MHD_quiesce_daemon(daemon_);
    int64_t deadline = core_now_ns() + grace_ms * 1000000;
    /* Every suspended connection must be resumed before MHD_stop_daemon (it aborts on one). */
    core_preview_quiesce(grace_ms / 2);
    while (core_now_ns() < deadline) {
        const union MHD_DaemonInfo *di =
            MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!di || di->num_connections == 0)
            break;
        usleep(20000);
    }
    if (reaper_started) {
        reaper_stop = 1;
        pthread_join(reaper, NULL);
    }
    MHD_stop_daemon(daemon_);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    daemon_ = NULL;
}
