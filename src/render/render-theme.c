/* Themes are data: one JSON file each under data/themes/.  This file reads and checks
 * them; the layout engine (render-layout.c) is the only code that interprets them, so a
 * new theme needs no C.  Every field has a default, and every present field is checked:
 * a typo in a theme is an error naming the file and key, not a silent fallback. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "render-int.h"
#include "rg/json.h"
#include "rg/mem.h"

static const char *const known_sections[] = {
    "summary", "work",         "volunteer", "education", "awards",     "certificates",
    "publications", "skills",  "languages", "interests", "references", "projects", "contact",
};

static int is_known_section(const char *s)
{
    for (size_t i = 0; i < RG_ARRAY_SIZE(known_sections); i++)
        if (!strcmp(s, known_sections[i]))
            return 1;
    return 0;
}

/* Every key a theme may have, by group ("" = top level).  Anything else is a typo. */
static const struct {
    const char *group, *keys;
} known_keys[] = {
    {"", " name description fonts size color margin space header heading entry columns sections "
         "sidebar_sections "},
    {"fonts", " body heading name "},
    {"size", " name label heading title body small "},
    {"color", " text muted accent rule sidebar_bg sidebar_text header_bg header_text "},
    {"margin", " top bottom left right "},
    {"space", " section entry heading paragraph line "},
    {"header", " align photo photo_size band separator bold "},
    {"heading", " upper tracking rule bold "},
    {"entry", " title_bold bullet "},
    {"columns", " count sidebar sidebar_width gap sidebar_padding "},
};

static int key_known(const char *list, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, " %s ", key);
    return strstr(list, pat) != NULL;
}

static int parse_rgb(const char *s, struct render_rgb *c)
{
    unsigned v;
    if (!s || s[0] != '#' || strlen(s) != 7 || sscanf(s + 1, "%6x", &v) != 1)
        return -EINVAL;
    c->r = ((v >> 16) & 0xff) / 255.0;
    c->g = ((v >> 8) & 0xff) / 255.0;
    c->b = (v & 0xff) / 255.0;
    c->set = 1;
    return 0;
}

struct loader {
    const char *path;
    struct rg_errinfo *ei;
    int err;
};

static void fail(struct loader *L, const char *key, const char *why)
{
    if (!L->err)
        L->err = rg_errinfo_set(L->ei, RG_ETHEME, "%s: %s: %s", L->path, key, why);
}

static void get_num(struct loader *L, json_t *o, const char *grp, const char *key, double *dst,
                    double def, double lo, double hi)
{
    json_t *g = grp ? json_object_get(o, grp) : o;
    json_t *v = json_is_object(g) ? json_object_get(g, key) : NULL;
    *dst = def;
    if (!v)
        return;
    if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi) {
        char why[96];
        snprintf(why, sizeof why, "must be a number from %g to %g", lo, hi);
        fail(L, key, why);
        return;
    }
    *dst = json_number_value(v);
}

static void get_str(struct loader *L, json_t *o, const char *grp, const char *key, char **dst,
                    const char *def)
{
    json_t *g = grp ? json_object_get(o, grp) : o;
    json_t *v = json_is_object(g) ? json_object_get(g, key) : NULL;
    if (v && !json_is_string(v))
        fail(L, key, "must be a string");
    *dst = rg_strdup(json_is_string(v) ? json_string_value(v) : def);
}

static void get_bool(struct loader *L, json_t *o, const char *grp, const char *key, int *dst,
                     int def)
{
    json_t *g = grp ? json_object_get(o, grp) : o;
    json_t *v = json_is_object(g) ? json_object_get(g, key) : NULL;
    *dst = def;
    if (!v)
        return;
    if (!json_is_boolean(v))
        fail(L, key, "must be true or false");
    else
        *dst = json_is_true(v);
}

static void get_color(struct loader *L, json_t *o, const char *key, struct render_rgb *dst,
                      const char *def)
{
    json_t *g = json_object_get(o, "color");
    json_t *v = json_is_object(g) ? json_object_get(g, key) : NULL;
    memset(dst, 0, sizeof *dst);
    if (v && json_is_null(v))
        return;
    const char *s = v ? json_string_value(v) : def;
    if (s && parse_rgb(s, dst) < 0)
        fail(L, key, "must be a colour written #rrggbb");
}

static void get_enum(struct loader *L, json_t *o, const char *grp, const char *key, int *dst,
                     int def, const char *const *names, size_t n)
{
    json_t *g = grp ? json_object_get(o, grp) : o;
    json_t *v = json_is_object(g) ? json_object_get(g, key) : NULL;
    *dst = def;
    if (!v)
        return;
    for (size_t i = 0; json_is_string(v) && i < n; i++)
        if (!strcmp(json_string_value(v), names[i])) {
            *dst = (int)i;
            return;
        }
    fail(L, key, "has a value that is not allowed");
}

static void get_sections(struct loader *L, json_t *o, const char *key, char **dst, size_t *n)
{
    json_t *v = json_object_get(o, key), *it;
    size_t i;
    *n = 0;
    if (!v)
        return;
    if (!json_is_array(v) || json_array_size(v) > RENDER_MAX_SECTIONS) {
        fail(L, key, "must be a list of section names");
        return;
    }
    json_array_foreach(v, i, it)
    {
        if (!json_is_string(it) || !is_known_section(json_string_value(it))) {
            char why[160];
            snprintf(why, sizeof why, "names an unknown section \"%.40s\" (known: summary, "
                                      "work, volunteer, education, ...)",
                     json_is_string(it) ? json_string_value(it) : "?");
            fail(L, key, why);
            return;
        }
        dst[(*n)++] = rg_strdup(json_string_value(it));
    }
}

static void check_keys(struct loader *L, json_t *o)
{
    const char *k;
    json_t *v;
    for (size_t g = 0; g < RG_ARRAY_SIZE(known_keys); g++) {
        json_t *grp = *known_keys[g].group ? json_object_get(o, known_keys[g].group) : o;
        if (grp && !json_is_object(grp)) {
            fail(L, known_keys[g].group, "must be an object");
            continue;
        }
        json_object_foreach(grp, k, v)
        {
            if (!key_known(known_keys[g].keys, k)) {
                char where[160];
                snprintf(where, sizeof where, "%s%s%s", known_keys[g].group,
                         *known_keys[g].group ? "." : "", k);
                fail(L, where, "is not a theme setting (a typo?)");
            }
        }
    }
}

static int listed(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return 1;
    return 0;
}

int render_theme_load(const char *path, struct render_theme **ret, struct rg_errinfo *ei)
{
    struct loader L = {path, ei, 0};
    struct render_theme *t = NULL;
    json_error_t jerr;
    json_t *o = json_load_file(path, 0, &jerr);
    static const char *const aligns[] = {"start", "center"};
    static const char *const rules[] = {"none", "below", "bar"};
    static const char *const sides[] = {"right", "left"};
    static const char *const defaults[] = {"summary", "work",     "projects",     "education",
                                           "volunteer", "awards", "certificates", "publications",
                                           "skills",  "languages", "interests",   "references"};
    int tmp;

    if (!o)
        return rg_errinfo_set(ei, RG_ETHEME, "%s: line %d: %s", path, jerr.line, jerr.text);
    t = rg_calloc(1, sizeof *t);
    get_str(&L, o, NULL, "name", &t->name, NULL);
    get_str(&L, o, NULL, "description", &t->description, "");
    if (!t->name || !*t->name)
        fail(&L, "name", "is required");
    get_str(&L, o, "fonts", "body", &t->font_body, "Noto Sans");
    get_str(&L, o, "fonts", "heading", &t->font_heading, t->font_body);
    get_str(&L, o, "fonts", "name", &t->font_name, t->font_heading);
    get_num(&L, o, "size", "name", &t->size_name, 22, 8, 48);
    get_num(&L, o, "size", "label", &t->size_label, 11, 6, 24);
    get_num(&L, o, "size", "heading", &t->size_heading, 11, 6, 24);
    get_num(&L, o, "size", "title", &t->size_title, 10, 6, 24);
    get_num(&L, o, "size", "body", &t->size_body, 9.5, 6, 16);
    get_num(&L, o, "size", "small", &t->size_small, 8.5, 5, 14);
    get_color(&L, o, "text", &t->c_text, "#1f2328");
    get_color(&L, o, "muted", &t->c_muted, "#59636e");
    get_color(&L, o, "accent", &t->c_accent, "#1f4e8c");
    get_color(&L, o, "rule", &t->c_rule, "#c9ced6");
    get_color(&L, o, "sidebar_bg", &t->c_sidebar_bg, NULL);
    get_color(&L, o, "sidebar_text", &t->c_sidebar_text, NULL);
    get_color(&L, o, "header_bg", &t->c_header_bg, NULL);
    get_color(&L, o, "header_text", &t->c_header_text, NULL);
    if (!t->c_sidebar_text.set)
        t->c_sidebar_text = t->c_text;
    if (!t->c_header_text.set)
        t->c_header_text = t->c_text;
    get_num(&L, o, "margin", "top", &t->m_top, 42, 18, 144);
    get_num(&L, o, "margin", "bottom", &t->m_bottom, 42, 18, 144);
    get_num(&L, o, "margin", "left", &t->m_left, 48, 18, 144);
    get_num(&L, o, "margin", "right", &t->m_right, 48, 18, 144);
    get_num(&L, o, "space", "section", &t->sp_section, 14, 0, 60);
    get_num(&L, o, "space", "entry", &t->sp_entry, 8, 0, 40);
    get_num(&L, o, "space", "heading", &t->sp_heading, 5, 0, 30);
    get_num(&L, o, "space", "paragraph", &t->sp_para, 3, 0, 20);
    get_num(&L, o, "space", "line", &t->line, 1.2, 0.9, 2.0);
    get_enum(&L, o, "header", "align", &tmp, 0, aligns, 2);
    t->header_align = (enum render_align)tmp;
    get_bool(&L, o, "header", "photo", &t->photo, 1);
    get_num(&L, o, "header", "photo_size", &t->photo_size, 64, 24, 160);
    get_bool(&L, o, "header", "band", &t->header_band, 0);
    get_str(&L, o, "header", "separator", &t->contact_sep, "  ·  ");
    get_bool(&L, o, "heading", "upper", &t->heading_upper, 1);
    get_num(&L, o, "heading", "tracking", &t->heading_tracking, 0.8, 0, 5);
    get_enum(&L, o, "heading", "rule", &tmp, RENDER_RULE_BELOW, rules, 3);
    t->heading_rule = (enum render_rule)tmp;
    get_bool(&L, o, "heading", "bold", &t->heading_bold, 1);
    get_bool(&L, o, "header", "bold", &t->name_bold, 1);
    get_bool(&L, o, "entry", "title_bold", &t->title_bold, 1);
    get_str(&L, o, "entry", "bullet", &t->bullet, "•");
    {
        double cols;
        get_num(&L, o, "columns", "count", &cols, 1, 1, 2);
        t->columns = (int)cols;
    }
    get_enum(&L, o, "columns", "sidebar", &t->sidebar_left, 1, sides, 2);
    get_num(&L, o, "columns", "sidebar_width", &t->sidebar_width, 170, 100, 260);
    get_num(&L, o, "columns", "gap", &t->gap, 22, 8, 60);
    get_num(&L, o, "columns", "sidebar_padding", &t->sidebar_pad, 0, 0, 30);
    get_sections(&L, o, "sections", t->sections, &t->nsections);
    if (!t->nsections)
        for (size_t i = 0; i < RG_ARRAY_SIZE(defaults); i++)
            t->sections[t->nsections++] = rg_strdup(defaults[i]);
    get_sections(&L, o, "sidebar_sections", t->sidebar_sections, &t->nsidebar);
    /* A section the theme does not place still prints, at the end of the main column:
     * a theme must never make a resume's content disappear. */
    for (size_t i = 0; i < RG_ARRAY_SIZE(defaults) && t->nsections < RENDER_MAX_SECTIONS; i++)
        if (!listed(t->sections, t->nsections, defaults[i]) &&
            !(t->columns == 2 && listed(t->sidebar_sections, t->nsidebar, defaults[i])))
            t->sections[t->nsections++] = rg_strdup(defaults[i]);
    check_keys(&L, o);
    if (t->columns == 2 && !t->nsidebar)
        fail(&L, "sidebar_sections", "a two-column theme needs sidebar sections");
    json_decref(o);
    if (L.err) {
        render_theme_free(t);
        return L.err;
    }
    *ret = t;
    return 0;
}

struct render_theme *render_theme_free(struct render_theme *t)
{
    if (!t)
        return NULL;
    rg_free(t->name);
    rg_free(t->description);
    rg_free(t->font_body);
    rg_free(t->font_heading);
    rg_free(t->font_name);
    rg_free(t->bullet);
    rg_free(t->contact_sep);
    for (size_t i = 0; i < t->nsections; i++)
        rg_free(t->sections[i]);
    for (size_t i = 0; i < t->nsidebar; i++)
        rg_free(t->sidebar_sections[i]);
    return rg_free(t);
}
