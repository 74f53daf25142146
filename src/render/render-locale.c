/* Locales are data: data/locales/<tag>.json holds section headings, month names, the
 * word for "Present" and the page footer pattern.  The same bundles seed the i18n
 * store used by the web app, so the wording lives in one place. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render-int.h"
#include "rg/json.h"
#include "rg/mem.h"
#include "rg/resume.h"

static char *dup_str(json_t *o, const char *key, const char *def)
{
    const char *s = rg_json_str(o, key);
    return rg_strdup(s ? s : def);
}

int render_locale_load(const char *path, struct render_locale **ret, struct rg_errinfo *ei)
{
    json_error_t jerr;
    json_t *o = json_load_file(path, 0, &jerr), *months;
    struct render_locale *l;

    if (!o)
        return rg_errinfo_set(ei, RG_ECONFIG, "%s: line %d: %s", path, jerr.line, jerr.text);
    months = rg_json_arr(o, "months");
    if (!rg_json_str(o, "tag") || !months || json_array_size(months) != 12 ||
        !rg_json_obj(o, "headings")) {
        json_decref(o);
        return rg_errinfo_set(ei, RG_ECONFIG, "%s: needs tag, 12 months and headings", path);
    }
    l = rg_calloc(1, sizeof *l);
    l->tag = dup_str(o, "tag", "");
    l->lang = dup_str(o, "lang", l->tag);
    l->rtl = json_is_true(json_object_get(o, "rtl"));
    for (int i = 0; i < 12; i++) {
        const char *m = json_string_value(json_array_get(months, (size_t)i));
        l->months[i] = rg_strdup(m ? m : "");
    }
    l->present = dup_str(o, "present", "Present");
    l->page_fmt = dup_str(o, "page", "Page {page} of {pages}");
    l->range_sep = dup_str(o, "range_separator", " – ");
    l->date_fmt = dup_str(o, "date_format", "{mon} {year}");
    l->comma = dup_str(o, "list_separator", ", ");
    l->headings = json_incref(rg_json_obj(o, "headings"));
    l->labels = json_incref(rg_json_obj(o, "labels"));
    json_decref(o);
    *ret = l;
    return 0;
}

struct render_locale *render_locale_free(struct render_locale *l)
{
    if (!l)
        return NULL;
    rg_free(l->tag);
    rg_free(l->lang);
    for (int i = 0; i < 12; i++)
        rg_free(l->months[i]);
    rg_free(l->present);
    rg_free(l->page_fmt);
    rg_free(l->range_sep);
    rg_free(l->date_fmt);
    rg_free(l->comma);
    json_decref(l->headings);
    json_decref(l->labels);
    return rg_free(l);
}

const char *render_locale_heading(const struct render_locale *l, const char *key)
{
    const char *s = rg_json_str(l->headings, key);
    return s ? s : key;
}

const char *render_locale_label(const struct render_locale *l, const char *key, const char *def)
{
    const char *s = l->labels ? rg_json_str(l->labels, key) : NULL;
    return s ? s : def;
}

void render_locale_date(const struct render_locale *l, struct rg_buf *b, const char *date)
{
    int y, m, d;
    /* The loader has already warned about dates that are not dates: they print as written. */
    if (rg_date_parse(date, &y, &m, &d) < 0) {
        (void)rg_buf_puts(b, date);
        return;
    }
    if (!m) {
        (void)rg_buf_printf(b, "%d", y);
        return;
    }
    /* Expand {year}, {month} (number) and {mon} (name) in the locale's pattern. */
    for (const char *p = l->date_fmt; *p;) {
        if (!strncmp(p, "{year}", 6)) {
            (void)rg_buf_printf(b, "%d", y);
            p += 6;
        } else if (!strncmp(p, "{month}", 7)) {
            (void)rg_buf_printf(b, "%d", m);
            p += 7;
        } else if (!strncmp(p, "{mon}", 5)) {
            (void)rg_buf_puts(b, l->months[m - 1]);
            p += 5;
        } else {
            (void)rg_buf_putc(b, *p++);
        }
    }
}

void render_locale_range(const struct render_locale *l, struct rg_buf *b, const char *start,
                         const char *end, int ongoing)
{
    if (start)
        render_locale_date(l, b, start);
    if (end) {
        if (start && strcmp(start, end) == 0)
            return;
        if (start)
            (void)rg_buf_puts(b, l->range_sep);
        render_locale_date(l, b, end);
    } else if (start && ongoing) {
        (void)rg_buf_puts(b, l->range_sep);
        (void)rg_buf_puts(b, l->present);
    }
}
