/* Display list -> PDF through cairo (and -> PNG for the editor's live preview): text as real text (subset, embedded fonts with
 * ToUnicode maps, so the PDF is searchable and ATS-readable), link annotations over the
 * text they belong to, one outline entry per section, and document metadata.
 *
 * Right-to-left documents were laid out in logical coordinates; they are mirrored here,
 * box by box, so text inside each box keeps the direction pango shaped it with. */
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cairo-pdf.h>
#include <png.h>

#include "render-int.h"
#include "rg/json.h"
#include "rg/mem.h"

struct sink {
    struct rg_buf *out;
    int err;
};

static cairo_status_t write_buf(void *closure, const unsigned char *data, unsigned int len)
{
    struct sink *s = closure;
    if (!s->err)
        s->err = rg_buf_append(s->out, data, len);
    return s->err ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

/* cairo tag attributes quote strings with '...'; a quote or backslash inside is escaped. */
static void attr_quote(struct rg_buf *b, const char *s)
{
    (void)rg_buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'' || *s == '\\')
            (void)rg_buf_putc(b, '\\');
        (void)rg_buf_putc(b, *s);
    }
    (void)rg_buf_putc(b, '\'');
}

static double line_x(PangoLayout *l, int line)
{
    PangoLayoutIter *it = pango_layout_get_iter(l);
    PangoRectangle r;
    for (int i = 0; i < line && pango_layout_iter_next_line(it); i++)
        ;
    pango_layout_iter_get_line_extents(it, NULL, &r);
    pango_layout_iter_free(it);
    return r.x / (double)PANGO_SCALE;
}

static double box_width(PangoLayout *l)
{
    int w = pango_layout_get_width(l);
    if (w >= 0)
        return w / (double)PANGO_SCALE;
    PangoRectangle r;
    pango_layout_get_extents(l, NULL, &r);
    return r.width / (double)PANGO_SCALE;
}

static void draw_image(cairo_t *cr, const struct render_op *op, double x)
{
    double iw = cairo_image_surface_get_width(op->image);
    double ih = cairo_image_surface_get_height(op->image);
    double s = fmax(op->w / iw, op->h / ih), r = op->w * 0.12;
    cairo_save(cr);
    /* Rounded square, the picture centred and cropped to fill it. */
    cairo_new_sub_path(cr);
    cairo_arc(cr, x + op->w - r, op->y + r, r, -M_PI / 2, 0);
    cairo_arc(cr, x + op->w - r, op->y + op->h - r, r, 0, M_PI / 2);
    cairo_arc(cr, x + r, op->y + op->h - r, r, M_PI / 2, M_PI);
    cairo_arc(cr, x + r, op->y + r, r, M_PI, 3 * M_PI / 2);
    cairo_close_path(cr);
    cairo_clip(cr);
    cairo_translate(cr, x + (op->w - iw * s) / 2, op->y + (op->h - ih * s) / 2);
    cairo_scale(cr, s, s);
    cairo_set_source_surface(cr, op->image, 0, 0);
    cairo_paint(cr);
    cairo_restore(cr);
}

static void set_meta(cairo_surface_t *surf, cairo_pdf_metadata_t key, const char *v)
{
    if (v && *v)
        cairo_pdf_surface_set_metadata(surf, key, v);
}

static void metadata(cairo_surface_t *surf, const json_t *doc, int64_t when)
{
    json_t *b = rg_json_obj(doc, "basics"), *skills = rg_json_arr(doc, "skills"), *s, *k;
    const char *name = rg_json_nonempty(b, "name"), *label = rg_json_nonempty(b, "label");
    struct rg_buf kw;
    size_t i, j;
    char *title;

    if (name && label)
        title = rg_asprintf("%s — %s", name, label);
    else
        title = rg_strdup(name ? name : label ? label : "Résumé");
    set_meta(surf, CAIRO_PDF_METADATA_TITLE, title);
    set_meta(surf, CAIRO_PDF_METADATA_AUTHOR, name);
    set_meta(surf, CAIRO_PDF_METADATA_SUBJECT, label ? label : "Résumé");
    set_meta(surf, CAIRO_PDF_METADATA_CREATOR, "ResumeGo 0.1.0");
    /* Keywords: skill names and their keywords, for search and ATS. */
    rg_buf_init(&kw, 4096);
    json_array_foreach(skills, i, s)
    {
        const char *n = rg_json_nonempty(s, "name");
        if (n && rg_buf_printf(&kw, "%s%s", kw.len ? ", " : "", n) < 0)
            break;
        json_array_foreach(rg_json_arr(s, "keywords"), j, k)
        {
            if (json_is_string(k) && json_string_length(k) &&
                rg_buf_printf(&kw, "%s%s", kw.len ? ", " : "", json_string_value(k)) < 0)
                break;
        }
    }
    set_meta(surf, CAIRO_PDF_METADATA_KEYWORDS, kw.ptr);
    rg_buf_done(&kw);
    rg_free(title);
    if (when < 0) {
        /* No date given: write none (an empty value makes cairo leave the entry out)
         * rather than "now", so the same input always gives the same bytes and the
         * content-addressed store deduplicates renders. */
        cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATE_DATE, "");
        cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_MOD_DATE, "");
    } else {
        char date[32];
        time_t t = (time_t)when;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
        cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATE_DATE, date);
        cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_MOD_DATE, date);
    }
}

/* Draws page p's ops on cr.  pdf is the PDF surface (links and outline entries are PDF
 * objects), NULL when drawing on an image. */
static void draw_page(cairo_t *cr, cairo_surface_t *pdf, const struct render_doc *d, size_t p,
                      struct rg_buf *attr)
{
    const struct render_page *pg = &d->pages[p];
    for (size_t k = 0; k < pg->n; k++) {
        const struct render_op *op = &pg->ops[k];
        double x = op->x;
        switch (op->kind) {
        case OP_TEXT: {
            double bw = box_width(op->layout);
            if (d->rtl)
                x = d->page_w - op->x - bw;
            cairo_set_source_rgb(cr, op->color.r, op->color.g, op->color.b);
            if (op->pieces) {
                /* A line the layout engine broke itself: the pieces carry their x
                 * offsets from the line start (render-layout.c, wrap_pieces). */
                const char *text = pango_layout_get_text(op->layout);
                for (int i = 0; i < op->npieces; i++) {
                    cairo_move_to(cr, x, op->baseline);
                    pango_cairo_show_glyph_item(cr, text, op->pieces[i]);
                }
            } else if (op->line < 0) {
                cairo_move_to(cr, x, op->y);
                pango_cairo_show_layout(cr, op->layout);
            } else {
                PangoLayoutLine *line = pango_layout_get_line_readonly(op->layout, op->line);
                cairo_move_to(cr, x + line_x(op->layout, op->line), op->baseline);
                pango_cairo_show_layout_line(cr, line);
            }
            break;
        }
        case OP_RECT:
            if (d->rtl)
                x = d->page_w - op->x - op->w;
            cairo_set_source_rgb(cr, op->color.r, op->color.g, op->color.b);
            cairo_rectangle(cr, x, op->y, op->w, op->h);
            cairo_fill(cr);
            break;
        case OP_LINE:
            if (d->rtl)
                x = d->page_w - op->x - op->w;
            cairo_set_source_rgb(cr, op->color.r, op->color.g, op->color.b);
            cairo_set_line_width(cr, op->width);
            cairo_move_to(cr, x, op->y);
            cairo_line_to(cr, x + op->w, op->y + op->h);
            cairo_stroke(cr);
            break;
        case OP_LINK:
            if (!pdf)
                break;
            if (d->rtl)
                x = d->page_w - op->x - op->w;
            rg_buf_reset(attr);
            (void)rg_buf_printf(attr, "rect=[%.2f %.2f %.2f %.2f] uri=", x, op->y, op->w, op->h);
            attr_quote(attr, op->uri);
            cairo_tag_begin(cr, CAIRO_TAG_LINK, attr->ptr);
            cairo_tag_end(cr, CAIRO_TAG_LINK);
            break;
        case OP_IMAGE:
            if (d->rtl)
                x = d->page_w - op->x - op->w;
            draw_image(cr, op, x);
            break;
        case OP_DEST: {
            char dest[64];
            if (!pdf)
                break;
            snprintf(dest, sizeof dest, "page=%zu pos=[%.2f %.2f]", p + 1,
                     d->rtl ? d->page_w - op->x : op->x, op->y);
            cairo_pdf_surface_add_outline(pdf, CAIRO_PDF_OUTLINE_ROOT, op->name, dest, 0);
            break;
        }
        }
    }
}

int render_pdf_write(const struct render_doc *d, const json_t *doc, const char *lang,
                     int64_t source_date, struct rg_buf *out, struct rg_errinfo *ei)
{
    struct sink sink = {out, 0};
    cairo_surface_t *surf =
        cairo_pdf_surface_create_for_stream(write_buf, &sink, d->page_w, d->page_h);
    cairo_t *cr = cairo_create(surf);
    struct rg_buf attr;
    int r = 0;

    (void)lang;
    rg_buf_init(&attr, 64 * 1024);
    cairo_pdf_surface_restrict_to_version(surf, CAIRO_PDF_VERSION_1_5);
    metadata(surf, doc, source_date);
    /* cairo 1.16 reserves structure elements for link annotations and only writes them
     * inside a structure tree; without one the file references objects it never wrote
     * (qpdf: "object 5 0 not found").  One Document element makes the tree whole. */
    cairo_tag_begin(cr, "Document", "");
    for (size_t p = 0; p < d->npages; p++) {
        draw_page(cr, surf, d, p, &attr);
        if (p + 1 == d->npages)
            cairo_tag_end(cr, "Document");
        cairo_show_page(cr);
    }
    cairo_destroy(cr);
    cairo_surface_finish(surf);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS || sink.err) {
        r = sink.err == RG_ETOOBIG ? RG_ETOOBIG : RG_ERENDER;
        rg_errinfo_set(ei, r, "writing the PDF failed: %s",
                       sink.err ? rg_strerror(sink.err) : cairo_status_to_string(cairo_surface_status(surf)));
    }
    cairo_surface_destroy(surf);
    rg_buf_done(&attr);
    return r;
}

/* libpng's error callback: there is no way back into the encoder but the longjmp it
 * documents, so the message is kept and the caller's setjmp reports it. */
struct png_sink {
    struct rg_buf *out;
    int err;
    char msg[128];
};

static void png_write(png_structp png, png_bytep data, size_t len)
{
    struct png_sink *s = png_get_io_ptr(png);
    if (!s->err)
        s->err = rg_buf_append(s->out, data, len);
    if (s->err)
        png_error(png, "output buffer full");
}

static void png_flush(png_structp png)
{
    (void)png;
}

static void png_fail(png_structp png, png_const_charp msg)
{
    struct png_sink *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* cairo's own PNG writer (zlib's default level, adaptive filters) took 60 ms for a
 * 600-pixel-wide three-page resume, ten times its layout and drawing; a preview is made
 * and thrown away at every pause in typing, so it is written for speed: RGB without
 * alpha, no row filter and zlib level 1 (11 ms; SUB filtering, run-length or Huffman-only
 * strategies were slower here). */
static void put_rows(png_structp png, unsigned char *row, cairo_surface_t *surf)
{
    int w = cairo_image_surface_get_width(surf), h = cairo_image_surface_get_height(surf);
    int stride = cairo_image_surface_get_stride(surf);
    const unsigned char *px = cairo_image_surface_get_data(surf);
    for (int y = 0; y < h; y++) {
        const uint32_t *src = (const uint32_t *)(const void *)(px + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++) {
            uint32_t v = src[x]; /* CAIRO_FORMAT_RGB24: 0x00RRGGBB in native order */
            row[3 * x] = (unsigned char)(v >> 16);
            row[3 * x + 1] = (unsigned char)(v >> 8);
            row[3 * x + 2] = (unsigned char)v;
        }
        png_write_row(png, row);
    }
}

/* Draws page p onto page (width x page_h): directly, or (ss > 1) onto big, ss times
 * larger, then scaled down into page with a box filter. */
static void draw_raster_page(const struct render_doc *d, size_t p, double scale, int ss,
                             cairo_surface_t *big, cairo_surface_t *page)
{
    cairo_t *cr = cairo_create(ss > 1 ? big : page);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, scale * ss, scale * ss);
    draw_page(cr, NULL, d, p, NULL);
    cairo_destroy(cr);
    if (ss > 1) {
        cairo_surface_flush(big);
        cr = cairo_create(page);
        cairo_scale(cr, 1.0 / ss, 1.0 / ss);
        cairo_set_source_surface(cr, big, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
        cairo_paint(cr);
        cairo_destroy(cr);
    }
    cairo_surface_flush(page);
}

struct raster {
    const struct render_doc *d;
    size_t n; /* pages in the picture */
    double scale;
    int ss, width, page_h, gap;
    cairo_surface_t *big, *page;
    unsigned char *row, *grey;
};

/* Draws and writes the n pages of a into one PNG.  Only pointers into *a and the
 * sink live across libpng's longjmp. */
static int write_raster(const struct raster *a, struct rg_buf *out, struct rg_errinfo *ei)
{
    struct png_sink sink = {out, 0, ""};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, png_fail, png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int r = 0;

    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return rg_errinfo_set(ei, RG_ERENDER, "writing the PNG failed: out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        r = sink.err == RG_ETOOBIG ? RG_ETOOBIG : RG_ERENDER;
        rg_errinfo_set(ei, r, "writing the PNG failed: %s", sink.err ? rg_strerror(sink.err) : sink.msg);
        png_destroy_write_struct(&png, &info);
        return r;
    }
    png_set_write_fn(png, &sink, png_write, png_flush);
    png_set_IHDR(png, info, (png_uint_32)a->width,
                 (png_uint_32)(a->page_h * (int)a->n + a->gap * (int)(a->n - 1)), 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 1);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
    png_write_info(png, info);
    for (size_t p = 0; p < a->n; p++) {
        if (p < a->d->npages)
            draw_raster_page(a->d, p, a->scale, a->ss, a->big, a->page);
        put_rows(png, a->row, a->page);
        for (int y = 0; p + 1 < a->n && y < a->gap; y++)
            png_write_row(png, a->grey);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return 0;
}

int render_png_write(const struct render_doc *d, int width, int gap, struct rg_buf *out,
                     int *ndrawn, struct rg_errinfo *ei)
{
    struct raster a = {.d = d, .width = width, .gap = gap};
    int r;

    a.scale = width / d->page_w;
    a.page_h = (int)ceil(d->page_h * a.scale);
    a.n = d->npages ? d->npages : 1;
    /* cairo 1.16's image backend puts every glyph at a whole pixel: at 1x, 8-point text
     * came out unevenly spaced ("Pyth on", "+96 6").  Below 1,200 pixels (a 1x screen)
     * each page is drawn twice as large and scaled down with a box filter, so glyphs land
     * within half a pixel of where the PDF has them (+5 ms at 600 pixels). */
    a.ss = width < 1200 ? 2 : 1;
    /* The pixel budget bounds the size and time of one preview, and the height keeps the
     * picture within what browsers and cairo handle (at 600 pixels wide, 38 A4 pages): the
     * pages past either are left out (the caller says how many there are).  Memory is one
     * page: each is drawn, scaled and written before the next. */
    while (a.n > 1 &&
           ((int64_t)width * ((int64_t)a.page_h * (int64_t)a.n + (int64_t)gap * (int64_t)(a.n - 1)) >
                RENDER_PNG_MAX_PIXELS ||
            (int64_t)a.page_h * (int64_t)a.n + (int64_t)gap * (int64_t)(a.n - 1) > RENDER_PNG_MAX_HEIGHT))
        a.n--;
    if ((int64_t)width * a.page_h > RENDER_PNG_MAX_PIXELS)
        return rg_errinfo_set(ei, RG_ETOOBIG, "a page %d pixels wide is over the preview's %d pixels",
                              width, RENDER_PNG_MAX_PIXELS);
    a.page = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, a.page_h);
    if (a.ss > 1)
        a.big = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width * a.ss, a.page_h * a.ss);
    a.row = rg_malloc((size_t)width * 3);
    /* Between the pages: the grey of the preview pane behind them. */
    a.grey = rg_malloc((size_t)width * 3);
    for (int x = 0; x < width * 3; x += 3)
        a.grey[x] = 0xed, a.grey[x + 1] = 0xf0, a.grey[x + 2] = 0xf2;
    if (cairo_surface_status(a.page) != CAIRO_STATUS_SUCCESS ||
        (a.big && cairo_surface_status(a.big) != CAIRO_STATUS_SUCCESS))
        r = rg_errinfo_set(ei, RG_ERENDER, "drawing the preview failed: %s",
                           cairo_status_to_string(cairo_surface_status(a.big ? a.big : a.page)));
    else
        r = write_raster(&a, out, ei);
    rg_free(a.row);
    rg_free(a.grey);
    if (a.big)
        cairo_surface_destroy(a.big);
    cairo_surface_destroy(a.page);
    if (ndrawn)
        *ndrawn = d->npages ? (int)a.n : 0;
    return r;
}
