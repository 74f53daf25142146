/* rg-core's pure helpers against their specifications' own examples: RFC 6238 TOTP
 * vectors, RFC 7396 merge patch examples, RFC 4648 base32/base64url.  No server. */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "rg/mem.h"

static int passed, failed;

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL: %s\n", what);
    }
}

static void patch_case(const char *target, const char *patch, const char *want)
{
    json_t *t = json_loads(target, JSON_DECODE_ANY, NULL),
           *p = json_loads(patch, JSON_DECODE_ANY, NULL);
    json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
    json_t *got = core_merge_patch(t, p);
    char what[256];
    snprintf(what, sizeof what, "merge patch %s + %s = %s", target, patch, want);
    check(t && p && w && json_equal(got, w), what);
    json_decref(t);
    json_decref(p);
    json_decref(w);
    json_decref(got);
}

int main(void)
{
    /* RFC 6238 appendix B, SHA-1 key "12345678901234567890"; 6 low digits of the 8. */
    const unsigned char *key = (const unsigned char *)"12345678901234567890";
    static const struct {
        uint64_t t;
        unsigned code;
    } v[] = {{59, 287082},       {1111111109, 81804},  {1111111111, 50471},
             {1234567890, 5924}, {2000000000, 279037}, {20000000000ULL, 353130}};
    for (size_t i = 0; i < RG_ARRAY_SIZE(v); i++) {
        char what[64];
        snprintf(what, sizeof what, "TOTP at T=%llu", (unsigned long long)v[i].t);
        check(core_totp(key, 20, v[i].t / 30) == v[i].code, what);
    }

    /* RFC 7396 appendix A. */
    patch_case("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    patch_case("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
    patch_case("{\"a\":\"b\"}", "{\"a\":null}", "{}");
    patch_case("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
    patch_case("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    patch_case("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
    patch_case("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
               "{\"a\":{\"b\":\"d\"}}");
    patch_case("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
    patch_case("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
    patch_case("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
    patch_case("{\"a\":\"foo\"}", "null", "null");
    patch_case("{\"a\":\"foo\"}", "\"bar\"", "\"bar\"");
    patch_case("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
    patch_case("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
    patch_case("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");

    /* RFC 4648 section 10. */
    char out[64];
    unsigned char back[64];
    core_base32("foobar", 6, out, sizeof out);
    check(strcmp(out, "MZXW6YTBOI") == 0, "base32(foobar)");
    check(core_base32_decode("mzxw6ytboi", back, sizeof back) == 6 &&
              memcmp(back, "foobar", 6) == 0,
          "base32 decode, lower case");
    check(core_base32_decode("MZ1W", back, sizeof back) < 0, "base32 rejects 1");
    core_b64url("\xfb\xff\xbf", 3, out, sizeof out);
    check(strcmp(out, "-_-_") == 0, "base64url alphabet");
    core_b64url("fo", 2, out, sizeof out);
    check(strcmp(out, "Zm8") == 0, "base64url without padding");
    char hex[65];
    core_sha256_hex("abc", 3, hex);
    check(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
          "sha256(abc)");
    check(core_streq_ct("abc", "abc") && !core_streq_ct("abc", "abd") &&
              !core_streq_ct("abc", "ab"),
          "constant-time compare");

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
