/* Object storage without a network: the local-folder backend, key checks, the S3 key
 * encoding curl 7.88 needs (SYSTEM-NOTES §6.1), SHA-256.  The S3 backend itself is tested
 * against the signature-checking server in tests/integration/it-flow.py (flow-s3). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rg/digest.h"
#include "rg/mem.h"
#include "rg/storage.h"

static void test_sha256(void **state)
{
    char hex[65];
    (void)state;
    rg_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    rg_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_s3_key_encoding(void **state)
{
    struct rg_buf b;
    (void)state;
    rg_buf_init(&b, 1024);
    /* "=" and "+" and spaces break curl 7.88's signature unless encoded; "/" stays. */
    assert_int_equal(rg_storage_s3_encode_key(&b, "dt=1/a+b c~d_e-f.g/\xc3\xa9"), 0);
    assert_string_equal(b.ptr, "dt%3D1/a%2Bb%20c~d_e-f.g/%C3%A9");
    rg_buf_done(&b);
}

static void test_open_rejects(void **state)
{
    struct rg_storage *s = NULL;
    struct rg_errinfo ei = {0};
    (void)state;
    assert_int_equal(rg_storage_open("", &s, &ei), -EINVAL);
    assert_int_equal(rg_storage_open("fs://relative", &s, &ei), -EINVAL);
    assert_int_equal(rg_storage_open("ftp://x", &s, &ei), -EINVAL);
    assert_int_equal(rg_storage_open("s3://?endpoint=http://h", &s, &ei), -EINVAL);
    assert_int_equal(rg_storage_open("s3://bucket", &s, &ei), -EINVAL);
    assert_null(s);
}

static void test_fs_round_trip(void **state)
{
    char dir[] = "/tmp/rg-test-storage-XXXXXX";
    struct rg_storage *s = NULL;
    struct rg_errinfo ei = {0};
    struct rg_buf got;
    static const char body[] = "%PDF-1.7\0binary";
    (void)state;

    assert_non_null(mkdtemp(dir));
    char *url = rg_asprintf("fs://%s/", dir);
    assert_int_equal(rg_storage_open(url, &s, &ei), 0);
    assert_int_equal(rg_storage_exists(s, "pdf/ab.pdf", &ei), 0);
    assert_int_equal(rg_storage_put(s, "pdf/ab.pdf", body, sizeof body, "application/pdf", &ei), 0);
    assert_int_equal(rg_storage_exists(s, "pdf/ab.pdf", &ei), 1);
    rg_buf_init(&got, 1024);
    assert_int_equal(rg_storage_get(s, "pdf/ab.pdf", &got, &ei), 0);
    assert_int_equal(got.len, sizeof body);
    assert_memory_equal(got.ptr, body, sizeof body);
    rg_buf_done(&got);
    /* keys that would leave the folder or are not keys */
    assert_int_equal(rg_storage_put(s, "../x", "a", 1, NULL, &ei), -EINVAL);
    assert_int_equal(rg_storage_put(s, "/abs", "a", 1, NULL, &ei), -EINVAL);
    assert_int_equal(rg_storage_put(s, "a//b", "a", 1, NULL, &ei), -EINVAL);
    assert_int_equal(rg_storage_put(s, "a/", "a", 1, NULL, &ei), -EINVAL);
    rg_buf_init(&got, 1024);
    assert_int_equal(rg_storage_get(s, "pdf/none.pdf", &got, &ei), -ENOENT);
    rg_buf_done(&got);
    assert_int_equal(rg_storage_delete(s, "pdf/ab.pdf", &ei), 0);
    assert_int_equal(rg_storage_delete(s, "pdf/ab.pdf", &ei), 0);
    assert_int_equal(rg_storage_exists(s, "pdf/ab.pdf", &ei), 0);
    rg_storage_free(s);
    char *sub = rg_asprintf("%s/pdf", dir);
    assert_int_equal(rmdir(sub), 0); /* no temporary file was left behind */
    assert_int_equal(rmdir(dir), 0);
    rg_free(sub);
    rg_free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_s3_key_encoding),
        cmocka_unit_test(test_open_rejects),
        cmocka_unit_test(test_fs_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
