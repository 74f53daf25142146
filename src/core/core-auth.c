/* Accounts and sessions: register, login (with TOTP), logout, me, password change.
 *
 * Passwords: argon2id (libargon2), PHC strings in users.password_hash.  Unknown e-mails
 * are verified against a dummy hash so that a miss costs what a hit costs.
 *
 * Sessions: a 256-bit random token goes to the client (cookie and JSON); Redis keeps only
 * sess:<sha256 hex of token> -> user id, with a sliding expiry renewed by GETEX on every
 * request, and usess:<uid> -> set of that user's session hashes (so a password change
 * can end the others; it does not expire, and each login prunes it).  A flushed Redis
 * logs everybody out and loses nothing else.
 *
 * Abuse: login attempts are counted per client address and failed logins per account
 * in fixed windows (rl:<scope>:<key>); past the limit the reply is 429 with Retry-After.
 * A write authenticated by cookie must carry an allowed Origin (CSRF); Bearer tokens are
 * never sent by a browser on its own, so they need no such check. */
#include <argon2.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "rg/digest.h"
#include "rg/httpd.h"
#include "rg/log.h"
#include "rg/mem.h"

#define TOKEN_BYTES 32
#define TOKEN_CHARS 43 /* base64url of 32 bytes, unpadded */
#define COOKIE_NAME "rg_session"
#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024
#define EMAIL_MAX 254
#define NAME_MAX_LEN 200
#define TOTP_SECRET_BYTES 20
#define RECOVERY_CODES 10

static char dummy_hash[256];

/* ---- statements ---------------------------------------------------------------------- */

static const struct core_stmt st_user_insert = {
    "user_insert",
    "INSERT INTO users (email, email_norm, name, password_hash) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (email_norm) DO NOTHING RETURNING id, email, name",
    4, 0};
static const struct core_stmt st_user_by_email = {
    "user_by_email",
    "SELECT id, email, name, password_hash, totp_secret FROM users WHERE email_norm = $1", 1, 1};
static const struct core_stmt st_user_by_id = {
    "user_by_id",
    "SELECT id, email, name, password_hash, totp_secret, totp_pending, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
    "FROM users WHERE id = $1",
    1, 1};
static const struct core_stmt st_user_set_password = {
    "user_set_password", "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1", 2,
    1};
static const struct core_stmt st_totp_pending = {
    "totp_pending",
    "UPDATE users SET totp_pending = $2 WHERE id = $1 AND totp_secret IS NULL RETURNING id", 2, 1};
static const struct core_stmt st_totp_enable = {
    "totp_enable",
    "WITH u AS (UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, "
    "totp_last_step = $2 WHERE id = $1 AND totp_pending IS NOT NULL AND totp_secret IS NULL "
    "RETURNING id) "
    "INSERT INTO recovery_codes (user_id, code_hash) SELECT u.id, unnest($3::text[]) FROM u "
    "RETURNING user_id",
    3, 0};
static const struct core_stmt st_totp_disable = {
    "totp_disable",
    "WITH u AS (UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL "
    "WHERE id = $1 RETURNING id) "
    "DELETE FROM recovery_codes WHERE user_id IN (SELECT id FROM u)",
    1, 1};
static const struct core_stmt st_totp_use_step = {
    "totp_use_step",
    "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND "
    "(totp_last_step IS NULL OR totp_last_step < $2) RETURNING id",
    2, 0};
static const struct core_stmt st_recovery_use = {
    "recovery_use",
    "UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 "
    "AND used_at IS NULL RETURNING user_id",
    2, 0};

/* ---- helpers ------------------------------------------------------------------------- */

void core_auth_init(void)
{
    char pwd[32], salt[16];
    core_random(pwd, sizeof pwd);
    core_random(salt, sizeof salt);
    int r = argon2id_hash_encoded((uint32_t)core_cfg->argon2_iterations,
                                  (uint32_t)(core_cfg->argon2_memory / 1024), 1, pwd, sizeof pwd,
                                  salt, sizeof salt, 32, dummy_hash, sizeof dummy_hash);
    RG_ASSERT(r == ARGON2_OK);
}

static int hash_password(const char *pwd, char *out, size_t cap)
{
    unsigned char salt[16];
    core_random(salt, sizeof salt);
    int r = argon2id_hash_encoded((uint32_t)core_cfg->argon2_iterations,
                                  (uint32_t)(core_cfg->argon2_memory / 1024), 1, pwd, strlen(pwd),
                                  salt, sizeof salt, 32, out, cap);
    return r == ARGON2_OK ? 0 : -EINVAL;
}

static int verify_password(const char *hash, const char *pwd)
{
    return argon2id_verify(hash, pwd, strlen(pwd)) == ARGON2_OK;
}

/* A deliberately plain check: one @, something on both sides, a dot in the domain, no
 * spaces or control characters.  Whether the mailbox exists is for a confirmation mail. */
static int email_ok(const char *e)
{
    size_t n = strlen(e);
    const char *at = strchr(e, '@');
    if (n < 3 || n > EMAIL_MAX || !at || at == e || strchr(at + 1, '@') || !at[1])
        return 0;
    if (!strchr(at + 1, '.') || at[strlen(at) - 1] == '.')
        return 0;
    for (const char *p = e; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return 0;
    return 1;
}

static char *email_norm(const char *e)
{
    char *s = rg_strdup(e);
    for (char *p = s; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return s;
}

static json_t *user_json(PGresult *res, int row)
{
    json_t *u = json_object();
    json_object_set_new(u, "id", json_integer(strtoll(PQgetvalue(res, row, 0), NULL, 10)));
    json_object_set_new(u, "email", json_string(PQgetvalue(res, row, 1)));
    json_object_set_new(
        u, "name", PQgetisnull(res, row, 2) ? json_null() : json_string(PQgetvalue(res, row, 2)));
    return u;
}

/* Required string member of body, replying 422 with its pointer when absent. */
static const char *need_str(struct core_req *req, json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    /* A NUL inside would silently cut the C string (and a password with it). */
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        char field[64], msg[96];
        snprintf(field, sizeof field, "/%s", key);
        snprintf(msg, sizeof msg, "%s is required and must be a string without NUL", key);
        core_reply_error(req, 422, "invalid_field", msg, field);
        return NULL;
    }
    return json_string_value(v);
}

static int body_object(struct core_req *req, json_t **ret)
{
    if (core_req_json(req, 0, ret) < 0)
        return -EINVAL;
    if (!json_is_object(*ret)) {
        json_decref(*ret);
        *ret = NULL;
        core_reply_error(req, 422, "invalid_body", "the body must be a JSON object", "");
        return -EINVAL;
    }
    return 0;
}

int core_auth_origin_ok(const struct core_req *req)
{
    if (!req->auth_via_cookie)
        return 1;
    const char *origin = core_req_header(req, "Origin");
    return origin &&
           rg_origin_allowed(core_cfg->allowed_origins, origin, core_req_header(req, "Host"));
}

/* Login and register take no session, but a browser can still be made to post them from
 * another site (login CSRF): refuse an Origin that is present and not ours. */
static int anon_origin_ok(struct core_req *req)
{
    const char *origin = core_req_header(req, "Origin");
    if (origin &&
        !rg_origin_allowed(core_cfg->allowed_origins, origin, core_req_header(req, "Host"))) {
        core_reply_error(req, 403, "csrf_origin", "this Origin may not call the API", NULL);
        return 0;
    }
    return 1;
}

static int token_ok(const char *t)
{
    size_t n = 0;
    for (; t[n]; n++)
        if (!(isalnum((unsigned char)t[n]) || t[n] == '-' || t[n] == '_'))
            return 0;
    return n == TOKEN_CHARS;
}

int core_auth_resolve_with(struct core_req *req, const char *extra_key, redisReply **ret_extra)
{
    const char *auth = core_req_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *token = NULL;
    char hash[65], key[128], ttl[24];
    redisReply *rep[2] = {NULL, NULL};
    int via_cookie = 0, ok = 0;

    if (ret_extra)
        *ret_extra = NULL;
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        token = auth + 7;
        while (*token == ' ')
            token++;
    } else {
        token = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, COOKIE_NAME);
        via_cookie = 1;
    }
    if (!token || !token_ok(token))
        return 0;
    rg_sha256_hex(token, strlen(token), hash);
    core_rkey(key, sizeof key, "sess:%s", hash);
    snprintf(ttl, sizeof ttl, "%lld", (long long)core_cfg->session_ttl_ms);
    /* GETEX renews the expiry in the same round trip: the sliding window.  The user's
     * index needs nothing here: it does not expire (see session_create). */
    const char *getex[] = {"GETEX", key, "PX", ttl};
    const char *get[] = {"GET", extra_key};
    const int argc[] = {4, 2};
    const char *const *argv[] = {getex, get};
    if (core_redis_pipeline(extra_key ? 2 : 1, argc, argv, rep) < 0)
        return 0; /* Redis unreachable: nobody is signed in (401), nothing else breaks */
    if (rep[0]->type == REDIS_REPLY_STRING) {
        int64_t uid = strtoll(rep[0]->str, NULL, 10);
        if (uid > 0) {
            req->uid = uid;
            req->auth_via_cookie = via_cookie;
            snprintf(req->sess_key, sizeof req->sess_key, "%s", key);
            ok = 1;
        }
    }
    freeReplyObject(rep[0]);
    if (rep[1] && ok && ret_extra)
        *ret_extra = rep[1];
    else if (rep[1])
        freeReplyObject(rep[1]);
    return ok;
}

int core_auth_resolve(struct core_req *req)
{
    return core_auth_resolve_with(req, NULL, NULL);
}

void core_reply_unauthorized(struct core_req *req)
{
    core_header_add(req, "WWW-Authenticate", "Bearer realm=\"resumego\"");
    core_reply_error(req, 401, "unauthorized", "sign in first", NULL);
}

/* Writes a session (KEYS[1] = sess:<hash> -> uid) into its user's index (KEYS[2] =
 * usess:<uid>).  The index never expires: a session kept alive by the sliding window can
 * outlive any expiry the index could be given at login, and a password change must still
 * find it.  Instead each login drops the members whose sessions are gone (ARGV[4] is the
 * sess: key prefix), so the index holds at most the live sessions plus those that expired
 * since the user's last login. */
static const char create_script[] =
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "for _, h in ipairs(redis.call('SMEMBERS', KEYS[2])) do "
    "if redis.call('EXISTS', ARGV[4] .. h) == 0 then redis.call('SREM', KEYS[2], h) end end "
    "redis.call('SADD', KEYS[2], ARGV[3]) "
    "redis.call('PERSIST', KEYS[2]) "
    "return 1";

/* Creates a session for uid; writes the token (TOKEN_CHARS + 1 bytes) into tok. */
static int session_create(int64_t uid, char *tok, size_t cap, char *ret_key, size_t keycap)
{
    unsigned char raw[TOKEN_BYTES];
    char hash[65], key[128], set[64];
    redisReply *rep = NULL;
    int r;

    core_random(raw, sizeof raw);
    core_b64url(raw, sizeof raw, tok, cap);
    rg_memzero(raw, sizeof raw);
    rg_sha256_hex(tok, strlen(tok), hash);
    core_rkey(key, sizeof key, "sess:%s", hash);
    core_rkey(set, sizeof set, "usess:%" PRId64, uid);
    /* One script: a session never exists outside its user's index. */
    char sess_prefix[96];
    core_rkey(sess_prefix, sizeof sess_prefix, "sess:");
    r = core_redis_cmd(1, &rep, "EVAL %s 2 %s %s %" PRId64 " %lld %s %s", create_script, key, set,
                       uid, (long long)core_cfg->session_ttl_ms, hash, sess_prefix);
    if (rep)
        freeReplyObject(rep);
    if (ret_key)
        snprintf(ret_key, keycap, "%s", key);
    return r;
}

static void set_cookie(struct core_req *req, const char *token, int64_t max_age_s)
{
    char c[256];
    snprintf(c, sizeof c, COOKIE_NAME "=%s; Path=/; Max-Age=%lld; HttpOnly;%s SameSite=Lax", token,
             (long long)max_age_s, core_cfg->cookie_secure ? " Secure;" : "");
    core_header_add(req, "Set-Cookie", c);
}

/* Fixed-window counter: INCR, with the expiry set by the first hit.  Returns the count and
 * the time left in the window. */
static const char rl_script[] =
    "local n = redis.call('INCR', KEYS[1]) "
    "local t = redis.call('PTTL', KEYS[1]) "
    "if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) t = tonumber(ARGV[1]) end "
    "return {n, t}";

static int rl_hit(const char *key, int64_t window_ms, int64_t *ret_count, int64_t *ret_ttl)
{
    redisReply *rep = NULL;
    /* Retried after a reconnect: counting one attempt twice only makes the limit a little
     * stricter, while refusing would turn every Redis restart into a burst of 503s. */
    int r = core_redis_cmd(1, &rep, "EVAL %s 1 %s %lld", rl_script, key, (long long)window_ms);
    if (r < 0)
        return r;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
        freeReplyObject(rep);
        return RG_EREDIS;
    }
    *ret_count = rep->element[0]->integer;
    *ret_ttl = rep->element[1]->integer;
    freeReplyObject(rep);
    return 0;
}

static void reply_429(struct core_req *req, int64_t ttl_ms, const char *msg)
{
    char ra[32];
    snprintf(ra, sizeof ra, "%lld", (long long)((ttl_ms + 999) / 1000));
    core_header_add(req, "Retry-After", ra);
    core_reply_error(req, 429, "rate_limited", msg, NULL);
}

/* Counts one hit on rl:<scope>:<ip>; replies 429/503 itself and returns 0 when the
 * request must stop. */
static int ip_limit(struct core_req *req, const char *scope, int64_t max)
{
    char key[160];
    int64_t n, ttl;
    core_rkey(key, sizeof key, "rl:%s:%s", scope, req->ip);
    int r = rl_hit(key, core_cfg->login_window_ms, &n, &ttl);
    if (r < 0) {
        /* Without Redis there are neither limits nor sessions: refuse rather than run open. */
        core_reply_backend_error(req, r, "auth.redis_unavailable");
        return 0;
    }
    if (n > max) {
        reply_429(req, ttl, "too many attempts from this address; retry later");
        return 0;
    }
    return 1;
}

/* Counts one attempt against an account's failure budget before its password is checked:
 * INCR first, then compare, in one script (rl_hit), so parallel guesses cannot all pass a
 * check made before any of them was counted.  A success resets the count (acct_reset); a
 * failure simply keeps it.  Login, password change and TOTP disable share the counter
 * rl:login_acct:<sha256 of the normalised e-mail>, so a stolen session cannot be used to
 * guess the password at leisure.  Writes the key into key (cap keycap) for the caller.
 * Returns 1 to go on, 0 after replying 429 (with Retry-After) or 503. */
static int acct_attempt(struct core_req *req, const char *email, char *key, size_t keycap)
{
    char *norm = email_norm(email);
    char ehash[65];
    int64_t n, ttl;

    rg_sha256_hex(norm, strlen(norm), ehash);
    rg_free(norm);
    core_rkey(key, keycap, "rl:login_acct:%s", ehash);
    int r = rl_hit(key, core_cfg->login_window_ms, &n, &ttl);
    if (r < 0) {
        core_reply_backend_error(req, r, "auth.redis_unavailable");
        return 0;
    }
    if (n > core_cfg->login_account_max) {
        reply_429(req, ttl > 0 ? ttl : 1000, "too many failed attempts for this account; retry later");
        return 0;
    }
    return 1;
}

/* The attempt counted by acct_attempt was no failure: forget the account's failures. */
static void acct_reset(const char *key)
{
    redisReply *rep = NULL;
    if (core_redis_cmd(1, &rep, "DEL %s", key) == 0)
        freeReplyObject(rep);
}

static void reply_session(struct core_req *req, unsigned status, json_t *user, int64_t uid)
{
    char tok[TOKEN_CHARS + 8];
    int r = session_create(uid, tok, sizeof tok, NULL, 0);
    if (r < 0) {
        json_decref(user);
        core_reply_backend_error(req, r, "auth.session_create_failed");
        return;
    }
    set_cookie(req, tok, core_cfg->session_ttl_ms / 1000);
    core_reply_json(req, status, json_pack("{s:o, s:s}", "user", user, "token", tok));
    rg_memzero(tok, sizeof tok);
}

/* Percent-encodes everything but RFC 3986 unreserved characters (new string). */
static char *uri_escape(const char *s)
{
    struct rg_buf b;
    rg_buf_init(&b, 4096);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~')
            (void)rg_buf_putc(&b, (char)ch);
        else
            (void)rg_buf_printf(&b, "%%%02X", ch);
    }
    return rg_buf_take(&b, NULL);
}

/* ---- TOTP ---------------------------------------------------------------------------- */

static int code_is_totp(const char *c)
{
    size_t n = 0;
    for (; c[n]; n++)
        if (!isdigit((unsigned char)c[n]))
            return 0;
    return n == 6;
}

/* The additional data that binds a sealed two-factor secret to its account: a sealed value
 * copied into another user's row does not open. */
static void totp_aad(int64_t uid, char out[40])
{
    snprintf(out, 40, "totp:%" PRId64, uid);
}

/* Finds the step (now +- 1, for clock skew) at which code is valid for uid's stored secret;
 * -1 if none.  The stored value is sealed with secret_key ("v1:..."); a bare base32 value
 * is one stored before secrets were sealed and still works. */
static int64_t totp_match(int64_t uid, const char *stored, const char *code)
{
    unsigned char key[64];
    char plain[128], aad[40];
    const char *secret_b32 = stored;

    if (!code_is_totp(code))
        return -1;
    if (strncmp(stored, "v1:", 3) == 0) {
        totp_aad(uid, aad);
        if (!core_cfg->has_secret_key ||
            core_unseal(core_cfg->secret_key_bytes, aad, stored, plain, sizeof plain) < 0) {
            RG_LOG(RG_LOG_ERROR, RG_EVENT("auth.totp_unseal_failed"), RG_KV_I64("user_id", uid),
                   RG_KV_STR("why", core_cfg->has_secret_key ? "wrong secret_key or altered value"
                                                             : "secret_key not set"));
            return -1;
        }
        secret_b32 = plain;
    }
    int kl = core_base32_decode(secret_b32, key, sizeof key);
    rg_memzero(plain, sizeof plain);
    if (kl <= 0)
        return -1;
    unsigned want = (unsigned)strtoul(code, NULL, 10);
    int64_t now = (int64_t)time(NULL) / 30;
    for (int64_t s = now - 1; s <= now + 1; s++)
        if (core_totp(key, (size_t)kl, (uint64_t)s) == want) {
            rg_memzero(key, sizeof key);
            return s;
        }
    rg_memzero(key, sizeof key);
    return -1;
}

/* Normalises a recovery code (case, dashes, spaces) and hashes it. */
static void recovery_hash(const char *code, char out[65])
{
    char norm[64];
    size_t n = 0;
    for (; *code && n < sizeof norm - 1; code++)
        if (isalnum((unsigned char)*code))
            norm[n++] = (char)toupper((unsigned char)*code);
    norm[n] = '\0';
    rg_sha256_hex(norm, n, out);
}

/* Second factor for uid: a TOTP code (each step usable once) or an unused recovery code.
 * 1 = accepted, 0 = refused, < 0 = database error. */
static int second_factor_ok(int64_t uid, const char *secret, const char *code)
{
    char uidbuf[24], stepbuf[24], hash[65];
    PGresult *res = NULL;
    int r;

    snprintf(uidbuf, sizeof uidbuf, "%" PRId64, uid);
    if (code_is_totp(code)) {
        int64_t step = totp_match(uid, secret, code);
        if (step < 0)
            return 0;
        snprintf(stepbuf, sizeof stepbuf, "%" PRId64, step);
        const char *p[] = {uidbuf, stepbuf};
        r = core_pg_exec(&st_totp_use_step, p, &res);
    } else {
        recovery_hash(code, hash);
        const char *p[] = {uidbuf, hash};
        r = core_pg_exec(&st_recovery_use, p, &res);
    }
    if (r < 0)
        return r;
    r = PQntuples(res) > 0;
    PQclear(res);
    return r;
}

/* ---- handlers ------------------------------------------------------------------------ */

void core_h_register(struct core_req *req)
{
    json_t *body = NULL;
    PGresult *res = NULL;
    char *norm = NULL;
    char hash[256];
    const char *email, *password, *name = NULL;

    if (!anon_origin_ok(req) || body_object(req, &body) < 0)
        goto out;
    if (!(email = need_str(req, body, "email")) || !(password = need_str(req, body, "password")))
        goto out;
    json_t *jn = json_object_get(body, "name");
    if (jn && !json_is_null(jn)) {
        if (!json_is_string(jn) || json_string_length(jn) > NAME_MAX_LEN ||
            strlen(json_string_value(jn)) != json_string_length(jn)) {
            core_reply_error(req, 422, "invalid_field",
                             "name must be a string of at most 200 bytes, without NUL", "/name");
            goto out;
        }
        name = json_string_value(jn);
    }
    if (!email_ok(email)) {
        core_reply_error(req, 422, "invalid_email", "this is not an e-mail address", "/email");
        goto out;
    }
    if (strlen(password) < PASSWORD_MIN || strlen(password) > PASSWORD_MAX) {
        core_reply_error(req, 422, "weak_password", "the password needs 8 to 1024 bytes",
                         "/password");
        goto out;
    }
    if (!ip_limit(req, "register", core_cfg->register_ip_max))
        goto out;
    if (hash_password(password, hash, sizeof hash) < 0) {
        core_reply_error(req, 500, "internal", "could not hash the password", NULL);
        goto out;
    }
    norm = email_norm(email);
    const char *p[] = {email, norm, name, hash};
    int r = core_pg_exec(&st_user_insert, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "auth.register_failed");
        goto out;
    }
    if (PQntuples(res) == 0) {
        core_reply_error(req, 409, "email_taken", "an account with this e-mail exists", "/email");
        goto out;
    }
    int64_t uid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    req->uid = uid;
    RG_LOG(RG_LOG_INFO, RG_EVENT("auth.registered"), RG_KV_STR("req_id", req->id),
           RG_KV_I64("uid", uid));
    reply_session(req, 201, user_json(res, 0), uid);
out:
    PQclear(res);
    rg_free(norm);
    json_decref(body);
}

void core_h_login(struct core_req *req)
{
    json_t *body = NULL;
    PGresult *res = NULL;
    char *norm = NULL;
    char acct_key[160];
    const char *email, *password;
    redisReply *rep = NULL;
    int r;

    if (!anon_origin_ok(req) || body_object(req, &body) < 0)
        goto out;
    if (!(email = need_str(req, body, "email")) || !(password = need_str(req, body, "password")))
        goto out;
    json_t *jt = json_object_get(body, "totp");
    const char *totp = json_is_string(jt) && json_string_length(jt) ? json_string_value(jt) : NULL;
    if (!ip_limit(req, "login_ip", core_cfg->login_ip_max))
        goto out;
    if (!acct_attempt(req, email, acct_key, sizeof acct_key))
        goto out;
    norm = email_norm(email);

    const char *p[] = {norm};
    r = core_pg_exec(&st_user_by_email, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "auth.login_failed");
        goto out;
    }
    int found = PQntuples(res) > 0;
    int pw_ok = verify_password(found ? PQgetvalue(res, 0, 3) : dummy_hash, password) && found;
    int64_t uid = found ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    if (pw_ok && !PQgetisnull(res, 0, 4)) {
        if (!totp) {
            /* Right password: ask for the second factor; not counted as a failure, so
             * the attempt acct_attempt counted is taken back. */
            if (core_redis_cmd(1, &rep, "DECR %s", acct_key) == 0) {
                freeReplyObject(rep);
                rep = NULL;
            }
            core_reply_error(req, 401, "totp_required",
                             "enter the code from your authenticator app", "/totp");
            goto out;
        }
        r = second_factor_ok(uid, PQgetvalue(res, 0, 4), totp);
        if (r < 0) {
            core_reply_backend_error(req, r, "auth.totp_failed");
            goto out;
        }
        if (!r) {
            core_reply_error(req, 401, "invalid_totp", "the code is wrong, expired or used",
                             "/totp");
            goto out;
        }
    }
    if (!pw_ok) {
        RG_LOG(RG_LOG_INFO, RG_EVENT("auth.login_failed"), RG_KV_STR("req_id", req->id),
               RG_KV_STR("ip", req->ip));
        core_reply_error(req, 401, "invalid_credentials", "wrong e-mail or password", NULL);
        goto out;
    }
    acct_reset(acct_key);
    req->uid = uid;
    reply_session(req, 200, user_json(res, 0), uid);
out:
    if (rep)
        freeReplyObject(rep);
    PQclear(res);
    rg_free(norm);
    json_decref(body);
}

void core_h_logout(struct core_req *req)
{
    redisReply *rep = NULL;
    char set[64];
    core_rkey(set, sizeof set, "usess:%" PRId64, req->uid);
    int r = core_redis_cmd(1, &rep, "DEL %s", req->sess_key);
    if (rep)
        freeReplyObject(rep);
    if (r < 0) {
        core_reply_backend_error(req, r, "auth.logout_failed");
        return;
    }
    /* The key ends with the hash: strip the prefix and "sess:". */
    const char *hash = strrchr(req->sess_key, ':');
    if (hash && core_redis_cmd(1, &rep, "SREM %s %s", set, hash + 1) == 0)
        freeReplyObject(rep);
    set_cookie(req, "", 0);
    core_reply_empty(req, 204);
}

/* The signed-in user's row as the "user" object of auth/me and auth/session.  Returns 0
 * and sets *ret_user (NULL when the account was deleted while the session lived), or
 * replies itself and returns -1. */
static int me_json(struct core_req *req, json_t **ret_user)
{
    PGresult *res = NULL;
    char uidbuf[24];
    snprintf(uidbuf, sizeof uidbuf, "%" PRId64, req->uid);
    const char *p[] = {uidbuf};
    int r = core_pg_exec(&st_user_by_id, p, &res);
    *ret_user = NULL;
    if (r < 0) {
        core_reply_backend_error(req, r, "auth.me_failed");
        return -1;
    }
    if (PQntuples(res) > 0) {
        json_t *u = user_json(res, 0);
        json_object_set_new(u, "totp_enabled", json_boolean(!PQgetisnull(res, 0, 4)));
        json_object_set_new(u, "created_at", json_string(PQgetvalue(res, 0, 6)));
        *ret_user = u;
    }
    PQclear(res);
    return 0;
}

void core_h_me(struct core_req *req)
{
    json_t *u;
    if (me_json(req, &u) < 0)
        return;
    if (!u) {
        /* The account was deleted while the session lived. */
        core_reply_error(req, 401, "unauthorized", "sign in first", NULL);
        return;
    }
    core_reply_json(req, 200, json_pack("{s:o}", "user", u));
}

/* Who is signed in, without failing when nobody is: a page that only wants to know
 * (the start page) asks this instead of auth/me and gets 200 {"user":null}. */
void core_h_session(struct core_req *req)
{
    json_t *u = NULL;
    if (core_auth_resolve(req) && me_json(req, &u) < 0)
        return;
    core_reply_json(req, 200, json_pack("{s:o}", "user", u ? u : json_null()));
}

/* Loads the current user's row (user_by_id) or replies itself. */
static PGresult *load_me(struct core_req *req)
{
    PGresult *res = NULL;
    char uidbuf[24];
    snprintf(uidbuf, sizeof uidbuf, "%" PRId64, req->uid);
    const char *p[] = {uidbuf};
    int r = core_pg_exec(&st_user_by_id, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "auth.user_load_failed");
        return NULL;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        core_reply_error(req, 401, "unauthorized", "sign in first", NULL);
        return NULL;
    }
    return res;
}

void core_h_password(struct core_req *req)
{
    json_t *body = NULL;
    PGresult *me = NULL, *res = NULL;
    redisReply *rep = NULL;
    char hash[256], uidbuf[24], set[64], acct_key[160];
    const char *cur, *neu;

    if (body_object(req, &body) < 0)
        goto out;
    if (!(cur = need_str(req, body, "current_password")) ||
        !(neu = need_str(req, body, "new_password")))
        goto out;
    if (strlen(neu) < PASSWORD_MIN || strlen(neu) > PASSWORD_MAX) {
        core_reply_error(req, 422, "weak_password", "the password needs 8 to 1024 bytes",
                         "/new_password");
        goto out;
    }
    if (!(me = load_me(req)))
        goto out;
    if (!acct_attempt(req, PQgetvalue(me, 0, 1), acct_key, sizeof acct_key))
        goto out;
    if (!verify_password(PQgetvalue(me, 0, 3), cur)) {
        core_reply_error(req, 403, "wrong_password", "the current password is wrong",
                         "/current_password");
        goto out;
    }
    acct_reset(acct_key);
    if (hash_password(neu, hash, sizeof hash) < 0) {
        core_reply_error(req, 500, "internal", "could not hash the password", NULL);
        goto out;
    }
    snprintf(uidbuf, sizeof uidbuf, "%" PRId64, req->uid);
    const char *p[] = {uidbuf, hash};
    int r = core_pg_exec(&st_user_set_password, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "auth.password_failed");
        goto out;
    }
    /* End every other session of this user: whoever knew the old password is out. */
    const char *mine = strrchr(req->sess_key, ':');
    mine = mine ? mine + 1 : "";
    core_rkey(set, sizeof set, "usess:%" PRId64, req->uid);
    if (core_redis_cmd(1, &rep, "SMEMBERS %s", set) == 0) {
        for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
            const char *h = rep->element[i]->str;
            if (!h || strcmp(h, mine) == 0)
                continue;
            char key[128];
            redisReply *d = NULL;
            core_rkey(key, sizeof key, "sess:%s", h);
            if (core_redis_cmd(1, &d, "DEL %s", key) == 0)
                freeReplyObject(d);
            if (core_redis_cmd(1, &d, "SREM %s %s", set, h) == 0)
                freeReplyObject(d);
        }
        freeReplyObject(rep);
    }
    RG_LOG(RG_LOG_INFO, RG_EVENT("auth.password_changed"), RG_KV_STR("req_id", req->id),
           RG_KV_I64("uid", req->uid));
    core_reply_empty(req, 204);
out:
    PQclear(me);
    PQclear(res);
    json_decref(body);
}

void core_h_totp_setup(struct core_req *req)
{
    PGresult *me = NULL, *res = NULL;
    unsigned char key[TOTP_SECRET_BYTES];
    char secret[64], sealed[256], aad[40], uidbuf[24];

    if (!core_cfg->has_secret_key) {
        core_reply_error(req, 503, "totp_unavailable",
                         "two-factor login is not configured on this server (secret_key)", NULL);
        return;
    }
    if (!(me = load_me(req)))
        goto out;
    if (!PQgetisnull(me, 0, 4)) {
        core_reply_error(req, 409, "totp_enabled",
                         "two-factor login is already on; disable it first", NULL);
        goto out;
    }
    core_random(key, sizeof key);
    core_base32(key, sizeof key, secret, sizeof secret);
    rg_memzero(key, sizeof key);
    snprintf(uidbuf, sizeof uidbuf, "%" PRId64, req->uid);
    totp_aad(req->uid, aad);
    RG_ASSERT(core_seal(core_cfg->secret_key_bytes, aad, secret, sealed, sizeof sealed) == 0);
    const char *p[] = {uidbuf, sealed};
    int r = core_pg_exec(&st_totp_pending, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "auth.totp_setup_failed");
        goto out;
    }
    char *email = uri_escape(PQgetvalue(me, 0, 1));
    char *uri = rg_asprintf(
        "otpauth://totp/ResumeGo:%s?secret=%s&issuer=ResumeGo&algorithm=SHA1&digits=6&period=30",
        email, secret);
    core_reply_json(req, 200, json_pack("{s:s, s:s}", "secret", secret, "otpauth_url", uri));
    rg_free(email);
    rg_free(uri);
out:
    rg_memzero(secret, sizeof secret);
    PQclear(me);
    PQclear(res);
}

void core_h_totp_enable(struct core_req *req)
{
    json_t *body = NULL;
    PGresult *me = NULL, *res = NULL;
    const char *code;
    char uidbuf[24], stepbuf[24];
    struct rg_buf arr;
    json_t *codes = json_array();

    rg_buf_init(&arr, 4096);
    if (body_object(req, &body) < 0 || !(code = need_str(req, body, "code")))
        goto out;
    if (!(me = load_me(req)))
        goto out;
    if (!PQgetisnull(me, 0, 4)) {
        core_reply_error(req, 409, "totp_enabled", "two-factor login is already on", NULL);
        goto out;
    }
    if (PQgetisnull(me, 0, 5)) {
        core_reply_error(req, 409, "totp_not_set_up", "call /auth/totp/setup first", NULL);
        goto out;
    }
    int64_t step = totp_match(req->uid, PQgetvalue(me, 0, 5), code);
    if (step < 0) {
        core_reply_error(req, 422, "invalid_totp", "the code does not match the secret", "/code");
        goto out;
    }
    /* Recovery codes: 10 random base32 characters shown once as XXXXX-XXXXX; only their
     * hashes are kept. */
    (void)rg_buf_putc(&arr, '{');
    for (int i = 0; i < RECOVERY_CODES; i++) {
        unsigned char raw[7];
        char b[16], shown[16], h[65];
        core_random(raw, sizeof raw);
        core_base32(raw, sizeof raw, b, sizeof b);
        snprintf(shown, sizeof shown, "%.5s-%.5s", b, b + 5);
        recovery_hash(shown, h);
        json_array_append_new(codes, json_string(shown));
        (void)rg_buf_printf(&arr, "%s%s", i ? "," : "", h);
    }
    (void)rg_buf_putc(&arr, '}');
    snprintf(uidbuf, sizeof uidbuf, "%" PRId64, req->uid);
    snprintf(stepbuf, sizeof stepbuf, "%" PRId64, step);
    const char *p[] = {uidbuf, stepbuf, arr.ptr};
    int r = core_pg_exec(&st_totp_enable, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "auth.totp_enable_failed");
        goto out;
    }
    if (PQntuples(res) == 0) {
        core_reply_error(req, 409, "totp_enabled", "two-factor login changed meanwhile", NULL);
        goto out;
    }
    core_reply_json(req, 200, json_pack("{s:b, s:O}", "totp_enabled", 1, "recovery_codes", codes));
out:
    json_decref(codes);
    rg_buf_done(&arr);
    PQclear(me);
    PQclear(res);
    json_decref(body);
}

void core_h_totp_disable(struct core_req *req)
{
    json_t *body = NULL;
    PGresult *me = NULL, *res = NULL;
    const char *password;
    char uidbuf[24], acct_key[160];

    if (body_object(req, &body) < 0 || !(password = need_str(req, body, "password")))
        goto out;
    if (!(me = load_me(req)))
        goto out;
    if (!acct_attempt(req, PQgetvalue(me, 0, 1), acct_key, sizeof acct_key))
        goto out;
    if (!verify_password(PQgetvalue(me, 0, 3), password)) {
        core_reply_error(req, 403, "wrong_password", "the password is wrong", "/password");
        goto out;
    }
    acct_reset(acct_key);
    snprintf(uidbuf, sizeof uidbuf, "%" PRId64, req->uid);
    const char *p[] = {uidbuf};
    int r = core_pg_exec(&st_totp_disable, p, &res);
    if (r < 0) {
        core_reply_backend_error(req, r, "auth.totp_disable_failed");
        goto out;
    }
    core_reply_empty(req, 204);
out:
    PQclear(me);
    PQclear(res);
    json_decref(body);
}
