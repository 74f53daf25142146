/* The route table of rg-core and the dispatcher.
 *
 * A path template is matched segment by segment; `{x}` takes one segment, which the
 * handler finds in req->params in order.  When the path matches but the method does not,
 * the reply is 405 with an Allow header listing the methods that do.  HEAD is served by
 * the GET route (MHD drops the body).  The same table feeds /metrics labels and is checked
 * against the OpenAPI document by tests/integration/it-core-openapi.c. */
#include <string.h>

#include "core-renders.h"
#include "core.h"
#include "rg/log.h"
#include "rg/mem.h"

#define V1 "/api/v1"

const struct core_route core_routes[] = {
    {"GET", "/healthz", core_h_healthz, 0},
    {"GET", "/readyz", core_h_readyz, 0},
    {"GET", "/metrics", core_h_metrics, 0},
    {"GET", V1 "/healthz", core_h_healthz, 0},
    {"GET", V1 "/readyz", core_h_readyz, 0},
    {"GET", V1 "/metrics", core_h_metrics, 0},
    {"GET", V1 "/openapi.json", core_h_openapi, 0},
    {"GET", V1 "/themes", core_h_themes, 0},

    {"POST", V1 "/auth/register", core_h_register, 0},
    {"POST", V1 "/auth/login", core_h_login, 0},
    {"POST", V1 "/auth/logout", core_h_logout, CORE_ROUTE_AUTH},
    {"GET", V1 "/auth/me", core_h_me, CORE_ROUTE_AUTH},
    {"GET", V1 "/auth/session", core_h_session, 0},
    {"POST", V1 "/auth/password", core_h_password, CORE_ROUTE_AUTH},
    {"POST", V1 "/auth/totp/setup", core_h_totp_setup, CORE_ROUTE_AUTH},
    {"POST", V1 "/auth/totp/enable", core_h_totp_enable, CORE_ROUTE_AUTH},
    {"POST", V1 "/auth/totp/disable", core_h_totp_disable, CORE_ROUTE_AUTH},

    {"GET", V1 "/resumes", core_h_resumes_list, CORE_ROUTE_AUTH},
    {"POST", V1 "/resumes", core_h_resumes_create, CORE_ROUTE_AUTH},
    {"POST", V1 "/resumes/import", core_h_resumes_import, CORE_ROUTE_AUTH},
    {"GET", V1 "/resumes/{id}", core_h_resume_get, CORE_ROUTE_AUTH_SELF},
    {"PUT", V1 "/resumes/{id}", core_h_resume_put, CORE_ROUTE_AUTH},
    {"PATCH", V1 "/resumes/{id}", core_h_resume_patch, CORE_ROUTE_AUTH},
    {"DELETE", V1 "/resumes/{id}", core_h_resume_delete, CORE_ROUTE_AUTH},
    {"POST", V1 "/resumes/{id}/restore", core_h_resume_restore, CORE_ROUTE_AUTH},
    {"GET", V1 "/resumes/{id}/export", core_h_resume_export, CORE_ROUTE_AUTH},
    {"GET", V1 "/resumes/{id}/versions", core_h_versions_list, CORE_ROUTE_AUTH},
    {"GET", V1 "/resumes/{id}/versions/{version}", core_h_version_get, CORE_ROUTE_AUTH},
    {"POST", V1 "/resumes/{id}/versions/{version}/restore", core_h_version_restore,
     CORE_ROUTE_AUTH},
    {"GET", V1 "/resumes/{id}/share", core_h_share_get, CORE_ROUTE_AUTH},
    {"POST", V1 "/resumes/{id}/share", core_h_share_create, CORE_ROUTE_AUTH},
    {"DELETE", V1 "/resumes/{id}/share", core_h_share_delete, CORE_ROUTE_AUTH},
    {"GET", V1 "/public/{slug}", core_h_public_get, 0},
    /* PDF generation (core-renders.c, issue 4) */
    {"POST", V1 "/resumes/{id}/renders", core_h_render_create, CORE_ROUTE_AUTH},
    {"GET", V1 "/resumes/{id}/renders", core_h_resume_renders, CORE_ROUTE_AUTH},
    {"GET", V1 "/renders/{id}", core_h_render_get, CORE_ROUTE_AUTH},
    {"GET", V1 "/renders/{id}/pdf", core_h_render_pdf, CORE_ROUTE_AUTH},
    {"GET", V1 "/public/{slug}/pdf", core_h_public_pdf, 0},
    /* live preview of an unsaved draft (core-preview.c) */
    {"POST", V1 "/preview", core_h_preview, CORE_ROUTE_AUTH},
};

const size_t core_nroutes = RG_ARRAY_SIZE(core_routes);

/* Matches path against tmpl; on success copies the {x} segments into params (when not
 * NULL).  Returns 1 on a match. */
static int match(const char *tmpl, const char *path, char **params)
{
    size_t np = 0;
    const char *t = tmpl, *p = path;

    while (*t && *p) {
        if (*t != '/' || *p != '/')
            return 0;
        t++, p++;
        size_t tl = strcspn(t, "/"), pl = strcspn(p, "/");
        if (tl >= 2 && t[0] == '{' && t[tl - 1] == '}') {
            if (pl == 0 || np == CORE_MAX_PARAMS)
                return 0;
            if (params)
                params[np] = rg_strndup(p, pl);
            np++;
        } else if (tl != pl || memcmp(t, p, tl) != 0) {
            return 0;
        }
        t += tl, p += pl;
    }
    /* A trailing slash is tolerated ("/api/v1/resumes/"). */
    return !*t && (!*p || (p[0] == '/' && !p[1]));
}

void core_route_dispatch(struct core_req *req)
{
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    char allow[128] = "";
    size_t alen = 0;
    int found = -1;

    for (size_t i = 0; i < core_nroutes; i++) {
        if (!match(core_routes[i].path, req->path, NULL))
            continue;
        if (strcmp(core_routes[i].method, method) == 0) {
            found = (int)i;
            break;
        }
        if (!strstr(allow, core_routes[i].method))
            alen += (size_t)snprintf(allow + alen, sizeof allow - alen, "%s%s", alen ? ", " : "",
                                     core_routes[i].method);
    }
    if (found < 0) {
        if (alen) {
            if (strstr(allow, "GET"))
                (void)snprintf(allow + alen, sizeof allow - alen, ", HEAD");
            core_header_add(req, "Allow", allow);
            core_reply_error(req, 405, "method_not_allowed", "method not allowed on this path",
                             NULL);
        } else {
            core_reply_error(req, 404, "not_found", "no such route", NULL);
        }
        return;
    }
    const struct core_route *rt = &core_routes[found];
    req->route = found;
    (void)match(rt->path, req->path, req->params);
    if (rt->flags & CORE_ROUTE_AUTH) {
        if (!core_auth_resolve(req)) {
            core_reply_unauthorized(req);
            return;
        }
        if (strcmp(method, "GET") != 0 && !core_auth_origin_ok(req)) {
            core_reply_error(req, 403, "csrf_origin",
                             "cookie-authenticated writes need an allowed Origin header", NULL);
            return;
        }
    }
    rt->fn(req);
}
