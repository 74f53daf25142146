/* Table-driven configuration: defaults < file < environment < --set key=value.
 *
 * Each program declares one table of struct rg_cfg_opt naming its keys, where each lands
 * in its config struct, the bounds and the default.  The file format is `key = value`
 * lines with `#` comments; sizes take KiB/MiB/GiB, durations ms/s/min.  The environment
 * variable for key `port` of program `core` is RG_CORE_PORT; `<KEY>_FILE` reads the value
 * from a file (for secrets).  Unknown keys in a file or in --set are errors. */
#ifndef RG_CFG_H
#define RG_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "rg/err.h"

enum rg_cfg_type { RG_CFG_T_STR, RG_CFG_T_INT, RG_CFG_T_SIZE, RG_CFG_T_MS, RG_CFG_T_BOOL };

enum { RG_CFG_REQUIRED = 1, RG_CFG_SECRET = 2 };

struct rg_cfg_opt {
    const char *key;
    enum rg_cfg_type type;
    size_t offset;   /* into the config struct */
    const char *def; /* default, written as in a file; NULL = none */
    int64_t min, max;
    unsigned flags;
    const char *help;
};

/* Fields: STR -> char * (owned, freed by rg_cfg_done), INT/SIZE/MS -> int64_t, BOOL -> int. */
#define RG_CFG_STR(k, st, f, d, fl, h) {k, RG_CFG_T_STR, offsetof(st, f), d, 0, 0, fl, h}
#define RG_CFG_INT(k, st, f, d, lo, hi, fl, h) {k, RG_CFG_T_INT, offsetof(st, f), d, lo, hi, fl, h}
#define RG_CFG_SIZE(k, st, f, d, lo, hi, fl, h) {k, RG_CFG_T_SIZE, offsetof(st, f), d, lo, hi, fl, h}
#define RG_CFG_MS(k, st, f, d, lo, hi, fl, h) {k, RG_CFG_T_MS, offsetof(st, f), d, lo, hi, fl, h}
#define RG_CFG_BOOL(k, st, f, d, fl, h) {k, RG_CFG_T_BOOL, offsetof(st, f), d, 0, 1, fl, h}
#define RG_CFG_END {NULL, 0, 0, NULL, 0, 0, 0, NULL}

/* Fills the struct at cfg from the defaults, then the file at path (skipped when NULL),
 * then the environment with prefix (e.g. "RG_CORE_"), then each "key=value" in sets.
 * Returns 0, or RG_ECONFIG with ei saying which key and why (the struct is then partly
 * filled; call rg_cfg_done anyway). */
int rg_cfg_load(const struct rg_cfg_opt *opts, void *cfg, const char *path, const char *env_prefix,
                const char *const *sets, size_t nsets, struct rg_errinfo *ei);
/* Frees the strings owned by the struct. */
void rg_cfg_done(const struct rg_cfg_opt *opts, void *cfg);
/* Parses one value of the given type (exposed for tests). */
int rg_cfg_parse_value(enum rg_cfg_type type, const char *s, int64_t *ret);
/* Writes a commented example file: every key, its default and help. */
int rg_cfg_write_example(const struct rg_cfg_opt *opts, const char *program, int fd);

/* The command line every service shares: `--config FILE`, `--set key=value` (repeatable),
 * `--check-config`, `--print-config`, `--help`. */
struct rg_cfg_args {
    const char *path; /* --config, else $RG_<PROGRAM>_CONFIG, else /etc/resumego/<program>.conf
                         when readable, else NULL */
    const char **sets;
    size_t nsets;
    int check_only;
    int owned; /* path is ours to free */
};

/* Parses argv for program ("core": RG_CORE_CONFIG, rg-core in messages).  Returns -1 when
 * the service should go on (call rg_cfg_args_done later), else the exit code of a command
 * line that was answered here: 0 after --help or --print-config, 2 for a wrong argument
 * (said on stderr with the usage). */
int rg_cfg_args_parse(struct rg_cfg_args *a, int argc, char **argv, const char *program,
                      const struct rg_cfg_opt *opts, const char *usage);
void rg_cfg_args_done(struct rg_cfg_args *a);

#endif
