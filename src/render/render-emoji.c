/* Colour emoji.
 *
 * cairo 1.16 cannot put a colour (bitmap) font into a PDF except as a Type 3 font, which
 * crashes it inside a tagged PDF, so pango cannot simply draw Noto Color Emoji.  Instead an
 * emoji cluster -- one grapheme: a ZWJ family, a flag, a skin tone, a keycap -- becomes a
 * pango shape attribute as wide as the emoji: pango breaks lines around it like any
 * character, and the shape renderer (render_emoji_draw) paints the emoji's bitmap from Noto
 * Color Emoji as an image.  Under the image it draws one outline glyph (Symbola) that
 * carries the whole cluster as its text, so copy-paste and text extraction give the exact
 * characters written, zero-width joiners and selectors included.
 *
 * Bitmaps are scaled once to EMOJI_PX pixels per em (about 350 dpi at 11 pt) and cached
 * per renderer: cairo's PDF output embeds each distinct image once per document. */
#include <ft2build.h>
#include FT_FREETYPE_H
#include <hb-ft.h>
#include <hb.h>
#include <cairo-ft.h>
#include <string.h>

#include "render-int.h"
#include "rg/mem.h"

#define EMOJI_PX 64        /* pixels per em of the cached images */
#define EMOJI_MAX_GLYPHS 8 /* a cluster the font draws as more glyphs is left to Symbola */
#define EMOJI_MAX_CACHE 512

struct emoji_glyph {
    cairo_surface_t *img; /* EMOJI_PX per em; NULL for a glyph with no bitmap */
    double left, top;     /* image origin from the pen position, em (y up) */
    double adv;           /* advance, em */
};

/* One emoji cluster: shared by the shape attributes that draw it. */
struct render_emoji_run {
    int refs;
    char *text; /* the cluster, UTF-8 */
    int n;
    struct emoji_glyph g[EMOJI_MAX_GLYPHS];
    double adv;                   /* em */
    cairo_font_face_t *text_face; /* Symbola */
};

struct render_emoji {
    FT_Library ft;
    FT_Face face; /* Noto Color Emoji, its bitmap strike selected */
    hb_font_t *hb;
    cairo_font_face_t *text_face;
    GHashTable *cache; /* cluster text -> run, or NULL for "not drawn in colour" */
};

static struct render_emoji_run *run_ref(struct render_emoji_run *e)
{
    g_atomic_int_inc(&e->refs);
    return e;
}

static void run_unref(struct render_emoji_run *e)
{
    if (!e || !g_atomic_int_dec_and_test(&e->refs))
        return;
    for (int i = 0; i < e->n; i++)
        if (e->g[i].img)
            cairo_surface_destroy(e->g[i].img);
    cairo_font_face_destroy(e->text_face);
    rg_free(e->text);
    rg_free(e);
}

static gpointer run_copy(gconstpointer p)
{
    return run_ref((struct render_emoji_run *)(uintptr_t)p);
}

static void run_destroy(gpointer p)
{
    run_unref(p);
}

static void key_free(gpointer p)
{
    rg_free(p);
}

static char *font_file(FcConfig *fc, const char *family)
{
    FcPattern *p = FcPatternBuild(NULL, FC_FAMILY, FcTypeString, family, (char *)NULL);
    FcObjectSet *os = FcObjectSetBuild(FC_FILE, (char *)NULL);
    FcFontSet *fs = FcFontList(fc, p, os);
    char *file = NULL;
    FcChar8 *f;

    if (fs && fs->nfont > 0 && FcPatternGetString(fs->fonts[0], FC_FILE, 0, &f) == FcResultMatch)
        file = rg_strdup((const char *)f);
    if (fs)
        FcFontSetDestroy(fs);
    FcObjectSetDestroy(os);
    FcPatternDestroy(p);
    return file;
}

/* Opens the fonts; NULL (and emoji stay with the fallback fonts) without them. */
static struct render_emoji *emoji_open(struct rg_renderer *r)
{
    FcConfig *fc = r->fc ? r->fc : FcConfigGetCurrent();
    char *cf = font_file(fc, "Noto Color Emoji"), *tf = font_file(fc, "Symbola");
    struct render_emoji *em = rg_calloc(1, sizeof *em);
    int ok = 0;

    if (cf && tf && FT_Init_FreeType(&em->ft) == 0) {
        if (FT_New_Face(em->ft, cf, 0, &em->face) == 0 && FT_HAS_COLOR(em->face) &&
            em->face->num_fixed_sizes > 0 && FT_Select_Size(em->face, 0) == 0) {
            FcPattern *p = FcPatternBuild(NULL, FC_FILE, FcTypeString, tf, FC_INDEX, FcTypeInteger,
                                          0, (char *)NULL);
            em->text_face = cairo_ft_font_face_create_for_pattern(p);
            FcPatternDestroy(p);
            em->hb = hb_ft_font_create_referenced(em->face);
            ok = cairo_font_face_status(em->text_face) == CAIRO_STATUS_SUCCESS;
        }
    }
    rg_free(cf);
    rg_free(tf);
    em->cache = g_hash_table_new_full(g_str_hash, g_str_equal, key_free, run_destroy);
    if (!ok) {
        render_emoji_free(em);
        return NULL;
    }
    return em;
}

void render_emoji_free(struct render_emoji *em)
{
    if (!em)
        return;
    if (em->cache)
        g_hash_table_destroy(em->cache);
    if (em->hb)
        hb_font_destroy(em->hb);
    if (em->text_face)
        cairo_font_face_destroy(em->text_face);
    if (em->face)
        FT_Done_Face(em->face);
    if (em->ft)
        FT_Done_FreeType(em->ft);
    rg_free(em);
}

/* The glyph's bitmap scaled to EMOJI_PX per em.  FreeType's BGRA is premultiplied like
 * cairo's ARGB32, in byte order. */
static int load_glyph(struct render_emoji *em, unsigned gid, struct emoji_glyph *g)
{
    double ppem = em->face->size->metrics.y_ppem;

    if (FT_Load_Glyph(em->face, gid, FT_LOAD_COLOR) != 0)
        return -1;
    FT_GlyphSlot s = em->face->glyph;
    g->adv = s->advance.x / 64.0 / ppem;
    g->left = s->bitmap_left / ppem;
    g->top = s->bitmap_top / ppem;
    if (!s->bitmap.width || !s->bitmap.rows)
        return 0; /* e.g. a joiner drawn as nothing */
    if (s->bitmap.pixel_mode != FT_PIXEL_MODE_BGRA)
        return -1;
    int w = (int)s->bitmap.width, h = (int)s->bitmap.rows;
    cairo_surface_t *full = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    cairo_surface_flush(full);
    unsigned char *dst = cairo_image_surface_get_data(full);
    int stride = cairo_image_surface_get_stride(full);
    for (int y = 0; y < h; y++) {
        const unsigned char *src = s->bitmap.buffer + (ptrdiff_t)y * s->bitmap.pitch;
        uint32_t *row = (uint32_t *)(void *)(dst + (ptrdiff_t)y * stride);
        for (int x = 0; x < w; x++)
            row[x] = (uint32_t)src[4 * x + 3] << 24 | (uint32_t)src[4 * x + 2] << 16 |
                     (uint32_t)src[4 * x + 1] << 8 | src[4 * x];
    }
    cairo_surface_mark_dirty(full);

    int sw = (int)(w * EMOJI_PX / ppem + 0.5), sh = (int)(h * EMOJI_PX / ppem + 0.5);
    g->img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, sw > 0 ? sw : 1, sh > 0 ? sh : 1);
    cairo_t *cr = cairo_create(g->img);
    cairo_scale(cr, (double)cairo_image_surface_get_width(g->img) / w,
                (double)cairo_image_surface_get_height(g->img) / h);
    cairo_set_source_surface(cr, full, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_BEST);
    cairo_paint(cr);
    cairo_destroy(cr);
    cairo_surface_destroy(full);
    return 0;
}

/* Shapes one cluster with the colour font: a run when it draws it as a few glyphs it has. */
static struct render_emoji_run *shape_run(struct render_emoji *em, const char *text, size_t len)
{
    hb_buffer_t *buf = hb_buffer_create();
    struct render_emoji_run *e = NULL;
    unsigned n;

    hb_buffer_add_utf8(buf, text, (int)len, 0, (int)len);
    hb_buffer_guess_segment_properties(buf);
    hb_shape(em->hb, buf, NULL, 0);
    hb_glyph_info_t *gi = hb_buffer_get_glyph_infos(buf, &n);
    int ok = n > 0 && n <= EMOJI_MAX_GLYPHS;
    for (unsigned i = 0; ok && i < n; i++)
        ok = gi[i].codepoint != 0;
    if (ok) {
        e = rg_calloc(1, sizeof *e);
        e->refs = 1;
        e->text = rg_strndup(text, len);
        e->text_face = cairo_font_face_reference(em->text_face);
        for (unsigned i = 0; ok && i < n; i++) {
            ok = load_glyph(em, gi[i].codepoint, &e->g[e->n]) == 0;
            e->adv += e->g[e->n++].adv;
        }
        if (!ok || e->adv <= 0) {
            run_unref(e);
            e = NULL;
        }
    }
    hb_buffer_destroy(buf);
    return e;
}

/* A new reference to the run of a cluster, or NULL. */
static struct render_emoji_run *emoji_run(struct render_emoji *em, const char *s, size_t len)
{
    char *key = rg_strndup(s, len);
    gpointer v;

    if (g_hash_table_lookup_extended(em->cache, key, NULL, &v)) {
        rg_free(key);
        return v ? run_ref(v) : NULL;
    }
    struct render_emoji_run *e = shape_run(em, s, len);
    if (g_hash_table_size(em->cache) < EMOJI_MAX_CACHE)
        g_hash_table_insert(em->cache, key, e ? run_ref(e) : NULL);
    else
        rg_free(key);
    return e;
}

/* Characters shown as emoji without a variation selector (Emoji_Presentation=Yes) below
 * U+1F000, from Unicode's emoji-data.txt; above it the colour font decides. */
static int bmp_emoji_presentation(gunichar c)
{
    static const gunichar r[][2] = {
        {0x231A, 0x231B}, {0x23E9, 0x23EC}, {0x23F0, 0x23F0}, {0x23F3, 0x23F3},
        {0x25FD, 0x25FE}, {0x2614, 0x2615}, {0x2648, 0x2653}, {0x267F, 0x267F},
        {0x2693, 0x2693}, {0x26A1, 0x26A1}, {0x26AA, 0x26AB}, {0x26BD, 0x26BE},
        {0x26C4, 0x26C5}, {0x26CE, 0x26CE}, {0x26D4, 0x26D4}, {0x26EA, 0x26EA},
        {0x26F2, 0x26F3}, {0x26F5, 0x26F5}, {0x26FA, 0x26FA}, {0x26FD, 0x26FD},
        {0x2705, 0x2705}, {0x270A, 0x270B}, {0x2728, 0x2728}, {0x274C, 0x274C},
        {0x274E, 0x274E}, {0x2753, 0x2755}, {0x2757, 0x2757}, {0x2795, 0x2797},
        {0x27B0, 0x27B0}, {0x27BF, 0x27BF}, {0x2B1B, 0x2B1C}, {0x2B50, 0x2B50},
        {0x2B55, 0x2B55},
    };
    for (size_t i = 0; i < RG_ARRAY_SIZE(r); i++)
        if (c >= r[i][0] && c <= r[i][1])
            return 1;
    return 0;
}

/* Whether the grapheme [s, e) asks to be shown as an emoji. */
static int cluster_wants_emoji(const char *s, const char *e)
{
    gunichar first = g_utf8_get_char(s);
    int n = 0, marked = 0;

    for (const char *p = s; p < e; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        n++;
        if (c == 0xFE0E) /* text presentation asked for */
            return 0;
        if (c == 0xFE0F || c == 0x200D || c == 0x20E3 || (c >= 0x1F3FB && c <= 0x1F3FF) ||
            (c >= 0xE0020 && c <= 0xE007F))
            marked = 1;
    }
    if (marked)
        return 1;
    if (first >= 0x1F1E6 && first <= 0x1F1FF) /* a flag is two regional indicators */
        return n == 2;
    return first >= 0x1F000 || bmp_emoji_presentation(first);
}

/* A cheap test that text has no emoji at all: no character from U+2300 to U+2BFF or
 * from U+1F000, no variation selector 16 or keycap. */
static int maybe_emoji(const char *t)
{
    for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
        if (*p < 0xE2)
            continue;
        if (p[0] == 0xF0 && p[1] == 0x9F)
            return 1;
        if (p[0] == 0xE2 && ((p[1] >= 0x8C && p[1] <= 0xAF) || (p[1] == 0x83 && p[2] == 0xA3)))
            return 1;
        if (p[0] == 0xEF && p[1] == 0xB8 && p[2] == 0x8F)
            return 1;
    }
    return 0;
}

int render_emoji_attrs(struct rg_renderer *r, const char *text, double size, PangoAttrList *al)
{
    if (!maybe_emoji(text))
        return 0;
    if (!r->emoji && !r->emoji_failed) {
        r->emoji = emoji_open(r);
        r->emoji_failed = !r->emoji;
    }
    if (!r->emoji)
        return 0;

    int len = (int)strlen(text), nchars = (int)g_utf8_strlen(text, len), found = 0;
    PangoLogAttr *la = rg_calloc((size_t)nchars + 1, sizeof *la);
    pango_get_log_attrs(text, len, -1, NULL, la, nchars + 1);
    const char *start = text, *p = text;
    for (int i = 0; i < nchars; i++) {
        p = g_utf8_next_char(p);
        if (!la[i + 1].is_cursor_position)
            continue;
        struct render_emoji_run *e;
        if (cluster_wants_emoji(start, p) &&
            (e = emoji_run(r->emoji, start, (size_t)(p - start)))) {
            /* Logical height within the text's own (0.8 em up, 0.2 em down): an emoji does
             * not make its line taller; the image may reach a little above, as in print. */
            PangoRectangle lr = {0, (int)(-0.8 * size * PANGO_SCALE),
                                 (int)(e->adv * size * PANGO_SCALE), (int)(size * PANGO_SCALE)};
            /* pango gives every character of a shaped range the shape's width: the first
             * character draws the cluster, the rest of it take no room and draw nothing. */
            const char *second = g_utf8_next_char(start);
            PangoAttribute *a = pango_attr_shape_new_with_data(&lr, &lr, e, run_copy, run_destroy);
            a->start_index = (guint)(start - text);
            a->end_index = (guint)(second - text);
            pango_attr_list_insert(al, a);
            if (second < p) {
                PangoRectangle none = {0, lr.y, 0, lr.height};
                a = pango_attr_shape_new(&none, &none);
                a->start_index = (guint)(second - text);
                a->end_index = (guint)(p - text);
                pango_attr_list_insert(al, a);
            }
            found++;
        }
        start = p;
    }
    rg_free(la);
    return found;
}

void render_emoji_draw(cairo_t *cr, PangoAttrShape *attr, gboolean do_path, gpointer data)
{
    const struct render_emoji_run *e = attr->data;
    double x, y;
    (void)data;

    if (do_path || !e || !cairo_has_current_point(cr))
        return;
    cairo_get_current_point(cr, &x, &y);
    double size = attr->logical_rect.width / (double)PANGO_SCALE / e->adv;

    /* The text layer: one outline glyph on the baseline, stretched to the emoji's width
     * so that text extraction reads it in line with its neighbours, carrying the whole
     * cluster as its text.  It is clipped to a speck at its middle (cairo has no invisible
     * text mode, and drops a drawing clipped away entirely), under the picture. */
    cairo_save(cr);
    cairo_set_font_face(cr, e->text_face);
    cairo_set_font_size(cr, size);
    cairo_glyph_t *gl = NULL;
    int ng = 0;
    char first[8] = {0};
    g_unichar_to_utf8(g_utf8_get_char(e->text), first);
    cairo_scaled_font_t *sf = cairo_get_scaled_font(cr);
    if (cairo_scaled_font_text_to_glyphs(sf, 0, 0, first, -1, &gl, &ng, NULL, NULL, NULL) !=
            CAIRO_STATUS_SUCCESS ||
        ng < 1 || gl[0].index == 0) {
        cairo_glyph_free(gl);
        gl = NULL;
        /* not in Symbola (a newer emoji): a white square carries the text instead */
        (void)cairo_scaled_font_text_to_glyphs(sf, 0, 0, "\u25A1", -1, &gl, &ng, NULL, NULL, NULL);
    }
    if (gl && ng >= 1) {
        cairo_text_extents_t ex;
        cairo_glyph_extents(cr, gl, 1, &ex);
        if (ex.x_advance > 0 && ex.width > 0) {
            cairo_matrix_t m;
            cairo_matrix_init_scale(&m, size * e->adv * size / ex.x_advance, size);
            cairo_set_font_matrix(cr, &m);
            gl[0].x = x;
            gl[0].y = y;
            cairo_glyph_extents(cr, gl, 1, &ex);
            double cx = x + ex.x_bearing + ex.width / 2, cy = y + ex.y_bearing + ex.height / 2;
            cairo_rectangle(cr, cx - 0.05, cy - 0.05, 0.1, 0.1);
            cairo_clip(cr);
            cairo_text_cluster_t cl = {(int)strlen(e->text), 1};
            cairo_show_text_glyphs(cr, e->text, -1, gl, 1, &cl, 1, 0);
        }
    }
    cairo_glyph_free(gl);
    cairo_restore(cr);

    /* The picture. */
    double pen = x;
    int pdf = cairo_surface_get_type(cairo_get_target(cr)) == CAIRO_SURFACE_TYPE_PDF;
    for (int i = 0; i < e->n; i++) {
        const struct emoji_glyph *g = &e->g[i];
        if (g->img) {
            double k = size / EMOJI_PX;
            /* Painted inside a group of its own: cairo 1.16 lists an image in the page's
             * resources once per paint, and a page with one emoji twice would carry a
             * dictionary with a duplicated key.  The image itself is still stored once.
             * Only in a PDF: on an image surface (the PNG preview) a group is a scratch
             * surface as large as the clip, the whole page, for every emoji. */
            cairo_save(cr);
            if (pdf)
                cairo_push_group(cr);
            cairo_translate(cr, pen + g->left * size, y - g->top * size);
            cairo_scale(cr, k, k);
            cairo_set_source_surface(cr, g->img, 0, 0);
            cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
            cairo_paint(cr);
            if (pdf) {
                cairo_pop_group_to_source(cr);
                cairo_paint(cr);
            }
            cairo_restore(cr);
        }
        pen += g->adv * size;
    }
}
