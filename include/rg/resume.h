/* Helpers around JSON Resume values, shared by the loader (rg_resume_load) and the layout.
 *
 * Everything here is pure: no I/O, no logging, safe to call from any thread.  Dates and
 * URLs are kept in the normalised document exactly as the author wrote them (trimmed);
 * these functions interpret them when the layout needs a year or a clickable link. */
#ifndef RG_RESUME_H
#define RG_RESUME_H

/* Parses a resume date: "YYYY", "YYYY-MM" or "YYYY-MM-DD" (the shapes of the schema's
 * iso8601 pattern, year 1000..2999 as the pattern allows) that also exists in the
 * Gregorian calendar ("2019-02-30" and "2021-13" do not).  No white space is allowed.
 * Returns 0 and writes the year, month (0 when absent) and day (0 when absent) through
 * the non-NULL out-pointers, or -EINVAL and writes nothing. */
int rg_date_parse(const char *s, int *ret_y, int *ret_m, int *ret_d);

/* Returns 1 when s (trimmed, compared case-insensitively) is a word authors write for "no
 * end date yet": present, current, now, today, ongoing, and their common translations
 * (heute, aktuell, actuel, aujourd'hui, actualidad, presente, atual, attuale, obecnie,
 * настоящее время, по настоящее время, сейчас, 至今, 现在, 現在, 今, 현재 ...).  The empty
 * string is NOT a present word here (the loader treats it as "ongoing" separately).
 * Returns 0 for NULL. */
int rg_date_is_present_word(const char *s);

/* Turns what an author put in a URL field into a link target, or NULL when it cannot be
 * one.  It trims white space, drops a label prefix such as "linkedin: //www..." or
 * "github: https://...", turns "//host" and "www.example.com/x" into https:// URLs,
 * keeps mailto:, tel: and other well-known schemes as they are, and refuses text with
 * white space or control characters inside, hosts without a dot (unless a scheme was
 * given), relative paths and unknown schemes such as javascript:.  The result is a new
 * string the caller frees with rg_free(). */
char *rg_url_normalize(const char *s);

/* Returns 1 when s is an absolute URI in the sense of RFC 3986 (scheme ":" then only
 * URI characters, valid %XX escapes, at most one "#"), the check the schema's
 * `format: uri` is held to; "" and scheme-less text are not. */
int rg_uri_is_absolute(const char *s);

/* Returns 1 when s looks like an e-mail address: a non-empty local part, one "@", a
 * non-empty domain, no white space or control characters (the schema's `format: email`). */
int rg_email_is_valid(const char *s);

/* Path of the schema file rg_resume_validate_schema() reads: $RG_DATA_DIR/schema/
 * resume-v1.0.0.json, else the build-time data directory.  Borrowed static string,
 * computed once.
 *
 * Note on rg_resume_validate_schema() (rg/render.h): it reads and compiles the schema
 * once per process (pthread_once).  When the file cannot be read or uses a keyword the
 * interpreter does not implement, it appends one RG_DIAG_ERROR with pointer "" and
 * returns a negative error (-errno, RG_EJSON or RG_ECONFIG) instead of a count, so that
 * a broken installation is never mistaken for a valid document. */
const char *rg_resume_schema_path(void);

#endif
