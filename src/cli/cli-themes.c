/* resumego themes: what themes there are. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "rg/render.h"

static const char usage[] = "usage: resumego themes [--names | --json]\n"
                            "Lists the themes with a one-line description.\n"
                            "  --names  only the names, one per line\n"
                            "  --json   {\"items\":[{\"name\",\"description\",\"columns\"}]}\n";

int cli_themes_main(int argc, char **argv)
{
    int names = 0, as_json = 0;
    struct rg_errinfo ei;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--names"))
            names = 1;
        else if (!strcmp(argv[i], "--json"))
            as_json = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        } else {
            fprintf(stderr, "resumego themes: unknown option \"%s\"\n%s", argv[i], usage);
            return CLI_EXIT_USAGE;
        }
    }
    struct rg_renderer *r = rg_renderer_new(NULL, &ei);
    if (!r) {
        fprintf(stderr, "resumego themes: %s\n", ei.msg);
        return CLI_EXIT_INTERNAL;
    }
    json_t *list = rg_render_themes(r), *it;
    size_t i;
    if (as_json) {
        (void)json_dumpf(list, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        putchar('\n');
    } else {
        json_array_foreach(json_object_get(list, "items"), i, it)
        {
            const char *n = json_string_value(json_object_get(it, "name"));
            if (names)
                puts(n);
            else
                printf("%-10s %s\n", n, json_string_value(json_object_get(it, "description")));
        }
    }
    json_decref(list);
    rg_renderer_free(r);
    return CLI_EXIT_OK;
}
