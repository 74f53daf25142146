/* Helper for the flow integration tests (it-flow.py): talks to the real RabbitMQ and S3
 * server through librg-io, so the tests exercise the same client code as the daemons.
 *
 *   it-flow-tool publish AMQP_URL EXCHANGE ROUTING_KEY BODY   publish with confirms; exit 0
 *                                                             when confirmed and routed
 *   it-flow-tool depth AMQP_URL QUEUE                         prints the ready count
 *   it-flow-tool declare AMQP_URL                             declares the topology
 *   it-flow-tool s3-get STORAGE_URL KEY                       object to stdout (3 = absent)
 *   it-flow-tool s3-check STORAGE_URL                         put/exists/get/delete round
 *                                                             trips for awkward keys */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rg/amqp.h"
#include "rg/mem.h"
#include "rg/storage.h"

static int fail(const char *what, const struct rg_errinfo *ei)
{
    fprintf(stderr, "it-flow-tool: %s: %s\n", what, ei->msg);
    return 1;
}

static int s3_check(const char *url)
{
    static const char *const keys[] = {"plain.pdf", "dt=1/a+b.txt", "with space/é ü.pdf",
                                       "x~y_z-1.2/deep/er/key"};
    struct rg_storage *s = NULL;
    struct rg_errinfo ei = {0};
    int bad = 0;

    if (rg_storage_open(url, &s, &ei) < 0)
        return fail("open", &ei);
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char body[256];
        int n = snprintf(body, sizeof body, "%%PDF-1.7 object %zu with a NUL:", i);
        body[n++] = 0; /* binary content must survive */
        body[n++] = 'x';
        struct rg_buf got;
        rg_buf_init(&got, 1 << 20);
        int r = rg_storage_put(s, keys[i], body, (size_t)n, "application/pdf", &ei);
        if (r < 0) {
            printf("FAIL put %s: %s\n", keys[i], ei.msg);
            bad++;
        } else if ((r = rg_storage_exists(s, keys[i], &ei)) != 1) {
            printf("FAIL exists %s: %d %s\n", keys[i], r, ei.msg);
            bad++;
        } else if ((r = rg_storage_get(s, keys[i], &got, &ei)) < 0 || got.len != (size_t)n ||
                   memcmp(got.ptr, body, (size_t)n)) {
            printf("FAIL get %s: %d (%zu bytes) %s\n", keys[i], r, got.len, ei.msg);
            bad++;
        } else if ((r = rg_storage_delete(s, keys[i], &ei)) < 0 ||
                   (r = rg_storage_exists(s, keys[i], &ei)) != 0) {
            printf("FAIL delete %s: %d %s\n", keys[i], r, ei.msg);
            bad++;
        } else {
            printf("ok %s\n", keys[i]);
        }
        rg_buf_done(&got);
    }
    struct rg_buf got;
    rg_buf_init(&got, 1024);
    int r = rg_storage_get(s, "missing/object", &got, &ei);
    if (r != -ENOENT) {
        printf("FAIL get of a missing object gave %d\n", r);
        bad++;
    }
    rg_buf_done(&got);
    rg_storage_free(s);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct rg_errinfo ei = {0};
    struct rg_amqp *c = NULL;
    int rc = 2;

    if (argc >= 6 && !strcmp(argv[1], "publish")) {
        int status = 0;
        struct rg_amqp_msg m = {argv[3], argv[4], "it-flow-tool", argv[5], strlen(argv[5]), 1, 0};
        if (rg_amqp_connect(argv[2], 0, 5000, &c, &ei) < 0 || rg_amqp_confirm_select(c, &ei) < 0 ||
            rg_amqp_publish(c, &m, 1, &status, 5000, &ei) < 0)
            rc = fail("publish", &ei);
        else
            rc = status == 0 ? 0 : 1;
    } else if (argc >= 4 && !strcmp(argv[1], "depth")) {
        int64_t n = 0;
        if (rg_amqp_connect(argv[2], 0, 5000, &c, &ei) < 0 || rg_amqp_queue_depth(c, argv[3], &n, &ei) < 0)
            rc = fail("depth", &ei);
        else {
            printf("%lld\n", (long long)n);
            rc = 0;
        }
    } else if (argc >= 3 && !strcmp(argv[1], "declare")) {
        if (rg_amqp_connect(argv[2], 0, 5000, &c, &ei) < 0 ||
            rg_amqp_declare_topology(c, NULL, 0, &ei) < 0)
            rc = fail("declare", &ei);
        else
            rc = 0;
    } else if (argc >= 4 && !strcmp(argv[1], "s3-get")) {
        struct rg_storage *s = NULL;
        struct rg_buf b;
        rg_buf_init(&b, 64u << 20);
        if (rg_storage_open(argv[2], &s, &ei) < 0) {
            rc = fail("open", &ei);
        } else {
            int r = rg_storage_get(s, argv[3], &b, &ei);
            if (r == -ENOENT)
                rc = 3;
            else if (r < 0)
                rc = fail("get", &ei);
            else
                rc = fwrite(b.ptr, 1, b.len, stdout) == b.len ? 0 : 1;
        }
        rg_buf_done(&b);
        rg_storage_free(s);
    } else if (argc >= 3 && !strcmp(argv[1], "s3-check")) {
        rc = s3_check(argv[2]);
    } else {
        fprintf(stderr, "usage: it-flow-tool publish|depth|declare|s3-get|s3-check ...\n");
    }
    rg_amqp_free(c);
    return rc;
}
