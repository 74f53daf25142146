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
 * Limits: cairo 1.16 is not safe with renderers in several threads of one process
 * (include/rg/render.h), so one renderer renders one preview at a time under a mutex.
 * Handlers run on MHD's few worker threads: at most preview_max requests may hold or
 * wait for the renderer (the rest get 503 preview_busy with Retry-After at once, and
 * keep the other threads free for the rest of the API), and none waits longer than
 * preview_wait.  The renderer (fonts, themes) is made at the first preview, so an
 * rg-core that serves none does not pay its memory. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core.h"
#include "rg/json.h"
#include "rg/log.h"
#include "rg/mem.h"
#include "rg/render.h"

#define PREVIEW_WIDTH_DEFAULT 600

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rg_renderer *renderer; /* guarded by lock */
static atomic_int inside;            /* requests holding or waiting for lock */

void core_preview_done(void)
{
    pthread_mutex_lock(&lock);
    renderer = rg_renderer_free(renderer);
    pthread_mutex_unlock(&lock);
}

static void reply_busy(struct core_req *req, const char *why)
{
    core_header_add(req, "Retry-After", "1");
    core_reply_error(req, 503, "preview_busy", why, NULL);
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

/* Takes the renderer: 0 with lock held, or a negative value after replying 503. */
static int take(struct core_req *req)
{
    struct timespec until;
    int e;

    if (atomic_fetch_add(&inside, 1) >= core_cfg->preview_max) {
        atomic_fetch_sub(&inside, 1);
        reply_busy(req, "too many previews are being drawn; try again in a moment");
        return -EBUSY;
    }
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += core_cfg->preview_wait_ms / 1000;
    until.tv_nsec += (core_cfg->preview_wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    e = pthread_mutex_timedlock(&lock, &until);
    if (e) {
        atomic_fetch_sub(&inside, 1);
        reply_busy(req, "the preview renderer is busy; try again in a moment");
        return -e;
    }
    return 0;
}

static void give(void)
{
    pthread_mutex_unlock(&lock);
    atomic_fetch_sub(&inside, 1);
}

void core_h_preview(struct core_req *req)
{
    static const char *const keys[] = {"data"};
    struct rg_render_opts o = {NULL, NULL, NULL, NULL, 0};
    struct core_loaded l = {0};
    struct rg_errinfo ei = {.msg = ""};
    struct rg_diags diags = {0};
    struct rg_str sp[1];
    struct rg_buf png;
    json_t *body = NULL;
    int64_t width = PREVIEW_WIDTH_DEFAULT;
    int npages = 0, ndrawn = 0, r;
    char hdr[32];

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
    /* The loader reads `data` from the raw body (its pointers then match the request). */
    if (core_json_members(req->body.ptr, req->body.len, keys, 1, sp) < 0 || !sp[0].ptr) {
        core_reply_error(req, 400, "invalid_json", "the body could not be read", NULL);
        goto out;
    }
    if (core_resume_load(req, sp[0].ptr, sp[0].len, "/data", 0, &l) < 0)
        goto out;

    if (take(req) < 0)
        goto out;
    if (!renderer) {
        renderer = rg_renderer_new(core_cfg->data_dir, &ei);
        if (!renderer) {
            give();
            RG_LOG(RG_LOG_ERROR, RG_EVENT("preview.renderer_failed"), RG_KV_STR("error", ei.msg));
            core_reply_error(req, 503, "preview_unavailable", "the preview renderer could not start",
                             NULL);
            goto out;
        }
    }
    rg_buf_init(&png, 8u * 1024 * 1024);
    r = rg_render_png(renderer, l.doc, &o, (int)width, 0, &png, &npages, &ndrawn, &diags, &ei);
    give();
    if (r == RG_ETHEME)
        core_reply_error(req, 422, "invalid_theme", "no such theme (see /api/v1/themes)", "/theme");
    else if (r == -EINVAL)
        core_reply_error(req, 422, "invalid_locale", ei.msg, "/locale");
    else if (r == RG_ETOOBIG)
        core_reply_error(req, 413, "preview_too_large", ei.msg, NULL);
    else if (r < 0) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("preview.render_failed"), RG_KV_STR("error", ei.msg));
        core_reply_error(req, 500, "render_failed", "the preview could not be drawn", NULL);
    } else {
        core_reply_raw(req, 200, "image/png", png.ptr, png.len);
        core_header_add(req, "Cache-Control", "no-store");
        snprintf(hdr, sizeof hdr, "%d", npages);
        core_header_add(req, "X-Pages", hdr);
        snprintf(hdr, sizeof hdr, "%d", ndrawn);
        core_header_add(req, "X-Pages-Drawn", hdr);
        snprintf(hdr, sizeof hdr, "%zu", json_array_size(l.warnings) + diags.n);
        core_header_add(req, "X-Warnings", hdr);
    }
    rg_buf_done(&png);
out:
    rg_diags_done(&diags);
    core_loaded_done(&l);
    json_decref(body);
}
