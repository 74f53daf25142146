/* The renderer: JSON Resume (+ theme, paper, locale) -> PDF.
 *
 * It is a library first: the CLI, the pdf worker, rg-core (for loading resume bodies) and
 * the tests call these functions.  Nothing here logs; problems with the input are
 * reported as diagnostics with a JSON pointer, failures as negative RG_E* codes. */
#ifndef RG_RENDER_H
#define RG_RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rg/buf.h"
#include "rg/err.h"

/* Inputs larger than this are refused with RG_ETOOBIG (the largest real resume we have
 * seen is 44 KB; 2 MiB leaves room for an inline data: photo). */
#define RG_RESUME_MAX_BYTES (2u * 1024 * 1024)
/* Objects and arrays nested deeper than this are refused (RG_EINPUT): the pdf workers read
 * a resume inside a task message, under jansson's limit of 2048 levels. */
#define RG_RESUME_MAX_DEPTH 1000

/* ---- diagnostics ------------------------------------------------------------------- */

enum rg_diag_level { RG_DIAG_WARN = 0, RG_DIAG_ERROR = 1 };

struct rg_diag {
    enum rg_diag_level level;
    char *pointer; /* RFC 6901 JSON pointer into the input ("" = the whole document) */
    char *message; /* e.g. `"2019-02-30" is not a date` */
};

struct rg_diags {
    struct rg_diag *v;
    size_t n, cap;
};

/* Appends one diagnostic (copies pointer and the formatted message). */
void rg_diags_add(struct rg_diags *d, enum rg_diag_level level, const char *pointer,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Number of diagnostics at `level`. */
size_t rg_diags_count(const struct rg_diags *d, enum rg_diag_level level);
/* Frees every diagnostic; d is empty and reusable afterwards. */
void rg_diags_done(struct rg_diags *d);

/* ---- loading ------------------------------------------------------------------------ */

enum {
    /* Reject (RG_EINPUT) whenever the official JSON Resume v1.0.0 schema would; every
     * schema violation is then an RG_DIAG_ERROR. */
    RG_LOAD_STRICT = 1u << 0,
};

/* Parses and normalises a resume.
 *
 * Generous by default: legacy keys are mapped to their v1.0.0 names (`website`->`url`,
 * `company`->`name`, `picture`->`image`, `gpa`->`score`, top-level `experience`->`work`,
 * ...) with a warning, the v1 key winning when both exist; values of the wrong type are
 * dropped with a warning; unknown keys are kept as they are.  Dates are checked (YYYY,
 * YYYY-MM, YYYY-MM-DD that exist in the calendar); other text is kept with a warning.
 *
 * Returns 0 and stores the normalised document in *ret_doc (a new reference), with
 * warnings appended to diags (also for a key written twice in one object: the last value
 * is kept).  Fails with RG_ETOOBIG (len > RG_RESUME_MAX_BYTES),
 * RG_EUTF8 (ei->offset = first bad byte), RG_EJSON (ei->line/column), RG_EINPUT (the
 * top level is not an object, nesting deeper than RG_RESUME_MAX_DEPTH, or STRICT and the
 * schema rejects; diags say why).
 * *ret_doc is untouched on failure. */
int rg_resume_load(const char *buf, size_t len, unsigned flags, json_t **ret_doc,
                   struct rg_diags *diags, struct rg_errinfo *ei);

/* rg_resume_load, and on success *ret_changed says whether normalising modified the
 * document (a value trimmed, converted, renamed or removed; a warning alone does not).
 * When it is 0, the document is what buf says (after a UTF-8 byte order mark): buf's own
 * bytes may be stored in its place, saving the write-out (rg-core does). */
int rg_resume_load_changed(const char *buf, size_t len, unsigned flags, json_t **ret_doc,
                           int *ret_changed, struct rg_diags *diags, struct rg_errinfo *ei);

/* Validates doc against the official JSON Resume v1.0.0 schema (draft-04, formats
 * `email`, `uri`, `date` checked), appending one RG_DIAG_ERROR per violation.  Returns
 * the number of violations. */
int rg_resume_validate_schema(const json_t *doc, struct rg_diags *diags);

/* Checks a date string against the schema's iso8601 pattern (and the calendar when
 * calendar is non-zero). Returns 1 when valid. */
int rg_date_valid(const char *s, int calendar);

/* ---- rendering ---------------------------------------------------------------------- */

struct rg_render_opts {
    const char *theme;    /* NULL = "classic" */
    const char *paper;    /* "a4" (default) or "letter", any case */
    const char *locale;   /* BCP 47 tag; NULL = meta/basics hint, else "en" */
    const char *base_dir; /* where relative image paths are resolved; NULL = no local files */
    int64_t source_date;  /* creation date written into the PDF (Unix time); -1 = now, or
                           * SOURCE_DATE_EPOCH when set */
};

struct rg_renderer;

/* A renderer owns fonts, themes and locales.  Use one per process for concurrent
 * rendering: cairo 1.16 shares its font caches between threads and is not safe there
 * (glyph extents race, crashes under load), so `resumego render --jobs N` and the pdf
 * workers run N processes.  Making a renderer starts no thread; the first render does.  data_dir is where
 * themes/, locales/ and schema/ live (NULL = RG_DATA_DIR from the environment, else the
 * build-time default).  Returns NULL with ei filled when the data cannot be read. */
struct rg_renderer *rg_renderer_new(const char *data_dir, struct rg_errinfo *ei);
struct rg_renderer *rg_renderer_free(struct rg_renderer *r);

/* Renders a normalised document (from rg_resume_load) into out (appended).  Problems
 * that do not stop rendering (an image that cannot be loaded, a remote image URL) are
 * added to diags as warnings.  Returns 0, RG_ETHEME (unknown theme, ei says which
 * exist), -EINVAL (bad paper/locale), RG_ETOOBIG (out's cap), or RG_ERENDER. */
int rg_render_pdf(struct rg_renderer *r, const json_t *doc, const struct rg_render_opts *opts,
                  struct rg_buf *out, struct rg_diags *diags, struct rg_errinfo *ei);

/* Renders doc as one PNG for a preview: the pages `width` pixels wide, top to bottom,
 * with `gap` grey rows between them, from the same layout as rg_render_pdf (no
 * links or outline: an image has none).  *npages is the document's page count, *ndrawn
 * how many of them the image holds (a pixel budget of about 24 megapixels bounds the
 * memory one call takes).  Returns 0, RG_ETHEME, -EINVAL (bad paper/locale/width),
 * RG_ETOOBIG or RG_ERENDER. */
#define RG_PNG_MIN_WIDTH 64
#define RG_PNG_MAX_WIDTH 2400
int rg_render_png(struct rg_renderer *r, const json_t *doc, const struct rg_render_opts *opts,
                  int width, int gap, struct rg_buf *out, int *npages, int *ndrawn,
                  struct rg_diags *diags, struct rg_errinfo *ei);

/* Checks the theme, paper and locale of opts without rendering: 0, RG_ETHEME or -EINVAL
 * with ei saying what exists.  For callers that validate a request before queueing it. */
int rg_render_check_opts(const struct rg_renderer *r, const struct rg_render_opts *opts,
                         struct rg_errinfo *ei);

/* Themes known to the renderer: {"items":[{"name","description"}]} sorted by name (the
 * shape of the API's /themes).  A new reference. */
json_t *rg_render_themes(struct rg_renderer *r);

/* Resolved data directory (borrowed, valid while r lives). */
const char *rg_renderer_data_dir(const struct rg_renderer *r);

#endif
