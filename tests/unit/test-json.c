/* librg JSON helpers: UTF-8 checking, parse positions, pointers, quoting, getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rg/buf.h"
#include "rg/json.h"
#include "rg/mem.h"

#define CHECK_UTF8(lit, want) assert_int_equal(rg_utf8_check((lit), sizeof(lit) - 1), (want))

static void test_utf8_valid(void **state)
{
    (void)state;
    CHECK_UTF8("", -1);
    CHECK_UTF8("plain ascii", -1);
    CHECK_UTF8("caf\xC3\xA9", -1);             /* U+00E9 */
    CHECK_UTF8("\xE2\x82\xAC", -1);            /* U+20AC */
    CHECK_UTF8("\xED\x9F\xBF", -1);            /* U+D7FF, just below the surrogates */
    CHECK_UTF8("\xEE\x80\x80", -1);            /* U+E000, just above */
    CHECK_UTF8("\xF0\x9F\x98\x80", -1);        /* U+1F600 */
    CHECK_UTF8("\xF4\x8F\xBF\xBF", -1);        /* U+10FFFF, the last code point */
    CHECK_UTF8("\xC2\x80", -1);                /* smallest 2-byte */
    CHECK_UTF8("\xE0\xA0\x80", -1);            /* smallest 3-byte */
    CHECK_UTF8("\xF0\x90\x80\x80", -1);        /* smallest 4-byte */
    assert_int_equal(rg_utf8_check("a\0b", 3), -1); /* NUL is ASCII */
}

static void test_utf8_invalid(void **state)
{
    (void)state;
    CHECK_UTF8("\xC0\x80", 0);         /* overlong NUL */
    CHECK_UTF8("ab\xC1\xBF", 2);       /* overlong 2-byte */
    CHECK_UTF8("\xE0\x80\x80", 0);     /* overlong 3-byte */
    CHECK_UTF8("\xE0\x9F\xBF", 0);     /* overlong, U+07FF in 3 bytes */
    CHECK_UTF8("\xF0\x80\x80\x80", 0); /* overlong 4-byte */
    CHECK_UTF8("\xF0\x8F\xBF\xBF", 0); /* overlong, U+FFFF in 4 bytes */
    CHECK_UTF8("x\xED\xA0\x80", 1);    /* U+D800 high surrogate */
    CHECK_UTF8("\xED\xBF\xBF", 0);     /* U+DFFF low surrogate */
    CHECK_UTF8("\xF4\x90\x80\x80", 0); /* U+110000 */
    CHECK_UTF8("\xF5\x80\x80\x80", 0); /* lead byte past the range */
    CHECK_UTF8("\xF8\x88\x80\x80\x80", 0);
    CHECK_UTF8("\xFE", 0);
    CHECK_UTF8("\xFF", 0);
    CHECK_UTF8("ok\x80", 2);        /* lone continuation byte */
    CHECK_UTF8("abc\xE2\x82", 3);   /* truncated at the end */
    CHECK_UTF8("abc\xF0\x9F\x98", 3);
    CHECK_UTF8("abc\xC3", 3);
    CHECK_UTF8("\xE2\x82" "A", 0);  /* truncated in the middle */
    CHECK_UTF8("\xC3\x28", 0);      /* bad continuation */
    /* a valid sequence cut by len is truncated */
    assert_int_equal(rg_utf8_check("\xE2\x82\xAC", 2), 0);
}

static void test_parse_positions(void **state)
{
    json_t *j = NULL;
    struct rg_errinfo ei;
    static const char bad[] = "{\n  \"a\": 1,\n  \"b\": ]\n}";
    (void)state;

    assert_int_equal(rg_json_parse(bad, sizeof bad - 1, &j, &ei), RG_EJSON);
    assert_null(j);
    assert_int_equal(ei.line, 3);
    assert_int_equal(ei.column, 8);
    assert_int_equal(ei.offset, 20);
    assert_non_null(strstr(ei.msg, "line 3, column 8"));

    /* positions count from the BOM, which is skipped */
    static const char bom[] = "\xEF\xBB\xBF[1,]";
    assert_int_equal(rg_json_parse(bom, sizeof bom - 1, &j, &ei), RG_EJSON);
    assert_int_equal(ei.line, 1);
    assert_int_equal(ei.offset, 3 + 4);

    static const char utf[] = "{\"a\":\"\xFF\"}";
    assert_int_equal(rg_json_parse(utf, sizeof utf - 1, &j, &ei), RG_EUTF8);
    assert_int_equal(ei.offset, 6);

    /* ei may be NULL */
    assert_int_equal(rg_json_parse(bad, sizeof bad - 1, &j, NULL), RG_EJSON);
}

static void test_parse_ok(void **state)
{
    json_t *j = NULL;
    struct rg_errinfo ei;
    static const char dup[] = "\xEF\xBB\xBF{\"a\":1,\"a\":2,\"s\":\"x\\u0000y\"}";
    (void)state;

    assert_int_equal(rg_json_parse(dup, sizeof dup - 1, &j, &ei), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "a")), 2); /* last one wins */
    assert_int_equal(json_string_length(json_object_get(j, "s")), 3);
    json_decref(j);
    assert_int_equal(rg_json_parse("\"bare\"", 6, &j, &ei), 0); /* any top-level value */
    assert_true(json_is_string(j));
    json_decref(j);
}

static void test_pointer_and_quote(void **state)
{
    struct rg_buf b;
    (void)state;

    rg_buf_init(&b, 1024);
    assert_int_equal(rg_json_pointer_push(&b, "work"), 0);
    assert_int_equal(rg_json_pointer_push(&b, "a/b~c"), 0);
    assert_int_equal(rg_json_pointer_push(&b, ""), 0);
    assert_string_equal(b.ptr, "/work/a~1b~0c/");
    rg_buf_reset(&b);
    assert_int_equal(rg_json_quote(&b, "a\"b\\c\n\t\x01\xC3\xA9", 10), 0);
    assert_string_equal(b.ptr, "\"a\\\"b\\\\c\\n\\t\\u0001\xC3\xA9\"");
    rg_buf_done(&b);

    rg_buf_init(&b, 4);
    assert_int_equal(rg_json_pointer_push(&b, "abcdef"), RG_ETOOBIG);
    rg_buf_done(&b);
}

static void test_getters(void **state)
{
    json_t *j = NULL;
    struct rg_errinfo ei;
    static const char t[] = "{\"s\":\"x\",\"e\":\"  \",\"n\":null,\"a\":[],\"o\":{}}";
    (void)state;

    assert_int_equal(rg_json_parse(t, sizeof t - 1, &j, &ei), 0);
    assert_string_equal(rg_json_str(j, "s"), "x");
    assert_null(rg_json_str(j, "n"));
    assert_null(rg_json_str(j, "missing"));
    assert_null(rg_json_str(NULL, "s"));
    assert_string_equal(rg_json_str(j, "e"), "  ");
    assert_null(rg_json_nonempty(j, "e"));
    assert_non_null(rg_json_arr(j, "a"));
    assert_null(rg_json_arr(j, "o"));
    assert_non_null(rg_json_obj(j, "o"));
    assert_null(rg_json_obj(j, "a"));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid),       cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_parse_positions),  cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_pointer_and_quote), cmocka_unit_test(test_getters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
