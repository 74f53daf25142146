/* JSON helpers over jansson.
 *
 * The getters are borrowed lookups that tolerate wrong types: they return NULL (or the
 * default) when the key is absent or holds another type, which is what a generous reader
 * of real-world documents needs. */
#ifndef RG_JSON_H
#define RG_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "rg/buf.h"
#include "rg/err.h"

/* Borrowed string value of obj[key] if it is a string, else NULL. */
const char *rg_json_str(const json_t *obj, const char *key);
/* Like rg_json_str but NULL also for "" and strings of only white space. */
const char *rg_json_nonempty(const json_t *obj, const char *key);
/* Borrowed array/object at obj[key] if it has that type, else NULL. */
json_t *rg_json_arr(const json_t *obj, const char *key);
json_t *rg_json_obj(const json_t *obj, const char *key);

/* Length of the UTF-8 byte order mark buf starts with: 3, or 0 without one. */
size_t rg_json_bom_len(const char *buf, size_t len);

/* Parses len bytes.  A leading UTF-8 BOM is skipped.  Invalid UTF-8 fails with RG_EUTF8
 * and the byte offset of the first bad byte; a syntax error fails with RG_EJSON and the
 * 1-based line and column.  Duplicate keys are accepted (the last one wins), as browsers
 * do.  On success *ret owns a new reference. */
int rg_json_parse(const char *buf, size_t len, json_t **ret, struct rg_errinfo *ei);

/* rg_json_parse, and *ret_dup_line / *ret_dup_column: where the first key that an object
 * holds twice ends (1-based), or 0 when none does.  With a duplicate the parse is not the
 * text (the text also holds the earlier values).  Such a document is parsed twice. */
int rg_json_parse_dup(const char *buf, size_t len, json_t **ret, int *ret_dup_line,
                      int *ret_dup_column, struct rg_errinfo *ei);

/* Offset of the first byte that is not valid UTF-8 (overlongs, surrogates and code points
 * past U+10FFFF are invalid), or -1 when all len bytes are valid. */
long rg_utf8_check(const char *s, size_t len);

/* Appends a JSON pointer token (RFC 6901: "~" -> "~0", "/" -> "~1") to b. */
int rg_json_pointer_push(struct rg_buf *b, const char *token);

/* Appends s as a JSON string literal (with quotes) to b. */
int rg_json_quote(struct rg_buf *b, const char *s, size_t len);

#endif
