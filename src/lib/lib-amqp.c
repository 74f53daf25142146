/* RabbitMQ helpers over rabbitmq-c 0.11: connect with timeouts, topology, publish with
 * confirms + mandatory, consume with manual acks.  The verified pitfalls this file is
 * written around are in SYSTEM-NOTES §2: an unroutable mandatory message is returned AND
 * acked; 0.11 has no confirm-wait helper, so confirms are read frame by frame; any
 * unexpected frame while consuming must be read with amqp_simple_wait_frame. */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "rg/amqp.h"
#include "rg/mem.h"

#define CHANNEL 1
/* The protocol minimum is 4096; 128 KiB is the library's default and keeps the frame
 * buffers small (CVE-2026-44236: never trust extreme frame_max values). */
#define FRAME_MAX 131072

struct rg_amqp {
    amqp_connection_state_t conn;
    int open;             /* channel open: close politely on free */
    uint64_t publish_seq; /* last delivery tag of a publish (confirm mode) */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval ms_tv(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

static int reply_err(amqp_rpc_reply_t r, const char *what, struct rg_errinfo *ei)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return 0;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return rg_errinfo_set(ei, RG_EAMQP, "%s: %s", what, amqp_error_string2(r.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            const amqp_channel_close_t *m = r.reply.decoded;
            return rg_errinfo_set(ei, RG_EAMQP, "%s: channel closed: %u %.*s", what, m->reply_code,
                                  (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        }
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            const amqp_connection_close_t *m = r.reply.decoded;
            return rg_errinfo_set(ei, RG_EAMQP, "%s: connection closed: %u %.*s", what,
                                  m->reply_code, (int)m->reply_text.len,
                                  (const char *)m->reply_text.bytes);
        }
        return rg_errinfo_set(ei, RG_EAMQP, "%s: server exception 0x%08x", what, r.reply.id);
    default:
        return rg_errinfo_set(ei, RG_EAMQP, "%s: no reply", what);
    }
}

int rg_amqp_connect(const char *url, int heartbeat_s, int timeout_ms, struct rg_amqp **ret,
                    struct rg_errinfo *ei)
{
    struct amqp_connection_info info;
    struct rg_amqp *c = NULL;
    char *copy = rg_strdup(url ? url : "");
    amqp_socket_t *sock;
    struct timeval tv = ms_tv(timeout_ms);
    int r;

    amqp_default_connection_info(&info);
    if (!url || amqp_parse_url(copy, &info) != AMQP_STATUS_OK) {
        r = rg_errinfo_set(ei, -EINVAL, "invalid AMQP URL");
        goto out;
    }
    /* "amqp://host/" parses to the empty vhost, which no broker has; people mean "/". */
    if (!info.vhost || !*info.vhost)
        info.vhost = "/";
    c = rg_calloc(1, sizeof *c);
    c->conn = amqp_new_connection();
    sock = amqp_tcp_socket_new(c->conn);
    if (!sock) {
        r = rg_errinfo_set(ei, RG_EAMQP, "cannot create socket");
        goto out;
    }
    if ((r = amqp_socket_open_noblock(sock, info.host, info.port, &tv)) != AMQP_STATUS_OK) {
        r = rg_errinfo_set(ei, RG_EAMQP, "connect %s:%d: %s", info.host, info.port,
                           amqp_error_string2(r));
        goto out;
    }
    (void)amqp_set_handshake_timeout(c->conn, &tv);
    (void)amqp_set_rpc_timeout(c->conn, &tv);
    r = reply_err(amqp_login(c->conn, info.vhost, 0, FRAME_MAX, heartbeat_s,
                             AMQP_SASL_METHOD_PLAIN, info.user, info.password),
                  "login", ei);
    if (r < 0)
        goto out;
    amqp_channel_open(c->conn, CHANNEL);
    if ((r = reply_err(amqp_get_rpc_reply(c->conn), "channel.open", ei)) < 0)
        goto out;
    c->open = 1;
    *ret = c;
    c = NULL;
    r = 0;
out:
    rg_amqp_free(c);
    rg_memzero(copy, strlen(copy)); /* the password was in it */
    rg_free(copy);
    return r;
}

struct rg_amqp *rg_amqp_free(struct rg_amqp *c)
{
    if (!c)
        return NULL;
    if (c->open) {
        /* Bounded by the RPC timeout; failures do not matter, we are leaving. */
        (void)amqp_channel_close(c->conn, CHANNEL, AMQP_REPLY_SUCCESS);
        (void)amqp_connection_close(c->conn, AMQP_REPLY_SUCCESS);
    }
    if (c->conn)
        (void)amqp_destroy_connection(c->conn);
    return rg_free(c);
}

static int declare_exchange(struct rg_amqp *c, const char *name, const char *type,
                            struct rg_errinfo *ei)
{
    amqp_exchange_declare(c->conn, CHANNEL, amqp_cstring_bytes(name), amqp_cstring_bytes(type), 0,
                          1 /* durable */, 0, 0, amqp_empty_table);
    return reply_err(amqp_get_rpc_reply(c->conn), name, ei);
}

static int declare_queue(struct rg_amqp *c, const char *name, const char *dlx, const char *dlrk,
                         int64_t ttl_ms, const char *bind_ex, const char *bind_key,
                         struct rg_errinfo *ei)
{
    amqp_table_entry_t e[3];
    amqp_table_t args = {0, e};
    int r;

    if (dlx) {
        e[args.num_entries].key = amqp_cstring_bytes("x-dead-letter-exchange");
        e[args.num_entries].value.kind = AMQP_FIELD_KIND_UTF8;
        e[args.num_entries++].value.value.bytes = amqp_cstring_bytes(dlx);
    }
    if (dlrk) {
        e[args.num_entries].key = amqp_cstring_bytes("x-dead-letter-routing-key");
        e[args.num_entries].value.kind = AMQP_FIELD_KIND_UTF8;
        e[args.num_entries++].value.value.bytes = amqp_cstring_bytes(dlrk);
    }
    if (ttl_ms > 0) {
        e[args.num_entries].key = amqp_cstring_bytes("x-message-ttl");
        e[args.num_entries].value.kind = AMQP_FIELD_KIND_I64;
        e[args.num_entries++].value.value.i64 = ttl_ms;
    }
    amqp_queue_declare(c->conn, CHANNEL, amqp_cstring_bytes(name), 0, 1 /* durable */, 0, 0, args);
    if ((r = reply_err(amqp_get_rpc_reply(c->conn), name, ei)) < 0)
        return r;
    amqp_queue_bind(c->conn, CHANNEL, amqp_cstring_bytes(name), amqp_cstring_bytes(bind_ex),
                    amqp_cstring_bytes(bind_key), amqp_empty_table);
    return reply_err(amqp_get_rpc_reply(c->conn), "queue.bind", ei);
}

int rg_amqp_declare_topology(struct rg_amqp *c, const int64_t *tiers_ms, size_t ntiers,
                             struct rg_errinfo *ei)
{
    int r;

    if ((r = declare_exchange(c, RG_AMQP_EX_TASKS, "direct", ei)) < 0 ||
        (r = declare_exchange(c, RG_AMQP_EX_RESULTS, "direct", ei)) < 0 ||
        (r = declare_exchange(c, RG_AMQP_EX_NOTIFY, "topic", ei)) < 0 ||
        (r = declare_exchange(c, RG_AMQP_EX_RETRY, "direct", ei)) < 0 ||
        (r = declare_exchange(c, RG_AMQP_EX_DEAD, "fanout", ei)) < 0)
        return r;
    if ((r = declare_queue(c, RG_AMQP_Q_DEAD, NULL, NULL, 0, RG_AMQP_EX_DEAD, "", ei)) < 0 ||
        (r = declare_queue(c, RG_AMQP_Q_RENDER, RG_AMQP_EX_DEAD, NULL, 0, RG_AMQP_EX_TASKS,
                           RG_AMQP_RK_RENDER, ei)) < 0 ||
        (r = declare_queue(c, RG_AMQP_Q_RESULTS, RG_AMQP_EX_DEAD, NULL, 0, RG_AMQP_EX_RESULTS,
                           RG_AMQP_RK_RESULT, ei)) < 0)
        return r;
    for (size_t i = 0; i < ntiers; i++) {
        char name[64], key[32];
        snprintf(name, sizeof name, "rg.retry.%lld", (long long)tiers_ms[i]);
        snprintf(key, sizeof key, "%lld", (long long)tiers_ms[i]);
        /* Expiry is a dead-lettering reason of its own, so the loop retry -> rg.tasks is
         * not dropped by cycle detection: every retry is a new publish by rg-flow. */
        r = declare_queue(c, name, RG_AMQP_EX_TASKS, RG_AMQP_RK_RENDER, tiers_ms[i] * 5 / 4,
                          RG_AMQP_EX_RETRY, key, ei);
        if (r < 0)
            return r;
    }
    return 0;
}

int rg_amqp_declare_listener(struct rg_amqp *c, const char *exchange, const char *key, char *name,
                             size_t cap, struct rg_errinfo *ei)
{
    int r;
    if ((r = declare_exchange(c, exchange, "topic", ei)) < 0)
        return r;
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(c->conn, CHANNEL, amqp_empty_bytes, 0, 0 /* not durable */,
                           1 /* exclusive */, 1 /* auto-delete */, amqp_empty_table);
    if ((r = reply_err(amqp_get_rpc_reply(c->conn), "queue.declare", ei)) < 0)
        return r;
    if (!ok || ok->queue.len >= cap)
        return rg_errinfo_set(ei, RG_EAMQP, "queue.declare: no usable queue name");
    memcpy(name, ok->queue.bytes, ok->queue.len);
    name[ok->queue.len] = '\0';
    amqp_queue_bind(c->conn, CHANNEL, amqp_cstring_bytes(name), amqp_cstring_bytes(exchange),
                    amqp_cstring_bytes(key), amqp_empty_table);
    return reply_err(amqp_get_rpc_reply(c->conn), "queue.bind", ei);
}

int rg_amqp_confirm_select(struct rg_amqp *c, struct rg_errinfo *ei)
{
    amqp_confirm_select(c->conn, CHANNEL);
    return reply_err(amqp_get_rpc_reply(c->conn), "confirm.select", ei);
}

/* Marks the confirm for tag (or every tag up to it) in the batch [first, first+n). */
static void mark_confirm(uint64_t first, size_t n, int *done, int *status, uint64_t tag,
                         int multiple, int value)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t t = first + i;
        if (t == tag || (multiple && t < tag)) {
            if (!done[i] && status[i] == 0)
                status[i] = value;
            done[i] = 1;
        }
    }
}

int rg_amqp_publish(struct rg_amqp *c, const struct rg_amqp_msg *msgs, size_t n, int *status,
                    int timeout_ms, struct rg_errinfo *ei)
{
    int *done = NULL;
    size_t pending = n;
    uint64_t first = c->publish_seq + 1;
    int64_t deadline = now_ms() + timeout_ms;
    int r;

    done = rg_calloc(n ? n : 1, sizeof *done);
    for (size_t i = 0; i < n; i++) {
        amqp_basic_properties_t p;
        amqp_table_entry_t h[1];
        char exp[24];

        status[i] = 0;
        memset(&p, 0, sizeof p);
        p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                   AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_HEADERS_FLAG;
        p.content_type = amqp_cstring_bytes("application/json");
        p.delivery_mode = 2; /* persistent */
        p.message_id = amqp_cstring_bytes(msgs[i].message_id);
        h[0].key = amqp_cstring_bytes("x-attempt");
        h[0].value.kind = AMQP_FIELD_KIND_I64;
        h[0].value.value.i64 = msgs[i].attempt;
        p.headers.num_entries = 1;
        p.headers.entries = h;
        if (msgs[i].expiration_ms > 0) {
            snprintf(exp, sizeof exp, "%lld", (long long)msgs[i].expiration_ms);
            p._flags |= AMQP_BASIC_EXPIRATION_FLAG;
            p.expiration = amqp_cstring_bytes(exp);
        }
        amqp_bytes_t body = {msgs[i].len, (void *)msgs[i].body};
        r = amqp_basic_publish(c->conn, CHANNEL, amqp_cstring_bytes(msgs[i].exchange),
                               amqp_cstring_bytes(msgs[i].routing_key), 1 /* mandatory */, 0, &p,
                               body);
        if (r != AMQP_STATUS_OK) {
            r = rg_errinfo_set(ei, RG_EAMQP, "publish: %s", amqp_error_string2(r));
            goto out;
        }
        c->publish_seq++;
    }

    while (pending > 0) {
        amqp_frame_t f;
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            r = rg_errinfo_set(ei, -ETIMEDOUT, "publisher confirms timed out");
            goto out;
        }
        struct timeval tv = ms_tv((int)left);
        r = amqp_simple_wait_frame_noblock(c->conn, &f, &tv);
        if (r == AMQP_STATUS_TIMEOUT)
            continue;
        if (r != AMQP_STATUS_OK) {
            r = rg_errinfo_set(ei, RG_EAMQP, "waiting for confirms: %s", amqp_error_string2(r));
            goto out;
        }
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue; /* heartbeats */
        switch (f.payload.method.id) {
        case AMQP_BASIC_ACK_METHOD: {
            const amqp_basic_ack_t *a = f.payload.method.decoded;
            mark_confirm(first, n, done, status, a->delivery_tag, a->multiple, 0);
            break;
        }
        case AMQP_BASIC_NACK_METHOD: {
            const amqp_basic_nack_t *a = f.payload.method.decoded;
            mark_confirm(first, n, done, status, a->delivery_tag, a->multiple, RG_EAMQP);
            break;
        }
        case AMQP_BASIC_RETURN_METHOD: {
            /* The returned message follows (header + body); its message_id says which. */
            amqp_message_t m;
            amqp_rpc_reply_t rr = amqp_read_message(c->conn, f.channel, &m, 0);
            if (rr.reply_type != AMQP_RESPONSE_NORMAL) {
                r = reply_err(rr, "reading a returned message", ei);
                goto out;
            }
            if (m.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
                for (size_t i = 0; i < n; i++)
                    if (!done[i] && strlen(msgs[i].message_id) == m.properties.message_id.len &&
                        !memcmp(msgs[i].message_id, m.properties.message_id.bytes,
                                m.properties.message_id.len))
                        status[i] = -ENOENT;
            amqp_destroy_message(&m);
            break;
        }
        case AMQP_CHANNEL_CLOSE_METHOD:
        case AMQP_CONNECTION_CLOSE_METHOD:
            c->open = 0;
            r = rg_errinfo_set(ei, RG_EAMQP, "channel closed while publishing");
            goto out;
        default:
            break;
        }
        pending = 0;
        for (size_t i = 0; i < n; i++)
            pending += !done[i];
    }
    r = 0;
out:
    rg_free(done);
    amqp_maybe_release_buffers(c->conn);
    return r;
}

int rg_amqp_consume(struct rg_amqp *c, const char *queue, int prefetch, struct rg_errinfo *ei)
{
    int r;
    amqp_basic_qos(c->conn, CHANNEL, 0, (uint16_t)prefetch, 0);
    if ((r = reply_err(amqp_get_rpc_reply(c->conn), "basic.qos", ei)) < 0)
        return r;
    amqp_basic_consume(c->conn, CHANNEL, amqp_cstring_bytes(queue), amqp_empty_bytes, 0,
                       0 /* manual ack */, 0, amqp_empty_table);
    return reply_err(amqp_get_rpc_reply(c->conn), "basic.consume", ei);
}

static int64_t header_int(const amqp_table_t *t, const char *key)
{
    for (int i = 0; i < t->num_entries; i++) {
        const amqp_table_entry_t *e = &t->entries[i];
        if (e->key.len != strlen(key) || memcmp(e->key.bytes, key, e->key.len))
            continue;
        switch (e->value.kind) {
        case AMQP_FIELD_KIND_I8: return e->value.value.i8;
        case AMQP_FIELD_KIND_U8: return e->value.value.u8;
        case AMQP_FIELD_KIND_I16: return e->value.value.i16;
        case AMQP_FIELD_KIND_U16: return e->value.value.u16;
        case AMQP_FIELD_KIND_I32: return e->value.value.i32;
        case AMQP_FIELD_KIND_U32: return e->value.value.u32;
        case AMQP_FIELD_KIND_I64: return e->value.value.i64;
        case AMQP_FIELD_KIND_U64: return (int64_t)e->value.value.u64;
        default: return -1;
        }
    }
    return -1;
}

int rg_amqp_next(struct rg_amqp *c, int timeout_ms, struct rg_amqp_delivery *ret,
                 struct rg_errinfo *ei)
{
    amqp_envelope_t env;
    struct timeval tv = ms_tv(timeout_ms);
    amqp_rpc_reply_t rr;
    int r;

    amqp_maybe_release_buffers(c->conn);
    rr = amqp_consume_message(c->conn, &env, &tv, 0);
    if (rr.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
        if (rr.library_error == AMQP_STATUS_TIMEOUT)
            return 0;
        if (rr.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
            /* Not a delivery: a close or a cancel (we never publish on this connection). */
            amqp_frame_t f;
            struct timeval tv0 = ms_tv(timeout_ms);
            if (amqp_simple_wait_frame_noblock(c->conn, &f, &tv0) != AMQP_STATUS_OK)
                return rg_errinfo_set(ei, RG_EAMQP, "reading a frame failed");
            if (f.frame_type == AMQP_FRAME_METHOD &&
                (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
                 f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD ||
                 f.payload.method.id == AMQP_BASIC_CANCEL_METHOD)) {
                c->open = 0;
                return rg_errinfo_set(ei, RG_EAMQP, "consumer closed or cancelled by the broker");
            }
            return 0;
        }
        return rg_errinfo_set(ei, RG_EAMQP, "consume: %s", amqp_error_string2(rr.library_error));
    }
    if (rr.reply_type != AMQP_RESPONSE_NORMAL)
        return reply_err(rr, "consume", ei);

    memset(ret, 0, sizeof *ret);
    ret->tag = env.delivery_tag;
    ret->redelivered = env.redelivered;
    ret->attempt = -1;
    if (env.message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
        size_t l = env.message.properties.message_id.len;
        if (l >= sizeof ret->message_id)
            l = sizeof ret->message_id - 1;
        memcpy(ret->message_id, env.message.properties.message_id.bytes, l);
    }
    {
        size_t l = env.routing_key.len;
        if (l >= sizeof ret->routing_key)
            l = sizeof ret->routing_key - 1;
        memcpy(ret->routing_key, env.routing_key.bytes, l);
    }
    if (env.message.properties._flags & AMQP_BASIC_HEADERS_FLAG)
        ret->attempt = header_int(&env.message.properties.headers, "x-attempt");
    if (env.message.body.len > RG_AMQP_MAX_BODY) {
        ret->body = rg_strdup("");
        r = RG_ETOOBIG;
    } else {
        ret->body = rg_strndup(env.message.body.bytes, env.message.body.len);
        ret->len = env.message.body.len;
        r = 1;
    }
    amqp_destroy_envelope(&env);
    return r;
}

void rg_amqp_delivery_done(struct rg_amqp_delivery *d)
{
    if (d)
        d->body = rg_free(d->body);
}

int rg_amqp_ack(struct rg_amqp *c, uint64_t tag)
{
    return amqp_basic_ack(c->conn, CHANNEL, tag, 0) == AMQP_STATUS_OK ? 0 : RG_EAMQP;
}

int rg_amqp_reject(struct rg_amqp *c, uint64_t tag, int requeue)
{
    return amqp_basic_reject(c->conn, CHANNEL, tag, requeue) == AMQP_STATUS_OK ? 0 : RG_EAMQP;
}

int rg_amqp_queue_depth(struct rg_amqp *c, const char *queue, int64_t *ret_count,
                        struct rg_errinfo *ei)
{
    amqp_queue_declare_ok_t *ok = amqp_queue_declare(c->conn, CHANNEL, amqp_cstring_bytes(queue),
                                                     1 /* passive */, 0, 0, 0, amqp_empty_table);
    int r = reply_err(amqp_get_rpc_reply(c->conn), queue, ei);
    if (r < 0) {
        c->open = 0;
        return r;
    }
    *ret_count = ok ? ok->message_count : 0;
    return 0;
}
