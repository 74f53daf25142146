/* Service endpoints (/metrics, /healthz) on libmicrohttpd; see include/rg/httpd.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <string.h>

#include "rg/httpd.h"
#include "rg/mem.h"

#define BODY_MAX (1024 * 1024)

struct rg_httpd {
    struct MHD_Daemon *d;
    rg_httpd_cb *cb;
    void *arg;
};

static void free_text(void *p)
{
    rg_free(p);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req_cls)
{
    struct rg_httpd *h = cls;
    struct rg_buf body;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    int status;

    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        rg_buf_init(&body, 64);
        (void)rg_buf_puts(&body, "method not allowed\n");
        status = 405;
    } else {
        rg_buf_init(&body, BODY_MAX);
        status = h->cb(h->arg, url, &body);
    }
    size_t len;
    char *text = rg_buf_take(&body, &len);
    resp = MHD_create_response_from_buffer_with_free_callback(len, text, free_text);
    MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

struct rg_httpd *rg_httpd_start(const char *addr, int port, rg_httpd_cb *cb, void *arg,
                                struct rg_errinfo *ei)
{
    struct sockaddr_in sa;
    struct rg_httpd *h;

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        rg_errinfo_set(ei, -EINVAL, "listen address %s is not an IPv4 literal", addr);
        return NULL;
    }
    h = rg_calloc(1, sizeof *h);
    h->cb = cb;
    h->arg = arg;
    h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)port, NULL,
                            NULL, handle, h, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_LIMIT, 64u,
                            MHD_OPTION_END);
    if (!h->d) {
        rg_errinfo_set(ei, -EADDRINUSE, "cannot listen on %s:%d", addr, port);
        return rg_free(h);
    }
    return h;
}

struct rg_httpd *rg_httpd_stop(struct rg_httpd *h)
{
    if (!h)
        return NULL;
    MHD_stop_daemon(h->d);
    return rg_free(h);
}

static const double hist_le[RG_HIST_NB] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                           0.25,  0.5,    1,     2.5,  5,     10,  30};

void rg_hist_observe(struct rg_hist *h, int64_t us)
{
    double s = (double)us / 1e6;
    for (int i = 0; i < RG_HIST_NB; i++)
        if (s <= hist_le[i]) {
            __atomic_add_fetch(&h->bucket[i], 1, __ATOMIC_RELAXED);
            break;
        }
    __atomic_add_fetch(&h->count, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&h->sum_us, (uint64_t)(us > 0 ? us : 0), __ATOMIC_RELAXED);
}

int rg_hist_write(struct rg_buf *b, const char *name, const char *labels, const struct rg_hist *h)
{
    uint64_t cum = 0;
    const char *sep = labels && *labels ? "," : "";
    const char *lab = labels ? labels : "";
    int r = 0;
    for (int i = 0; i < RG_HIST_NB && r == 0; i++) {
        cum += __atomic_load_n(&h->bucket[i], __ATOMIC_RELAXED);
        r = rg_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, lab, sep, hist_le[i],
                          (unsigned long long)cum);
    }
    uint64_t count = __atomic_load_n(&h->count, __ATOMIC_RELAXED);
    if (r == 0)
        r = rg_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, lab, sep,
                          (unsigned long long)count);
    /* No labels: no braces (`name_sum{}` parses, but nothing else prints it so). */
    const char *open = *lab ? "{" : "", *close = *lab ? "}" : "";
    if (r == 0)
        r = rg_buf_printf(b, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n", name, open, lab, close,
                          (double)__atomic_load_n(&h->sum_us, __ATOMIC_RELAXED) / 1e6, name,
                          open, lab, close, (unsigned long long)count);
    return r;
}

int rg_hist_write_typed(struct rg_buf *b, const char *name, const struct rg_hist *h)
{
    int r = rg_buf_printf(b, "# TYPE %s histogram\n", name);
    return r == 0 ? rg_hist_write(b, name, NULL, h) : r;
}

int rg_origin_allowed(const char *allowed, const char *origin, const char *host)
{
    size_t ol = strlen(origin);
    for (const char *list = allowed; *list;) {
        size_t n = strcspn(list, ",");
        const char *it = list;
        while (n && *it == ' ')
            it++, n--;
        size_t m = n;
        while (m && it[m - 1] == ' ')
            m--;
        if (m == ol && strncmp(it, origin, ol) == 0)
            return 1;
        list += strcspn(list, ",");
        if (*list == ',')
            list++;
    }
    const char *rest = strncmp(origin, "https://", 8) == 0  ? origin + 8
                       : strncmp(origin, "http://", 7) == 0 ? origin + 7
                                                            : NULL;
    return rest && host && *host && strcmp(rest, host) == 0;
}
