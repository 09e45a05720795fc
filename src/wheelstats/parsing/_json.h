/* The kernel's JSON step: one JSON object (a line of a JSON-lines log) scanned once, the values at a
 * mapping's paths picked out as slices of the line, and the time texts JSON logs write read as DuckDB
 * reads them (times.py's ANY_TIME). Included by _kernel.c; program.py writes the paths.
 *
 * Only strict JSON is read (yyjson, behind DuckDB's json_extract_string, accepts more: trailing
 * commas, NaN); anything else, and anything the SQL could read differently (a duplicate key on a
 * path, an escaped key, a \u surrogate, a container or a scalar where a path goes on), makes the scan
 * fail, which defers the line to the SQL definition.
 *
 * Its time texts are read by _times.h.
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

/* What the scan asks of the paths at each depth, worked out once per program (json_index). Paths
 * with the same first steps are matched once: the first of them (the leader) stands for all. */
typedef struct {
    uint32_t ends_at[JSON_MAX_STEPS + 1];   /* the paths of d steps */
    uint32_t key_at[JSON_MAX_STEPS + 1];    /* the paths whose step d is a key */
    uint32_t index_at[JSON_MAX_STEPS + 1];  /* ... an array index */
    uint32_t leaders[JSON_MAX_STEPS][256];  /* the paths whose key at step d is compared, by the key's first
                                               byte ('"' for the empty key) */
    uint32_t same[JSON_MAX_PATHS][JSON_MAX_STEPS];   /* a leader's paths with its first d + 1 steps */
    uint32_t of_field[J_COUNT];             /* each field's paths (their order is the order they are tried) */
} JsonIndex;

typedef struct {
    const JsonPath *paths;
    const JsonIndex *index;
    int path_count;
    const unsigned char *end;
    JsonValue found[JSON_MAX_PATHS];
    unsigned char entered[JSON_MAX_PATHS][JSON_MAX_STEPS];   /* how often each path's step was entered */
} JsonScan;

#endif

#if !defined(JSON_TYPES_ONLY) && !defined(WHEELSTATS_JSON_CODE)
#define WHEELSTATS_JSON_CODE

static int json_same_step(const JsonPath *a, const JsonPath *b, int d) {
    if (a->index[d] != b->index[d]) return 0;
    return a->index[d] >= 0 || (a->key_length[d] == b->key_length[d]
                                && memcmp(a->key[d], b->key[d], (size_t)a->key_length[d]) == 0);
}

/* The index of `count` paths (see JsonIndex). */
static void json_index(const JsonPath *paths, int count, JsonIndex *x) {
    memset(x, 0, sizeof(*x));
    for (int p = 0; p < count; p++) {
        const JsonPath *path = &paths[p];
        x->ends_at[path->steps] |= 1u << p;
        x->of_field[path->field] |= 1u << p;
        for (int d = 0; d < path->steps; d++) {
            if (path->index[d] < 0) x->key_at[d] |= 1u << p; else x->index_at[d] |= 1u << p;
            int leader = p;   /* the first path with the same steps up to d */
            for (int q = 0; q < p && leader == p; q++) {
                int same = paths[q].steps > d;
                for (int e = 0; same && e <= d; e++) same = json_same_step(&paths[q], path, e);
                if (same) leader = q;
            }
            if (leader == p && path->index[d] < 0)
                x->leaders[d][path->key_length[d] ? path->key[d][0] : '"'] |= 1u << p;
            x->same[leader][d] |= 1u << p;
        }
    }
}
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

/* The bytes a string's scan stops at: its quote, a backslash, a control character. */
static const unsigned char JSON_STRING_STOP[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1,
};

/* The bytes of `word` a string's scan stops at ('"', '\\', below 0x20), each as its high bit: none
 * is missed, and the lowest one marked is the first there is (a test's borrow only runs upwards
 * from a byte that passes it). */
static inline uint64_t json_word_stops(uint64_t word) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t quote = word ^ (ones * '"'), backslash = word ^ (ones * '\\');
    return (((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | ((word - ones * 0x20) & ~word)) & highs;
}

/* From just after a string's opening quote: its closing quote, or NULL. Eight bytes at a time up to
 * the first that stops it. */
static const unsigned char *json_string(const unsigned char *q, const unsigned char *end, int *escaped) {
    *escaped = 0;
    while (q < end) {
        while (end - q >= 8) {
            uint64_t word;
            memcpy(&word, q, 8);
            uint64_t stops = json_word_stops(word);
            if (stops) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                q += __builtin_ctzll(stops) >> 3;   /* the first byte in memory is the lowest */
#endif
                break;
            }
            q += 8;
        }
        while (q < end && !JSON_STRING_STOP[*q]) q++;
        if (q >= end) return NULL;
        unsigned char c = *q;
        if (c == '"') return q;
        if (c < 0x20) return NULL;
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

/* A value no path leads into, checked and skipped: the byte after it, or NULL. */
static const unsigned char *json_skip(const unsigned char *q, const unsigned char *end, int depth) {
    if (q >= end || depth > JSON_MAX_NESTING) return NULL;
    unsigned char c = *q;
    int escaped, plain;
    if (c == '"') {
        const unsigned char *close = json_string(q + 1, end, &escaped);
        return close ? close + 1 : NULL;
    }
    if (c == '{' || c == '[') {
        unsigned char closing = c == '{' ? '}' : ']';
        q = json_space(q + 1, end);
        if (q < end && *q == closing) return q + 1;
        for (;;) {
            if (c == '{') {
                if (q >= end || *q != '"') return NULL;
                const unsigned char *close = json_string(q + 1, end, &escaped);
                if (!close) return NULL;
                q = json_space(close + 1, end);
                if (q >= end || *q != ':') return NULL;
                q = json_space(q + 1, end);
            }
            q = json_skip(q, end, depth + 1);
            if (!q) return NULL;
            q = json_space(q, end);
            if (q < end && *q == ',') { q = json_space(q + 1, end); continue; }
            if (q < end && *q == closing) return q + 1;
            return NULL;
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) return json_number(q, end, &plain);
    if (end - q >= 4 && (memcmp(q, "null", 4) == 0 || memcmp(q, "true", 4) == 0)) return q + 4;
    if (end - q >= 5 && memcmp(q, "false", 5) == 0) return q + 5;
    return NULL;
}

/* A scalar found where paths in `here` end; 0 if one of them was found before. */
static int json_found(JsonScan *s, uint32_t here, JsonValue value) {
    for (; here; here &= here - 1) {
        int p = __builtin_ctz(here);
        if (s->found[p].type != JV_ABSENT) return 0;
        s->found[p] = value;
    }
    return 1;
}

/* One value at q, `mask` the paths whose first `depth` steps lead here: the byte after it, or NULL. */
static const unsigned char *json_value(JsonScan *s, const unsigned char *q, int depth, uint32_t mask) {
    const unsigned char *end = s->end;
    if (q >= end || depth > JSON_MAX_NESTING) return NULL;
    if (!mask) return json_skip(q, end, depth);
    /* a path reaches here only through its first `depth` steps: it has at least that many */
    const JsonIndex *x = s->index;
    uint32_t here = mask & x->ends_at[depth], deeper = mask & ~here;
    int wants_key = (deeper & x->key_at[depth]) != 0, wants_index = (deeper & x->index_at[depth]) != 0;
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
                uint32_t leaders = deeper & x->leaders[depth][*key];   /* an empty key's first byte is its '"' */
                for (; leaders; leaders &= leaders - 1) {
                    int p = __builtin_ctz(leaders);
                    const JsonPath *path = &s->paths[p];
                    if (path->key_length[depth] == length && memcmp(path->key[depth], key, (size_t)length) == 0) {
                        if (++s->entered[p][depth] > 1) return NULL;   /* a duplicate key on a path */
                        sub |= x->same[p][depth];
                    }
                }
            }
            q = json_space(close + 1, end);
            if (q >= end || *q != ':') return NULL;
            q = json_space(q + 1, end);
            q = sub ? json_value(s, q, depth + 1, sub) : json_skip(q, end, depth + 1);
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
            for (uint32_t left = deeper; left; left &= left - 1) {
                int p = __builtin_ctz(left);
                if (s->paths[p].index[depth] == index) sub |= 1u << p;
            }
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

#endif
