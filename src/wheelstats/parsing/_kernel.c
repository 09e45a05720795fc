/* The compiled kernel of ingest: a block of whole log lines walked once, in C.
 *
 * Two entry points, both over a block of bytes that holds whole lines:
 *
 *   scan(data, ends, hashes)   each line's end (newline included) and its 64-bit hash,
 *                              the hash DuckDB's hash() gives the line's bytes (chunks.py)
 *   parse(program, data, ...)  each line cut by a "format program" (program.py compiles it
 *                              from a LogFormat, a JSON mapping, HAProxy's httplog, S3's
 *                              access log or a header's columns), checked, classified, and its fields
 *                              deduplicated within the block
 *
 * The kernel never guesses: a line whose shape it is not sure of gets the outcome DEFER
 * and is parsed by the SQL definition (classify.py), which decides it. Every outcome the
 * kernel does decide is the one the SQL gives (tests/parsing/test_kernel.py holds it to
 * that on every line case and on generated lines). Reads never go past a line's end.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

/* ---- DuckDB's hash of a byte string (duckdb/common/types/hash.cpp, HashBytes) ---- */

static inline uint64_t murmur_finish(uint64_t x) {
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    return x;
}

static inline uint64_t hash_bytes(const unsigned char *p, size_t len, int add_newline) {
    /* With add_newline, the hash of these bytes followed by a newline. */
    uint64_t total = len + (add_newline ? 1 : 0);
    uint64_t h = 0xe17a1465ULL ^ (total * 0xc6a4a7935bd1e995ULL);
    size_t whole = len & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t word;
        memcpy(&word, p + i, 8);
        h ^= word;
        h *= 0xd6e8feb86659fd93ULL;
    }
    size_t tail = len - whole;
    if (tail || add_newline) {  /* the last bytes, zero-padded to a word (a whole word is the same step) */
        unsigned char last[8] = {0};
        memcpy(last, p + whole, tail);
        if (add_newline) last[tail] = '\n';
        uint64_t word;
        memcpy(&word, last, 8);
        h ^= word;
        h *= 0xd6e8feb86659fd93ULL;
    }
    return murmur_finish(h);
}

/* ---- outcomes (their names are in program.py, in this order) ---- */

enum {
    OUT_DEFER = 0,
    OUT_INDEX, OUT_DOWNLOAD, OUT_PROJECT_PAGE, OUT_JSON, OUT_PAGE,       /* candidate hits */
    OUT_DECODE_PATH,     /* a candidate whose path has %-escapes: decoded (as the SQL does), then classified */
    OUT_IGNORE_MALFORMED, OUT_IGNORE_METHOD, OUT_IGNORE_STATUS, OUT_IGNORE_OTHER_PATH,
    OUT_REJECT_BAD_OFFSET, OUT_REJECT_IMPLAUSIBLE_TIME,
    OUT_REJECT_EMPTY, OUT_REJECT_TOO_LONG, OUT_REJECT_NUL, OUT_REJECT_UTF8, OUT_REJECT_UNPARSEABLE,
};

/* ---- format program ops (program.py writes them) ---- */

enum {
    OP_LITERAL = 1,   /* n bytes that must be there */
    OP_TOKEN = 2,     /* \S+ (flag 1) or \S*, into a field or none; whitespace must follow */
    OP_TIME = 3,      /* [dd/Mon/yyyy:HH:MM:SS +hhmm] */
    OP_REQUEST = 4,   /* "METHOD path[ protocol]" inside quotes already matched */
    OP_STATUS = 5,    /* three digits */
    OP_BYTES = 6,     /* - or digits, into bytes (flag 1) or skipped */
    OP_QUOTED = 7,    /* the inside of an escaped quoted field, up to its closing quote */
    OP_TAIL = 8,      /* quoted headers to the line's end: "a" "b" ... (fields in the literal) */
    OP_END = 9,       /* the line ends here (a CR may come first) */
    OP_JSON_PATH = 10, /* a JSON path (flag: the J_ field it fills; steps: 1 n key... or 2 index), in the
                          order a field's paths are tried */
    OP_JSON = 11,     /* the line is one JSON object: the fields from the paths (_json.h) */
    OP_HAPROXY = 12,  /* the line is HAProxy's httplog behind any syslog prefix (haproxy_line) */
    OP_COLUMNS = 13,  /* the line is a header format's columns (flag: COLUMNS_SPACE, _TAB or _CSV; the header's
                         start's length and bytes, then a C_ code per run of columns) */
    OP_TO_LAST_QUOTE = 14, /* the inside of a quoted field that runs to the line's last '"' (S3's agent,
                              "(.*)"), after which the line ends, or goes on with a space and unquoted words */
};


/* fields a program can fill */
enum { F_NONE = 0, F_CLIENT, F_REFERRER, F_AGENT, F_FORWARDED, F_COUNT };

enum { COLUMNS_SPACE, COLUMNS_TAB, COLUMNS_CSV };
/* what a run of columns holds: a field F_ (one column), or */
enum { C_METHOD = F_COUNT, C_PATH, C_STATUS, C_BYTES, C_DATE_TIME /* two columns */, C_EPOCH };

#define MAX_OPS 64
/* JsonPath (and the JSON step's code, included below once its helpers are defined) */
#define JSON_TYPES_ONLY
#include "_json.h"
#undef JSON_TYPES_ONLY
#define MAX_SUFFIXES 16

typedef struct {
    int op, flag, field, length;
    const unsigned char *bytes;
} Op;

typedef struct {
    Op ops[MAX_OPS];
    int count;
    const unsigned char *suffixes[MAX_SUFFIXES];
    int suffix_lengths[MAX_SUFFIXES];
    int suffix_count;
    int quotes;          /* a matching line holds at least this many '"' */
    JsonPath json_paths[JSON_MAX_PATHS];
    int json_path_count;
    JsonIndex json_index;
} Program;

/* ---- a per-block set of distinct byte strings ---- */

typedef struct {
    int32_t *slots;        /* -1 empty, else a local id; grows to stay at most half full */
    uint64_t mask;
    uint64_t *hashes;      /* per local id */
    int64_t *spans;        /* per local id: offset, length (into the caller's array) */
    int32_t count;
    int failed;            /* it could not grow: no more values go in (parse raises MemoryError) */
    const unsigned char *base;
} Distinct;

static int distinct_init(Distinct *d, int64_t lines, int64_t *spans, const unsigned char *base) {
    uint64_t capacity = 256;
    d->slots = (int32_t *)malloc(capacity * sizeof(int32_t));
    d->hashes = (uint64_t *)malloc((size_t)(lines + 1) * sizeof(uint64_t));
    if (!d->slots || !d->hashes) { free(d->slots); free(d->hashes); d->slots = NULL; d->hashes = NULL; return -1; }
    memset(d->slots, 0xff, capacity * sizeof(int32_t));
    d->mask = capacity - 1;
    d->spans = spans;
    d->count = 0;
    d->failed = 0;
    d->base = base;
    return 0;
}

static void distinct_free(Distinct *d) {
    free(d->slots);
    free(d->hashes);
}

static int distinct_grow(Distinct *d) {
    uint64_t capacity = (d->mask + 1) * 2;
    int32_t *slots = (int32_t *)malloc(capacity * sizeof(int32_t));
    if (!slots) return -1;
    memset(slots, 0xff, capacity * sizeof(int32_t));
    for (int32_t id = 0; id < d->count; id++) {
        uint64_t slot = d->hashes[id] & (capacity - 1);
        while (slots[slot] >= 0) slot = (slot + 1) & (capacity - 1);
        slots[slot] = id;
    }
    free(d->slots);
    d->slots = slots;
    d->mask = capacity - 1;
    return 0;
}

static inline uint64_t load_word(const unsigned char *p) {
    uint64_t word;
    memcpy(&word, p, 8);
    return word;
}

/* A hash for the set: a long value is hashed by its length and eight of its words (ends and
 * spread between), since equal values are compared whole anyway. */
static inline uint64_t span_hash(const unsigned char *p, int64_t length) {
    if (length <= 64) return hash_bytes(p, (size_t)length, 0);
    uint64_t h = 0xe17a1465ULL ^ ((uint64_t)length * 0xc6a4a7935bd1e995ULL);
    int64_t step = (length - 8) / 7;
    for (int k = 0; k < 8; k++) {
        h ^= load_word(p + (k < 7 ? k * step : length - 8));
        h *= 0xd6e8feb86659fd93ULL;
    }
    return murmur_finish(h);
}

/* The value's local id (a new one if it is new); -1 once memory ran out. */
static inline int32_t distinct_id(Distinct *d, int64_t offset, int64_t length) {
    if (d->failed) return -1;
    const unsigned char *p = d->base + offset;
    uint64_t hash = span_hash(p, length);
    uint64_t slot = hash & d->mask;
    for (;;) {
        int32_t id = d->slots[slot];
        if (id < 0) {
            id = d->count++;
            d->slots[slot] = id;
            d->hashes[id] = hash;
            d->spans[2 * id] = offset;
            d->spans[2 * id + 1] = length;
            if ((uint64_t)d->count * 2 > d->mask && distinct_grow(d) != 0) d->failed = 1;
            return id;
        }
        if (d->hashes[id] == hash && d->spans[2 * id + 1] == length
            && memcmp(d->base + d->spans[2 * id], p, (size_t)length) == 0)
            return id;
        slot = (slot + 1) & d->mask;
    }
}

/* ---- small parsers; each returns 0 when the text is not what it should be ---- */

static inline int is_space(unsigned char c) {  /* RE2's \s: tab, newline, form feed, carriage return, space */
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static int month_number(const unsigned char *p) {
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int m = 0; m < 12; m++)
        if (p[0] == names[3 * m] && p[1] == names[3 * m + 1] && p[2] == names[3 * m + 2]) return m + 1;
    return 0;
}

static inline int digits(const unsigned char *p, int n, int *value) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (p[i] - '0');
    }
    *value = v;
    return 1;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int days_in_month(int y, int m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return days[m - 1];
}

/* "dd/Mon/yyyy:HH:MM:SS +hhmm" (26 bytes): UTC epoch seconds and the offset's hhmm value */
static int parse_time(const unsigned char *p, int64_t *epoch, int *offset_hhmm, int *offset_sign) {
    int d, y, hh, mm, ss, oh, om;
    if (!digits(p, 2, &d) || p[2] != '/' || p[6] != '/' || !digits(p + 7, 4, &y) || p[11] != ':'
        || !digits(p + 12, 2, &hh) || p[14] != ':' || !digits(p + 15, 2, &mm) || p[17] != ':'
        || !digits(p + 18, 2, &ss) || p[20] != ' ' || (p[21] != '+' && p[21] != '-')
        || !digits(p + 22, 2, &oh) || !digits(p + 24, 2, &om))
        return 0;
    int m = month_number(p + 3);
    if (!m || y < 1000 || d < 1 || d > days_in_month(y, m) || hh > 23 || mm > 59 || ss > 59 || om > 59) return 0;
    int sign = p[21] == '-' ? -1 : 1;
    *epoch = days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 + hh * 3600 + mm * 60 + ss
             - sign * (oh * 3600 + om * 60);
    *offset_hhmm = oh * 100 + om;
    *offset_sign = sign;
    return 1;
}

/* Python's strict UTF-8: no overlongs, no surrogates, nothing past U+10FFFF */
static int valid_utf8(const unsigned char *p, int64_t n) {
    int64_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) { i++; continue; }
        int need;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 0x07; }
        else return 0;
        if (i + need >= n) return 0;
        for (int k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += need + 1;
    }
    return 1;
}

#include "_json.h"
#include "_times.h"

/* ---- scan: line ends and hashes ---- */

static PyObject *kernel_scan(PyObject *self, PyObject *args) {
    Py_buffer data, ends, hashes;
    if (!PyArg_ParseTuple(args, "y*w*w*", &data, &ends, &hashes)) return NULL;
    const unsigned char *p = (const unsigned char *)data.buf;
    int64_t length = data.len;
    int64_t capacity = ends.len / (Py_ssize_t)sizeof(int64_t);
    if (hashes.len / (Py_ssize_t)sizeof(uint64_t) < capacity) capacity = hashes.len / (Py_ssize_t)sizeof(uint64_t);
    int64_t *end_out = (int64_t *)ends.buf;
    uint64_t *hash_out = (uint64_t *)hashes.buf;
    int64_t count = 0, start = 0;
    Py_BEGIN_ALLOW_THREADS
    while (start < length && count < capacity) {
        const unsigned char *newline = memchr(p + start, '\n', (size_t)(length - start));
        int64_t stop = newline ? (int64_t)(newline - p) + 1 : length;
        /* a last line without its newline hashes as if it had one */
        hash_out[count] = hash_bytes(p + start, (size_t)(stop - start), newline == NULL);
        end_out[count++] = stop;
        start = stop;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    PyBuffer_Release(&ends);
    PyBuffer_Release(&hashes);
    if (start < length) {
        PyErr_SetString(PyExc_ValueError, "more lines than room for them");
        return NULL;
    }
    return PyLong_FromLongLong(count);
}

static PyObject *kernel_count_lines(PyObject *self, PyObject *args) {
    /* the newlines in data, found with memchr (faster than bytes.count's loop over long lines) */
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*", &data)) return NULL;
    const unsigned char *p = (const unsigned char *)data.buf, *end = p + data.len;
    long long count = 0;
    Py_BEGIN_ALLOW_THREADS
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) { count++; p++; }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    return PyLong_FromLongLong(count);
}

static PyObject *kernel_hash(PyObject *self, PyObject *args) {
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*", &data)) return NULL;
    uint64_t h = hash_bytes((const unsigned char *)data.buf, (size_t)data.len, 0);
    PyBuffer_Release(&data);
    return PyLong_FromUnsignedLongLong(h);
}

/* ---- parse ---- */

typedef struct {
    int64_t start[F_COUNT], stop[F_COUNT];   /* field spans, offsets into the block */
    int64_t epoch_us;                         /* UTC microseconds */
    int bad_offset;                           /* the time's offset is beyond 14:00 (writer.screened_sql) */
    int have_time;
    int status;
    int64_t bytes;
    int64_t method_start, method_stop, path_start, path_stop;
    int have_request;
} Fields;

/* the byte after a quoted field's inside, written with backslash escapes; 0 if it does not close */
static const unsigned char *escaped_end(const unsigned char *q, const unsigned char *end) {
    while (q < end) {
        if (*q == '"') return q;
        if (*q == '\\') {
            if (q + 1 >= end) return NULL;
            q += 2;
            continue;
        }
        q++;
    }
    return NULL;
}

static const unsigned char *find_separator(const unsigned char *from, const unsigned char *end) {
    /* the next '" "' */
    while (from + 3 <= end) {
        const unsigned char *q = memchr(from, '"', (size_t)(end - from - 2));
        if (!q) return NULL;
        if (q[1] == ' ' && q[2] == '"') return q;
        from = q + 1;
    }
    return NULL;
}

/* ---- the JSON step: a JSON-lines log's fields by their paths ---- */

/* The value a field's paths give: the first path tried whose value is there and not null (SQL's coalesce). */
static const JsonValue *json_pick(const Program *program, const JsonScan *s, int field) {
    for (uint32_t paths = program->json_index.of_field[field]; paths; paths &= paths - 1) {
        int p = __builtin_ctz(paths);
        if (s->found[p].type > JV_NULL) return &s->found[p];
    }
    return NULL;
}

/* A value json_extract_string gives as its own bytes: a string without escapes, true, false, or a
 * non-negative integer that fits (yyjson writes other numbers its own way). */
static int own_text(const JsonValue *v) {
    if (v->type == JV_STRING) return !v->escaped;
    if (v->type == JV_NUMBER) return v->plain && v->start[0] != '-' && v->stop - v->start <= 18;
    return v->type == JV_LITERAL;
}

/* The line [q, end) as one JSON object, its fields read as jsonformat.extract_sql reads them; 0 when
 * the SQL is to decide (not JSON, a field missing, a value the kernel does not read). */
static int json_fields(const Program *program, const unsigned char *block, const unsigned char *q,
                       const unsigned char *end, Fields *f) {
    JsonScan s;
    s.paths = program->json_paths;
    s.index = &program->json_index;
    s.path_count = program->json_path_count;
    if (!json_scan(&s, q, end)) return 0;
    const JsonValue *ts = json_pick(program, &s, J_TS), *status = json_pick(program, &s, J_STATUS);
    const JsonValue *method = json_pick(program, &s, J_METHOD), *uri = json_pick(program, &s, J_URI);
    const JsonValue *request = json_pick(program, &s, J_REQUEST), *bytes = json_pick(program, &s, J_BYTES);
    /* the time: an epoch number (any number's double is the same however yyjson writes it), or ISO 8601 text */
    if (!ts || !(ts->type == JV_NUMBER || (ts->type == JV_STRING && !ts->escaped))) return 0;
    int64_t n = ts->stop - ts->start;
    if (!epoch_time(ts->start, n, &f->epoch_us) && !(ts->type == JV_STRING && iso_time(ts->start, n, 'T', &f->epoch_us)))
        return 0;
    f->bad_offset = ts->type == JV_STRING && bad_offset_text(ts->start, n);
    f->have_time = 1;
    /* the status: three digits */
    if (!status || !own_text(status) || status->stop - status->start != 3 || !digits(status->start, 3, &f->status))
        return 0;
    /* the method and the URI: their own fields, else those of the request line ('^([A-Z]+) ([^ ]*)') */
    const unsigned char *ms = NULL, *me = NULL, *ps = NULL, *pe = NULL;
    if (method) {
        if (method->type != JV_STRING || method->escaped) return 0;
        ms = method->start; me = method->stop;
    }
    if (uri) {
        if (uri->type != JV_STRING || uri->escaped) return 0;
        ps = uri->start; pe = uri->stop;
    }
    if ((!ms || !ps) && request) {
        if (request->type != JV_STRING || request->escaped) return 0;
        const unsigned char *r = request->start, *rend = request->stop, *m = r;
        while (m < rend && *m >= 'A' && *m <= 'Z') m++;
        if (m > r && m < rend && *m == ' ') {
            if (!ms) { ms = r; me = m; }
            const unsigned char *u = m + 1, *ue = u;
            while (ue < rend && *ue != ' ') ue++;
            if (!ps && ue > u) { ps = u; pe = ue; }
        }
    }
    if (!ps || !ms || me == ms) return 0;   /* missing_field, malformed_request: the SQL's */
    f->method_start = ms - block; f->method_stop = me - block;
    f->path_start = ps - block; f->path_stop = pe - block;
    f->have_request = 1;
    /* the bytes: none ("", "-", null or not there), or digits */
    f->bytes = -1;
    if (bytes) {
        int64_t size = bytes->stop - bytes->start;
        if (!own_text(bytes)) return 0;
        if (bytes->type == JV_STRING && (size == 0 || (size == 1 && bytes->start[0] == '-'))) f->bytes = -1;
        else if (bytes->type != JV_LITERAL && size <= 18 && all_digits(bytes->start, size)) {
            f->bytes = 0;
            for (const unsigned char *b = bytes->start; b < bytes->stop; b++) f->bytes = f->bytes * 10 + (*b - '0');
        } else {
            return 0;
        }
    }
    /* the texts, as slices of the line: a string's escapes are undone once per distinct value (program.py) */
    static const int texts[4][2] = {{J_IP, F_CLIENT}, {J_AGENT, F_AGENT}, {J_REFERRER, F_REFERRER}, {J_FORWARDED, F_FORWARDED}};
    for (int k = 0; k < 4; k++) {
        const JsonValue *v = json_pick(program, &s, texts[k][0]);
        if (!v) continue;
        if (v->type == JV_NUMBER && !own_text(v)) return 0;
        if (v->escaped && v->stop - v->start <= 6) return 0;   /* it may stand for "-" */
        f->start[texts[k][1]] = v->start - block;
        f->stop[texts[k][1]] = v->stop - block;
    }
    return 1;
}

/* ---- HAProxy's httplog, as formats.REGEX_PRESETS["haproxy"] reads it ---- */

enum { HA_NO = 0, HA_YES, HA_UNSURE };   /* the pattern does not match here; it does; it may (the SQL decides) */

/* \S+ then one space: the byte after the space, or NULL */
static inline const unsigned char *space_after_token(const unsigned char *q, const unsigned char *end) {
    const unsigned char *s = q;
    while (q < end && !is_space(*q)) q++;
    return q > s && q < end && *q == ' ' ? q + 1 : NULL;
}

/* '"' then \r?\n?$ (the newline is not in [q, end)) */
static inline int closes_line(const unsigned char *q, const unsigned char *end) {
    if (q >= end || *q != '"') return 0;
    q++;
    if (q < end && *q == '\r') q++;
    return q == end;
}

/* "dd/Mon/yyyy:HH:MM:SS.mmm", HAProxy's %tr (no offset: UTC), as try_strptime's %d/%b/%Y:%H:%M:%S.%g */
static int parse_millisecond_time(const unsigned char *p, int64_t n, int64_t *us) {
    int d, y, hh, mm, ss, ms;
    if (n != 24 || !digits(p, 2, &d) || p[2] != '/' || p[6] != '/' || !digits(p + 7, 4, &y) || p[11] != ':'
        || !digits(p + 12, 2, &hh) || p[14] != ':' || !digits(p + 15, 2, &mm) || p[17] != ':'
        || !digits(p + 18, 2, &ss) || p[20] != '.' || !digits(p + 21, 3, &ms))
        return 0;
    int m = month_number(p + 3);
    if (!m || y < 1000 || d < 1 || d > days_in_month(y, m) || hh > 23 || mm > 59 || ss > 59) return 0;
    *us = (days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 + hh * 3600 + mm * 60 + ss) * 1000000LL + ms * 1000LL;
    return 1;
}

/* The httplog message starting at q: %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc
 * %ac/%fc/%bc/%sc/%rc %sq/%bq {captured request headers} {captured response headers} "%r" */
static int haproxy_at(const unsigned char *block, const unsigned char *q, const unsigned char *end, Fields *f) {
    const unsigned char *client = q, *after = space_after_token(q, end);
    if (!after) return HA_NO;
    const unsigned char *port = after - 1;   /* the client is up to the token's last ':', digits follow it */
    while (port > client && port[-1] != ':') port--;
    if (port - 1 <= client || port == after - 1) return HA_NO;
    for (const unsigned char *p = port; p < after - 1; p++) if (*p < '0' || *p > '9') return HA_NO;
    const unsigned char *client_stop = port - 1;
    q = after;
    if (q >= end || *q != '[') return HA_NO;
    const unsigned char *time = q + 1, *close = memchr(time, ']', (size_t)(end - time));
    if (!close || close == time || close + 1 >= end || close[1] != ' ') return HA_NO;
    q = close + 2;
    for (int k = 0; k < 3; k++) if (!(q = space_after_token(q, end))) return HA_NO;
    int status;
    if (end - q < 4 || !digits(q, 3, &status) || q[3] != ' ') return HA_NO;
    q += 4;
    if (q < end && *q == '+') q++;
    const unsigned char *bytes = q;
    while (q < end && *q >= '0' && *q <= '9') q++;
    const unsigned char *bytes_stop = q;
    if (q == bytes || q >= end || *q != ' ') return HA_NO;
    q++;
    for (int k = 0; k < 4; k++) if (!(q = space_after_token(q, end))) return HA_NO;
    const unsigned char *token = q;
    while (q < end && !is_space(*q)) q++;
    if (q == token) return HA_NO;
    /* {agent|referrer...}, then perhaps {response headers}: each ends at its first '}' */
    const unsigned char *agent = NULL, *agent_stop = NULL, *referrer = NULL, *referrer_stop = NULL;
    if (end - q >= 2 && q[0] == ' ' && q[1] == '{') {
        const unsigned char *x = agent = q + 2;
        while (x < end && *x != '|' && *x != '}') x++;
        if (x >= end) return HA_NO;
        agent_stop = x;
        if (*x == '|') {
            referrer = x = x + 1;
            while (x < end && *x != '|' && *x != '}') x++;
            if (x >= end) return HA_NO;
            referrer_stop = x;
        }
        x = memchr(x, '}', (size_t)(end - x));
        if (!x) return HA_NO;
        q = x + 1;
        if (end - q >= 2 && q[0] == ' ' && q[1] == '{') {
            x = memchr(q + 2, '}', (size_t)(end - q - 2));
            if (!x) return HA_NO;
            q = x + 1;
        }
    }
    if (end - q < 2 || q[0] != ' ' || q[1] != '"') return HA_NO;
    q += 2;
    /* "METHOD path[ protocol]", else anything without a quote (then no method: the SQL's) */
    const unsigned char *method = q, *x = q;
    while (x < end && *x >= 'A' && *x <= 'Z') x++;
    const unsigned char *method_stop = x, *path = NULL, *path_stop = NULL;
    if (x > method && x < end && *x == ' ') {
        path = x + 1;
        for (x = path; x < end && *x != ' ' && *x != '"'; x++) {}
        path_stop = x;
        if (x < end && *x == ' ') while (x < end && *x != '"') x++;
        if (!closes_line(x, end)) path = NULL;
    }
    if (!path) {
        for (x = q; x < end && *x != '"'; x++) {}
        return closes_line(x, end) ? HA_UNSURE : HA_NO;
    }
    /* it matches: its values, where the kernel reads them as the SQL does */
    int64_t us;
    if (!parse_millisecond_time(time, close - time, &us) || bytes_stop - bytes > 18) return HA_UNSURE;
    if (referrer && memchr(referrer, '#', (size_t)(referrer_stop - referrer))) return HA_UNSURE;  /* escaped */
    f->start[F_CLIENT] = client - block; f->stop[F_CLIENT] = client_stop - block;
    if (agent) { f->start[F_AGENT] = agent - block; f->stop[F_AGENT] = agent_stop - block; }
    if (referrer) { f->start[F_REFERRER] = referrer - block; f->stop[F_REFERRER] = referrer_stop - block; }
    f->epoch_us = us;
    f->have_time = 1;
    f->status = status;
    f->bytes = 0;
    for (const unsigned char *b = bytes; b < bytes_stop; b++) f->bytes = f->bytes * 10 + (*b - '0');
    f->method_start = method - block; f->method_stop = method_stop - block;
    f->path_start = path - block; f->path_stop = path_stop - block;
    f->have_request = 1;
    return HA_YES;
}

/* A line of HAProxy's httplog: what a syslog daemon or HAProxy's own `log ... format` wrote before the
 * message is skipped as the SQL's '^(?:<\d+>)?(?:.*? )??' does, the shortest run of words after which
 * the message reads. 1 if it does (the fields filled), 0 if the SQL is to decide. */
static int haproxy_line(const unsigned char *block, const unsigned char *line, const unsigned char *end, Fields *f) {
    const unsigned char *start = line;
    if (start < end && *start == '<') {
        const unsigned char *d = start + 1;
        while (d < end && *d >= '0' && *d <= '9') d++;
        if (d > start + 1 && d < end && *d == '>') start = d + 1;
    }
    for (const unsigned char *next = start, *scan = start;;) {   /* the prefix skipped, then up to each space */
        int read = haproxy_at(block, next, end, f);
        if (read != HA_NO) return read == HA_YES;
        const unsigned char *space = memchr(scan, ' ', (size_t)(end - scan));
        if (!space) return 0;
        next = scan = space + 1;
    }
}

/* ---- the header formats' columns (w3c.py: W3C extended, CloudFront, Cloud Storage's CSV) ---- */

/* The line as the columns of w3c.compile_header_format's pattern: each `[^sep\r\n]*` (CSV: a quoted
 * field, its quotes doubled), one separator apart, then \r?\n?$. 1 if it reads (the fields filled). */
static int columns_line(const Op *op, const unsigned char *block, const unsigned char *line, const unsigned char *end,
                        Fields *f) {
    int csv = op->flag == COLUMNS_CSV;
    unsigned char separator = op->flag == COLUMNS_SPACE ? ' ' : op->flag == COLUMNS_TAB ? '\t' : ',';
    const unsigned char *stop = end > line && end[-1] == '\r' ? end - 1 : end;
    int header = op->bytes[0];
    if (stop - line >= header && memcmp(line, op->bytes + 1, (size_t)header) == 0) return 0;  /* ignored: the SQL's */
    const unsigned char *codes = op->bytes + 1 + header;
    int runs = op->length - 1 - header;
    const unsigned char *q = line, *method = NULL, *method_stop = NULL, *path = NULL, *path_stop = NULL;
    int have_status = 0;
    for (int k = 0; k < runs; k++) {
        int code = codes[k];
        const unsigned char *s, *e;
        if (csv) {
            if (q >= stop || *q != '"') return 0;
            s = e = q + 1;
            for (;;) {   /* the first quote that is not one of a pair closes it */
                e = memchr(e, '"', (size_t)(stop - e));
                if (!e) return 0;
                if (e + 1 < stop && e[1] == '"') { e += 2; continue; }
                break;
            }
            q = e + 1;
        } else {
            s = q;
            for (int column = 0; column < (code == C_DATE_TIME ? 2 : 1); column++) {
                if (column) {
                    if (q >= stop || *q != separator) return 0;
                    q++;
                }
                while (q < stop && *q != separator && *q != '\r' && *q != '\n') q++;
            }
            e = q;
        }
        if (k < runs - 1) {
            if (q >= stop || *q != separator) return 0;
            q++;
        } else if (q != stop) {
            return 0;
        }
        int64_t n = e - s;
        switch (code) {
        case F_NONE:
            break;
        case C_DATE_TIME:
            if (!iso_time(s, n, separator, &f->epoch_us)) return 0;
            f->bad_offset = bad_offset_text(s, n);
            f->have_time = 1;
            break;
        case C_EPOCH:
            if (!epoch_time(s, n, &f->epoch_us) || memchr(s, '.', (size_t)n)) return 0;
            f->have_time = 1;
            break;
        case C_STATUS:
            if (n != 3 || !digits(s, 3, &f->status)) return 0;
            have_status = 1;
            break;
        case C_BYTES:
            f->bytes = -1;
            if (n == 0 || (n == 1 && *s == '-')) break;
            if (n > 18 || !all_digits(s, n)) return 0;
            f->bytes = 0;
            for (const unsigned char *b = s; b < e; b++) f->bytes = f->bytes * 10 + (*b - '0');
            break;
        case C_METHOD:
            method = s; method_stop = e;
            break;
        case C_PATH:
            path = s; path_stop = e;
            break;
        default:   /* a logged text: F_CLIENT .. F_FORWARDED */
            f->start[code] = s - block;
            f->stop[code] = e - block;
        }
    }
    if (!have_status || !method || method == method_stop || !path) return 0;   /* no method: malformed, the SQL's */
    f->method_start = method - block; f->method_stop = method_stop - block;
    f->path_start = path - block; f->path_stop = path_stop - block;
    f->have_request = 1;
    return 1;
}

/* Run the program over one line [line, end) (its newline not included). 1 if it matched. */
static int run_program(const Program *program, const unsigned char *block, const unsigned char *line,
                       const unsigned char *end, int terminated, Fields *f) {
    const unsigned char *q = line;
    for (int i = 0; i < program->count; i++) {
        const Op *op = &program->ops[i];
        switch (op->op) {
        case OP_LITERAL:
            if (end - q < op->length || memcmp(q, op->bytes, (size_t)op->length) != 0) return 0;
            q += op->length;
            break;
        case OP_TOKEN: {
            const unsigned char *s = q;
            while (q < end && !is_space(*q)) q++;
            if (op->flag && q == s) return 0;
            if (op->field) { f->start[op->field] = s - block; f->stop[op->field] = q - block; }
            break;
        }
        case OP_TIME: {
            if (end - q < 28 || q[0] != '[' || q[27] != ']') return 0;
            if (memchr(q + 1, ']', 26)) return 0;
            int64_t epoch;
            int offset_hhmm, offset_sign;
            if (!parse_time(q + 1, &epoch, &offset_hhmm, &offset_sign)) return 0;
            f->epoch_us = epoch * 1000000;
            f->bad_offset = offset_hhmm > 1400;
            f->have_time = 1;
            q += 28;
            break;
        }
        case OP_REQUEST: {
            const unsigned char *s = q;
            while (q < end && *q >= 'A' && *q <= 'Z') q++;
            if (q == s || q >= end || *q != ' ') return 0;
            f->method_start = s - block; f->method_stop = q - block;
            q++;
            const unsigned char *path = q;
            while (q < end && *q != ' ' && *q != '"' && *q != '\\') q++;
            f->path_start = path - block; f->path_stop = q - block;
            if (q < end && *q == ' ') {
                q++;
                while (q < end && *q != '"' && *q != '\\') q++;
            }
            if (q >= end || *q != '"') return 0;
            f->have_request = 1;
            break;
        }
        case OP_STATUS: {
            int status;
            if (end - q < 3 || !digits(q, 3, &status)) return 0;
            f->status = status;
            q += 3;
            break;
        }
        case OP_BYTES: {
            int64_t value = -1;
            if (q < end && *q == '-') q++;
            else {
                const unsigned char *s = q;
                value = 0;
                while (q < end && *q >= '0' && *q <= '9') { value = value * 10 + (*q - '0'); q++; }
                if (q == s || q - s > 18) return 0;
            }
            if (op->flag) f->bytes = value;
            break;
        }
        case OP_QUOTED: {
            const unsigned char *close = escaped_end(q, end);
            if (!close) return 0;
            if (op->field) { f->start[op->field] = q - block; f->stop[op->field] = close - block; }
            q = close;
            break;
        }
        case OP_TAIL: {
            /* As classify.py's fast path: the first '" "' of the line ends the first field, each
             * next one the next; the last ends before the line's closing quote. */
            const unsigned char *last = end;
            if (terminated && last > q && last[-1] == '\r') last--;  /* '"\r\n' ends it, not '"\r' alone */
            if (last <= line || last[-1] != '"') return 0;
            last--;
            int fields = op->length;
            const unsigned char *start = q, *separator = NULL;
            for (int k = 0; k < fields; k++) {
                const unsigned char *stop;
                if (k < fields - 1) {
                    separator = find_separator(k == 0 ? line : separator + 3, end);
                    if (!separator) return 0;
                    if (k == 0 && separator < q) return 0;   /* inside the prefix: the SQL's full pattern decides */
                    stop = separator;
                } else {
                    stop = last;
                }
                if (stop < start) return 0;
                int field = op->bytes[k];
                if (field) { f->start[field] = start - block; f->stop[field] = stop - block; }
                start = stop + 3;
            }
            q = end;
            break;
        }
        case OP_TO_LAST_QUOTE: {
            /* '(.*)"(?: [^"]*)?\r?\n?$': greedy, so the field ends at the last quote; only there can the
             * rest match, as no quote may follow it */
#ifdef __GLIBC__
            const unsigned char *close = memrchr(q, '"', (size_t)(end - q));   /* _GNU_SOURCE: pyconfig.h's */
            if (!close) return 0;
#else
            const unsigned char *close = end;
            while (close > q && close[-1] != '"') close--;
            if (close == q) return 0;
            close--;
#endif
            const unsigned char *after = close + 1;
            if (after < end && *after != ' ' && !(*after == '\r' && after + 1 == end)) return 0;
            if (op->field) { f->start[op->field] = q - block; f->stop[op->field] = close - block; }
            q = end;
            break;
        }
        case OP_END:
            if (q < end && *q == '\r') q++;
            if (q != end) return 0;
            break;
        case OP_JSON_PATH:   /* read with the program (read_program) */
            break;
        case OP_JSON:
            return json_fields(program, block, q, end, f);
        case OP_HAPROXY:
            return haproxy_line(block, q, end, f);
        case OP_COLUMNS:
            return columns_line(op, block, q, end, f);
        default:
            return 0;
        }
    }
    return 1;
}

static inline int is_value(const Fields *f, int field) {
    /* a logged field holds a value unless it is absent, empty or "-" */
    if (f->start[field] < 0) return 0;
    int64_t n = f->stop[field] - f->start[field];
    return n > 0;
}

static int ends_with_suffix(const Program *program, const unsigned char *s, int64_t n) {
    for (int k = 0; k < program->suffix_count; k++) {
        int m = program->suffix_lengths[k];
        if (n > m && memcmp(s + n - m, program->suffixes[k], (size_t)m) == 0) return 1;
    }
    return 0;
}

/* A name PEP 503 normalisation leaves as it is (ASCII, no capitals, no '_' or '.', no "--"). */
static int is_canonical(const unsigned char *s, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 0x80 || (c >= 'A' && c <= 'Z') || c == '_' || c == '.') return 0;
        if (c == '-' && i + 1 < n && s[i + 1] == '-') return 0;
    }
    return 1;
}

typedef struct {
    int outcome;
    int64_t name_start, name_stop, rest_start, rest_stop;
    int path_implied;
} Classified;

/* classify.py's rules over a path with no '%' (cut at its '?') */
static int classify_path(const Program *program, const unsigned char *block, int64_t ps, int64_t pe,
                         Classified *c) {
    const unsigned char *path = block + ps;
    int64_t n = pe - ps;
    int top = 0;  /* length of "/simple/" or "/project/" */
    int simple = 0;
    if (n >= 8 && memcmp(path, "/simple/", 8) == 0) { top = 8; simple = 1; }
    else if (n >= 9 && memcmp(path, "/project/", 9) == 0) top = 9;
    c->name_start = c->name_stop = c->rest_start = c->rest_stop = -1;
    c->path_implied = 0;
    if (n > 0 && path[0] != '/') return 0;  /* an absolute-form target ("http://host/..."): the SQL reads it */
    if (top) {
        const unsigned char *name = path + top;
        const unsigned char *slash = memchr(name, '/', (size_t)(n - top));
        int64_t name_length = slash ? slash - name : n - top;
        if (name_length > 0) {
            for (int64_t i = 0; i < name_length; i++) if (name[i] >= 0x80) return 0;
            const unsigned char *rest = slash ? slash + 1 : path + n;
            int64_t rest_length = path + n - rest;
            int canonical = is_canonical(name, name_length);
            c->name_start = name - block; c->name_stop = name - block + name_length;
            if (simple) {
                if (rest_length == 0) {
                    c->outcome = OUT_INDEX;
                    c->path_implied = canonical && slash != NULL;
                    return 1;
                }
                if (!memchr(rest, '/', (size_t)rest_length) && ends_with_suffix(program, rest, rest_length)) {
                    c->outcome = OUT_DOWNLOAD;
                    c->rest_start = rest - block; c->rest_stop = rest - block + rest_length;
                    c->path_implied = canonical;
                    return 1;
                }
            } else {
                if (rest_length == 0) {
                    c->outcome = OUT_PROJECT_PAGE;
                    c->path_implied = canonical && slash != NULL;
                    return 1;
                }
                if ((rest_length == 4 || rest_length == 5) && memcmp(rest, "json/", (size_t)rest_length) == 0) {
                    c->outcome = OUT_JSON;
                    c->path_implied = canonical && rest_length == 5;
                    return 1;
                }
            }
        }
    }
    c->name_start = c->name_stop = -1;
    if (n == 1 && path[0] == '/') { c->outcome = OUT_PAGE; return 1; }
    if (n > 6 && path[0] == '/' && memcmp(path + n - 5, ".html", 5) == 0 && !memchr(path + 1, '/', (size_t)(n - 6))) {
        c->outcome = OUT_PAGE;
        return 1;
    }
    c->outcome = OUT_IGNORE_OTHER_PATH;
    return 1;
}

static int read_program(PyObject *ops, PyObject *suffixes, Program *program) {
    /* ops: bytes of (op, flag, field, length, literal...) records; suffixes: a tuple of bytes */
    Py_ssize_t n = PyBytes_GET_SIZE(ops);
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(ops);
    Py_ssize_t i = 0;
    program->count = 0;
    while (i + 4 <= n) {
        if (program->count == MAX_OPS) return 0;
        Op *op = &program->ops[program->count++];
        op->op = p[i]; op->flag = p[i + 1]; op->field = p[i + 2]; op->length = p[i + 3];
        op->bytes = p + i + 4;
        if (op->field >= F_COUNT) return 0;
        i += 4 + op->length;
        if (i > n) return 0;
        if (op->op == OP_TAIL)
            for (int k = 0; k < op->length; k++) if (op->bytes[k] >= F_COUNT) return 0;
        if (op->op == OP_COLUMNS) {
            if (op->length < 1 || op->bytes[0] + 2 > op->length || op->flag > COLUMNS_CSV) return 0;
            for (int k = 1 + op->bytes[0]; k < op->length; k++) if (op->bytes[k] > C_EPOCH) return 0;
        }
    }
    if (i != n) return 0;
    program->json_path_count = 0;
    for (int k = 0; k < program->count; k++) {
        const Op *op = &program->ops[k];
        if (op->op != OP_JSON_PATH) continue;
        if (program->json_path_count == JSON_MAX_PATHS || op->flag >= J_COUNT) return 0;
        JsonPath *path = &program->json_paths[program->json_path_count++];
        path->field = op->flag;
        path->steps = 0;
        for (int b = 0; b < op->length;) {
            if (path->steps == JSON_MAX_STEPS || b + 2 > op->length) return 0;
            int kind = op->bytes[b], size = op->bytes[b + 1];
            if (kind == 1) {
                if (b + 2 + size > op->length) return 0;
                path->index[path->steps] = -1;
                path->key[path->steps] = op->bytes + b + 2;
                path->key_length[path->steps] = size;
                b += 2 + size;
            } else if (kind == 2) {
                path->index[path->steps] = size;
                path->key[path->steps] = NULL;
                path->key_length[path->steps] = -1;
                b += 2;
            } else {
                return 0;
            }
            path->steps++;
        }
        if (path->steps == 0) return 0;
    }
    json_index(program->json_paths, program->json_path_count, &program->json_index);
    program->quotes = 0;
    for (int k = 0; k < program->count; k++) {
        const Op *op = &program->ops[k];
        if (op->op == OP_LITERAL)
            for (int b = 0; b < op->length; b++) program->quotes += op->bytes[b] == '"';
        if (op->op == OP_TAIL && op->length) program->quotes += 2 * op->length - 1;
        if (op->op == OP_TO_LAST_QUOTE) program->quotes += 1;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(suffixes);
    if (count > MAX_SUFFIXES) return 0;
    program->suffix_count = (int)count;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *suffix = PyTuple_GET_ITEM(suffixes, k);
        if (!PyBytes_Check(suffix)) return 0;
        program->suffixes[k] = (const unsigned char *)PyBytes_AS_STRING(suffix);
        program->suffix_lengths[k] = (int)PyBytes_GET_SIZE(suffix);
    }
    return 1;
}

#define GET_BUFFER(i) ((void *)buffers[i].buf)
enum {  /* the output buffers, in the order parse() takes them */
    B_OUTCOME, B_TS, B_BYTES, B_IMPLIED,
    B_CLIENT, B_FORWARDED, B_REFERRER, B_AGENT, B_NAME, B_REST, B_PATH,             /* int32 local ids per line */
    B_CLIENT_SPANS, B_FORWARDED_SPANS, B_REFERRER_SPANS, B_AGENT_SPANS, B_NAME_SPANS, B_REST_SPANS, B_PATH_SPANS,
    B_COUNTS,                                                                        /* int32: distinct per field */
    B_CLIENT_KEYS,                          /* uint64 per distinct client: DuckDB's hash() of its bytes, whole */
    B_TOTAL
};
#define DISTINCT_FIELDS 7

static PyObject *kernel_parse(PyObject *self, PyObject *args) {
    PyObject *ops, *suffixes;
    Py_buffer data, ends;
    long long first, stop, since, until, max_line;
    int has_nul, has_high;
    Py_buffer buffers[B_TOTAL];
    memset(buffers, 0, sizeof(buffers));
    if (!PyArg_ParseTuple(args, "O!O!y*y*LLLLLppw*w*w*w*w*w*w*w*w*w*w*w*w*w*w*w*w*w*w*w*",
                          &PyBytes_Type, &ops, &PyTuple_Type, &suffixes, &data, &ends, &first, &stop, &since,
                          &until, &max_line, &has_nul, &has_high,
                          &buffers[0], &buffers[1], &buffers[2], &buffers[3], &buffers[4], &buffers[5], &buffers[6],
                          &buffers[7], &buffers[8], &buffers[9], &buffers[10], &buffers[11], &buffers[12],
                          &buffers[13], &buffers[14], &buffers[15], &buffers[16], &buffers[17], &buffers[18],
                          &buffers[19]))
        return NULL;
    PyObject *result = NULL;
    Program program;
    Distinct sets[DISTINCT_FIELDS];
    int made = 0;
    int64_t lines = stop - first;
    int64_t line_count = ends.len / (Py_ssize_t)sizeof(int64_t);
    if (!read_program(ops, suffixes, &program)) {
        PyErr_SetString(PyExc_ValueError, "not a format program");
        goto done;
    }
    if (first < 0 || stop < first || stop > line_count) {
        PyErr_SetString(PyExc_ValueError, "lines out of range");
        goto done;
    }
    for (int b = 0; b < B_TOTAL; b++) {
        Py_ssize_t item = (b == B_OUTCOME || b == B_IMPLIED) ? 1 : (b == B_TS || b == B_BYTES || b == B_CLIENT_KEYS) ? 8
                        : (b >= B_CLIENT_SPANS && b < B_COUNTS) ? 16 : 4;
        Py_ssize_t need = b == B_COUNTS ? DISTINCT_FIELDS * 4 : lines * item;
        if (buffers[b].len < need) {
            PyErr_SetString(PyExc_ValueError, "an output buffer is too small");
            goto done;
        }
    }
    const unsigned char *block = (const unsigned char *)data.buf;
    const int64_t *line_ends = (const int64_t *)ends.buf;
    if (line_count && line_ends[line_count - 1] > data.len) {
        PyErr_SetString(PyExc_ValueError, "line ends past the data");
        goto done;
    }
    for (int s = 0; s < DISTINCT_FIELDS; s++) {
        if (distinct_init(&sets[s], lines, (int64_t *)buffers[B_CLIENT_SPANS + s].buf, block) != 0) {
            for (int t = 0; t < s; t++) distinct_free(&sets[t]);
            PyErr_NoMemory();
            goto done;
        }
    }
    made = 1;
    uint8_t *outcome = GET_BUFFER(B_OUTCOME);
    int64_t *ts = GET_BUFFER(B_TS);
    int64_t *bytes_out = GET_BUFFER(B_BYTES);
    uint8_t *implied = GET_BUFFER(B_IMPLIED);
    int32_t *ids[DISTINCT_FIELDS];
    for (int s = 0; s < DISTINCT_FIELDS; s++) ids[s] = GET_BUFFER(B_CLIENT + s);
    int field_of_set[4] = {F_CLIENT, F_FORWARDED, F_REFERRER, F_AGENT};

    Py_BEGIN_ALLOW_THREADS
    for (int64_t i = 0; i < lines; i++) {
        int64_t index = first + i;
        int64_t line_start = index ? line_ends[index - 1] : 0;
        int64_t line_stop = line_ends[index];
        const unsigned char *line = block + line_start;
        const unsigned char *end = block + line_stop;
        int terminated = end > line && end[-1] == '\n';
        if (terminated) end--;
        for (int s = 0; s < DISTINCT_FIELDS; s++) ids[s][i] = -1;
        ts[i] = 0; bytes_out[i] = -1; implied[i] = 0;
        int64_t length = end - line;
        if (length == 0) { outcome[i] = OUT_REJECT_EMPTY; continue; }
        if (length > max_line) { outcome[i] = OUT_REJECT_TOO_LONG; continue; }
        if (has_nul && memchr(line, 0, (size_t)length)) { outcome[i] = OUT_REJECT_NUL; continue; }
        if (has_high && !valid_utf8(line, length)) { outcome[i] = OUT_REJECT_UTF8; continue; }

        Fields f;
        for (int k = 0; k < F_COUNT; k++) f.start[k] = f.stop[k] = -1;
        f.have_time = f.have_request = f.bad_offset = 0;
        f.method_start = f.method_stop = f.path_start = f.path_stop = 0;
        f.status = -1;
        f.bytes = -1;
        if (!run_program(&program, block, line, end, terminated, &f) || !f.have_time || f.status < 0) {
            /* too few quotes for the format's literal ones: no reading of it can match */
            int quotes = 0;
            for (const unsigned char *q = line; q < end && (q = memchr(q, '"', (size_t)(end - q))); q++) quotes++;
            outcome[i] = program.count && quotes < program.quotes ? OUT_REJECT_UNPARSEABLE : OUT_DEFER;
            continue;
        }
        ts[i] = f.epoch_us;
        bytes_out[i] = f.bytes;
        int code;
        Classified c = {0};
        if (!f.have_request) { outcome[i] = OUT_DEFER; continue; }
        const unsigned char *method = block + f.method_start;
        int64_t method_length = f.method_stop - f.method_start;
        /* the path, cut at its '?'; a '%' anywhere in it is decoded by the SQL definition */
        const unsigned char *raw = block + f.path_start;
        int64_t raw_length = f.path_stop - f.path_start;
        const unsigned char *question = memchr(raw, '?', (size_t)raw_length);
        int64_t path_stop = question ? question - block : f.path_stop;
        int escaped = memchr(raw, '%', (size_t)(path_stop - f.path_start)) != NULL;
        c.name_start = c.rest_start = -1;
        if (!(method_length == 3 && memcmp(method, "GET", 3) == 0)) code = OUT_IGNORE_METHOD;
        else if (f.status != 200) code = OUT_IGNORE_STATUS;
        else if (escaped) code = OUT_DECODE_PATH;
        else if (!classify_path(&program, block, f.path_start, path_stop, &c)) { outcome[i] = OUT_DEFER; continue; }
        else code = c.outcome;
        /* the screen: an offset beyond 14:00, or a time outside the plausible window */
        if (f.bad_offset) code = OUT_REJECT_BAD_OFFSET;
        else if (f.epoch_us < since * 1000000 || f.epoch_us > until * 1000000) code = OUT_REJECT_IMPLAUSIBLE_TIME;
        outcome[i] = (uint8_t)code;
        if (code > OUT_DECODE_PATH) continue;
        /* a candidate hit: its values, each distinct one once */
        for (int s = 0; s < 4; s++) {
            int field = field_of_set[s];
            if (!is_value(&f, field)) continue;
            int64_t n = f.stop[field] - f.start[field];
            if (field != F_CLIENT && n == 1 && block[f.start[field]] == '-') continue;
            ids[s][i] = distinct_id(&sets[s], f.start[field], n);
        }
        if (c.name_start >= 0) ids[4][i] = distinct_id(&sets[4], c.name_start, c.name_stop - c.name_start);
        if (c.rest_start >= 0) ids[5][i] = distinct_id(&sets[5], c.rest_start, c.rest_stop - c.rest_start);
        implied[i] = (uint8_t)c.path_implied;
        if (!c.path_implied) ids[6][i] = distinct_id(&sets[6], f.path_start, path_stop - f.path_start);
    }
    Py_END_ALLOW_THREADS

    for (int s = 0; s < DISTINCT_FIELDS; s++) {
        if (sets[s].failed) {
            PyErr_NoMemory();
            goto done;
        }
    }
    int32_t *counts = GET_BUFFER(B_COUNTS);
    for (int s = 0; s < DISTINCT_FIELDS; s++) counts[s] = sets[s].count;
    /* the clients' keys: the set's hashes, but a long value's, which the set hashes by a few of its words */
    uint64_t *client_keys = GET_BUFFER(B_CLIENT_KEYS);
    for (int32_t id = 0; id < sets[0].count; id++) {
        int64_t length = sets[0].spans[2 * id + 1];
        const unsigned char *value = block + sets[0].spans[2 * id];
        client_keys[id] = length <= 64 ? sets[0].hashes[id] : hash_bytes(value, (size_t)length, 0);
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    if (made)
        for (int s = 0; s < DISTINCT_FIELDS; s++) distinct_free(&sets[s]);
    PyBuffer_Release(&data);
    PyBuffer_Release(&ends);
    for (int b = 0; b < B_TOTAL; b++)
        if (buffers[b].obj) PyBuffer_Release(&buffers[b]);
    return result;
}

static PyObject *kernel_classify(PyObject *self, PyObject *args) {
    /* classify(suffixes, path) -> (outcome, name_start, name_stop, rest_start, rest_stop, implied): the
       rules over a path already decoded (and cut at its '?') */
    PyObject *suffixes;
    Py_buffer path;
    if (!PyArg_ParseTuple(args, "O!y*", &PyTuple_Type, &suffixes, &path)) return NULL;
    Program program;
    PyObject *empty = PyBytes_FromStringAndSize("", 0);
    int ok = empty && read_program(empty, suffixes, &program);
    Py_XDECREF(empty);
    if (!ok) {
        PyBuffer_Release(&path);
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "suffixes must be a tuple of bytes");
        return NULL;
    }
    Classified c = {0};
    int decided = classify_path(&program, (const unsigned char *)path.buf, 0, path.len, &c);
    PyBuffer_Release(&path);
    return Py_BuildValue("iLLLLi", decided ? c.outcome : OUT_DEFER, (long long)c.name_start, (long long)c.name_stop,
                         (long long)c.rest_start, (long long)c.rest_stop, c.path_implied);
}

static PyObject *kernel_texts(PyObject *self, PyObject *args) {
    /* texts(data, spans) -> list[str]: the UTF-8 text of each (offset, length) pair of spans (int64) in data */
    Py_buffer data, spans;
    if (!PyArg_ParseTuple(args, "y*y*", &data, &spans)) return NULL;
    PyObject *result = NULL;
    if (spans.len % (Py_ssize_t)(2 * sizeof(int64_t)) != 0) {
        PyErr_SetString(PyExc_ValueError, "spans must be pairs of int64");
        goto done;
    }
    Py_ssize_t count = spans.len / (Py_ssize_t)(2 * sizeof(int64_t));
    const int64_t *pairs = (const int64_t *)spans.buf;
    result = PyList_New(count);
    if (result == NULL) goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        int64_t offset = pairs[2 * i], length = pairs[2 * i + 1];
        if (offset < 0 || length < 0 || offset > data.len || length > data.len - offset) {
            PyErr_SetString(PyExc_ValueError, "a span reaches past the data");
            Py_CLEAR(result);
            goto done;
        }
        PyObject *text = PyUnicode_DecodeUTF8((const char *)data.buf + offset, (Py_ssize_t)length, "strict");
        if (text == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, i, text);
    }
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&spans);
    return result;
}

static PyMethodDef methods[] = {
    {"classify", kernel_classify, METH_VARARGS,
     "classify(suffixes, path) -> (outcome, name_start, name_stop, rest_start, rest_stop, implied)."},
    {"scan", kernel_scan, METH_VARARGS,
     "scan(data, ends, hashes) -> count: each line's end (newline included) and DuckDB's hash of its bytes."},
    {"hash_bytes", kernel_hash, METH_VARARGS, "hash_bytes(data) -> int: DuckDB's hash() of these bytes."},
    {"count_lines", kernel_count_lines, METH_VARARGS, "count_lines(data) -> int: the newlines in data."},
    {"texts", kernel_texts, METH_VARARGS,
     "texts(data, spans) -> list[str]: the UTF-8 text of each (offset, length) pair of spans (int64) in data."},
    {"parse", kernel_parse, METH_VARARGS,
     "parse(ops, suffixes, data, ends, first, stop, since, until, max_line, has_nul, has_high, *outputs): run a format program "
     "over lines [first, stop) (see wheelstats.parsing.program)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernel", "The compiled kernel of ingest.", -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__kernel(void) { return PyModule_Create(&module); }
