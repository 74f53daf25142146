/* `resumego migrate`: applies deploy/migrations/NNNN-name.sql in number order.
 *
 * Each file runs in its own transaction together with the row that records it in
 * schema_migrations, so a failing migration leaves nothing half-applied and running the
 * command twice changes nothing.  A session-level advisory lock serialises concurrent
 * runs (two replicas starting at once). */
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rg/buf.h"
#include "rg/mem.h"

#ifndef RG_DEFAULT_MIGRATIONS_DIR
#define RG_DEFAULT_MIGRATIONS_DIR "deploy/migrations"
#endif

/* Any constant works; it names "the migration lock" to pg_advisory_lock. */
#define MIGRATE_LOCK_KEY "7201560541"
#define MIGRATE_MAX_FILE (16 * 1024 * 1024)
#define MIGRATE_MAX_FILES 10000

static const char usage[] =
    "usage: resumego migrate [--url POSTGRES_URL] [--dir DIR] [--status]\n"
    "\n"
    "Applies the numbered SQL migrations (NNNN-name.sql) that are not applied yet, each in\n"
    "its own transaction, and records them in the table schema_migrations.\n"
    "  --url     connection URL (default: $RG_PG_URL)\n"
    "  --dir     migrations directory (default: $RG_MIGRATIONS_DIR, else " RG_DEFAULT_MIGRATIONS_DIR
    ")\n"
    "  --status  list the migrations and whether each is applied; change nothing\n";

static int is_migration(const char *name)
{
    size_t n = strlen(name);
    if (n < 9 || strcmp(name + n - 4, ".sql") != 0)
        return 0;
    for (int i = 0; i < 4; i++)
        if (name[i] < '0' || name[i] > '9')
            return 0;
    return name[4] == '-';
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs sql; prints the server's message on failure.  Returns 0 or -1. */
static int exec_ok(PGconn *pg, const char *sql, const char *what)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int r = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : -1;
    if (r < 0)
        fprintf(stderr, "resumego migrate: %s: %s", what, PQerrorMessage(pg));
    PQclear(res);
    return r;
}

static int applied(PGconn *pg, int number)
{
    char num[16];
    snprintf(num, sizeof num, "%d", number);
    const char *params[] = {num};
    PGresult *res = PQexecParams(pg, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL,
                                 params, NULL, NULL, 0);
    int r = PQresultStatus(res) != PGRES_TUPLES_OK ? -1 : PQntuples(res) > 0;
    PQclear(res);
    return r;
}

static int apply_one(PGconn *pg, const char *dir, const char *name, int number)
{
    struct rg_buf sql;
    char *path = rg_asprintf("%s/%s", dir, name);
    char num[16];
    int r;

    rg_buf_init(&sql, MIGRATE_MAX_FILE);
    r = rg_buf_read_file(&sql, path);
    if (r < 0) {
        fprintf(stderr, "resumego migrate: %s: %s\n", path, strerror(-r));
        goto out;
    }
    if ((r = exec_ok(pg, "BEGIN", "BEGIN")) < 0)
        goto out;
    if ((r = exec_ok(pg, sql.ptr, name)) < 0) {
        (void)exec_ok(pg, "ROLLBACK", "ROLLBACK");
        goto out;
    }
    snprintf(num, sizeof num, "%d", number);
    const char *params[] = {num, name};
    PGresult *res =
        PQexecParams(pg, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, NULL,
                     params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "resumego migrate: recording %s: %s", name, PQerrorMessage(pg));
        PQclear(res);
        (void)exec_ok(pg, "ROLLBACK", "ROLLBACK");
        r = -1;
        goto out;
    }
    PQclear(res);
    r = exec_ok(pg, "COMMIT", "COMMIT");
out:
    rg_buf_done(&sql);
    rg_free(path);
    return r;
}

int cli_migrate_main(int argc, char **argv)
{
    const char *url = getenv("RG_PG_URL");
    const char *dir = getenv("RG_MIGRATIONS_DIR");
    int status_only = 0, rc = CLI_EXIT_INTERNAL, napplied = 0;
    PGconn *pg = NULL;
    DIR *d = NULL;
    char **names = NULL;
    size_t nnames = 0;

    if (!dir)
        dir = RG_DEFAULT_MIGRATIONS_DIR;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--url") && i + 1 < argc) {
            url = argv[++i];
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--status")) {
            status_only = 1;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        } else {
            fprintf(stderr, "resumego migrate: unexpected argument \"%s\"\n\n%s", argv[i], usage);
            return CLI_EXIT_USAGE;
        }
    }
    if (!url || !*url) {
        fprintf(stderr, "resumego migrate: no database: pass --url or set RG_PG_URL\n");
        return CLI_EXIT_USAGE;
    }

    d = opendir(dir);
    if (!d) {
        fprintf(stderr, "resumego migrate: %s: %s\n", dir, strerror(errno));
        goto out;
    }
    for (struct dirent *e; (e = readdir(d));) {
        if (!is_migration(e->d_name))
            continue;
        if (nnames == MIGRATE_MAX_FILES) {
            fprintf(stderr, "resumego migrate: more than %d migrations in %s\n", MIGRATE_MAX_FILES,
                    dir);
            goto out;
        }
        names = rg_realloc(names, (nnames + 1) * sizeof *names);
        names[nnames++] = rg_strdup(e->d_name);
    }
    qsort(names, nnames, sizeof *names, cmp_names);
    for (size_t i = 1; i < nnames; i++)
        if (strncmp(names[i], names[i - 1], 4) == 0) {
            fprintf(stderr, "resumego migrate: %s and %s share a number\n", names[i - 1], names[i]);
            goto out;
        }

    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {url, "10", "resumego-migrate", NULL};
    pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "resumego migrate: cannot connect: %s", PQerrorMessage(pg));
        goto out;
    }
    /* Quiet "relation already exists, skipping" notices. */
    if (exec_ok(pg, "SET client_min_messages = warning", "settings") < 0 ||
        exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "lock") < 0 ||
        exec_ok(pg,
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                "schema_migrations") < 0)
        goto out;

    for (size_t i = 0; i < nnames; i++) {
        int number = (int)strtol(names[i], NULL, 10);
        int a = applied(pg, number);
        if (a < 0) {
            fprintf(stderr, "resumego migrate: reading schema_migrations: %s", PQerrorMessage(pg));
            goto out;
        }
        if (status_only) {
            printf("%s  %s\n", a ? "applied" : "pending", names[i]);
            continue;
        }
        if (a)
            continue;
        if (apply_one(pg, dir, names[i], number) < 0)
            goto out;
        printf("applied %s\n", names[i]);
        napplied++;
    }
    if (!status_only)
        printf("migrations: %d applied, %zu total\n", napplied, nnames);
    rc = CLI_EXIT_OK;
out:
    for (size_t i = 0; i < nnames; i++)
        rg_free(names[i]);
    rg_free(names);
    if (d)
        closedir(d);
    PQfinish(pg); /* NULL-safe; also releases the advisory lock */
    return rc;
}
