/* Internals shared by the loading half of librender (render-resume.c, render-schema.c,
 * render-date.c, render-url.c).  Not installed, not for the layout code: that uses
 * rg/resume.h. */
#ifndef RENDER_LOAD_H
#define RENDER_LOAD_H

#include <jansson.h>
#include <stddef.h>

/* Days in month m (1..12) of year y, Gregorian. */
int render_days_in_month(int y, int m);
/* RFC 3339 full-date (YYYY-MM-DD, a real day): the schema's `format: date`. */
int render_full_date_valid(const char *s);

/* Name of v's JSON type for messages: "null", "a boolean", "a number", "a string", "an
 * array", "an object" with article != 0; without the article otherwise ("boolean" ...).
 * Static strings. */
const char *render_json_type_name(const json_t *v, int article);

/* s (len bytes) as a JSON string literal for messages, cut after about 100 bytes on a
 * UTF-8 boundary with "..." appended.  The caller frees with rg_free(). */
char *render_quote(const char *s, size_t len);

#endif
