/* The kernel's JSON step: one JSON object (a line of a JSON-lines log) scanned once, the values at a
 * mapping's paths picked out as slices of the line, and the time texts JSON logs write read as DuckDB
 * reads them (times.py's ANY_TIME). Included by _kernel.c; program.py writes the paths.
 *
 * Only strict JSON is read (yyjson, behind DuckDB's json_extract_string, accepts more: trailing
 * commas, NaN); anything else, and anything the SQL could read differently (a duplicate key on a
 * path, an escaped key, a \u surrogate, a container or a scalar where a path goes on), makes the scan
 * fail, which defers the line to the SQL definition.
 */
#ifndef WHEELSTATS_JSON_TYPES
#define WHEELSTATS_JSON_TYPES
#include <math.h>
#include <stdlib.h>

#define JSON_MAX_PATHS 32
#define JSON_MAX_STEPS 8
#define JSON_MAX_NESTING 64

/* The fields a mapping fills (jsonformat.FIELD_KEYS, in program.py's JSON_FIELDS order). */
enum { J_TS, J_IP, J_METHOD, J_URI, J_REQUEST, J_STATUS, J_BYTES, J_AGENT, J_REFERRER, J_FORWARDED, J_COUNT };

typedef struct {
    int field;                                  /* J_... */
    int steps;
    int index[JSON_MAX_STEPS];                  /* an array index, or -1 for a key */
    const unsigned char *key[JSON_MAX_STEPS];
    int key_length[JSON_MAX_STEPS];
} JsonPath;

/* a value found at a path */
enum { JV_ABSENT = 0, JV_NULL, JV_STRING, JV_NUMBER, JV_LITERAL };

typedef struct {
    const unsigned char *start, *stop;   /* a string's inside (without its quotes), or the token */
    int type;
    int escaped;                         /* a string holding a backslash escape */
    int plain;                           /* a number written -?(0|[1-9][0-9]*) */
} JsonValue;

typedef struct {
    const JsonPath *paths;
    int path_count;
    const unsigned char *end;
    JsonValue found[JSON_MAX_PATHS];
    unsigned char entered[JSON_MAX_PATHS][JSON_MAX_STEPS];   /* how often each path's step was entered */
} JsonScan;

#endif

#if !defined(JSON_TYPES_ONLY) && !defined(WHEELSTATS_JSON_CODE)
#define WHEELSTATS_JSON_CODE
static inline const unsigned char *json_space(const unsigned char *q, const unsigned char *end) {
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
    return q;
}

static inline int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* From just after a string's opening quote: its closing quote, or NULL. */
static const unsigned char *json_string(const unsigned char *q, const unsigned char *end, int *escaped) {
    *escaped = 0;
    while (q < end) {
        unsigned char c = *q;
        if (c == '"') return q;
        if (c < 0x20) return NULL;
        if (c != '\\') { q++; continue; }
        *escaped = 1;
        if (end - q < 2) return NULL;
        unsigned char e = q[1];
        if (e == 'u') {
            if (end - q < 6) return NULL;
            int v = 0;
            for (int k = 2; k < 6; k++) {
                int h = hex_value(q[k]);
                if (h < 0) return NULL;
                v = v * 16 + h;
            }
            if (v >= 0xd800 && v <= 0xdfff) return NULL;   /* surrogates: the SQL decides */
            q += 6;
        } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
            q += 2;
        } else {
            return NULL;
        }
    }
    return NULL;
}

static const unsigned char *json_number(const unsigned char *q, const unsigned char *end, int *plain) {
    *plain = 1;
    if (q < end && *q == '-') q++;
    if (q >= end) return NULL;
    if (*q == '0') q++;
    else if (*q >= '1' && *q <= '9') while (q < end && *q >= '0' && *q <= '9') q++;
    else return NULL;
    if (q < end && *q == '.') {
        *plain = 0;
        const unsigned char *s = ++q;
        while (q < end && *q >= '0' && *q <= '9') q++;
        if (q == s) return NULL;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        *plain = 0;
        q++;
        if (q < end && (*q == '+' || *q == '-')) q++;
        const unsigned char *s = q;
        while (q < end && *q >= '0' && *q <= '9') q++;
        if (q == s) return NULL;
    }
    return q;
}

/* A scalar found where paths in `here` end; 0 if one of them was found before. */
static int json_found(JsonScan *s, uint32_t here, JsonValue value) {
    for (int p = 0; p < s->path_count; p++) {
        if (!(here & (1u << p))) continue;
        if (s->found[p].type != JV_ABSENT) return 0;
        s->found[p] = value;
    }
    return 1;
}

/* One value at q, `mask` the paths whose first `depth` steps lead here: the byte after it, or NULL. */
static const unsigned char *json_value(JsonScan *s, const unsigned char *q, int depth, uint32_t mask) {
    const unsigned char *end = s->end;
    if (q >= end || depth > JSON_MAX_NESTING) return NULL;
    uint32_t here = 0, deeper = 0;
    int wants_key = 0, wants_index = 0;
    for (int p = 0; p < s->path_count; p++) {
        if (!(mask & (1u << p))) continue;
        if (s->paths[p].steps == depth) here |= 1u << p;
        else {
            deeper |= 1u << p;
            if (s->paths[p].index[depth] < 0) wants_key = 1; else wants_index = 1;
        }
    }
    unsigned char c = *q;
    if (c == '{') {
        if (here || wants_index) return NULL;   /* a container where a path ends, or a key where it wants an index */
        q = json_space(q + 1, end);
        if (q < end && *q == '}') return q + 1;
        for (;;) {
            if (q >= end || *q != '"') return NULL;
            int escaped;
            const unsigned char *key = q + 1, *close = json_string(key, end, &escaped);
            if (!close) return NULL;
            uint32_t sub = 0;
            if (deeper) {
                if (escaped) return NULL;
                int length = (int)(close - key);
                for (int p = 0; p < s->path_count; p++) {
                    if (!(deeper & (1u << p))) continue;
                    const JsonPath *path = &s->paths[p];
                    if (path->key_length[depth] == length && memcmp(path->key[depth], key, (size_t)length) == 0) {
                        if (++s->entered[p][depth] > 1) return NULL;   /* a duplicate key on a path */
                        sub |= 1u << p;
                    }
                }
            }
            q = json_space(close + 1, end);
            if (q >= end || *q != ':') return NULL;
            q = json_value(s, json_space(q + 1, end), depth + 1, sub);
            if (!q) return NULL;
            q = json_space(q, end);
            if (q < end && *q == ',') { q = json_space(q + 1, end); continue; }
            if (q < end && *q == '}') return q + 1;
            return NULL;
        }
    }
    if (c == '[') {
        if (here || wants_key) return NULL;
        q = json_space(q + 1, end);
        if (q < end && *q == ']') return q + 1;
        for (int index = 0;; index++) {
            uint32_t sub = 0;
            for (int p = 0; p < s->path_count; p++)
                if ((deeper & (1u << p)) && s->paths[p].index[depth] == index) sub |= 1u << p;
            q = json_value(s, q, depth + 1, sub);
            if (!q) return NULL;
            q = json_space(q, end);
            if (q < end && *q == ',') { q = json_space(q + 1, end); continue; }
            if (q < end && *q == ']') return q + 1;
            return NULL;
        }
    }
    JsonValue value = {q, q, JV_ABSENT, 0, 0};
    const unsigned char *after;
    if (c == '"') {
        const unsigned char *close = json_string(q + 1, end, &value.escaped);
        if (!close) return NULL;
        value.start = q + 1; value.stop = close; value.type = JV_STRING;
        after = close + 1;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        after = json_number(q, end, &value.plain);
        if (!after) return NULL;
        value.stop = after; value.type = JV_NUMBER;
    } else if (end - q >= 4 && memcmp(q, "null", 4) == 0) {
        after = q + 4; value.type = JV_NULL;
        deeper = 0;   /* a path through null gives null, as a path that is not there */
    } else if (end - q >= 4 && memcmp(q, "true", 4) == 0) {
        after = q + 4; value.stop = after; value.type = JV_LITERAL;
    } else if (end - q >= 5 && memcmp(q, "false", 5) == 0) {
        after = q + 5; value.stop = after; value.type = JV_LITERAL;
    } else {
        return NULL;
    }
    if (deeper) return NULL;   /* a scalar where a path goes on */
    if (here && !json_found(s, here, value)) return NULL;
    return after;
}

/* The line [q, end) as one JSON object: 1 and each path's value in s->found, or 0. */
static int json_scan(JsonScan *s, const unsigned char *q, const unsigned char *end) {
    s->end = end;
    memset(s->found, 0, sizeof(JsonValue) * (size_t)s->path_count);
    memset(s->entered, 0, sizeof(s->entered[0]) * (size_t)s->path_count);
    q = json_space(q, end);
    if (q >= end || *q != '{') return 0;
    uint32_t all = s->path_count == 32 ? 0xffffffffu : (1u << s->path_count) - 1;
    q = json_value(s, q, 0, all);
    return q != NULL && json_space(q, end) == end;
}

/* ---- time texts, as times.ANY_TIME reads them ---- */

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

/* ISO 8601 as DuckDB's TIMESTAMPTZ cast reads it, in the forms JSON logs write:
 * yyyy-mm-ddThh:mm:ss[.fraction, cut to microseconds][Z|+hh:mm|-hh:mm|+hhmm|-hhmm]. UTC microseconds. */
static int iso_time(const unsigned char *p, int64_t n, int64_t *us) {
    int y, m, d, hh, mm, ss;
    if (n < 19 || !digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &m) || p[7] != '-'
        || !digits(p + 8, 2, &d) || p[10] != 'T' || !digits(p + 11, 2, &hh) || p[13] != ':'
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
#endif
