/* POST /api/v1/preview: a PNG of a resume that is not saved yet, for the editor's live
 * preview.
 *
 * Why here and not through the pipeline: the PDF pipeline (save, run, queue, render,
 * store, notify, fetch, draw with pdf.js) takes ~400 ms after the editor's autosave
 * pause; a person typing wants the page to follow them.  The draft is rendered by the same
 * library and display list as the PDF (rg_render_png), drawn here, and answered at once;
 * nothing is stored, versioned or shared, so it is cheap to throw away at the next key.
 * The saved version still goes through the pipeline for the PDF to download and share.
 *
 * Threads: cairo 1.16 is not safe with renderers in several threads of one process
 * (include/rg/render.h), so one thread of its own, with one renderer (made at the first
 * preview: an rg-core that serves none does not pay for fonts and themes), draws the
 * previews one at a time.  The handler checks and loads the body on its MHD worker
 * thread, queues the job and suspends the connection; the render thread answers and
 * resumes it.  So a long render never holds a worker thread, whose other connections
 * (kept alive by the edge proxy) would otherwise wait for it.
 *
 * Limits: at most preview_max previews are queued or drawing (more get 503 preview_busy
 * with Retry-After at once), at most two of them one user's, and one that waits
 * preview_wait for the renderer is answered 503 then (a small expiry thread watches the
 * head of the queue while the render thread is inside a long draw).  On shutdown the
 * queued ones are answered 503, the one being drawn gets until half the grace period. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "rg/json.h"
#include "rg/log.h"
#include "rg/mem.h"
#include "rg/render.h"

#define PREVIEW_WIDTH_DEFAULT 600
#define PREVIEW_PER_USER 2

struct job {
    struct core_req *req; /* NULL once answered by shutdown (the render's result is dropped) */
    json_t *doc;
    char theme[65], paper[65], locale[65];
    int width;
    int64_t uid, queued_ns;
    size_t nwarnings; /* from the loader */
    struct job *next;
};

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static struct job *qhead, *qtail; /* guarded by qlock, as are the fields below */
static struct job *drawing;       /* the job being drawn */
static int njobs;                 /* queued + drawing */
static int stopping, thread_started;
static pthread_t thread, expirer;
static pthread_cond_t econd; /* wakes the expirer: a job queued, or stopping (CLOCK_MONOTONIC) */
static struct rg_renderer *renderer; /* the render thread's only */

static void reply_busy(struct core_req *req, const char *why)
{
    core_header_add(req, "Retry-After", "1");
    core_reply_error(req, 503, "preview_busy", why, NULL);
}

static void job_free(struct job *j)
{
    json_decref(j->doc);
    rg_free(j);
}

/* Takes the head of the queue (qlock held, queue not empty). */
static struct job *pop(void)
{
    struct job *j = qhead;
    qhead = j->next;
    if (!qhead)
        qtail = NULL;
    return j;
}

/* Answers a job that will not be drawn 503 and lets its connection go (qlock held). */
static void refuse(struct job *j, const char *why)
{
    reply_busy(j->req, why);
    core_req_resume(j->req);
    njobs--;
    job_free(j);
}

/* Draws j (without qlock: nothing else touches the renderer) and, if its request is still
 * waiting, answers and resumes it. */
static void draw(struct job *j)
{
    struct rg_render_opts o = {j->theme, j->paper, j->locale, NULL, 0};
    struct rg_errinfo ei = {.msg = ""};
    struct rg_diags diags = {0};
    struct rg_buf png;
    int npages = 0, ndrawn = 0, r;
    char hdr[32];

    rg_buf_init(&png, 8u * 1024 * 1024);
    if (!renderer) {
        renderer = rg_renderer_new(core_cfg->data_dir, &ei);
        if (!renderer)
            RG_LOG(RG_LOG_ERROR, RG_EVENT("preview.renderer_failed"), RG_KV_STR("error", ei.msg));
    }
    r = renderer ? rg_render_png(renderer, j->doc, &o, j->width, 0, &png, &npages, &ndrawn, &diags, &ei)
                 : RG_ERENDER;
    pthread_mutex_lock(&qlock);
    struct core_req *req = j->req;
    drawing = NULL;
    njobs--;
    if (req) {
        if (!renderer)
            core_reply_error(req, 503, "preview_unavailable", "the preview renderer could not start", NULL);
        else if (r == RG_ETHEME)
            core_reply_error(req, 422, "invalid_theme", "no such theme (see /api/v1/themes)", "/theme");
        else if (r == -EINVAL)
            core_reply_error(req, 422, "invalid_locale", ei.msg, "/locale");
        else if (r == RG_ETOOBIG)
            core_reply_error(req, 413, "preview_too_large", ei.msg, NULL);
        else if (r < 0) {
            RG_LOG(RG_LOG_ERROR, RG_EVENT("preview.render_failed"), RG_KV_STR("req_id", req->id),
                   RG_KV_STR("error", ei.msg));
            core_reply_error(req, 500, "render_failed", "the preview could not be drawn", NULL);
        } else {
            core_reply_raw(req, 200, "image/png", png.ptr, png.len);
            core_header_add(req, "Cache-Control", "no-store");
            snprintf(hdr, sizeof hdr, "%d", npages);
            core_header_add(req, "X-Pages", hdr);
            snprintf(hdr, sizeof hdr, "%d", ndrawn);
            core_header_add(req, "X-Pages-Drawn", hdr);
            snprintf(hdr, sizeof hdr, "%zu", j->nwarnings + diags.n);
            core_header_add(req, "X-Warnings", hdr);
        }
        core_req_resume(req);
    }
    pthread_mutex_unlock(&qlock);
    rg_buf_done(&png);
    rg_diags_done(&diags);
    job_free(j);
}

static void *render_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&qlock);
    for (;;) {
        while (!qhead && !stopping)
            pthread_cond_wait(&qcond, &qlock);
        if (!qhead)
            break; /* stopping, nothing left */
        struct job *j = pop();
        /* A client that left (the editor sent a newer draft, the tab closed) is not drawn for. */
        int gone = core_req_client_gone(j->req);
        if (gone || stopping || core_now_ns() - j->queued_ns > core_cfg->preview_wait_ms * 1000000) {
            if (gone)
                RG_LOG(RG_LOG_INFO, RG_EVENT("preview.skipped"), RG_KV_STR("req_id", j->req->id),
                       RG_KV_STR("why", "client_gone"));
            refuse(j, stopping ? "the service is shutting down" : "the preview renderer is busy; try again in a moment");
            continue;
        }
        drawing = j;
        pthread_mutex_unlock(&qlock);
        draw(j);
        pthread_mutex_lock(&qlock);
    }
    pthread_mutex_unlock(&qlock);
    return NULL;
}

/* Answers 503 the jobs that waited preview_wait at the head of the queue while the render
 * thread is inside a long draw (it checks only when it takes the next job).  The queue is
 * in arrival order, so the head is always the first to expire. */
static void *expire_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&qlock);
    while (!stopping) {
        if (!qhead) {
            pthread_cond_wait(&econd, &qlock);
            continue;
        }
        int64_t due = qhead->queued_ns + core_cfg->preview_wait_ms * 1000000;
        if (core_now_ns() >= due) {
            refuse(pop(), "the preview renderer is busy; try again in a moment");
            continue;
        }
        struct timespec ts = {(time_t)(due / 1000000000), (long)(due % 1000000000)};
        pthread_cond_timedwait(&econd, &qlock, &ts);
    }
    pthread_mutex_unlock(&qlock);
    return NULL;
}

void core_preview_quiesce(int64_t wait_ms)
{
    pthread_mutex_lock(&qlock);
    stopping = 1;
    if (!thread_started) {
        pthread_mutex_unlock(&qlock);
        return;
    }
    pthread_cond_broadcast(&qcond);
    pthread_cond_broadcast(&econd);
    /* The queued ones are answered by the render thread as it drains the queue; the one
     * being drawn gets until wait_ms, then its request is answered here. */
    int64_t deadline = core_now_ns() + wait_ms * 1000000;
    while ((drawing || qhead) && core_now_ns() < deadline) {
        pthread_mutex_unlock(&qlock);
        usleep(10000);
        pthread_mutex_lock(&qlock);
    }
    /* Past the deadline nothing may stay suspended (MHD_stop_daemon aborts on one): the
     * jobs still queued behind a long render are answered here too. */
    while (qhead)
        refuse(pop(), "the service is shutting down");
    if (drawing && drawing->req) {
        reply_busy(drawing->req, "the service is shutting down");
        core_req_resume(drawing->req);
        drawing->req = NULL;
        RG_LOG(RG_LOG_WARN, RG_EVENT("preview.abandoned"), RG_KV_STR("why", "shutdown"));
    }
    pthread_mutex_unlock(&qlock);
}

int core_preview_done(void)
{
    pthread_mutex_lock(&qlock);
    int busy = drawing != NULL, started = thread_started;
    pthread_mutex_unlock(&qlock);
    /* A render still running at exit is left to the exit (pango cannot be interrupted). */
    if (started)
        pthread_join(expirer, NULL);
    if (started && !busy) {
        pthread_join(thread, NULL);
        renderer = rg_renderer_free(renderer);
    }
    return started && busy;
}

/* A string member of body, or def when absent; NULL (after a 422) when not a string. */
static const char *opt_str(struct core_req *req, json_t *body, const char *key, const char *def,
                           const char *ptr)
{
    json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v))
        return def;
    if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 64 ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s must be a non-empty string of at most 64 bytes", key);
        core_reply_error(req, 422, "invalid_field", msg, ptr);
        return NULL;
    }
    return json_string_value(v);
}

void core_h_preview(struct core_req *req)
{
    struct rg_render_opts o = {NULL, NULL, NULL, NULL, 0};
    struct core_loaded l = {0};
    json_t *body = NULL;
    int64_t width = PREVIEW_WIDTH_DEFAULT;

    /* Cheap refusals first: a full queue or an oversized draft costs no parsing. */
    if ((int64_t)req->body.len > core_cfg->preview_max_body) {
        core_reply_error(req, 413, "body_too_large", "a draft for a preview is too large", NULL);
        return;
    }
    pthread_mutex_lock(&qlock);
    int full = njobs >= core_cfg->preview_max;
    pthread_mutex_unlock(&qlock);
    if (full) {
        reply_busy(req, "too many previews are being drawn; try again in a moment");
        return;
    }
    if (core_req_json(req, 0, &body) < 0)
        return;
    if (!json_is_object(body)) {
        core_reply_error(req, 422, "invalid_body", "the body must be a JSON object", "");
        goto out;
    }
    if (!json_is_object(json_object_get(body, "data"))) {
        core_reply_error(req, 422, "invalid_field", "data (the JSON Resume document) must be an object",
                         "/data");
        goto out;
    }
    if (!(o.theme = opt_str(req, body, "theme", "classic", "/theme")) ||
        !(o.paper = opt_str(req, body, "paper", "a4", "/paper")) ||
        !(o.locale = opt_str(req, body, "locale", "en", "/locale")))
        goto out;
    if (strcasecmp(o.paper, "a4") && strcasecmp(o.paper, "letter")) {
        core_reply_error(req, 422, "invalid_paper", "paper must be \"a4\" or \"letter\"", "/paper");
        goto out;
    }
    json_t *w = json_object_get(body, "width");
    if (w && !json_is_null(w)) {
        if (!json_is_integer(w) || json_integer_value(w) < RG_PNG_MIN_WIDTH ||
            json_integer_value(w) > core_cfg->preview_max_width) {
            char msg[96];
            snprintf(msg, sizeof msg, "width must be a whole number of pixels from %d to %" PRId64,
                     RG_PNG_MIN_WIDTH, core_cfg->preview_max_width);
            core_reply_error(req, 422, "invalid_field", msg, "/width");
            goto out;
        }
        width = json_integer_value(w);
    }
    char *text = json_dumps(json_object_get(body, "data"), JSON_COMPACT);
    int r = core_resume_load(req, text, strlen(text), "/data", 0, &l);
    rg_free(text);
    if (r < 0)
        goto out;

    pthread_mutex_lock(&qlock);
    int mine = 0;
    for (struct job *j = qhead; j; j = j->next)
        mine += j->uid == req->uid;
    mine += drawing && drawing->uid == req->uid;
    if (stopping) {
        pthread_mutex_unlock(&qlock);
        reply_busy(req, "the service is shutting down");
        goto out;
    }
    if (njobs >= core_cfg->preview_max || mine >= PREVIEW_PER_USER) {
        pthread_mutex_unlock(&qlock);
        reply_busy(req, mine >= PREVIEW_PER_USER ? "your previous previews are still being drawn; try again in a moment"
                                                 : "too many previews are being drawn; try again in a moment");
        goto out;
    }
    if (!thread_started) {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* core_now_ns's clock */
        pthread_cond_init(&econd, &ca);
        pthread_condattr_destroy(&ca);
        int e = pthread_create(&thread, NULL, render_main, NULL);
        if (!e && (e = pthread_create(&expirer, NULL, expire_main, NULL)) != 0) {
            stopping = 1; /* the render thread, already running, ends */
            pthread_cond_broadcast(&qcond);
        }
        if (e) {
            pthread_mutex_unlock(&qlock);
            RG_LOG(RG_LOG_ERROR, RG_EVENT("preview.thread_failed"), RG_KV_STR("error", strerror(e)));
            core_reply_error(req, 503, "preview_unavailable", "the preview renderer could not start", NULL);
            goto out;
        }
        thread_started = 1;
    }
    struct job *j = rg_calloc(1, sizeof *j);
    j->req = req;
    j->doc = l.doc;
    l.doc = NULL;
    snprintf(j->theme, sizeof j->theme, "%s", o.theme);
    snprintf(j->paper, sizeof j->paper, "%s", o.paper);
    snprintf(j->locale, sizeof j->locale, "%s", o.locale);
    j->width = (int)width;
    j->uid = req->uid;
    j->queued_ns = core_now_ns();
    j->nwarnings = json_array_size(l.warnings);
    /* Suspended before the job is visible: the render thread may resume it at once. */
    core_req_defer(req);
    if (qtail)
        qtail->next = j;
    else
        qhead = j;
    qtail = j;
    njobs++;
    pthread_cond_signal(&qcond);
    pthread_cond_signal(&econd);
    pthread_mutex_unlock(&qlock);
out:
    core_loaded_done(&l);
    json_decref(body);
}
