/* `resumego validate`: loads each file as the renderer would and prints every problem
 * with its JSON pointer.  --strict holds the files to the official v1.0.0 schema; --json
 * prints one machine-readable report on stdout instead of the text lines on stderr. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "rg/buf.h"
#include "rg/json.h"
#include "rg/render.h"

static const char validate_usage[] =
    "usage: resumego validate [--strict] [--json] IN.json...\n"
    "\n"
    "Checks JSON Resume files and prints every problem with its JSON pointer, e.g.\n"
    "  warning: /work/2/startDate: \"2019-02-30\" is not a date\n"
    "A clean file prints `FILE: ok`.  `-` reads standard input.\n"
    "\n"
    "  --strict  reject anything the official JSON Resume v1.0.0 schema rejects\n"
    "  --json    print a JSON report on stdout:\n"
    "            {\"files\":[{\"file\",\"ok\",\"error\",\"diagnostics\":[{\"level\",\"pointer\",\"message\"}]}]}\n"
    "  --help    this text\n"
    "\n"
    "exit codes: 0 every file loads (warnings allowed), 1 a file was rejected (invalid\n"
    "JSON or UTF-8, too big, strict violations), 2 usage error, 3 internal error (I/O)\n";

/* The outcome of one file; the worst across files decides the exit code. */
static int validate_one(const char *path, unsigned flags, int json, json_t *report)
{
    struct rg_buf in;
    struct rg_diags diags = {0};
    struct rg_errinfo ei = {.msg = ""};
    json_t *doc = NULL;
    int r, code;

    rg_buf_init(&in, RG_RESUME_MAX_BYTES + 1); /* one byte more so that the loader says why */
    r = rg_buf_read_file(&in, path);
    if (r == RG_ETOOBIG) {
        r = rg_errinfo_set(&ei, RG_ETOOBIG, "larger than the limit of %u bytes (2 MiB)",
                           RG_RESUME_MAX_BYTES);
        code = CLI_EXIT_REJECTED;
    } else if (r < 0) {
        r = rg_errinfo_set(&ei, r, "cannot read: %s", rg_strerror(r));
        code = CLI_EXIT_INTERNAL;
    } else {
        r = rg_resume_load(in.ptr, in.len, flags, &doc, &diags, &ei);
        if (r == 0)
            code = CLI_EXIT_OK;
        else if (r == RG_ETOOBIG || r == RG_EJSON || r == RG_EUTF8 || r == RG_EINPUT)
            code = CLI_EXIT_REJECTED;
        else
            code = CLI_EXIT_INTERNAL;
    }
    if (json) {
        json_t *f = json_object(), *ds = json_array();
        json_object_set_new(f, "file", json_string(path));
        json_object_set_new(f, "ok", json_boolean(r == 0));
        json_object_set_new(f, "error", r == 0 ? json_null() : json_string(ei.msg));
        if (ei.line > 0) {
            json_object_set_new(f, "line", json_integer(ei.line));
            json_object_set_new(f, "column", json_integer(ei.column));
        }
        if (r == RG_EUTF8 || r == RG_EJSON)
            json_object_set_new(f, "offset", json_integer(ei.offset));
        for (size_t i = 0; i < diags.n; i++) {
            json_t *d = json_object();
            json_object_set_new(d, "level",
                                json_string(diags.v[i].level == RG_DIAG_ERROR ? "error" : "warning"));
            json_object_set_new(d, "pointer", json_string(diags.v[i].pointer));
            json_object_set_new(d, "message", json_string(diags.v[i].message));
            json_array_append_new(ds, d);
        }
        json_object_set_new(f, "diagnostics", ds);
        json_array_append_new(json_object_get(report, "files"), f);
    } else {
        cli_print_diags(path, &diags);
        if (r < 0)
            fprintf(stderr, "%s: error: %s\n", path, ei.msg[0] ? ei.msg : rg_strerror(r));
        else if (diags.n == 0)
            printf("%s: ok\n", path);
        else
            printf("%s: ok (%zu warning%s)\n", path, diags.n, diags.n == 1 ? "" : "s");
    }
    json_decref(doc);
    rg_diags_done(&diags);
    rg_buf_done(&in);
    return code;
}

int cli_validate_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"strict", no_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned flags = 0;
    int json = 0, c, worst = CLI_EXIT_OK;
    json_t *report = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            flags |= RG_LOAD_STRICT;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            fputs(validate_usage, stdout);
            return CLI_EXIT_OK;
        default:
            fputs(validate_usage, stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs("resumego validate: no input file\n\n", stderr);
        fputs(validate_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (json) {
        report = json_object();
        json_object_set_new(report, "files", json_array());
    }
    for (int i = optind; i < argc; i++) {
        int code = validate_one(argv[i], flags, json, report);
        /* Internal (3) outranks rejected (1): a broken installation must not look like a
         * bad resume. */
        if (code == CLI_EXIT_INTERNAL || (code == CLI_EXIT_REJECTED && worst == CLI_EXIT_OK))
            worst = code;
    }
    if (json) {
        json_object_set_new(report, "ok", json_boolean(worst == CLI_EXIT_OK));
        json_dumpf(report, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(report);
    }
    return worst;
}
