/* RabbitMQ client helpers over rabbitmq-c 0.11 (see docs/flow.md and SYSTEM-NOTES §2).
 *
 * One struct rg_amqp is one connection with one channel (channel 1).  It is not thread
 * safe: a thread owns it.  Publishing and consuming use separate connections, because
 * waiting for publisher confirms on a consuming connection would swallow deliveries.
 * rabbitmq-c never reconnects: any negative return other than a timeout means the
 * connection is dead; free it, back off and connect again.  Nothing here logs. */
#ifndef RG_AMQP_H
#define RG_AMQP_H

#include <stddef.h>
#include <stdint.h>

#include "rg/err.h"

/* Names of the broker topology (DESIGN.md "Contracts"). */
#define RG_AMQP_EX_TASKS "rg.tasks"
#define RG_AMQP_EX_RESULTS "rg.results"
#define RG_AMQP_EX_NOTIFY "rg.notify"
#define RG_AMQP_EX_RETRY "rg.retry"
#define RG_AMQP_EX_DEAD "rg.dead"
#define RG_AMQP_Q_RENDER "rg.render"
#define RG_AMQP_Q_RESULTS "rg.results"
#define RG_AMQP_Q_DEAD "rg.dead"
#define RG_AMQP_RK_RENDER "render"
#define RG_AMQP_RK_RESULT "result"

/* Largest message body accepted from the broker (a task carries a resume snapshot of at
 * most 2 MiB plus its envelope). */
#define RG_AMQP_MAX_BODY (4u * 1024 * 1024)

struct rg_amqp;

/* Connects to url (amqp://user:pass@host:port/vhost), logs in and opens channel 1.
 * timeout_ms bounds the TCP connect, the handshake and every synchronous RPC.
 * heartbeat_s = 0 disables heartbeats (publishers that may sit idle between library
 * calls; rabbitmq-c only answers heartbeats inside calls).  Returns 0 and *ret, or
 * RG_EAMQP / -EINVAL (bad URL) with ei filled. */
int rg_amqp_connect(const char *url, int heartbeat_s, int timeout_ms, struct rg_amqp **ret,
                    struct rg_errinfo *ei);
/* Closes politely when still open; NULL-safe; returns NULL. */
struct rg_amqp *rg_amqp_free(struct rg_amqp *c);

/* Declares the shared topology, idempotently: exchanges rg.tasks, rg.results (direct),
 * rg.notify (topic), rg.retry (direct), rg.dead (fanout); queues rg.render (bound to
 * rg.tasks/render), rg.results (rg.results/result), rg.dead; rg.render and rg.results
 * dead-letter to rg.dead.  With ntiers > 0 also the retry queues rg.retry.<ms> for each
 * tier: bound to rg.retry with key "<ms>", message TTL = 5/4 of the tier (the upper
 * bound of a jittered per-message expiration), dead-lettering back to rg.tasks/render. */
int rg_amqp_declare_topology(struct rg_amqp *c, const int64_t *tiers_ms, size_t ntiers,
                             struct rg_errinfo *ei);

/* For a hub that listens to a topic exchange (rg-notify): declares the exchange (topic,
 * durable) and a server-named, exclusive, auto-delete queue bound to it with key.  The
 * queue lives as long as this connection, so a reconnect starts a new, empty one.  The
 * queue's name is written into name (cap bytes).  Returns 0 or RG_EAMQP with ei filled. */
int rg_amqp_declare_listener(struct rg_amqp *c, const char *exchange, const char *key, char *name,
                             size_t cap, struct rg_errinfo *ei);

/* Puts the channel in confirm mode (needed before rg_amqp_publish). */
int rg_amqp_confirm_select(struct rg_amqp *c, struct rg_errinfo *ei);

struct rg_amqp_msg {
    const char *exchange, *routing_key;
    const char *message_id; /* required: returned messages are matched by it */
    const void *body;
    size_t len;
    int64_t attempt;       /* header x-attempt */
    int64_t expiration_ms; /* per-message TTL; 0 = none */
};

/* Publishes n persistent JSON messages with mandatory=1 and waits (up to timeout_ms in
 * total) until the broker has confirmed every one.  status[i] is then 0 (confirmed and
 * routed), -ENOENT (returned as unroutable: the broker still acks those, SYSTEM-NOTES
 * §2.1) or RG_EAMQP (nacked).  Returns 0 when every message got its answer, -ETIMEDOUT,
 * or RG_EAMQP when the connection failed (then nothing is known about the batch). */
int rg_amqp_publish(struct rg_amqp *c, const struct rg_amqp_msg *msgs, size_t n, int *status,
                    int timeout_ms, struct rg_errinfo *ei);

/* basic.qos(prefetch) then basic.consume with manual acks. */
int rg_amqp_consume(struct rg_amqp *c, const char *queue, int prefetch, struct rg_errinfo *ei);

struct rg_amqp_delivery {
    uint64_t tag;
    char *body; /* owned, NUL-terminated; freed by rg_amqp_delivery_done */
    size_t len;
    char message_id[160];
    char routing_key[160]; /* truncated past 159 bytes */
    int64_t attempt; /* x-attempt header, -1 when absent */
    int redelivered;
};

/* Waits up to timeout_ms for the next delivery.  Returns 1 with *ret filled, 0 on
 * timeout, RG_EAMQP when the channel or connection closed, RG_ETOOBIG for a body over
 * RG_AMQP_MAX_BODY (*ret is then filled with an empty body so the caller can reject it). */
int rg_amqp_next(struct rg_amqp *c, int timeout_ms, struct rg_amqp_delivery *ret,
                 struct rg_errinfo *ei);
void rg_amqp_delivery_done(struct rg_amqp_delivery *d);

/* Acknowledges, or rejects (requeue = 0 dead-letters through the queue's DLX). */
int rg_amqp_ack(struct rg_amqp *c, uint64_t tag);
int rg_amqp_reject(struct rg_amqp *c, uint64_t tag, int requeue);

/* Messages ready in queue (passive declare); -ENOENT when it does not exist (the
 * channel is then closed by the broker: the connection must be re-made). */
int rg_amqp_queue_depth(struct rg_amqp *c, const char *queue, int64_t *ret_count,
                        struct rg_errinfo *ei);

#endif
