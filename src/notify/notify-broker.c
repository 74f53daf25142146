/* The broker thread: consumes rg.notify through this hub's own queue and hands the
 * messages to the service thread.
 *
 * The queue is server-named, exclusive and auto-delete, bound with key user.*: it lives
 * exactly as long as this connection.  Whatever was published while the hub had no queue
 * (broker restart, lost connection) never reaches it; that is why each (re)subscribe
 * bumps hub->broker_gen, and the service thread then replays from PostgreSQL, for every
 * socket, what came after the last id the socket got (notify-ws.c).
 *
 * All parsing happens here, off the service thread: the routing key gives the user, the
 * body must be a JSON object with positive integers "id" and "seq".  The body is passed on as it
 * is (it is the WebSocket message, byte for byte what the replay reads from PostgreSQL).
 * Deliveries are acked once handed over: the broker copy buys nothing, PostgreSQL has it. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify.h"
#include "rg/amqp.h"
#include "rg/log.h"
#include "rg/mem.h"

static void sleep_ms(struct notify_hub *hub, int64_t ms)
{
    while (ms > 0 && !hub->stop) {
        int64_t s = ms > 50 ? 50 : ms;
        struct timespec ts = {0, (long)s * 1000000L};
        nanosleep(&ts, NULL);
        ms -= s;
    }
}

/* "user.<digits>" -> the user id, or 0. */
static int64_t routing_user(const char *rk)
{
    if (strncmp(rk, "user.", 5) != 0 || !rk[5])
        return 0;
    char *end;
    long long v = strtoll(rk + 5, &end, 10);
    return *end || v <= 0 ? 0 : (int64_t)v;
}

static void hand_over(struct notify_hub *hub, struct notify_msg *m)
{
    int wake;
    pthread_mutex_lock(&hub->mu);
    wake = hub->inbox == NULL;
    *hub->inbox_tail = m;
    hub->inbox_tail = &m->next;
    pthread_mutex_unlock(&hub->mu);
    /* The service thread drains the whole inbox on each wake: one wake per batch. */
    if (wake)
        lws_cancel_service(hub->lws);
}

static void consume(struct notify_hub *hub, struct rg_amqp *c)
{
    struct notify_stats *st = hub->stats;
    struct rg_errinfo ei = {0};

    while (!hub->stop) {
        struct rg_amqp_delivery d;
        int r = rg_amqp_next(c, 200, &d, &ei);
        if (r == 0)
            continue;
        if (r < 0 && r != RG_ETOOBIG) {
            RG_LOG(RG_LOG_WARN, RG_EVENT("notify.broker_lost"), RG_KV_STR("msg", ei.msg));
            return;
        }
        int64_t t = notify_now_us();
        int64_t uid = r == RG_ETOOBIG ? 0 : routing_user(d.routing_key);
        json_t *doc = NULL;
        json_int_t id = 0, seq = 0;
        if (uid > 0 && d.len <= 64 * 1024) {
            doc = json_loadb(d.body, d.len, JSON_REJECT_DUPLICATES, NULL);
            json_t *jid = json_is_object(doc) ? json_object_get(doc, "id") : NULL;
            json_t *jseq = json_is_object(doc) ? json_object_get(doc, "seq") : NULL;
            id = json_is_integer(jid) ? json_integer_value(jid) : 0;
            seq = json_is_integer(jseq) ? json_integer_value(jseq) : 0;
            json_decref(doc);
        }
        NOTIFY_ADD(st, msgs_in, 1);
        if (id <= 0 || seq <= 0) {
            NOTIFY_ADD(st, msgs_malformed, 1);
            RG_LOG(RG_LOG_WARN, RG_EVENT("notify.malformed_message"),
                   RG_KV_STR("routing_key", d.routing_key), RG_KV_STR("message_id", d.message_id),
                   RG_KV_I64("len", (int64_t)d.len));
        } else {
            struct notify_msg *m = notify_msg_new(d.body, d.len, uid, id);
            m->seq = seq;
            m->t_recv_us = t;
            hand_over(hub, m);
        }
        r = rg_amqp_ack(c, d.tag);
        rg_amqp_delivery_done(&d);
        if (r < 0) {
            RG_LOG(RG_LOG_WARN, RG_EVENT("notify.broker_lost"), RG_KV_STR("msg", "ack failed"));
            return;
        }
    }
}

void *notify_broker_main(void *arg)
{
    struct notify_hub *hub = arg;
    const struct notify_config *cfg = hub->cfg;
    int64_t backoff = 250;
    int first = 1;

    while (!hub->stop) {
        struct rg_amqp *c = NULL;
        struct rg_errinfo ei = {0};
        char queue[256];
        int r = rg_amqp_connect(cfg->amqp_url, 30, (int)cfg->amqp_timeout, &c, &ei);
        if (r == 0)
            r = rg_amqp_declare_listener(c, RG_AMQP_EX_NOTIFY, "user.*", queue, sizeof queue, &ei);
        if (r == 0)
            r = rg_amqp_consume(c, queue, (int)cfg->prefetch, &ei);
        if (r < 0) {
            RG_LOG(RG_LOG_WARN, RG_EVENT("notify.broker_connect_failed"), RG_KV_STR("msg", ei.msg),
                   RG_KV_I64("retry_ms", backoff));
            rg_amqp_free(c);
            sleep_ms(hub, backoff);
            backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
            continue;
        }
        backoff = 250;
        if (!first)
            NOTIFY_ADD(hub->stats, broker_reconnects, 1);
        first = 0;
        RG_LOG(RG_LOG_INFO, RG_EVENT("notify.broker_subscribed"), RG_KV_STR("queue", queue));
        /* Subscribed: whatever was published before now and after the sockets' last ids
         * must come from PostgreSQL (notify-ws.c catches up on the new generation). */
        pthread_mutex_lock(&hub->mu);
        hub->broker_gen++;
        pthread_mutex_unlock(&hub->mu);
        NOTIFY_SET(hub->stats, broker_ok, 1);
        lws_cancel_service(hub->lws);
        consume(hub, c);
        NOTIFY_SET(hub->stats, broker_ok, 0);
        rg_amqp_free(c);
        if (!hub->stop)
            sleep_ms(hub, 100);
    }
    return NULL;
}
