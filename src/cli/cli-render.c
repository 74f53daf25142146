/* resumego render: files to PDFs.  With several inputs (-O DIR) the files are shared
 * among --jobs worker threads, each with its own renderer (fonts and layout state are
 * per thread); a progress line is drawn when stderr is a terminal. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "rg/buf.h"
#include "rg/mem.h"
#include "rg/render.h"

#define PDF_MAX_BYTES (64u * 1024 * 1024)

static const char usage[] =
    "usage: resumego render IN.json|- [-o OUT.pdf|-] [options]\n"
    "       resumego render IN.json... -O DIR [--jobs N] [options]\n"
    "\n"
    "Renders JSON Resume files to PDF.\n"
    "  -o FILE        output file (default: IN with .pdf; stdout when IN is -)\n"
    "  -O DIR         output directory for several inputs (DIR/<name>.pdf)\n"
    "  --theme NAME   theme (see `resumego themes`; default classic)\n"
    "  --paper SIZE   a4 (default) or letter\n"
    "  --locale TAG   headings, dates and glyph forms (en, de, fr, ja, zh, ar, ...;\n"
    "                 default: the resume's meta or its script)\n"
    "  --strict       reject input the official JSON Resume schema rejects\n"
    "  --jobs N       render N files at once (default: number of cores)\n"
    "  -q             no warnings\n"
    "Exit codes: 0 ok, 1 an input was rejected, 2 usage error, 3 internal error.\n"
    "SOURCE_DATE_EPOCH, when set, is the creation date written into the PDF.\n";

struct job {
    char **inputs;
    size_t n;
    const char *out, *outdir;
    struct rg_render_opts opts;
    unsigned load_flags;
    int quiet, progress;
    atomic_size_t next, done;
    atomic_int worst;
    pthread_mutex_t print_lock;
};

static void worst(struct job *j, int code)
{
    int cur = atomic_load(&j->worst);
    while (code > cur && !atomic_compare_exchange_weak(&j->worst, &cur, code))
        ;
}

static char *out_path(const struct job *j, const char *in)
{
    if (j->out)
        return rg_strdup(j->out);
    if (!strcmp(in, "-"))
        return rg_strdup("-");
    char *copy = rg_strdup(in);
    char *base = basename(copy);
    char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *res;
    if (j->outdir) {
        res = rg_asprintf("%s/%.*s.pdf", j->outdir, (int)stem, base);
    } else {
        size_t dirlen = (size_t)(base - copy);
        /* basename() may return a pointer into copy; rebuild from the input itself. */
        const char *slash = strrchr(in, '/');
        dirlen = slash ? (size_t)(slash - in + 1) : 0;
        res = rg_asprintf("%.*s%.*s.pdf", (int)dirlen, in, (int)stem, base);
    }
    rg_free(copy);
    return res;
}

static int write_all(const char *path, const char *p, size_t n)
{
    int fd = strcmp(path, "-") ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 1;
    if (fd < 0)
        return -errno;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = -errno;
            if (fd != 1)
                close(fd);
            return e;
        }
        p += w;
        n -= (size_t)w;
    }
    return fd != 1 && close(fd) < 0 ? -errno : 0;
}

/* Renders one file; returns an exit code. */
static int render_one(struct job *j, struct rg_renderer *r, const char *in)
{
    struct rg_buf src, pdf;
    struct rg_diags diags = {0};
    struct rg_errinfo ei = {.msg = ""};
    json_t *doc = NULL;
    char *dir = NULL, *outp = NULL;
    int code = CLI_EXIT_OK, err;

    rg_buf_init(&src, RG_RESUME_MAX_BYTES);
    rg_buf_init(&pdf, PDF_MAX_BYTES);
    err = rg_buf_read_file(&src, in);
    if (err < 0) {
        pthread_mutex_lock(&j->print_lock);
        if (err == RG_ETOOBIG)
            fprintf(stderr, "%s: error: larger than the %u byte limit for a resume\n", in,
                    RG_RESUME_MAX_BYTES);
        else
            fprintf(stderr, "%s: error: cannot read: %s\n", in, rg_strerror(err));
        pthread_mutex_unlock(&j->print_lock);
        code = err == RG_ETOOBIG ? CLI_EXIT_REJECTED : CLI_EXIT_INTERNAL;
        goto out;
    }
    err = rg_resume_load(src.ptr, src.len, j->load_flags, &doc, &diags, &ei);
    if (err < 0) {
        pthread_mutex_lock(&j->print_lock);
        cli_print_diags(in, &diags);
        if (ei.msg[0])
            fprintf(stderr, "%s: error: %s\n", in, ei.msg);
        pthread_mutex_unlock(&j->print_lock);
        code = CLI_EXIT_REJECTED;
        goto out;
    }
    struct rg_render_opts o = j->opts;
    if (strcmp(in, "-")) {
        char *copy = rg_strdup(in);
        dir = rg_strdup(dirname(copy));
        rg_free(copy);
        o.base_dir = dir;
    }
    err = rg_render_pdf(r, doc, &o, &pdf, &diags, &ei);
    if (!j->quiet || err < 0) {
        pthread_mutex_lock(&j->print_lock);
        if (!j->quiet)
            cli_print_diags(in, &diags);
        if (err < 0)
            fprintf(stderr, "%s: error: %s\n", in, ei.msg);
        pthread_mutex_unlock(&j->print_lock);
    }
    if (err < 0) {
        code = err == RG_ETHEME || err == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
        goto out;
    }
    outp = out_path(j, in);
    err = write_all(outp, pdf.ptr, pdf.len);
    if (err < 0) {
        fprintf(stderr, "%s: error: cannot write %s: %s\n", in, outp, rg_strerror(err));
        code = CLI_EXIT_INTERNAL;
    }
out:
    json_decref(doc);
    rg_diags_done(&diags);
    rg_buf_done(&src);
    rg_buf_done(&pdf);
    rg_free(dir);
    rg_free(outp);
    return code;
}

static void *worker(void *arg)
{
    struct job *j = arg;
    struct rg_errinfo ei;
    struct rg_renderer *r = rg_renderer_new(NULL, &ei);
    if (!r) {
        fprintf(stderr, "resumego render: %s\n", ei.msg);
        worst(j, CLI_EXIT_INTERNAL);
        return NULL;
    }
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            break;
        worst(j, render_one(j, r, j->inputs[i]));
        size_t d = atomic_fetch_add(&j->done, 1) + 1;
        if (j->progress) {
            pthread_mutex_lock(&j->print_lock);
            fprintf(stderr, "\r\033[Krendered %zu/%zu", d, j->n);
            pthread_mutex_unlock(&j->print_lock);
        }
    }
    rg_renderer_free(r);
    return NULL;
}

int cli_render_main(int argc, char **argv)
{
    struct job j;
    long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    char **inputs = rg_calloc((size_t)argc, sizeof *inputs);
    size_t n = 0;
    int strict = 0;

    memset(&j, 0, sizeof j);
    j.opts.source_date = -1;
    pthread_mutex_init(&j.print_lock, NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            rg_free(inputs);
            return CLI_EXIT_OK;
        } else if (!strcmp(a, "-o") && more) {
            j.out = argv[++i];
        } else if (!strcmp(a, "-O") && more) {
            j.outdir = argv[++i];
        } else if (!strcmp(a, "--theme") && more) {
            j.opts.theme = argv[++i];
        } else if (!strcmp(a, "--paper") && more) {
            j.opts.paper = argv[++i];
        } else if (!strcmp(a, "--locale") && more) {
            j.opts.locale = argv[++i];
        } else if (!strcmp(a, "--jobs") && more) {
            char *end;
            jobs = strtol(argv[++i], &end, 10);
            if (*end || jobs < 1 || jobs > 256) {
                fprintf(stderr, "resumego render: --jobs takes a number from 1 to 256\n");
                rg_free(inputs);
                return CLI_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--strict")) {
            strict = 1;
        } else if (!strcmp(a, "-q")) {
            j.quiet = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "resumego render: unknown or incomplete option \"%s\"\n\n%s", a, usage);
            rg_free(inputs);
            return CLI_EXIT_USAGE;
        } else {
            inputs[n++] = argv[i];
        }
    }
    if (n == 0 || (n > 1 && !j.outdir) || (j.out && j.outdir)) {
        fprintf(stderr, "resumego render: %s\n\n%s",
                n == 0   ? "no input file"
                : j.out ? "-o and -O exclude each other"
                        : "several inputs need -O DIR",
                usage);
        rg_free(inputs);
        return CLI_EXIT_USAGE;
    }
    if (j.opts.paper && strcmp(j.opts.paper, "a4") && strcmp(j.opts.paper, "letter")) {
        fprintf(stderr, "resumego render: --paper must be a4 or letter\n");
        rg_free(inputs);
        return CLI_EXIT_USAGE;
    }
    if (j.outdir && mkdir(j.outdir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "resumego render: cannot create %s: %s\n", j.outdir, strerror(errno));
        rg_free(inputs);
        return CLI_EXIT_INTERNAL;
    }
    j.inputs = inputs;
    j.n = n;
    j.load_flags = strict ? RG_LOAD_STRICT : 0;
    j.progress = n > 1 && isatty(2);
    if ((size_t)jobs > n)
        jobs = (long)n;
    pthread_t *th = rg_calloc((size_t)jobs, sizeof *th);
    for (long t = 1; t < jobs; t++)
        if (pthread_create(&th[t], NULL, worker, &j) != 0)
            th[t] = 0;
    worker(&j);
    for (long t = 1; t < jobs; t++)
        if (th[t])
            pthread_join(th[t], NULL);
    if (j.progress)
        fputc('\n', stderr);
    rg_free(th);
    rg_free(inputs);
    pthread_mutex_destroy(&j.print_lock);
    return atomic_load(&j.worst);
}
