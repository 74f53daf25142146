/* rg_resume_load(): parsing failures, legacy keys, wrong types, dates, strict mode, and
 * the real files of the shared corpus. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rg/buf.h"
#include "rg/json.h"
#include "rg/mem.h"
#include "rg/render.h"
#include "rg/resume.h"

static int has_diag(const struct rg_diags *d, enum rg_diag_level level, const char *pointer,
                    const char *part)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].level == level && !strcmp(d->v[i].pointer, pointer) &&
            strstr(d->v[i].message, part))
            return 1;
    return 0;
}

static void dump(const struct rg_diags *d)
{
    for (size_t i = 0; i < d->n; i++)
        print_message("#   %s %s: %s\n", d->v[i].level ? "error" : "warning", d->v[i].pointer,
                      d->v[i].message);
}

#define EXPECT_DIAG(d, level, ptr, part)                                                           \
    do {                                                                                           \
        if (!has_diag((d), (level), (ptr), (part))) {                                              \
            dump(d);                                                                               \
            fail_msg("no diagnostic %s: ...%s...", (ptr), (part));                                 \
        }                                                                                          \
    } while (0)

/* Loads text (non-strict unless flags say so), asserts success. */
static json_t *load_ok(const char *text, unsigned flags, struct rg_diags *d)
{
    json_t *doc = NULL;
    struct rg_errinfo ei = {.msg = ""};
    int r = rg_resume_load(text, strlen(text), flags, &doc, d, &ei);
    if (r != 0) {
        dump(d);
        fail_msg("load failed: %s (%s)", rg_strerror(r), ei.msg);
    }
    assert_non_null(doc);
    assert_int_equal(rg_diags_count(d, RG_DIAG_ERROR), 0);
    return doc;
}

/* Borrowed value at a JSON pointer-ish path "a/0/b" (no escaping needed in tests). */
static json_t *at(json_t *doc, const char *path)
{
    char buf[256];
    json_t *v = doc;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *t = strtok_r(buf, "/", &save); t && v; t = strtok_r(NULL, "/", &save))
        v = json_is_array(v) ? json_array_get(v, strtoul(t, NULL, 10)) : json_object_get(v, t);
    return v;
}

static void assert_str_at(json_t *doc, const char *path, const char *want)
{
    json_t *v = at(doc, path);
    if (!json_is_string(v) || strcmp(json_string_value(v), want))
        fail_msg("%s: expected \"%s\", got %s", path, want,
                 json_is_string(v) ? json_string_value(v) : "(not a string)");
}

/* ---- parse failures ---------------------------------------------------------------------- */

static void test_size_cap(void **state)
{
    size_t n = RG_RESUME_MAX_BYTES + 1;
    char *big = rg_malloc(n);
    json_t *doc = (json_t *)&doc; /* sentinel: must stay untouched */
    struct rg_diags d = {0};
    struct rg_errinfo ei;
    (void)state;

    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    assert_int_equal(rg_resume_load(big, n, 0, &doc, &d, &ei), RG_ETOOBIG);
    assert_ptr_equal(doc, (json_t *)&doc);
    assert_non_null(strstr(ei.msg, "limit"));
    /* exactly at the cap is fine */
    big[n - 2] = '}';
    assert_int_equal(rg_resume_load(big, n - 1, 0, &doc, &d, &ei), 0);
    json_decref(doc);
    rg_free(big);
    rg_diags_done(&d);
}

static void test_bom_accepted(void **state)
{
    static const char text[] = "\xEF\xBB\xBF{\"basics\":{\"name\":\"Alex\"}}";
    struct rg_diags d = {0};
    (void)state;

    json_t *doc = load_ok(text, RG_LOAD_STRICT, &d);
    assert_str_at(doc, "basics/name", "Alex");
    json_decref(doc);
    rg_diags_done(&d);
}

static void test_invalid_utf8_offset(void **state)
{
    static const char text[] = "{\"basics\":{\"name\":\"Ab\xC3\x28\"}}"; /* C3 28: bad tail */
    static const char bom[] = "\xEF\xBB\xBF{\"a\":\"\xED\xA0\x80\"}";   /* a surrogate */
    json_t *doc = NULL;
    struct rg_diags d = {0};
    struct rg_errinfo ei;
    (void)state;

    assert_int_equal(rg_resume_load(text, sizeof text - 1, 0, &doc, &d, &ei), RG_EUTF8);
    assert_int_equal(ei.offset, 21);
    assert_null(doc);
    assert_int_equal(rg_resume_load(bom, sizeof bom - 1, 0, &doc, &d, &ei), RG_EUTF8);
    assert_int_equal(ei.offset, 9); /* counted from the first byte of the input, BOM included */
    rg_diags_done(&d);
}

static void test_invalid_json_line_column(void **state)
{
    static const char text[] = "{\n  \"basics\": {\n    \"name\": \"A\",,\n  }\n}";
    json_t *doc = NULL;
    struct rg_diags d = {0};
    struct rg_errinfo ei;
    (void)state;

    assert_int_equal(rg_resume_load(text, sizeof text - 1, 0, &doc, &d, &ei), RG_EJSON);
    assert_int_equal(ei.line, 3);
    assert_int_equal(ei.column, 17);
    assert_null(doc);
    assert_int_equal(rg_resume_load("", 0, 0, &doc, &d, &ei), RG_EJSON);
    assert_int_equal(rg_resume_load(NULL, 0, 0, &doc, &d, &ei), RG_EJSON);
    rg_diags_done(&d);
}

static void test_top_level_not_object(void **state)
{
    static const char *const texts[] = {"[]", "\"resume\"", "42", "null"};
    (void)state;

    for (size_t i = 0; i < RG_ARRAY_SIZE(texts); i++) {
        json_t *doc = NULL;
        struct rg_diags d = {0};
        struct rg_errinfo ei;
        assert_int_equal(rg_resume_load(texts[i], strlen(texts[i]), 0, &doc, &d, &ei), RG_EINPUT);
        assert_null(doc);
        EXPECT_DIAG(&d, RG_DIAG_ERROR, "", "must be a JSON object");
        rg_diags_done(&d);
    }
}

/* ---- legacy keys ------------------------------------------------------------------------- */

static void test_legacy_keys_mapped(void **state)
{
    static const char text[] =
        "{\"basics\":{\"name\":\"A\",\"website\":\"https://a.example.com\",\"picture\":\"p.jpg\"},"
        "\"work\":[{\"company\":\"Acme\",\"website\":\"https://acme.example.com\"}],"
        "\"volunteer\":[{\"company\":\"Club\",\"website\":\"https://club.example.com\"},"
        "{\"name\":\"Dojo\"},{\"organization\":\"Org\",\"name\":\"Team X\"}],"
        "\"education\":[{\"institution\":\"U\",\"gpa\":\"3.9\"}],"
        "\"publications\":[{\"name\":\"P\",\"date\":\"2020-05\",\"website\":\"https://pub.example.com\"}]}";
    struct rg_diags d = {0};
    (void)state;

    json_t *doc = load_ok(text, 0, &d);
    assert_str_at(doc, "basics/url", "https://a.example.com");
    assert_str_at(doc, "basics/image", "p.jpg");
    assert_null(at(doc, "basics/website"));
    assert_null(at(doc, "basics/picture"));
    assert_str_at(doc, "work/0/name", "Acme");
    assert_str_at(doc, "work/0/url", "https://acme.example.com");
    assert_null(at(doc, "work/0/company"));
    assert_str_at(doc, "volunteer/0/organization", "Club");
    assert_str_at(doc, "volunteer/0/url", "https://club.example.com");
    assert_str_at(doc, "volunteer/1/organization", "Dojo");
    assert_null(at(doc, "volunteer/1/name"));
    /* name next to organization is not a legacy key: left alone, no warning */
    assert_str_at(doc, "volunteer/2/organization", "Org");
    assert_str_at(doc, "volunteer/2/name", "Team X");
    assert_str_at(doc, "education/0/score", "3.9");
    assert_null(at(doc, "education/0/gpa"));
    assert_str_at(doc, "publications/0/releaseDate", "2020-05");
    assert_str_at(doc, "publications/0/url", "https://pub.example.com");
    assert_null(at(doc, "publications/0/date"));

    EXPECT_DIAG(&d, RG_DIAG_WARN, "/basics/website", "legacy key \"website\" mapped to \"url\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/basics/picture", "legacy key \"picture\" mapped to \"image\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/0/company", "legacy key \"company\" mapped to \"name\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/0/website", "mapped to \"url\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/volunteer/0/company", "mapped to \"organization\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/volunteer/0/website", "mapped to \"url\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/volunteer/1/name", "mapped to \"organization\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/education/0/gpa", "mapped to \"score\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/publications/0/date", "mapped to \"releaseDate\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/publications/0/website", "mapped to \"url\"");
    assert_int_equal(d.n, 10); /* one per mapped key, nothing else */
    json_decref(doc);
    rg_diags_done(&d);
}

static void test_legacy_conflicts(void **state)
{
    static const char text[] =
        "{\"basics\":{\"url\":\"https://new.example.com\",\"website\":\"https://old.example.com\","
        "\"image\":\"same.jpg\",\"picture\":\"same.jpg\"},"
        "\"work\":[{\"name\":\"New\",\"company\":\"Old\"},{\"name\":\"\",\"company\":\"Filled\"},"
        "{\"name\":null,\"company\":\"FromNull\"}]}";
    struct rg_diags d = {0};
    (void)state;

    json_t *doc = load_ok(text, 0, &d);
    assert_str_at(doc, "basics/url", "https://new.example.com");
    assert_null(at(doc, "basics/website"));
    assert_str_at(doc, "basics/image", "same.jpg");
    assert_null(at(doc, "basics/picture"));
    assert_str_at(doc, "work/0/name", "New");
    assert_null(at(doc, "work/0/company"));
    assert_str_at(doc, "work/1/name", "Filled");
    assert_str_at(doc, "work/2/name", "FromNull");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/basics/website", "\"url\" is also set and wins");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/basics/picture", "same value");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/0/company", "\"name\" is also set and wins (\"New\", not \"Old\")");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/1/company", "mapped to \"name\" (which was empty)");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/2/company", "mapped to \"name\"");
    json_decref(doc);
    rg_diags_done(&d);
}

static void test_experience_to_work(void **state)
{
    struct rg_diags d = {0};
    json_t *doc;
    (void)state;

    /* absent work */
    doc = load_ok("{\"experience\":[{\"company\":\"A\",\"startDate\":\"2019-02-30\"}]}", 0, &d);
    assert_str_at(doc, "work/0/name", "A");
    assert_null(at(doc, "experience"));
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/experience", "legacy key \"experience\" mapped to \"work\"");
    /* later diagnostics point where the user wrote the value */
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/experience/0/company", "mapped to \"name\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/experience/0/startDate", "\"2019-02-30\" is not a date");
    json_decref(doc);
    rg_diags_done(&d);

    /* empty work */
    doc = load_ok("{\"work\":[],\"experience\":[{\"name\":\"B\"}]}", 0, &d);
    assert_str_at(doc, "work/0/name", "B");
    json_decref(doc);
    rg_diags_done(&d);

    /* both filled: work wins, experience is kept untouched */
    doc = load_ok("{\"work\":[{\"name\":\"W\"}],\"experience\":[{\"name\":\"E\"}]}", 0, &d);
    assert_str_at(doc, "work/0/name", "W");
    assert_int_equal(json_array_size(at(doc, "work")), 1);
    assert_str_at(doc, "experience/0/name", "E");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/experience", "\"work\" is also set and wins");
    json_decref(doc);
    rg_diags_done(&d);
}

/* ---- wrong types ------------------------------------------------------------------------- */

static void test_wrong_types_removed(void **state)
{
    static const char text[] =
        "{\"basics\":{\"name\":null,\"label\":42,\"email\":true,\"summary\":[\"x\"],"
        "\"location\":\"Paris\",\"profiles\":{\"network\":\"x\"}},"
        "\"work\":[1,{\"name\":\"Keep\",\"position\":5,\"highlights\":[\"a\",null,2,\"b\"],"
        "\"startDate\":2019}],"
        "\"education\":null,\"skills\":{},\"meta\":[],"
        "\"projects\":[{\"keywords\":\"go\",\"roles\":[{}]}]}";
    struct rg_diags d = {0};
    (void)state;

    json_t *doc = load_ok(text, 0, &d);
    assert_null(at(doc, "basics/name"));
    assert_str_at(doc, "basics/label", "42"); /* numbers are kept as text */
    assert_null(at(doc, "basics/email"));
    assert_null(at(doc, "basics/summary"));
    assert_null(at(doc, "basics/location"));
    assert_null(at(doc, "basics/profiles"));
    assert_null(at(doc, "education"));
    assert_null(at(doc, "skills"));
    assert_null(at(doc, "meta"));
    assert_int_equal(json_array_size(at(doc, "work")), 1);
    assert_str_at(doc, "work/0/name", "Keep");
    assert_str_at(doc, "work/0/position", "5");
    assert_str_at(doc, "work/0/startDate", "2019");
    assert_int_equal(json_array_size(at(doc, "work/0/highlights")), 3);
    assert_str_at(doc, "work/0/highlights/1", "2");
    assert_str_at(doc, "work/0/highlights/2", "b");
    assert_int_equal(json_array_size(at(doc, "projects/0/keywords")), 1);
    assert_str_at(doc, "projects/0/keywords/0", "go");
    assert_int_equal(json_array_size(at(doc, "projects/0/roles")), 0);

    EXPECT_DIAG(&d, RG_DIAG_WARN, "/basics/name", "expected a string, got null");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/basics/label", "got a number; used as the text \"42\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/basics/email", "expected a string, got a boolean");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/basics/summary", "expected a string, got an array");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/basics/location", "expected an object, got a string");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/basics/profiles", "expected an array, got an object");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/0", "expected an object, got a number");
    /* pointers keep the input's indices even after an item was dropped */
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/1/position", "got a number; used as the text \"5\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/1/highlights/1", "expected a string, got null");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/1/highlights/2", "got a number; used as the text \"2\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/1/startDate", "got a number; used as the text \"2019\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/education", "expected an array, got null");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/skills", "expected an array, got an object");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/meta", "expected an object, got an array");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/projects/0/keywords", "got a string; read as a list of one");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/projects/0/roles/0", "expected a string, got an object");
    json_decref(doc);
    rg_diags_done(&d);
}

static void test_loose_shapes_kept(void **state)
{
    static const char text[] = "{\"skills\":[\"Go\",\"Rust\"],\"languages\":[\"German\"],"
                               "\"work\":[{\"highlights\":\"Built things\"}]}";
    struct rg_diags d = {0};
    (void)state;

    json_t *doc = load_ok(text, 0, &d);
    assert_str_at(doc, "skills/0/name", "Go");
    assert_str_at(doc, "skills/1/name", "Rust");
    assert_str_at(doc, "languages/0/language", "German");
    assert_str_at(doc, "work/0/highlights/0", "Built things");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/skills/0", "read as {\"name\": ...}");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/0/highlights", "read as a list of one");
    json_decref(doc);
    rg_diags_done(&d);
}

/* ---- dates ------------------------------------------------------------------------------- */

static void test_dates(void **state)
{
    static const char text[] =
        "{\"work\":["
        "{\"startDate\":\"2019\",\"endDate\":\"2020-05\"},"       /* 0 valid */
        "{\"startDate\":\"2019-02-30\",\"endDate\":\"2021-13\"}," /* 1 impossible */
        "{\"startDate\":\"Summer 2019\",\"endDate\":\"2024, 2025\"}," /* 2 free text */
        "{\"startDate\":\" 2020-01-15 \",\"endDate\":\"\"},"        /* 3 trimmed, empty end */
        "{\"startDate\":\"\",\"endDate\":\"Present\"},"             /* 4 empty start */
        "{\"startDate\":\"present\"}"                               /* 5 present as start */
        "],\"awards\":[{\"date\":\"2024, 2025\"}],"
        "\"publications\":[{\"releaseDate\":\"2018-02-29\"}],"
        "\"certificates\":[{\"date\":\"2021\"}]}";
    struct rg_diags d = {0};
    (void)state;

    json_t *doc = load_ok(text, 0, &d);
    assert_str_at(doc, "work/0/startDate", "2019");
    assert_str_at(doc, "work/0/endDate", "2020-05");
    assert_str_at(doc, "work/1/startDate", "2019-02-30");
    assert_str_at(doc, "work/1/endDate", "2021-13");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/1/startDate", "\"2019-02-30\" is not a date");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/1/endDate", "\"2021-13\" is not a date");
    assert_str_at(doc, "work/2/startDate", "Summer 2019");
    assert_str_at(doc, "work/2/endDate", "2024, 2025");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/2/startDate", "\"Summer 2019\" is not a date");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/2/endDate", "kept as text");
    assert_str_at(doc, "work/3/startDate", "2020-01-15");
    assert_null(at(doc, "work/3/endDate"));
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/3/endDate", "empty endDate read as \"ongoing\"");
    assert_null(at(doc, "work/4/startDate"));
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/4/startDate", "empty date removed");
    assert_null(at(doc, "work/4/endDate"));
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/4/endDate", "\"Present\" read as \"ongoing\"");
    assert_str_at(doc, "work/5/startDate", "present");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/5/startDate", "is not a date");
    assert_str_at(doc, "awards/0/date", "2024, 2025");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/awards/0/date", "is not a date");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/publications/0/releaseDate", "\"2018-02-29\" is not a date");
    assert_str_at(doc, "certificates/0/date", "2021"); /* generous: a year is fine here */
    /* valid and trimmed dates are silent */
    assert_false(has_diag(&d, RG_DIAG_WARN, "/work/0/startDate", ""));
    assert_false(has_diag(&d, RG_DIAG_WARN, "/work/3/startDate", ""));
    assert_false(has_diag(&d, RG_DIAG_WARN, "/certificates/0/date", ""));
    json_decref(doc);
    rg_diags_done(&d);
}

static void test_present_words_end_ongoing(void **state)
{
    static const char *const words[] = {"present", "Current", "NOW", "today", "heute", "actuel",
                                        "actualidad", "atual", "настоящее время", "至今", "現在"};
    (void)state;

    for (size_t i = 0; i < RG_ARRAY_SIZE(words); i++) {
        char text[256];
        struct rg_diags d = {0};
        snprintf(text, sizeof text, "{\"volunteer\":[{\"startDate\":\"2020\",\"endDate\":\"%s\"}]}",
                 words[i]);
        json_t *doc = load_ok(text, 0, &d);
        if (at(doc, "volunteer/0/endDate"))
            fail_msg("endDate \"%s\" kept", words[i]);
        EXPECT_DIAG(&d, RG_DIAG_WARN, "/volunteer/0/endDate", "read as \"ongoing\"");
        json_decref(doc);
        rg_diags_done(&d);
    }
}

/* ---- text, urls, unknown keys -------------------------------------------------------------- */

static void test_strings_kept_and_unknown_keys(void **state)
{
    static const char text[] =
        "{\"x-preferences\":{\"remote\":true,\"n\":[1,2]},\"featured\":null,"
        "\"basics\":{\"name\":\"  Camille Exemple \",\"summary\":\"  Line one\\n\\n\\n two  \","
        "\"signal\":\"+1\",\"location\":{\"remote\":\"yes\",\"address\":\" 1 Rue\\nParis \"}},"
        "\"work\":[{\"name\":\"A\",\"x-ids\":[1,\"b\"],\"description\":\" d \"}],"
        "\"languages\":[{\"language\":\"fr\",\"native\":true}]}";
    struct rg_diags d = {0};
    (void)state;

    json_t *doc = load_ok(text, 0, &d);
    json_t *orig = NULL;
    struct rg_errinfo ei;
    assert_int_equal(rg_json_parse(text, sizeof text - 1, &orig, &ei), 0);
    assert_str_at(doc, "basics/name", "Camille Exemple"); /* single-line: trimmed */
    assert_str_at(doc, "basics/summary", "  Line one\n\n\n two  "); /* text: byte for byte */
    assert_str_at(doc, "basics/location/address", " 1 Rue\nParis ");
    assert_str_at(doc, "work/0/description", " d ");
    assert_true(json_equal(at(doc, "x-preferences"), at(orig, "x-preferences")));
    assert_true(json_is_null(at(doc, "featured")));
    assert_str_at(doc, "basics/signal", "+1");
    assert_str_at(doc, "basics/location/remote", "yes");
    assert_true(json_equal(at(doc, "work/0/x-ids"), at(orig, "work/0/x-ids")));
    assert_true(json_is_true(at(doc, "languages/0/native")));
    assert_int_equal(d.n, 0); /* none of this deserves a warning */
    json_decref(orig);
    json_decref(doc);
    rg_diags_done(&d);
}

static void test_urls_and_emails(void **state)
{
    static const char text[] =
        "{\"basics\":{\"url\":\"linkedin: //www.linkedin.com/in/x/\",\"email\":\"nope\","
        "\"profiles\":[{\"url\":\"\"},{\"url\":\"github.com/x\"},{\"url\":\"see below\"},"
        "{\"url\":\" https://ok.example.com \"}]}}";
    struct rg_diags d = {0};
    (void)state;

    json_t *doc = load_ok(text, 0, &d);
    assert_str_at(doc, "basics/url", "linkedin: //www.linkedin.com/in/x/"); /* kept as written */
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/basics/url", "links will point to \"https://www.linkedin.com/in/x/\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/basics/email", "\"nope\" is not an e-mail address");
    assert_null(at(doc, "basics/profiles/0/url"));
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/basics/profiles/0/url", "empty URL removed");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/basics/profiles/1/url", "\"https://github.com/x\"");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/basics/profiles/2/url", "is not a URL");
    assert_str_at(doc, "basics/profiles/3/url", "https://ok.example.com");
    assert_false(has_diag(&d, RG_DIAG_WARN, "/basics/profiles/3/url", ""));
    json_decref(doc);
    rg_diags_done(&d);
}

/* ---- strict -------------------------------------------------------------------------------- */

static void test_strict(void **state)
{
    json_t *doc = (json_t *)&doc;
    struct rg_diags d = {0};
    struct rg_errinfo ei;
    static const char bad[] = "{\"experience\":[],\"basics\":{\"name\":null}}";
    (void)state;

    assert_int_equal(rg_resume_load(bad, sizeof bad - 1, RG_LOAD_STRICT, &doc, &d, &ei), RG_EINPUT);
    assert_ptr_equal(doc, (json_t *)&doc);
    assert_int_equal(rg_diags_count(&d, RG_DIAG_ERROR), 2);
    EXPECT_DIAG(&d, RG_DIAG_ERROR, "/experience", "unknown top-level key");
    EXPECT_DIAG(&d, RG_DIAG_ERROR, "/basics/name", "expected string, got null");
    rg_diags_done(&d);

    /* the same document loads without STRICT */
    doc = load_ok(bad, 0, &d);
    json_decref(doc);
    rg_diags_done(&d);

    /* valid for the schema (whose pattern admits 2019-02-30), still warned about */
    doc = load_ok("{\"work\":[{\"startDate\":\"2019-02-30\"}]}", RG_LOAD_STRICT, &d);
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/0/startDate", "is not a date");
    json_decref(doc);
    rg_diags_done(&d);

    /* NULL diags are allowed */
    assert_int_equal(rg_resume_load(bad, sizeof bad - 1, RG_LOAD_STRICT, &doc, NULL, &ei), RG_EINPUT);
}

/* ---- real files ----------------------------------------------------------------------------- */

static json_t *load_file(const char *path, struct rg_diags *d, json_t **ret_orig)
{
    struct rg_buf b;
    struct rg_errinfo ei = {.msg = ""};
    json_t *doc = NULL;

    json_t *orig = NULL;
    int changed = -1;

    rg_buf_init(&b, RG_RESUME_MAX_BYTES);
    assert_int_equal(rg_buf_read_file(&b, path), 0);
    int r = rg_resume_load_changed(b.ptr, b.len, 0, &doc, &changed, d, &ei);
    if (r != 0)
        fail_msg("%s: %s (%s)", path, rg_strerror(r), ei.msg);
    if (rg_diags_count(d, RG_DIAG_ERROR)) {
        dump(d);
        fail_msg("%s: errors", path);
    }
    /* "unchanged" is what lets rg-core store the input's own bytes: it must never be said
     * of a document the loader modified. */
    assert_int_equal(rg_json_parse(b.ptr, b.len, &orig, &ei), 0);
    if (changed == 0 && !json_equal(orig, doc))
        fail_msg("%s: the loader changed the document but says it did not", path);
    if (ret_orig)
        *ret_orig = orig;
    else
        json_decref(orig);
    rg_buf_done(&b);
    return doc;
}

/* rg_resume_load_changed: 0 only for a document loaded exactly as written. */
static void test_changed_flag(void **state)
{
    static const struct {
        const char *text;
        int changed;
    } cases[] = {
        {"{\"basics\":{\"name\":\"Ada\",\"url\":\"https://ada.example\"},\"work\":[{\"name\":\"X\","
         "\"startDate\":\"2020-01\"}],\"x-own\":{\"k\":[1,2.5,null]}}",
         0},
        /* a warning alone changes nothing: the text is kept */
        {"{\"work\":[{\"name\":\"X\",\"startDate\":\"spring 2020\"}]}", 0},
        {"{\"basics\":{\"email\":\"not an address\"}}", 0},
        {"{\"basics\":{\"name\":\" Ada \"}}", 1},                          /* trimmed */
        {"{\"basics\":{\"website\":\"https://ada.example\"}}", 1},         /* renamed */
        {"{\"basics\":{\"url\":\"https://a.example\",\"website\":\"https://a.example\"}}", 1},
        {"{\"experience\":[{\"name\":\"X\"}]}", 1},                         /* top level */
        {"{\"work\":[{\"name\":\"X\",\"startDate\":2020}]}", 1},            /* number as text */
        {"{\"work\":[{\"name\":\"X\",\"highlights\":\"one\"}]}", 1},      /* list of one */
        {"{\"work\":[{\"name\":\"X\",\"highlights\":[\"a\",{}]}]}", 1},   /* item removed */
        {"{\"work\":[{\"name\":\"X\",\"endDate\":\"\"}]}", 1},            /* "" = ongoing */
        {"{\"work\":[{\"name\":\"X\",\"url\":\"\"}]}", 1},                /* empty URL */
        {"{\"skills\":[\"C\"]}", 1},                                         /* string as object */
        {"{\"work\":{\"name\":\"X\"}}", 1},                                 /* wrong type */
        {"{\"basics\":{\"name\":\"A\"},\"basics\":{\"name\":\"B\"}}", 1},   /* a key twice */
        {"{\"meta\":{\"x\":1,\"x\":1}}", 1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct rg_diags d = {0};
        struct rg_errinfo ei = {.msg = ""};
        json_t *doc = NULL, *orig = NULL;
        int changed = -1;
        assert_int_equal(rg_resume_load_changed(cases[i].text, strlen(cases[i].text), 0, &doc,
                                                &changed, &d, &ei),
                         0);
        if (changed != cases[i].changed)
            fail_msg("case %zu (%s): changed %d, expected %d", i, cases[i].text, changed,
                     cases[i].changed);
        assert_int_equal(rg_json_parse(cases[i].text, strlen(cases[i].text), &orig, &ei), 0);
        /* (a key written twice: the parse equals the document, the text does not) */
        if (!strstr(cases[i].text, "\"x\":1,\"x\"") && !strstr(cases[i].text, "},\"basics\""))
            assert_int_equal(json_equal(orig, doc), !cases[i].changed);
        json_decref(orig);
        json_decref(doc);
        rg_diags_done(&d);
    }
}

/* A key written twice: the last value, a warning that says where; nesting: up to
 * RG_RESUME_MAX_DEPTH levels, one more is refused with the pointer of the value. */
static void test_duplicates_and_depth(void **state)
{
    struct rg_diags d = {0};
    struct rg_errinfo ei = {.msg = ""};
    json_t *doc = NULL;
    (void)state;

    const char *dup = "{\"basics\":{\"name\":\"x\\u0000\"},\n\"basics\":{\"name\":\"B\"}}";
    doc = load_ok(dup, 0, &d);
    assert_str_at(doc, "basics/name", "B");
    EXPECT_DIAG(&d, RG_DIAG_WARN, "", "same key twice (line 2, column 8)");
    json_decref(doc);
    rg_diags_done(&d);

    struct rg_buf b;
    rg_buf_init(&b, 64 * 1024);
    for (int depth = RG_RESUME_MAX_DEPTH; depth <= RG_RESUME_MAX_DEPTH + 1; depth++) {
        b.len = 0;
        /* {"x": [[[ ... ]]]}: the top object and depth - 1 arrays */
        (void)rg_buf_puts(&b, "{\"x\":");
        for (int i = 1; i < depth; i++)
            (void)rg_buf_putc(&b, '[');
        for (int i = 1; i < depth; i++)
            (void)rg_buf_putc(&b, ']');
        (void)rg_buf_putc(&b, '}');
        doc = NULL;
        int r = rg_resume_load(b.ptr, b.len, 0, &doc, &d, &ei);
        if (depth == RG_RESUME_MAX_DEPTH) {
            assert_int_equal(r, 0);
            json_decref(doc);
        } else {
            assert_int_equal(r, RG_EINPUT);
            assert_null(doc);
            struct rg_buf want;
            rg_buf_init(&want, 64 * 1024);
            (void)rg_buf_puts(&want, "/x");
            for (int i = 2; i < depth; i++)
                (void)rg_buf_puts(&want, "/0");
            EXPECT_DIAG(&d, RG_DIAG_ERROR, want.ptr, "nested deeper than 1000 levels");
            rg_buf_done(&want);
        }
        rg_diags_done(&d);
    }
    rg_buf_done(&b);
}

static int is_json_file(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && !strcmp(name + n - 5, ".json");
}

static void test_corpus_resumes(void **state)
{
    const char *dir = getenv("RG_CORPUS_RESUMES");
    DIR *dh;
    struct dirent *e;
    int files = 0, jobs = 0;
    (void)state;

    if (!dir || !(dh = opendir(dir)))
        skip();
    while ((e = readdir(dh))) {
        char path[4096];
        struct rg_diags d = {0};
        json_t *orig = NULL;
        if (!is_json_file(e->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        json_t *doc = load_file(path, &d, &orig);
        /* basics.name survives (trimmed) */
        const char *name = rg_json_str(rg_json_obj(orig, "basics"), "name");
        if (name)
            assert_non_null(rg_json_str(rg_json_obj(doc, "basics"), "name"));
        /* every job keeps its employer, whether written as name, company or experience */
        json_t *src = rg_json_arr(orig, "work");
        if (!src || json_array_size(src) == 0)
            src = rg_json_arr(orig, "experience");
        size_t i;
        json_t *job;
        json_array_foreach(src, i, job) {
            const char *want = rg_json_nonempty(job, "name");
            if (!want)
                want = rg_json_nonempty(job, "company");
            json_t *got = json_array_get(rg_json_arr(doc, "work"), i);
            if (want && (!rg_json_str(got, "name") || !strstr(want, rg_json_str(got, "name"))))
                fail_msg("%s: work[%zu] lost its name \"%s\"", e->d_name, i, want);
            jobs++;
        }
        assert_int_equal(json_array_size(rg_json_arr(doc, "work")), json_array_size(src));
        json_decref(orig);
        json_decref(doc);
        rg_diags_done(&d);
        files++;
    }
    closedir(dh);
    print_message("# %d corpus files, %d jobs\n", files, jobs);
    assert_int_equal(files, 16);
}

static void test_corpus_specifics(void **state)
{
    const char *dir = getenv("RG_CORPUS_RESUMES");
    char path[4096];
    struct rg_diags d = {0};
    json_t *doc;
    (void)state;

    if (!dir)
        skip();
    snprintf(path, sizeof path, "%s/phd-student-experience-key-en.json", dir);
    doc = load_file(path, &d, NULL);
    assert_str_at(doc, "work/0/name", "Department of Computer and Information Sciences, Towson University");
    assert_null(at(doc, "work/0/endDate")); /* "" = ongoing */
    assert_null(at(doc, "experience"));
    assert_str_at(doc, "basics/homepage", "https://example.com/lin"); /* unknown key kept */
    json_decref(doc);
    rg_diags_done(&d);

    snprintf(path, sizeof path, "%s/student-robotics-en.json", dir);
    doc = load_file(path, &d, NULL);
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/awards/4/date", "\"2024, 2025\" is not a date");
    json_decref(doc);
    rg_diags_done(&d);

    snprintf(path, sizeof path, "%s/dual-keys-certificates-fr-content.json", dir);
    doc = load_file(path, &d, NULL);
    EXPECT_DIAG(&d, RG_DIAG_WARN, "/work/0/company", "same value");
    assert_null(at(doc, "work/0/company"));
    json_decref(doc);
    rg_diags_done(&d);
}

static void test_cases(void **state)
{
    const char *dir = getenv("RG_CASES");
    DIR *dh;
    struct dirent *e;
    int files = 0;
    (void)state;

    if (!dir || !(dh = opendir(dir)))
        skip();
    while ((e = readdir(dh))) {
        char path[4096];
        struct rg_diags d = {0};
        if (!is_json_file(e->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        json_decref(load_file(path, &d, NULL));
        rg_diags_done(&d);
        files++;
    }
    closedir(dh);
    assert_true(files >= 16);

    /* 16: the legacy and the v1 spelling normalise to the same document */
    struct rg_diags da = {0}, db = {0};
    char pa[4096], pb[4096];
    snprintf(pa, sizeof pa, "%s/16-legacy-keys-a.json", dir);
    snprintf(pb, sizeof pb, "%s/16-legacy-keys-b.json", dir);
    json_t *a = load_file(pa, &da, NULL), *b = load_file(pb, &db, NULL);
    assert_true(json_equal(a, b));
    assert_int_equal(da.n, 4);
    assert_int_equal(db.n, 0);
    json_decref(a);
    json_decref(b);
    rg_diags_done(&da);
    rg_diags_done(&db);

    /* 13: every range is ongoing; 15: "education": null is treated as absent */
    snprintf(pa, sizeof pa, "%s/13-ongoing-roles.json", dir);
    a = load_file(pa, &da, NULL);
    assert_null(at(a, "work/0/endDate"));
    assert_null(at(a, "education/0/endDate"));
    assert_null(at(a, "volunteer/0/endDate"));
    json_decref(a);
    rg_diags_done(&da);
    snprintf(pa, sizeof pa, "%s/15-missing-fields.json", dir);
    a = load_file(pa, &da, NULL);
    assert_null(at(a, "education"));
    EXPECT_DIAG(&da, RG_DIAG_WARN, "/education", "expected an array, got null");
    json_decref(a);
    rg_diags_done(&da);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_bom_accepted),
        cmocka_unit_test(test_invalid_utf8_offset),
        cmocka_unit_test(test_invalid_json_line_column),
        cmocka_unit_test(test_top_level_not_object),
        cmocka_unit_test(test_legacy_keys_mapped),
        cmocka_unit_test(test_legacy_conflicts),
        cmocka_unit_test(test_experience_to_work),
        cmocka_unit_test(test_wrong_types_removed),
        cmocka_unit_test(test_loose_shapes_kept),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_present_words_end_ongoing),
        cmocka_unit_test(test_strings_kept_and_unknown_keys),
        cmocka_unit_test(test_urls_and_emails),
        cmocka_unit_test(test_strict),
        cmocka_unit_test(test_changed_flag),
        cmocka_unit_test(test_duplicates_and_depth),
    };
    /* Tests over the shared corpus run as their own meson test ("resume-corpus"), which
     * is skipped where the shared folder is not beside the repository. */
    const struct CMUnitTest corpus[] = {
        cmocka_unit_test(test_corpus_resumes),
        cmocka_unit_test(test_corpus_specifics),
        cmocka_unit_test(test_cases),
    };
    if (argc > 1 && !strcmp(argv[1], "corpus")) {
        const char *a = getenv("RG_CORPUS_RESUMES"), *b = getenv("RG_CASES");
        if (!a || !b || access(a, R_OK) != 0 || access(b, R_OK) != 0) {
            /* TAP's way to skip a whole test program (meson reads it as SKIP) */
            printf("1..0 # SKIP the shared corpus is not beside the repository\n");
            return 0;
        }
        return cmocka_run_group_tests(corpus, NULL, NULL);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
