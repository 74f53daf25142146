/* Subcommands of the `resumego` CLI.  Each takes the arguments after its name (argv[0] is
 * the subcommand) and returns the process exit code. */
#ifndef CLI_H
#define CLI_H

/* Exit codes, documented in docs/cli.md. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_REJECTED = 1, /* the input was rejected (invalid JSON, --strict violations ...) */
    CLI_EXIT_USAGE = 2,    /* bad command line */
    CLI_EXIT_INTERNAL = 3, /* anything else: I/O, out of fonts, a bug */
};

int cli_render_main(int argc, char **argv);
int cli_validate_main(int argc, char **argv);
int cli_themes_main(int argc, char **argv);
int cli_migrate_main(int argc, char **argv);

/* Prints the diagnostics as `warning: /work/2/startDate: "2019-02-30" is not a date`,
 * prefixed with `file: ` when file is not NULL. */
struct rg_diags;
void cli_print_diags(const char *file, const struct rg_diags *d);

#endif
