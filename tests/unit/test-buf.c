/* rg_buf: caps, emptying on overflow, take, read_file. */
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
#include "rg/err.h"
#include "rg/mem.h"

static void test_append_respects_cap(void **state)
{
    struct rg_buf b;
    (void)state;

    rg_buf_init(&b, 8);
    assert_int_equal(rg_buf_append(&b, "abcd", 4), 0);
    assert_string_equal(b.ptr, "abcd");
    assert_int_equal(rg_buf_append(&b, "efgh", 4), 0); /* exactly max */
    assert_int_equal(b.len, 8);
    assert_int_equal(b.ptr[8], '\0');
    assert_int_equal(rg_buf_putc(&b, 'i'), RG_ETOOBIG);
    assert_null(b.ptr); /* a failed append released the buffer */
    assert_int_equal(b.len, 0);
    rg_buf_done(&b);
}

static void test_printf_and_puts_cap(void **state)
{
    struct rg_buf b;
    (void)state;

    rg_buf_init(&b, 10);
    assert_int_equal(rg_buf_printf(&b, "%d-%s", 42, "ab"), 0);
    assert_string_equal(b.ptr, "42-ab");
    assert_int_equal(rg_buf_printf(&b, "%s", "123456"), RG_ETOOBIG);
    assert_null(b.ptr);
    assert_int_equal(rg_buf_puts(&b, "0123456789"), 0);
    assert_int_equal(rg_buf_puts(&b, "x"), RG_ETOOBIG);
    rg_buf_done(&b);

    /* a huge n must not wrap around the cap check */
    rg_buf_init(&b, 16);
    assert_int_equal(rg_buf_append(&b, "a", 1), 0);
    assert_int_equal(rg_buf_append(&b, "a", (size_t)-1), RG_ETOOBIG);
    rg_buf_done(&b);
}

static void test_take_and_reset(void **state)
{
    struct rg_buf b;
    size_t n = 99;
    (void)state;

    rg_buf_init(&b, 100);
    char *s = rg_buf_take(&b, &n); /* empty buffer: "" */
    assert_string_equal(s, "");
    assert_int_equal(n, 0);
    rg_free(s);
    assert_int_equal(rg_buf_puts(&b, "hello"), 0);
    rg_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.ptr, "");
    assert_int_equal(rg_buf_puts(&b, "world"), 0);
    s = rg_buf_take(&b, &n);
    assert_string_equal(s, "world");
    assert_int_equal(n, 5);
    assert_null(b.ptr);
    rg_free(s);
    rg_buf_done(&b);
    rg_buf_done(&b); /* twice is fine */
}

static void test_read_file(void **state)
{
    char path[] = "/tmp/rg-test-buf-XXXXXX";
    struct rg_buf b;
    (void)state;

    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);

    rg_buf_init(&b, 10);
    assert_int_equal(rg_buf_read_file(&b, path), 0);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.ptr, "0123456789");
    rg_buf_done(&b);

    rg_buf_init(&b, 9);
    assert_int_equal(rg_buf_read_file(&b, path), RG_ETOOBIG);
    assert_null(b.ptr);
    rg_buf_done(&b);

    unlink(path);
    rg_buf_init(&b, 10);
    assert_int_equal(rg_buf_read_file(&b, path), -ENOENT);
    rg_buf_done(&b);

    /* an empty file gives "" (not NULL) */
    memcpy(path + sizeof path - 7, "XXXXXX", 6);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    rg_buf_init(&b, 10);
    assert_int_equal(rg_buf_read_file(&b, path), 0);
    assert_non_null(b.ptr);
    assert_int_equal(b.len, 0);
    rg_buf_done(&b);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_respects_cap),
        cmocka_unit_test(test_printf_and_puts_cap),
        cmocka_unit_test(test_take_and_reset),
        cmocka_unit_test(test_read_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
