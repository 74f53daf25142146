/* URLs and e-mail addresses in resumes (see rg/resume.h).
 *
 * Two different questions live here.  rg_uri_is_absolute() is the schema's `format: uri`
 * (strict, RFC 3986 syntax).  rg_url_normalize() is what the layout links to: real files
 * hold "linkedin: //www...", "github: https://..." or "www.example.com", and a reader
 * should still get a working link, while text that is no URL at all gets none. */
#include <ctype.h>
#include <string.h>

#include "rg/buf.h"
#include "rg/mem.h"
#include "rg/resume.h"

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Length of the RFC 3986 scheme at the start of s when a ':' follows it, else 0. */
static size_t scheme_len(const char *s)
{
    size_t n = 0;

    if (!is_alpha((unsigned char)s[0]))
        return 0;
    while (is_alpha((unsigned char)s[n]) || isdigit((unsigned char)s[n]) || s[n] == '+' ||
           s[n] == '-' || s[n] == '.')
        n++;
    return s[n] == ':' ? n : 0;
}

static int is_uri_char(int c)
{
    /* unreserved / gen-delims / sub-delims; '%' is handled by the caller. */
    return is_alpha(c) || isdigit(c) || strchr("-._~:/?#[]@!$&'()*+,;=", c) != NULL;
}

int rg_uri_is_absolute(const char *s)
{
    size_t n;
    int hashes = 0;

    if (!s || !(n = scheme_len(s)))
        return 0;
    for (const unsigned char *p = (const unsigned char *)s + n + 1; *p; p++) {
        if (*p == '%') {
            if (!isxdigit(p[1]) || !isxdigit(p[2]))
                return 0;
            p += 2;
        } else if (*p >= 0x80 || !is_uri_char(*p)) {
            return 0;
        } else if (*p == '#' && ++hashes > 1) {
            return 0;
        }
    }
    return 1;
}

int rg_email_is_valid(const char *s)
{
    const char *at;

    if (!s || !(at = strrchr(s, '@')) || at == s || !at[1])
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return 0;
    /* RFC 5322 allows dot-less domains ("user@localhost"), so no dot is required. */
    return 1;
}

/* Schemes whose URLs are kept as they are.  Anything else before a ':' is treated as a
 * label ("linkedin:", "github:", "web:"), which is how these prefixes appear in real
 * files, and never as something to link to (javascript:, file:). */
static const char *const known_schemes[] = {
    "http", "https", "mailto", "tel", "ftp", "ftps", "sms", "callto", "skype", "xmpp", "matrix",
    "git", "ssh", "irc", "ircs", "geo",
};

static int scheme_is_known(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof known_schemes / sizeof *known_schemes; i++)
        if (strlen(known_schemes[i]) == n && !strncasecmp(s, known_schemes[i], n))
            return 1;
    return 0;
}

/* "host[:port][/...]" where host has a dot, no '@' and only host characters. */
static int looks_like_host_path(const char *s)
{
    size_t h = strcspn(s, "/?#");
    int dot = 0;

    if (h == 0 || s[0] == '.' || s[0] == '-' || s[h - 1] == '.')
        return 0;
    for (size_t i = 0; i < h; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.')
            dot = 1;
        else if (!(c >= 0x80 || isalnum(c) || c == '-' || c == ':' || c == '_'))
            return 0;
    }
    return dot;
}

static int has_space_or_ctl(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

/* Works on a trimmed string; depth bounds the label-stripping recursion. */
static char *normalize(const char *s, int depth)
{
    size_t n;

    while (is_ws((unsigned char)*s))
        s++;
    if (!*s || depth > 3)
        return NULL;
    if (s[0] == '/' && s[1] == '/')
        return looks_like_host_path(s + 2) && !has_space_or_ctl(s) ? rg_asprintf("https:%s", s)
                                                                     : NULL;
    n = scheme_len(s);
    if (n && scheme_is_known(s, n)) {
        const char *rest = s + n + 1;
        if (has_space_or_ctl(rest) || !*rest)
            return NULL;
        if ((n == 4 || n == 5) && !strncasecmp(s, "http", 4)) {
            /* A web URL needs a host: "https://" alone or "https:foo" is no link. */
            if (rest[0] != '/' || rest[1] != '/' || !rest[2] || rest[2] == '/')
                return NULL;
        }
        return rg_strdup(s);
    }
    /* "linkedin: //www..." -> whatever follows the label.  A "scheme" with a dot in it is
     * a host with a port ("example.com:8080/x"), not a label. */
    if (n && !memchr(s, '.', n))
        return normalize(s + n + 1, depth + 1);
    if (has_space_or_ctl(s) || !looks_like_host_path(s))
        return NULL;
    return rg_asprintf("https://%s", s);
}

char *rg_url_normalize(const char *s)
{
    char *t, *r;
    size_t n;

    if (!s)
        return NULL;
    /* Trim the end too, so inner checks see no trailing white space. */
    t = rg_strdup(s);
    n = strlen(t);
    while (n > 0 && is_ws((unsigned char)t[n - 1]))
        t[--n] = '\0';
    r = normalize(t, 0);
    rg_free(t);
    return r;
}
