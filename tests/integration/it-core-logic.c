/* rg-core's pure helpers against their specifications' own examples: RFC 6238 TOTP
 * vectors, RFC 7396 merge patch examples, RFC 4648 base32/base64url.  No server. */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "rg/digest.h"
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

/* core_json_members must accept exactly what jansson accepts (for objects), and find the
 * members' values. */
static void scan_case(const char *text, int want_ok, const char *want_data)
{
    static const char *const keys[] = {"data", "title"};
    struct rg_str sp[2];
    char what[300];
    int r = core_json_members(text, strlen(text), keys, 2, sp);
    json_error_t e;
    json_t *j = json_loadb(text, strlen(text), JSON_ALLOW_NUL, &e);
    int jansson_ok = j && json_is_object(j);
    json_decref(j);
    snprintf(what, sizeof what, "scan %s: %s", want_ok ? "accepts" : "refuses", text);
    check((r == 0) == want_ok && (r == 0) == jansson_ok, what);
    if (r == 0 && want_data) {
        snprintf(what, sizeof what, "scan finds data in %s", text);
        check(sp[0].ptr && sp[0].len == strlen(want_data) &&
                  memcmp(sp[0].ptr, want_data, sp[0].len) == 0,
              what);
    }
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
    rg_sha256_hex("abc", 3, hex);
    check(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
          "sha256(abc)");
    check(core_streq_ct("abc", "abc") && !core_streq_ct("abc", "abd") &&
              !core_streq_ct("abc", "ab"),
          "constant-time compare");

    scan_case("{}", 1, NULL);
    scan_case("{\"data\":{}}", 1, "{}");
    scan_case(" {\"title\":\"x\", \"data\" : [1, 2.5e-3, -0, true, false, null, \"\\u00e9\"] } ", 1,
              "[1, 2.5e-3, -0, true, false, null, \"\\u00e9\"]");
    scan_case("{\"data\":1,\"data\":{\"a\":{\"b\":[]}}}", 1, "{\"a\":{\"b\":[]}}");
    scan_case("{\"a\":\"\\ud83d\\ude00\"}", 1, NULL);
    scan_case("{\"a\":\"\\ud83d\"}", 0, NULL);
    scan_case("{\"a\":\"\\ude00\"}", 0, NULL);
    scan_case("{\"a\":\"\\x\"}", 0, NULL);
    scan_case("{\"a\":\"tab\there\"}", 0, NULL);
    scan_case("{\"a\":01}", 0, NULL);
    scan_case("{\"a\":1.}", 0, NULL);
    scan_case("{\"a\":.5}", 0, NULL);
    scan_case("{\"a\":+1}", 0, NULL);
    scan_case("{\"a\":1e}", 0, NULL);
    scan_case("{\"a\":tru}", 0, NULL);
    scan_case("{\"a\":1,}", 0, NULL);
    scan_case("{\"a\":[1,]}", 0, NULL);
    scan_case("{\"a\" 1}", 0, NULL);
    scan_case("{a:1}", 0, NULL);
    scan_case("{\"a\":1}}", 0, NULL);
    scan_case("{\"a\":1} x", 0, NULL);
    scan_case("[1]", 0, NULL);
    scan_case("{\"a\":\"\xff\"}", 0, NULL);
    scan_case("{\"a\":[[[[{\"b\":[{}]}]]]]}", 1, NULL);
    scan_case("", 0, NULL);
    {
        /* An escaped member name: the scanner declines (-2), the caller parses instead. */
        static const char *const keys[] = {"data"};
        struct rg_str sp[1];
        const char *t = "{\"d\\u0061ta\":{}}";
        check(core_json_members(t, strlen(t), keys, 1, sp) == -2, "scan declines escaped names");
    }

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
