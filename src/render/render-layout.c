/* The layout engine: one resume + one theme -> pages of positioned drawing operations.
 *
 * Content is turned into a flow of unbreakable "items" per column (a heading, the title
 * row of an entry, one line of a paragraph, one bullet line ...).  Each item records its
 * height, the space before it (dropped at the top of a page) and whether it must stay
 * on the same page as the next one; that is how an entry header is never left alone at
 * the bottom of a page and paragraphs keep at least two lines together.  Items carry
 * their drawing operations relative to their own top-left corner; pagination copies them
 * onto pages.  A two-column theme has two independent flows (main and sidebar), so
 * neither column's text is ever interleaved with the other's.
 *
 * Direction: each paragraph takes its direction from its own text (first strong
 * character), alignment follows the document: an Arabic or Hebrew resume is laid out in
 * logical coordinates and mirrored at the end, so the sidebar, dates and bullets swap
 * sides while every glyph run keeps its own direction. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <fribidi.h>

#include "render-int.h"
#include "rg/json.h"
#include "rg/mem.h"
#include "rg/resume.h"

struct item {
    double h, before;
    int keep_next;
    size_t op0, nops;
};

struct column {
    struct item *items;
    size_t n, cap;
    double x, w; /* logical (start-side) x and width */
};

struct render_ctx {
    struct rg_renderer *r;
    const struct render_theme *t;
    const struct render_locale *loc;
    const json_t *doc;
    struct rg_diags *diags;
    PangoContext *pc_ltr, *pc_rtl;
    PangoLanguage *lang;
    int rtl, warned_glyphs;
    struct render_op *ops;
    size_t nops, capops;
    struct column main, side, *col;
    struct render_rgb text_color;
    double page_w, page_h, top, bottom;
    PangoFontDescription *fd_body, *fd_body_bold, *fd_italic, *fd_small, *fd_title, *fd_heading,
        *fd_name, *fd_label;
    cairo_surface_t *photo;
    double header_h, photo_w;
    PangoLayout *bullet_body, *bullet_small; /* shared by every bullet of a document */
};

/* FLAG_SELFWRAP: the caller breaks the lines itself with wrap_lines(). */
enum { FLAG_CENTER = 1, FLAG_UPPER = 2, FLAG_SELFWRAP = 4 };

/* ---- items and operations ----------------------------------------------------------- */

static struct item *item_new(struct render_ctx *c, double before, int keep_next)
{
    struct column *col = c->col;
    if (col->n == col->cap) {
        col->cap = col->cap ? col->cap * 2 : 64;
        col->items = rg_realloc(col->items, col->cap * sizeof *col->items);
    }
    struct item *it = &col->items[col->n++];
    it->h = 0;
    it->before = before;
    it->keep_next = keep_next;
    it->op0 = c->nops;
    it->nops = 0;
    return it;
}

static struct render_op *op_new(struct render_ctx *c, enum render_op_kind kind)
{
    if (c->nops == c->capops) {
        c->capops = c->capops ? c->capops * 2 : 256;
        c->ops = rg_realloc(c->ops, c->capops * sizeof *c->ops);
    }
    struct render_op *op = &c->ops[c->nops++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->line = -1;
    c->col->items[c->col->n - 1].nops++;
    return op;
}

static void op_release(struct render_op *op)
{
    if (op->layout)
        g_object_unref(op->layout);
    if (op->image)
        cairo_surface_destroy(op->image);
    for (int i = 0; i < op->npieces; i++)
        pango_glyph_item_free(op->pieces[i]);
    rg_free(op->pieces);
    rg_free(op->uri);
    rg_free(op->name);
}

/* ---- text --------------------------------------------------------------------------- */

static PangoFontDescription *font(const char *family, double size, PangoWeight w, PangoStyle s)
{
    PangoFontDescription *fd = pango_font_description_new();
    char *fams = rg_asprintf("%s, %s", family, FALLBACK_FAMILIES);
    pango_font_description_set_family(fd, fams);
    rg_free(fams);
    pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
    pango_font_description_set_weight(fd, w);
    pango_font_description_set_style(fd, s);
    return fd;
}

/* Direction of a paragraph: that of its first strong character (the Unicode bidi
 * algorithm's rule P2), NEUTRAL when it has none. */
static PangoDirection base_dir(const char *text)
{
    for (const char *p = text; p && *p; p = g_utf8_next_char(p)) {
        FriBidiCharType t = fribidi_get_bidi_type((FriBidiChar)g_utf8_get_char(p));
        if (FRIBIDI_IS_LETTER(t))
            return FRIBIDI_IS_RTL(t) ? PANGO_DIRECTION_RTL : PANGO_DIRECTION_LTR;
    }
    return PANGO_DIRECTION_NEUTRAL;
}

/* Pango's line breaker is quadratic in the length of a run with no break opportunity
 * (each line re-shapes the rest of the run), so 100 000 characters without a space take
 * seconds and 200 000 a minute.  Runs longer than LONG_RUN characters get a zero-width
 * space every BREAK_EVERY characters (never before a combining mark), which lets pango
 * break them in linear time; shorter tokens, URLs included, are untouched.  Returns a new
 * string, or NULL when text needs no change. */
#define LONG_RUN 300
#define BREAK_EVERY 60

static char *break_long_runs(const char *text)
{
    size_t run = 0, longest = 0;
    for (const char *p = text; *p; p = g_utf8_next_char(p)) {
        run = g_unichar_isspace(g_utf8_get_char(p)) ? 0 : run + 1;
        if (run > longest)
            longest = run;
    }
    if (longest <= LONG_RUN)
        return NULL;
    struct rg_buf b;
    rg_buf_init(&b, 4 * strlen(text) + 16);
    run = 0;
    for (const char *p = text; *p;) {
        const char *next = g_utf8_next_char(p);
        gunichar ch = g_utf8_get_char(p);
        run = g_unichar_isspace(ch) ? 0 : run + 1;
        (void)rg_buf_append(&b, p, (size_t)(next - p));
        if (run >= BREAK_EVERY && *next && !g_unichar_ismark(g_utf8_get_char(next)) &&
            !g_unichar_isspace(g_utf8_get_char(next))) {
            (void)rg_buf_puts(&b, "\xe2\x80\x8b"); /* U+200B ZERO WIDTH SPACE */
            run = 0;
        }
        p = next;
    }
    return rg_buf_take(&b, NULL);
}

/* In a right-to-left paragraph, "C++", "C#" or "F#" at the end of a phrase shows as
 * "++C": by the Unicode bidi algorithm the trailing symbols take the paragraph's
 * direction.  A LEFT-TO-RIGHT MARK after such symbols keeps them with their word, as a
 * careful author would type.  Returns a new string, or NULL when nothing changed. */
static char *mark_ltr_symbols(const char *text)
{
    struct rg_buf b;
    int changed = 0;
    rg_buf_init(&b, 2 * strlen(text) + 16);
    for (const char *p = text; *p;) {
        if (g_ascii_isalnum(*p) && (p[1] == '+' || p[1] == '#')) {
            const char *e = p + 1;
            while (*e == '+' || *e == '#')
                e++;
            (void)rg_buf_append(&b, p, (size_t)(e - p));
            if (!g_ascii_isalnum(*e)) {
                (void)rg_buf_puts(&b, "\xe2\x80\x8e"); /* U+200E LEFT-TO-RIGHT MARK */
                changed = 1;
            }
            p = e;
            continue;
        }
        (void)rg_buf_putc(&b, *p++);
    }
    if (!changed) {
        rg_buf_done(&b);
        return NULL;
    }
    return rg_buf_take(&b, NULL);
}

/* Pango 1.50 shapes a paragraph twice when a wrap width is set, even when it fits on one
 * line (once to measure, once more to accept it), and again for every candidate break of a
 * wrapped line.  A start-aligned layout that fits its width gives exactly the same lines
 * with no width at all, shaped once, so text that probably fits (fewer characters than
 * FIT_GUESS em widths of the box: Latin averages about half an em per character) is laid
 * out without a width first; if it turns out wider than the box, the width is set and
 * pango wraps it as before.  A wrong guess costs time, never a different layout. */
#define FIT_GUESS 2.0

/* Pango 1.50 sets each run of a line on the baseline that the script of the line's first
 * run uses (ideographic for Han, hanging for Devanagari), looked up in each font's BASE
 * table or, for a font without one, guessed from its descender: an Arabic run after Chinese
 * then sits 0.45 em high, a Latin one 0.1 em.  Every run here sits on the alphabetic
 * baseline, as in a browser (the renderer sets no baseline-shift attributes).  Must run
 * before anything measures the lines (pango caches their extents), so after every change
 * of width: set_width() does both. */
static void one_baseline(PangoLayout *l)
{
    int shifted = 0;
    for (GSList *ls = pango_layout_get_lines_readonly(l); ls && !shifted; ls = ls->next)
        for (GSList *rs = ((PangoLayoutLine *)ls->data)->runs; rs && !shifted; rs = rs->next)
            shifted = ((PangoGlyphItem *)rs->data)->y_offset != 0;
    if (!shifted)
        return;
    /* pango_layout_get_lines (not _readonly) marks the lines as changed by their user:
     * pango then measures them afresh instead of using the extents it cached with the
     * shifts. */
    for (GSList *ls = pango_layout_get_lines(l); ls; ls = ls->next)
        for (GSList *rs = ((PangoLayoutLine *)ls->data)->runs; rs; rs = rs->next)
            ((PangoGlyphItem *)rs->data)->y_offset = 0;
}

static void set_width(PangoLayout *l, int pango_width)
{
    pango_layout_set_width(l, pango_width);
    one_baseline(l);
}

/* Makes a layout of `text` wrapped at `width` (no wrapping when width < 0).  Ligatures are
 * turned off so that copy-paste and applicant-tracking systems read exactly the words
 * written; required ligatures (Arabic lam-alef) are a separate feature and stay on.  The
 * first `bold` bytes of the (final) text are set in bold. */
static PangoLayout *mk_layout_b(struct render_ctx *c, const char *text, PangoFontDescription *fd,
                                double width, unsigned flags, double tracking, size_t bold)
{
    PangoDirection dir = base_dir(text);
    int rtl = dir == PANGO_DIRECTION_RTL || (dir == PANGO_DIRECTION_NEUTRAL && c->rtl);
    PangoLayout *l = pango_layout_new(rtl ? c->pc_rtl : c->pc_ltr);
    PangoAttrList *al = pango_attr_list_new();
    char *upper = NULL;

    int pango_width = width < 0 ? -1 : (int)(width * PANGO_SCALE), unwrapped = 0;

    pango_layout_set_auto_dir(l, FALSE);
    pango_layout_set_font_description(l, fd);
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_line_spacing(l, (float)c->t->line);
    if (flags & FLAG_CENTER)
        pango_layout_set_alignment(l, PANGO_ALIGN_CENTER);
    else
        pango_layout_set_alignment(l, c->rtl ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT);
    pango_attr_list_insert(al, pango_attr_font_features_new("liga=0,clig=0,dlig=0,hlig=0"));
    pango_attr_list_insert(al, pango_attr_language_new(c->lang));
    /* A URL or a word broken at the margin must copy back as written: no inserted "-". */
    pango_attr_list_insert(al, pango_attr_insert_hyphens_new(FALSE));
    if (tracking > 0 && !rtl) {
        /* Text extractors (poppler, ATS parsers) split letters spaced wider than about a
         * tenth of the font size into separate words: "S U M M A R Y".  Stay under it. */
        double cap = 0.07 * pango_font_description_get_size(fd) / PANGO_SCALE;
        if (tracking > cap)
            tracking = cap;
        pango_attr_list_insert(al, pango_attr_letter_spacing_new((int)(tracking * PANGO_SCALE)));
    }
    if (flags & FLAG_UPPER)
        text = upper = g_utf8_strup(text, -1);
    char *marked = rtl ? mark_ltr_symbols(text) : NULL;
    if (marked)
        text = marked;
    char *broken = break_long_runs(text);
    const char *final = broken ? broken : text;
    if (bold) {
        PangoAttribute *a = pango_attr_weight_new(PANGO_WEIGHT_BOLD);
        a->start_index = 0;
        a->end_index = (guint)bold;
        pango_attr_list_insert(al, a);
    }
    /* Colour emoji are shapes, which only pango's own line drawing draws: such text is
     * never broken by render_wrap_breaks. */
    int emoji = render_emoji_attrs(c->r, final, pango_font_description_get_size(fd) /
                                                    (double)PANGO_SCALE, al);
    /* Start-aligned (the line's x does not depend on the box width) and probably
     * narrower than the box: try without a width (see FIT_GUESS). */
    if (pango_width > 0 && !emoji && !(flags & FLAG_CENTER) && !c->rtl &&
        ((flags & FLAG_SELFWRAP) ||
         (double)g_utf8_strlen(final, -1) * (pango_font_description_get_size(fd) / PANGO_SCALE) <=
             FIT_GUESS * width))
        unwrapped = 1;
    pango_layout_set_width(l, unwrapped ? -1 : pango_width);
    pango_layout_set_text(l, final, -1);
    rg_free(broken);
    rg_free(marked);
    pango_layout_set_attributes(l, al);
    pango_attr_list_unref(al);
    one_baseline(l);
    g_free(upper);
    if (unwrapped && !(flags & FLAG_SELFWRAP)) {
        PangoRectangle lr;
        pango_layout_get_extents(l, NULL, &lr);
        if (lr.width > pango_width) /* wider than the box after all: let pango wrap it */
            set_width(l, pango_width);
    }
    if (!c->warned_glyphs && pango_layout_get_unknown_glyphs_count(l) > 0) {
        c->warned_glyphs = 1;
        rg_diags_add(c->diags, RG_DIAG_WARN, "",
                     "some characters are not covered by any installed font and show as boxes "
                     "(first seen in \"%.60s\")",
                     text);
    }
    return l;
}

static PangoLayout *mk_layout(struct render_ctx *c, const char *text, PangoFontDescription *fd,
                              double width, unsigned flags, double tracking)
{
    return mk_layout_b(c, text, fd, width, flags, tracking, 0);
}

struct line_box {
    double y, h, baseline; /* relative to the layout top */
    double x, w;           /* ink-free logical x range of the line */
};

static int layout_lines(PangoLayout *l, struct line_box **ret)
{
    int n = pango_layout_get_line_count(l), i = 0;
    struct line_box *v = rg_calloc((size_t)(n ? n : 1), sizeof *v);
    PangoLayoutIter *it = pango_layout_get_iter(l);
    do {
        PangoRectangle lr;
        int y0, y1;
        pango_layout_iter_get_line_extents(it, NULL, &lr);
        pango_layout_iter_get_line_yrange(it, &y0, &y1);
        v[i].y = y0 / (double)PANGO_SCALE;
        v[i].h = (y1 - y0) / (double)PANGO_SCALE;
        v[i].baseline = pango_layout_iter_get_baseline(it) / (double)PANGO_SCALE;
        v[i].x = lr.x / (double)PANGO_SCALE;
        v[i].w = lr.width / (double)PANGO_SCALE;
        i++;
    } while (pango_layout_iter_next_line(it) && i < n);
    pango_layout_iter_free(it);
    *ret = v;
    return i;
}

/* ---- line breaking without reshaping ------------------------------------------------
 *
 * Pango 1.50 breaks a paragraph by shaping it whole, then shaping again the text of every
 * candidate line end near the margin to measure it exactly: a paragraph of several lines
 * is shaped two to three times.  For the common case -- a start-aligned, left-to-right
 * paragraph in one line height, without tabs -- the renderer breaks the unwrapped layout
 * itself with pango's rules (WORD_CHAR: the last word break whose text, trailing white
 * space excluded, fits the width; the last character break when no word fits), using the
 * widths of the one shaping, and draws each line as the pieces of the unwrapped runs that
 * fall in it (pango_glyph_item_split: no reshaping).  The pieces are the glyphs pango
 * itself would draw wherever shaping does not cross the break (it never does at a space
 * or between Latin letters).  Anything else is left to pango. */

int render_wrap_breaks(PangoLayout *l, double width, struct render_wline **ret)
{
    const char *text = pango_layout_get_text(l);
    int W = (int)(width * PANGO_SCALE), nattrs = 0, nchars, n = 0, cap = 8, uline = 0;
    const PangoLogAttr *la;
    int *lw = NULL, *boff = NULL, *sp = NULL;
    struct render_wline *v = NULL;
    PangoRectangle ref = {0, 0, 0, 0};
    int have_ref = 0;

    if (W <= 0 || pango_layout_get_width(l) >= 0 || strchr(text, '\t') ||
        strstr(text, "\xe2\x80\xa8"))
        return -1;
    la = pango_layout_get_log_attrs_readonly(l, &nattrs);
    nchars = nattrs - 1;
    if (nchars <= 0)
        return -1;
    lw = rg_calloc((size_t)nchars, sizeof *lw);
    sp = rg_calloc((size_t)nchars, sizeof *sp);
    boff = rg_calloc((size_t)nchars + 1, sizeof *boff);
    for (int i = 0, b = 0; i <= nchars; i++) {
        boff[i] = b;
        if (text[b])
            b = (int)(g_utf8_next_char(text + b) - text);
    }
    v = rg_calloc((size_t)cap, sizeof *v);
    for (GSList *ls = pango_layout_get_lines_readonly(l); ls; ls = ls->next, uline++) {
        PangoLayoutLine *line = ls->data;
        int p0 = (int)g_utf8_pointer_to_offset(text, text + line->start_index), p1 = p0;
        if (!line->runs)
            goto fail;
        for (GSList *rs = line->runs; rs; rs = rs->next) {
            PangoGlyphItem *run = rs->data;
            PangoRectangle lr;
            if ((run->item->analysis.level & 1) || run->item->offset != boff[p1])
                goto fail;
            /* One line height: every run has the logical extents of the first. */
            pango_glyph_string_extents(run->glyphs, run->item->analysis.font, NULL, &lr);
            if (!have_ref) {
                ref = lr;
                have_ref = 1;
            } else if (lr.y != ref.y || lr.height != ref.height) {
                goto fail;
            }
            if (p1 + run->item->num_chars > nchars)
                goto fail;
            pango_glyph_item_get_logical_widths(run, text, lw + p1);
            /* Pango measures a line shaped on its own, where its last glyph has no
             * kerning with the first letter of the next line: keep each character's
             * own advance (one glyph for one character; -1 otherwise) for the fit
             * test and the line's last glyph. */
            hb_font_t *hb = pango_font_get_hb_font(run->item->analysis.font);
            PangoGlyphString *gs = run->glyphs;
            for (int ci = p1; ci < p1 + run->item->num_chars; ci++)
                sp[ci] = -1;
            /* Left to right: clusters ascend, so the character index follows along. */
            for (int g = 0, ci = p1, cb = run->item->offset; hb && g < gs->num_glyphs; g++) {
                int b = run->item->offset + gs->log_clusters[g];
                int next_b = g + 1 < gs->num_glyphs ? run->item->offset + gs->log_clusters[g + 1]
                                                    : run->item->offset + run->item->length;
                if (b < cb)
                    goto fail;
                while (cb < b) {
                    cb = (int)(g_utf8_next_char(text + cb) - text);
                    ci++;
                }
                if ((g > 0 && gs->log_clusters[g - 1] == gs->log_clusters[g]) ||
                    next_b != (int)(g_utf8_next_char(text + b) - text))
                    continue;
                if (ci < nchars)
                    sp[ci] = hb_font_get_glyph_h_advance(hb, gs->glyphs[g].glyph);
            }
            p1 += run->item->num_chars;
        }
        for (int s = p0; s < p1;) {
            int best = -1, k;
            long acc = 0;
            for (k = s; k < p1 && acc <= W; k++)
                acc += lw[k];
            if (acc <= W) {
                best = p1;
            } else {
                /* Word breaks first, then (WORD_CHAR) character breaks. */
                for (int pass = 0; pass < 2 && best < 0; pass++) {
                    int first = -1;
                    acc = 0;
                    for (k = s + 1; k < p1; k++) {
                        acc += lw[k - 1];
                        if (!(pass ? la[k].is_char_break : la[k].is_line_break))
                            continue;
                        if (first < 0)
                            first = k;
                        if (sp[k - 1] < 0) { /* no single glyph to measure: pango's turn */
                            if (acc - lw[k - 1] > W)
                                break;
                            goto fail;
                        }
                        long w = acc - lw[k - 1] + sp[k - 1] - (la[k - 1].is_white ? lw[k - 1] : 0);
                        if (w <= W)
                            best = k;
                        else if (acc - lw[k - 1] > W)
                            break;
                    }
                    if (best < 0 && pass == 1)
                        best = first;
                }
                if (best < 0)
                    goto fail;
            }
            if (n == cap) {
                cap *= 2;
                v = rg_realloc(v, (size_t)cap * sizeof *v);
            }
            v[n].uline = uline;
            v[n].start = boff[s];
            v[n].end = boff[best];
            v[n].last = best == p1;
            v[n].trail_white = best < p1 && la[best - 1].is_white;
            v[n].last_adv = best < p1 ? sp[best - 1] : -1;
            n++;
            s = best;
        }
    }
    rg_free(lw);
    rg_free(boff);
    rg_free(sp);
    *ret = v;
    return n;
fail:
    rg_free(lw);
    rg_free(boff);
    rg_free(sp);
    rg_free(v);
    return -1;
}

/* The glyph pieces of the unwrapped line `ul` that fall in [start, end), their x offsets
 * moved by the width of the pieces before them, and the line's width with trailing
 * white space of a wrapped line excluded (as pango measures it). */
static PangoGlyphItem **wrap_pieces(PangoLayout *l, const struct render_wline *wl, int *ret_n,
                                    int *ret_width)
{
    const char *text = pango_layout_get_text(l);
    PangoLayoutLine *line = pango_layout_get_line_readonly(l, wl->uline);
    PangoGlyphItem **v = rg_calloc(g_slist_length(line->runs), sizeof *v);
    int n = 0, x = 0;

    for (GSList *rs = line->runs; rs; rs = rs->next) {
        PangoGlyphItem *run = rs->data;
        PangoGlyphString *rg = run->glyphs;
        int ro = run->item->offset, re = ro + run->item->length;
        if (re <= wl->start || ro >= wl->end)
            continue;
        /* The glyphs of the clusters in [a, b): a run of the line, cut as
         * pango_item_split() and pango_glyph_item_split() cut one, without copying the
         * whole run for every line of a long paragraph. */
        int a = wl->start > ro ? wl->start : ro, b = wl->end < re ? wl->end : re;
        int g0 = 0, g1 = rg->num_glyphs;
        while (g0 < g1) { /* first glyph of a cluster at or after a */
            int mid = g0 + (g1 - g0) / 2;
            if (ro + rg->log_clusters[mid] < a)
                g0 = mid + 1;
            else
                g1 = mid;
        }
        for (g1 = g0; g1 < rg->num_glyphs && ro + rg->log_clusters[g1] < b; g1++)
            ;
        PangoGlyphItem *gi = g_slice_new0(PangoGlyphItem);
        gi->item = pango_item_copy(run->item);
        gi->item->offset = a;
        gi->item->length = b - a;
        gi->item->num_chars = (int)g_utf8_strlen(text + a, b - a);
        gi->glyphs = pango_glyph_string_new();
        pango_glyph_string_set_size(gi->glyphs, g1 - g0);
        memcpy(gi->glyphs->glyphs, rg->glyphs + g0, (size_t)(g1 - g0) * sizeof *rg->glyphs);
        for (int g = g0; g < g1; g++)
            gi->glyphs->log_clusters[g - g0] = rg->log_clusters[g] - (a - ro);
        int w = 0;
        for (int g = 0; g < gi->glyphs->num_glyphs; g++) {
            w += gi->glyphs->glyphs[g].geometry.width;
            gi->glyphs->glyphs[g].geometry.x_offset += x;
        }
        x += w;
        v[n++] = gi;
    }
    if (wl->last_adv >= 0 && n && v[n - 1]->glyphs->num_glyphs) {
        /* The last glyph as pango shapes the line: no kerning with the next line. */
        PangoGlyphString *gs = v[n - 1]->glyphs;
        x += wl->last_adv - gs->glyphs[gs->num_glyphs - 1].geometry.width;
        gs->glyphs[gs->num_glyphs - 1].geometry.width = wl->last_adv;
    }
    if (wl->trail_white && n) {
        /* As pango does with a wrapped line: the white space it ends with, when a
         * cluster of its own, becomes an empty glyph of no width. */
        PangoGlyphString *gs = v[n - 1]->glyphs;
        int g = gs->num_glyphs - 1;
        if (g >= 0 && gs->glyphs[g].glyph != PANGO_GET_UNKNOWN_GLYPH(0x2028) &&
            (g == 0 || gs->log_clusters[g - 1] != gs->log_clusters[g])) {
            x -= gs->glyphs[g].geometry.width;
            gs->glyphs[g].geometry.width = 0;
            gs->glyphs[g].glyph = PANGO_GLYPH_EMPTY;
        }
    }
    *ret_n = n;
    *ret_width = x;
    return v;
}

/* Line boxes of l as it will be drawn at `width`: broken by render_wrap_breaks() when it can
 * (then *ret_pieces holds each line's glyph pieces and counts, caller frees), else by
 * pango (the width is set on l; *ret_pieces is NULL). */
struct wrapped {
    PangoGlyphItem **pieces;
    int n;
};

static int wrap_lines(PangoLayout *l, double width, struct line_box **ret,
                      struct wrapped **ret_pieces)
{
    struct render_wline *wl = NULL;
    PangoRectangle lr;
    int n = -1;

    *ret_pieces = NULL;
    if (pango_layout_get_width(l) < 0 && width > 0) {
        pango_layout_get_extents(l, NULL, &lr);
        if (lr.width > (int)(width * PANGO_SCALE)) {
            n = render_wrap_breaks(l, width, &wl);
            if (n < 0)
                set_width(l, (int)(width * PANGO_SCALE));
        }
    }
    if (n < 0)
        return layout_lines(l, ret);

    /* Every line has the height and baseline of the unwrapped lines (render_wrap_breaks checked
     * that all runs share one logical extent). */
    struct line_box *ub;
    int nu = layout_lines(l, &ub);
    struct line_box *v = rg_calloc((size_t)n, sizeof *v);
    struct wrapped *pw = rg_calloc((size_t)n, sizeof *pw);
    for (int i = 0; i < n; i++) {
        int w = 0;
        const struct line_box *u = &ub[wl[i].uline < nu ? wl[i].uline : 0];
        pw[i].pieces = wrap_pieces(l, &wl[i], &pw[i].n, &w);
        v[i].y = 0;
        v[i].h = u->h;
        v[i].baseline = u->baseline - u->y;
        v[i].x = 0;
        v[i].w = w / (double)PANGO_SCALE;
    }
    /* Stacked as pango stacks wrapped lines: by the line height. */
    for (int i = 1; i < n; i++) {
        v[i].y = v[i - 1].y + v[i - 1].h;
        v[i].baseline += v[i].y;
    }
    rg_free(ub);
    rg_free(wl);
    *ret = v;
    *ret_pieces = pw;
    return n;
}

/* Adds a text operation for line `line` of l (a new reference is taken). */
static void op_text(struct render_ctx *c, PangoLayout *l, int line, double x, double y,
                    double baseline, const struct render_rgb *color)
{
    struct render_op *op = op_new(c, OP_TEXT);
    op->layout = g_object_ref(l);
    op->line = line;
    op->x = x;
    op->y = y;
    op->baseline = baseline;
    op->color = *color;
}

/* op_text() for a line of wrap_lines(): takes the pieces of pw[line] when there are. */
static void op_text_w(struct render_ctx *c, PangoLayout *l, struct wrapped *pw, int line,
                      double x, double y, double baseline, const struct render_rgb *color)
{
    op_text(c, l, pw ? 0 : line, x, y, baseline, color);
    if (pw) {
        struct render_op *op = &c->ops[c->nops - 1];
        op->pieces = pw[line].pieces;
        op->npieces = pw[line].n;
        pw[line].pieces = NULL;
        pw[line].n = 0;
    }
}

static void wrapped_free(struct wrapped *pw, int n)
{
    if (!pw)
        return;
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < pw[i].n; k++)
            pango_glyph_item_free(pw[i].pieces[k]);
        rg_free(pw[i].pieces);
    }
    rg_free(pw);
}

static void op_link(struct render_ctx *c, const char *uri, double x, double y, double w, double h)
{
    if (!uri || w <= 0)
        return;
    struct render_op *op = op_new(c, OP_LINK);
    op->uri = rg_strdup(uri);
    op->x = x;
    op->y = y;
    op->w = w;
    op->h = h;
}

/* Adds l to the flow one line per item so paragraphs may break across pages.  The first
 * two and last two lines stay together (no orphans or widows).  `keep_last` ties the last
 * line to whatever follows.  `uri` makes every line a link to it. */
static void flow_layout(struct render_ctx *c, PangoLayout *l, double width, double x,
                        double before, const struct render_rgb *color, const char *uri,
                        int keep_last)
{
    struct line_box *lb;
    struct wrapped *pw;
    int n = wrap_lines(l, width, &lb, &pw);
    for (int i = 0; i < n; i++) {
        int keep = (i == 0 && n > 1) || (i == n - 2) || (i == n - 1 && keep_last);
        struct item *it = item_new(c, i == 0 ? before : 0, keep);
        it->h = lb[i].h;
        op_text_w(c, l, pw, i, x, 0, lb[i].baseline - lb[i].y, color);
        if (uri)
            op_link(c, uri, x + lb[i].x, 0, lb[i].w, lb[i].h);
    }
    wrapped_free(pw, n);
    rg_free(lb);
}

/* Pango 1.50 gives up on a paragraph of some hundred thousand characters (one line,
 * the rest lost), so longer text is laid out in pieces cut at white space. */
#define PARA_CHUNK (16 * 1024)

static void flow_text(struct render_ctx *c, const char *text, PangoFontDescription *fd,
                      double indent, double before, const struct render_rgb *color,
                      const char *uri, int keep_last)
{
    size_t len = strlen(text);
    while (len > PARA_CHUNK) {
        size_t cut = PARA_CHUNK;
        while (cut > PARA_CHUNK / 2 && text[cut] != ' ' && text[cut] != '\n')
            cut--;
        if (text[cut] != ' ' && text[cut] != '\n') /* no space: cut between characters */
            for (cut = PARA_CHUNK; cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80; cut--)
                ;
        char *piece = rg_strndup(text, cut);
        PangoLayout *l = mk_layout(c, piece, fd, c->col->w - indent, FLAG_SELFWRAP, 0);
        flow_layout(c, l, c->col->w - indent, indent, before, color, uri, 1);
        g_object_unref(l);
        rg_free(piece);
        before = 0;
        text += cut + (text[cut] == ' ' || text[cut] == '\n');
        len = strlen(text);
    }
    PangoLayout *l = mk_layout(c, text, fd, c->col->w - indent, FLAG_SELFWRAP, 0);
    flow_layout(c, l, c->col->w - indent, indent, before, color, uri, keep_last);
    g_object_unref(l);
}

/* ---- text helpers ------------------------------------------------------------------- */

static const char *S(const json_t *o, const char *key)
{
    return rg_json_nonempty(o, key);
}

static int starts_with_bullet(const char *s)
{
    static const char *const marks[] = {"•", "‣", "◦", "▪", "–", "- ", "* ", "· "};
    for (size_t i = 0; i < RG_ARRAY_SIZE(marks); i++)
        if (!strncmp(s, marks[i], strlen(marks[i])))
            return 1;
    return 0;
}

static char *tel_url(const char *phone)
{
    struct rg_buf b;
    rg_buf_init(&b, 256);
    (void)rg_buf_puts(&b, "tel:");
    for (const char *p = phone; *p; p++)
        if (g_ascii_isdigit(*p) || (*p == '+' && b.len == 4))
            (void)rg_buf_putc(&b, *p);
    if (b.len <= 5) {
        rg_buf_done(&b);
        return NULL;
    }
    return rg_buf_take(&b, NULL);
}

/* Splits free text into paragraphs at blank lines and flows them; lines starting with
 * "- " or "* " become bullets (Markdown lists are common in real summaries). */
static void flow_rich(struct render_ctx *c, const char *text, PangoFontDescription *fd,
                      double before, const struct render_rgb *color);

static void flow_bullet(struct render_ctx *c, const char *text, PangoFontDescription *fd,
                        double before, const struct render_rgb *color)
{
    const struct render_theme *t = c->t;
    double ind = fd == c->fd_small ? t->size_small : t->size_body;
    int own = starts_with_bullet(text);
    double w = c->col->w - (own ? 0 : ind);
    PangoLayout *l = mk_layout(c, text, fd, w, FLAG_SELFWRAP, 0);
    struct line_box *lb;
    struct wrapped *pw;
    int n = wrap_lines(l, w, &lb, &pw);
    /* One bullet layout per font for the whole document: ops take references. */
    PangoLayout **cache = fd == c->fd_small ? &c->bullet_small : &c->bullet_body;
    if (!own && !*cache)
        *cache = mk_layout(c, t->bullet, fd, ind, 0, 0);
    PangoLayout *bl = own ? NULL : *cache;

    for (int i = 0; i < n; i++) {
        int keep = (i == 0 && n > 1) || (i == n - 2);
        struct item *it = item_new(c, i == 0 ? before : 0, keep);
        it->h = lb[i].h;
        op_text_w(c, l, pw, i, own ? 0 : ind, 0, lb[i].baseline - lb[i].y, color);
        if (i == 0 && bl)
            op_text(c, bl, 0, 0, 0, lb[i].baseline - lb[i].y, &t->c_accent);
    }
    wrapped_free(pw, n);
    g_object_unref(l);
    rg_free(lb);
}

static void flow_rich(struct render_ctx *c, const char *text, PangoFontDescription *fd,
                      double before, const struct render_rgb *color)
{
    char *copy = rg_strdup(text), *save = NULL;
    struct rg_buf para;
    int first = 1;

    rg_buf_init(&para, RG_RESUME_MAX_BYTES); /* a paragraph can be as long as the input */
    /* Paragraph break = a line that is empty after trimming; bullets break too. */
    for (char *ln = strtok_r(copy, "\n", &save);; ln = strtok_r(NULL, "\n", &save)) {
        char *s = ln;
        if (s) {
            while (*s == ' ' || *s == '\t' || *s == '\r')
                s++;
            char *e = s + strlen(s);
            while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                *--e = '\0';
        }
        int bullet = s && (!strncmp(s, "- ", 2) || !strncmp(s, "* ", 2) || !strncmp(s, "• ", 4));
        if (!s || !*s || bullet) {
            if (para.len) {
                flow_text(c, para.ptr, fd, 0, first ? before : c->t->sp_para, color, NULL, 0);
                first = 0;
                rg_buf_reset(&para);
            }
            if (!s)
                break;
            if (bullet) {
                flow_bullet(c, s + (s[0] == '\xe2' ? 4 : 2), fd, first ? before : 1, color);
                first = 0;
            }
            continue;
        }
        if (para.len)
            (void)rg_buf_putc(&para, '\n');
        (void)rg_buf_puts(&para, s);
    }
    rg_buf_done(&para);
    rg_free(copy);
}

/* ---- headings and entries ----------------------------------------------------------- */

static void heading(struct render_ctx *c, const char *key, double before)
{
    const struct render_theme *t = c->t;
    const char *txt = render_locale_heading(c->loc, key);
    int side = c->col == &c->side;
    double x = t->heading_rule == RENDER_RULE_BAR ? 7 : 0;
    PangoLayout *l = mk_layout(c, txt, c->fd_heading, c->col->w - x,
                               t->heading_upper ? FLAG_UPPER : 0, t->heading_tracking);
    struct line_box *lb;
    int n = layout_lines(l, &lb);
    double h = lb[n - 1].y + lb[n - 1].h;
    struct item *it = item_new(c, before, 1);
    const struct render_rgb *col = side && t->c_sidebar_bg.set ? &t->c_sidebar_text : &t->c_accent;

    struct render_op *d = op_new(c, OP_DEST);
    d->name = rg_strdup(txt);
    for (int i = 0; i < n; i++)
        op_text(c, l, i, x, lb[i].y, lb[i].baseline, col);
    if (t->heading_rule == RENDER_RULE_BELOW) {
        struct render_op *o = op_new(c, OP_LINE);
        o->x = 0;
        o->y = h + 2;
        o->w = c->col->w;
        o->h = 0;
        o->width = 0.6;
        o->color = side && t->c_sidebar_bg.set ? t->c_sidebar_text : t->c_rule;
        h += 3;
    } else if (t->heading_rule == RENDER_RULE_BAR) {
        struct render_op *o = op_new(c, OP_RECT);
        o->x = 0;
        o->y = lb[0].y + 1;
        o->w = 3;
        o->h = h - lb[0].y - 2;
        o->color = t->c_accent;
    }
    it->h = h + t->sp_heading;
    g_object_unref(l);
    rg_free(lb);
}

/* The title row of an entry: title on the start side, dates on the end side.  The
 * title wraps in the room the dates leave, so a long title never runs into them. */
static void entry_title(struct render_ctx *c, const char *title, const char *dates,
                        const char *uri, double before)
{
    const struct render_theme *t = c->t;
    double w = c->col->w, dw = 0;
    PangoLayout *dl = NULL, *tl;
    struct line_box *lb = NULL, *db = NULL;

    if (dates && *dates) {
        dl = mk_layout(c, dates, c->fd_small, -1, 0, 0);
        PangoRectangle lr;
        pango_layout_get_extents(dl, NULL, &lr);
        dw = lr.width / (double)PANGO_SCALE;
        if (dw > w * 0.45) {
            set_width(dl, (int)(w * 0.45 * PANGO_SCALE));
            dw = w * 0.45;
        }
        layout_lines(dl, &db);
    }
    tl = mk_layout(c, title ? title : "", t->title_bold ? c->fd_title : c->fd_body,
                   w - (dw > 0 ? dw + 10 : 0), 0, 0);
    int n = layout_lines(tl, &lb);
    struct item *it = item_new(c, before, 1);
    double h = lb[n - 1].y + lb[n - 1].h;
    for (int i = 0; i < n; i++)
        op_text(c, tl, i, 0, lb[i].y, lb[i].baseline, &c->text_color);
    if (uri)
        for (int i = 0; i < n; i++)
            op_link(c, uri, lb[i].x, lb[i].y, lb[i].w, lb[i].h);
    if (dl) {
        /* Align the dates' first baseline with the title's. */
        double off = lb[0].baseline - db[0].baseline;
        int dn = pango_layout_get_line_count(dl);
        for (int i = 0; i < dn; i++)
            op_text(c, dl, i, w - dw, off + db[i].y, off + db[i].baseline, &t->c_muted);
        double dh = off + db[dn - 1].y + db[dn - 1].h;
        if (dh > h)
            h = dh;
        g_object_unref(dl);
    }
    it->h = h;
    g_object_unref(tl);
    rg_free(lb);
    rg_free(db);
}

/* Joins the non-empty strings of v with sep. */
static void join(struct rg_buf *b, const char *sep, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!v[i] || !*v[i])
            continue;
        if (b->len)
            (void)rg_buf_puts(b, sep);
        (void)rg_buf_puts(b, v[i]);
    }
}

static void join_array(struct rg_buf *b, const char *sep, json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (!s || !*s)
            continue;
        if (b->len)
            (void)rg_buf_puts(b, sep);
        (void)rg_buf_puts(b, s);
    }
}

/* One entry of work, volunteer, education, projects, awards, certificates, publications. */
struct entry {
    const char *title, *org, *where, *start, *end, *single_date, *url, *summary, *extra;
    json_t *bullets;
    const char *show_url; /* printed visibly under the title */
    int ongoing;
};

static int entry_empty(const struct entry *e)
{
    return !e->title && !e->org && !e->summary && !e->extra && !e->start && !e->single_date &&
           !(e->bullets && json_array_size(e->bullets));
}

static void emit_entry(struct render_ctx *c, const struct entry *e, double before)
{
    const struct render_theme *t = c->t;
    struct rg_buf dates, sub;
    char *uri = e->url ? rg_url_normalize(e->url) : NULL;
    const char *title = e->title ? e->title : e->org;
    const char *org = e->title ? e->org : NULL;

    rg_buf_init(&dates, 512);
    rg_buf_init(&sub, 4096);
    if (e->single_date)
        render_locale_date(c->loc, &dates, e->single_date);
    else
        render_locale_range(c->loc, &dates, e->start, e->end, e->ongoing);
    entry_title(c, title ? title : "", dates.ptr, org ? NULL : uri, before);
    const char *parts[] = {org, e->where};
    join(&sub, " · ", parts, 2);
    if (sub.len) {
        PangoLayout *l = mk_layout(c, sub.ptr, c->fd_italic, c->col->w, 0, 0);
        struct line_box *lb;
        int n = layout_lines(l, &lb);
        for (int i = 0; i < n; i++) {
            struct item *it = item_new(c, i == 0 ? 1 : 0, 1);
            it->h = lb[i].h;
            op_text(c, l, i, 0, 0, lb[i].baseline - lb[i].y, &t->c_muted);
            /* Only the organisation's own text is the link, not the place after it. */
            if (uri && org) {
                int *ranges, nr;
                PangoLayoutLine *line = pango_layout_get_line_readonly(l, i);
                pango_layout_line_get_x_ranges(line, 0, (int)strlen(org), &ranges, &nr);
                for (int k = 0; k < nr; k++)
                    op_link(c, uri, ranges[2 * k] / (double)PANGO_SCALE, 0,
                            (ranges[2 * k + 1] - ranges[2 * k]) / (double)PANGO_SCALE, lb[i].h);
                g_free(ranges);
            }
        }
        rg_free(lb);
        g_object_unref(l);
    }
    if (e->show_url) {
        char *u = rg_url_normalize(e->show_url);
        flow_text(c, e->show_url, c->fd_small, 0, 1, &t->c_accent, u, 1);
        rg_free(u);
    }
    if (e->extra)
        flow_rich(c, e->extra, c->fd_small, 2, &t->c_muted);
    if (e->summary)
        flow_rich(c, e->summary, c->fd_body, 2, &c->text_color);
    if (e->bullets) {
        size_t i;
        json_t *v;
        int first = 1;
        json_array_foreach(e->bullets, i, v)
        {
            const char *s = json_string_value(v);
            if (!s || !*s)
                continue;
            flow_bullet(c, s, c->fd_body, first ? 3 : 1.5, &c->text_color);
            first = 0;
        }
    }
    /* Whatever follows an entry may go to the next page. */
    c->col->items[c->col->n - 1].keep_next = 0;
    rg_free(uri);
    rg_buf_done(&dates);
    rg_buf_done(&sub);
}

/* ---- sections ----------------------------------------------------------------------- */

typedef void section_fn(struct render_ctx *c, json_t *arr, const char *key);

static void sec_entries(struct render_ctx *c, json_t *arr, const char *key)
{
    size_t i;
    json_t *o;
    struct rg_buf a, b;
    int first = 1;

    json_array_foreach(arr, i, o)
    {
        struct entry e = {0};
        rg_buf_init(&a, 1 << 16);
        rg_buf_init(&b, 1 << 16);
        if (!json_is_object(o))
            continue;
        if (!strcmp(key, "work") || !strcmp(key, "volunteer")) {
            e.title = S(o, "position");
            e.org = S(o, !strcmp(key, "work") ? "name" : "organization");
            e.where = S(o, "location");
            e.start = S(o, "startDate");
            e.end = S(o, "endDate");
            e.ongoing = 1;
            e.url = S(o, "url");
            e.extra = S(o, "description");
            e.summary = S(o, "summary");
            e.bullets = rg_json_arr(o, "highlights");
        } else if (!strcmp(key, "education")) {
            const char *tt[] = {S(o, "studyType"), S(o, "area")};
            join(&a, c->loc->comma, tt, 2);
            e.title = a.len ? a.ptr : NULL;
            e.org = S(o, "institution");
            e.start = S(o, "startDate");
            e.end = S(o, "endDate");
            e.ongoing = e.start != NULL;
            e.url = S(o, "url");
            if (S(o, "score"))
                (void)rg_buf_printf(&b, "%s: %s", render_locale_label(c->loc, "score", "Score"),
                                    S(o, "score"));
            json_t *courses = rg_json_arr(o, "courses");
            if (courses && json_array_size(courses)) {
                struct rg_buf cb;
                rg_buf_init(&cb, 1 << 16);
                join_array(&cb, c->loc->comma, courses);
                if (cb.len)
                    (void)rg_buf_printf(&b, "%s%s: %s", b.len ? "\n" : "",
                                        render_locale_label(c->loc, "courses", "Courses"), cb.ptr);
                rg_buf_done(&cb);
            }
            e.extra = b.len ? b.ptr : NULL;
            e.summary = S(o, "summary");
            e.bullets = rg_json_arr(o, "highlights");
        } else if (!strcmp(key, "projects")) {
            e.title = S(o, "name");
            json_t *roles = rg_json_arr(o, "roles");
            const char *pp[] = {S(o, "entity"), S(o, "type")};
            join(&a, " · ", pp, 2);
            if (roles)
                join_array(&a, " · ", roles);
            e.org = a.len ? a.ptr : NULL;
            e.start = S(o, "startDate");
            e.end = S(o, "endDate");
            e.ongoing = 1; /* as for work: no end date means it goes on */
            e.url = S(o, "url");
            e.summary = S(o, "description");
            e.bullets = rg_json_arr(o, "highlights");
            json_t *kw = rg_json_arr(o, "keywords");
            if (kw)
                join_array(&b, c->loc->comma, kw);
            e.extra = b.len ? b.ptr : NULL;
        } else if (!strcmp(key, "awards")) {
            e.title = S(o, "title");
            e.org = S(o, "awarder");
            e.single_date = S(o, "date");
            e.summary = S(o, "summary");
        } else if (!strcmp(key, "certificates")) {
            e.title = S(o, "name");
            e.org = S(o, "issuer");
            e.single_date = S(o, "date");
            e.url = S(o, "url");
        } else if (!strcmp(key, "publications")) {
            e.title = S(o, "name");
            e.org = S(o, "publisher");
            e.single_date = S(o, "releaseDate");
            e.url = S(o, "url");
            e.show_url = e.url;
            e.summary = S(o, "summary");
        }
        if (!entry_empty(&e)) {
            emit_entry(c, &e, first ? 0 : c->t->sp_entry);
            first = 0;
        }
        rg_buf_done(&a);
        rg_buf_done(&b);
    }
}

/* Skills, languages and interests: "Name: a, b, c" lines, name in bold. */
static void sec_lists(struct render_ctx *c, json_t *arr, const char *key)
{
    size_t i;
    json_t *o;
    int side = c->col == &c->side, first = 1;
    const struct render_rgb *color = &c->text_color;

    json_array_foreach(arr, i, o)
    {
        struct rg_buf b, kw;
        const char *name, *sub = NULL;
        json_t *list = NULL;
        if (!json_is_object(o))
            continue;
        rg_buf_init(&b, 1 << 16);
        rg_buf_init(&kw, 1 << 16);
        if (!strcmp(key, "languages")) {
            name = S(o, "language");
            sub = S(o, "fluency");
        } else {
            name = S(o, "name");
            sub = S(o, "level");
            list = rg_json_arr(o, "keywords");
        }
        if (list)
            join_array(&kw, c->loc->comma, list);
        if (!name && !kw.len && !sub) {
            rg_buf_done(&b);
            rg_buf_done(&kw);
            continue;
        }
        if (side) {
            /* Narrow column: the name on its own line, details below. */
            if (name) {
                (void)rg_buf_puts(&b, name);
                if (sub && !strcmp(key, "languages"))
                    (void)rg_buf_printf(&b, " — %s", sub);
                PangoLayout *l = mk_layout(c, b.ptr, c->fd_body_bold, c->col->w, FLAG_SELFWRAP, 0);
                flow_layout(c, l, c->col->w, 0, first ? 0 : 4, color, NULL, kw.len > 0);
                g_object_unref(l);
                if (!strcmp(key, "languages"))
                    sub = NULL;
            }
            rg_buf_reset(&b);
            const char *parts[] = {sub, kw.ptr};
            join(&b, " · ", parts, 2);
            if (b.len)
                flow_text(c, b.ptr, c->fd_small, 0, 1, color, NULL, 0);
        } else {
            size_t bold = 0;
            if (name) {
                (void)rg_buf_puts(&b, name);
                bold = b.len;
            }
            if (sub)
                (void)rg_buf_printf(&b, "%s%s", b.len ? (kw.len ? " (" : " — ") : "", sub);
            if (sub && name && kw.len)
                (void)rg_buf_putc(&b, ')');
            if (kw.len)
                (void)rg_buf_printf(&b, "%s%s", b.len ? ": " : "", kw.ptr);
            PangoLayout *l =
                mk_layout_b(c, b.ptr, c->fd_body, c->col->w, FLAG_SELFWRAP, 0, bold);
            flow_layout(c, l, c->col->w, 0, first ? 0 : 2.5, color, NULL, 0);
            g_object_unref(l);
        }
        first = 0;
        rg_buf_done(&b);
        rg_buf_done(&kw);
    }
}

static void sec_references(struct render_ctx *c, json_t *arr, const char *key)
{
    size_t i;
    json_t *o;
    int first = 1;
    json_array_foreach(arr, i, o)
    {
        const char *ref = S(o, "reference"), *name = S(o, "name");
        if (!ref && !name)
            continue;
        if (ref)
            flow_rich(c, ref, c->fd_italic, first ? 0 : c->t->sp_entry, &c->text_color);
        if (ref && name) /* the attribution never stands alone on a page */
            c->col->items[c->col->n - 1].keep_next = 1;
        if (name) {
            char *s = rg_asprintf("— %s", name);
            flow_text(c, s, c->fd_small, 0, 2, &c->t->c_muted, NULL, 0);
            rg_free(s);
        }
        first = 0;
    }
}

/* Contact details, one per line (sidebar themes). */
struct contact {
    char *text, *uri;
};

static size_t contacts(struct render_ctx *c, struct contact *v, size_t max)
{
    json_t *b = rg_json_obj(c->doc, "basics"), *loc = rg_json_obj(b, "location");
    json_t *profiles = rg_json_arr(b, "profiles"), *p;
    size_t n = 0, i;
    const char *s;

    if ((s = S(b, "email")) && n < max) {
        v[n].text = rg_strdup(s);
        v[n++].uri = strchr(s, '@') ? rg_asprintf("mailto:%s", s) : NULL;
    }
    if ((s = S(b, "phone")) && n < max) {
        v[n].text = rg_strdup(s);
        v[n++].uri = tel_url(s);
    }
    if ((s = S(b, "url")) && n < max) {
        v[n].text = rg_strdup(s);
        v[n++].uri = rg_url_normalize(s);
    }
    if (loc && n < max) {
        struct rg_buf lb;
        rg_buf_init(&lb, 4096);
        const char *parts[] = {S(loc, "city"), S(loc, "region"), S(loc, "countryCode")};
        join(&lb, c->loc->comma, parts, 3);
        if (lb.len) {
            v[n].text = rg_buf_take(&lb, NULL);
            v[n++].uri = NULL;
        }
        rg_buf_done(&lb);
    }
    json_array_foreach(profiles, i, p)
    {
        const char *net = S(p, "network"), *user = S(p, "username"), *url = S(p, "url");
        if (n >= max || (!user && !url))
            continue;
        if (net && user)
            v[n].text = rg_asprintf("%s: %s", net, user);
        else
            v[n].text = rg_strdup(url ? url : user);
        v[n++].uri = url ? rg_url_normalize(url) : NULL;
    }
    return n;
}

static void sec_contact(struct render_ctx *c, json_t *unused, const char *key)
{
    struct contact v[40];
    size_t n = contacts(c, v, RG_ARRAY_SIZE(v));
    for (size_t i = 0; i < n; i++) {
        flow_text(c, v[i].text, c->fd_small, 0, i ? 2 : 0, &c->text_color, v[i].uri, 0);
        rg_free(v[i].text);
        rg_free(v[i].uri);
    }
}

static void sec_summary(struct render_ctx *c, json_t *unused, const char *key)
{
    const char *s = S(rg_json_obj(c->doc, "basics"), "summary");
    if (s)
        flow_rich(c, s, c->fd_body, 0, &c->text_color);
}

static void section(struct render_ctx *c, const char *key, double before)
{
    static const struct {
        const char *key;
        section_fn *fn;
    } table[] = {
        {"summary", sec_summary},       {"contact", sec_contact},
        {"work", sec_entries},          {"volunteer", sec_entries},
        {"education", sec_entries},     {"projects", sec_entries},
        {"awards", sec_entries},        {"certificates", sec_entries},
        {"publications", sec_entries},  {"skills", sec_lists},
        {"languages", sec_lists},       {"interests", sec_lists},
        {"references", sec_references},
    };
    struct column *col = c->col;
    size_t items0 = col->n, ops0 = c->nops;
    json_t *arr = rg_json_arr(c->doc, key);

    for (size_t i = 0; i < RG_ARRAY_SIZE(table); i++) {
        if (strcmp(key, table[i].key))
            continue;
        if (table[i].fn != sec_summary && table[i].fn != sec_contact &&
            (!arr || !json_array_size(arr)))
            return;
        heading(c, key, col->n ? before : 0);
        size_t after_heading = col->n;
        table[i].fn(c, arr, key);
        if (col->n == after_heading) {
            /* Nothing to show: no heading either. */
            for (size_t k = ops0; k < c->nops; k++)
                op_release(&c->ops[k]);
            c->nops = ops0;
            col->n = items0;
        } else {
            col->items[col->n - 1].keep_next = 0;
        }
        return;
    }
}

/* ---- the header --------------------------------------------------------------------- */

static void header(struct render_ctx *c, int with_contact)
{
    const struct render_theme *t = c->t;
    json_t *b = rg_json_obj(c->doc, "basics");
    const char *name = S(b, "name"), *label = S(b, "label");
    unsigned fl = t->header_align == RENDER_ALIGN_CENTER ? FLAG_CENTER : 0;
    double w = c->col->w, photo_w = 0;
    size_t first_item = c->col->n;
    const struct render_rgb *tc = t->c_header_bg.set ? &t->c_header_text : &c->text_color;

    if (c->photo && t->photo) {
        photo_w = t->photo_size;
        w -= photo_w + 14;
    }
    if (name) {
        PangoLayout *l = mk_layout(c, name, c->fd_name, w, fl, 0);
        struct item *it = item_new(c, 0, 1);
        struct line_box *lb;
        int n = layout_lines(l, &lb);
        for (int i = 0; i < n; i++)
            op_text(c, l, i, 0, lb[i].y, lb[i].baseline, tc);
        it->h = lb[n - 1].y + lb[n - 1].h;
        rg_free(lb);
        g_object_unref(l);
    }
    if (label) {
        PangoLayout *l = mk_layout(c, label, c->fd_label, w, fl | FLAG_SELFWRAP, 0);
        flow_layout(c, l, w, 0, 2, t->c_header_bg.set ? tc : &t->c_accent, NULL, 1);
        g_object_unref(l);
    }
    if (with_contact) {
        struct contact v[40];
        size_t n = contacts(c, v, RG_ARRAY_SIZE(v));
        struct rg_buf line;
        size_t starts[40], ends[40];
        rg_buf_init(&line, 1 << 16);
        for (size_t i = 0; i < n; i++) {
            if (i)
                (void)rg_buf_puts(&line, t->contact_sep);
            starts[i] = line.len;
            (void)rg_buf_puts(&line, v[i].text);
            ends[i] = line.len;
        }
        if (line.len) {
            PangoLayout *l = mk_layout(c, line.ptr, c->fd_small, w, fl, 0);
            struct line_box *lb;
            int nl = layout_lines(l, &lb);
            for (int li = 0; li < nl; li++) {
                struct item *it = item_new(c, li ? 0 : 5, li + 1 < nl);
                it->h = lb[li].h;
                op_text(c, l, li, 0, 0, lb[li].baseline - lb[li].y,
                        t->c_header_bg.set ? tc : &t->c_muted);
                PangoLayoutLine *pl = pango_layout_get_line_readonly(l, li);
                for (size_t i = 0; i < n; i++) {
                    int *ranges, nr;
                    if (!v[i].uri)
                        continue;
                    pango_layout_line_get_x_ranges(pl, (int)starts[i], (int)ends[i], &ranges, &nr);
                    for (int k = 0; k < nr; k++) {
                        /* x ranges are relative to the layout; clamp to the line box. */
                        double x0 = ranges[2 * k] / (double)PANGO_SCALE;
                        double x1 = ranges[2 * k + 1] / (double)PANGO_SCALE;
                        if (x0 < lb[li].x)
                            x0 = lb[li].x;
                        if (x1 > lb[li].x + lb[li].w)
                            x1 = lb[li].x + lb[li].w;
                        op_link(c, v[i].uri, x0, 0, x1 - x0, lb[li].h);
                    }
                    g_free(ranges);
                }
            }
            rg_free(lb);
            g_object_unref(l);
        }
        for (size_t i = 0; i < n; i++) {
            rg_free(v[i].text);
            rg_free(v[i].uri);
        }
        rg_buf_done(&line);
    }
    if (c->col->n == first_item)
        return;
    /* Height of the header block, to place the photo and the band after pagination
     * (the header always opens page one). */
    double hh = 0;
    for (size_t i = first_item; i < c->col->n; i++)
        hh += (i > first_item ? c->col->items[i].before : 0) + c->col->items[i].h;
    if (photo_w > 0 && hh < photo_w) {
        c->col->items[c->col->n - 1].h += photo_w - hh;
        hh = photo_w;
    }
    c->header_h = hh;
    c->photo_w = photo_w;
    c->col->items[c->col->n - 1].keep_next = 0;
}

/* ---- pagination --------------------------------------------------------------------- */

static int paginate(struct render_ctx *c, struct column *col, struct render_doc *d)
{
    double y = c->top;
    int page = 0, at_top = 1;
    double body = c->bottom - c->top;

    for (size_t i = 0; i < col->n; i++) {
        struct item *it = &col->items[i];
        /* Height of the chain of items that must share a page with this one. */
        double chain = it->h;
        for (size_t j = i; j + 1 < col->n && col->items[j].keep_next; j++)
            chain += col->items[j + 1].before + col->items[j + 1].h;
        if (chain > body)
            chain = it->h;
        if (!at_top && y + it->before + chain > c->bottom + 0.01) {
            page++;
            y = c->top;
            at_top = 1;
        }
        if (!at_top)
            y += it->before;
        if ((size_t)page >= d->npages) {
            d->pages = rg_realloc(d->pages, (size_t)(page + 1) * sizeof *d->pages);
            for (size_t k = d->npages; k <= (size_t)page; k++)
                memset(&d->pages[k], 0, sizeof d->pages[k]);
            d->npages = (size_t)page + 1;
        }
        for (size_t k = 0; k < it->nops; k++) {
            struct render_op *src = &c->ops[it->op0 + k];
            struct render_op *dst = render_page_push(&d->pages[page], src->kind);
            *dst = *src;
            dst->x += col->x;
            dst->y += y;
            dst->baseline += y;
            memset(src, 0, sizeof *src); /* ownership moved to the page */
        }
        y += it->h;
        at_top = 0;
    }
    return page + 1;
}

/* ---- entry point -------------------------------------------------------------------- */

static void ctx_fonts(struct render_ctx *c)
{
    const struct render_theme *t = c->t;
    c->fd_body = font(t->font_body, t->size_body, PANGO_WEIGHT_NORMAL, PANGO_STYLE_NORMAL);
    c->fd_body_bold = font(t->font_body, t->size_body, PANGO_WEIGHT_BOLD, PANGO_STYLE_NORMAL);
    c->fd_italic = font(t->font_body, t->size_body, PANGO_WEIGHT_NORMAL, PANGO_STYLE_ITALIC);
    c->fd_small = font(t->font_body, t->size_small, PANGO_WEIGHT_NORMAL, PANGO_STYLE_NORMAL);
    c->fd_title = font(t->font_heading, t->size_title, PANGO_WEIGHT_BOLD, PANGO_STYLE_NORMAL);
    c->fd_heading = font(t->font_heading, t->size_heading,
                         t->heading_bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL,
                         PANGO_STYLE_NORMAL);
    c->fd_name = font(t->font_name, t->size_name,
                      t->name_bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL, PANGO_STYLE_NORMAL);
    c->fd_label = font(t->font_heading, t->size_label, PANGO_WEIGHT_NORMAL, PANGO_STYLE_NORMAL);
}

static void ctx_done(struct render_ctx *c)
{
    for (size_t k = 0; k < c->nops; k++)
        op_release(&c->ops[k]);
    rg_free(c->ops);
    rg_free(c->main.items);
    rg_free(c->side.items);
    PangoFontDescription *fds[] = {c->fd_body,    c->fd_body_bold, c->fd_italic, c->fd_small,
                                   c->fd_title,   c->fd_heading,   c->fd_name,   c->fd_label};
    for (size_t i = 0; i < RG_ARRAY_SIZE(fds); i++)
        if (fds[i])
            pango_font_description_free(fds[i]);
    if (c->pc_ltr)
        g_object_unref(c->pc_ltr);
    if (c->pc_rtl)
        g_object_unref(c->pc_rtl);
    if (c->photo)
        cairo_surface_destroy(c->photo);
    if (c->bullet_body)
        g_object_unref(c->bullet_body);
    if (c->bullet_small)
        g_object_unref(c->bullet_small);
}

/* Moves the last operation of a page under all the others. */
static void to_back(struct render_page *pg)
{
    struct render_op bg = pg->ops[pg->n - 1];
    memmove(&pg->ops[1], &pg->ops[0], (pg->n - 1) * sizeof *pg->ops);
    pg->ops[0] = bg;
}

static int in_list(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return 1;
    return 0;
}

/* The sections of one column in the order the resume asks for: `meta.sectionOrder` (an
 * array of section names, written by the web editor) refills the places of the sections it
 * names, in its order; the sections it does not name keep their places in the theme's order.
 * Without it (or with nothing usable in it) the theme's order stands. */
static void order_sections(const json_t *doc, char *const *in, size_t n, const char **out)
{
    const json_t *order = rg_json_arr(rg_json_obj(doc, "meta"), "sectionOrder");
    const char *named[RENDER_MAX_SECTIONS];
    size_t nn = 0;
    for (size_t i = 0; i < n; i++)
        out[i] = in[i];
    for (size_t k = 0; order && k < json_array_size(order); k++) {
        const char *s = json_string_value(json_array_get(order, k));
        int dup = 0;
        for (size_t j = 0; s && j < nn; j++)
            dup |= !strcmp(named[j], s);
        if (s && !dup && in_list(in, n, s) && nn < RENDER_MAX_SECTIONS)
            named[nn++] = s;
    }
    for (size_t i = 0, k = 0; i < n && nn; i++)
        for (size_t j = 0; j < nn; j++)
            if (!strcmp(in[i], named[j])) {
                out[i] = named[k++];
                break;
            }
}

static PangoContext *mk_context(struct rg_renderer *r, PangoLanguage *lang, PangoDirection dir)
{
    PangoContext *pc = pango_font_map_create_context(r->fontmap);
    cairo_font_options_t *fo = cairo_font_options_create();
    /* Unhinted metrics: positions must not depend on a device resolution. */
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    pango_cairo_context_set_font_options(pc, fo);
    pango_cairo_context_set_resolution(pc, 72);
    pango_context_set_round_glyph_positions(pc, FALSE);
    pango_context_set_language(pc, lang);
    pango_context_set_base_dir(pc, dir);
    pango_cairo_context_set_shape_renderer(pc, render_emoji_draw, NULL, NULL);
    cairo_font_options_destroy(fo);
    return pc;
}

int render_layout(struct rg_renderer *r, const json_t *doc, const struct render_theme *t,
                  const struct render_locale *loc, const struct rg_render_opts *opts,
                  struct render_doc *out, struct rg_diags *diags)
{
    struct render_ctx c;
    json_t *basics = rg_json_obj(doc, "basics");
    int letter = opts->paper && !strcasecmp(opts->paper, "letter");
    int pages_main, pages_side = 0;

    memset(&c, 0, sizeof c);
    memset(out, 0, sizeof *out);
    c.r = r;
    c.t = t;
    c.loc = loc;
    c.doc = doc;
    c.diags = diags;
    c.text_color = t->c_text;
    c.lang = pango_language_from_string(loc->lang);
    {
        /* The document's direction follows the bulk of its own text (the letters of name,
         * label and summary), falling back to the locale when they have none: an English
         * resume stays LTR with an Arabic project name, and also with an Arabic name (the
         * first letter of the name decided before, which mirrored such a page). */
        const char *probe[] = {S(basics, "name"), S(basics, "label"), S(basics, "summary")};
        size_t nrtl = 0, nltr = 0;
        for (size_t i = 0; i < RG_ARRAY_SIZE(probe); i++)
            for (const char *p = probe[i]; p && *p; p = g_utf8_next_char(p)) {
                FriBidiCharType bt = fribidi_get_bidi_type((FriBidiChar)g_utf8_get_char(p));
                if (FRIBIDI_IS_LETTER(bt))
                    *(FRIBIDI_IS_RTL(bt) ? &nrtl : &nltr) += 1;
            }
        c.rtl = nrtl + nltr == 0 ? loc->rtl : nrtl > nltr;
    }
    c.pc_ltr = mk_context(r, c.lang, PANGO_DIRECTION_LTR);
    c.pc_rtl = mk_context(r, c.lang, PANGO_DIRECTION_RTL);
    c.page_w = letter ? 612 : 595.276;
    c.page_h = letter ? 792 : 841.89;
    c.top = t->m_top;
    c.bottom = c.page_h - t->m_bottom;
    ctx_fonts(&c);
    if (t->photo && S(basics, "image"))
        (void)render_image_load(S(basics, "image"), opts->base_dir, &c.photo, diags);

    double inner = c.page_w - t->m_left - t->m_right;
    int two = t->columns == 2;
    if (two) {
        double sw = t->sidebar_width, pad = t->sidebar_pad;
        /* Sidebar on the start side ("left") or the end side, logical coordinates. */
        if (t->sidebar_left) {
            c.side.x = t->m_left + pad;
            c.side.w = sw - 2 * pad;
            c.main.x = t->m_left + sw + t->gap;
            c.main.w = inner - sw - t->gap;
        } else {
            c.main.x = t->m_left;
            c.main.w = inner - sw - t->gap;
            c.side.x = c.page_w - t->m_right - sw + pad;
            c.side.w = sw - 2 * pad;
        }
    } else {
        c.main.x = t->m_left;
        c.main.w = inner;
    }

    c.col = &c.main;
    int contact_in_side = two && in_list(t->sidebar_sections, t->nsidebar, "contact");
    header(&c, !contact_in_side);
    const char *main_order[RENDER_MAX_SECTIONS], *side_order[RENDER_MAX_SECTIONS];
    order_sections(doc, t->sections, t->nsections, main_order);
    order_sections(doc, t->sidebar_sections, t->nsidebar, side_order);
    for (size_t i = 0; i < t->nsections; i++)
        if (!two || !in_list(t->sidebar_sections, t->nsidebar, main_order[i]))
            section(&c, main_order[i], c.main.n ? t->sp_section : 0);
    if (two) {
        c.col = &c.side;
        if (t->c_header_bg.set && c.header_h > 0) {
            /* The band spans the page: the sidebar starts below it on page one. */
            struct item *sp = item_new(&c, 0, 0);
            sp->h = c.header_h + t->sp_section * 0.8 + t->sp_section;
        }
        for (size_t i = 0; i < t->nsidebar; i++)
            section(&c, side_order[i], c.side.n ? t->sp_section : 0);
    }

    out->page_w = c.page_w;
    out->page_h = c.page_h;
    out->rtl = c.rtl;
    pages_main = paginate(&c, &c.main, out);
    if (two)
        pages_side = paginate(&c, &c.side, out);
    (void)pages_main;
    (void)pages_side;
    if (out->npages == 0) {
        out->pages = rg_calloc(1, sizeof *out->pages);
        out->npages = 1;
    }

    /* Page furniture: header band and photo (page one), the sidebar background, and
     * "page x of y".  Backgrounds are moved under everything already on the page. */
    if (t->c_header_bg.set && c.header_h > 0) {
        struct render_op *o = render_page_push(&out->pages[0], OP_RECT);
        o->x = 0;
        o->y = 0;
        o->w = c.page_w;
        o->h = c.top + c.header_h + t->sp_section * 0.8;
        o->color = t->c_header_bg;
        to_back(&out->pages[0]);
    }
    if (c.photo_w > 0) {
        struct render_op *o = render_page_push(&out->pages[0], OP_IMAGE);
        o->x = c.main.x + c.main.w - c.photo_w;
        o->y = c.top;
        o->w = o->h = c.photo_w;
        o->image = cairo_surface_reference(c.photo);
    }
    for (size_t p = 0; p < out->npages; p++) {
        if (two && t->c_sidebar_bg.set) {
            struct render_op *o = render_page_push(&out->pages[p], OP_RECT);
            o->x = t->sidebar_left ? 0 : c.page_w - t->m_right - t->sidebar_width;
            o->w = t->sidebar_left ? t->m_left + t->sidebar_width : t->sidebar_width + t->m_right;
            o->y = 0;
            o->h = c.page_h;
            o->color = t->c_sidebar_bg;
            to_back(&out->pages[p]);
        }
        if (out->npages > 1) {
            char pn[24], pt[24];
            struct rg_buf f;
            snprintf(pn, sizeof pn, "%zu", p + 1);
            snprintf(pt, sizeof pt, "%zu", out->npages);
            rg_buf_init(&f, 512);
            for (const char *s = loc->page_fmt; *s;) {
                if (!strncmp(s, "{page}", 6)) {
                    (void)rg_buf_puts(&f, pn);
                    s += 6;
                } else if (!strncmp(s, "{pages}", 7)) {
                    (void)rg_buf_puts(&f, pt);
                    s += 7;
                } else {
                    (void)rg_buf_putc(&f, *s++);
                }
            }
            PangoLayout *l = mk_layout(&c, f.ptr, c.fd_small, inner, FLAG_CENTER, 0);
            struct line_box *lb;
            layout_lines(l, &lb);
            struct render_op *o = render_page_push(&out->pages[p], OP_TEXT);
            o->layout = l;
            o->line = 0;
            o->x = t->m_left;
            o->y = c.page_h - t->m_bottom / 2 - lb[0].h / 2;
            o->baseline = o->y + lb[0].baseline;
            o->color = t->c_muted;
            rg_free(lb);
            rg_buf_done(&f);
        }
    }
    ctx_done(&c);
    return 0;
}

struct render_op *render_page_push(struct render_page *p, enum render_op_kind kind)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->ops = rg_realloc(p->ops, p->cap * sizeof *p->ops);
    }
    struct render_op *op = &p->ops[p->n++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->line = -1;
    return op;
}

void render_doc_done(struct render_doc *d)
{
    for (size_t p = 0; p < d->npages; p++) {
        for (size_t k = 0; k < d->pages[p].n; k++)
            op_release(&d->pages[p].ops[k]);
        rg_free(d->pages[p].ops);
    }
    d->pages = rg_free(d->pages);
    d->npages = 0;
}
