/* Unit tests of the renderer's data handling (themes, locales), of rg_render_pdf's
 * argument checking and of its line breaker against pango's.  The PDFs themselves are
 * checked by the integration tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "render-int.h"
#include "rg/mem.h"

static char *write_tmp(const char *text)
{
    char *path = rg_strdup("/tmp/rg-test-theme-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static int load(const char *json, struct rg_errinfo *ei)
{
    struct render_theme *t = NULL;
    char *path = write_tmp(json);
    int r = render_theme_load(path, &t, ei);
    unlink(path);
    rg_free(path);
    render_theme_free(t);
    return r;
}

static void test_theme_defaults(void **state)
{
    struct render_theme *t = NULL;
    struct rg_errinfo ei;
    char *path = write_tmp("{\"name\":\"x\"}");
    (void)state;
    assert_int_equal(render_theme_load(path, &t, &ei), 0);
    assert_string_equal(t->name, "x");
    assert_int_equal(t->columns, 1);
    assert_true(t->nsections >= 12);
    unlink(path);
    rg_free(path);
    render_theme_free(t);
    /* Sections a theme leaves out still print, at the end of the main column. */
    path = write_tmp("{\"name\":\"x\",\"sections\":[\"work\"]}");
    assert_int_equal(render_theme_load(path, &t, &ei), 0);
    assert_string_equal(t->sections[0], "work");
    assert_int_equal(t->nsections, 12);
    assert_true(t->size_body > 6 && t->size_body < 16);
    unlink(path);
    rg_free(path);
    render_theme_free(t);
}

/* Every kind of mistake in a theme names the file's key, never falls back silently. */
static void test_theme_errors(void **state)
{
    static const struct {
        const char *json, *key;
    } bad[] = {
        {"{}", "name"},
        {"{\"name\":\"x\",\"size\":{\"body\":\"big\"}}", "body"},
        {"{\"name\":\"x\",\"size\":{\"body\":200}}", "body"},
        {"{\"name\":\"x\",\"color\":{\"accent\":\"blue\"}}", "accent"},
        {"{\"name\":\"x\",\"heading\":{\"rule\":\"wavy\"}}", "rule"},
        {"{\"name\":\"x\",\"sections\":[\"work\",\"hobbies\"]}", "sections"},
        {"{\"name\":\"x\",\"columns\":{\"count\":2}}", "sidebar_sections"},
        {"{\"name\":\"x\",\"columns\":{\"count\":3}}", "count"},
        {"{\"name\":\"x\",\"header\":{\"photo\":\"yes\"}}", "photo"},
        {"{\"name\":", "line"},
        {"{\"name\":\"x\",\"color\":{\"acent\":\"#000000\"}}", "color.acent"},
        {"{\"name\":\"x\",\"colour\":{}}", "colour"},
        {"{\"name\":\"x\",\"heading\":{\"uper\":true}}", "heading.uper"},
        {"{\"name\":\"x\",\"sections\":[\"educaton\"]}", "educaton"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct rg_errinfo ei = {.msg = ""};
        assert_int_equal(load(bad[i].json, &ei), RG_ETHEME);
        if (!strstr(ei.msg, bad[i].key))
            fail_msg("theme %s: message \"%s\" does not name \"%s\"", bad[i].json, ei.msg,
                     bad[i].key);
    }
}

/* The shipped themes all load, are distinct, and at least one has a sidebar. */
static void test_shipped_themes(void **state)
{
    struct rg_errinfo ei;
    struct rg_renderer *r = rg_renderer_new(NULL, &ei);
    int two = 0;
    (void)state;
    assert_non_null(r);
    assert_true(r->nthemes >= 6);
    for (size_t i = 0; i < r->nthemes; i++) {
        two += r->themes[i]->columns == 2;
        assert_true(strlen(r->themes[i]->description) > 10);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(r->themes[i]->name, r->themes[j]->name);
    }
    assert_true(two >= 1);
    json_t *list = rg_render_themes(r);
    assert_int_equal(json_array_size(json_object_get(list, "items")), r->nthemes);
    json_decref(list);
    rg_renderer_free(r);
}

static void test_locales(void **state)
{
    struct rg_errinfo ei;
    struct rg_renderer *r = rg_renderer_new(NULL, &ei);
    struct rg_buf b;
    (void)state;
    assert_non_null(r);
    const struct render_locale *de = render_locale_find(r, "de-AT");
    assert_non_null(de);
    assert_string_equal(de->tag, "de");
    assert_null(render_locale_find(r, "xx"));
    rg_buf_init(&b, 1024);
    render_locale_range(de, &b, "2020-03", NULL, 1);
    assert_string_equal(b.ptr, "März 2020 – heute");
    rg_buf_reset(&b);
    render_locale_range(de, &b, "2020", "2020", 0);
    assert_string_equal(b.ptr, "2020");
    rg_buf_reset(&b);
    render_locale_range(render_locale_find(r, "ja"), &b, "2019-07", "2021-01", 0);
    assert_string_equal(b.ptr, "2019年7月 – 2021年1月");
    rg_buf_reset(&b);
    /* Text that is not a date prints as written; nothing invents "Invalid Date". */
    render_locale_range(render_locale_find(r, "en"), &b, "Summer 2019", NULL, 1);
    assert_string_equal(b.ptr, "Summer 2019 – Present");
    rg_buf_done(&b);
    /* Every locale has every section heading. */
    static const char *const keys[] = {"summary", "work", "volunteer", "education", "awards",
                                       "certificates", "publications", "skills", "languages",
                                       "interests", "references", "projects", "contact"};
    for (size_t i = 0; i < r->nlocales; i++)
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
            if (!json_is_string(json_object_get(r->locales[i]->headings, keys[k])))
                fail_msg("locale %s lacks heading %s", r->locales[i]->tag, keys[k]);
    rg_renderer_free(r);
}

static void test_render_args(void **state)
{
    struct rg_errinfo ei = {.msg = ""};
    struct rg_renderer *r = rg_renderer_new(NULL, &ei);
    struct rg_diags diags = {0};
    struct rg_buf out;
    json_t *doc = json_pack("{s:{s:s}}", "basics", "name", "Alex Example");
    (void)state;
    rg_buf_init(&out, 16 * 1024 * 1024);
    struct rg_render_opts o = {"nope", NULL, NULL, NULL, -1};
    assert_int_equal(rg_render_pdf(r, doc, &o, &out, &diags, &ei), RG_ETHEME);
    assert_non_null(strstr(ei.msg, "classic")); /* lists the themes there are */
    o.theme = NULL;
    o.paper = "a3";
    assert_int_equal(rg_render_pdf(r, doc, &o, &out, &diags, &ei), -EINVAL);
    o.paper = "letter";
    o.locale = "tlh";
    assert_int_equal(rg_render_pdf(r, doc, &o, &out, &diags, &ei), -EINVAL);
    o.locale = NULL;
    assert_int_equal(rg_render_pdf(r, doc, &o, &out, &diags, &ei), 0);
    assert_true(out.len > 1000);
    assert_memory_equal(out.ptr, "%PDF-", 5);
    /* A PDF larger than the output cap is an error, not a truncated file. */
    struct rg_buf small;
    rg_buf_init(&small, 100);
    assert_int_equal(rg_render_pdf(r, doc, &o, &small, &diags, &ei), RG_ETOOBIG);
    rg_buf_done(&small);
    rg_buf_done(&out);
    rg_diags_done(&diags);
    json_decref(doc);
    rg_renderer_free(r);
}

/* The renderer's own line breaking (render_wrap_breaks) must break every paragraph
 * exactly where pango does, for every theme font, size and width, including the cases
 * that trip a naive breaker: kerning between a line's last glyph and the next line's
 * first (pango measures a line shaped on its own), hyphenated compounds, long tokens
 * broken between characters, a bold prefix (two runs), several paragraphs. */
static void test_wrap_breaks_agree_with_pango(void **state)
{
    static const char *const fonts[] = {"Noto Serif", "Noto Sans", "Liberation Sans", "Lato",
                                        "Carlito", "EB Garamond 12"};
    static const double sizes[] = {8.5, 9.5, 11};
    static const char *const texts[] = {
        "Received awards from Web Marketing Association and The American Business Awards for "
        "work done on Edison.com website",
        "Journalismus habe ich an einer Ruby-on-Rails-Anwendung gearbeitet, die Messenger wie "
        "WhatsApp, Telegram, Signal, Threema und E-Mail integriert, damit Redaktionen Menschen "
        "erreichen.",
        "Took over AVAILABILITY, Tokyo, Yokohama, Venice. \"Quoted\" text, LTV/WACC, T. Y. "
        "Wang; AWAY We Vow To Pay Tax.",
        "https://example.com/a/very/long/path/without/any/spaces/that/must/break/somewhere/"
        "between/characters?query=value&other=thing",
        "Languages: English (native), Deutsch (fließend), Français, Español, Português, "
        "Italiano, Nederlands, Polski",
        "First paragraph of a summary that is long enough to wrap over a line or two.\nSecond "
        "paragraph, also long enough to need a line break somewhere in the middle of it.",
        "Supercalifragilisticexpialidociousandevenlongerwordwithoutanybreakopportunity at all",
    };
    PangoFontMap *fm = pango_cairo_font_map_new();
    PangoContext *pc = pango_font_map_create_context(fm);
    long checked = 0, lines = 0;
    (void)state;
    pango_cairo_context_set_resolution(pc, 72);
    pango_context_set_round_glyph_positions(pc, FALSE);
    for (size_t f = 0; f < RG_ARRAY_SIZE(fonts); f++)
        for (size_t z = 0; z < RG_ARRAY_SIZE(sizes); z++)
            for (size_t t = 0; t < RG_ARRAY_SIZE(texts); t++) {
                PangoFontDescription *fd = pango_font_description_from_string(fonts[f]);
                PangoLayout *l = pango_layout_new(pc);
                PangoAttrList *al = pango_attr_list_new();
                pango_font_description_set_absolute_size(fd, sizes[z] * PANGO_SCALE);
                pango_layout_set_font_description(l, fd);
                pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
                pango_layout_set_text(l, texts[t], -1);
                pango_attr_list_insert(al, pango_attr_font_features_new("liga=0,clig=0"));
                pango_attr_list_insert(al, pango_attr_insert_hyphens_new(FALSE));
                if (t == 4) {
                    PangoAttribute *a = pango_attr_weight_new(PANGO_WEIGHT_BOLD);
                    a->start_index = 0;
                    a->end_index = 10;
                    pango_attr_list_insert(al, a);
                }
                pango_layout_set_attributes(l, al);
                for (double w = 40; w <= 500; w += 3.7) {
                    struct render_wline *v = NULL;
                    int n = render_wrap_breaks(l, w, &v);
                    if (n < 0)
                        continue;
                    PangoLayout *ref = pango_layout_copy(l);
                    pango_layout_set_width(ref, (int)(w * PANGO_SCALE));
                    if (n != pango_layout_get_line_count(ref))
                        fail_msg("%s %.1f \"%.30s\" at %.1f: %d lines, pango %d", fonts[f],
                                 sizes[z], texts[t], w, n, pango_layout_get_line_count(ref));
                    for (int i = 0; i < n; i++) {
                        PangoLayoutLine *pl = pango_layout_get_line_readonly(ref, i);
                        if (pl->start_index != v[i].start)
                            fail_msg("%s %.1f \"%.30s\" at %.1f: line %d starts at %d, pango "
                                     "%d",
                                     fonts[f], sizes[z], texts[t], w, i, v[i].start,
                                     pl->start_index);
                    }
                    checked++;
                    lines += n;
                    g_object_unref(ref);
                    rg_free(v);
                }
                pango_attr_list_unref(al);
                g_object_unref(l);
                pango_font_description_free(fd);
            }
    /* The breaker must have taken most of these on, not left them all to pango. */
    assert_true(checked > 1000);
    assert_true(lines > 3 * checked);
    g_object_unref(pc);
    g_object_unref(fm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_theme_defaults), cmocka_unit_test(test_theme_errors),
        cmocka_unit_test(test_shipped_themes), cmocka_unit_test(test_locales),
        cmocka_unit_test(test_render_args), cmocka_unit_test(test_wrap_breaks_agree_with_pango),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
