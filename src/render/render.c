/* The renderer's front door: data directory, fonts, theme and locale selection. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fontconfig/fontconfig.h>

#include "render-int.h"
#include "rg/json.h"
#include "rg/mem.h"

#ifndef RG_DEFAULT_DATA_DIR
#define RG_DEFAULT_DATA_DIR "/usr/share/resumego"
#endif

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
    r->fontmap = pango_cairo_font_map_new();
    return r;
}

struct rg_renderer *rg_renderer_free(struct rg_renderer *r)
{
    if (!r)
        return NULL;
    for (size_t i = 0; i < r->nthemes; i++)
        render_theme_free(r->themes[i]);
    for (size_t i = 0; i < r->nlocales; i++)
        render_locale_free(r->locales[i]);
    if (r->fontmap)
        g_object_unref(r->fontmap);
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

int rg_render_pdf(struct rg_renderer *r, const json_t *doc, const struct rg_render_opts *opts,
                  struct rg_buf *out, struct rg_diags *diags, struct rg_errinfo *ei)
{
    static const struct rg_render_opts defaults = {NULL, NULL, NULL, NULL, -1};
    const struct render_theme *t;
    const struct render_locale *loc;
    struct render_doc d;
    int64_t when;
    int err;

    if (!opts)
        opts = &defaults;
    if (!json_is_object(doc))
        return rg_errinfo_set(ei, RG_EINPUT, "the resume must be a JSON object");
    t = render_theme_find(r, opts->theme ? opts->theme : "classic");
    if (!t) {
        struct rg_buf names;
        rg_buf_init(&names, 4096);
        for (size_t i = 0; i < r->nthemes; i++)
            (void)rg_buf_printf(&names, "%s%s", i ? ", " : "", r->themes[i]->name);
        err = rg_errinfo_set(ei, RG_ETHEME, "unknown theme \"%s\" (themes: %s)", opts->theme,
                             names.ptr ? names.ptr : "");
        rg_buf_done(&names);
        return err;
    }
    if (opts->paper && strcmp(opts->paper, "a4") && strcmp(opts->paper, "letter"))
        return rg_errinfo_set(ei, -EINVAL, "unknown paper \"%s\" (a4 or letter)", opts->paper);
    if (opts->locale && *opts->locale) {
        loc = render_locale_find(r, opts->locale);
        if (!loc) {
            struct rg_buf names;
            rg_buf_init(&names, 4096);
            for (size_t i = 0; i < r->nlocales; i++)
                (void)rg_buf_printf(&names, "%s%s", i ? ", " : "", r->locales[i]->tag);
            err = rg_errinfo_set(ei, -EINVAL, "unknown locale \"%s\" (locales: %s)", opts->locale,
                                 names.ptr ? names.ptr : "");
            rg_buf_done(&names);
            return err;
        }
    } else {
        loc = guess_locale(r, doc);
    }

    when = opts->source_date;
    if (when < 0) {
        const char *sde = getenv("SOURCE_DATE_EPOCH");
        char *end;
        if (sde && *sde) {
            long long v = strtoll(sde, &end, 10);
            if (*end == '\0' && v >= 0)
                when = v;
        }
    }
    err = render_layout(r, doc, t, loc, opts, &d, diags);
    if (err < 0)
        return rg_errinfo_set(ei, err, "layout failed");
    err = render_pdf_write(&d, doc, loc->lang, when, out, ei);
    render_doc_done(&d);
    return err;
}
