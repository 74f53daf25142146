/* One render task: body -> PDF in storage -> result message.
 *
 * Task body (DESIGN.md): {"run_id","kind":"render","attempt","input":{"resume":{...},
 * "theme","paper","locale","source_date",...}}.  Result body: {"run_id","attempt","ok",
 * "output":{"storage_key","sha256","size"}} or {"...","ok":false,"error":{"code",
 * "message","retryable"}}.
 *
 * Which failures are retryable: a broken resume or an impossible paper/locale fails the
 * same way every time, so it is not; storage and renderer failures may pass on another
 * attempt.  An unknown theme IS retryable: rg-core checked the theme before queueing,
 * so a worker that does not know it is an older worker during a rolling deploy. */
#include <errno.h>
#include <string.h>

#include "pdf.h"
#include "rg/digest.h"
#include "rg/json.h"
#include "rg/log.h"
#include "rg/mem.h"

json_t *pdf_error_result(const char *run_id, int64_t attempt, const char *code,
                         const char *message, int retryable)
{
    return json_pack("{s:s, s:I, s:b, s:{s:s, s:s, s:b}}", "run_id", run_id, "attempt",
                     (json_int_t)attempt, "ok", 0, "error", "code", code, "message", message,
                     "retryable", retryable);
}

static const char *code_of(int r, int *retryable)
{
    *retryable = 0;
    switch (r) {
    case RG_EJSON:
    case RG_EUTF8:
    case RG_EINPUT:
        return "invalid_resume";
    case -EINVAL:
        return "invalid_options";
    case RG_ETOOBIG:
        return "too_large";
    case RG_ETHEME:
        *retryable = 1;
        return "unknown_theme";
    default:
        *retryable = 1;
        return "render_failed";
    }
}

enum pdf_outcome pdf_task_run(struct pdf_ctx *ctx, const char *body, size_t len,
                              json_t **ret_result, char **ret_run_id, int64_t *ret_attempt)
{
    json_t *task = NULL, *doc = NULL, *result = NULL;
    struct rg_diags diags = {0};
    struct rg_errinfo ei = {0};
    struct rg_buf pdf;
    char *text = NULL;
    char sha[65], key[80];
    int64_t t0 = pdf_mono_us(), t1;
    enum pdf_outcome outcome = PDF_FAILED;
    int r, retryable;

    rg_buf_init(&pdf, (size_t)ctx->cfg->max_pdf);
    task = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    const char *run_id = rg_json_str(task, "run_id");
    json_t *jattempt = task ? json_object_get(task, "attempt") : NULL;
    json_t *input = task ? json_object_get(task, "input") : NULL;
    json_t *resume = json_is_object(input) ? json_object_get(input, "resume") : NULL;
    if (!run_id || !*run_id || strlen(run_id) > 64 || !json_is_integer(jattempt) ||
        json_integer_value(jattempt) < 1 || !json_is_object(input) || !resume) {
        outcome = PDF_MALFORMED;
        goto out;
    }
    int64_t attempt = json_integer_value(jattempt);

    /* The snapshot goes through the same loader as an uploaded file: the worker trusts
     * the queue no more than rg-core trusts a browser. */
    text = json_dumps(resume, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text) {
        result = pdf_error_result(run_id, attempt, "invalid_resume", "resume is not serialisable", 0);
        goto done;
    }
    r = rg_resume_load(text, strlen(text), 0, &doc, &diags, &ei);
    if (r == 0) {
        json_t *sd = json_object_get(input, "source_date");
        struct rg_render_opts opts = {
            .theme = json_string_value(json_object_get(input, "theme")),
            .paper = json_string_value(json_object_get(input, "paper")),
            .locale = json_string_value(json_object_get(input, "locale")),
            .base_dir = NULL, /* a queued resume never reads local files */
            /* Never "now": the same version must give the same bytes (content address). */
            .source_date = json_is_integer(sd) ? json_integer_value(sd) : 0,
        };
        r = rg_render_pdf(ctx->renderer, doc, &opts, &pdf, &diags, &ei);
    }
    t1 = pdf_mono_us();
    rg_hist_observe(&ctx->stats->render, t1 - t0);
    if (r < 0) {
        const char *code = code_of(r, &retryable);
        result = pdf_error_result(run_id, attempt, code, ei.msg[0] ? ei.msg : rg_strerror(r), retryable);
        goto done;
    }

    int64_t ts = pdf_mono_us();
    rg_sha256_hex(pdf.ptr, pdf.len, sha);
    snprintf(key, sizeof key, "pdf/%s.pdf", sha);
    r = rg_storage_exists(ctx->storage, key, &ei);
    if (r == 0)
        r = rg_storage_put(ctx->storage, key, pdf.ptr, pdf.len, "application/pdf", &ei);
    else if (r == 1)
        PDF_STAT_ADD(ctx->stats, store_skipped, 1);
    rg_hist_observe(&ctx->stats->store, pdf_mono_us() - ts);
    if (r < 0) {
        result = pdf_error_result(run_id, attempt, "storage_failed", ei.msg[0] ? ei.msg : rg_strerror(r), 1);
        goto done;
    }
    PDF_STAT_ADD(ctx->stats, stored, r == 0);
    result = json_pack("{s:s, s:I, s:b, s:{s:s, s:s, s:I, s:I}}", "run_id", run_id, "attempt",
                       (json_int_t)attempt, "ok", 1, "output", "storage_key", key, "sha256", sha,
                       "size", (json_int_t)pdf.len, "render_ms", (json_int_t)((t1 - t0) / 1000));
    outcome = PDF_OK;
done:
    RG_ASSERT(result);
    if (outcome == PDF_OK)
        RG_LOG(RG_LOG_INFO, RG_EVENT("pdf.rendered"), RG_KV_STR("run_id", run_id),
               RG_KV_I64("attempt", attempt), RG_KV_STR("key", key), RG_KV_I64("bytes", pdf.len),
               RG_KV_I64("ms", (pdf_mono_us() - t0) / 1000));
    else
        RG_LOG(RG_LOG_WARN, RG_EVENT("pdf.task_failed"), RG_KV_STR("run_id", run_id),
               RG_KV_I64("attempt", attempt),
               RG_KV_STR("code", json_string_value(json_object_get(json_object_get(result, "error"), "code"))),
               RG_KV_STR("msg", json_string_value(json_object_get(json_object_get(result, "error"), "message"))));
    *ret_run_id = rg_strdup(run_id);
    *ret_attempt = attempt;
    *ret_result = result;
    result = NULL;
out:
    rg_hist_observe(&ctx->stats->task, pdf_mono_us() - t0);
    json_decref(result);
    json_decref(doc);
    json_decref(task);
    rg_free(text); /* jansson allocates with malloc, as rg_malloc does */
    rg_diags_done(&diags);
    rg_buf_done(&pdf);
    return outcome;
}
