/* A small JSON Schema draft-04 interpreter for the official JSON Resume v1.0.0 schema.
 *
 * The schema is data (data/schema/resume-v1.0.0.json), read once per process.  Only the
 * keywords that schema uses are implemented; on loading, every keyword is checked against
 * that list and an unknown one makes validation fail loudly rather than pass silently,
 * because strict mode promises to agree exactly with the schema.  Formats: email, uri
 * (absolute URI, RFC 3986) and date (RFC 3339 full-date). */
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render-load.h"
#include "rg/buf.h"
#include "rg/json.h"
#include "rg/mem.h"
#include "rg/render.h"
#include "rg/resume.h"

#define SCHEMA_MAX_BYTES (1024 * 1024)
/* A JSON pointer longer than this stops validation (only absurd inputs get there). */
#define POINTER_MAX (16u * 1024 * 1024)

struct pattern {
    const char *src; /* borrowed from schema_doc */
    regex_t re;
};

static pthread_once_t schema_once = PTHREAD_ONCE_INIT;
static json_t *schema_doc;
static int schema_err;
static char schema_errmsg[300];
static struct pattern *patterns;
static size_t npatterns;
static char schema_path[4096];

/* ---- helpers shared with render-resume.c --------------------------------------------- */

const char *render_json_type_name(const json_t *v, int article)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return article ? "an object" : "object";
    case JSON_ARRAY:
        return article ? "an array" : "array";
    case JSON_STRING:
        return article ? "a string" : "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return article ? "a number" : "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return article ? "a boolean" : "boolean";
    default:
        return "null";
    }
}

char *render_quote(const char *s, size_t len)
{
    struct rg_buf b;
    size_t n = len;
    int cut = 0;

    if (n > 100) {
        n = 100;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) /* stay on a UTF-8 boundary */
            n--;
        cut = 1;
    }
    rg_buf_init(&b, 1024);
    (void)rg_json_quote(&b, s, n);
    if (cut && b.len > 0) {
        b.len--; /* reopen the closing quote to append the ellipsis inside it */
        (void)rg_buf_puts(&b, "...\"");
    }
    return rg_buf_take(&b, NULL);
}

/* ---- loading the schema -------------------------------------------------------------- */

static void compute_path(void)
{
    const char *dir = getenv("RG_DATA_DIR");
    if (!dir || !*dir)
        dir = RG_DEFAULT_DATA_DIR;
    snprintf(schema_path, sizeof schema_path, "%s/schema/resume-v1.0.0.json", dir);
}

const char *rg_resume_schema_path(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    (void)pthread_once(&once, compute_path);
    return schema_path;
}

static int fail_load(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_load(int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(schema_errmsg, sizeof schema_errmsg, fmt, ap);
    va_end(ap);
    return err;
}

/* Checks every keyword of schema node s and compiles its pattern; recurses into
 * sub-schemas. */
static int prepare(json_t *s, int depth)
{
    static const char *const known[] = {
        "type",    "properties",  "additionalProperties", "items",   "additionalItems",
        "$ref",    "pattern",     "format",               "enum",    "required",
        "$schema", "description", "title",                "default", "definitions",
        "id",
    };
    const char *key;
    json_t *val;
    int r;

    if (!json_is_object(s) || depth > 64)
        return fail_load(RG_ECONFIG, "a sub-schema is not an object");
    json_object_foreach(s, key, val) {
        size_t i;
        for (i = 0; i < RG_ARRAY_SIZE(known); i++)
            if (!strcmp(key, known[i]))
                break;
        if (i == RG_ARRAY_SIZE(known))
            return fail_load(RG_ECONFIG, "keyword \"%s\" is not supported", key);
        if (!strcmp(key, "properties") || !strcmp(key, "definitions")) {
            const char *k2;
            json_t *sub;
            if (!json_is_object(val))
                return fail_load(RG_ECONFIG, "\"%s\" must be an object", key);
            json_object_foreach(val, k2, sub) {
                if ((r = prepare(sub, depth + 1)) < 0)
                    return r;
            }
        } else if (!strcmp(key, "items")) {
            if (json_is_array(val)) {
                size_t j;
                json_t *sub;
                json_array_foreach(val, j, sub) {
                    if ((r = prepare(sub, depth + 1)) < 0)
                        return r;
                }
            } else if ((r = prepare(val, depth + 1)) < 0) {
                return r;
            }
        } else if (!strcmp(key, "additionalProperties") || !strcmp(key, "additionalItems")) {
            if (!json_is_boolean(val) && (r = prepare(val, depth + 1)) < 0)
                return r;
        } else if (!strcmp(key, "format")) {
            const char *f = json_string_value(val);
            if (!f || (strcmp(f, "email") && strcmp(f, "uri") && strcmp(f, "date")))
                return fail_load(RG_ECONFIG, "format \"%s\" is not supported", f ? f : "?");
        } else if (!strcmp(key, "$ref")) {
            const char *ref = json_string_value(val);
            if (!ref || ref[0] != '#')
                return fail_load(RG_ECONFIG, "only local $ref are supported, not \"%s\"",
                                 ref ? ref : "?");
        } else if (!strcmp(key, "pattern")) {
            const char *src = json_string_value(val);
            if (!src)
                return fail_load(RG_ECONFIG, "pattern must be a string");
            patterns = rg_realloc(patterns, (npatterns + 1) * sizeof *patterns);
            /* ECMA 262 patterns are unanchored searches, as regexec is; the schema's only
             * pattern uses nothing beyond POSIX ERE (groups, |, [..], {n}, ^, $). */
            if (regcomp(&patterns[npatterns].re, src, REG_EXTENDED | REG_NOSUB) != 0)
                return fail_load(RG_ECONFIG, "pattern \"%s\" does not compile", src);
            patterns[npatterns++].src = src;
        }
    }
    return 0;
}

static void schema_init(void)
{
    struct rg_buf b;
    struct rg_errinfo ei;
    const char *path = rg_resume_schema_path();
    int r;

    rg_buf_init(&b, SCHEMA_MAX_BYTES);
    r = rg_buf_read_file(&b, path);
    if (r < 0) {
        schema_err = fail_load(r, "cannot read %s: %s", path, rg_strerror(r));
        goto out;
    }
    r = rg_json_parse(b.ptr, b.len, &schema_doc, &ei);
    if (r < 0) {
        schema_err = fail_load(r, "%s: %s", path, ei.msg);
        goto out;
    }
    r = prepare(schema_doc, 0);
    if (r < 0) {
        char *why = rg_asprintf("%s: %s", path, schema_errmsg);
        schema_err = fail_load(r, "%s", why);
        rg_free(why);
    }
out:
    rg_buf_done(&b);
}

static const regex_t *find_pattern(const char *src)
{
    for (size_t i = 0; i < npatterns; i++)
        if (patterns[i].src == src || !strcmp(patterns[i].src, src))
            return &patterns[i].re;
    return NULL;
}

/* ---- validating ----------------------------------------------------------------------- */

struct vctx {
    struct rg_diags *diags;
    struct rg_buf ptr; /* JSON pointer of the value being checked */
    int count;
    int broken; /* the pointer outgrew its cap: stop */
};

static void report(struct vctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct vctx *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rg_diags_add(c->diags, RG_DIAG_ERROR, c->ptr.ptr ? c->ptr.ptr : "", "%s", msg);
    c->count++;
}

static const json_t *resolve_ref(const char *ref)
{
    /* "#" or "#/a/b" (RFC 6901 tokens; ~0 ~1 unescaped). */
    const json_t *node = schema_doc;
    const char *p = ref + 1;

    while (node && *p == '/') {
        char tok[256];
        size_t n = 0;
        p++;
        while (*p && *p != '/' && n + 1 < sizeof tok) {
            if (p[0] == '~' && (p[1] == '0' || p[1] == '1')) {
                tok[n++] = p[1] == '0' ? '~' : '/';
                p += 2;
            } else {
                tok[n++] = *p++;
            }
        }
        tok[n] = '\0';
        node = json_object_get(node, tok);
    }
    return *p ? NULL : node;
}

static int type_matches(const char *t, const json_t *v)
{
    if (!strcmp(t, "string"))
        return json_is_string(v);
    if (!strcmp(t, "object"))
        return json_is_object(v);
    if (!strcmp(t, "array"))
        return json_is_array(v);
    if (!strcmp(t, "boolean"))
        return json_is_boolean(v);
    if (!strcmp(t, "null"))
        return json_is_null(v);
    if (!strcmp(t, "number"))
        return json_is_number(v);
    if (!strcmp(t, "integer"))
        return json_is_integer(v) ||
               (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v));
    return 0;
}

static void check(struct vctx *c, const json_t *s, const json_t *v, const char *defname,
                  int depth);

static void check_child(struct vctx *c, const json_t *s, const json_t *v, const char *token,
                        size_t index, int depth)
{
    size_t saved = c->ptr.len;
    char num[32];
    int r;

    if (!token) {
        snprintf(num, sizeof num, "%zu", index);
        token = num;
    }
    r = rg_json_pointer_push(&c->ptr, token);
    if (r < 0) {
        c->broken = 1;
        return;
    }
    check(c, s, v, NULL, depth + 1);
    if (!c->broken) {
        c->ptr.len = saved;
        c->ptr.ptr[saved] = '\0';
    }
}

static void check_string(struct vctx *c, const json_t *s, const json_t *v, const char *defname)
{
    const char *str = json_string_value(v);
    size_t len = json_string_length(v);
    const char *pattern = json_string_value(json_object_get(s, "pattern"));
    const char *format = json_string_value(json_object_get(s, "format"));
    char *q = NULL;

    if (pattern) {
        const regex_t *re = find_pattern(pattern);
        regmatch_t m = {.rm_so = 0, .rm_eo = (regoff_t)len};
        /* REG_STARTEND so that an embedded NUL (legal in JSON) is part of the subject. */
        if (re && regexec(re, str, 1, &m, REG_STARTEND) != 0) {
            q = render_quote(str, len);
            if (defname && !strcmp(defname, "iso8601"))
                report(c, "%s is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD", q);
            else
                report(c, "%s does not match the pattern %s", q, pattern);
            q = rg_free(q);
        }
    }
    if (format) {
        /* A string with a NUL inside is none of these formats. */
        int nul = strlen(str) != len;
        int ok = !nul && (!strcmp(format, "uri")     ? rg_uri_is_absolute(str)
                          : !strcmp(format, "email") ? rg_email_is_valid(str)
                                                     : render_full_date_valid(str));
        if (!ok) {
            q = render_quote(str, len);
            if (!strcmp(format, "uri"))
                report(c, "%s is not a URI (an absolute URI with a scheme is required)", q);
            else if (!strcmp(format, "email"))
                report(c, "%s is not an e-mail address", q);
            else
                report(c, "%s is not a full date (YYYY-MM-DD)", q);
            q = rg_free(q);
        }
    }
}

static void check(struct vctx *c, const json_t *s, const json_t *v, const char *defname,
                  int depth)
{
    const json_t *ref, *type, *props, *addl, *items;

    if (c->broken || depth > 256)
        return;
    if ((ref = json_object_get(s, "$ref"))) {
        /* draft-04: a $ref replaces its siblings. */
        const char *r = json_string_value(ref);
        const json_t *target = resolve_ref(r);
        const char *name = !strncmp(r, "#/definitions/", 14) ? r + 14 : NULL;
        if (!target) {
            report(c, "the schema refers to %s, which does not exist", r);
            return;
        }
        check(c, target, v, name, depth + 1);
        return;
    }
    if ((type = json_object_get(s, "type"))) {
        int ok = 0;
        if (json_is_string(type)) {
            ok = type_matches(json_string_value(type), v);
        } else {
            size_t i;
            json_t *t;
            json_array_foreach(type, i, t) ok |= type_matches(json_string_value(t), v);
        }
        if (!ok) {
            report(c, "expected %s, got %s",
                   json_is_string(type) ? json_string_value(type) : "another type",
                   render_json_type_name(v, 0));
            return; /* everything else in this schema is about the expected type */
        }
    }
    if (json_object_get(s, "enum")) {
        size_t i;
        json_t *e;
        int found = 0;
        json_array_foreach(json_object_get(s, "enum"), i, e) found |= json_equal(e, (json_t *)v);
        if (!found)
            report(c, "value is not one of the allowed values");
    }
    if (json_is_string(v)) {
        check_string(c, s, v, defname);
    } else if (json_is_object(v)) {
        const char *key;
        json_t *val;
        size_t i;
        json_t *req;
        props = json_object_get(s, "properties");
        addl = json_object_get(s, "additionalProperties");
        json_array_foreach(json_object_get(s, "required"), i, req) {
            if (json_is_string(req) && !json_object_get(v, json_string_value(req)))
                report(c, "missing required key \"%s\"", json_string_value(req));
        }
        json_object_foreach((json_t *)v, key, val) {
            const json_t *sub = json_object_get(props, key);
            if (sub) {
                check_child(c, sub, val, key, 0, depth);
            } else if (json_is_false(addl)) {
                size_t saved = c->ptr.len;
                if (rg_json_pointer_push(&c->ptr, key) < 0) {
                    c->broken = 1;
                    return;
                }
                char *q = render_quote(key, strlen(key));
                if (depth == 0)
                    report(c, "unknown top-level key %s (not allowed by the v1.0.0 schema)", q);
                else
                    report(c, "unknown key %s (not allowed by the schema)", q);
                rg_free(q);
                c->ptr.len = saved;
                c->ptr.ptr[saved] = '\0';
            } else if (json_is_object(addl)) {
                check_child(c, addl, val, key, 0, depth);
            }
        }
    } else if (json_is_array(v) && (items = json_object_get(s, "items"))) {
        size_t i;
        json_t *val;
        json_array_foreach((json_t *)v, i, val) {
            if (json_is_object(items)) {
                check_child(c, items, val, NULL, i, depth);
            } else if (i < json_array_size(items)) {
                check_child(c, json_array_get(items, i), val, NULL, i, depth);
            } else {
                /* draft-04: additionalItems only matters after a tuple of items. */
                addl = json_object_get(s, "additionalItems");
                if (json_is_false(addl)) {
                    report(c, "%zu items, the schema allows %zu", json_array_size(v),
                           json_array_size(items));
                    break;
                }
                if (json_is_object(addl))
                    check_child(c, addl, val, NULL, i, depth);
            }
        }
    }
}

int rg_resume_validate_schema(const json_t *doc, struct rg_diags *diags)
{
    struct vctx c = {.diags = diags};

    (void)pthread_once(&schema_once, schema_init);
    if (schema_err) {
        rg_diags_add(diags, RG_DIAG_ERROR, "", "cannot validate: %s", schema_errmsg);
        return schema_err;
    }
    rg_buf_init(&c.ptr, POINTER_MAX);
    (void)rg_buf_append(&c.ptr, "", 0);
    check(&c, schema_doc, doc, NULL, 0);
    if (c.broken)
        rg_diags_add(diags, RG_DIAG_ERROR, "", "document nested or keyed too deeply to validate");
    rg_buf_done(&c.ptr);
    return c.broken ? c.count + 1 : c.count;
}
