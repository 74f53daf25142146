/* PDF generation through the API (issue 4; docs/flow.md):
 *
 *   POST /api/v1/resumes/{id}/renders {"theme","paper","locale"}  (Idempotency-Key)
 *        -> 202 {"run_id","state"}: flow_render_submit() snapshots the latest version and,
 *           in one transaction, writes the run, its history, notification and outbox rows
 *   GET  /api/v1/renders/{id}            -> {"run_id","state","step","attempt",...}
 *   GET  /api/v1/renders/{id}/pdf        -> the PDF from object storage
 *   GET  /api/v1/resumes/{id}/renders    -> {"items":[...],"next_cursor"}
 *   GET  /api/v1/public/{slug}/pdf       -> the newest finished PDF of a shared resume
 *
 * The PDF is read from the storage named by RG_STORAGE (the same URL rg-pdf writes to).
 * A storage handle per worker thread: the S3 backend's curl handle is not thread safe. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core-renders.h"
#include "core.h"
#include "rg/json.h"
#include "rg/log.h"
#include "rg/mem.h"
#include "rg/storage.h"

#define RENDER_MAX_ATTEMPTS "5"
#define RENDER_LIST_MAX 100
#define RENDER_PDF_MAX (64u * 1024 * 1024)

static const struct core_stmt st_submit = {
    "render_submit",
    "SELECT s.run_id, s.run_state, s.created FROM resumes r, "
    "LATERAL flow_render_submit(r.user_id, r.id, (SELECT max(version) FROM resume_versions v "
    "WHERE v.resume_id = r.id), $3, $4, $5, $6, " RENDER_MAX_ATTEMPTS ") s "
    "WHERE r.id = $1 AND r.user_id = $2 AND r.deleted_at IS NULL",
    6, 0};

#define RUN_COLUMNS                                                                                \
    "id, state, step, attempt, max_attempts, error::text, output->>'storage_key', resume_id, "     \
    "input->>'theme', input->>'paper', input->>'locale', input->>'version', "                     \
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "                \
    "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static const struct core_stmt st_get = {
    "render_get", "SELECT " RUN_COLUMNS " FROM workflow_runs WHERE id = $1 AND user_id = $2", 2, 1};

static const struct core_stmt st_list = {
    "render_list",
    "SELECT " RUN_COLUMNS " FROM workflow_runs w WHERE resume_id = $1 AND user_id = $2 "
    "AND ($3::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM workflow_runs "
    "WHERE id = $3::uuid)) ORDER BY created_at DESC, id DESC LIMIT $4",
    4, 1};

static const struct core_stmt st_owner = {
    "render_owner", "SELECT 1 FROM resumes WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL",
    2, 1};

static const struct core_stmt st_public_pdf = {
    "render_public_pdf",
    "SELECT w.output->>'storage_key' FROM resumes r JOIN workflow_runs w ON w.resume_id = r.id "
    "AND w.state = 'done' WHERE r.share_slug = $1 AND r.deleted_at IS NULL "
    "ORDER BY (w.input->>'version')::int DESC, w.updated_at DESC LIMIT 1",
    1, 1};

static __thread struct rg_storage *storage_tl;

static int uuid_ok(const char *s)
{
    if (!s || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* A token of letters, digits and '-' of 1..max bytes (theme names, BCP 47 tags). */
static int token_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return 0;
    return 1;
}

/* Loads the caller's run `id` into *ret_res, replying 404/5xx itself (then 0). */
static int load_run_id(struct core_req *req, const char *id, PGresult **ret_res)
{
    char uid[24];
    if (!uuid_ok(id)) {
        core_reply_error(req, 404, "not_found", "render not found", NULL);
        return 0;
    }
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    const char *p[] = {id, uid};
    int r = core_pg_exec(&st_get, p, ret_res);
    if (r < 0) {
        core_reply_backend_error(req, r, "render.get_failed");
        return 0;
    }
    if (PQntuples(*ret_res) == 0) {
        PQclear(*ret_res);
        *ret_res = NULL;
        core_reply_error(req, 404, "not_found", "render not found", NULL);
        return 0;
    }
    return 1;
}

/* The run of the route's {id}. */
static int load_run(struct core_req *req, PGresult **ret_res)
{
    return load_run_id(req, req->params[0], ret_res);
}

/* An Idempotency-Key names one request: the run it returns must be the one this request
 * asks for (same resume, theme, paper, locale), else the client reused a key by mistake and
 * would get another resume's PDF.  Replies 422 (or 404/5xx) and returns 0 when it is not. */
static int same_request(struct core_req *req, const char *run_id, const char *resume_id,
                        const char *theme, const char *paper, const char *locale)
{
    PGresult *res = NULL;
    if (!load_run_id(req, run_id, &res))
        return 0;
    /* RUN_COLUMNS: 7 resume_id, 8 theme, 9 paper, 10 locale */
    int same = !strcmp(PQgetvalue(res, 0, 7), resume_id) && !strcmp(PQgetvalue(res, 0, 8), theme) &&
               !strcasecmp(PQgetvalue(res, 0, 9), paper) && !strcmp(PQgetvalue(res, 0, 10), locale);
    PQclear(res);
    if (!same)
        core_reply_error(req, 422, "idempotency_key_reused",
                         "this Idempotency-Key was already used for another render request "
                         "(another resume or other options); use a new key",
                         NULL);
    return same;
}

static json_t *run_json(PGresult *res, int i)
{
    const char *state = PQgetvalue(res, i, 1);
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "run_id",
                          PQgetvalue(res, i, 0), "state", state, "step", PQgetvalue(res, i, 2),
                          "attempt", (json_int_t)strtoll(PQgetvalue(res, i, 3), NULL, 10),
                          "max_attempts", (json_int_t)strtoll(PQgetvalue(res, i, 4), NULL, 10),
                          "resume_id", PQgetvalue(res, i, 7), "theme", PQgetvalue(res, i, 8),
                          "paper", PQgetvalue(res, i, 9), "locale", PQgetvalue(res, i, 10),
                          "version", (json_int_t)strtoll(PQgetvalue(res, i, 11), NULL, 10),
                          "created_at", PQgetvalue(res, i, 12), "updated_at",
                          PQgetvalue(res, i, 13));
    if (!PQgetisnull(res, i, 5) && strcmp(state, "done")) {
        json_t *err = json_loads(PQgetvalue(res, i, 5), 0, NULL);
        if (err)
            json_object_set_new(o, "error", err);
    }
    if (!strcmp(state, "done")) {
        char *url = rg_asprintf("/api/v1/renders/%s/pdf", PQgetvalue(res, i, 0));
        json_object_set_new(o, "pdf_url", json_string(url));
        rg_free(url);
    }
    return o;
}

void core_h_render_create(struct core_req *req)
{
    json_t *body = NULL;
    PGresult *res = NULL;
    char uid[24];
    const char *id = req->params[0];

    if (!uuid_ok(id)) {
        core_reply_error(req, 404, "not_found", "resume not found", NULL);
        return;
    }
    if (core_req_json(req, 0, &body) < 0)
        return;
    if (!json_is_object(body)) {
        core_reply_error(req, 400, "invalid_body", "the body must be a JSON object", "");
        goto out;
    }
    const char *theme = json_object_get(body, "theme") ? rg_json_str(body, "theme") : "classic";
    const char *paper = json_object_get(body, "paper") ? rg_json_str(body, "paper") : "a4";
    const char *locale = json_object_get(body, "locale") ? rg_json_str(body, "locale") : "en";
    if (!token_ok(theme, 64)) {
        core_reply_error(req, 422, "invalid_theme", "theme must be a theme name", "/theme");
        goto out;
    }
    char *tpath = rg_asprintf("%s/themes/%s.json", core_cfg->data_dir, theme);
    int known = access(tpath, R_OK) == 0;
    rg_free(tpath);
    if (!known) {
        core_reply_error(req, 422, "invalid_theme", "no such theme (see /api/v1/themes)", "/theme");
        goto out;
    }
    if (!paper || (strcasecmp(paper, "a4") && strcasecmp(paper, "letter"))) {
        core_reply_error(req, 422, "invalid_paper", "paper must be \"a4\" or \"letter\"", "/paper");
        goto out;
    }
    if (!token_ok(locale, 35)) {
        core_reply_error(req, 422, "invalid_locale", "locale must be a BCP 47 tag such as \"en\"",
                         "/locale");
        goto out;
    }
    const char *idem = core_req_header(req, "Idempotency-Key");
    if (idem && (!*idem || strlen(idem) > 200)) {
        core_reply_error(req, 400, "invalid_header", "Idempotency-Key must be 1 to 200 bytes", NULL);
        goto out;
    }
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    const char *p[] = {id, uid, theme, paper, locale, idem};
    int r = core_pg_exec(&st_submit, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "render.submit_failed");
        goto out;
    }
    if (PQntuples(res) == 0) {
        core_reply_error(req, 404, "not_found", "resume not found", NULL);
        goto out;
    }
    if (idem && strcmp(PQgetvalue(res, 0, 2), "t") != 0 &&
        !same_request(req, PQgetvalue(res, 0, 0), id, theme, paper, locale))
        goto out;
    RG_LOG(RG_LOG_INFO, RG_EVENT("render.submitted"), RG_KV_STR("req_id", req->id),
           RG_KV_STR("run_id", PQgetvalue(res, 0, 0)), RG_KV_STR("state", PQgetvalue(res, 0, 1)),
           RG_KV_BOOL("created", !strcmp(PQgetvalue(res, 0, 2), "t")));
    char *loc = rg_asprintf("/api/v1/renders/%s", PQgetvalue(res, 0, 0));
    core_header_add(req, "Location", loc);
    rg_free(loc);
    core_reply_json(req, 202, json_pack("{s:s, s:s}", "run_id", PQgetvalue(res, 0, 0), "state",
                                        PQgetvalue(res, 0, 1)));
out:
    PQclear(res);
    json_decref(body);
}

void core_h_render_get(struct core_req *req)
{
    PGresult *res = NULL;
    if (!load_run(req, &res))
        return;
    core_reply_json(req, 200, run_json(res, 0));
    PQclear(res);
}

/* Replies with the stored object key (a PDF) or an error; 1 when the PDF was sent. */
static int send_pdf(struct core_req *req, const char *key, const char *what)
{
    struct rg_errinfo ei = {0};
    struct rg_buf pdf;
    int ok = 0;

    rg_buf_init(&pdf, RENDER_PDF_MAX);
    if (!storage_tl) {
        const char *url = getenv("RG_STORAGE");
        if (!url || rg_storage_open(url, &storage_tl, &ei) < 0) {
            RG_LOG(RG_LOG_ERROR, RG_EVENT("render.storage_unconfigured"),
                   RG_KV_STR("msg", url ? ei.msg : "RG_STORAGE is not set"));
            core_reply_error(req, 503, "unavailable", "PDF storage is not available", NULL);
            goto out;
        }
    }
    int r = rg_storage_get(storage_tl, key, &pdf, &ei);
    if (r < 0) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("render.pdf_read_failed"), RG_KV_STR("req_id", req->id),
               RG_KV_STR("what", what), RG_KV_STR("msg", ei.msg));
        core_reply_error(req, r == -ENOENT ? 410 : 503, r == -ENOENT ? "gone" : "unavailable",
                         r == -ENOENT ? "the PDF is missing from storage" : "storage failed", NULL);
        goto out;
    }
    /* The object never changes (content-addressed): cacheable by the browser. */
    core_header_add(req, "Cache-Control", "private, max-age=31536000, immutable");
    core_reply_raw(req, 200, "application/pdf", pdf.ptr, pdf.len);
    ok = 1;
out:
    rg_buf_done(&pdf);
    return ok;
}

void core_h_render_pdf(struct core_req *req)
{
    PGresult *res = NULL;

    if (!load_run(req, &res))
        goto out;
    if (strcmp(PQgetvalue(res, 0, 1), "done") || PQgetisnull(res, 0, 6)) {
        core_reply_error(req, 409, "not_ready", "the PDF is not ready (see state)", NULL);
        goto out;
    }
    if (!send_pdf(req, PQgetvalue(res, 0, 6), PQgetvalue(res, 0, 0)))
        goto out;
out:
    PQclear(res);
}

void core_h_public_pdf(struct core_req *req)
{
    PGresult *res = NULL;
    const char *slug = req->params[0];
    if (!token_ok(slug, 64)) {
        core_reply_error(req, 404, "not_found", "no such shared resume", NULL);
        return;
    }
    const char *p[] = {slug};
    int r = core_pg_exec(&st_public_pdf, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "render.public_pdf_failed");
        return;
    }
    if (PQntuples(res) == 0)
        core_reply_error(req, 404, "no_pdf", "no PDF of this shared resume has been generated", NULL);
    else
        (void)send_pdf(req, PQgetvalue(res, 0, 0), slug);
    PQclear(res);
}

void core_h_resume_renders(struct core_req *req)
{
    PGresult *res = NULL;
    char uid[24], lim[24];
    long limit = 20;
    const char *id = req->params[0];

    if (!uuid_ok(id)) {
        core_reply_error(req, 404, "not_found", "resume not found", NULL);
        return;
    }
    const char *ls = core_req_query(req, "limit");
    if (ls) {
        char *end;
        limit = strtol(ls, &end, 10);
        if (end == ls || *end || limit < 1 || limit > RENDER_LIST_MAX) {
            core_reply_error(req, 400, "invalid_query", "limit must be 1 to 100", "limit");
            return;
        }
    }
    const char *cursor = core_req_query(req, "cursor");
    if (cursor && *cursor && !uuid_ok(cursor)) {
        core_reply_error(req, 400, "invalid_query", "cursor is not one this API returned", "cursor");
        return;
    }
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    const char *po[] = {id, uid};
    int r = core_pg_exec(&st_owner, po, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "render.list_failed");
        return;
    }
    int owned = PQntuples(res) > 0;
    PQclear(res);
    res = NULL;
    if (!owned) {
        core_reply_error(req, 404, "not_found", "resume not found", NULL);
        return;
    }
    snprintf(lim, sizeof lim, "%ld", limit + 1);
    const char *p[] = {id, uid, cursor && *cursor ? cursor : NULL, lim};
    r = core_pg_exec(&st_list, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "render.list_failed");
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, run_json(res, i));
    json_t *next = n > limit ? json_string(PQgetvalue(res, (int)limit - 1, 0)) : json_null();
    PQclear(res);
    core_reply_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}
