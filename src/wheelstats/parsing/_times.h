/* The kernel's readers of time texts other than CLF's: epoch numbers and ISO 8601 (times.ANY_TIME, JSON
 * logs), W3C's date and time (w3c.W3C_TIME), as DuckDB reads them; and writer.screened_sql's offset check
 * over a time's text. Included by _kernel.c once digits(), days_in_month() and days_from_civil() are
 * defined. Each returns 0 for a text it does not read (the SQL definition decides that line).
 */
#include <math.h>
#include <stdlib.h>

static inline int all_digits(const unsigned char *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) if (p[i] < '0' || p[i] > '9') return 0;
    return n > 0;
}

/* An epoch number: digits, or digits '.' digits (no sign, no exponent). UTC microseconds. */
static int epoch_time(const unsigned char *p, int64_t n, int64_t *us) {
    const unsigned char *dot = memchr(p, '.', (size_t)n);
    if (!dot) {
        if (n > 19 || !all_digits(p, n)) return 0;
        uint64_t digits_value = 0;
        for (int64_t i = 0; i < n; i++) digits_value = digits_value * 10 + (uint64_t)(p[i] - '0');
        if (digits_value > (uint64_t)INT64_MAX) return 0;
        int64_t v = (int64_t)digits_value;
        /* the unit told by its size, as times.EPOCH_DIVISORS */
        if (v >= 100000000000000000LL) *us = v / 1000;
        else if (v >= 100000000000000LL) *us = v;
        else if (v >= 100000000000LL) *us = v * 1000;
        else *us = v * 1000000;
        return 1;
    }
    if (!all_digits(p, dot - p) || !all_digits(dot + 1, p + n - dot - 1) || n > 40) return 0;
    char text[48];
    memcpy(text, p, (size_t)n);
    text[n] = 0;
    double number = strtod(text, NULL);
    double divisor = number >= 1e17 ? 1e9 : number >= 1e14 ? 1e6 : number >= 1e11 ? 1e3 : 1;
    double seconds = number / divisor;
    if (!(seconds < 1e11)) return 0;
    *us = (int64_t)round(seconds * 1e6);
    return 1;
}

/* ISO 8601 as DuckDB's TIMESTAMPTZ cast reads it, in the forms logs write: yyyy-mm-dd, `between` (T, or
 * the space of W3C's date and time), hh:mm:ss[.fraction, cut to microseconds][Z|+hh:mm|-hh:mm|+hhmm|-hhmm].
 * UTC microseconds. */
static int iso_time(const unsigned char *p, int64_t n, unsigned char between, int64_t *us) {
    int y, m, d, hh, mm, ss;
    if (n < 19 || !digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &m) || p[7] != '-'
        || !digits(p + 8, 2, &d) || p[10] != between || !digits(p + 11, 2, &hh) || p[13] != ':'
        || !digits(p + 14, 2, &mm) || p[16] != ':' || !digits(p + 17, 2, &ss))
        return 0;
    if (y < 1000 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m) || hh > 23 || mm > 59 || ss > 59) return 0;
    const unsigned char *q = p + 19, *end = p + n;
    int64_t fraction = 0;
    if (q < end && *q == '.') {
        const unsigned char *s = ++q;
        while (q < end && *q >= '0' && *q <= '9') q++;
        int count = (int)(q - s);
        if (count == 0 || count > 9) return 0;
        for (int k = 0; k < 6; k++) fraction = fraction * 10 + (k < count ? s[k] - '0' : 0);
    }
    int offset = 0;
    if (q < end && *q == 'Z') q++;
    else if (q < end && (*q == '+' || *q == '-')) {
        int oh, om, colon = end - q == 6;   /* +hh:mm or +hhmm */
        if ((end - q != 5 && !colon) || !digits(q + 1, 2, &oh) || (colon && q[3] != ':')
            || !digits(q + 3 + colon, 2, &om) || oh > 14 || om > 59)
            return 0;
        offset = (*q == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        q = end;
    }
    if (q != end) return 0;
    *us = (days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 + hh * 3600 + mm * 60 + ss - offset) * 1000000LL
          + fraction;
    return 1;
}

/* writer.screened_sql's offset check over the time text: its last five characters, when they start
 * with '+', ',' or '-', must lie in ['+0000', '+1400'] or ['-0000', '-1400'] (compared as bytes). */
static int text_cmp(const unsigned char *a, int64_t n, const char *b) {
    int64_t m = (int64_t)strlen(b);
    int r = memcmp(a, b, (size_t)(n < m ? n : m));
    return r ? r : (n > m) - (n < m);
}

static int bad_offset_text(const unsigned char *p, int64_t n) {
    const unsigned char *tail = n > 5 ? p + n - 5 : p;
    int64_t length = n > 5 ? 5 : n;
    if (!(text_cmp(tail, length, "+") >= 0 && text_cmp(tail, length, ".") < 0)) return 0;
    int plus = text_cmp(tail, length, "+0000") >= 0 && text_cmp(tail, length, "+1400") <= 0;
    int minus = text_cmp(tail, length, "-0000") >= 0 && text_cmp(tail, length, "-1400") <= 0;
    return !(plus || minus);
}
