/* Dates, present words, URLs and e-mail addresses (rg/resume.h). */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rg/mem.h"
#include "rg/render.h"
#include "rg/resume.h"

static void test_parse_valid_forms(void **state)
{
    int y = -1, m = -1, d = -1;
    (void)state;

    assert_int_equal(rg_date_parse("2019", &y, &m, &d), 0);
    assert_int_equal(y, 2019);
    assert_int_equal(m, 0);
    assert_int_equal(d, 0);
    assert_int_equal(rg_date_parse("2019-05", &y, &m, &d), 0);
    assert_int_equal(y, 2019);
    assert_int_equal(m, 5);
    assert_int_equal(d, 0);
    assert_int_equal(rg_date_parse("2020-02-29", &y, &m, &d), 0); /* leap year */
    assert_int_equal(m, 2);
    assert_int_equal(d, 29);
    assert_int_equal(rg_date_parse("2000-02-29", NULL, NULL, NULL), 0); /* 400-year rule */
    assert_int_equal(rg_date_parse("1999-12-31", NULL, NULL, NULL), 0);
    assert_int_equal(rg_date_parse("2024-04-30", NULL, NULL, NULL), 0);
    assert_int_equal(rg_date_parse("1000-01-01", NULL, NULL, NULL), 0);
}

static void test_parse_rejects_impossible_and_malformed(void **state)
{
    static const char *const bad[] = {
        "2019-02-30", "2019-02-29", "1900-02-29", "2021-13",    "2021-00",     "2019-04-31",
        "2019-01-00", "2019-01-32", "2019-4",     "2019-04-1",  "19",          "20190",
        "Summer 2019", " 2019",     "2019 ",      "2019-05-01T10:00", "2019/05", "3000",
        "0999",       "",           "present",    "2019-05-",   "２０１９",
    };
    (void)state;

    for (size_t i = 0; i < RG_ARRAY_SIZE(bad); i++) {
        int y = -7, m = -7, d = -7;
        if (rg_date_parse(bad[i], &y, &m, &d) != -EINVAL)
            fail_msg("\"%s\" parsed as a date", bad[i]);
        /* nothing written on failure */
        assert_int_equal(y, -7);
        assert_int_equal(m, -7);
        assert_int_equal(d, -7);
    }
    assert_int_equal(rg_date_parse(NULL, NULL, NULL, NULL), -EINVAL);
}

static void test_valid_calendar_flag(void **state)
{
    (void)state;
    /* The schema pattern admits 2019-02-30 and 2021-19; the calendar does not. */
    assert_int_equal(rg_date_valid("2019-02-30", 0), 1);
    assert_int_equal(rg_date_valid("2019-02-30", 1), 0);
    assert_int_equal(rg_date_valid("2021-19", 0), 1);
    assert_int_equal(rg_date_valid("2021-19", 1), 0);
    assert_int_equal(rg_date_valid("2013-12-021", 0), 0);
    assert_int_equal(rg_date_valid("", 0), 0);
    assert_int_equal(rg_date_valid(NULL, 0), 0);
}

/* rg_date_valid(s, 0) must agree with the schema's own pattern compiled by regcomp. */
static void test_valid_matches_schema_pattern(void **state)
{
    char path[4096];
    json_error_t jerr;
    regex_t re;
    const char *dir = getenv("RG_DATA_DIR");
    static const char alphabet[] = "0123459-x ";
    char s[16];
    unsigned seed = 12345;
    (void)state;

    if (!dir)
        skip();
    snprintf(path, sizeof path, "%s/schema/resume-v1.0.0.json", dir);
    json_t *schema = json_load_file(path, 0, &jerr);
    assert_non_null(schema);
    const char *pattern =
        json_string_value(json_object_get(json_object_get(json_object_get(schema, "definitions"),
                                                          "iso8601"),
                                          "pattern"));
    assert_non_null(pattern);
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    for (int i = 0; i < 200000; i++) {
        static const size_t lens[] = {3, 4, 5, 7, 8, 10, 11};
        size_t n = lens[i % RG_ARRAY_SIZE(lens)];
        for (size_t k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            /* Mostly shape-correct strings, so that the interesting branches are hit. */
            if ((k == 4 || k == 7) && (seed >> 16) % 4)
                s[k] = '-';
            else
                s[k] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        s[n] = '\0';
        int want = regexec(&re, s, 0, NULL, 0) == 0;
        if (rg_date_valid(s, 0) != want)
            fail_msg("\"%s\": rg_date_valid says %d, the schema pattern %d", s, !want, want);
    }
    regfree(&re);
    json_decref(schema);
}

static void test_present_words(void **state)
{
    static const char *const yes[] = {
        "present", "Present", "PRESENT", " present ", "current", "Current", "now", "Now",
        "today", "Today", "ongoing", "heute", "Heute", "actuel", "Actuel", "actualidad",
        "Actualidad", "atual", "presente", "aujourd'hui", "aujourd\u2019hui",
        "настоящее время", "Настоящее время", "по настоящее время", "至今", "現在", "现在",
        "현재", "obecnie",
    };
    static const char *const no[] = {
        "", "  ", "2019", "Summer 2019", "pres", "presentation", "nowhere", "2024, 2025", "n/a",
    };
    (void)state;

    for (size_t i = 0; i < RG_ARRAY_SIZE(yes); i++)
        if (!rg_date_is_present_word(yes[i]))
            fail_msg("\"%s\" not recognised as present", yes[i]);
    for (size_t i = 0; i < RG_ARRAY_SIZE(no); i++)
        if (rg_date_is_present_word(no[i]))
            fail_msg("\"%s\" taken as present", no[i]);
    assert_int_equal(rg_date_is_present_word(NULL), 0);
}

static void check_url(const char *in, const char *want)
{
    char *got = rg_url_normalize(in);
    if (want == NULL && got != NULL)
        fail_msg("\"%s\" -> \"%s\", expected no URL", in ? in : "(null)", got);
    if (want != NULL && (got == NULL || strcmp(got, want) != 0))
        fail_msg("\"%s\" -> \"%s\", expected \"%s\"", in ? in : "(null)", got ? got : "(null)",
                 want);
    rg_free(got);
}

static void test_url_normalize(void **state)
{
    (void)state;
    /* kept */
    check_url("https://example.com/alex", "https://example.com/alex");
    check_url("http://example.com", "http://example.com");
    check_url("HTTPS://Example.com/a?b=c#t=1", "HTTPS://Example.com/a?b=c#t=1");
    check_url("mailto:alex@example.com", "mailto:alex@example.com");
    check_url("tel:+1-555-555-0100", "tel:+1-555-555-0100");
    /* trimmed */
    check_url("  https://example.com/x \n", "https://example.com/x");
    /* label prefixes from junior-malformed-urls-en.json */
    check_url("linkedin: //www.linkedin.com/in/nusrat-example-sample/",
              "https://www.linkedin.com/in/nusrat-example-sample/");
    check_url("github: https://github.com/NusratExample", "https://github.com/NusratExample");
    check_url("Website:www.example.com", "https://www.example.com");
    /* scheme added */
    check_url("alex.example.com", "https://alex.example.com");
    check_url("www.example.com/path?q=1", "https://www.example.com/path?q=1");
    check_url("//cdn.example.com/x.png", "https://cdn.example.com/x.png");
    check_url("example.com:8080/x", "https://example.com:8080/x");
    /* not URLs */
    check_url("", NULL);
    check_url("   ", NULL);
    check_url(NULL, NULL);
    check_url("see my github", NULL);
    check_url("localhost", NULL);
    check_url("./camille.png", NULL);
    check_url("/img/a.png", NULL);
    check_url("javascript:alert(1)", NULL);
    check_url("https://", NULL);
    check_url("https:example.com", NULL);
    check_url("https://exa mple.com", NULL);
    check_url("alex@example.com", NULL);
    check_url("linkedin: see profile", NULL);
    check_url(".example.com", NULL);
}

static void test_uri_is_absolute(void **state)
{
    (void)state;
    assert_true(rg_uri_is_absolute("https://example.com"));
    assert_true(rg_uri_is_absolute("http://www.computer.org/csdl/mags/co/1996/10/rx069-abs.html"));
    assert_true(rg_uri_is_absolute("https://example.com/a%20b?x=1&y=2#frag"));
    assert_true(rg_uri_is_absolute("mailto:a@b.c"));
    assert_true(rg_uri_is_absolute("urn:isbn:0451450523"));
    assert_true(rg_uri_is_absolute("https://scecom")); /* a typo, but a URI */
    assert_false(rg_uri_is_absolute(""));
    assert_false(rg_uri_is_absolute(NULL));
    assert_false(rg_uri_is_absolute("missdirection.example.com"));
    assert_false(rg_uri_is_absolute("foo-bar-baz"));
    assert_false(rg_uri_is_absolute("linkedin: //www.linkedin.com/in/x"));
    assert_false(rg_uri_is_absolute("https://example.com/a b"));
    assert_false(rg_uri_is_absolute("https://example.com/%zz"));
    assert_false(rg_uri_is_absolute("https://example.com/%2"));
    assert_false(rg_uri_is_absolute("https://example.com/a#b#c"));
    assert_false(rg_uri_is_absolute("https://example.com/caf\xc3\xa9")); /* an IRI */
    assert_false(rg_uri_is_absolute("1http://example.com"));
    assert_false(rg_uri_is_absolute("//example.com"));
}

static void test_email(void **state)
{
    (void)state;
    assert_true(rg_email_is_valid("alex@example.com"));
    assert_true(rg_email_is_valid("a.b+tag@sub.example.co.uk"));
    assert_true(rg_email_is_valid("root@localhost"));
    assert_false(rg_email_is_valid(""));
    assert_false(rg_email_is_valid(NULL));
    assert_false(rg_email_is_valid("alex"));
    assert_false(rg_email_is_valid("@example.com"));
    assert_false(rg_email_is_valid("alex@"));
    assert_false(rg_email_is_valid("alex @example.com"));
    assert_false(rg_email_is_valid("alex@exa\tmple.com"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid_forms),
        cmocka_unit_test(test_parse_rejects_impossible_and_malformed),
        cmocka_unit_test(test_valid_calendar_flag),
        cmocka_unit_test(test_valid_matches_schema_pattern),
        cmocka_unit_test(test_present_words),
        cmocka_unit_test(test_url_normalize),
        cmocka_unit_test(test_uri_is_absolute),
        cmocka_unit_test(test_email),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
