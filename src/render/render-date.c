/* Resume dates (see rg/resume.h): the calendar check behind the loader's date warnings,
 * the schema's iso8601 pattern, and the words authors use for "still going". */
#include <errno.h>
#include <string.h>

#include "render-load.h"
#include "rg/render.h"
#include "rg/resume.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int render_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days[m - 1];
}

/* The schema's pattern, written out: ^([1-2][0-9]{3}-[0-1][0-9]-[0-3][0-9]|[1-2][0-9]{3}-
 * [0-1][0-9]|[1-2][0-9]{3})$.  test-date checks this against regcomp of the schema's own
 * pattern so the two cannot drift apart. */
static int matches_iso8601_pattern(const char *s)
{
    size_t n = strlen(s);

    if (n != 4 && n != 7 && n != 10)
        return 0;
    if (!(s[0] == '1' || s[0] == '2') || !is_digit(s[1]) || !is_digit(s[2]) || !is_digit(s[3]))
        return 0;
    if (n >= 7 && (s[4] != '-' || !(s[5] == '0' || s[5] == '1') || !is_digit(s[6])))
        return 0;
    if (n == 10 && (s[7] != '-' || !(s[8] >= '0' && s[8] <= '3') || !is_digit(s[9])))
        return 0;
    return 1;
}

int rg_date_parse(const char *s, int *ret_y, int *ret_m, int *ret_d)
{
    int y, m = 0, d = 0;

    if (!s || !matches_iso8601_pattern(s))
        return -EINVAL;
    y = digits(s, 4);
    if (s[4]) {
        m = digits(s + 5, 2);
        if (m < 1 || m > 12)
            return -EINVAL;
        if (s[7]) {
            d = digits(s + 8, 2);
            if (d < 1 || d > render_days_in_month(y, m))
                return -EINVAL;
        }
    }
    if (ret_y)
        *ret_y = y;
    if (ret_m)
        *ret_m = m;
    if (ret_d)
        *ret_d = d;
    return 0;
}

int rg_date_valid(const char *s, int calendar)
{
    if (!s)
        return 0;
    return calendar ? rg_date_parse(s, NULL, NULL, NULL) == 0 : matches_iso8601_pattern(s);
}

int render_full_date_valid(const char *s)
{
    /* RFC 3339 full-date: exactly YYYY-MM-DD, any year but 0000 (what the reference
     * validators accept), and a real day. */
    int y, m, d;

    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !is_digit(s[i]))
            return 0;
    y = digits(s, 4);
    m = digits(s + 5, 2);
    d = digits(s + 8, 2);
    return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= render_days_in_month(y, m);
}

/* Appends the lower-case form of one UTF-8 string into out (size cap), folding ASCII,
 * Latin-1 capitals and Cyrillic capitals: enough for the words in present_words. Returns
 * 0, or -1 when out is too small. */
static int fold(const char *s, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;

    while (*p) {
        unsigned cp;
        int n;
        if (*p < 0x80) {
            cp = *p, n = 1;
        } else if ((*p & 0xe0) == 0xc0 && (p[1] & 0xc0) == 0x80) {
            cp = ((unsigned)(*p & 0x1f) << 6) | (p[1] & 0x3f), n = 2;
        } else {
            /* Longer sequences (CJK) have no case: copy the lead byte as is. */
            if (o + 1 >= cap)
                return -1;
            out[o++] = (char)*p++;
            continue;
        }
        if (cp >= 'A' && cp <= 'Z')
            cp += 0x20;
        else if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7)
            cp += 0x20;
        else if (cp >= 0x410 && cp <= 0x42f)
            cp += 0x20;
        else if (cp >= 0x400 && cp <= 0x40f)
            cp += 0x50;
        if (cp < 0x80) {
            if (o + 1 >= cap)
                return -1;
            out[o++] = (char)cp;
        } else {
            if (o + 2 >= cap)
                return -1;
            out[o++] = (char)(0xc0 | (cp >> 6));
            out[o++] = (char)(0x80 | (cp & 0x3f));
        }
        p += n;
    }
    out[o] = '\0';
    return 0;
}

int rg_date_is_present_word(const char *s)
{
    /* Lower case, as fold() produces them. */
    static const char *const present_words[] = {
        /* en */ "present", "current", "currently", "now", "today", "ongoing", "to date",
        "till date", "till now", "until now", "to present", "the present", "presently",
        /* de */ "heute", "bis heute", "aktuell", "jetzt", "derzeit", "gegenwärtig", "laufend",
        /* fr */ "actuel", "actuellement", "aujourd'hui", "aujourd\u2019hui", "présent",
        "en cours", "ce jour",
        /* es, pt, it */ "actualidad", "la actualidad", "actual", "actualmente", "presente",
        "hoy", "atual", "atualmente", "hoje", "o momento", "attuale", "oggi", "in corso",
        /* nl, nordic, pl */ "heden", "nu", "huidig", "nå", "nåværende", "pågående", "obecnie",
        "teraz",
        /* ru, uk */ "настоящее время", "по настоящее время", "наст. время", "н.в.", "сейчас",
        "текущее время", "теперішній час", "зараз",
        /* zh, ja, ko */ "至今", "现在", "現在", "今", "目前", "迄今", "現職", "在職中", "현재",
    };
    char buf[64], low[64];
    size_t b = 0, e;

    if (!s)
        return 0;
    while (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r')
        b++;
    e = strlen(s);
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r'))
        e--;
    if (e == b || e - b >= sizeof buf)
        return 0;
    memcpy(buf, s + b, e - b);
    buf[e - b] = '\0';
    if (fold(buf, low, sizeof low) < 0)
        return 0;
    for (size_t i = 0; i < sizeof present_words / sizeof *present_words; i++)
        if (!strcmp(low, present_words[i]))
            return 1;
    return 0;
}
