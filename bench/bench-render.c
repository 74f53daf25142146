/* bench-render: how fast the renderer turns a JSON Resume into a PDF, in this process.
 *
 * For every input file and theme it measures
 *   - warm ms/doc in one thread: the input is read once, then each iteration is
 *     rg_resume_load() + rg_render_pdf() into a reused buffer; after `warmup` untimed
 *     iterations, `iterations` timed ones give the median and p95 of wall time, and the
 *     median of the thread's CPU time (which shows whether a slow figure comes from the
 *     renderer or from other processes competing for the cores);
 *   - docs/s with 1, 2, ... worker processes, one struct rg_renderer each (processes, not
 *     threads: cairo 1.16 is not safe with renderers in several threads): every process
 *     builds and warms its renderer, then all start together and each renders the same
 *     number of documents; docs/s = all documents / wall time from the start to the last
 *     result, with the CPU time the processes spent per document;
 *   - peak RSS (getrusage ru_maxrss) of this process after the single-renderer phase.
 *
 * The cold `resumego render` process and the peers (wkhtmltopdf, Chromium) are measured
 * by bench/bench-render.sh, which runs this program first.
 *
 * Output: a table on stdout; with --tsv FILE also tab-separated records for scripts:
 *   warm <file> <theme> <median_ms> <p95_ms> <pages> <bytes> <median_cpu_ms>
 *   tput <file> <theme> <processes> <docs_per_s> <cpu_ms_per_doc>
 *   rss  <phase> <kb>
 * Exit status: 0, 1 when a render fails, 2 on usage errors. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rg/buf.h"
#include "rg/err.h"
#include "rg/mem.h"
#include "rg/render.h"

#define BENCH_PDF_MAX (64u * 1024 * 1024)
#define BENCH_MAX_THREADS 64
#define BENCH_MAX_THEMES 32

struct input {
    const char *path;
    char *name;     /* basename without .json, for the table */
    char *base_dir; /* for relative image paths */
    struct rg_buf src;
};

struct config {
    const char *data_dir;
    int iterations, warmup;
    int threads[BENCH_MAX_THREADS];
    int nthreads;
    double tput_seconds; /* aimed-for length of one throughput run */
    char *themes[BENCH_MAX_THEMES];
    int nthemes;
    FILE *tsv;
};

/* One throughput run, shared (read-only after fork) by the worker processes. */
struct tput_run {
    const struct config *cfg;
    const struct input *in;
    const char *theme;
    int docs_per_proc;
    int ready[2], go[2], result[2]; /* pipes: child ready, parent go, child result */
};

/* What a worker process reports through the result pipe. */
struct tput_result {
    double cpu_ms;
    int failed;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of the calling thread: unlike wall time, hardly inflated when other processes
 * compete for the cores. */
static double thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss; /* kilobytes on Linux */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array (p in 0..100). */
static double percentile(const double *sorted, int n, double p)
{
    int rank = (int)((p / 100.0) * n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* Counts page objects in a PDF written by cairo ("/Type /Page" not followed by 's'). */
static int count_pages(const struct rg_buf *pdf)
{
    static const char needle[] = "/Type /Page";
    const size_t nl = sizeof needle - 1;
    int pages = 0;
    for (size_t i = 0; i + nl < pdf->len; i++) {
        if (memcmp(pdf->ptr + i, needle, nl) == 0 && pdf->ptr[i + nl] != 's')
            pages++;
    }
    return pages;
}

/* Loads and renders one document into out (reset first).  Returns 0 or a negative error
 * with ei filled. */
static int render_once(struct rg_renderer *r, const struct input *in, const char *theme,
                       struct rg_buf *out, struct rg_errinfo *ei)
{
    struct rg_diags diags = {0};
    json_t *doc = NULL;
    struct rg_render_opts opts = {
        .theme = theme,
        .paper = "a4",
        .locale = NULL,
        .base_dir = in->base_dir,
        .source_date = 0, /* fixed: no clock or environment lookup inside the loop */
    };
    int err;

    rg_buf_reset(out);
    err = rg_resume_load(in->src.ptr, in->src.len, 0, &doc, &diags, ei);
    if (err < 0)
        goto out;
    err = rg_render_pdf(r, doc, &opts, out, &diags, ei);
out:
    json_decref(doc);
    rg_diags_done(&diags);
    return err;
}

static void report_failure(const struct input *in, const char *theme, int err,
                           const struct rg_errinfo *ei)
{
    fprintf(stderr, "bench-render: %s [%s]: %s%s%s\n", in->path, theme, rg_strerror(err),
            ei->msg[0] ? ": " : "", ei->msg);
}

/* The timed loop of measure_warm(), kept out of line so that a profiler can select exactly
 * the warm renders: valgrind --tool=callgrind --toggle-collect=timed_iterations. */
__attribute__((noinline)) static int timed_iterations(struct rg_renderer *r, int n,
                                                      const struct input *in, const char *theme,
                                                      struct rg_buf *out, double *t, double *cpu,
                                                      struct rg_errinfo *ei)
{
    for (int i = 0; i < n; i++) {
        double c0 = thread_cpu_ms(), t0 = now_ms();
        int err = render_once(r, in, theme, out, ei);
        t[i] = now_ms() - t0;
        cpu[i] = thread_cpu_ms() - c0;
        if (err < 0)
            return err;
    }
    return 0;
}

/* Single-threaded warm latency.  Stores median and p95 wall ms, median CPU ms, pages and
 * PDF size. */
static int measure_warm(struct rg_renderer *r, const struct config *cfg, const struct input *in,
                        const char *theme, double *ret_median, double *ret_p95, double *ret_cpu,
                        int *ret_pages, size_t *ret_bytes)
{
    struct rg_errinfo ei = {.msg = ""};
    struct rg_buf out;
    double *t = rg_calloc((size_t)cfg->iterations, sizeof *t);
    double *cpu = rg_calloc((size_t)cfg->iterations, sizeof *cpu);
    int err = 0;

    rg_buf_init(&out, BENCH_PDF_MAX);
    for (int i = 0; i < cfg->warmup; i++) {
        err = render_once(r, in, theme, &out, &ei);
        if (err < 0)
            goto out;
    }
    err = timed_iterations(r, cfg->iterations, in, theme, &out, t, cpu, &ei);
    if (err < 0)
        goto out;
    qsort(t, (size_t)cfg->iterations, sizeof *t, cmp_double);
    *ret_median = percentile(t, cfg->iterations, 50);
    *ret_p95 = percentile(t, cfg->iterations, 95);
    qsort(cpu, (size_t)cfg->iterations, sizeof *cpu, cmp_double);
    *ret_cpu = percentile(cpu, cfg->iterations, 50);
    *ret_pages = count_pages(&out);
    *ret_bytes = out.len;
out:
    if (err < 0)
        report_failure(in, theme, err, &ei);
    rg_buf_done(&out);
    rg_free(t);
    rg_free(cpu);
    return err;
}

/* A worker process: builds and warms its own renderer, says it is ready, waits for the
 * start, renders docs_per_proc documents and reports its CPU time.  Processes, not
 * threads: cairo 1.16 is not safe with renderers in several threads (see render.h). */
static void tput_worker(struct tput_run *run)
{
    struct rg_errinfo ei = {.msg = ""};
    struct rg_buf out;
    struct rg_renderer *r = rg_renderer_new(run->cfg->data_dir, &ei);
    struct tput_result res = {0, 0};
    int err = 0;
    char c = 0;

    rg_buf_init(&out, BENCH_PDF_MAX);
    if (!r)
        err = RG_ERENDER;
    for (int i = 0; i < 2 && err >= 0; i++) /* warm: fonts, theme */
        err = render_once(r, run->in, run->theme, &out, &ei);
    (void)!write(run->ready[1], &c, 1);
    (void)!read(run->go[0], &c, 1);
    double c0 = thread_cpu_ms();
    for (int i = 0; i < run->docs_per_proc && err >= 0; i++)
        err = render_once(r, run->in, run->theme, &out, &ei);
    res.cpu_ms = thread_cpu_ms() - c0;
    if (err < 0) {
        report_failure(run->in, run->theme, err, &ei);
        res.failed = 1;
    }
    (void)!write(run->result[1], &res, sizeof res);
    rg_buf_done(&out);
    rg_renderer_free(r);
}

/* Throughput with `procs` worker processes, each with its own renderer. */
static int measure_tput(const struct config *cfg, const struct input *in, const char *theme,
                        int procs, double median_ms, double *ret_docs_per_s,
                        double *ret_cpu_ms_per_doc)
{
    struct tput_run run = {.cfg = cfg, .in = in, .theme = theme};
    pid_t pids[BENCH_MAX_THREADS];
    double t0, elapsed, cpu = 0;
    int failed = 0;
    char c = 0;

    /* Enough documents per process for about tput_seconds if they scaled perfectly (so a
     * run is never shorter than that), and at least 20. */
    run.docs_per_proc = (int)(cfg->tput_seconds * 1000.0 / (median_ms > 0.1 ? median_ms : 0.1));
    if (run.docs_per_proc < 20)
        run.docs_per_proc = 20;
    if (pipe(run.ready) < 0 || pipe(run.go) < 0 || pipe(run.result) < 0) {
        perror("bench-render: pipe");
        return RG_ERENDER;
    }
    fflush(NULL);
    for (int i = 0; i < procs; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("bench-render: fork");
            abort(); /* the others would wait for ever */
        }
        if (pids[i] == 0) {
            tput_worker(&run);
            _exit(0);
        }
    }
    for (int i = 0; i < procs; i++)
        (void)!read(run.ready[0], &c, 1);
    t0 = now_ms();
    for (int i = 0; i < procs; i++)
        (void)!write(run.go[1], &c, 1);
    for (int i = 0; i < procs; i++) {
        struct tput_result res;
        if (read(run.result[0], &res, sizeof res) != (ssize_t)sizeof res) {
            failed = 1;
            continue;
        }
        cpu += res.cpu_ms;
        failed |= res.failed;
    }
    elapsed = now_ms() - t0;
    for (int i = 0; i < procs; i++)
        (void)waitpid(pids[i], NULL, 0);
    for (int k = 0; k < 2; k++) {
        close(run.ready[k]);
        close(run.go[k]);
        close(run.result[k]);
    }
    if (failed)
        return RG_ERENDER;
    *ret_docs_per_s = (double)procs * run.docs_per_proc / (elapsed / 1000.0);
    *ret_cpu_ms_per_doc = cpu / ((double)procs * run.docs_per_proc);
    return 0;
}

/* Splits a comma-separated list in place. Returns the number of items or -1. */
static int split_list(char *s, char **items, int max)
{
    int n = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (n == max)
            return -1;
        items[n++] = tok;
    }
    return n;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench-render [options] RESUME.json...\n"
               "  -n, --iterations N   timed single-thread iterations per file and theme (60)\n"
               "  -w, --warmup N       untimed iterations before them (5)\n"
               "  -t, --threads LIST   worker process counts for docs/s, comma-separated (1,2); 0 = none\n"
               "  -s, --seconds S      aimed-for length of one docs/s run (2)\n"
               "  -T, --themes LIST    themes, comma-separated, or 'all' (all)\n"
               "  -d, --data DIR       data directory (default: RG_DATA_DIR or built-in)\n"
               "      --tsv FILE       also write tab-separated results to FILE\n");
}

static int parse_args(int argc, char **argv, struct config *cfg, char **ret_themes)
{
    static const struct option longopts[] = {
        {"iterations", required_argument, NULL, 'n'},
        {"warmup", required_argument, NULL, 'w'},
        {"threads", required_argument, NULL, 't'},
        {"seconds", required_argument, NULL, 's'},
        {"themes", required_argument, NULL, 'T'},
        {"data", required_argument, NULL, 'd'},
        {"tsv", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static char default_threads[] = "1,2";
    char *threads = default_threads;
    char *tv[BENCH_MAX_THREADS];
    int c;

    cfg->iterations = 60;
    cfg->warmup = 5;
    cfg->tput_seconds = 2.0;
    *ret_themes = NULL;
    while ((c = getopt_long(argc, argv, "n:w:t:s:T:d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            cfg->iterations = atoi(optarg);
            break;
        case 'w':
            cfg->warmup = atoi(optarg);
            break;
        case 't':
            threads = optarg;
            break;
        case 's':
            cfg->tput_seconds = atof(optarg);
            break;
        case 'T':
            *ret_themes = strcmp(optarg, "all") == 0 ? NULL : optarg;
            break;
        case 'd':
            cfg->data_dir = optarg;
            break;
        case 'v':
            cfg->tsv = fopen(optarg, "w");
            if (!cfg->tsv) {
                fprintf(stderr, "bench-render: %s: %s\n", optarg, strerror(errno));
                return -1;
            }
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    cfg->nthreads = split_list(threads, tv, BENCH_MAX_THREADS);
    for (int i = 0; i < cfg->nthreads; i++) {
        cfg->threads[i] = atoi(tv[i]);
        if (cfg->threads[i] < 0 || cfg->threads[i] > BENCH_MAX_THREADS)
            cfg->nthreads = -1;
    }
    if (cfg->iterations < 1 || cfg->warmup < 0 || cfg->nthreads < 1 || cfg->tput_seconds <= 0 ||
        optind >= argc) {
        usage(stderr);
        return -1;
    }
    return optind;
}

/* Fills cfg->themes from the list given, or from every theme the renderer knows. */
static int pick_themes(struct config *cfg, struct rg_renderer *r, char *list)
{
    if (list) {
        cfg->nthemes = split_list(list, cfg->themes, BENCH_MAX_THEMES);
        for (int i = 0; i < cfg->nthemes; i++)
            cfg->themes[i] = rg_strdup(cfg->themes[i]);
        return cfg->nthemes > 0 ? 0 : -1;
    }
    json_t *all = rg_render_themes(r);
    json_t *items = json_object_get(all, "items");
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *name = json_string_value(json_object_get(it, "name"));
        if (name && cfg->nthemes < BENCH_MAX_THEMES)
            cfg->themes[cfg->nthemes++] = rg_strdup(name);
    }
    json_decref(all);
    return cfg->nthemes > 0 ? 0 : -1;
}

static int load_input(struct input *in, const char *path)
{
    char *copy = rg_strdup(path);
    const char *base = basename(copy);
    size_t n = strlen(base);
    int err;

    if (n > 5 && strcmp(base + n - 5, ".json") == 0)
        n -= 5;
    in->path = path;
    in->name = rg_strndup(base, n);
    rg_free(copy);
    copy = rg_strdup(path);
    in->base_dir = rg_strdup(dirname(copy));
    rg_free(copy);
    rg_buf_init(&in->src, RG_RESUME_MAX_BYTES);
    err = rg_buf_read_file(&in->src, path);
    if (err < 0)
        fprintf(stderr, "bench-render: %s: %s\n", path, rg_strerror(err));
    return err;
}

static void input_done(struct input *in)
{
    in->name = rg_free(in->name);
    in->base_dir = rg_free(in->base_dir);
    rg_buf_done(&in->src);
}

int main(int argc, char **argv)
{
    struct config cfg = {0};
    struct rg_errinfo ei = {.msg = ""};
    struct rg_renderer *r = NULL;
    struct input *inputs = NULL;
    double *median = NULL, *p95 = NULL, *cpu = NULL, *dps = NULL, *dcpu = NULL;
    int *pages = NULL;
    size_t *bytes = NULL;
    char *theme_list;
    int first, ninputs, ncell, code = 1;
    long rss_single = -1, rss_threads = -1, rss_start = -1;

    first = parse_args(argc, argv, &cfg, &theme_list);
    if (first < 0)
        return 2;
    ninputs = argc - first;
    inputs = rg_calloc((size_t)ninputs, sizeof *inputs);
    for (int i = 0; i < ninputs; i++) {
        if (load_input(&inputs[i], argv[first + i]) < 0)
            goto out;
    }

    r = rg_renderer_new(cfg.data_dir, &ei);
    if (!r) {
        fprintf(stderr, "bench-render: %s\n", ei.msg);
        goto out;
    }
    rss_start = peak_rss_kb();
    if (pick_themes(&cfg, r, theme_list) < 0) {
        fprintf(stderr, "bench-render: no themes\n");
        goto out;
    }
    ncell = ninputs * cfg.nthemes;
    median = rg_calloc((size_t)ncell, sizeof *median);
    p95 = rg_calloc((size_t)ncell, sizeof *p95);
    cpu = rg_calloc((size_t)ncell, sizeof *cpu);
    pages = rg_calloc((size_t)ncell, sizeof *pages);
    bytes = rg_calloc((size_t)ncell, sizeof *bytes);
    dps = rg_calloc((size_t)ncell * (size_t)cfg.nthreads, sizeof *dps);
    dcpu = rg_calloc((size_t)ncell * (size_t)cfg.nthreads, sizeof *dcpu);

    fprintf(stderr, "bench-render: single-threaded, %d iterations after %d warm-up...\n",
            cfg.iterations, cfg.warmup);
    for (int f = 0; f < ninputs; f++) {
        for (int t = 0; t < cfg.nthemes; t++) {
            int k = f * cfg.nthemes + t;
            if (measure_warm(r, &cfg, &inputs[f], cfg.themes[t], &median[k], &p95[k], &cpu[k],
                             &pages[k], &bytes[k]) < 0)
                goto out;
        }
    }
    rss_single = peak_rss_kb();

    fprintf(stderr, "bench-render: docs/s, about %.1f s per run...\n", cfg.tput_seconds);
    for (int f = 0; f < ninputs; f++) {
        for (int t = 0; t < cfg.nthemes; t++) {
            int k = f * cfg.nthemes + t;
            for (int n = 0; n < cfg.nthreads; n++) {
                if (cfg.threads[n] == 0)
                    continue;
                if (measure_tput(&cfg, &inputs[f], cfg.themes[t], cfg.threads[n], median[k],
                                 &dps[k * cfg.nthreads + n], &dcpu[k * cfg.nthreads + n]) < 0)
                    goto out;
            }
        }
    }
    rss_threads = peak_rss_kb();

    printf("render benchmark: load+render per doc (input read once), A4, %d timed iterations "
           "after %d warm-up; %ld CPUs online\n",
           cfg.iterations, cfg.warmup, sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-16s %-9s %5s %7s %10s %8s %7s", "file", "theme", "pages", "PDF KB", "median ms",
           "p95 ms", "CPU ms");
    for (int n = 0; n < cfg.nthreads; n++) {
        if (cfg.threads[n] > 0)
            printf("  docs/s %2dT  CPU ms/doc", cfg.threads[n]);
    }
    printf("\n");
    for (int f = 0; f < ninputs; f++) {
        for (int t = 0; t < cfg.nthemes; t++) {
            int k = f * cfg.nthemes + t;
            printf("%-16s %-9s %5d %7.1f %10.2f %8.2f %7.2f", inputs[f].name, cfg.themes[t],
                   pages[k], (double)bytes[k] / 1024.0, median[k], p95[k], cpu[k]);
            if (cfg.tsv)
                fprintf(cfg.tsv, "warm\t%s\t%s\t%.3f\t%.3f\t%d\t%zu\t%.3f\n", inputs[f].name,
                        cfg.themes[t], median[k], p95[k], pages[k], bytes[k], cpu[k]);
            for (int n = 0; n < cfg.nthreads; n++) {
                double v = dps[k * cfg.nthreads + n];
                if (cfg.threads[n] == 0)
                    continue;
                double vc = dcpu[k * cfg.nthreads + n];
                printf("  %11.1f %11.2f", v, vc);
                if (cfg.tsv)
                    fprintf(cfg.tsv, "tput\t%s\t%s\t%d\t%.2f\t%.3f\n", inputs[f].name,
                            cfg.themes[t], cfg.threads[n], v, vc);
            }
            printf("\n");
        }
    }
    printf("peak RSS (ru_maxrss): %.1f MB after creating one renderer, %.1f MB after the "
           "single-renderer runs (every file and theme); each worker process of the docs/s "
           "runs holds one renderer of its own\n",
           rss_start / 1024.0, rss_single / 1024.0);
    if (cfg.tsv) {
        fprintf(cfg.tsv, "rss\tstart\t%ld\n", rss_start);
        fprintf(cfg.tsv, "rss\tsingle\t%ld\n", rss_single);
        fprintf(cfg.tsv, "rss\tthreads\t%ld\n", rss_threads);
    }
    code = 0;
out:
    if (cfg.tsv && fclose(cfg.tsv) != 0)
        code = 1;
    for (int i = 0; i < cfg.nthemes; i++)
        rg_free(cfg.themes[i]);
    for (int i = 0; i < ninputs; i++)
        input_done(&inputs[i]);
    rg_free(inputs);
    rg_free(median);
    rg_free(p95);
    rg_free(cpu);
    rg_free(dcpu);
    rg_free(pages);
    rg_free(bytes);
    rg_free(dps);
    rg_renderer_free(r);
    return code;
}
