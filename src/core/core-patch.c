/* RFC 7396 JSON Merge Patch. */
#include "core.h"

json_t *core_merge_patch(const json_t *target, const json_t *patch)
{
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    /* A non-object target is replaced by an empty object, then patched (RFC 7396 s. 2). */
    json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)patch, key, val)
    {
        if (json_is_null(val)) {
            (void)json_object_del(out, key);
            continue;
        }
        json_t *merged = core_merge_patch(json_object_get(out, key), val);
        json_object_set_new(out, key, merged);
    }
    return out;
}
