/* rg_cfg: defaults < file < environment < --set, bounds, unknown keys, <KEY>_FILE. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rg/cfg.h"
#include "rg/err.h"

struct tcfg {
    char *host;
    int64_t port;
    int64_t max_body;
    int64_t timeout;
    int debug;
    char *secret;
};

static const struct rg_cfg_opt opts[] = {
    RG_CFG_STR("host", struct tcfg, host, "127.0.0.1", 0, "listen address"),
    RG_CFG_INT("port", struct tcfg, port, "8080", 1, 65535, 0, "port"),
    RG_CFG_SIZE("max_body", struct tcfg, max_body, "1MiB", 1, 64 * 1024 * 1024, 0, "cap"),
    RG_CFG_MS("timeout", struct tcfg, timeout, "2s", 1, 60000, 0, "timeout"),
    RG_CFG_BOOL("debug", struct tcfg, debug, "no", 0, "debug"),
    RG_CFG_STR("secret", struct tcfg, secret, NULL, RG_CFG_SECRET, "a secret"),
    RG_CFG_END,
};

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/rg-test-cfg-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void clear_env(void)
{
    unsetenv("RG_TCFG_HOST");
    unsetenv("RG_TCFG_PORT");
    unsetenv("RG_TCFG_SECRET");
    unsetenv("RG_TCFG_SECRET_FILE");
    unsetenv("RG_TCFG_TIMEOUT");
}

static void test_defaults(void **state)
{
    struct tcfg c = {0};
    struct rg_errinfo ei;
    (void)state;

    clear_env();
    assert_int_equal(rg_cfg_load(opts, &c, NULL, "RG_TCFG_", NULL, 0, &ei), 0);
    assert_string_equal(c.host, "127.0.0.1");
    assert_int_equal(c.port, 8080);
    assert_int_equal(c.max_body, 1024 * 1024);
    assert_int_equal(c.timeout, 2000);
    assert_int_equal(c.debug, 0);
    assert_null(c.secret);
    rg_cfg_done(opts, &c);
    assert_null(c.host);
}

static void test_precedence(void **state)
{
    struct tcfg c = {0};
    struct rg_errinfo ei;
    const char *sets[] = {"port=9002"};
    (void)state;

    clear_env();
    char *path = write_tmp("# comment\nhost = 0.0.0.0  # trailing\nport=9000\n\ntimeout = 500ms\n"
                           "debug = yes\n");
    setenv("RG_TCFG_PORT", "9001", 1);
    setenv("RG_TCFG_TIMEOUT", "1min", 1);
    assert_int_equal(rg_cfg_load(opts, &c, path, "RG_TCFG_", sets, 1, &ei), 0);
    assert_string_equal(c.host, "0.0.0.0"); /* file over default */
    assert_int_equal(c.port, 9002);         /* --set over env over file */
    assert_int_equal(c.timeout, 60000);     /* env over file */
    assert_int_equal(c.debug, 1);
    rg_cfg_done(opts, &c);

    /* without --set, the environment wins over the file */
    assert_int_equal(rg_cfg_load(opts, &c, path, "RG_TCFG_", NULL, 0, &ei), 0);
    assert_int_equal(c.port, 9001);
    rg_cfg_done(opts, &c);
    unlink(path);
    clear_env();
}

static void test_bounds_and_parse_errors(void **state)
{
    struct tcfg c = {0};
    struct rg_errinfo ei;
    (void)state;

    clear_env();
    const char *s1[] = {"port=0"};
    assert_int_equal(rg_cfg_load(opts, &c, NULL, "RG_TCFG_", s1, 1, &ei), RG_ECONFIG);
    assert_non_null(strstr(ei.msg, "outside 1..65535"));
    rg_cfg_done(opts, &c);
    const char *s2[] = {"port=65536"};
    assert_int_equal(rg_cfg_load(opts, &c, NULL, "RG_TCFG_", s2, 1, &ei), RG_ECONFIG);
    rg_cfg_done(opts, &c);
    const char *s3[] = {"port=65535"};
    assert_int_equal(rg_cfg_load(opts, &c, NULL, "RG_TCFG_", s3, 1, &ei), 0);
    rg_cfg_done(opts, &c);
    const char *s4[] = {"port=80x"};
    assert_int_equal(rg_cfg_load(opts, &c, NULL, "RG_TCFG_", s4, 1, &ei), RG_ECONFIG);
    assert_non_null(strstr(ei.msg, "cannot parse"));
    rg_cfg_done(opts, &c);
    const char *s5[] = {"max_body=65MiB"};
    assert_int_equal(rg_cfg_load(opts, &c, NULL, "RG_TCFG_", s5, 1, &ei), RG_ECONFIG);
    rg_cfg_done(opts, &c);
    const char *s6[] = {"port"};
    assert_int_equal(rg_cfg_load(opts, &c, NULL, "RG_TCFG_", s6, 1, &ei), RG_ECONFIG);
    rg_cfg_done(opts, &c);

    int64_t v;
    assert_int_equal(rg_cfg_parse_value(RG_CFG_T_SIZE, "2 KiB", &v), 0);
    assert_int_equal(v, 2048);
    assert_int_equal(rg_cfg_parse_value(RG_CFG_T_SIZE, "3G", &v), 0);
    assert_int_equal(v, 3LL << 30);
    assert_int_equal(rg_cfg_parse_value(RG_CFG_T_MS, "3s", &v), 0);
    assert_int_equal(v, 3000);
    assert_int_equal(rg_cfg_parse_value(RG_CFG_T_MS, "3h", &v), -EINVAL);
    assert_int_equal(rg_cfg_parse_value(RG_CFG_T_BOOL, "maybe", &v), -EINVAL);
    assert_int_equal(rg_cfg_parse_value(RG_CFG_T_BOOL, "ON", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(rg_cfg_parse_value(RG_CFG_T_INT, "", &v), -EINVAL);
    assert_int_equal(rg_cfg_parse_value(RG_CFG_T_INT, "99999999999999999999", &v), -EINVAL);
}

static void test_unknown_keys(void **state)
{
    struct tcfg c = {0};
    struct rg_errinfo ei;
    (void)state;

    clear_env();
    char *path = write_tmp("host = x\nprot = 1\n");
    assert_int_equal(rg_cfg_load(opts, &c, path, NULL, NULL, 0, &ei), RG_ECONFIG);
    assert_non_null(strstr(ei.msg, ":2: unknown key \"prot\""));
    rg_cfg_done(opts, &c);
    unlink(path);

    path = write_tmp("just words\n");
    assert_int_equal(rg_cfg_load(opts, &c, path, NULL, NULL, 0, &ei), RG_ECONFIG);
    assert_non_null(strstr(ei.msg, "expected `key = value`"));
    rg_cfg_done(opts, &c);
    unlink(path);

    const char *sets[] = {"nope=1"};
    assert_int_equal(rg_cfg_load(opts, &c, NULL, NULL, sets, 1, &ei), RG_ECONFIG);
    assert_non_null(strstr(ei.msg, "unknown key \"nope\""));
    rg_cfg_done(opts, &c);

    assert_int_equal(rg_cfg_load(opts, &c, "/nonexistent/rg.conf", NULL, NULL, 0, &ei), RG_ECONFIG);
    rg_cfg_done(opts, &c);
}

static void test_file_variant(void **state)
{
    struct tcfg c = {0};
    struct rg_errinfo ei;
    (void)state;

    clear_env();
    char *path = write_tmp("  s3cr3t \n");
    setenv("RG_TCFG_SECRET_FILE", path, 1);
    assert_int_equal(rg_cfg_load(opts, &c, NULL, "RG_TCFG_", NULL, 0, &ei), 0);
    assert_string_equal(c.secret, "s3cr3t"); /* trimmed */
    rg_cfg_done(opts, &c);

    /* a secret never appears in an error message */
    const char *sets[] = {"port=x"};
    setenv("RG_TCFG_PORT", "hunter2", 1);
    assert_int_equal(rg_cfg_load(opts, &c, NULL, "RG_TCFG_", sets, 1, &ei), RG_ECONFIG);
    rg_cfg_done(opts, &c);
    unsetenv("RG_TCFG_PORT");

    unlink(path);
    assert_int_equal(rg_cfg_load(opts, &c, NULL, "RG_TCFG_", NULL, 0, &ei), RG_ECONFIG);
    assert_non_null(strstr(ei.msg, "RG_TCFG_SECRET_FILE"));
    rg_cfg_done(opts, &c);
    clear_env();
}

/* The command line every service shares (rg_cfg_args_parse). */
static void test_args(void **state)
{
    struct rg_cfg_args a;
    (void)state;

    unsetenv("RG_TCFG_CONFIG");
    char *ok[] = {"rg-tcfg", "--set", "port=1", "--config", "/x.conf", "--set", "debug=yes",
                  "--check-config", NULL};
    assert_int_equal(rg_cfg_args_parse(&a, 8, ok, "tcfg", opts, "usage\n"), -1);
    assert_string_equal(a.path, "/x.conf");
    assert_int_equal(a.nsets, 2);
    assert_string_equal(a.sets[0], "port=1");
    assert_string_equal(a.sets[1], "debug=yes");
    assert_true(a.check_only);
    rg_cfg_args_done(&a);

    /* The environment names the file when --config does not; no file at all is NULL
     * (there is no /etc/resumego/tcfg.conf). */
    setenv("RG_TCFG_CONFIG", "/env.conf", 1);
    char *bare[] = {"rg-tcfg", NULL};
    assert_int_equal(rg_cfg_args_parse(&a, 1, bare, "tcfg", opts, "usage\n"), -1);
    assert_string_equal(a.path, "/env.conf");
    assert_int_equal(a.nsets, 0);
    assert_false(a.check_only);
    rg_cfg_args_done(&a);
    unsetenv("RG_TCFG_CONFIG");
    assert_int_equal(rg_cfg_args_parse(&a, 1, bare, "tcfg", opts, "usage\n"), -1);
    assert_null(a.path);
    rg_cfg_args_done(&a);

    /* Answered here: --help is 0; a stray word or a --set without its value is usage (2). */
    char *help[] = {"rg-tcfg", "--help", NULL};
    assert_int_equal(rg_cfg_args_parse(&a, 2, help, "tcfg", opts, ""), 0);
    char *stray[] = {"rg-tcfg", "serve", NULL};
    assert_int_equal(rg_cfg_args_parse(&a, 2, stray, "tcfg", opts, ""), 2);
    char *dangling[] = {"rg-tcfg", "--set", NULL};
    assert_int_equal(rg_cfg_args_parse(&a, 2, dangling, "tcfg", opts, ""), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_bounds_and_parse_errors),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_file_variant),
        cmocka_unit_test(test_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
