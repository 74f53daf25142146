/* The OpenAPI document served at /api/v1/openapi.json against rg-core's route table:
 * every route must be documented (path and method), and the document must not promise
 * a route that does not exist.  Links core-lib; needs no server. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "rg/json.h"

static int passed, failed;

static void check(int ok, const char *what, const char *detail)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    }
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

int main(void)
{
    struct rg_errinfo ei;
    json_t *doc = NULL;
    const char *text = core_openapi_json();
    char what[256], m[16];

    check(rg_json_parse(text, strlen(text), &doc, &ei) == 0, "openapi.json parses", ei.msg);
    if (!doc)
        goto out;
    const char *ver = rg_json_str(doc, "openapi");
    check(ver && strncmp(ver, "3.1", 3) == 0, "document is OpenAPI 3.1", ver);
    json_t *paths = rg_json_obj(doc, "paths");
    check(paths != NULL, "document has paths", NULL);

    for (size_t i = 0; i < core_nroutes; i++) {
        snprintf(m, sizeof m, "%s", core_routes[i].method);
        lower(m);
        json_t *op = rg_json_obj(rg_json_obj(paths, core_routes[i].path), m);
        snprintf(what, sizeof what, "route %s %s is documented", core_routes[i].method,
                 core_routes[i].path);
        check(op != NULL, what, NULL);
        if (!op)
            continue;
        json_t *responses = rg_json_obj(op, "responses");
        snprintf(what, sizeof what, "%s %s documents a success response", core_routes[i].method,
                 core_routes[i].path);
        int has2xx = 0;
        const char *code;
        json_t *v;
        json_object_foreach(responses, code, v) has2xx |= code[0] == '2' || code[0] == '3';
        check(has2xx, what, NULL);
        snprintf(what, sizeof what, "%s %s: security matches the route's auth",
                 core_routes[i].method, core_routes[i].path);
        json_t *sec = json_object_get(op, "security");
        int needs = (core_routes[i].flags & (CORE_ROUTE_AUTH | CORE_ROUTE_AUTH_SELF)) != 0;
        check(json_is_array(sec) && (json_array_size(sec) > 0) == needs, what, NULL);
    }

    /* The reverse: nothing documented that the service does not route. */
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            int found = 0;
            for (size_t i = 0; i < core_nroutes; i++) {
                snprintf(m, sizeof m, "%s", core_routes[i].method);
                lower(m);
                found |= strcmp(core_routes[i].path, path) == 0 && strcmp(m, method) == 0;
            }
            snprintf(what, sizeof what, "documented %s %s exists", method, path);
            check(found, what, NULL);
        }
    }
out:
    json_decref(doc);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
