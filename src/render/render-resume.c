/* Loading a JSON Resume: parse, check, and normalise to v1.0.0 (see rg/render.h).
 *
 * Real files drift from the schema in a few recurring ways (see
 * docs/internals/render-load.md): pre-1.0 key names, "" or "Present" as an end date,
 * nulls and numbers where text belongs, label prefixes in URLs.  The loader repairs what
 * it can, warns about everything it touched with a JSON pointer into the INPUT (so a user
 * can find the spot in their file), and never drops text it does not understand: unknown
 * keys stay as they are.  The layout then reads one shape only. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "render-load.h"
#include "rg/buf.h"
#include "rg/json.h"
#include "rg/mem.h"
#include "rg/render.h"
#include "rg/resume.h"

/* A pointer longer than this (absurdly long keys) stops normalisation with an error. */
#define POINTER_MAX (16u * 1024 * 1024)

enum kind {
    K_LINE,  /* single-line text: outer white space trimmed */
    K_TEXT,  /* free text: kept byte for byte */
    K_URL,   /* a link: trimmed, checked, kept as written */
    K_EMAIL, /* trimmed, checked */
    K_DATE,  /* YYYY[-MM[-DD]] */
    K_END,   /* endDate: a date, or absent for "ongoing" */
    K_STRS,  /* array of free-text strings */
    K_OBJ,   /* object described by a struct section */
    K_OBJS,  /* array of such objects */
};

struct section;

struct field {
    const char *key;
    enum kind kind;
    const struct section *sub;
};

enum { LEGACY_ONLY_IF_ABSENT = 1 }; /* otherwise the legacy key is a plain duplicate */

struct legacy {
    const char *from, *to;
    unsigned flags;
};

struct section {
    const struct field *fields;
    const struct legacy *legacy; /* NULL-terminated by from == NULL */
};

/* A number as the text it was written as (integers without a decimal point), or NULL
 * when v is not a number.  A new reference. */
static json_t *number_text(const json_t *v)
{
    char buf[64];
    if (json_is_integer(v))
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
    else
        return NULL;
    return json_string(buf);
}

/* ---- the v1.0.0 shape ------------------------------------------------------------------ */

static const struct field location_fields[] = {
    {"address", K_TEXT, NULL}, {"postalCode", K_LINE, NULL}, {"city", K_LINE, NULL},
    {"countryCode", K_LINE, NULL}, {"region", K_LINE, NULL}, {NULL, 0, NULL},
};
static const struct section location_sec = {location_fields, NULL};

static const struct field profile_fields[] = {
    {"network", K_LINE, NULL}, {"username", K_LINE, NULL}, {"url", K_URL, NULL}, {NULL, 0, NULL},
};
static const struct section profile_sec = {profile_fields, NULL};

static const struct field basics_fields[] = {
    {"name", K_LINE, NULL},    {"label", K_LINE, NULL},   {"image", K_LINE, NULL},
    {"email", K_EMAIL, NULL},  {"phone", K_LINE, NULL},   {"url", K_URL, NULL},
    {"summary", K_TEXT, NULL}, {"location", K_OBJ, &location_sec},
    {"profiles", K_OBJS, &profile_sec}, {NULL, 0, NULL},
};
static const struct legacy basics_legacy[] = {
    {"website", "url", 0}, {"picture", "image", 0}, {NULL, NULL, 0},
};
static const struct section basics_sec = {basics_fields, basics_legacy};

static const struct field work_fields[] = {
    {"name", K_LINE, NULL},      {"location", K_LINE, NULL},   {"description", K_TEXT, NULL},
    {"position", K_LINE, NULL},  {"url", K_URL, NULL},         {"startDate", K_DATE, NULL},
    {"endDate", K_END, NULL},    {"summary", K_TEXT, NULL},    {"highlights", K_STRS, NULL},
    {NULL, 0, NULL},
};
static const struct legacy work_legacy[] = {
    {"company", "name", 0}, {"website", "url", 0}, {NULL, NULL, 0},
};
static const struct section work_sec = {work_fields, work_legacy};

static const struct field volunteer_fields[] = {
    {"organization", K_LINE, NULL}, {"position", K_LINE, NULL}, {"url", K_URL, NULL},
    {"startDate", K_DATE, NULL},    {"endDate", K_END, NULL},   {"summary", K_TEXT, NULL},
    {"highlights", K_STRS, NULL},   {NULL, 0, NULL},
};
/* Volunteer entries are written like jobs: "company"/"name" mean the organisation.  A
 * "name" next to an "organization" may be something else, so it is left alone then. */
static const struct legacy volunteer_legacy[] = {
    {"company", "organization", 0},
    {"name", "organization", LEGACY_ONLY_IF_ABSENT},
    {"website", "url", 0},
    {NULL, NULL, 0},
};
static const struct section volunteer_sec = {volunteer_fields, volunteer_legacy};

static const struct field education_fields[] = {
    {"institution", K_LINE, NULL}, {"url", K_URL, NULL},       {"area", K_LINE, NULL},
    {"studyType", K_LINE, NULL},   {"startDate", K_DATE, NULL}, {"endDate", K_END, NULL},
    {"score", K_LINE, NULL},       {"courses", K_STRS, NULL},   {NULL, 0, NULL},
};
static const struct legacy education_legacy[] = {{"gpa", "score", 0}, {NULL, NULL, 0}};
static const struct section education_sec = {education_fields, education_legacy};

static const struct field awards_fields[] = {
    {"title", K_LINE, NULL}, {"date", K_DATE, NULL}, {"awarder", K_LINE, NULL},
    {"summary", K_TEXT, NULL}, {NULL, 0, NULL},
};
static const struct section awards_sec = {awards_fields, NULL};

static const struct field certificates_fields[] = {
    {"name", K_LINE, NULL}, {"date", K_DATE, NULL}, {"url", K_URL, NULL},
    {"issuer", K_LINE, NULL}, {NULL, 0, NULL},
};
static const struct section certificates_sec = {certificates_fields, NULL};

static const struct field publications_fields[] = {
    {"name", K_LINE, NULL}, {"publisher", K_LINE, NULL}, {"releaseDate", K_DATE, NULL},
    {"url", K_URL, NULL},   {"summary", K_TEXT, NULL},   {NULL, 0, NULL},
};
static const struct legacy publications_legacy[] = {
    {"date", "releaseDate", 0}, {"website", "url", 0}, {NULL, NULL, 0},
};
static const struct section publications_sec = {publications_fields, publications_legacy};

static const struct field skills_fields[] = {
    {"name", K_LINE, NULL}, {"level", K_LINE, NULL}, {"keywords", K_STRS, NULL}, {NULL, 0, NULL},
};
static const struct section skills_sec = {skills_fields, NULL};

static const struct field languages_fields[] = {
    {"language", K_LINE, NULL}, {"fluency", K_LINE, NULL}, {NULL, 0, NULL},
};
static const struct section languages_sec = {languages_fields, NULL};

static const struct field interests_fields[] = {
    {"name", K_LINE, NULL}, {"keywords", K_STRS, NULL}, {NULL, 0, NULL},
};
static const struct section interests_sec = {interests_fields, NULL};

static const struct field references_fields[] = {
    {"name", K_LINE, NULL}, {"reference", K_TEXT, NULL}, {NULL, 0, NULL},
};
static const struct section references_sec = {references_fields, NULL};

static const struct field projects_fields[] = {
    {"name", K_LINE, NULL},      {"description", K_TEXT, NULL}, {"highlights", K_STRS, NULL},
    {"keywords", K_STRS, NULL},  {"startDate", K_DATE, NULL},   {"endDate", K_END, NULL},
    {"url", K_URL, NULL},        {"roles", K_STRS, NULL},       {"entity", K_LINE, NULL},
    {"type", K_LINE, NULL},      {NULL, 0, NULL},
};
static const struct section projects_sec = {projects_fields, NULL};

static const struct field meta_fields[] = {
    {"canonical", K_URL, NULL}, {"version", K_LINE, NULL}, {"lastModified", K_LINE, NULL},
    {NULL, 0, NULL},
};
static const struct section meta_sec = {meta_fields, NULL};

static const struct field top_fields[] = {
    {"$schema", K_LINE, NULL},
    {"basics", K_OBJ, &basics_sec},
    {"work", K_OBJS, &work_sec},
    {"volunteer", K_OBJS, &volunteer_sec},
    {"education", K_OBJS, &education_sec},
    {"awards", K_OBJS, &awards_sec},
    {"certificates", K_OBJS, &certificates_sec},
    {"publications", K_OBJS, &publications_sec},
    {"skills", K_OBJS, &skills_sec},
    {"languages", K_OBJS, &languages_sec},
    {"interests", K_OBJS, &interests_sec},
    {"references", K_OBJS, &references_sec},
    {"projects", K_OBJS, &projects_sec},
    {"meta", K_OBJ, &meta_sec},
    {NULL, 0, NULL},
};
/* "experience" is handled by hand: it may only replace an absent or empty "work". */
static const struct section top_sec = {top_fields, NULL};

/* ---- walking ---------------------------------------------------------------------------- */

struct lctx {
    struct rg_diags *diags;
    struct rg_buf ptr; /* pointer into the input of the value being looked at */
    int broken;
    int changed; /* the document differs from the input (set wherever it is modified) */
};

static void warn(struct lctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct lctx *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rg_diags_add(c->diags, RG_DIAG_WARN, c->ptr.ptr ? c->ptr.ptr : "", "%s", msg);
}

/* push/pop keep c->ptr equal to the pointer of the current value. */
static size_t push(struct lctx *c, const char *token, size_t index)
{
    size_t saved = c->ptr.len;
    char num[32];

    if (!token) {
        snprintf(num, sizeof num, "%zu", index);
        token = num;
    }
    if (!c->broken && rg_json_pointer_push(&c->ptr, token) < 0)
        c->broken = 1;
    return saved;
}

static void pop(struct lctx *c, size_t saved)
{
    if (!c->broken) {
        c->ptr.len = saved;
        c->ptr.ptr[saved] = '\0';
    }
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Replaces obj[key] by its trimmed form when it has outer white space.  Returns the
 * (possibly new) value. */
static json_t *trim_value(struct lctx *c, json_t *obj, const char *key, json_t *v)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v), b = 0, e = len;

    while (b < e && is_space(s[b]))
        b++;
    while (e > b && is_space(s[e - 1]))
        e--;
    if (b == 0 && e == len)
        return v;
    c->changed = 1;
    json_object_set_new(obj, key, json_stringn(s + b, e - b));
    return json_object_get(obj, key);
}

static int has_nul(const json_t *v)
{
    return strlen(json_string_value(v)) != json_string_length(v);
}

/* Dates: keep what parses, drop what means "nothing" or "ongoing", keep the rest as text
 * with a warning (a layout prints it as written). */
static void check_date(struct lctx *c, json_t *obj, const char *key, json_t *v, int is_end)
{
    const char *s = json_string_value(v);
    char *q;

    if (!*s && json_string_length(v) == 0) {
        if (is_end)
            warn(c, "empty endDate read as \"ongoing\" (the schema wants endDate left out)");
        else
            warn(c, "empty date removed");
        c->changed = 1;
        json_object_del(obj, key);
        return;
    }
    if (!has_nul(v) && rg_date_parse(s, NULL, NULL, NULL) == 0)
        return;
    q = render_quote(s, json_string_length(v));
    if (is_end && rg_date_is_present_word(s)) {
        warn(c, "%s read as \"ongoing\" (the schema wants endDate left out)", q);
        c->changed = 1;
        json_object_del(obj, key);
    } else if (!has_nul(v) && rg_date_valid(s, 0)) {
        warn(c, "%s is not a date", q);
    } else {
        warn(c, "%s is not a date (expected YYYY, YYYY-MM or YYYY-MM-DD); kept as text", q);
    }
    rg_free(q);
}

static void check_url(struct lctx *c, json_t *obj, const char *key, json_t *v)
{
    const char *s = json_string_value(v);
    char *q, *n;

    if (!*s && json_string_length(v) == 0) {
        warn(c, "empty URL removed");
        c->changed = 1;
        json_object_del(obj, key);
        return;
    }
    if (!has_nul(v) && rg_uri_is_absolute(s))
        return;
    q = render_quote(s, json_string_length(v));
    n = has_nul(v) ? NULL : rg_url_normalize(s);
    if (n)
        warn(c, "%s is not a complete URL; links will point to \"%s\"", q, n);
    else
        warn(c, "%s is not a URL; it will not be a link", q);
    rg_free(n);
    rg_free(q);
}

static void normalize_object(struct lctx *c, json_t *obj, const struct section *sec);

static void normalize_strings(struct lctx *c, json_t *obj, const char *key, json_t *arr)
{
    json_t *kept = json_array();
    size_t i;
    json_t *item;
    int dropped = 0;

    json_array_foreach(arr, i, item) {
        if (json_is_string(item)) {
            json_array_append(kept, item);
            continue;
        }
        size_t saved = push(c, NULL, i);
        json_t *text = number_text(item);
        if (text) {
            warn(c, "expected a string, got a number; used as the text \"%s\"",
                 json_string_value(text));
            json_array_append_new(kept, text);
            pop(c, saved);
            dropped = 1;
            continue;
        }
        warn(c, "expected a string, got %s; removed", render_json_type_name(item, 1));
        pop(c, saved);
        dropped = 1;
    }
    if (dropped) {
        c->changed = 1;
        json_object_set(obj, key, kept);
    }
    json_decref(kept);
}

static void normalize_objects(struct lctx *c, json_t *obj, const char *key, json_t *arr,
                              const struct section *sec)
{
    json_t *kept = json_array();
    size_t i;
    json_t *item;
    int dropped = 0;

    json_array_foreach(arr, i, item) {
        size_t saved = push(c, NULL, i);
        if (json_is_object(item)) {
            normalize_object(c, item, sec);
            json_array_append(kept, item);
        } else if (json_is_string(item) && sec->fields[0].kind == K_LINE) {
            /* "skills": ["Go", "Rust"] means what it says: read as {"name": "Go"}. */
            json_t *o = json_pack("{s:O}", sec->fields[0].key, item);
            warn(c, "expected an object, got a string; read as {\"%s\": ...}",
                 sec->fields[0].key);
            normalize_object(c, o, sec);
            json_array_append_new(kept, o);
            dropped = 1;
        } else {
            warn(c, "expected an object, got %s; removed", render_json_type_name(item, 1));
            dropped = 1;
        }
        pop(c, saved);
    }
    if (dropped) {
        c->changed = 1;
        json_object_set(obj, key, kept);
    }
    json_decref(kept);
}

/* Checks obj[f->key] (present) against its kind; c->ptr points at it. */
static void normalize_field(struct lctx *c, json_t *obj, const struct field *f, json_t *v)
{
    int want_string = f->kind <= K_END;
    int ok = want_string ? json_is_string(v)
             : f->kind == K_OBJ ? json_is_object(v)
                                : json_is_array(v);

    if (!ok && want_string && (v = number_text(v)) != NULL) {
        /* "startDate": 2017, "position": 5: keep what was meant, as text. */
        warn(c, "expected a string, got a number; used as the text \"%s\"", json_string_value(v));
        json_object_set_new(obj, f->key, v);
        c->changed = 1;
        ok = 1;
    } else if (!ok && f->kind == K_STRS && json_is_string(v) && json_string_length(v) > 0) {
        warn(c, "expected an array, got a string; read as a list of one");
        v = json_pack("[O]", v);
        json_object_set_new(obj, f->key, v);
        c->changed = 1;
        ok = 1;
    } else if (!ok) {
        v = json_object_get(obj, f->key);
    }
    if (!ok) {
        warn(c, "expected %s, got %s; removed",
             want_string ? "a string" : f->kind == K_OBJ ? "an object" : "an array",
             render_json_type_name(v, 1));
        c->changed = 1;
        json_object_del(obj, f->key);
        return;
    }
    if (f->kind != K_TEXT && want_string)
        v = trim_value(c, obj, f->key, v);
    switch (f->kind) {
    case K_URL:
        check_url(c, obj, f->key, v);
        break;
    case K_EMAIL:
        if (json_string_length(v) > 0 && (has_nul(v) || !rg_email_is_valid(json_string_value(v)))) {
            char *q = render_quote(json_string_value(v), json_string_length(v));
            warn(c, "%s is not an e-mail address", q);
            rg_free(q);
        }
        break;
    case K_DATE:
    case K_END:
        check_date(c, obj, f->key, v, f->kind == K_END);
        break;
    case K_STRS:
        normalize_strings(c, obj, f->key, v);
        break;
    case K_OBJ:
        normalize_object(c, v, f->sub);
        break;
    case K_OBJS:
        normalize_objects(c, obj, f->key, v, f->sub);
        break;
    default:
        break;
    }
}

/* A v1 value that says nothing (null, "" or only white space) loses to a legacy one. */
static int says_nothing(const json_t *v)
{
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_string(v))
        return 0;
    for (size_t i = 0; i < json_string_length(v); i++)
        if (!is_space(json_string_value(v)[i]))
            return 0;
    return 1;
}

struct moved {
    const char *to, *from;
};

/* Maps one legacy key; returns 1 when its value now lives under l->to. */
static int map_legacy(struct lctx *c, json_t *obj, const char *from, const char *to,
                      unsigned flags)
{
    json_t *lv = json_object_get(obj, from), *kv = json_object_get(obj, to);
    int moved = 0;

    if (!lv)
        return 0;
    if ((flags & LEGACY_ONLY_IF_ABSENT) && kv)
        return 0;
    size_t saved = push(c, from, 0);
    json_incref(lv);
    if (says_nothing(kv)) {
        if (kv)
            warn(c, "legacy key \"%s\" mapped to \"%s\" (which was empty)", from, to);
        else
            warn(c, "legacy key \"%s\" mapped to \"%s\"", from, to);
        json_object_set(obj, to, lv);
        moved = 1;
    } else if (json_equal(lv, kv)) {
        warn(c, "legacy key \"%s\" dropped: \"%s\" has the same value", from, to);
    } else {
        char *ql = json_is_string(lv) ? render_quote(json_string_value(lv), json_string_length(lv))
                                      : rg_strdup(render_json_type_name(lv, 1));
        char *qk = json_is_string(kv) ? render_quote(json_string_value(kv), json_string_length(kv))
                                      : rg_strdup(render_json_type_name(kv, 1));
        warn(c, "legacy key \"%s\" ignored: \"%s\" is also set and wins (%s, not %s)", from, to,
             qk, ql);
        rg_free(ql);
        rg_free(qk);
    }
    c->changed = 1; /* `from` goes, whatever became of its value */
    json_object_del(obj, from);
    json_decref(lv);
    pop(c, saved);
    return moved;
}

static void normalize_object(struct lctx *c, json_t *obj, const struct section *sec)
{
    struct moved moved[8];
    size_t nmoved = 0;

    for (const struct legacy *l = sec->legacy; l && l->from; l++)
        if (map_legacy(c, obj, l->from, l->to, l->flags) && nmoved < RG_ARRAY_SIZE(moved))
            moved[nmoved++] = (struct moved){l->to, l->from};
    for (const struct field *f = sec->fields; f->key; f++) {
        json_t *v = json_object_get(obj, f->key);
        const char *at = f->key;
        if (!v)
            continue;
        for (size_t i = 0; i < nmoved; i++)
            if (!strcmp(moved[i].to, f->key))
                at = moved[i].from; /* report where the user wrote it */
        size_t saved = push(c, at, 0);
        normalize_field(c, obj, f, v);
        pop(c, saved);
    }
}

/* Top level: "experience" -> "work", then the sections. */
static void normalize_top(struct lctx *c, json_t *doc)
{
    json_t *exp = json_object_get(doc, "experience");
    json_t *work = json_object_get(doc, "work");
    int from_experience = 0;

    if (exp) {
        size_t saved = push(c, "experience", 0);
        if (!work || json_is_null(work) || (json_is_array(work) && json_array_size(work) == 0)) {
            warn(c, "legacy key \"experience\" mapped to \"work\"");
            json_object_set(doc, "work", exp);
            json_object_del(doc, "experience");
            c->changed = 1;
            from_experience = 1;
        } else if (json_equal(exp, work)) {
            warn(c, "legacy key \"experience\" dropped: \"work\" has the same value");
            json_object_del(doc, "experience");
            c->changed = 1;
        } else {
            /* Both hold entries: "work" wins, and "experience" stays in the document (as
             * an unknown key) so that nothing the author wrote is thrown away. */
            warn(c, "legacy key \"experience\" ignored: \"work\" is also set and wins");
        }
        pop(c, saved);
    }
    for (const struct field *f = top_sec.fields; f->key; f++) {
        json_t *v = json_object_get(doc, f->key);
        if (!v)
            continue;
        size_t saved =
            push(c, from_experience && !strcmp(f->key, "work") ? "experience" : f->key, 0);
        normalize_field(c, doc, f, v);
        pop(c, saved);
    }
}

/* Puts the pointer token of a key (or of index, when key is NULL, as push() takes them) in
 * front of the pointer in b. */
static void pointer_prepend(struct rg_buf *b, const char *key, size_t index)
{
    struct rg_buf t;
    char num[32];

    if (!key) {
        snprintf(num, sizeof num, "%zu", index);
        key = num;
    }
    rg_buf_init(&t, POINTER_MAX);
    if (rg_json_pointer_push(&t, key) == 0 && rg_buf_append(&t, b->ptr ? b->ptr : "", b->len) == 0) {
        b->len = 0;
        (void)rg_buf_append(b, t.ptr, t.len);
    }
    rg_buf_done(&t);
}

/* Whether v holds an object or array more than `left` levels down; if so, b gets its
 * pointer (built on the way back up: a document of normal depth costs one walk, no pointer).
 * rg-pdf reads a resume inside its task message, two levels deeper, with jansson's limit
 * of 2048 levels: a document the loader accepts must stay well inside it. */
static int too_deep(const json_t *v, int left, struct rg_buf *b)
{
    const char *k;
    json_t *x;
    size_t i;

    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    if (left == 0) {
        b->len = 0;
        (void)rg_buf_append(b, "", 0);
        return 1;
    }
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, x) {
            if (too_deep(x, left - 1, b)) {
                pointer_prepend(b, k, 0);
                return 1;
            }
        }
        return 0;
    }
    json_array_foreach(v, i, x) {
        if (too_deep(x, left - 1, b)) {
            pointer_prepend(b, NULL, i);
            return 1;
        }
    }
    return 0;
}

int rg_resume_load(const char *buf, size_t len, unsigned flags, json_t **ret_doc,
                   struct rg_diags *diags, struct rg_errinfo *ei)
{
    return rg_resume_load_changed(buf, len, flags, ret_doc, NULL, diags, ei);
}

int rg_resume_load_changed(const char *buf, size_t len, unsigned flags, json_t **ret_doc,
                           int *ret_changed, struct rg_diags *diags, struct rg_errinfo *ei)
{
    struct rg_diags scratch = {0};
    struct lctx c = {0};
    json_t *doc = NULL;
    int r;

    if (!diags)
        diags = &scratch;
    c.diags = diags;
    rg_buf_init(&c.ptr, POINTER_MAX);
    if (len > RG_RESUME_MAX_BYTES) {
        r = rg_errinfo_set(ei, RG_ETOOBIG, "the resume is %zu bytes; the limit is %u bytes (2 MiB)",
                           len, RG_RESUME_MAX_BYTES);
        goto out;
    }
    int dup_line = 0, dup_column = 0;
    r = rg_json_parse_dup(buf ? buf : "", buf ? len : 0, &doc, &dup_line, &dup_column, ei);
    if (r < 0)
        goto out;
    if (dup_line) {
        /* The parse keeps the last value of a key written twice: the document is then not
         * its text, and must be written out from the parse. */
        rg_diags_add(diags, RG_DIAG_WARN, "",
                     "an object holds the same key twice (line %d, column %d); the last value is kept",
                     dup_line, dup_column);
        c.changed = 1;
    }
    if (json_is_object(doc) && too_deep(doc, RG_RESUME_MAX_DEPTH, &c.ptr)) {
        rg_diags_add(diags, RG_DIAG_ERROR, c.ptr.ptr ? c.ptr.ptr : "",
                     "nested deeper than %d levels", RG_RESUME_MAX_DEPTH);
        r = rg_errinfo_set(ei, RG_EINPUT, "the document is nested deeper than %d levels (at %s)",
                           RG_RESUME_MAX_DEPTH, c.ptr.ptr ? c.ptr.ptr : "");
        goto out;
    }
    if (!json_is_object(doc)) {
        rg_diags_add(diags, RG_DIAG_ERROR, "", "the document must be a JSON object, got %s",
                     render_json_type_name(doc, 1));
        r = rg_errinfo_set(ei, RG_EINPUT, "the document must be a JSON object, got %s",
                           render_json_type_name(doc, 1));
        goto out;
    }
    if (flags & RG_LOAD_STRICT) {
        r = rg_resume_validate_schema(doc, diags);
        if (r < 0) {
            r = rg_errinfo_set(ei, r, "cannot read the schema %s", rg_resume_schema_path());
            goto out;
        }
        if (r > 0) {
            r = rg_errinfo_set(ei, RG_EINPUT,
                               "the document violates the JSON Resume v1.0.0 schema (%d problem%s)",
                               r, r == 1 ? "" : "s");
            goto out;
        }
    }
    (void)rg_buf_append(&c.ptr, "", 0);
    normalize_top(&c, doc);
    if (c.broken) {
        rg_diags_add(diags, RG_DIAG_ERROR, "", "a key is too long to point at");
        r = rg_errinfo_set(ei, RG_ETOOBIG, "a JSON pointer into the document exceeds %u bytes",
                           POINTER_MAX);
        goto out;
    }
    *ret_doc = doc;
    doc = NULL;
    if (ret_changed)
        *ret_changed = c.changed;
    r = 0;
out:
    json_decref(doc);
    rg_buf_done(&c.ptr);
    rg_diags_done(&scratch);
    return r;
}
