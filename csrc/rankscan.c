/* sessiondb._rankscan: the rank index's per-row work in C.
 *
 * A Scanner holds the listed terms of a rank-index snapshot (words, and pairs of
 * adjacent words, each with its floor) and, for a batch of texts, returns what
 * store.rank_index.postings_of returns: each row's postings (rows where a listed term's
 * BM25 impact is above its floor) and how many rows contain each listed term. The
 * Python function stays the reference and the fallback; the two give the same results
 * (tests/test_rank_scan.py). The module also samples a table's frequent terms and counts
 * a query's phrases in a row, for the same reason. Scanner.best keeps every term's best
 * rows over a small index at once; its reference is the lists FTS5's own ranking gives
 * (tests/test_search_ranking.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    /* Words: those listed and those in a listed pair (term -1 when not listed itself). */
    Py_ssize_t nwords, wcap;
    char **wbytes;
    Py_ssize_t *wlen;
    uint64_t *whash;
    Py_ssize_t *wterm;
    Py_ssize_t *wslots;   /* open addressing: word index + 1, 0 when free */
    size_t wmask;
    /* Pairs: key (first word << 32 | second word) to term. */
    Py_ssize_t npairs;
    uint64_t *pkey;
    Py_ssize_t *pterm;
    Py_ssize_t *pslots;
    size_t pmask;
    /* Terms: name and floor. */
    Py_ssize_t nterms;
    PyObject **names;
    double *floors;
    double avgdl, k1, b;
} Scanner;

static uint64_t hash_bytes(const char *s, Py_ssize_t n) {
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static size_t table_size(Py_ssize_t n) {
    size_t size = 16;
    while (size < (size_t)n * 2 + 2) size <<= 1;
    return size;
}

/* The index of a word, or -1. */
static Py_ssize_t find_word(const Scanner *sc, const char *s, Py_ssize_t n, uint64_t h) {
    size_t at = (size_t)h & sc->wmask;
    for (;;) {
        Py_ssize_t slot = sc->wslots[at];
        if (!slot) return -1;
        Py_ssize_t w = slot - 1;
        if (sc->whash[w] == h && sc->wlen[w] == n && memcmp(sc->wbytes[w], s, (size_t)n) == 0) return w;
        at = (at + 1) & sc->wmask;
    }
}

static Py_ssize_t add_word(Scanner *sc, const char *s, Py_ssize_t n) {
    uint64_t h = hash_bytes(s, n);
    Py_ssize_t found = find_word(sc, s, n, h);
    if (found >= 0) return found;
    Py_ssize_t w = sc->nwords++;
    sc->wbytes[w] = PyMem_Malloc((size_t)n + 1);
    if (!sc->wbytes[w]) {
        PyErr_NoMemory();
        return -2;
    }
    memcpy(sc->wbytes[w], s, (size_t)n);
    sc->wbytes[w][n] = 0;
    sc->wlen[w] = n;
    sc->whash[w] = h;
    sc->wterm[w] = -1;
    size_t at = (size_t)h & sc->wmask;
    while (sc->wslots[at]) at = (at + 1) & sc->wmask;
    sc->wslots[at] = w + 1;
    return w;
}

static Py_ssize_t find_pair(const Scanner *sc, uint64_t key) {
    size_t at = (size_t)mix(key) & sc->pmask;
    for (;;) {
        Py_ssize_t slot = sc->pslots[at];
        if (!slot) return -1;
        if (sc->pkey[slot - 1] == key) return sc->pterm[slot - 1];
        at = (at + 1) & sc->pmask;
    }
}

static void add_pair(Scanner *sc, uint64_t key, Py_ssize_t term) {
    size_t at = (size_t)mix(key) & sc->pmask;
    while (sc->pslots[at]) {
        if (sc->pkey[sc->pslots[at] - 1] == key) return;
        at = (at + 1) & sc->pmask;
    }
    Py_ssize_t p = sc->npairs++;
    sc->pkey[p] = key;
    sc->pterm[p] = term;
    sc->pslots[at] = p + 1;
}

static void Scanner_dealloc(Scanner *sc) {
    for (Py_ssize_t i = 0; i < sc->nwords; i++) PyMem_Free(sc->wbytes[i]);
    PyMem_Free(sc->wbytes);
    PyMem_Free(sc->wlen);
    PyMem_Free(sc->whash);
    PyMem_Free(sc->wterm);
    PyMem_Free(sc->wslots);
    PyMem_Free(sc->pkey);
    PyMem_Free(sc->pterm);
    PyMem_Free(sc->pslots);
    for (Py_ssize_t i = 0; i < sc->nterms; i++) Py_XDECREF(sc->names ? sc->names[i] : NULL);
    PyMem_Free(sc->names);
    PyMem_Free(sc->floors);
    Py_TYPE(sc)->tp_free((PyObject *)sc);
}

/* Scanner(floors: dict[str, float], avgdl, k1, b): a term with a space is a pair of words. */
static int Scanner_init(Scanner *sc, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"floors", "avgdl", "k1", "b", NULL};
    PyObject *floors;
    if (sc->names) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!ddd", kwlist, &PyDict_Type, &floors, &sc->avgdl, &sc->k1,
                                     &sc->b))
        return -1;
    if (!(sc->avgdl > 0)) {
        PyErr_SetString(PyExc_ValueError, "avgdl must be positive");
        return -1;
    }
    Py_ssize_t n = PyDict_Size(floors);
    Py_ssize_t wcap = 2 * n + 1;
    sc->wcap = wcap;
    sc->names = PyMem_Calloc((size_t)n + 1, sizeof(PyObject *));
    sc->floors = PyMem_Calloc((size_t)n + 1, sizeof(double));
    sc->wbytes = PyMem_Calloc((size_t)wcap, sizeof(char *));
    sc->wlen = PyMem_Calloc((size_t)wcap, sizeof(Py_ssize_t));
    sc->whash = PyMem_Calloc((size_t)wcap, sizeof(uint64_t));
    sc->wterm = PyMem_Calloc((size_t)wcap, sizeof(Py_ssize_t));
    size_t wsize = table_size(wcap), psize = table_size(n);
    sc->wslots = PyMem_Calloc(wsize, sizeof(Py_ssize_t));
    sc->wmask = wsize - 1;
    sc->pkey = PyMem_Calloc((size_t)n + 1, sizeof(uint64_t));
    sc->pterm = PyMem_Calloc((size_t)n + 1, sizeof(Py_ssize_t));
    sc->pslots = PyMem_Calloc(psize, sizeof(Py_ssize_t));
    sc->pmask = psize - 1;
    if (!sc->names || !sc->floors || !sc->wbytes || !sc->wlen || !sc->whash || !sc->wterm || !sc->wslots ||
        !sc->pkey || !sc->pterm || !sc->pslots) {
        PyErr_NoMemory();
        return -1;
    }
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(floors, &pos, &key, &value)) {
        if (!PyUnicode_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "terms must be strings");
            return -1;
        }
        double floor = PyFloat_AsDouble(value);
        if (floor == -1.0 && PyErr_Occurred()) return -1;
        Py_ssize_t len;
        const char *s = PyUnicode_AsUTF8AndSize(key, &len);
        if (!s) return -1;
        Py_ssize_t t = sc->nterms++;
        Py_INCREF(key);
        sc->names[t] = key;
        sc->floors[t] = floor;
        const char *space = memchr(s, ' ', (size_t)len);
        if (!space) {
            Py_ssize_t w = add_word(sc, s, len);
            if (w < -1) return -1;
            sc->wterm[w] = t;
        } else {
            Py_ssize_t a = add_word(sc, s, space - s);
            if (a < -1) return -1;
            Py_ssize_t b = add_word(sc, space + 1, len - (space - s) - 1);
            if (b < -1) return -1;
            add_pair(sc, (uint64_t)a << 32 | (uint64_t)b, t);
        }
    }
    return 0;
}


/* ------------------------------------------------------------------ tokens
 * FTS5's unicode61 tokens of a text. For an all-ASCII text they are the runs of ASCII
 * letters and digits, lower-cased (what unicode61 does with ASCII), found here without a
 * Python string per token; any other text goes through the caller's tokenizer. */

static int is_token_char(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

typedef int (*token_fn)(void *state, const char *s, Py_ssize_t n, uint64_t h);

/* A growable byte buffer, reused from text to text. */
typedef struct {
    char *bytes;
    Py_ssize_t cap;
} Buffer;

/* Calls ``each(state, bytes, len, hash)`` for every token of ``text``, in order. The
 * tokens stay valid until the next call with the same ``buf``, or until the caller
 * releases ``*kept`` (the tokenizer's list, NULL for ASCII text). */
static int each_token(PyObject *text, PyObject *tokenize, token_fn each, void *state, Buffer *buf,
                      PyObject **kept) {
    *kept = NULL;
    if (PyUnicode_Check(text) && PyUnicode_IS_ASCII(text)) {
        const unsigned char *s = PyUnicode_1BYTE_DATA(text);
        Py_ssize_t n = PyUnicode_GET_LENGTH(text), i = 0;
        if (n > buf->cap) {
            char *grown = PyMem_Realloc(buf->bytes, (size_t)n);
            if (!grown) {
                PyErr_NoMemory();
                return -1;
            }
            buf->bytes = grown;
            buf->cap = n;
        }
        char *low = buf->bytes;
        while (i < n) {
            while (i < n && !is_token_char(s[i])) i++;
            if (i >= n) break;
            Py_ssize_t start = i;
            uint64_t h = 1469598103934665603ULL;   /* hash_bytes of the lower-cased token */
            for (; i < n && is_token_char(s[i]); i++) {
                unsigned char c = s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i];
                low[i] = (char)c;
                h ^= c;
                h *= 1099511628211ULL;
            }
            if (each(state, low + start, i - start, h) < 0) return -1;
        }
        return 0;
    }
    PyObject *list = PyObject_CallOneArg(tokenize, text);
    if (!list) return -1;
    PyObject *seq = PySequence_Fast(list, "the tokenizer must return a list of strings");
    Py_DECREF(list);
    if (!seq) return -1;
    *kept = seq;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t len;
        const char *s = PyUnicode_Check(items[i]) ? PyUnicode_AsUTF8AndSize(items[i], &len) : NULL;
        if (!s) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "the tokenizer must return strings");
            return -1;
        }
        if (each(state, s, len, hash_bytes(s, len)) < 0) return -1;
    }
    return 0;
}

/* The word index of each token of a row (-1: not a known word). */
typedef struct {
    const Scanner *sc;
    Py_ssize_t *seq;
    Py_ssize_t nseq, cap;
} Tokens;

static int push_word(void *state, const char *s, Py_ssize_t n, uint64_t h) {
    Tokens *tk = state;
    if (tk->nseq == tk->cap) {
        Py_ssize_t cap = tk->cap ? tk->cap * 2 : 1024;
        Py_ssize_t *seq = PyMem_Realloc(tk->seq, (size_t)cap * sizeof(Py_ssize_t));
        if (!seq) {
            PyErr_NoMemory();
            return -1;
        }
        tk->seq = seq;
        tk->cap = cap;
    }
    tk->seq[tk->nseq++] = find_word(tk->sc, s, n, h);
    return 0;
}

/* What counting a row's listed terms needs, reused from row to row: the row's tokens,
 * a byte buffer, per-term scratch counts (tf: all zero between rows), each term's count
 * of rows so far (rows), and the terms the last row touched with their counts. */
typedef struct {
    Tokens tk;
    Buffer buf;
    int64_t *tf, *rows;
    Py_ssize_t *touched;
    double *counts;
} RowCounter;

static int counter_init(RowCounter *c, const Scanner *sc) {
    size_t n = (size_t)sc->nterms + 1;
    c->tk = (Tokens){sc, NULL, 0, 0};
    c->buf = (Buffer){NULL, 0};
    c->tf = PyMem_Calloc(n, sizeof(int64_t));
    c->rows = PyMem_Calloc(n, sizeof(int64_t));
    c->touched = PyMem_Calloc(n, sizeof(Py_ssize_t));
    c->counts = PyMem_Calloc(n, sizeof(double));
    if (c->tf && c->rows && c->touched && c->counts) return 0;
    PyErr_NoMemory();
    return -1;
}

static void counter_free(RowCounter *c) {
    PyMem_Free(c->tf);
    PyMem_Free(c->rows);
    PyMem_Free(c->touched);
    PyMem_Free(c->counts);
    PyMem_Free(c->tk.seq);
    PyMem_Free(c->buf.bytes);
}

/* Tokenizes one text and counts each listed term in it: the *ntouched terms found are
 * c->touched[k], each c->counts[k] times, and each adds one to c->rows[term]. Returns
 * the text's length in tokens, -1 on an error. */
static Py_ssize_t count_row(const Scanner *sc, PyObject *text, PyObject *tokenize, RowCounter *c,
                            Py_ssize_t *ntouched) {
    PyObject *kept;
    Tokens *tk = &c->tk;
    int64_t *tf = c->tf;
    tk->nseq = 0;
    *ntouched = 0;
    int failed = each_token(text, tokenize, push_word, tk, &c->buf, &kept);
    Py_XDECREF(kept);
    if (failed) return -1;
    Py_ssize_t dl = tk->nseq, n = 0;
    for (Py_ssize_t i = 0; i < dl; i++) {
        Py_ssize_t w = tk->seq[i];
        if (w < 0) continue;
        Py_ssize_t t = sc->wterm[w];
        if (t >= 0 && tf[t]++ == 0) c->touched[n++] = t;
        if (sc->npairs && i + 1 < dl && tk->seq[i + 1] >= 0) {
            Py_ssize_t p = find_pair(sc, (uint64_t)w << 32 | (uint64_t)tk->seq[i + 1]);
            if (p >= 0 && tf[p]++ == 0) c->touched[n++] = p;
        }
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        Py_ssize_t t = c->touched[k];
        c->counts[k] = (double)tf[t];
        tf[t] = 0;
        c->rows[t]++;
    }
    *ntouched = n;
    return dl;
}

/* bm25.impact, with its operations in its order (the same doubles). */
static double impact_of(const Scanner *sc, double count, Py_ssize_t dl) {
    return (count * (sc->k1 + 1.0)) / (count + sc->k1 * (1 - sc->b + sc->b * (double)dl / sc->avgdl));
}

static int add_docs(const Scanner *sc, PyObject *docs, const int64_t *rows) {
    for (Py_ssize_t t = 0; t < sc->nterms; t++) {
        if (!rows[t]) continue;
        PyObject *count = PyLong_FromLongLong(rows[t]);
        if (!count || PyDict_SetItem(docs, sc->names[t], count) < 0) {
            Py_XDECREF(count);
            return -1;
        }
        Py_DECREF(count);
    }
    return 0;
}


/* scan(texts, tokenize) -> (postings, docs): as store.rank_index.postings_of. */
static PyObject *Scanner_scan(Scanner *sc, PyObject *args) {
    PyObject *texts, *tokenize;
    if (!PyArg_ParseTuple(args, "OO", &texts, &tokenize)) return NULL;
    PyObject *seq = PySequence_Fast(texts, "texts must be a sequence");
    if (!seq) return NULL;
    Py_ssize_t ntexts = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    RowCounter c;
    PyObject *postings = PyList_New(0), *docs = PyDict_New(), *result = NULL;
    if (counter_init(&c, sc) < 0 || !postings || !docs) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t index = 0; index < ntexts; index++) {
        Py_ssize_t ntouched, dl = count_row(sc, items[index], tokenize, &c, &ntouched);
        if (dl < 0) goto done;
        for (Py_ssize_t k = 0; k < ntouched; k++) {
            Py_ssize_t t = c.touched[k];
            double count = c.counts[k], value = impact_of(sc, count, dl);
            if (!(value > sc->floors[t])) continue;
            PyObject *posting = Py_BuildValue("(nOdLn)", index, sc->names[t], value, (long long)count, dl);
            if (!posting || PyList_Append(postings, posting) < 0) {
                Py_XDECREF(posting);
                goto done;
            }
            Py_DECREF(posting);
        }
    }
    if (add_docs(sc, docs, c.rows) < 0) goto done;
    result = PyTuple_Pack(2, postings, docs);
done:
    Py_XDECREF(postings);
    Py_XDECREF(docs);
    Py_DECREF(seq);
    counter_free(&c);
    return result;
}


/* best(rows, tokenize, keep) -> {term: (docs, [(impact, id, tf, dl), ...])}: for every
 * listed term, how many of the rows ((id, text) pairs, from any iterable) contain it
 * and its best ``keep`` rows by impact (at most; unsorted), the impacts as scan()
 * computes them. A term's list is then cut from these in Python
 * (store.rank_index._lists_from_rows). One heap of ``keep`` rows per term, and one row
 * at a time: memory for terms * keep rows, whatever the number or size of the rows. */
typedef struct {
    double impact;
    int64_t id, tf, dl;
} Best;

static void heap_down(Best *h, Py_ssize_t n, Py_ssize_t i) {
    for (;;) {
        Py_ssize_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && h[l].impact < h[m].impact) m = l;
        if (r < n && h[r].impact < h[m].impact) m = r;
        if (m == i) return;
        Best t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_up(Best *h, Py_ssize_t i) {
    while (i) {
        Py_ssize_t parent = (i - 1) / 2;
        if (!(h[i].impact < h[parent].impact)) return;
        Best t = h[i];
        h[i] = h[parent];
        h[parent] = t;
        i = parent;
    }
}

static PyObject *Scanner_best(Scanner *sc, PyObject *args) {
    PyObject *rows_in, *tokenize;
    Py_ssize_t keep;
    if (!PyArg_ParseTuple(args, "OOn", &rows_in, &tokenize, &keep)) return NULL;
    if (keep < 1) {
        PyErr_SetString(PyExc_ValueError, "keep must be at least 1");
        return NULL;
    }
    PyObject *it = PyObject_GetIter(rows_in);
    if (!it) return NULL;
    Py_ssize_t nterms = sc->nterms;
    PyObject *result = NULL;
    Best *heaps = NULL;
    Py_ssize_t *filled = NULL;
    RowCounter c;
    if (counter_init(&c, sc) < 0) goto done;
    if ((size_t)keep > SIZE_MAX / sizeof(Best) / ((size_t)nterms + 1)) {
        PyErr_NoMemory();
        goto done;
    }
    heaps = PyMem_Malloc(((size_t)nterms + 1) * (size_t)keep * sizeof(Best));
    filled = PyMem_Calloc((size_t)nterms + 1, sizeof(Py_ssize_t));
    if (!heaps || !filled) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject *item;
    while ((item = PyIter_Next(it))) {
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
            Py_DECREF(item);
            PyErr_SetString(PyExc_TypeError, "rows must be (id, text) pairs");
            goto done;
        }
        int64_t id = PyLong_AsLongLong(PyTuple_GET_ITEM(item, 0));
        Py_ssize_t ntouched = 0, dl = -1;
        if (!(id == -1 && PyErr_Occurred()))
            dl = count_row(sc, PyTuple_GET_ITEM(item, 1), tokenize, &c, &ntouched);
        Py_DECREF(item);
        if (dl < 0) goto done;
        for (Py_ssize_t k = 0; k < ntouched; k++) {
            Py_ssize_t t = c.touched[k];
            double count = c.counts[k], value = impact_of(sc, count, dl);
            Best *h = heaps + (size_t)t * (size_t)keep;
            Best entry = {value, id, (int64_t)count, (int64_t)dl};
            if (filled[t] < keep) {
                h[filled[t]] = entry;
                heap_up(h, filled[t]++);
            } else if (value > h[0].impact) {
                h[0] = entry;
                heap_down(h, keep, 0);
            }
        }
    }
    if (PyErr_Occurred()) goto done;
    result = PyDict_New();
    if (!result) goto done;
    for (Py_ssize_t t = 0; t < nterms; t++) {
        Best *h = heaps + (size_t)t * (size_t)keep;
        PyObject *list = PyList_New(filled[t]);
        if (!list) goto failed;
        for (Py_ssize_t i = 0; i < filled[t]; i++) {
            PyObject *row = Py_BuildValue("(dLLL)", h[i].impact, (long long)h[i].id, (long long)h[i].tf,
                                          (long long)h[i].dl);
            if (!row) {
                Py_DECREF(list);
                goto failed;
            }
            PyList_SET_ITEM(list, i, row);
        }
        PyObject *entry = Py_BuildValue("(LN)", (long long)c.rows[t], list);
        if (!entry || PyDict_SetItem(result, sc->names[t], entry) < 0) {
            Py_XDECREF(entry);
            goto failed;
        }
        Py_DECREF(entry);
    }
    goto done;
failed:
    Py_CLEAR(result);
done:
    Py_DECREF(it);
    PyMem_Free(heaps);
    PyMem_Free(filled);
    counter_free(&c);
    return result;
}

/* ------------------------------------------------------------------ sampling
 * frequent_terms(texts, tokenize, scale, least): as store.rank_index._frequent_terms
 * counts them, the words found in rows with count * scale >= least, then the pairs of
 * adjacent such words that are too; unsorted (the caller sorts). */

typedef struct {
    char *bytes;
    Py_ssize_t len;
    uint64_t hash;
    Py_ssize_t rows, last;
} Entry;

typedef struct {
    Entry *entries;
    Py_ssize_t n, cap;
    Py_ssize_t *slots;   /* entry index + 1, 0 when free */
    size_t mask;
} Vocab;

static void vocab_free(Vocab *v) {
    for (Py_ssize_t i = 0; i < v->n; i++) PyMem_Free(v->entries[i].bytes);
    PyMem_Free(v->entries);
    PyMem_Free(v->slots);
}

static int vocab_grow(Vocab *v) {
    size_t size = v->slots ? (v->mask + 1) * 2 : 1024;
    Py_ssize_t *slots = PyMem_Calloc(size, sizeof(Py_ssize_t));
    Entry *entries = PyMem_Realloc(v->entries, size / 2 * sizeof(Entry));
    if (!slots || !entries) {
        PyMem_Free(slots);
        if (entries) v->entries = entries;
        PyErr_NoMemory();
        return -1;
    }
    v->entries = entries;
    v->cap = (Py_ssize_t)(size / 2);
    for (Py_ssize_t i = 0; i < v->n; i++) {
        size_t at = (size_t)v->entries[i].hash & (size - 1);
        while (slots[at]) at = (at + 1) & (size - 1);
        slots[at] = i + 1;
    }
    PyMem_Free(v->slots);
    v->slots = slots;
    v->mask = size - 1;
    return 0;
}

/* The entry of a word (added when ``add``), -1 when absent, -2 on error. */
static Py_ssize_t vocab_find(Vocab *v, const char *s, Py_ssize_t n, uint64_t h, int add) {
    if (!v->slots && (!add || vocab_grow(v) < 0)) return add ? -2 : -1;
    size_t at = (size_t)h & v->mask;
    for (;;) {
        Py_ssize_t slot = v->slots[at];
        if (!slot) break;
        Entry *e = &v->entries[slot - 1];
        if (e->hash == h && e->len == n && memcmp(e->bytes, s, (size_t)n) == 0) return slot - 1;
        at = (at + 1) & v->mask;
    }
    if (!add) return -1;
    if (v->n >= v->cap) {
        if (vocab_grow(v) < 0) return -2;
        return vocab_find(v, s, n, h, add);
    }
    Entry *e = &v->entries[v->n];
    e->bytes = PyMem_Malloc((size_t)n + 1);
    if (!e->bytes) {
        PyErr_NoMemory();
        return -2;
    }
    memcpy(e->bytes, s, (size_t)n);
    e->bytes[n] = 0;
    e->len = n, e->hash = h, e->rows = 0, e->last = -1;
    v->slots[at] = ++v->n;
    return v->n - 1;
}

typedef struct {
    Vocab *words, *pairs;
    Py_ssize_t row, previous;   /* previous: the last token's word entry if frequent, else -1 */
    const char *frequent;
} Sampling;

static int count_word(void *state, const char *s, Py_ssize_t n, uint64_t h) {
    Sampling *sm = state;
    Py_ssize_t e = vocab_find(sm->words, s, n, h, 1);
    if (e < 0) return -1;
    Entry *entry = &sm->words->entries[e];
    if (entry->last != sm->row) entry->rows++, entry->last = sm->row;
    return 0;
}

static int count_pair(void *state, const char *s, Py_ssize_t n, uint64_t h) {
    Sampling *sm = state;
    Py_ssize_t e = vocab_find(sm->words, s, n, h, 0);
    if (e >= 0 && !sm->frequent[e]) e = -1;
    if (e >= 0 && sm->previous >= 0) {
        uint64_t key[2] = {(uint64_t)sm->previous, (uint64_t)e};
        Py_ssize_t p = vocab_find(sm->pairs, (const char *)key, sizeof key, mix(key[0] << 32 | key[1]), 1);
        if (p < 0) return -1;
        Entry *entry = &sm->pairs->entries[p];
        if (entry->last != sm->row) entry->rows++, entry->last = sm->row;
    }
    sm->previous = e;
    return 0;
}

static PyObject *frequent_terms(PyObject *module, PyObject *args) {
    PyObject *texts, *tokenize;
    double scale, least;
    if (!PyArg_ParseTuple(args, "OOdd", &texts, &tokenize, &scale, &least)) return NULL;
    PyObject *seq = PySequence_Fast(texts, "texts must be a sequence");
    if (!seq) return NULL;
    Py_ssize_t ntexts = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    Vocab words = {0}, pairs = {0};
    Sampling sm = {&words, &pairs, 0, -1, NULL};
    Buffer buf = {NULL, 0};
    char *frequent = NULL;
    PyObject *kept;
    PyObject *out = NULL, *result = NULL;
    for (sm.row = 0; sm.row < ntexts; sm.row++) {
        int failed = each_token(items[sm.row], tokenize, count_word, &sm, &buf, &kept);
        Py_XDECREF(kept);
        if (failed) goto done;
    }
    frequent = PyMem_Calloc((size_t)words.n + 1, 1);
    if (!frequent) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < words.n; i++) frequent[i] = (double)words.entries[i].rows * scale >= least;
    sm.frequent = frequent;
    for (sm.row = 0; sm.row < ntexts; sm.row++) {
        sm.previous = -1;
        int failed = each_token(items[sm.row], tokenize, count_pair, &sm, &buf, &kept);
        Py_XDECREF(kept);
        if (failed) goto done;
    }
    out = PyList_New(0);
    if (!out) goto done;
    for (Py_ssize_t i = 0; i < words.n; i++) {
        if (!frequent[i]) continue;
        PyObject *word = PyUnicode_DecodeUTF8(words.entries[i].bytes, words.entries[i].len, "surrogatepass");
        if (!word || PyList_Append(out, word) < 0) {
            Py_XDECREF(word);
            goto done;
        }
        Py_DECREF(word);
    }
    for (Py_ssize_t i = 0; i < pairs.n; i++) {
        Entry *p = &pairs.entries[i];
        if (!((double)p->rows * scale >= least)) continue;
        const uint64_t *key = (const uint64_t *)p->bytes;
        Entry *a = &words.entries[key[0]], *b = &words.entries[key[1]];
        Py_ssize_t len = a->len + 1 + b->len;
        char *joined = PyMem_Malloc((size_t)len);
        if (!joined) {
            PyErr_NoMemory();
            goto done;
        }
        memcpy(joined, a->bytes, (size_t)a->len);
        joined[a->len] = ' ';
        memcpy(joined + a->len + 1, b->bytes, (size_t)b->len);
        PyObject *pair = PyUnicode_DecodeUTF8(joined, len, "surrogatepass");
        PyMem_Free(joined);
        if (!pair || PyList_Append(out, pair) < 0) {
            Py_XDECREF(pair);
            goto done;
        }
        Py_DECREF(pair);
    }
    result = out;
    out = NULL;
done:
    Py_XDECREF(out);
    Py_DECREF(seq);
    vocab_free(&words);
    vocab_free(&pairs);
    PyMem_Free(buf.bytes);
    PyMem_Free(frequent);
    return result;
}

/* add_counts(total, part): total[k] += part[k] for every key of part (dicts of ints). */
static PyObject *add_counts(PyObject *module, PyObject *args) {
    PyObject *total, *part, *key, *value;
    if (!PyArg_ParseTuple(args, "O!O!", &PyDict_Type, &total, &PyDict_Type, &part)) return NULL;
    Py_ssize_t pos = 0;
    while (PyDict_Next(part, &pos, &key, &value)) {
        PyObject *had = PyDict_GetItemWithError(total, key);
        if (!had && PyErr_Occurred()) return NULL;
        PyObject *sum = had ? PyNumber_Add(had, value) : (Py_INCREF(value), value);
        if (!sum || PyDict_SetItem(total, key, sum) < 0) {
            Py_XDECREF(sum);
            return NULL;
        }
        Py_DECREF(sum);
    }
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ phrase counts
 * count_phrases(text, tokenize, phrases) -> (tokens, counts): how many tokens the text
 * has and how often each phrase occurs in them, as search.topk._Phrase.count counts:
 * ``phrases`` is a sequence of (tokens, prefix); a phrase occurs where its tokens follow
 * each other, the last one only starting with its token when ``prefix``. */

typedef struct {
    const char **start;
    Py_ssize_t *len;
    Py_ssize_t n, cap;
} Spans;

static int spans_push(void *state, const char *s, Py_ssize_t n, uint64_t h) {
    (void)h;
    Spans *sp = state;
    if (sp->n == sp->cap) {
        Py_ssize_t cap = sp->cap ? sp->cap * 2 : 256;
        const char **start = PyMem_Realloc(sp->start, (size_t)cap * sizeof(char *));
        if (!start) return PyErr_NoMemory(), -1;
        sp->start = start;
        Py_ssize_t *len = PyMem_Realloc(sp->len, (size_t)cap * sizeof(Py_ssize_t));
        if (!len) return PyErr_NoMemory(), -1;
        sp->len = len;
        sp->cap = cap;
    }
    sp->start[sp->n] = s;
    sp->len[sp->n++] = n;
    return 0;
}

static int same(const char *a, Py_ssize_t alen, const char *b, Py_ssize_t blen, int prefix) {
    return prefix ? (alen >= blen && memcmp(a, b, (size_t)blen) == 0)
                  : (alen == blen && memcmp(a, b, (size_t)blen) == 0);
}

static PyObject *count_phrases(PyObject *module, PyObject *args) {
    PyObject *text, *tokenize, *phrases;
    if (!PyArg_ParseTuple(args, "OOO", &text, &tokenize, &phrases)) return NULL;
    PyObject *spec = PySequence_Fast(phrases, "phrases must be a sequence");
    if (!spec) return NULL;
    Spans sp = {NULL, NULL, 0, 0};
    Buffer buf = {NULL, 0};
    PyObject *kept = NULL, *counts = NULL, *result = NULL;
    if (each_token(text, tokenize, spans_push, &sp, &buf, &kept) < 0) goto done;
    Py_ssize_t nphrases = PySequence_Fast_GET_SIZE(spec);
    counts = PyList_New(nphrases);
    if (!counts) goto done;
    for (Py_ssize_t p = 0; p < nphrases; p++) {
        PyObject *words, *prefix_flag;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(spec, p), "OO", &words, &prefix_flag)) goto done;
        PyObject *wseq = PySequence_Fast(words, "a phrase's tokens must be a sequence");
        if (!wseq) goto done;
        int prefix = PyObject_IsTrue(prefix_flag);
        Py_ssize_t width = PySequence_Fast_GET_SIZE(wseq), found = 0;
        const char *w[64];
        Py_ssize_t wl[64];
        if (prefix < 0 || width < 1 || width > 64) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a phrase has 1 to 64 tokens");
            Py_DECREF(wseq);
            goto done;
        }
        for (Py_ssize_t k = 0; k < width; k++) {
            PyObject *item = PySequence_Fast_GET_ITEM(wseq, k);
            w[k] = PyUnicode_Check(item) ? PyUnicode_AsUTF8AndSize(item, &wl[k]) : NULL;
            if (!w[k]) {
                if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "a phrase's tokens must be strings");
                Py_DECREF(wseq);
                goto done;
            }
        }
        for (Py_ssize_t at = 0; at + width <= sp.n; at++) {
            Py_ssize_t k = 0;
            while (k < width && same(sp.start[at + k], sp.len[at + k], w[k], wl[k], prefix && k == width - 1)) k++;
            if (k == width) found++;
        }
        Py_DECREF(wseq);
        PyObject *count = PyLong_FromSsize_t(found);
        if (!count) goto done;
        PyList_SET_ITEM(counts, p, count);
    }
    result = Py_BuildValue("(nO)", sp.n, counts);
done:
    Py_XDECREF(counts);
    Py_XDECREF(kept);
    Py_DECREF(spec);
    PyMem_Free(sp.start);
    PyMem_Free(sp.len);
    PyMem_Free(buf.bytes);
    return result;
}

static PyMethodDef module_methods[] = {
    {"frequent_terms", frequent_terms, METH_VARARGS,
     "frequent_terms(texts, tokenize, scale, least) -> the words in rows with rows * scale >= least, then "
     "the pairs of adjacent such words that are too (unsorted)."},
    {"count_phrases", count_phrases, METH_VARARGS,
     "count_phrases(text, tokenize, phrases) -> (tokens, counts): the text's number of tokens and how often "
     "each (tokens, prefix) phrase occurs in them."},
    {"add_counts", add_counts, METH_VARARGS, "add_counts(total, part): adds the counts of part into total."},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)Scanner_scan, METH_VARARGS,
     "scan(texts, tokenize) -> (postings, docs): each row's postings (index, term, impact, tf, dl) and how "
     "many rows contain each listed term; tokenize(text) gives the tokens of a text that is not all ASCII."},
    {"best", (PyCFunction)Scanner_best, METH_VARARGS,
     "best(rows, tokenize, keep) -> {term: (docs, best)}: of (id, text) rows, how many contain each listed "
     "term and its best keep rows (impact, id, tf, dl), unsorted."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sessiondb._rankscan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Scanner(floors, avgdl, k1, b): the postings of rows under a rank-index snapshot.",
    .tp_methods = Scanner_methods,
    .tp_init = (initproc)Scanner_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "sessiondb._rankscan", "The rank index's per-row work in C.", -1, module_methods,
};

PyMODINIT_FUNC PyInit__rankscan(void) {
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
