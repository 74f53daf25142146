/* Resumes: CRUD with optimistic concurrency, version history, trash, import/export.
 *
 * Concurrency: resumes.version is a write counter and the ETag.  Every write is ONE SQL
 * statement guarded by `version = <If-Match>`: under READ COMMITTED the second of two
 * writers holding the same ETag waits for the first's row lock, re-checks the guard on
 * the new row, matches nothing and gets 412.  Content writes insert the new version into
 * resume_versions in the same statement (a data-modifying CTE), so history and current
 * state can never disagree.
 *
 * Bodies: the `data` member goes through rg_resume_load, the renderer's generous loader:
 * legacy keys are mapped, unknown keys kept, and its warnings come back in the reply.
 *
 * Cache (Redis, cache-aside): cache:resume:<id>:current holds "<version> <uid> <reply>".
 * After a write commits, the writer stores the bare marker "<version>"; a reader that
 * misses (or finds a marker) reads PostgreSQL and fills the key only if what it read is
 * not older than what is there (one Lua script compares).  So a slow reader can never
 * put back a version that a writer has already replaced. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "rg/json.h"
#include "rg/log.h"
#include "rg/mem.h"
#include "rg/render.h"

#define TITLE_MAX 200
#define LIST_DEFAULT 20
#define LIST_MAX 100

#define TS(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/* A resume's document is the one of its latest version (0008-resume-data-once.sql): every
 * write that changes it inserts a version row, a delete or undelete only bumps `version`. */
#define DOC_OF(t)                                                                                  \
    "(SELECT d.data FROM resume_versions d WHERE d.resume_id = " t ".id "                          \
    "ORDER BY d.version DESC LIMIT 1)"
/* id, title, version, data, created_at, updated_at of the resume row t */
#define RCOLS_OF(t) "id, title, version, " DOC_OF(t) ", " TS("created_at") ", " TS("updated_at")
/* The same for the row u of an UPDATE that may have waited for the row's lock: its document
 * read after the wait (0009-resume-doc.sql), so that it is the one of u's title and version. */
#define RCOLS_LOCKED "id, title, version, resume_doc(id), " TS("created_at") ", " TS("updated_at")
/* The same after a create or replace: the document is the one just sent, so PostgreSQL does
 * not read it back out of TOAST and send it again (the reply takes it from the request). */
#define RCOLS_SENT "id, title, version, NULL, " TS("created_at") ", " TS("updated_at")
/* The version row of the resume row u just written, holding document doc. */
#define VERSION_INSERT(doc)                                                                        \
    "v AS (INSERT INTO resume_versions (resume_id, version, title, data, created_at) "             \
    "SELECT id, version, title, " doc ", updated_at FROM u) "

static const struct core_stmt st_create = {"resume_create",
                                           "WITH u AS (INSERT INTO resumes (user_id, title) "
                                           "VALUES ($1, $2) RETURNING *), " VERSION_INSERT("$3::json")
                                           "SELECT " RCOLS_SENT " FROM u",
                                           3, 0};
static const struct core_stmt st_get = {
    "resume_get",
    "SELECT " RCOLS_OF("resumes") " FROM resumes WHERE id = $1 AND user_id = $2 "
    "AND deleted_at IS NULL",
    2, 1};
static const struct core_stmt st_version_of = {
    "resume_version_of",
    "SELECT version FROM resumes WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL", 2, 1};
static const struct core_stmt st_update = {
    "resume_update",
    "WITH u AS (UPDATE resumes SET title = $4, version = version + 1, "
    "updated_at = now() WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL "
    "AND ($3::int IS NULL OR version = $3) RETURNING *), " VERSION_INSERT("$5::json")
    "SELECT " RCOLS_SENT " FROM u",
    5, 0};
static const struct core_stmt st_delete = {
    "resume_delete",
    "UPDATE resumes SET deleted_at = now(), version = version + 1, updated_at = now() "
    "WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL AND ($3::int IS NULL OR version = $3) "
    "RETURNING version",
    3, 0};
static const struct core_stmt st_undelete = {
    "resume_undelete",
    "WITH u AS (UPDATE resumes SET deleted_at = NULL, version = version + 1, updated_at = now() "
    "WHERE id = $1 AND user_id = $2 AND deleted_at IS NOT NULL "
    "AND deleted_at > now() - make_interval(days => $3::int) RETURNING *) "
    "SELECT " RCOLS_LOCKED " FROM u",
    3, 0};
static const struct core_stmt st_list = {
    "resume_list",
    "SELECT id, title, version, " TS("created_at") ", " TS("updated_at") ", " TS(
        "deleted_at") ", "
                      "(extract(epoch FROM created_at) * 1000000)::bigint FROM resumes WHERE "
                      "user_id = $1 AND "
                      "CASE WHEN $2::bool THEN deleted_at > now() - make_interval(days => $6::int) "
                      "ELSE deleted_at IS NULL END AND ($3::bigint IS NULL OR (created_at, id) < "
                      "(timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::uuid)) "
                      "ORDER BY created_at DESC, id DESC LIMIT $5",
    6, 1};
static const struct core_stmt st_versions = {
    "resume_versions",
    "SELECT version, title, " TS(
        "created_at") " FROM resume_versions WHERE resume_id = $1 "
                      "AND ($2::int IS NULL OR version < $2) ORDER BY version DESC LIMIT $3",
    3, 1};
static const struct core_stmt st_version_get = {
    "resume_version_get",
    "SELECT v.version, v.title, v.data, " TS(
        "v.created_at") " FROM resume_versions v "
                        "JOIN resumes r ON r.id = v.resume_id WHERE v.resume_id = $1 AND v.version "
                        "= $3 "
                        "AND r.user_id = $2 AND r.deleted_at IS NULL",
    3, 1};
static const struct core_stmt st_version_exists = {
    "resume_version_exists", "SELECT 1 FROM resume_versions WHERE resume_id = $1 AND version = $2",
    2, 1};
static const struct core_stmt st_version_restore = {
    "resume_version_restore",
    "WITH src AS (SELECT title, data FROM resume_versions WHERE resume_id = $1 AND version = $4), "
    "u AS (UPDATE resumes r SET title = src.title, version = r.version + 1, "
    "updated_at = now() FROM src WHERE r.id = $1 AND r.user_id = $2 AND r.deleted_at IS NULL "
    "AND ($3::int IS NULL OR r.version = $3) RETURNING r.*, src.data), " VERSION_INSERT("data")
    "SELECT id, title, version, data, " TS("created_at") ", " TS("updated_at") " FROM u",
    4, 0};
static const struct core_stmt st_purge = {
    "resume_purge", "DELETE FROM resumes WHERE deleted_at < now() - make_interval(days => $1::int)",
    1, 1};
static const struct core_stmt st_share_get = {
    "share_get",
    "SELECT share_slug, share_views, " TS("shared_at") " FROM resumes WHERE id = $1 AND "
                                                       "user_id = $2 AND deleted_at IS NULL",
    2, 1};
static const struct core_stmt st_share_create = {
    "share_create",
    "UPDATE resumes SET share_views = CASE WHEN share_slug IS NULL THEN 0 ELSE share_views END, "
    "shared_at = COALESCE(shared_at, now()), share_slug = COALESCE(share_slug, $3) "
    "WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL "
    "RETURNING share_slug, share_views, " TS("shared_at") ", share_slug = $3",
    3, 0};
static const struct core_stmt st_share_delete = {
    "share_delete",
    "UPDATE resumes SET share_slug = NULL, shared_at = NULL WHERE id = $1 AND user_id = $2 "
    "AND deleted_at IS NULL AND share_slug IS NOT NULL RETURNING id",
    2, 1};
static const struct core_stmt st_public_get = {
    "public_get",
    "WITH u AS (UPDATE resumes SET share_views = share_views + 1 WHERE share_slug = $1 "
    "AND deleted_at IS NULL RETURNING id, title, updated_at) "
    "SELECT title, resume_doc(id), " TS("updated_at") " FROM u",
    1, 0};

/* ---- small helpers ------------------------------------------------------------------- */

/* Resume ids are UUIDs; anything else cannot exist, and is answered like a missing resume
 * (404) without asking the database.  Lower-cases in place so cache keys agree. */
static int uuid_ok(char *s)
{
    static const int dash[] = {8, 13, 18, 23};
    if (strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int is_dash = i == dash[0] || i == dash[1] || i == dash[2] || i == dash[3];
        if (is_dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
        s[i] = (char)tolower((unsigned char)s[i]);
    }
    return 1;
}

static void not_found(struct core_req *req)
{
    core_reply_error(req, 404, "not_found", "resume not found", NULL);
}

/* Fetches and checks the {id} path parameter, replying 404 itself. */
static const char *resume_id(struct core_req *req)
{
    if (!req->params[0] || !uuid_ok(req->params[0])) {
        not_found(req);
        return NULL;
    }
    return req->params[0];
}

static void set_etag(struct core_req *req, const char *version)
{
    char etag[32];
    snprintf(etag, sizeof etag, "\"%s\"", version);
    core_header_add(req, "ETag", etag);
}

/* Entity-tag lists (RFC 9110 section 8.8.3, 13.1.1-2): "*" or 1#( [W/] DQUOTE etagc* DQUOTE )
 * with optional whitespace around commas (empty elements are allowed, section 5.6.1).  Our
 * tags are "<version>"; a tag that is not a version we could have issued (not decimal, 0,
 * past the integer column) is kept as 0, which matches nothing.  Anything else (an
 * unquoted tag, junk after the closing quote) makes the whole header invalid: the answer
 * is then 400 invalid_precondition rather than a guess. */
#define ETAGS_MAX 16

struct etags {
    int any;
    size_t n;
    int64_t v[ETAGS_MAX];
    int weak[ETAGS_MAX];
};

/* 0, or -EINVAL on a syntax error or more than ETAGS_MAX tags. */
static int etags_parse(const char *h, struct etags *e)
{
    memset(e, 0, sizeof *e);
    while (*h == ' ' || *h == '\t')
        h++;
    if (*h == '*') {
        const char *q = h + 1;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q)
            return -EINVAL;
        e->any = 1;
        return 0;
    }
    for (;;) {
        while (*h == ' ' || *h == '\t' || *h == ',')
            h++;
        if (!*h)
            break;
        int weak = 0;
        if (h[0] == 'W' && h[1] == '/') {
            weak = 1;
            h += 2;
        }
        if (*h != '"')
            return -EINVAL;
        const char *open = ++h;
        int64_t v = 0;
        int numeric = 1;
        for (; *h && *h != '"'; h++) {
            unsigned char c = (unsigned char)*h;
            if (c < 0x21 || c == 0x7f)
                return -EINVAL; /* etagc excludes controls and spaces */
            if (c < '0' || c > '9' || v > INT32_MAX)
                numeric = 0;
            else
                v = v * 10 + (c - '0');
        }
        if (*h != '"')
            return -EINVAL;
        if (!numeric || h == open || *open == '0' || v > INT32_MAX)
            v = 0;
        h++;
        while (*h == ' ' || *h == '\t')
            h++;
        if (*h && *h != ',')
            return -EINVAL;
        if (e->n == ETAGS_MAX)
            return -EINVAL;
        e->v[e->n] = v;
        e->weak[e->n] = weak;
        e->n++;
    }
    return e->n ? 0 : -EINVAL;
}

static void reply_bad_precondition(struct core_req *req, const char *hdr)
{
    char msg[128];
    snprintf(msg, sizeof msg, "%s is not a list of quoted entity tags or *", hdr);
    core_reply_error(req, 400, "invalid_precondition", msg, NULL);
}

/* If-None-Match against the current version (RFC 9110 section 13.1.2: weak comparison,
 * "*" matches any existing resource).  1 = matches (answer 304), 0 = does not or absent,
 * -1 = invalid (replied 400). */
static int if_none_match(struct core_req *req, const char *version)
{
    const char *h = core_req_header(req, "If-None-Match");
    struct etags e;
    if (!h)
        return 0;
    if (etags_parse(h, &e) < 0) {
        reply_bad_precondition(req, "If-None-Match");
        return -1;
    }
    if (e.any)
        return 1;
    int64_t cur = strtoll(version, NULL, 10);
    for (size_t i = 0; i < e.n; i++)
        if (e.v[i] && e.v[i] == cur)
            return 1;
    return 0;
}

/* Parses If-Match into *ret_version: -1 for `*`, else the one listed version the guarded
 * write will require.  RFC 9110 section 13.1.1: strong comparison, so weak tags never match.
 * With several candidate tags the current version is read first and the matching one is
 * chosen; the write itself is still guarded by it, so a change in between gives 412.
 * Replies 428/400/412/404/503 itself and returns 0 when the request must stop. */
static int if_match(struct core_req *req, const char *id, int64_t *ret_version)
{
    const char *h = core_req_header(req, "If-Match");
    struct etags e;
    int64_t cand[ETAGS_MAX];
    size_t nc = 0;

    if (!h) {
        core_reply_error(req, 428, "precondition_required",
                         "send If-Match with the ETag you read, so that no update is lost", NULL);
        return 0;
    }
    if (etags_parse(h, &e) < 0) {
        reply_bad_precondition(req, "If-Match");
        return 0;
    }
    if (e.any) {
        *ret_version = -1;
        return 1;
    }
    for (size_t i = 0; i < e.n; i++)
        if (!e.weak[i] && e.v[i] > 0)
            cand[nc++] = e.v[i];
    if (nc == 0) {
        core_reply_error(req, 412, "precondition_failed",
                         "If-Match names no version of this resume (weak tags never match)",
                         NULL);
        return 0;
    }
    *ret_version = cand[0];
    if (nc == 1)
        return 1;
    PGresult *res = NULL;
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    const char *p[] = {id, uid};
    int r = core_pg_exec(&st_version_of, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "resume.version_of_failed");
        return 0;
    }
    if (PQntuples(res) > 0) {
        int64_t have = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        for (size_t i = 0; i < nc; i++)
            if (cand[i] == have)
                *ret_version = have;
    }
    PQclear(res);
    return 1;
}

/* Appends the JSON reply for a row of RCOLS_OF, or of RCOLS_SENT with the document sent. */
static int row_json(struct rg_buf *b, PGresult *res, int row, const json_t *warnings,
                    const char *sent)
{
    int r = 0;
    r |= rg_buf_printf(b, "{\"id\":\"%s\",\"title\":", PQgetvalue(res, row, 0));
    r |= rg_json_quote(b, PQgetvalue(res, row, 1), (size_t)PQgetlength(res, row, 1));
    r |= rg_buf_printf(b, ",\"version\":%s,\"data\":", PQgetvalue(res, row, 2));
    /* The data column holds JSON that we wrote: copied as is, never re-parsed. */
    if (sent)
        r |= rg_buf_puts(b, sent);
    else
        r |= rg_buf_append(b, PQgetvalue(res, row, 3), (size_t)PQgetlength(res, row, 3));
    r |= rg_buf_printf(b, ",\"created_at\":\"%s\",\"updated_at\":\"%s\"", PQgetvalue(res, row, 4),
                       PQgetvalue(res, row, 5));
    if (warnings) {
        char *w = json_dumps(warnings, JSON_COMPACT);
        r |= rg_buf_printf(b, ",\"warnings\":%s", w);
        rg_free(w);
    }
    r |= rg_buf_putc(b, '}');
    return r ? RG_ETOOBIG : 0;
}

/* Replies with the resume in row 0 of res (RCOLS_OF; RCOLS_SENT with the document sent) and
 * its ETag. */
static void reply_row(struct core_req *req, unsigned status, PGresult *res, const json_t *warnings,
                      const char *sent)
{
    struct rg_buf b;
    rg_buf_init(&b, 8u * 1024 * 1024);
    if (row_json(&b, res, 0, warnings, sent) < 0) {
        rg_buf_done(&b);
        core_reply_error(req, 500, "internal", "reply too large", NULL);
        return;
    }
    set_etag(req, PQgetvalue(res, 0, 2));
    core_reply_raw(req, status, "application/json", b.ptr, b.len);
    rg_buf_done(&b);
}

/* ---- cache --------------------------------------------------------------------------- */

/* Stores ARGV[2] unless the key holds a newer version, or the same version with a body
 * (a marker of the same version is replaced by its body). */
static const char cache_script[] = "local c = redis.call('GET', KEYS[1]) "
                                   "local nv = tonumber(ARGV[1]) "
                                   "if c then "
                                   "  local sp = string.find(c, ' ', 1, true) "
                                   "  local v = tonumber(sp and string.sub(c, 1, sp - 1) or c) "
                                   "  if v and (v > nv or (v == nv and sp)) then return 0 end "
                                   "end "
                                   "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) "
                                   "return 1";

static void cache_key(char *buf, size_t n, const char *id)
{
    core_rkey(buf, n, "cache:resume:%s:current", id);
}

static void cache_store(const char *id, const char *version, const char *val, size_t len)
{
    char key[128], ttl[24];
    redisReply *rep = NULL;
    cache_key(key, sizeof key, id);
    snprintf(ttl, sizeof ttl, "%lld", (long long)core_cfg->cache_ttl_ms);
    const char *argv[] = {"EVAL", cache_script, "1", key, version, val, ttl};
    size_t lens[] = {4, sizeof cache_script - 1, 1, strlen(key), strlen(version), len, strlen(ttl)};
    /* A failed cache write only costs a later miss; the script is safe to run twice. */
    if (core_redis_argv(1, &rep, 7, argv, lens) == 0)
        freeReplyObject(rep);
}

/* After a committed write: a marker that blocks older fills. */
static void cache_invalidate(const char *id, int64_t version)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, version);
    cache_store(id, v, v, strlen(v));
}

/* Serves a GET from a cached value (the reply to GET cache:resume:<id>:current) when it
 * holds a body of this user.  Returns 1 when it replied. */
static int cache_serve(struct core_req *req, const redisReply *rep)
{
    if (!rep || rep->type != REDIS_REPLY_STRING)
        return 0;
    /* "<version> <uid> <json>" */
    char *sp1 = memchr(rep->str, ' ', rep->len);
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', rep->len - (size_t)(sp1 + 1 - rep->str)) : NULL;
    if (!sp2 || strtoll(sp1 + 1, NULL, 10) != req->uid)
        return 0;
    char version[24];
    snprintf(version, sizeof version, "%.*s", (int)(sp1 - rep->str), rep->str);
    set_etag(req, version);
    int m = if_none_match(req, version);
    if (m > 0)
        core_reply_empty(req, 304);
    else if (m == 0)
        core_reply_raw(req, 200, "application/json", sp2 + 1,
                       rep->len - (size_t)(sp2 + 1 - rep->str));
    return 1;
}

/* ---- loading bodies ------------------------------------------------------------------ */

void core_loaded_done(struct core_loaded *l)
{
    l->data = rg_free(l->data);
    json_decref(l->doc);
    json_decref(l->warnings);
    l->doc = l->warnings = NULL;
}

/* The JSON pointer (appended to b) of the first string in v that holds U+0000; 1 if found.
 * PostgreSQL's json type stores the escape but cannot read it back (any ->> on such a
 * document fails with 22P05), so such text is refused at the door rather than breaking
 * every later read of the resume and of its renders. */
static int find_nul(const json_t *v, struct rg_buf *b)
{
    size_t mark = b->len;
    if (json_is_string(v))
        return memchr(json_string_value(v), '\0', json_string_length(v)) != NULL;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            if (rg_json_pointer_push(b, k) == 0 && find_nul(x, b))
                return 1;
            b->len = mark;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            if (rg_buf_printf(b, "/%zu", i) == 0 && find_nul(x, b))
                return 1;
            b->len = mark;
        }
    }
    return 0;
}

int core_resume_load(struct core_req *req, const char *buf, size_t len, const char *prefix,
                       int quiet_syntax, struct core_loaded *out)
{
    struct rg_diags diags = {0};
    struct rg_errinfo ei = {0};
    json_t *doc = NULL;
    char ptr[512];
    int r;

    int changed = 1;
    r = rg_resume_load_changed(buf, len, 0, &doc, &changed, &diags, &ei);
    if (quiet_syntax && (r == RG_EJSON || r == RG_EUTF8)) {
        r = -EAGAIN; /* the caller takes the slow path, which words the error */
        goto out;
    }
    if (r == RG_ETOOBIG) {
        core_reply_error(req, 413, "body_too_large", "the resume is too large", prefix);
        goto out;
    }
    if (r == RG_EINPUT || r == RG_EJSON || r == RG_EUTF8) {
        const char *msg = ei.msg[0] ? ei.msg : "the resume was rejected";
        snprintf(ptr, sizeof ptr, "%s", prefix);
        for (size_t i = 0; i < diags.n; i++)
            if (diags.v[i].level == RG_DIAG_ERROR) {
                snprintf(ptr, sizeof ptr, "%s%s", prefix, diags.v[i].pointer);
                msg = diags.v[i].message;
                break;
            }
        core_reply_error(req, 422, "invalid_resume", msg, ptr);
        goto out;
    }
    if (r < 0) {
        core_reply_backend_error(req, r, "resume.load_failed");
        goto out;
    }
    if (!json_is_object(doc)) {
        core_reply_error(req, 422, "invalid_resume", "a resume is a JSON object", prefix);
        r = -EINVAL;
        goto out;
    }
    /* A U+0000 in a value can only have been written as the escape \u0000 (JSON has no raw
     * control characters in strings): without that text, no walk is needed. */
    struct rg_buf nb;
    rg_buf_init(&nb, 64 * 1024);
    (void)rg_buf_puts(&nb, prefix);
    if (memmem(buf, len, "\\u0000", 6) && find_nul(doc, &nb)) {
        snprintf(ptr, sizeof ptr, "%.*s", (int)nb.len, nb.ptr ? nb.ptr : "");
        rg_buf_done(&nb);
        core_reply_error(req, 422, "invalid_resume",
                         "the text holds a NUL character (\\u0000), which cannot be stored", ptr);
        r = -EINVAL;
        goto out;
    }
    rg_buf_done(&nb);
    out->warnings = json_array();
    for (size_t i = 0; i < diags.n; i++) {
        snprintf(ptr, sizeof ptr, "%s%s", prefix, diags.v[i].pointer);
        json_array_append_new(
            out->warnings, json_pack("{s:s, s:s}", "pointer", ptr, "message", diags.v[i].message));
    }
    /* A document the loader left as it was is stored as it was sent: its own bytes, not a
     * write-out of the parse (a fifth of the CPU of a save), and byte for byte what the
     * user wrote. */
    if (!changed) {
        size_t bom = rg_json_bom_len(buf, len);
        out->data = rg_strndup(buf + bom, len - bom);
    } else {
        out->data = json_dumps(doc, JSON_COMPACT);
    }
    out->doc = doc;
    doc = NULL;
    r = 0;
out:
    json_decref(doc);
    rg_diags_done(&diags);
    return r < 0 ? r : 0;
}

/* The title of a resume: the one given, else the person's name, else a placeholder.
 * Replies 422 and returns NULL on a bad title; the result is a new string. */
static char *pick_title(struct core_req *req, const json_t *title, const json_t *doc)
{
    if (title && !json_is_null(title)) {
        if (!json_is_string(title) || json_string_length(title) > TITLE_MAX ||
            json_string_length(title) == 0 ||
            strlen(json_string_value(title)) != json_string_length(title)) {
            core_reply_error(req, 422, "invalid_field",
                             "title must be a string of 1 to 200 bytes without NUL", "/title");
            return NULL;
        }
        return rg_strdup(json_string_value(title));
    }
    const char *name = rg_json_nonempty(rg_json_obj(doc, "basics"), "name");
    if (!name)
        name = "Untitled resume";
    /* Cut at TITLE_MAX bytes, but never inside a UTF-8 sequence. */
    size_t n = strnlen(name, TITLE_MAX + 1);
    if (n > TITLE_MAX) {
        n = TITLE_MAX;
        while (n && ((unsigned char)name[n] & 0xC0) == 0x80)
            n--;
    }
    return rg_strndup(name, n);
}

/* Reads {"title"?, "data"} from the body (object checks, loader) into *ret_title/out. */
static int read_resume_body(struct core_req *req, json_t *body, char **ret_title,
                            struct core_loaded *out)
{
    json_t *data = json_object_get(body, "data");
    if (!json_is_object(body)) {
        core_reply_error(req, 422, "invalid_body", "the body must be a JSON object", "");
        return -EINVAL;
    }
    if (!data) {
        core_reply_error(req, 422, "invalid_field", "data (the JSON Resume document) is required",
                         "/data");
        return -EINVAL;
    }
    if (!json_is_object(data)) {
        core_reply_error(req, 422, "invalid_field", "data must be a JSON object", "/data");
        return -EINVAL;
    }
    char *text = json_dumps(data, JSON_COMPACT);
    int r = core_resume_load(req, text, strlen(text), "/data", 0, out);
    rg_free(text);
    if (r < 0)
        return r;
    *ret_title = pick_title(req, json_object_get(body, "title"), out->doc);
    if (!*ret_title) {
        core_loaded_done(out);
        return -EINVAL;
    }
    return 0;
}

/* Fast path of read_resume_body: the members are found in the raw body and `data` goes to
 * the loader straight from it (see core-json.c).  0 on success; -EAGAIN when the slow path
 * must decide (invalid or unusual JSON: it words the 400); other negatives after a reply. */
static int read_resume_raw(struct core_req *req, char **ret_title, struct core_loaded *out)
{
    static const char *const keys[] = {"data", "title"};
    struct rg_str sp[2];
    json_t *title = NULL;
    int r;

    if (core_json_members(req->body.ptr, req->body.len, keys, 2, sp) < 0)
        return -EAGAIN;
    if (!sp[0].ptr) {
        core_reply_error(req, 422, "invalid_field", "data (the JSON Resume document) is required",
                         "/data");
        return -EINVAL;
    }
    if (sp[0].ptr[0] != '{') {
        core_reply_error(req, 422, "invalid_field", "data must be a JSON object", "/data");
        return -EINVAL;
    }
    if (sp[1].ptr && rg_json_parse(sp[1].ptr, sp[1].len, &title, NULL) < 0)
        return -EAGAIN;
    r = core_resume_load(req, sp[0].ptr, sp[0].len, "/data", 1, out);
    if (r < 0) {
        json_decref(title);
        return r;
    }
    *ret_title = pick_title(req, title, out->doc);
    json_decref(title);
    if (!*ret_title) {
        core_loaded_done(out);
        return -EINVAL;
    }
    return 0;
}

/* Reads a POST/PUT body into title + loaded document: the fast path, else a full parse. */
static int read_write_body(struct core_req *req, char **ret_title, struct core_loaded *out)
{
    json_t *body = NULL;
    int r;

    if (core_req_json_ok(req, 0) < 0)
        return -EINVAL;
    r = read_resume_raw(req, ret_title, out);
    if (r != -EAGAIN)
        return r;
    if (core_req_json(req, 0, &body) < 0)
        return -EINVAL;
    r = read_resume_body(req, body, ret_title, out);
    json_decref(body);
    return r;
}

static void create_from(struct core_req *req, const char *title, struct core_loaded *l)
{
    PGresult *res = NULL;
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    const char *p[] = {uid, title, l->data};
    int r = core_pg_exec(&st_create, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "resume.create_failed");
        return;
    }
    char loc[128];
    snprintf(loc, sizeof loc, "/api/v1/resumes/%s", PQgetvalue(res, 0, 0));
    core_header_add(req, "Location", loc);
    reply_row(req, 201, res, l->warnings, l->data);
    PQclear(res);
}

/* Decides between 404 and 412 after a guarded write matched no row. */
static void write_missed(struct core_req *req, const char *id, const char *uid)
{
    PGresult *res = NULL;
    const char *p[] = {id, uid};
    int r = core_pg_exec(&st_version_of, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "resume.version_check_failed");
        return;
    }
    if (PQntuples(res) == 0) {
        not_found(req);
    } else {
        set_etag(req, PQgetvalue(res, 0, 0));
        core_reply_error(req, 412, "precondition_failed",
                         "the resume changed since you read it; reload and retry", NULL);
    }
    PQclear(res);
}

/* Runs the guarded update: replies (200 + ETag, or an error) and returns 1, or returns 0
 * without a reply when the guard matched no row (the version moved, or no such resume). */
static int update_try(struct core_req *req, const char *id, int64_t version, const char *title,
                      struct core_loaded *l)
{
    PGresult *res = NULL;
    char uid[24], ver[24];
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    snprintf(ver, sizeof ver, "%" PRId64, version);
    /* If-Match: * is a NULL version: the guard then only asks that the resume exists. */
    const char *p[] = {id, uid, version < 0 ? NULL : ver, title, l->data};
    int r = core_pg_exec(&st_update, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "resume.update_failed");
        return 1;
    }
    int hit = PQntuples(res) > 0;
    if (hit) {
        cache_invalidate(id, strtoll(PQgetvalue(res, 0, 2), NULL, 10));
        reply_row(req, 200, res, l->warnings, l->data);
    }
    PQclear(res);
    return hit;
}

/* Runs the guarded update and replies (200 + ETag, 404 or 412). */
static void update_guarded(struct core_req *req, const char *id, int64_t version, const char *title,
                           struct core_loaded *l)
{
    char uid[24];
    if (!update_try(req, id, version, title, l)) {
        snprintf(uid, sizeof uid, "%" PRId64, req->uid);
        write_missed(req, id, uid);
    }
}

/* ---- handlers ------------------------------------------------------------------------ */

void core_h_resumes_create(struct core_req *req)
{
    struct core_loaded l = {0};
    char *title = NULL;

    if (read_write_body(req, &title, &l) == 0)
        create_from(req, title, &l);
    rg_free(title);
    core_loaded_done(&l);
}

void core_h_resumes_import(struct core_req *req)
{
    json_t *probe = NULL;
    struct core_loaded l = {0};
    char *title = NULL;

    /* The body is the JSON Resume document itself (any version); parsing it first gives the
     * same 400/415 answers as every other route. */
    if (core_req_json(req, 0, &probe) < 0)
        goto out;
    if (core_resume_load(req, req->body.ptr, req->body.len, "", 0, &l) < 0)
        goto out;
    const char *qt = core_req_query(req, "title");
    json_t *jt = qt ? json_string(qt) : NULL;
    title = pick_title(req, jt, l.doc);
    json_decref(jt);
    if (!title)
        goto out;
    create_from(req, title, &l);
out:
    rg_free(title);
    core_loaded_done(&l);
    json_decref(probe);
}

void core_h_resume_get(struct core_req *req)
{
    PGresult *res = NULL;
    redisReply *cached = NULL;
    struct rg_buf b;
    char uid[24], key[128];
    const char *id = req->params[0];

    /* CORE_ROUTE_AUTH_SELF: the session and the cached resume in one Redis round trip. */
    if (!id || !uuid_ok(req->params[0])) {
        if (core_auth_resolve(req))
            not_found(req);
        else
            core_reply_unauthorized(req);
        return;
    }
    cache_key(key, sizeof key, id);
    if (!core_auth_resolve_with(req, key, &cached)) {
        core_reply_unauthorized(req);
        return;
    }
    int served = cache_serve(req, cached);
    if (cached)
        freeReplyObject(cached);
    if (served)
        return;
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    const char *p[] = {id, uid};
    int r = core_pg_exec(&st_get, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "resume.get_failed");
        return;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        not_found(req);
        return;
    }
    /* Build "<version> <uid> " + reply once; the reply is its tail. */
    rg_buf_init(&b, 8u * 1024 * 1024);
    (void)rg_buf_printf(&b, "%s %s ", PQgetvalue(res, 0, 2), uid);
    size_t head = b.len;
    if (row_json(&b, res, 0, NULL, NULL) < 0) {
        core_reply_error(req, 500, "internal", "reply too large", NULL);
        goto out;
    }
    cache_store(id, PQgetvalue(res, 0, 2), b.ptr, b.len);
    set_etag(req, PQgetvalue(res, 0, 2));
    int m = if_none_match(req, PQgetvalue(res, 0, 2));
    if (m > 0)
        core_reply_empty(req, 304);
    else if (m == 0)
        core_reply_raw(req, 200, "application/json", b.ptr + head, b.len - head);
out:
    rg_buf_done(&b);
    PQclear(res);
}

void core_h_resume_put(struct core_req *req)
{
    struct core_loaded l = {0};
    char *title = NULL;
    int64_t version;
    const char *id = resume_id(req);

    if (id && if_match(req, id, &version) && read_write_body(req, &title, &l) == 0)
        update_guarded(req, id, version, title, &l);
    rg_free(title);
    core_loaded_done(&l);
}

/* A patch can grow a resume a little at a time up to the loader's 2 MiB, past max_body
 * (1 MiB): such a resume could still be read but never saved back with PUT or re-imported
 * from its export.  So a patch result must fit in the PUT body {"title":…,"data":…} that
 * would store it.  Replies 413 and returns 0 when it does not. */
static int put_body_fits(struct core_req *req, const char *title, const struct core_loaded *l)
{
    struct rg_buf q;
    size_t need;

    rg_buf_init(&q, (size_t)core_cfg->max_body);
    int r = rg_json_quote(&q, title, strlen(title));
    need = q.len + strlen(l->data) + sizeof "{\"title\":,\"data\":}" - 1;
    rg_buf_done(&q);
    if (r >= 0 && need <= (size_t)core_cfg->max_body)
        return 1;
    char msg[200];
    snprintf(msg, sizeof msg,
             "the patched resume would not fit in max_body (%lld bytes), the most PUT and "
             "import accept, so it could not be saved back; make it smaller",
             (long long)core_cfg->max_body);
    core_reply_error(req, 413, "body_too_large", msg, "/data");
    return 0;
}

/* A merge patch is applied to the version it read and written guarded by that version.
 * With If-Match: * ("whatever is current") a write that lost a race reads the new current
 * version and applies the patch again, a few times, instead of answering 412. */
#define PATCH_RETRIES 8

void core_h_resume_patch(struct core_req *req)
{
    json_t *patch = NULL;
    int64_t version;
    char uid[24];
    const char *id = resume_id(req);

    if (!id || !if_match(req, id, &version))
        return;
    if (core_req_json(req, 1, &patch) < 0)
        return;
    if (!json_is_object(patch)) {
        core_reply_error(req, 422, "invalid_body", "a merge patch for a resume is a JSON object",
                         "");
        json_decref(patch);
        return;
    }
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    for (int attempt = 1;; attempt++) {
        PGresult *res = NULL;
        json_t *cur = NULL, *merged = NULL;
        struct core_loaded l = {0};
        char *title = NULL;
        int done = 1;
        const char *p[] = {id, uid};
        int r = core_pg_exec(&st_get, p, &res);
        if (r < 0) {
            core_reply_backend_error(req, r, "resume.get_failed");
        } else if (PQntuples(res) == 0) {
            not_found(req);
        } else {
            int64_t have = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
            if (version >= 0 && version != have) {
                set_etag(req, PQgetvalue(res, 0, 2));
                core_reply_error(req, 412, "precondition_failed",
                                 "the resume changed since you read it; reload and retry", NULL);
            } else {
                /* The patch applies to the resource as GET shows it: {"title", "data"}. */
                cur = json_object();
                json_object_set_new(cur, "title", json_string(PQgetvalue(res, 0, 1)));
                json_object_set_new(cur, "data",
                                    json_loads(PQgetvalue(res, 0, 3), JSON_ALLOW_NUL, NULL));
                /* {"title": null} removes the title, which then defaults as in PUT (the name). */
                merged = core_merge_patch(cur, patch);
                if (read_resume_body(req, merged, &title, &l) == 0 && put_body_fits(req, title, &l) &&
                    !update_try(req, id, have, title, &l)) {
                    if (version < 0 && attempt < PATCH_RETRIES)
                        done = 0; /* another write came first: patch the new version */
                    else
                        write_missed(req, id, uid);
                }
            }
        }
        rg_free(title);
        core_loaded_done(&l);
        PQclear(res);
        json_decref(cur);
        json_decref(merged);
        if (done)
            break;
    }
    json_decref(patch);
}

void core_h_resume_delete(struct core_req *req)
{
    PGresult *res = NULL;
    char uid[24], ver[24];
    int64_t version;
    const char *id = resume_id(req);

    if (!id || !if_match(req, id, &version))
        return;
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    snprintf(ver, sizeof ver, "%" PRId64, version);
    const char *p[] = {id, uid, version < 0 ? NULL : ver};
    int r = core_pg_exec(&st_delete, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "resume.delete_failed");
        return;
    }
    if (PQntuples(res) == 0) {
        write_missed(req, id, uid);
    } else {
        cache_invalidate(id, strtoll(PQgetvalue(res, 0, 0), NULL, 10));
        core_reply_empty(req, 204);
    }
    PQclear(res);
}

void core_h_resume_restore(struct core_req *req)
{
    PGresult *res = NULL;
    char uid[24], days[24];
    const char *id = resume_id(req);

    if (!id)
        return;
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    snprintf(days, sizeof days, "%lld", (long long)core_cfg->trash_days);
    const char *p[] = {id, uid, days};
    int r = core_pg_exec(&st_undelete, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "resume.restore_failed");
        return;
    }
    if (PQntuples(res) == 0) {
        core_reply_error(req, 404, "not_found", "no such resume in the trash", NULL);
    } else {
        cache_invalidate(id, strtoll(PQgetvalue(res, 0, 2), NULL, 10));
        reply_row(req, 200, res, NULL, NULL);
    }
    PQclear(res);
}

void core_h_resume_export(struct core_req *req)
{
    PGresult *res = NULL;
    char uid[24];
    const char *id = resume_id(req);

    if (!id)
        return;
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    const char *p[] = {id, uid};
    int r = core_pg_exec(&st_get, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "resume.export_failed");
        return;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        not_found(req);
        return;
    }
    set_etag(req, PQgetvalue(res, 0, 2));
    core_header_add(req, "Content-Disposition", "attachment; filename=\"resume.json\"");
    core_reply_raw(req, 200, "application/json", PQgetvalue(res, 0, 3),
                   (size_t)PQgetlength(res, 0, 3));
    PQclear(res);
}

/* limit=1..100 (default 20); replies 400 and returns 0 on a bad value. */
static int read_limit(struct core_req *req, long *ret)
{
    const char *s = core_req_query(req, "limit");
    *ret = LIST_DEFAULT;
    if (!s)
        return 1;
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 1 || v > LIST_MAX) {
        core_reply_error(req, 400, "invalid_query", "limit must be 1 to 100", "limit");
        return 0;
    }
    *ret = v;
    return 1;
}

void core_h_resumes_list(struct core_req *req)
{
    PGresult *res = NULL;
    char uid[24], lim[24], days[24], cus[24] = "", cid[40] = "";
    long limit;

    if (!read_limit(req, &limit))
        return;
    const char *cursor = core_req_query(req, "cursor");
    if (cursor && *cursor) {
        /* "<created_at in µs>.<uuid>": the position after the last item of a page. */
        const char *dot = strchr(cursor, '.');
        if (!dot || dot == cursor || (size_t)(dot - cursor) >= sizeof cus ||
            strlen(dot + 1) != 36) {
            core_reply_error(req, 400, "invalid_query", "cursor is not one this API returned",
                             "cursor");
            return;
        }
        snprintf(cus, sizeof cus, "%.*s", (int)(dot - cursor), cursor);
        snprintf(cid, sizeof cid, "%s", dot + 1);
        for (const char *q = cus; *q; q++)
            if (!isdigit((unsigned char)*q) && !(q == cus && *q == '-'))
                cus[0] = '\0';
        /* Digits alone are not enough: the value must be a time PostgreSQL can hold (years
         * 1 to 9999 in microseconds), or the statement fails with an overflow. */
        char *end;
        errno = 0;
        long long us = cus[0] ? strtoll(cus, &end, 10) : 0;
        if (errno || us < -62135596800000000LL || us > 253402300799999999LL)
            cus[0] = '\0';
        if (!cus[0] || !uuid_ok(cid)) {
            core_reply_error(req, 400, "invalid_query", "cursor is not one this API returned",
                             "cursor");
            return;
        }
    }
    const char *del = core_req_query(req, "deleted");
    int trash = del && (strcmp(del, "1") == 0 || strcmp(del, "true") == 0);
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    snprintf(lim, sizeof lim, "%ld", limit + 1);
    snprintf(days, sizeof days, "%lld", (long long)core_cfg->trash_days);
    const char *p[] = {uid, trash ? "true" : "false", cus[0] ? cus : NULL, cus[0] ? cid : NULL, lim,
                       days};
    int r = core_pg_exec(&st_list, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "resume.list_failed");
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++) {
        json_t *it = json_pack("{s:s, s:s, s:I, s:s, s:s}", "id", PQgetvalue(res, i, 0), "title",
                               PQgetvalue(res, i, 1), "version",
                               (json_int_t)strtoll(PQgetvalue(res, i, 2), NULL, 10), "created_at",
                               PQgetvalue(res, i, 3), "updated_at", PQgetvalue(res, i, 4));
        if (!PQgetisnull(res, i, 5))
            json_object_set_new(it, "deleted_at", json_string(PQgetvalue(res, i, 5)));
        json_array_append_new(items, it);
    }
    json_t *next = json_null();
    if (n > limit) {
        char c[80];
        snprintf(c, sizeof c, "%s.%s", PQgetvalue(res, (int)limit - 1, 6),
                 PQgetvalue(res, (int)limit - 1, 0));
        next = json_string(c);
    }
    PQclear(res);
    core_reply_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

/* Checks that the resume exists for this user (404 otherwise). */
static int owned(struct core_req *req, const char *id, const char *uid)
{
    PGresult *res = NULL;
    const char *p[] = {id, uid};
    int r = core_pg_exec(&st_version_of, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "resume.owner_check_failed");
        return 0;
    }
    int ok = PQntuples(res) > 0;
    PQclear(res);
    if (!ok)
        not_found(req);
    return ok;
}

static int read_version_param(struct core_req *req, char *out, size_t cap)
{
    const char *s = req->params[1];
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || end == s || *end || v < 1 || v > 2000000000) {
        core_reply_error(req, 404, "not_found", "no such version", NULL);
        return 0;
    }
    snprintf(out, cap, "%ld", v);
    return 1;
}

void core_h_versions_list(struct core_req *req)
{
    PGresult *res = NULL;
    char uid[24], lim[24], before[24] = "";
    long limit;
    const char *id = resume_id(req);

    if (!id || !read_limit(req, &limit))
        return;
    const char *cursor = core_req_query(req, "cursor");
    if (cursor && *cursor) {
        char *end;
        errno = 0;
        long v = strtol(cursor, &end, 10);
        if (errno || end == cursor || *end || v < 1 || v > 2000000000) {
            core_reply_error(req, 400, "invalid_query", "cursor is not one this API returned",
                             "cursor");
            return;
        }
        snprintf(before, sizeof before, "%ld", v);
    }
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    if (!owned(req, id, uid))
        return;
    snprintf(lim, sizeof lim, "%ld", limit + 1);
    const char *p[] = {id, before[0] ? before : NULL, lim};
    int r = core_pg_exec(&st_versions, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "resume.versions_failed");
        return;
    }
    int n = PQntuples(res);
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, json_pack("{s:I, s:s, s:s}", "version",
                                               (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                               "title", PQgetvalue(res, i, 1), "created_at",
                                               PQgetvalue(res, i, 2)));
    json_t *next = n > limit ? json_string(PQgetvalue(res, (int)limit - 1, 0)) : json_null();
    PQclear(res);
    core_reply_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

void core_h_version_get(struct core_req *req)
{
    PGresult *res = NULL;
    struct rg_buf b;
    char uid[24], ver[24];
    const char *id = resume_id(req);

    if (!id || !read_version_param(req, ver, sizeof ver))
        return;
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    const char *p[] = {id, uid, ver};
    int r = core_pg_exec(&st_version_get, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "resume.version_get_failed");
        return;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        core_reply_error(req, 404, "not_found", "no such resume or version", NULL);
        return;
    }
    rg_buf_init(&b, 8u * 1024 * 1024);
    int e = rg_buf_printf(&b, "{\"version\":%s,\"title\":", PQgetvalue(res, 0, 0));
    e |= rg_json_quote(&b, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
    e |= rg_buf_puts(&b, ",\"data\":");
    e |= rg_buf_append(&b, PQgetvalue(res, 0, 2), (size_t)PQgetlength(res, 0, 2));
    e |= rg_buf_printf(&b, ",\"created_at\":\"%s\"}", PQgetvalue(res, 0, 3));
    if (e)
        core_reply_error(req, 500, "internal", "reply too large", NULL);
    else
        core_reply_raw(req, 200, "application/json", b.ptr, b.len);
    rg_buf_done(&b);
    PQclear(res);
}

void core_h_version_restore(struct core_req *req)
{
    PGresult *res = NULL;
    char uid[24], ver[24], cur[24];
    int64_t version;
    const char *id = resume_id(req);

    if (!id || !read_version_param(req, ver, sizeof ver) || !if_match(req, id, &version))
        return;
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    snprintf(cur, sizeof cur, "%" PRId64, version);
    const char *p[] = {id, uid, version < 0 ? NULL : cur, ver};
    int r = core_pg_exec(&st_version_restore, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "resume.version_restore_failed");
        return;
    }
    if (PQntuples(res) > 0) {
        cache_invalidate(id, strtoll(PQgetvalue(res, 0, 2), NULL, 10));
        reply_row(req, 200, res, NULL, NULL);
        PQclear(res);
        return;
    }
    PQclear(res);
    res = NULL;
    /* Nothing matched: a missing resume, a missing version, or a stale If-Match. */
    if (!owned(req, id, uid))
        return;
    const char *q[] = {id, ver};
    r = core_pg_exec(&st_version_exists, q, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "resume.version_restore_failed");
        return;
    }
    int exists = PQntuples(res) > 0;
    PQclear(res);
    if (!exists)
        core_reply_error(req, 404, "not_found", "no such version", NULL);
    else
        write_missed(req, id, uid);
}

int core_resumes_purge(void)
{
    PGresult *res = NULL;
    char days[24];
    snprintf(days, sizeof days, "%lld", (long long)core_cfg->trash_days);
    const char *p[] = {days};
    int r = core_pg_exec(&st_purge, p, &res);
    if (r < 0)
        return r;
    r = (int)strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return r;
}

/* ---- sharing ------------------------------------------------------------------------- */

static json_t *share_json(PGresult *res)
{
    char url[128];
    snprintf(url, sizeof url, "/api/v1/public/%s", PQgetvalue(res, 0, 0));
    return json_pack("{s:b, s:s, s:s, s:I, s:s}", "shared", 1, "slug", PQgetvalue(res, 0, 0), "url",
                     url, "views", (json_int_t)strtoll(PQgetvalue(res, 0, 1), NULL, 10),
                     "created_at", PQgetvalue(res, 0, 2));
}

void core_h_share_get(struct core_req *req)
{
    PGresult *res = NULL;
    char uid[24];
    const char *id = resume_id(req);

    if (!id)
        return;
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    const char *p[] = {id, uid};
    int r = core_pg_exec(&st_share_get, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "share.get_failed");
        return;
    }
    if (PQntuples(res) == 0)
        not_found(req);
    else if (PQgetisnull(res, 0, 0))
        /* No link is an ordinary state of an existing resume, not an error: the editor
         * asks every time its share dialog opens. */
        core_reply_json(req, 200, json_pack("{s:b}", "shared", 0));
    else
        core_reply_json(req, 200, share_json(res));
    PQclear(res);
}

void core_h_share_create(struct core_req *req)
{
    PGresult *res = NULL;
    unsigned char raw[16];
    char uid[24], slug[32];
    const char *id = resume_id(req);

    if (!id)
        return;
    /* 128 random bits: unguessable, short enough to paste. */
    core_random(raw, sizeof raw);
    core_b64url(raw, sizeof raw, slug, sizeof slug);
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    const char *p[] = {id, uid, slug};
    int r = core_pg_exec(&st_share_create, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "share.create_failed");
        return;
    }
    if (PQntuples(res) == 0)
        not_found(req);
    else
        core_reply_json(req, strcmp(PQgetvalue(res, 0, 3), "t") == 0 ? 201 : 200, share_json(res));
    PQclear(res);
}

void core_h_share_delete(struct core_req *req)
{
    PGresult *res = NULL;
    char uid[24];
    const char *id = resume_id(req);

    if (!id)
        return;
    snprintf(uid, sizeof uid, "%" PRId64, req->uid);
    const char *p[] = {id, uid};
    int r = core_pg_exec(&st_share_delete, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "share.delete_failed");
        return;
    }
    if (PQntuples(res) == 0)
        core_reply_error(req, 404, "not_found", "no such resume, or it is not shared", NULL);
    else
        core_reply_empty(req, 204);
    PQclear(res);
}

void core_h_public_get(struct core_req *req)
{
    PGresult *res = NULL;
    struct rg_buf b;
    const char *slug = req->params[0];

    if (!slug || strlen(slug) != 22) {
        core_reply_error(req, 404, "not_found", "no such shared resume", NULL);
        return;
    }
    const char *p[] = {slug};
    int r = core_pg_exec(&st_public_get, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "share.public_get_failed");
        return;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        core_reply_error(req, 404, "not_found", "no such shared resume", NULL);
        return;
    }
    rg_buf_init(&b, 8u * 1024 * 1024);
    int e = rg_buf_puts(&b, "{\"title\":");
    e |= rg_json_quote(&b, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    e |= rg_buf_puts(&b, ",\"data\":");
    e |= rg_buf_append(&b, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
    e |= rg_buf_printf(&b, ",\"updated_at\":\"%s\"}", PQgetvalue(res, 0, 2));
    if (e)
        core_reply_error(req, 500, "internal", "reply too large", NULL);
    else
        core_reply_raw(req, 200, "application/json", b.ptr, b.len);
    rg_buf_done(&b);
    PQclear(res);
}
