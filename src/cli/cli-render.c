/* resumego render: files to PDFs.  With several inputs (-O DIR) the files are shared
 * among --jobs worker processes, each with its own renderer (cairo 1.16 is not safe
 * with renderers in several threads); a progress line is drawn when stderr is a
 * terminal. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
    "  --png WIDTH    write a PNG preview instead: the pages WIDTH pixels wide, one\n"
    "                 under the other (what the editor's live preview shows)\n"
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
    int png_width; /* > 0: a PNG preview this many pixels wide instead of the PDF */
    atomic_size_t next, done, ok;
    atomic_int worst;
    pthread_mutex_t print_lock;
};

static void run(struct job *j, struct rg_renderer *r);

/* Starts a message on stderr: the progress line, if any, is cleared first.  Call with
 * print_lock held. */
static void msg_begin(const struct job *j)
{
    if (j->progress)
        fputs("\r\033[K", stderr);
}

static void worst(struct job *j, int code)
{
    int cur = atomic_load(&j->worst);
    while (code > cur && !atomic_compare_exchange_weak(&j->worst, &cur, code))
        ;
}

static char *out_path(const struct job *j, const char *in)
{
    const char *ext = j->png_width ? "png" : "pdf";
    if (j->out)
        return rg_strdup(j->out);
    if (!strcmp(in, "-"))
        return j->outdir ? rg_asprintf("%s/stdin.%s", j->outdir, ext) : rg_strdup("-");
    char *copy = rg_strdup(in);
    char *base = basename(copy);
    char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *res;
    if (j->outdir) {
        res = rg_asprintf("%s/%.*s.%s", j->outdir, (int)stem, base, ext);
    } else {
        size_t dirlen = (size_t)(base - copy);
        /* basename() may return a pointer into copy; rebuild from the input itself. */
        const char *slash = strrchr(in, '/');
        dirlen = slash ? (size_t)(slash - in + 1) : 0;
        res = rg_asprintf("%.*s%.*s.%s", (int)dirlen, in, (int)stem, base, ext);
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
        msg_begin(j);
        if (err == RG_ETOOBIG)
            fprintf(stderr, "%s: error: larger than the %u byte limit for a resume\n", in,
                    RG_RESUME_MAX_BYTES);
        else
            fprintf(stderr, "%s: error: cannot read: %s\n", in, rg_strerror(err));
        pthread_mutex_unlock(&j->print_lock);
        /* Naming a file that cannot be read is a mistake on the command line. */
        code = err == RG_ETOOBIG ? CLI_EXIT_REJECTED : CLI_EXIT_USAGE;
        goto out;
    }
    err = rg_resume_load(src.ptr, src.len, j->load_flags, &doc, &diags, &ei);
    if (err < 0) {
        pthread_mutex_lock(&j->print_lock);
        msg_begin(j);
        cli_print_diags(in, &diags);
        if (ei.msg[0] && !rg_diags_count(&diags, RG_DIAG_ERROR))
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
    if (j->png_width)
        err = rg_render_png(r, doc, &o, j->png_width, 16, &pdf, NULL, NULL, &diags, &ei);
    else
        err = rg_render_pdf(r, doc, &o, &pdf, &diags, &ei);
    if (!j->quiet || err < 0) {
        pthread_mutex_lock(&j->print_lock);
        if (diags.n || err < 0)
            msg_begin(j);
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

/* A child process of a batch: its own renderer (see rg_renderer_new on why processes). */
static int child(struct job *j)
{
    struct rg_errinfo ei;
    struct rg_renderer *r = rg_renderer_new(NULL, &ei);
    if (!r) {
        fprintf(stderr, "resumego render: %s\n", ei.msg);
        worst(j, CLI_EXIT_INTERNAL);
        return CLI_EXIT_INTERNAL;
    }
    run(j, r);
    rg_renderer_free(r);
    return CLI_EXIT_OK;
}

/* Renders files until none are left (several processes share the job). */
static void run(struct job *j, struct rg_renderer *r)
{
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            break;
        int rc = render_one(j, r, j->inputs[i]);
        worst(j, rc);
        if (rc == CLI_EXIT_OK)
            atomic_fetch_add(&j->ok, 1);
        size_t d = atomic_fetch_add(&j->done, 1) + 1;
        if (j->progress) {
            pthread_mutex_lock(&j->print_lock);
            fprintf(stderr, "\r\033[Krendered %zu/%zu", d, j->n);
            pthread_mutex_unlock(&j->print_lock);
        }
    }
}

/* `--name value` or `--name=value`: returns the value (advancing *i) or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
    char *p = rg_strdup(path);
    int r = 0;
    for (char *s = p + 1; r == 0; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            r = -errno;
        *s = c;
        if (!c)
            break;
    }
    rg_free(p);
    if (r == 0) {
        struct stat st;
        if (stat(path, &st) < 0)
            r = -errno;
        else if (!S_ISDIR(st.st_mode))
            r = -ENOTDIR;
    }
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Refuses outputs that would destroy an input or each other: an output that is an input
 * file (same inode), or two inputs that map to one output in a batch. */
static int check_outputs(const struct job *j)
{
    char **outs = rg_calloc(j->n, sizeof *outs);
    int code = CLI_EXIT_OK;

    for (size_t i = 0; i < j->n; i++)
        outs[i] = out_path(j, j->inputs[i]);
    for (size_t i = 0; i < j->n && code == CLI_EXIT_OK; i++) {
        struct stat so, si;
        if (!strcmp(outs[i], "-") || stat(outs[i], &so) < 0)
            continue;
        for (size_t k = 0; k < j->n; k++)
            if (strcmp(j->inputs[k], "-") && stat(j->inputs[k], &si) == 0 &&
                si.st_dev == so.st_dev && si.st_ino == so.st_ino) {
                fprintf(stderr,
                        "resumego render: the output %s is the input %s; refusing to "
                        "overwrite it (use -o)\n",
                        outs[i], j->inputs[k]);
                code = CLI_EXIT_USAGE;
                break;
            }
    }
    if (code == CLI_EXIT_OK && j->n > 1) {
        qsort(outs, j->n, sizeof *outs, cmp_str);
        for (size_t i = 1; i < j->n; i++)
            if (strcmp(outs[i], "-") && !strcmp(outs[i - 1], outs[i])) {
                fprintf(stderr,
                        "resumego render: two inputs would both be written to %s; rename one "
                        "or render them separately\n",
                        outs[i]);
                code = CLI_EXIT_USAGE;
                break;
            }
    }
    for (size_t i = 0; i < j->n; i++)
        rg_free(outs[i]);
    rg_free(outs);
    return code;
}

static int usage_error(char **inputs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(char **inputs, const char *fmt, ...)
{
    va_list ap;
    fputs("resumego render: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(see `resumego render --help`)\n", stderr);
    rg_free(inputs);
    return CLI_EXIT_USAGE;
}

int cli_render_main(int argc, char **argv)
{
    struct job j;
    long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    char **inputs = rg_calloc((size_t)argc, sizeof *inputs);
    size_t n = 0;
    int strict = 0, code;
    struct rg_errinfo ei = {.msg = ""};
    const char *v;

    memset(&j, 0, sizeof j);
    j.opts.source_date = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            rg_free(inputs);
            return CLI_EXIT_OK;
        } else if ((v = opt_value(argc, argv, &i, "-o"))) {
            j.out = v;
        } else if ((v = opt_value(argc, argv, &i, "-O"))) {
            j.outdir = v;
        } else if ((v = opt_value(argc, argv, &i, "--theme"))) {
            j.opts.theme = v;
        } else if ((v = opt_value(argc, argv, &i, "--paper"))) {
            j.opts.paper = v;
        } else if ((v = opt_value(argc, argv, &i, "--locale"))) {
            j.opts.locale = v;
        } else if ((v = opt_value(argc, argv, &i, "--jobs"))) {
            char *end;
            errno = 0;
            jobs = strtol(v, &end, 10);
            if (*end || errno || jobs < 1 || jobs > 256)
                return usage_error(inputs, "--jobs takes a number from 1 to 256, not \"%s\"", v);
        } else if ((v = opt_value(argc, argv, &i, "--png"))) {
            char *end;
            long w;
            errno = 0;
            w = strtol(v, &end, 10);
            if (*end || errno || w < RG_PNG_MIN_WIDTH || w > RG_PNG_MAX_WIDTH)
                return usage_error(inputs, "--png takes a width from %d to %d pixels, not \"%s\"",
                                   RG_PNG_MIN_WIDTH, RG_PNG_MAX_WIDTH, v);
            j.png_width = (int)w;
        } else if (!strcmp(a, "--strict")) {
            strict = 1;
        } else if (!strcmp(a, "-q")) {
            j.quiet = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error(inputs, "unknown option, or an option without its value: \"%s\"",
                               a);
        } else {
            inputs[n++] = argv[i];
        }
    }
    if (n == 0)
        return usage_error(inputs, "%s", "no input file");
    if ((j.out && !*j.out) || (j.outdir && !*j.outdir) || (j.opts.locale && !*j.opts.locale) ||
        (j.opts.theme && !*j.opts.theme))
        return usage_error(inputs, "%s", "-o, -O, --theme and --locale need a non-empty value");
    if (j.out && j.outdir)
        return usage_error(inputs, "%s", "-o and -O exclude each other");
    if (n > 1 && !j.outdir)
        return usage_error(inputs, "%s", "several inputs need -O DIR (-o names one file)");
    if (j.opts.paper && strcasecmp(j.opts.paper, "a4") && strcasecmp(j.opts.paper, "letter"))
        return usage_error(inputs, "--paper must be a4 or letter, not \"%s\"", j.opts.paper);
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde && strspn(sde, "0123456789") != strlen(sde))
        fprintf(stderr, "resumego render: warning: SOURCE_DATE_EPOCH=\"%s\" is not a number of "
                        "seconds; ignored\n", sde);

    /* The first renderer is made here so that a bad theme or locale is one usage error,
     * not one error per file; the calling thread then renders with it. */
    struct rg_renderer *r0 = rg_renderer_new(NULL, &ei);
    if (!r0) {
        fprintf(stderr, "resumego render: %s\n", ei.msg);
        rg_free(inputs);
        return CLI_EXIT_INTERNAL;
    }
    if (rg_render_check_opts(r0, &j.opts, &ei) < 0) {
        rg_renderer_free(r0);
        return usage_error(inputs, "%s", ei.msg);
    }
    if (j.outdir) {
        int e = make_dirs(j.outdir);
        if (e < 0) {
            fprintf(stderr, "resumego render: cannot create the directory %s: %s\n", j.outdir,
                    rg_strerror(e));
            rg_renderer_free(r0);
            rg_free(inputs);
            return e == -ENOTDIR || e == -EEXIST ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
        }
    }
    j.inputs = inputs;
    j.n = n;
    if ((code = check_outputs(&j)) != CLI_EXIT_OK) {
        rg_renderer_free(r0);
        rg_free(inputs);
        return code;
    }
    j.load_flags = strict ? RG_LOAD_STRICT : 0;
    j.progress = n > 1 && isatty(2);
    if ((size_t)jobs > n)
        jobs = (long)n;
    /* The job lives in shared memory: its counters and print lock are shared by the
     * worker processes. */
    struct job *sj = mmap(NULL, sizeof *sj, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                          -1, 0);
    if (sj == MAP_FAILED) {
        fprintf(stderr, "resumego render: %s\n", strerror(errno));
        rg_renderer_free(r0);
        rg_free(inputs);
        return CLI_EXIT_INTERNAL;
    }
    *sj = j;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&sj->print_lock, &ma);
    pthread_mutexattr_destroy(&ma);
    if (jobs == 1) {
        run(sj, r0);
    } else {
        pid_t *pids = rg_calloc((size_t)jobs, sizeof *pids);
        fflush(NULL);
        for (long t = 0; t < jobs; t++) {
            pids[t] = fork();
            if (pids[t] == 0)
                _exit(child(sj));
            if (pids[t] < 0)
                worst(sj, CLI_EXIT_INTERNAL);
        }
        long alive = jobs;
        while (alive > 0) {
            int st;
            pid_t p = waitpid(-1, &st, 0);
            if (p < 0 && errno == EINTR)
                continue;
            if (p < 0)
                break;
            alive--;
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                /* A worker that died took its current file with it. */
                pthread_mutex_lock(&sj->print_lock);
                msg_begin(sj);
                fprintf(stderr, "resumego render: a worker process %s %d\n",
                        WIFSIGNALED(st) ? "died of signal" : "exited with",
                        WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
                pthread_mutex_unlock(&sj->print_lock);
                worst(sj, CLI_EXIT_INTERNAL);
            }
        }
        rg_free(pids);
    }
    rg_renderer_free(r0);
    if (sj->progress)
        fputs("\r\033[K", stderr);
    code = atomic_load(&sj->worst);
    if (n > 1)
        fprintf(stderr, "rendered %zu of %zu files into %s%s\n", atomic_load(&sj->ok), n,
                j.outdir, code == CLI_EXIT_OK ? "" : " (with errors, see above)");
    pthread_mutex_destroy(&sj->print_lock);
    munmap(sj, sizeof *sj);
    rg_free(inputs);
    return code;
}
