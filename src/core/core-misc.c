/* Service routes: health, readiness, metrics, the OpenAPI document, and the themes list.
 *
 * Themes are read from data_dir/themes/NAME.json once at start-up (name, description,
 * columns), the same files and the same reply shape as the renderer's rg_render_themes;
 * reading them directly keeps pango/cairo and their fonts out of rg-core's memory. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "rg/json.h"
#include "rg/log.h"
#include "rg/mem.h"

static json_t *themes;

static int cmp_names(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "name")),
                  json_string_value(json_object_get(*(json_t *const *)b, "name")));
}

void core_themes_init(void)
{
    char *dir = rg_asprintf("%s/themes", core_cfg->data_dir);
    DIR *d = opendir(dir);
    json_t *items = json_array();
    json_t **v = NULL;
    size_t nitems;

    if (!d) {
        RG_LOG(RG_LOG_WARN, RG_EVENT("themes.dir_missing"), RG_KV_STR("dir", dir));
        goto out;
    }
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0 || e->d_name[0] == '.')
            continue;
        char *path = rg_asprintf("%s/%s", dir, e->d_name);
        json_error_t err;
        json_t *t = json_load_file(path, 0, &err);
        if (!json_is_object(t)) {
            RG_LOG(RG_LOG_WARN, RG_EVENT("themes.unreadable"), RG_KV_STR("file", path),
                   RG_KV_STR("msg", err.text));
        } else {
            const char *name = rg_json_nonempty(t, "name");
            char *fallback = rg_strndup(e->d_name, n - 5);
            json_t *it =
                json_pack("{s:s, s:s}", "name", name ? name : fallback, "description",
                          rg_json_str(t, "description") ? rg_json_str(t, "description") : "");
            /* Theme files say {"columns": {"count": N, ...}}; the API gives the count. */
            json_t *cols = json_object_get(t, "columns");
            if (json_is_object(cols))
                cols = json_object_get(cols, "count");
            json_object_set_new(it, "columns",
                                json_integer(json_is_integer(cols) ? json_integer_value(cols) : 1));
            json_array_append_new(items, it);
            rg_free(fallback);
        }
        json_decref(t);
        rg_free(path);
    }
    closedir(d);
out:
    /* Sorted by name, as the renderer lists them. */
    nitems = json_array_size(items);
    v = rg_calloc(nitems ? nitems : 1, sizeof *v);
    for (size_t i = 0; i < nitems; i++)
        v[i] = json_incref(json_array_get(items, i));
    qsort(v, nitems, sizeof *v, cmp_names);
    json_array_clear(items);
    for (size_t i = 0; i < nitems; i++)
        json_array_append_new(items, v[i]);
    rg_free(v);
    themes = json_pack("{s:o}", "items", items);
    RG_LOG(RG_LOG_INFO, RG_EVENT("themes.loaded"), RG_KV_I64("count", nitems));
    rg_free(dir);
}

void core_themes_done(void)
{
    json_decref(themes);
    themes = NULL;
}

void core_h_themes(struct core_req *req)
{
    core_header_add(req, "Cache-Control", "public, max-age=300");
    core_reply_json(req, 200, json_incref(themes));
}

void core_h_healthz(struct core_req *req)
{
    core_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

void core_h_readyz(struct core_req *req)
{
    int pg = core_pg_ping(), rd = core_redis_ping();
    json_t *b = json_pack("{s:s, s:s, s:s}", "status", pg == 0 && rd == 0 ? "ready" : "unavailable",
                          "postgres", pg == 0 ? "ok" : "down", "redis", rd == 0 ? "ok" : "down");
    if (pg || rd)
        core_header_add(req, "Retry-After", "1");
    core_reply_json(req, pg == 0 && rd == 0 ? 200 : 503, b);
}

void core_h_metrics(struct core_req *req)
{
    struct rg_buf b;
    rg_buf_init(&b, 4u * 1024 * 1024);
    if (core_metrics_render(&b) < 0) {
        rg_buf_done(&b);
        core_reply_error(req, 500, "internal", "metrics too large", NULL);
        return;
    }
    core_reply_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.ptr, b.len);
    rg_buf_done(&b);
}

void core_h_openapi(struct core_req *req)
{
    const char *doc = core_openapi_json();
    core_header_add(req, "Cache-Control", "public, max-age=300");
    core_reply_raw(req, 200, "application/json", doc, strlen(doc));
}
