/* resumego: the command-line entry point.  It renders and validates resumes with no
 * server at all; later subcommands (migrate, up) drive the platform.  Single-threaded
 * except `render --jobs N`, which runs one renderer per worker thread. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "rg/log.h"
#include "rg/render.h"

static const char usage[] =
    "usage: resumego <command> [options]\n"
    "\n"
    "commands:\n"
    "  render    render JSON Resume files to PDF\n"
    "  validate  check JSON Resume files and print every problem with its JSON pointer\n"
    "  themes    list the themes\n"
    "  migrate   apply the database migrations (PostgreSQL)\n"
    "\n"
    "`resumego <command> --help` describes each command.\n"
    "exit codes: 0 ok, 1 input rejected, 2 usage error, 3 internal error\n";

void cli_print_diags(const char *file, const struct rg_diags *d)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(stderr, "%s%s%s: %s%s%s\n", file ? file : "", file ? ": " : "",
                d->v[i].level == RG_DIAG_ERROR ? "error" : "warning", d->v[i].pointer,
                d->v[i].pointer[0] ? ": " : "", d->v[i].message);
}

/* Runs a companion program installed beside this one (argv[0] of it = name). */
static int run_helper(const char *name, int argc, char **argv)
{
    char self[4096], path[4096 + 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "resumego: cannot find my own path: %s\n", strerror(errno));
        return CLI_EXIT_INTERNAL;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    snprintf(path, sizeof path, "%.*s/%s", (int)(slash ? slash - self : 0), self, name);
    argv[0] = (char *)name;
    (void)argc;
    execv(path, argv);
    fprintf(stderr, "resumego: cannot run %s: %s\n", path, strerror(errno));
    return CLI_EXIT_INTERNAL;
}

int main(int argc, char **argv)
{
    rg_log_setup("resumego", RG_LOG_WARN, 1);
    /* A closed stdout (`resumego render x.json -o - | head -c1`) is a write error with a
     * message, not a silent death by SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        puts("resumego 0.1.0");
        return CLI_EXIT_OK;
    }
    if (!strcmp(cmd, "render"))
        return cli_render_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "validate"))
        return cli_validate_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "themes"))
        return cli_themes_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "migrate"))
        return run_helper("resumego-migrate", argc - 1, argv + 1);
    fprintf(stderr, "resumego: unknown command \"%s\"\n\n%s", cmd, usage);
    return CLI_EXIT_USAGE;
}
