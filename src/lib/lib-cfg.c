/* Table-driven configuration (see rg/cfg.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rg/buf.h"
#include "rg/cfg.h"
#include "rg/mem.h"

#define CFG_MAX_FILE (1024 * 1024)

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int rg_cfg_parse_value(enum rg_cfg_type type, const char *s, int64_t *ret)
{
    char *end;
    double mult = 1;

    if (type == RG_CFG_T_BOOL) {
        if (!strcmp(s, "1") || !strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcasecmp(s, "on"))
            *ret = 1;
        else if (!strcmp(s, "0") || !strcasecmp(s, "no") || !strcasecmp(s, "false") ||
                 !strcasecmp(s, "off"))
            *ret = 0;
        else
            return -EINVAL;
        return 0;
    }
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno)
        return -EINVAL;
    while (*end == ' ')
        end++;
    if (type == RG_CFG_T_SIZE) {
        if (!*end || !strcmp(end, "B"))
            mult = 1;
        else if (!strcasecmp(end, "KiB") || !strcasecmp(end, "K"))
            mult = 1024.0;
        else if (!strcasecmp(end, "MiB") || !strcasecmp(end, "M"))
            mult = 1024.0 * 1024;
        else if (!strcasecmp(end, "GiB") || !strcasecmp(end, "G"))
            mult = 1024.0 * 1024 * 1024;
        else
            return -EINVAL;
    } else if (type == RG_CFG_T_MS) {
        if (!*end || !strcmp(end, "ms"))
            mult = 1;
        else if (!strcmp(end, "s"))
            mult = 1000;
        else if (!strcmp(end, "min"))
            mult = 60000;
        else
            return -EINVAL;
    } else if (*end) {
        return -EINVAL;
    }
    double r = (double)v * mult;
    if (r > 9.2e18 || r < -9.2e18)
        return -ERANGE;
    *ret = (int64_t)r;
    return 0;
}

static const struct rg_cfg_opt *find(const struct rg_cfg_opt *opts, const char *key)
{
    for (; opts->key; opts++)
        if (!strcmp(opts->key, key))
            return opts;
    return NULL;
}

static int set_one(const struct rg_cfg_opt *o, void *cfg, const char *val, const char *origin,
                   struct rg_errinfo *ei)
{
    char *field = (char *)cfg + o->offset;
    int64_t v;

    if (o->type == RG_CFG_T_STR) {
        char **sp = (char **)field;
        rg_free(*sp);
        *sp = rg_strdup(val);
        return 0;
    }
    if (rg_cfg_parse_value(o->type, val, &v) < 0)
        return rg_errinfo_set(ei, RG_ECONFIG, "%s: %s: cannot parse \"%s\"", origin, o->key,
                              o->flags & RG_CFG_SECRET ? "***" : val);
    if (o->type == RG_CFG_T_BOOL) {
        *(int *)field = (int)v;
        return 0;
    }
    if (v < o->min || v > o->max)
        return rg_errinfo_set(ei, RG_ECONFIG, "%s: %s = %lld is outside %lld..%lld", origin, o->key,
                              (long long)v, (long long)o->min, (long long)o->max);
    *(int64_t *)field = v;
    return 0;
}

static int load_file(const struct rg_cfg_opt *opts, void *cfg, const char *path,
                     struct rg_errinfo *ei)
{
    struct rg_buf b;
    int r, lineno = 0;

    rg_buf_init(&b, CFG_MAX_FILE);
    r = rg_buf_read_file(&b, path);
    if (r < 0) {
        rg_buf_done(&b);
        return rg_errinfo_set(ei, RG_ECONFIG, "%s: %s", path, rg_strerror(r));
    }
    char *save = NULL;
    for (char *ln = strtok_r(b.ptr, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *hash = strchr(ln, '#');
        if (hash)
            *hash = '\0';
        char *t = trim(ln);
        if (!*t)
            continue;
        char *eq = strchr(t, '=');
        char origin[300];
        snprintf(origin, sizeof origin, "%s:%d", path, lineno);
        if (!eq) {
            r = rg_errinfo_set(ei, RG_ECONFIG, "%s: expected `key = value`", origin);
            break;
        }
        *eq = '\0';
        char *key = trim(t), *val = trim(eq + 1);
        const struct rg_cfg_opt *o = find(opts, key);
        if (!o) {
            r = rg_errinfo_set(ei, RG_ECONFIG, "%s: unknown key \"%s\"", origin, key);
            break;
        }
        r = set_one(o, cfg, val, origin, ei);
        if (r < 0)
            break;
    }
    rg_buf_done(&b);
    return r;
}

int rg_cfg_load(const struct rg_cfg_opt *opts, void *cfg, const char *path, const char *env_prefix,
                const char *const *sets, size_t nsets, struct rg_errinfo *ei)
{
    const struct rg_cfg_opt *o;
    int r;

    for (o = opts; o->key; o++)
        if (o->def && (r = set_one(o, cfg, o->def, "default", ei)) < 0)
            return r;
    if (path && (r = load_file(opts, cfg, path, ei)) < 0)
        return r;
    for (o = opts; env_prefix && o->key; o++) {
        char name[128], origin[160];
        size_t n = (size_t)snprintf(name, sizeof name, "%s", env_prefix);
        for (const char *k = o->key; *k && n + 6 < sizeof name; k++)
            name[n++] = (char)toupper((unsigned char)*k);
        name[n] = '\0';
        snprintf(origin, sizeof origin, "environment %s", name);
        const char *v = getenv(name);
        if (v && (r = set_one(o, cfg, v, origin, ei)) < 0)
            return r;
        memcpy(name + n, "_FILE", 6);
        const char *f = getenv(name);
        if (f) {
            struct rg_buf b;
            rg_buf_init(&b, 64 * 1024);
            r = rg_buf_read_file(&b, f);
            if (r < 0) {
                rg_buf_done(&b);
                return rg_errinfo_set(ei, RG_ECONFIG, "%s: %s: %s", name, f, rg_strerror(r));
            }
            r = set_one(o, cfg, trim(b.ptr), origin, ei);
            rg_memzero(b.ptr, b.len);
            rg_buf_done(&b);
            if (r < 0)
                return r;
        }
    }
    for (size_t i = 0; i < nsets; i++) {
        const char *eq = strchr(sets[i], '=');
        if (!eq)
            return rg_errinfo_set(ei, RG_ECONFIG, "--set %s: expected key=value", sets[i]);
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(eq - sets[i]), sets[i]);
        if (!(o = find(opts, key)))
            return rg_errinfo_set(ei, RG_ECONFIG, "--set: unknown key \"%s\"", key);
        if ((r = set_one(o, cfg, eq + 1, "--set", ei)) < 0)
            return r;
    }
    for (o = opts; o->key; o++)
        if ((o->flags & RG_CFG_REQUIRED) && o->type == RG_CFG_T_STR &&
            !*(char **)((char *)cfg + o->offset))
            return rg_errinfo_set(ei, RG_ECONFIG, "%s is required", o->key);
    return 0;
}

void rg_cfg_done(const struct rg_cfg_opt *opts, void *cfg)
{
    for (; opts->key; opts++)
        if (opts->type == RG_CFG_T_STR) {
            char **sp = (char **)((char *)cfg + opts->offset);
            if (*sp && (opts->flags & RG_CFG_SECRET))
                rg_memzero(*sp, strlen(*sp));
            *sp = rg_free(*sp);
        }
}

int rg_cfg_write_example(const struct rg_cfg_opt *opts, const char *program, int fd)
{
    struct rg_buf b;
    int r;

    rg_buf_init(&b, 1024 * 1024);
    r = rg_buf_printf(&b, "# %s configuration: `key = value`; environment RG_%s_<KEY> overrides.\n",
                      program, program);
    for (; r == 0 && opts->key; opts++)
        r = rg_buf_printf(&b, "\n# %s%s\n%s%s = %s\n", opts->help ? opts->help : "",
                          opts->flags & RG_CFG_REQUIRED ? " (required)" : "", opts->def ? "" : "# ",
                          opts->key, opts->def ? opts->def : "");
    if (r == 0 && write(fd, b.ptr, b.len) != (ssize_t)b.len)
        r = -errno;
    rg_buf_done(&b);
    return r;
}

int rg_cfg_args_parse(struct rg_cfg_args *a, int argc, char **argv, const char *program,
                      const struct rg_cfg_opt *opts, const char *usage)
{
    char up[32], var[64], etc[96];
    size_t i;

    for (i = 0; program[i] && i + 1 < sizeof up; i++)
        up[i] = (char)toupper((unsigned char)program[i]);
    up[i] = '\0';
    snprintf(var, sizeof var, "RG_%s_CONFIG", up);
    *a = (struct rg_cfg_args){.path = getenv(var), .sets = rg_calloc((size_t)argc + 1, sizeof *a->sets)};
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--config") && k + 1 < argc) {
            a->path = argv[++k];
        } else if (!strcmp(argv[k], "--set") && k + 1 < argc) {
            a->sets[a->nsets++] = argv[++k];
        } else if (!strcmp(argv[k], "--check-config")) {
            a->check_only = 1;
        } else if (!strcmp(argv[k], "--print-config")) {
            rg_cfg_args_done(a);
            return rg_cfg_write_example(opts, up, 1) < 0 ? 1 : 0;
        } else if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            fputs(usage, stdout);
            rg_cfg_args_done(a);
            return 0;
        } else {
            fprintf(stderr, "rg-%s: unexpected argument \"%s\"\n\n%s", program, argv[k], usage);
            rg_cfg_args_done(a);
            return 2;
        }
    }
    snprintf(etc, sizeof etc, "/etc/resumego/%s.conf", program);
    if (!a->path && access(etc, R_OK) == 0)
        a->path = rg_strdup(etc), a->owned = 1;
    return -1;
}

void rg_cfg_args_done(struct rg_cfg_args *a)
{
    rg_free(a->sets);
    if (a->owned)
        rg_free((char *)a->path);
    *a = (struct rg_cfg_args){0};
}
