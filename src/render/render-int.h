/* Internals shared by the layout and PDF files of the renderer.  Not installed. */
#ifndef RENDER_INT_H
#define RENDER_INT_H

#include <cairo.h>
#include <jansson.h>
#include <pango/pangocairo.h>
#include <fontconfig/fontconfig.h>
#include <pthread.h>

#include "rg/buf.h"
#include "rg/render.h"

#define RENDER_MAX_SECTIONS 16
#define RENDER_MAX_THEMES 64

/* ---- themes (data/themes/<name>.json) ----------------------------------------------- */

struct render_rgb {
    double r, g, b;
    int set; /* 0 = transparent / not given */
};

enum render_align { RENDER_ALIGN_START, RENDER_ALIGN_CENTER };
enum render_rule { RENDER_RULE_NONE, RENDER_RULE_BELOW, RENDER_RULE_BAR };

struct render_theme {
    char *name, *description;
    char *font_body, *font_heading, *font_name;
    double size_name, size_label, size_heading, size_title, size_body, size_small;
    struct render_rgb c_text, c_muted, c_accent, c_rule, c_sidebar_bg, c_sidebar_text,
        c_header_bg, c_header_text;
    double m_top, m_bottom, m_left, m_right;
    double sp_section, sp_entry, sp_heading, sp_para, line;
    enum render_align header_align;
    int photo; /* 0 none, 1 beside the name */
    double photo_size;
    int heading_upper;
    double heading_tracking; /* letter spacing in points */
    enum render_rule heading_rule;
    int heading_bold, name_bold, title_bold;
    int columns;      /* 1 or 2 */
    int sidebar_left; /* sidebar side for an LTR document; mirrored for RTL */
    double sidebar_width, gap, sidebar_pad;
    int header_band; /* name block over a coloured band spanning the page */
    char *sections[RENDER_MAX_SECTIONS];
    size_t nsections;
    char *sidebar_sections[RENDER_MAX_SECTIONS];
    size_t nsidebar;
    char *bullet;
    char *contact_sep;
};

/* Loads and checks one theme file; returns 0 or RG_ETHEME with ei naming the field. */
int render_theme_load(const char *path, struct render_theme **ret, struct rg_errinfo *ei);
struct render_theme *render_theme_free(struct render_theme *t);

/* ---- locales (data/locales/<tag>.json) ---------------------------------------------- */

struct render_locale {
    char *tag;        /* e.g. "de" */
    char *lang;       /* pango language tag: drives CJK glyph forms */
    int rtl;          /* the language is written right to left */
    char *months[12]; /* short month names */
    char *present, *page_fmt, *range_sep;
    char *comma;    /* list separator: ", " or "、" */
    char *date_fmt; /* "{mon} {year}", "{year}年{month}月" ... */
    json_t *headings; /* object: section key -> heading */
    json_t *labels;   /* object: small words ("GPA", "Courses", ...) */
};

int render_locale_load(const char *path, struct render_locale **ret, struct rg_errinfo *ei);
struct render_locale *render_locale_free(struct render_locale *l);
/* Borrowed heading for section key, falling back to the key itself. */
const char *render_locale_heading(const struct render_locale *l, const char *key);
const char *render_locale_label(const struct render_locale *l, const char *key, const char *def);
/* Appends "Mar 2020 – Present" style text for the given dates (either may be NULL).
 * ongoing: an absent end date means "present" (work-like entries); otherwise a lone
 * start date prints alone. */
void render_locale_range(const struct render_locale *l, struct rg_buf *b, const char *start,
                         const char *end, int ongoing);
/* Appends one date in the locale's form; text that is not a date is appended as written. */
void render_locale_date(const struct render_locale *l, struct rg_buf *b, const char *date);

/* ---- fonts ---------------------------------------------------------------------------- */

/* Fonts tried, in order, for characters the theme's font lacks.  Named rather than left
 * to fontconfig's general fallback so that every machine with the project's font
 * packages draws the same glyphs: Noto Sans Arabic keeps Arabic words whole for text
 * extraction (fonts with cursive attachment split them), Hebrew and symbols come from
 * Noto.  CJK is left out on purpose: the renderer's own fontconfig rules (render.c)
 * append the CJK face that the document's language asks for (that decides the glyph
 * forms: SC, TC, JP, KR).  Emoji clusters are drawn in colour by render-emoji.c; Symbola,
 * an outline font, draws the emoji-like symbols that are text by default (and carries the
 * colour emoji's text). */
#define FALLBACK_FAMILIES                                                                          \
    "Noto Sans, Noto Sans Arabic, Noto Sans Hebrew, Noto Sans Symbols, Noto Sans Symbols2, "       \
    "Noto Sans Math, DejaVu Sans, Symbola"

/* Scripts found by fontconfig's coverage fallback (admitted, not named in every font
 * description, so that documents without them pay nothing). */
#define SCRIPT_FAMILIES                                                                            \
    "Noto Sans Thai, Noto Sans Devanagari, Noto Sans Bengali, Noto Sans Tamil, "                   \
    "Noto Sans Telugu, Noto Sans Kannada, Noto Sans Malayalam, Noto Sans Gujarati, "               \
    "Noto Sans Gurmukhi, Noto Sans Oriya, Noto Sans Sinhala, Noto Sans Khmer, Noto Sans Lao, "     \
    "Noto Sans Myanmar, Noto Sans Georgian, Noto Sans Armenian, Noto Sans Ethiopic, "              \
    "Noto Serif Tibetan, Noto Sans Mongolian, Noto Sans Syriac, Noto Sans Thaana, "                \
    "Noto Sans Tifinagh, Noto Sans Cherokee"

/* ---- the renderer ------------------------------------------------------------------- */

struct render_emoji; /* render-emoji.c */

struct rg_renderer {
    char *data_dir;
    struct render_emoji *emoji; /* colour emoji fonts, opened at the first emoji */
    int emoji_failed;           /* no colour emoji font: emoji stay with the fallback fonts */
    PangoFontMap *fontmap;
    FcConfig *fc; /* the renderer's own font configuration (render.c) */
    PangoContext *pango;
    struct render_theme *themes[RENDER_MAX_THEMES];
    size_t nthemes;
    struct render_locale *locales[64];
    size_t nlocales;
};

const struct render_theme *render_theme_find(const struct rg_renderer *r, const char *name);
const struct render_locale *render_locale_find(const struct rg_renderer *r, const char *tag);

/* ---- colour emoji (render-emoji.c) ---------------------------------------------------- */

/* Adds a shape attribute to al for every emoji cluster of text (laid out at size points)
 * that the colour emoji font draws; returns how many. */
int render_emoji_attrs(struct rg_renderer *r, const char *text, double size, PangoAttrList *al);
/* The pango shape renderer that draws them (set on every layout context). */
void render_emoji_draw(cairo_t *cr, PangoAttrShape *attr, gboolean do_path, gpointer data);
void render_emoji_free(struct render_emoji *em);

/* ---- images ------------------------------------------------------------------------- */

/* Loads basics.image: a data: URI or a path relative to base_dir (PNG, JPEG, WebP).
 * JPEG keeps its original bytes for embedding when small enough.  Returns 0 with a new
 * surface, or a negative error with a warning added to diags (the caller draws no photo). */
int render_image_load(const char *src, const char *base_dir, cairo_surface_t **ret,
                      struct rg_diags *diags);

/* ---- display list ------------------------------------------------------------------- */

enum render_op_kind { OP_TEXT, OP_RECT, OP_LINE, OP_LINK, OP_IMAGE, OP_DEST };

struct render_op {
    enum render_op_kind kind;
    double x, y, w, h; /* page coordinates, points, origin top-left, before RTL mirroring */
    struct render_rgb color;
    PangoLayout *layout; /* OP_TEXT: owned by the document (one reference) */
    int line;            /* OP_TEXT: index of the line to draw; -1 = whole layout */
    double baseline;     /* OP_TEXT: baseline y of that line */
    /* OP_TEXT of a line the renderer broke itself (render-layout.c, wrap_lines): the
     * glyph runs to draw instead of `line`, cut from the layout's unwrapped line, each
     * positioned by its glyphs' x offsets from the line start.  Owned by the op. */
    PangoGlyphItem **pieces;
    int npieces;
    char *uri;           /* OP_LINK */
    char *name;          /* OP_DEST: outline title */
    cairo_surface_t *image;
    double width; /* OP_LINE stroke width */
};

struct render_page {
    struct render_op *ops;
    size_t n, cap;
};

struct render_doc {
    double page_w, page_h;
    struct render_page *pages;
    size_t npages;
    int rtl;
};

void render_doc_done(struct render_doc *d);
struct render_op *render_page_push(struct render_page *p, enum render_op_kind kind);

struct render_ctx; /* layout state, render-layout.c */

/* One line of a paragraph broken by render_wrap_breaks(). */
struct render_wline {
    int uline;       /* line of the unwrapped layout (a paragraph) */
    int start, end;  /* byte range of the text */
    int last;        /* the paragraph's last line */
    int trail_white; /* a wrapped line ending in white space */
    int last_adv;    /* a wrapped line: its last glyph's advance when shaped alone */
};

/* Breaks the unwrapped (no width set) layout l into lines `width` points wide, as pango
 * 1.50 would with PANGO_WRAP_WORD_CHAR, from l's one shaping (render-layout.c explains
 * why).  Returns the number of lines and stores their ranges in *ret (caller frees with
 * rg_free), or -1 without touching *ret when l is not one this breaker handles (right to
 * left, tabs, runs of different line heights, a break it cannot measure ...). */
int render_wrap_breaks(PangoLayout *l, double width, struct render_wline **ret);

/* Lays the document out into pages (render-layout.c). */
int render_layout(struct rg_renderer *r, const json_t *doc, const struct render_theme *t,
                  const struct render_locale *loc, const struct rg_render_opts *opts,
                  struct render_doc *out, struct rg_diags *diags);

/* Writes the pages to a PDF with links, outline and metadata (render-pdf.c). */
int render_pdf_write(const struct render_doc *d, const json_t *doc, const char *lang,
                     int64_t source_date, struct rg_buf *out, struct rg_errinfo *ei);

/* Writes the pages as one PNG, `width` pixels wide, stacked top to bottom with `gap`
 * grey rows between them (render-pdf.c), as many pages as fit in
 * RENDER_PNG_MAX_PIXELS and in RENDER_PNG_MAX_HEIGHT rows, cairo's largest image surface
 * (*ndrawn says how many).  The same display list as the PDF, so a preview shows what
 * the PDF will. */
#define RENDER_PNG_MAX_PIXELS (24 * 1000 * 1000)
#define RENDER_PNG_MAX_HEIGHT 32767
int render_png_write(const struct render_doc *d, int width, int gap, struct rg_buf *out,
                     int *ndrawn, struct rg_errinfo *ei);

#endif
