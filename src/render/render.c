/* The renderer's front door: data directory, fonts, theme and locale selection. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fontconfig/fontconfig.h>
#include <pango/pangofc-fontmap.h>

#include "render-int.h"
#include "rg/json.h"
#include "rg/mem.h"

#ifndef RG_DEFAULT_DATA_DIR
#define RG_DEFAULT_DATA_DIR "/usr/share/resumego"
#endif

static pthread_mutex_t fc_lock = PTHREAD_MUTEX_INITIALIZER;
static int fc_current_set;

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the .json files in dir, sorted by name (sorted so that loading order, and with it every
 * "first match", is the same on every machine). */
static size_t list_json(const char *dir, char ***ret)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL;
    size_t n = 0, cap = 0;
    if (!d) {
        *ret = NULL;
        return 0;
    }
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") || e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = rg_realloc(v, cap * sizeof *v);
        }
        v[n++] = rg_asprintf("%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, cmp_names);
    *ret = v;
    return n;
}

/* Appends the families of a comma-separated list to the XML of acceptfont rules. */
static void accept_families(struct rg_buf *x, const char *list)
{
    char *copy = rg_strdup(list), *save = NULL;
    for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        while (*f == ' ')
            f++;
        char *e = f + strlen(f);
        while (e > f && e[-1] == ' ')
            *--e = '\0';
        if (!*f || strpbrk(f, "<>&\"'"))
            continue;
        (void)rg_buf_printf(x,
                            "<pattern><patelt name=\"family\"><string>%s</string></patelt>"
                            "</pattern>\n",
                            f);
    }
    rg_free(copy);
}

/* The renderer's own fontconfig configuration.
 *
 * The system configuration is a sixty-file XML tree whose aliases and preferences vary
 * between machines, and pango sorts every installed font for each new font description
 * (FcFontSort: most of a cold render's time).  Ours reads the same font directories
 * through the same caches, but accepts only the families the themes and the fallback
 * chain name, and states the CJK choice by language itself, so a render is faster and
 * draws the same glyphs on every machine with the project's font packages. */
static FcConfig *font_config(const struct rg_renderer *r, struct rg_errinfo *ei)
{
    static const struct {
        const char *lang, *family;
    } cjk[] = {
        {"ja", "Noto Sans CJK JP"}, {"ko", "Noto Sans CJK KR"}, {"zh-tw", "Noto Sans CJK TC"},
        {"zh-hk", "Noto Sans CJK HK"}, {"zh-mo", "Noto Sans CJK HK"},
    };
    struct rg_buf x;
    FcConfig *fc = FcConfigCreate();

    rg_buf_init(&x, 256 * 1024);
    (void)rg_buf_puts(&x, "<?xml version=\"1.0\"?>\n<fontconfig>\n"
                          "<dir>/usr/share/fonts</dir>\n<dir>/usr/local/share/fonts</dir>\n"
                          "<cachedir>/var/cache/fontconfig</cachedir>\n"
                          "<cachedir prefix=\"xdg\">fontconfig</cachedir>\n"
                          "<selectfont><acceptfont>\n");
    for (size_t i = 0; i < r->nthemes; i++) {
        accept_families(&x, r->themes[i]->font_body);
        accept_families(&x, r->themes[i]->font_heading);
        accept_families(&x, r->themes[i]->font_name);
    }
    accept_families(&x, FALLBACK_FAMILIES);
    accept_families(&x, SCRIPT_FAMILIES);
    /* Read by render-emoji.c only: no font description names it. */
    accept_families(&x, "Noto Color Emoji");
    accept_families(&x, "Noto Sans CJK SC, Noto Sans CJK TC, Noto Sans CJK HK, Noto Sans CJK "
                        "JP, Noto Sans CJK KR");
    (void)rg_buf_puts(&x, "</acceptfont><rejectfont><pattern></pattern></rejectfont></selectfont>\n");
    /* Han characters take the face of the document's language; Simplified Chinese
     * otherwise.  Appended, so the theme's font still draws everything it covers. */
    for (size_t i = 0; i < RG_ARRAY_SIZE(cjk); i++)
        (void)rg_buf_printf(&x,
                            "<match><test name=\"lang\" compare=\"contains\"><string>%s</string>"
                            "</test><edit name=\"family\" mode=\"append\"><string>%s</string>"
                            "</edit></match>\n",
                            cjk[i].lang, cjk[i].family);
    (void)rg_buf_puts(&x, "<match><edit name=\"family\" mode=\"append\"><string>Noto Sans CJK "
                          "SC</string></edit></match>\n"
                          "</fontconfig>\n");
    if (!x.ptr || !FcConfigParseAndLoadFromMemory(fc, (const FcChar8 *)x.ptr, FcTrue) ||
        !FcConfigBuildFonts(fc)) {
        FcConfigDestroy(fc);
        rg_buf_done(&x);
        rg_errinfo_set(ei, RG_ERENDER, "cannot set up fonts (fontconfig)");
        return NULL;
    }
    rg_buf_done(&x);
    FcFontSet *set = FcConfigGetFonts(fc, FcSetSystem);
    if (!set || set->nfont == 0) {
        FcConfigDestroy(fc);
        rg_errinfo_set(ei, RG_ERENDER,
                       "none of the fonts the themes use is installed (run scripts/deps)");
        return NULL;
    }
    return fc;
}

struct rg_renderer *rg_renderer_new(const char *data_dir, struct rg_errinfo *ei)
{
    struct rg_renderer *r = rg_calloc(1, sizeof *r);
    char *dir = NULL, **files = NULL;
    size_t n = 0;
    int err = 0;

    if (!data_dir)
        data_dir = getenv("RG_DATA_DIR");
    r->data_dir = rg_strdup(data_dir && *data_dir ? data_dir : RG_DEFAULT_DATA_DIR);

    dir = rg_asprintf("%s/themes", r->data_dir);
    n = list_json(dir, &files);
    for (size_t i = 0; i < n; i++) {
        struct render_theme *t;
        if (!err && r->nthemes < RENDER_MAX_THEMES &&
            (err = render_theme_load(files[i], &t, ei)) == 0)
            r->themes[r->nthemes++] = t;
        rg_free(files[i]);
    }
    rg_free(files);
    if (!err && r->nthemes == 0)
        err = rg_errinfo_set(ei, RG_ETHEME, "no themes in %s", dir);
    rg_free(dir);

    dir = rg_asprintf("%s/locales", r->data_dir);
    n = list_json(dir, &files);
    for (size_t i = 0; i < n; i++) {
        struct render_locale *l;
        if (!err && r->nlocales < RG_ARRAY_SIZE(r->locales) &&
            (err = render_locale_load(files[i], &l, ei)) == 0)
            r->locales[r->nlocales++] = l;
        rg_free(files[i]);
    }
    rg_free(files);
    if (!err && !render_locale_find(r, "en"))
        err = rg_errinfo_set(ei, RG_ECONFIG, "no English locale in %s", dir);
    rg_free(dir);
    if (err)
        return rg_renderer_free(r);

    /* One font map per renderer: pango font maps are not thread-safe, renderers are
     * per thread. */
    if (!getenv("RG_SYSTEM_FONTCONFIG")) {
        r->fc = font_config(r, ei);
        if (!r->fc)
            return rg_renderer_free(r);
        /* Creating a pango font map initialises fontconfig's default configuration (the
         * whole system XML tree, an eighth of a cold render) unless a current one is
         * set; the first renderer's configuration becomes the process default. */
        pthread_mutex_lock(&fc_lock);
        if (!fc_current_set) {
            FcConfigSetCurrent(r->fc);
            fc_current_set = 1;
        }
        pthread_mutex_unlock(&fc_lock);
    }
    /* The pango font map is made at the first render: it starts a thread, and a
     * renderer that only checks options (or is made before fork()) needs none. */
    return r;
}

struct rg_renderer *rg_renderer_free(struct rg_renderer *r)
{
    if (!r)
        return NULL;
    render_emoji_free(r->emoji);
    for (size_t i = 0; i < r->nthemes; i++)
        render_theme_free(r->themes[i]);
    for (size_t i = 0; i < r->nlocales; i++)
        render_locale_free(r->locales[i]);
    if (r->fontmap)
        g_object_unref(r->fontmap);
    if (r->fc)
        FcConfigDestroy(r->fc);
    rg_free(r->data_dir);
    return rg_free(r);
}

const char *rg_renderer_data_dir(const struct rg_renderer *r)
{
    return r->data_dir;
}

const struct render_theme *render_theme_find(const struct rg_renderer *r, const char *name)
{
    for (size_t i = 0; i < r->nthemes; i++)
        if (!strcmp(r->themes[i]->name, name))
            return r->themes[i];
    return NULL;
}

const struct render_locale *render_locale_find(const struct rg_renderer *r, const char *tag)
{
    char primary[16];
    size_t k = 0;

    for (size_t i = 0; i < r->nlocales; i++)
        if (!strcasecmp(r->locales[i]->tag, tag))
            return r->locales[i];
    /* "pt-BR" -> "pt", "zh_Hans" -> "zh" */
    while (tag[k] && tag[k] != '-' && tag[k] != '_' && k + 1 < sizeof primary) {
        primary[k] = (char)(tag[k] | 0x20);
        k++;
    }
    primary[k] = '\0';
    for (size_t i = 0; i < r->nlocales; i++)
        if (!strcmp(r->locales[i]->tag, primary))
            return r->locales[i];
    return NULL;
}

json_t *rg_render_themes(struct rg_renderer *r)
{
    json_t *items = json_array();
    for (size_t i = 0; i < r->nthemes; i++)
        json_array_append_new(items, json_pack("{s:s,s:s,s:i}", "name", r->themes[i]->name,
                                               "description", r->themes[i]->description,
                                               "columns", r->themes[i]->columns));
    return json_pack("{s:o}", "items", items);
}

/* The locale when none is asked for: a hint in meta, else the script of the resume's own
 * text (so a Japanese resume gets Japanese headings and Japanese glyph forms), else English. */
static const struct render_locale *guess_locale(const struct rg_renderer *r, const json_t *doc)
{
    json_t *meta = rg_json_obj(doc, "meta"), *b = rg_json_obj(doc, "basics");
    const char *keys[] = {"locale", "language", "lang", "x-lang"};
    for (size_t i = 0; i < RG_ARRAY_SIZE(keys); i++) {
        const char *s = rg_json_nonempty(meta, keys[i]);
        const struct render_locale *l = s ? render_locale_find(r, s) : NULL;
        if (l)
            return l;
    }
    const char *probe[] = {rg_json_nonempty(b, "name"), rg_json_nonempty(b, "label"),
                           rg_json_nonempty(b, "summary")};
    int han = 0, kana = 0, hangul = 0, arabic = 0, hebrew = 0, cyr = 0, latin = 0;
    for (size_t i = 0; i < RG_ARRAY_SIZE(probe); i++)
        for (const char *p = probe[i]; p && *p; p = g_utf8_next_char(p)) {
            gunichar ch = g_utf8_get_char(p);
            switch (g_unichar_get_script(ch)) {
            case G_UNICODE_SCRIPT_HAN:
                han++;
                break;
            case G_UNICODE_SCRIPT_HIRAGANA:
            case G_UNICODE_SCRIPT_KATAKANA:
                kana++;
                break;
            case G_UNICODE_SCRIPT_HANGUL:
                hangul++;
                break;
            case G_UNICODE_SCRIPT_ARABIC:
                arabic++;
                break;
            case G_UNICODE_SCRIPT_HEBREW:
                hebrew++;
                break;
            case G_UNICODE_SCRIPT_CYRILLIC:
                cyr++;
                break;
            case G_UNICODE_SCRIPT_LATIN:
                latin++;
                break;
            default:
                break;
            }
        }
    const char *tag = "en";
    if (kana)
        tag = "ja";
    else if (hangul)
        tag = "ko";
    else if (han > latin)
        tag = "zh";
    else if (arabic > latin)
        tag = "ar";
    else if (hebrew > latin)
        tag = "he";
    else if (cyr > latin)
        tag = "ru";
    const struct render_locale *l = render_locale_find(r, tag);
    return l ? l : render_locale_find(r, "en");
}

/* Resolves the theme and locale named by opts (locale NULL when none is named). */
static int resolve(const struct rg_renderer *r, const struct rg_render_opts *opts,
                   const struct render_theme **ret_theme, const struct render_locale **ret_loc,
                   struct rg_errinfo *ei)
{
    const struct render_theme *t = render_theme_find(r, opts->theme ? opts->theme : "classic");
    const struct render_locale *loc = NULL;
    struct rg_buf names;
    int err;

    if (!t) {
        rg_buf_init(&names, 4096);
        for (size_t i = 0; i < r->nthemes; i++)
            (void)rg_buf_printf(&names, "%s%s", i ? ", " : "", r->themes[i]->name);
        err = rg_errinfo_set(ei, RG_ETHEME, "unknown theme \"%s\" (themes: %s)",
                             opts->theme ? opts->theme : "classic", names.ptr ? names.ptr : "");
        rg_buf_done(&names);
        return err;
    }
    if (opts->paper && strcasecmp(opts->paper, "a4") && strcasecmp(opts->paper, "letter"))
        return rg_errinfo_set(ei, -EINVAL, "unknown paper \"%s\" (a4 or letter)", opts->paper);
    if (opts->locale && *opts->locale) {
        loc = render_locale_find(r, opts->locale);
        if (!loc) {
            rg_buf_init(&names, 4096);
            for (size_t i = 0; i < r->nlocales; i++)
                (void)rg_buf_printf(&names, "%s%s", i ? ", " : "", r->locales[i]->tag);
            err = rg_errinfo_set(ei, -EINVAL, "unknown locale \"%s\" (locales: %s)",
                                 opts->locale, names.ptr ? names.ptr : "");
            rg_buf_done(&names);
            return err;
        }
    }
    *ret_theme = t;
    *ret_loc = loc;
    return 0;
}

int rg_render_check_opts(const struct rg_renderer *r, const struct rg_render_opts *opts,
                         struct rg_errinfo *ei)
{
    const struct render_theme *t = NULL;
    const struct render_locale *loc = NULL;
    return resolve(r, opts, &t, &loc, ei);
}

/* Resolves the options and lays doc out into d; *when is the PDF's date. */
static int prepare(struct rg_renderer *r, const json_t *doc, const struct rg_render_opts *opts,
                   struct render_doc *d, const struct render_locale **ret_loc, int64_t *when,
                   struct rg_diags *diags, struct rg_errinfo *ei)
{
    static const struct rg_render_opts defaults = {NULL, NULL, NULL, NULL, -1};
    const struct render_theme *t = NULL;
    const struct render_locale *loc = NULL;
    int err;

    if (!opts)
        opts = &defaults;
    if (!json_is_object(doc))
        return rg_errinfo_set(ei, RG_EINPUT, "the resume must be a JSON object");
    err = resolve(r, opts, &t, &loc, ei);
    if (err < 0)
        return err;
    if (!loc)
        loc = guess_locale(r, doc);

    *when = opts->source_date;
    if (*when < 0) {
        const char *sde = getenv("SOURCE_DATE_EPOCH");
        char *end;
        if (sde && *sde) {
            long long v = strtoll(sde, &end, 10);
            if (*end == '\0' && v >= 0)
                *when = v;
        }
    }
    if (!r->fontmap) {
        r->fontmap = pango_cairo_font_map_new();
        if (r->fc)
            pango_fc_font_map_set_config(PANGO_FC_FONT_MAP(r->fontmap), r->fc);
    }
    err = render_layout(r, doc, t, loc, opts, d, diags);
    if (err < 0)
        return rg_errinfo_set(ei, err, "layout failed");
    *ret_loc = loc;
    return 0;
}

int rg_render_pdf(struct rg_renderer *r, const json_t *doc, const struct rg_render_opts *opts,
                  struct rg_buf *out, struct rg_diags *diags, struct rg_errinfo *ei)
{
    const struct render_locale *loc;
    struct render_doc d;
    int64_t when;
    int err = prepare(r, doc, opts, &d, &loc, &when, diags, ei);

    if (err < 0)
        return err;
    err = render_pdf_write(&d, doc, loc->lang, when, out, ei);
    render_doc_done(&d);
    return err;
}

int rg_render_png(struct rg_renderer *r, const json_t *doc, const struct rg_render_opts *opts,
                  int width, int gap, struct rg_buf *out, int *npages, int *ndrawn,
                  struct rg_diags *diags, struct rg_errinfo *ei)
{
    const struct render_locale *loc;
    struct render_doc d;
    int64_t when;
    int err;

    if (width < RG_PNG_MIN_WIDTH || width > RG_PNG_MAX_WIDTH || gap < 0 || gap > 256)
        return rg_errinfo_set(ei, -EINVAL, "the width must be %d to %d pixels and the gap 0 to 256",
                              RG_PNG_MIN_WIDTH, RG_PNG_MAX_WIDTH);
    err = prepare(r, doc, opts, &d, &loc, &when, diags, ei);
    if (err < 0)
        return err;
    if (npages)
        *npages = (int)d.npages;
    err = render_png_write(&d, width, gap, out, ndrawn, ei);
    render_doc_done(&d);
    return err;
}
