/* The aws-chunked decoder's hot paths in C: an optional accelerator.
 *
 * This file mirrors _decoder_core.py (PyDecoderCore) step for step: the
 * same members, the same fast path in feed_pieces, the same whole-chunk
 * loops, the same hand-back to the Python state machine (_decoder.py) for
 * anything unusual, so every error is still named there.  Why C at all:
 * a pure-Python decoder spends about as long on each piece's bookkeeping
 * and each chunk's HMAC as SHA-256 spends on 4 KiB of data, so at the
 * piece sizes a socket hands over it cannot reach 0.9 of hashlib's speed
 * (docs/performance.md).  Hashing and the HMAC still run in hashlib's
 * objects (OpenSSL); only the framing, the bookkeeping and the
 * constant-time comparison are done here.
 *
 * tests/test_streaming_speedups.py drives this type and the pure one over
 * the same bodies, piece splits and corruptions and requires the same
 * output, state and errors.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>

typedef struct {
    PyObject_HEAD
    Py_ssize_t remaining;  /* data bytes due in this chunk; 0 outside data or after an error */
    Py_ssize_t out_end;
    Py_ssize_t chunk_size;
    Py_ssize_t chunks;
    char is_signed;
    char fast;
    char small_seen;
    unsigned long owner;  /* the thread inside feed_pieces or a loop, while depth > 0 */
    Py_ssize_t depth;
    PyObject *held;       /* list: a signed chunk's pieces, held until it checks out */
    PyObject *prev;       /* bytes: the previous signature (hex) */
    PyObject *chunk_sig;  /* bytes: the current chunk's received signature (hex) */
    PyObject *ck;         /* checksum step (data, state) -> state, or None */
    PyObject *ckv;        /* its state, unless ck is zlib.crc32: then crc holds it */
    unsigned long crc;
    PyObject *expect;     /* bytes or None: the framing before a same-sized next chunk */
    PyObject *loop;       /* tuple: (signed, match, inner, outer, limit, small, max_chunks, room) */
} Core;

/* Set at module init. */
static PyObject *empty_sha256;    /* a SHA-256 of nothing, copied for each chunk */
static PyObject *hash_type;       /* the type of its objects, and its methods: */
static PyObject *d_update, *d_digest, *d_copy;
static PyObject *zlib_crc32;      /* zlib.crc32: run here directly, with no call per piece */
static PyObject *empty_mid;       /* _modes._EMPTY_MID: b"\n" + SHA-256("") + b"\n" */
static PyObject *signature_error;  /* sigv4kit.errors.SignatureError */
static PyObject *s_feed_rest, *s_feed, *s_fail, *s_copy, *s_update, *s_digest, *s_start_chunk,
    *s_check_chunk_signature, *s_state, *s_zero;

static const char HEX[] = "0123456789abcdef";
static const char CHUNK_SIG[] = ";chunk-signature=";
#define CHUNK_SIG_LEN 17

/* -- helpers ------------------------------------------------------------ */

static inline int
is_lower_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static inline int
crlf_at(const char *buf, Py_ssize_t n, Py_ssize_t at)
{
    return at + 2 <= n && buf[at] == '\r' && buf[at + 1] == '\n';
}

/* A chunk size as the header grammar has it, (0|[1-9a-f][0-9a-f]{0,15}),
 * at buf[pos:]: its digit count (0: none) and value. */
static Py_ssize_t
parse_size(const char *buf, Py_ssize_t n, Py_ssize_t pos, unsigned long long *size)
{
    if (pos >= n)
        return 0;
    unsigned char c = (unsigned char)buf[pos];
    if (c == '0') {
        *size = 0;
        return 1;
    }
    if (!is_lower_hex(c))
        return 0;
    unsigned long long v = 0;
    Py_ssize_t i = 0;
    while (i < 16 && pos + i < n && is_lower_hex((unsigned char)buf[pos + i])) {
        c = (unsigned char)buf[pos + i];
        v = (v << 4) | (unsigned long long)(c <= '9' ? c - '0' : c - 'a' + 10);
        i++;
    }
    *size = v;
    return i;
}

/* Whether buf[at:at + 66] is a signature's 64 lowercase hex digits and CRLF. */
static inline int
signature_line(const char *buf, Py_ssize_t n, Py_ssize_t at)
{
    if (at + 66 > n || buf[at + 64] != '\r' || buf[at + 65] != '\n')
        return 0;
    for (Py_ssize_t i = 0; i < 64; i++)
        if (!is_lower_hex((unsigned char)buf[at + i]))
            return 0;
    return 1;
}

/* Match a whole signed header line at pos (what _HEAD_V4_RE.match does):
 * returns its end (0 if none); *digits and *sig_at locate its parts. */
static Py_ssize_t
match_signed(const char *buf, Py_ssize_t n, Py_ssize_t pos, Py_ssize_t *digits,
             Py_ssize_t *sig_at, unsigned long long *size)
{
    Py_ssize_t d = parse_size(buf, n, pos, size);
    if (d == 0)
        return 0;
    Py_ssize_t at = pos + d;
    if (at + CHUNK_SIG_LEN + 64 + 2 > n || memcmp(buf + at, CHUNK_SIG, CHUNK_SIG_LEN) != 0)
        return 0;
    at += CHUNK_SIG_LEN;
    if (!signature_line(buf, n, at))
        return 0;
    *digits = d;
    *sig_at = at;
    return at + 66;
}

/* The same for an unsigned header line, (0|[1-9a-f][0-9a-f]{0,15})\r\n. */
static Py_ssize_t
match_unsigned(const char *buf, Py_ssize_t n, Py_ssize_t pos, Py_ssize_t *digits,
               unsigned long long *size)
{
    Py_ssize_t d = parse_size(buf, n, pos, size);
    if (d == 0 || !crlf_at(buf, n, pos + d))
        return 0;
    *digits = d;
    return pos + d + 2;
}

/* A loop invariant as a C integer, clamped to 2**62: beyond it nothing
 * real fits, and a clamped limit only sends a chunk to the Python path. */
static int
clamped(PyObject *tuple, Py_ssize_t index, Py_ssize_t *out)
{
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(PyTuple_GET_ITEM(tuple, index), &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    const long long cap = 1LL << 62;
    *out = (Py_ssize_t)(overflow > 0 || v > cap ? cap : overflow < 0 ? -cap : v);
    return 0;
}

/* CRC-32 over buf[0:len], as zlib.crc32 computes it (which also lets go of
 * the GIL above 5 KiB). */
static unsigned long
crc32_run(unsigned long crc, const char *buf, Py_ssize_t len)
{
    while (len > 0) {
        uInt m = len > (Py_ssize_t)UINT_MAX ? UINT_MAX : (uInt)len;
        if (m > 5 * 1024) {
            Py_BEGIN_ALLOW_THREADS
            crc = crc32(crc, (const Bytef *)buf, m);
            Py_END_ALLOW_THREADS
        }
        else {
            crc = crc32(crc, (const Bytef *)buf, m);
        }
        buf += m;
        len -= m;
    }
    return crc;
}

/* The checksum's step over one piece, buf[0:len] (the piece's bytes; the
 * object itself for any other step): zlib's CRC-32 runs here directly. */
static int
step(Core *self, PyObject *piece, const char *buf, Py_ssize_t len, PyObject **ckv)
{
    if (self->ck == zlib_crc32) {
        self->crc = crc32_run(self->crc, buf, len);
        return 0;
    }
    PyObject *args[2] = {piece, *ckv};
    PyObject *v = PyObject_Vectorcall(self->ck, args, 2, NULL);
    if (v == NULL)
        return -1;
    Py_SETREF(*ckv, v);
    return 0;
}

/* A held piece's bytes: a bytes object or a memoryview slice. */
static int
piece_bytes(PyObject *piece, const char **buf, Py_ssize_t *len)
{
    if (PyBytes_Check(piece)) {
        *buf = PyBytes_AS_STRING(piece);
        *len = PyBytes_GET_SIZE(piece);
        return 0;
    }
    if (PyMemoryView_Check(piece)) {
        Py_buffer *view = PyMemoryView_GET_BUFFER(piece);
        if (PyBuffer_IsContiguous(view, 'C')) {
            *buf = (const char *)view->buf;
            *len = view->len;
            return 0;
        }
    }
    PyErr_SetString(PyExc_TypeError, "a held piece must be bytes or a contiguous memoryview");
    return -1;
}

/* A method of a hashlib object: through the method descriptor looked up once
 * when the object is hashlib's SHA-256 type (no lookup per call), else by
 * name. */
static PyObject *
call_hash(PyObject *h, PyObject *name, PyObject *descr, PyObject *arg)
{
    if ((PyObject *)Py_TYPE(h) == hash_type) {
        PyObject *args[2] = {h, arg};
        return PyObject_Vectorcall(descr, args, arg ? 2 : 1, NULL);
    }
    return arg ? PyObject_CallMethodOneArg(h, name, arg) : PyObject_CallMethodNoArgs(h, name);
}

static PyObject *
hash_copy(PyObject *h)
{
    return call_hash(h, s_copy, d_copy, NULL);
}

static PyObject *
hash_digest(PyObject *h)
{
    return call_hash(h, s_digest, d_digest, NULL);
}

/* obj.update(arg), the result dropped. */
static int
update(PyObject *h, PyObject *arg)
{
    PyObject *r = call_hash(h, s_update, d_update, arg);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

static void
hexify(const unsigned char *raw, Py_ssize_t len, char *out)
{
    for (Py_ssize_t i = 0; i < len; i++) {
        out[2 * i] = HEX[raw[i] >> 4];
        out[2 * i + 1] = HEX[raw[i] & 15];
    }
}

/* h.digest() as 64 hex digits written to out. */
static int
hexdigest_into(PyObject *h, char *out)
{
    PyObject *d = hash_digest(h);
    if (d == NULL)
        return -1;
    if (!PyBytes_Check(d) || PyBytes_GET_SIZE(d) != 32) {
        Py_DECREF(d);
        PyErr_SetString(PyExc_TypeError, "a SHA-256 digest must be 32 bytes");
        return -1;
    }
    hexify((const unsigned char *)PyBytes_AS_STRING(d), 32, out);
    Py_DECREF(d);
    return 0;
}

/* The decoder hands the piece back to its state machine at a chunk header
 * (_hand_back in _decoder_core.py): a matched header starts its chunk. */
static Py_ssize_t
hand_back(Core *self, const char *buf, Py_ssize_t pos, Py_ssize_t digits, Py_ssize_t sig_at,
          Py_ssize_t end_of_header)
{
    self->remaining = 0;
    if (PyObject_SetAttr((PyObject *)self, s_state, s_zero) < 0)
        return -1;
    if (end_of_header == 0)
        return pos;
    PyObject *size_hex = PyBytes_FromStringAndSize(buf + pos, digits);
    if (size_hex == NULL)
        return -1;
    PyObject *sig = sig_at ? PyUnicode_DecodeASCII(buf + sig_at, 64, NULL)
                           : PyUnicode_FromStringAndSize("", 0);
    if (sig == NULL) {
        Py_DECREF(size_hex);
        return -1;
    }
    PyObject *r = PyObject_CallMethodObjArgs((PyObject *)self, s_start_chunk, size_hex, sig, NULL);
    Py_DECREF(size_hex);
    Py_DECREF(sig);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return end_of_header;
}

/* b"\r\n" + hex digits + suffix: the framing between two chunks of this size. */
static PyObject *
expected_header(const char *digits, Py_ssize_t nd, const char *suffix, Py_ssize_t ns)
{
    PyObject *e = PyBytes_FromStringAndSize(NULL, 2 + nd + ns);
    if (e == NULL)
        return NULL;
    char *p = PyBytes_AS_STRING(e);
    p[0] = '\r';
    p[1] = '\n';
    memcpy(p + 2, digits, (size_t)nd);
    memcpy(p + 2 + nd, suffix, (size_t)ns);
    return e;
}

static int
check_state(Core *self)
{
    if (!PyList_Check(self->held) || !PyBytes_Check(self->prev) ||
        !PyBytes_Check(self->chunk_sig) || !PyTuple_Check(self->loop) ||
        PyTuple_GET_SIZE(self->loop) != 8 || !(self->expect == Py_None || PyBytes_Check(self->expect))) {
        PyErr_SetString(PyExc_TypeError, "the decoder's state was not set up by ChunkDecoder");
        return -1;
    }
    return 0;
}

/* One decoder serves one body from one thread at a time.  The C paths hold
 * pointers into the decoder's state while hashlib and zlib let go of the
 * GIL, so a second thread is refused with an error instead of racing them
 * (the same thread may come back in, through the Python state machine). */
static int
enter(Core *self)
{
    unsigned long me = PyThread_get_thread_ident();
    if (self->depth > 0 && self->owner != me) {
        PyErr_SetString(PyExc_RuntimeError,
                        "this ChunkDecoder is being fed by another thread; a decoder takes one "
                        "body, from one thread at a time");
        return -1;
    }
    self->owner = me;
    self->depth++;
    return 0;
}

static inline void
leave(Core *self)
{
    self->depth--;
}

/* -- the whole-chunk loops ------------------------------------------------ */

typedef struct {
    PyObject *data, *mv, *out;
    const char *buf;
    Py_ssize_t n, pos;
} Args;

static int
parse_args(PyObject *const *args, Py_ssize_t nargs, Args *a)
{
    if (nargs != 4 || !PyBytes_Check(args[0]) || !PyList_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "expected (data: bytes, mv, pos: int, out: list)");
        return -1;
    }
    a->data = args[0];
    a->mv = args[1];
    a->out = args[3];
    a->buf = PyBytes_AS_STRING(args[0]);
    a->n = PyBytes_GET_SIZE(args[0]);
    a->pos = PyLong_AsSsize_t(args[2]);
    if (a->pos == -1 && PyErr_Occurred())
        return -1;
    return 0;
}

/* The loops' invariants from _loop, clamped (see clamped()). */
typedef struct {
    Py_ssize_t limit, small, max_chunks, room;
} Limits;

static int
load_limits(Core *self, Limits *lim)
{
    if (check_state(self) < 0)
        return -1;
    PyObject *loop = self->loop;
    if (clamped(loop, 4, &lim->limit) < 0 || clamped(loop, 5, &lim->small) < 0 ||
        clamped(loop, 6, &lim->max_chunks) < 0 || clamped(loop, 7, &lim->room) < 0)
        return -1;
    return 0;
}

/* Whether the framing after a chunk's data at buf[end:] is the expected
 * header of a same-sized next chunk (one comparison), and where it ends. */
static inline int
same_framing(const char *buf, Py_ssize_t n, Py_ssize_t end, PyObject *expect, Py_ssize_t *hdr)
{
    Py_ssize_t elen = expect == Py_None ? 0 : PyBytes_GET_SIZE(expect);
    *hdr = end + elen;
    return expect != Py_None && *hdr <= n &&
           memcmp(buf + end, PyBytes_AS_STRING(expect), (size_t)elen) == 0;
}

/* Whether a matched header (mend > 0) starts a chunk the loop may take on:
 * within the limits, not the last one, no short chunk seen before. */
static inline int
takes_on(const Limits *lim, Py_ssize_t mend, unsigned long long size, Py_ssize_t chunks,
         Py_ssize_t out_end, char small_seen)
{
    return mend != 0 && size >= (unsigned long long)lim->small &&
           size <= (unsigned long long)lim->limit && chunks < lim->max_chunks &&
           out_end + (Py_ssize_t)size <= lim->room && !small_seen;
}

PyDoc_STRVAR(whole_chunks_doc,
"_whole_chunks(data, mv, pos, out)\n--\n\n"
"Take the signed chunks that end in ``data``; see PyDecoderCore._whole_chunks.");

static Py_ssize_t
whole_chunks(Core *self, Args *a)
{
    Limits lim;
    if (load_limits(self, &lim) < 0)
        return -1;
    PyObject *inner = PyTuple_GET_ITEM(self->loop, 2), *outer = PyTuple_GET_ITEM(self->loop, 3);
    const char *buf = a->buf;
    Py_ssize_t n = a->n, pos = a->pos;
    PyObject *ck = self->ck, *held = self->held;
    Py_ssize_t out_end = self->out_end, chunks = self->chunks, chunk_size = self->chunk_size;
    Py_ssize_t emid_len = PyBytes_GET_SIZE(empty_mid);
    /* Owned references, written back at the end. */
    PyObject *ckv = Py_NewRef(self->ckv), *prev = Py_NewRef(self->prev);
    PyObject *received = Py_NewRef(self->chunk_sig), *expect = Py_NewRef(self->expect);
    PyObject *piece = NULL, *h = NULL, *hh = NULL, *sts = NULL, *d = NULL;
    Py_ssize_t result = -1;
    Py_ssize_t last = n - 2;
    Py_ssize_t end = pos + self->remaining;
    while (end <= last) {
        piece = PySequence_GetSlice(a->mv, pos, end);
        if (piece == NULL)
            goto error;
        /* The chunk's earlier pieces, then this one, into a copy of an empty
         * SHA-256 state (cheaper than hashlib's constructor). */
        Py_ssize_t nheld = PyList_GET_SIZE(held);
        h = hash_copy(empty_sha256);
        if (h == NULL)
            goto error;
        for (Py_ssize_t i = 0; i < nheld; i++)
            if (update(h, PyList_GET_ITEM(held, i)) < 0)
                goto error;
        if (update(h, piece) < 0)
            goto error;
        /* The string to sign's tail: prev + EMPTY_MID + the chunk's digest. */
        Py_ssize_t plen = PyBytes_GET_SIZE(prev);
        sts = PyBytes_FromStringAndSize(NULL, plen + emid_len + 64);
        if (sts == NULL)
            goto error;
        char *s = PyBytes_AS_STRING(sts);
        memcpy(s, PyBytes_AS_STRING(prev), (size_t)plen);
        memcpy(s + plen, PyBytes_AS_STRING(empty_mid), (size_t)emid_len);
        char *digest_hex = s + plen + emid_len;
        if (hexdigest_into(h, digest_hex) < 0)
            goto error;
        Py_CLEAR(h);
        /* HMAC from the pad states: outer(inner(prefix + sts)). */
        hh = hash_copy(inner);
        if (hh == NULL || update(hh, sts) < 0)
            goto error;
        d = hash_digest(hh);
        Py_CLEAR(hh);
        if (d == NULL)
            goto error;
        hh = hash_copy(outer);
        if (hh == NULL || update(hh, d) < 0)
            goto error;
        Py_CLEAR(d);
        char mine[64];
        if (hexdigest_into(hh, mine) < 0)
            goto error;
        Py_CLEAR(hh);
        /* Constant-time, as hmac.compare_digest. */
        int diff = PyBytes_GET_SIZE(received) != 64;
        if (!diff) {
            const unsigned char *r = (const unsigned char *)PyBytes_AS_STRING(received);
            unsigned char acc = 0;
            for (int i = 0; i < 64; i++)
                acc |= (unsigned char)(r[i] ^ (unsigned char)mine[i]);
            diff = acc != 0;
        }
        if (diff) {
            if (!crlf_at(buf, n, end)) {
                Py_CLEAR(piece);
                Py_CLEAR(sts);
                break; /* longer than declared: the general path says so first */
            }
            Py_SETREF(self->prev, Py_NewRef(prev));
            Py_SETREF(self->ckv, Py_NewRef(ckv));
            PyObject *dg = PyUnicode_DecodeASCII(digest_hex, 64, NULL);
            PyObject *rc = dg ? PyUnicode_DecodeASCII(PyBytes_AS_STRING(received),
                                                     PyBytes_GET_SIZE(received), NULL)
                              : NULL;
            PyObject *sz = rc ? PyLong_FromSsize_t(chunk_size) : NULL;
            PyObject *r = sz ? PyObject_CallMethodObjArgs((PyObject *)self,
                                                          s_check_chunk_signature, sz, dg, rc, NULL)
                             : NULL;
            Py_XDECREF(dg);
            Py_XDECREF(rc);
            Py_XDECREF(sz);
            if (r == NULL)
                goto error; /* it raises: SignatureDoesNotMatch */
            Py_DECREF(r);
        }
        Py_CLEAR(sts);
        /* The CRLF after the data, and with it the next header if it has the
         * same size. */
        Py_ssize_t hdr;
        int same = same_framing(buf, n, end, expect, &hdr);
        if (!same && !crlf_at(buf, n, end)) {
            Py_CLEAR(piece);
            break; /* nothing released: the general path names the error */
        }
        if (ck != Py_None) {
            for (Py_ssize_t i = 0; i < nheld; i++) {
                PyObject *p = PyList_GET_ITEM(held, i);
                const char *pb;
                Py_ssize_t pl;
                if (piece_bytes(p, &pb, &pl) < 0 || step(self, p, pb, pl, &ckv) < 0)
                    goto error;
            }
            if (step(self, piece, buf + pos, end - pos, &ckv) < 0)
                goto error;
        }
        Py_SETREF(prev, Py_NewRef(received));
        if (nheld && a->out == NULL) {
            /* Nothing released yet (feed_pieces' call): the held list itself
             * becomes the output, and a new one is held. */
            PyObject *fresh = PyList_New(0);
            if (fresh == NULL)
                goto error;
            a->out = held;  /* self's reference moves to the output */
            self->held = held = fresh;
        }
        else if (nheld) {
            for (Py_ssize_t i = 0; i < nheld; i++)
                if (PyList_Append(a->out, PyList_GET_ITEM(held, i)) < 0)
                    goto error;
            if (PyList_SetSlice(held, 0, nheld, NULL) < 0)
                goto error;
        }
        else if (a->out == NULL && (a->out = PyList_New(0)) == NULL) {
            goto error;
        }
        int appended = PyList_Append(a->out, piece);
        Py_CLEAR(piece);
        if (appended < 0)
            goto error;
        if (same) {
            /* Its limits hold; then the signature's 64 lowercase hex digits
             * and the CRLF. */
            pos = hdr + 66;
            if (signature_line(buf, n, hdr) && chunks < lim.max_chunks && out_end + chunk_size <= lim.room) {
                PyObject *sig = PyBytes_FromStringAndSize(buf + hdr, 64);
                if (sig == NULL)
                    goto error;
                Py_SETREF(received, sig);
                chunks += 1;
                out_end += chunk_size;
                end = pos + chunk_size;
                continue;
            }
        }
        pos = end + 2;
        Py_ssize_t digits = 0, sig_at = 0;
        unsigned long long size = 0;
        Py_ssize_t mend = match_signed(buf, n, pos, &digits, &sig_at, &size);
        if (!takes_on(&lim, mend, size, chunks, out_end, self->small_seen)) {
            /* No whole header, a limit, the last chunk or an error. */
            self->out_end = out_end;
            self->chunks = chunks;
            Py_SETREF(self->prev, Py_NewRef(prev));
            Py_SETREF(self->ckv, Py_NewRef(ckv));
            result = hand_back(self, buf, pos, digits, sig_at, mend);
            goto done;
        }
        chunks += 1;
        chunk_size = (Py_ssize_t)size;
        out_end += chunk_size;
        PyObject *e = expected_header(buf + pos, digits, CHUNK_SIG, CHUNK_SIG_LEN);
        if (e == NULL)
            goto error;
        Py_SETREF(expect, e);
        PyObject *sig = PyBytes_FromStringAndSize(buf + sig_at, 64);
        if (sig == NULL)
            goto error;
        Py_SETREF(received, sig);
        pos = mend;
        end = pos + chunk_size;
    }
    if (pos < n && n < end) {
        /* The start of the next chunk's data, the rest of this piece: held. */
        piece = PySequence_GetSlice(a->mv, pos, n);
        if (piece == NULL || PyList_Append(held, piece) < 0)
            goto error;
        Py_CLEAR(piece);
        pos = n;
    }
    self->out_end = out_end;
    self->chunks = chunks;
    Py_SETREF(self->prev, Py_NewRef(prev));
    Py_SETREF(self->ckv, Py_NewRef(ckv));
    self->remaining = end - pos;
    self->chunk_size = chunk_size;
    Py_SETREF(self->expect, Py_NewRef(expect));
    Py_SETREF(self->chunk_sig, Py_NewRef(received));
    result = pos;
    goto done;
error:
    result = -1;
done:
    Py_XDECREF(piece);
    Py_XDECREF(h);
    Py_XDECREF(hh);
    Py_XDECREF(sts);
    Py_XDECREF(d);
    Py_DECREF(ckv);
    Py_DECREF(prev);
    Py_DECREF(received);
    Py_DECREF(expect);
    return result;
}

PyDoc_STRVAR(whole_unsigned_chunks_doc,
"_whole_unsigned_chunks(data, mv, pos, out)\n--\n\n"
"Take the unsigned chunks that end in ``data``; see PyDecoderCore._whole_unsigned_chunks.");

static Py_ssize_t
whole_unsigned_chunks(Core *self, Args *a)
{
    Limits lim;
    if (load_limits(self, &lim) < 0)
        return -1;
    const char *buf = a->buf;
    Py_ssize_t n = a->n, pos = a->pos;
    PyObject *ck = self->ck;
    Py_ssize_t out_end = self->out_end, chunks = self->chunks, chunk_size = self->chunk_size;
    PyObject *ckv = Py_NewRef(self->ckv), *expect = Py_NewRef(self->expect);
    PyObject *piece = NULL;
    Py_ssize_t result = -1;
    Py_ssize_t last = n - 2;
    Py_ssize_t end = pos + self->remaining;
    while (end <= last) {
        Py_ssize_t hdr;
        int same = same_framing(buf, n, end, expect, &hdr);
        if (!same && !crlf_at(buf, n, end))
            break; /* longer than declared: the general path names it */
        piece = PySequence_GetSlice(a->mv, pos, end);
        if (piece == NULL)
            goto error;
        if (ck != Py_None && step(self, piece, buf + pos, end - pos, &ckv) < 0)
            goto error;
        int appended = PyList_Append(a->out, piece);
        Py_CLEAR(piece);
        if (appended < 0)
            goto error;
        if (same && chunks < lim.max_chunks && out_end + chunk_size <= lim.room) {
            chunks += 1;
            out_end += chunk_size;
            pos = hdr;
            end = hdr + chunk_size;
            continue;
        }
        pos = end + 2;
        Py_ssize_t digits = 0;
        unsigned long long size = 0;
        Py_ssize_t mend = match_unsigned(buf, n, pos, &digits, &size);
        if (!takes_on(&lim, mend, size, chunks, out_end, self->small_seen)) {
            self->out_end = out_end;
            self->chunks = chunks;
            Py_SETREF(self->ckv, Py_NewRef(ckv));
            result = hand_back(self, buf, pos, digits, 0, mend);
            goto done;
        }
        chunks += 1;
        chunk_size = (Py_ssize_t)size;
        out_end += chunk_size;
        PyObject *e = expected_header(buf + pos, digits, "\r\n", 2);
        if (e == NULL)
            goto error;
        Py_SETREF(expect, e);
        pos = mend;
        end = pos + chunk_size;
    }
    if (pos < n && n < end) {
        /* The start of the next chunk's data, the rest of this piece. */
        piece = PySequence_GetSlice(a->mv, pos, n);
        if (piece == NULL)
            goto error;
        if (ck != Py_None && step(self, piece, buf + pos, n - pos, &ckv) < 0)
            goto error;
        if (PyList_Append(a->out, piece) < 0)
            goto error;
        Py_CLEAR(piece);
        pos = n;
    }
    self->out_end = out_end;
    self->chunks = chunks;
    Py_SETREF(self->ckv, Py_NewRef(ckv));
    self->remaining = end - pos;
    self->chunk_size = chunk_size;
    Py_SETREF(self->expect, Py_NewRef(expect));
    result = pos;
    goto done;
error:
    result = -1;
done:
    Py_XDECREF(piece);
    Py_DECREF(ckv);
    Py_DECREF(expect);
    return result;
}


static PyObject *
loop_method(Core *self, PyObject *const *args, Py_ssize_t nargs,
            Py_ssize_t (*loop)(Core *, Args *))
{
    Args a;
    if (parse_args(args, nargs, &a) < 0)
        return NULL;
    if (enter(self) < 0)
        return NULL;
    Py_ssize_t pos = loop(self, &a);
    leave(self);
    return pos < 0 ? NULL : PyLong_FromSsize_t(pos);
}

static PyObject *
core_whole_chunks(Core *self, PyObject *const *args, Py_ssize_t nargs)
{
    return loop_method(self, args, nargs, whole_chunks);
}

static PyObject *
core_whole_unsigned_chunks(Core *self, PyObject *const *args, Py_ssize_t nargs)
{
    return loop_method(self, args, nargs, whole_unsigned_chunks);
}

/* -- feed_pieces -------------------------------------------------------- */

/* A SignatureError on its way out closes the decoder first (self._fail). */
static void
fail(Core *self)
{
    if (!PyErr_ExceptionMatches(signature_error))
        return;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL)
        PyException_SetTraceback(value, tb);
    PyObject *r = PyObject_CallMethodOneArg((PyObject *)self, s_fail, value);
    if (r == NULL) {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        return; /* _fail's own error replaces this one */
    }
    Py_DECREF(r);
    PyErr_Restore(type, value, tb);
}

PyDoc_STRVAR(feed_pieces_doc,
"feed_pieces(data)\n--\n\n"
"Consume received bytes; return the payload now verified, as pieces.\n\n"
"The pieces are the received ``bytes`` objects themselves, or\n"
"``memoryview`` slices of them where a piece also holds framing:\n"
"nothing is joined or copied (``bytearray`` and ``memoryview`` input\n"
"is copied once on entry, since its owner may reuse the buffer).  A\n"
"signed chunk's data is released, all at once, when its signature\n"
"has checked out.");

static PyObject *core_feed_pieces_(Core *self, PyObject *data);

static PyObject *
core_feed_pieces(Core *self, PyObject *data)
{
    if (enter(self) < 0)
        return NULL;
    PyObject *out = core_feed_pieces_(self, data);
    leave(self);
    return out;
}

static PyObject *
core_feed_pieces_(Core *self, PyObject *data)
{
    if (PyBytes_CheckExact(data)) {
        Py_ssize_t n = PyBytes_GET_SIZE(data);
        Py_ssize_t rem = self->remaining;
        if (0 < n && n < rem) {
            /* All chunk data, the chunk goes on: a signed piece is held, an
             * unsigned one checksummed and released. */
            self->remaining = rem - n;
            if (self->is_signed) {
                if (!PyList_CheckExact(self->held)) {
                    self->remaining = rem;
                    PyErr_SetString(PyExc_TypeError, "the decoder's state was not set up by ChunkDecoder");
                    return NULL;
                }
                if (PyList_Append(self->held, data) < 0)
                    return NULL;
                return PyList_New(0);
            }
            if (self->ck != Py_None &&
                step(self, data, PyBytes_AS_STRING(data), n, &self->ckv) < 0)
                return NULL;
            PyObject *out = PyList_New(1);
            if (out == NULL)
                return NULL;
            Py_INCREF(data);
            PyList_SET_ITEM(out, 0, data);
            return out;
        }
        if (rem && self->fast) {
            /* A piece that ends the chunk (and perhaps more) takes the
             * whole-chunk loop, which leaves anything else to the state
             * machine (ChunkDecoder._feed). */
            Args a = {data, NULL, NULL, PyBytes_AS_STRING(data), n, 0};
            a.mv = PyMemoryView_FromObject(data);
            if (a.mv == NULL)
                return NULL;
            /* Signed: the output list is made when data is released (it may
             * be the held list itself); unsigned: now. */
            if (!self->is_signed && (a.out = PyList_New(0)) == NULL) {
                Py_DECREF(a.mv);
                return NULL;
            }
            Py_ssize_t pos = self->is_signed ? whole_chunks(self, &a) : whole_unsigned_chunks(self, &a);
            if (pos >= 0 && a.out == NULL && (a.out = PyList_New(0)) == NULL)
                pos = -1;
            if (pos >= 0 && pos < n) {
                PyObject *p = PyLong_FromSsize_t(pos);
                PyObject *r = p ? PyObject_CallMethodObjArgs((PyObject *)self, s_feed, data, a.mv,
                                                             p, a.out, NULL)
                                : NULL;
                Py_XDECREF(p);
                Py_XDECREF(r);
                if (r == NULL)
                    pos = -1;
            }
            Py_DECREF(a.mv);
            if (pos < 0) {
                Py_XDECREF(a.out);
                fail(self);
                return NULL;
            }
            return a.out;
        }
    }
    return PyObject_CallMethodOneArg((PyObject *)self, s_feed_rest, data);
}

/* -- the type ------------------------------------------------------------- */

static PyObject *
core_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args;
    (void)kwds;
    Core *self = (Core *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->held = PyList_New(0);
    if (self->held == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    self->prev = PyBytes_FromStringAndSize("", 0);
    self->chunk_sig = PyBytes_FromStringAndSize("", 0);
    self->ck = Py_NewRef(Py_None);
    self->ckv = PyLong_FromLong(0);
    self->expect = Py_NewRef(Py_None);
    self->loop = PyTuple_New(0);
    if (!self->prev || !self->chunk_sig || !self->ckv || !self->loop) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int
core_traverse(Core *self, visitproc visit, void *arg)
{
    Py_VISIT(self->held);
    Py_VISIT(self->prev);
    Py_VISIT(self->chunk_sig);
    Py_VISIT(self->ck);
    Py_VISIT(self->ckv);
    Py_VISIT(self->expect);
    Py_VISIT(self->loop);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static int
core_clear(Core *self)
{
    Py_CLEAR(self->held);
    Py_CLEAR(self->prev);
    Py_CLEAR(self->chunk_sig);
    Py_CLEAR(self->ck);
    Py_CLEAR(self->ckv);
    Py_CLEAR(self->expect);
    Py_CLEAR(self->loop);
    return 0;
}

static void
core_dealloc(Core *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    core_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyMethodDef core_methods[] = {
    {"feed_pieces", (PyCFunction)core_feed_pieces, METH_O, feed_pieces_doc},
    {"_whole_chunks", (PyCFunction)(void (*)(void))core_whole_chunks, METH_FASTCALL,
     whole_chunks_doc},
    {"_whole_unsigned_chunks", (PyCFunction)(void (*)(void))core_whole_unsigned_chunks,
     METH_FASTCALL, whole_unsigned_chunks_doc},
    {NULL, NULL, 0, NULL},
};

/* The members carry the Python names _decoder.py uses.  The object ones are
 * get/set pairs that refuse deletion, so no field is ever NULL; the loops
 * check the types they rely on. */
static PyMemberDef core_members[] = {
    {"_remaining", T_PYSSIZET, offsetof(Core, remaining), 0, NULL},
    {"_out_end", T_PYSSIZET, offsetof(Core, out_end), 0, NULL},
    {"_chunk_size", T_PYSSIZET, offsetof(Core, chunk_size), 0, NULL},
    {"chunks", T_PYSSIZET, offsetof(Core, chunks), 0, NULL},
    {"signed", T_BOOL, offsetof(Core, is_signed), 0, NULL},
    {"_fast", T_BOOL, offsetof(Core, fast), 0, NULL},
    {"_small_seen", T_BOOL, offsetof(Core, small_seen), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

/* _ckv: the checksum's state.  With zlib.crc32 as the step it lives in a C
 * integer (no object per piece); reading it gives a Python int either way. */
static PyObject *
core_get_ckv(Core *self, void *closure)
{
    (void)closure;
    if (self->ck == zlib_crc32)
        return PyLong_FromUnsignedLong(self->crc);
    return Py_NewRef(self->ckv);
}

static int
core_set_ckv(Core *self, PyObject *value, void *closure)
{
    (void)closure;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "_ckv cannot be deleted");
        return -1;
    }
    if (PyLong_Check(value)) {
        unsigned long v = PyLong_AsUnsignedLongMask(value);
        if (v == (unsigned long)-1 && PyErr_Occurred())
            return -1;
        self->crc = v & 0xffffffffUL;
    }
    Py_SETREF(self->ckv, Py_NewRef(value));
    return 0;
}

static int
set_object(PyObject **slot, PyObject *value, const char *name)
{
    if (value == NULL) {
        PyErr_Format(PyExc_AttributeError, "%s cannot be deleted", name);
        return -1;
    }
    Py_SETREF(*slot, Py_NewRef(value));
    return 0;
}

#define OBJECT_FIELD(field)                                               \
    static PyObject *core_get_##field(Core *self, void *closure)         \
    {                                                                     \
        (void)closure;                                                    \
        return Py_NewRef(self->field);                                    \
    }                                                                     \
    static int core_set_##field(Core *self, PyObject *value, void *closure) \
    {                                                                     \
        (void)closure;                                                    \
        return set_object(&self->field, value, "_" #field);               \
    }

OBJECT_FIELD(held)
OBJECT_FIELD(prev)
OBJECT_FIELD(chunk_sig)
OBJECT_FIELD(ck)
OBJECT_FIELD(expect)
OBJECT_FIELD(loop)

#define GETSET(name, field) {name, (getter)core_get_##field, (setter)core_set_##field, NULL, NULL}

static PyGetSetDef core_getset[] = {
    {"_ckv", (getter)core_get_ckv, (setter)core_set_ckv, NULL, NULL},
    GETSET("_held", held),
    GETSET("_prev", prev),
    GETSET("_chunk_sig", chunk_sig),
    GETSET("_ck", ck),
    GETSET("_expect", expect),
    GETSET("_loop", loop),
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot core_slots[] = {
    {Py_tp_getset, core_getset},
    {Py_tp_doc, "The chunk decoder's hot state and paths in C (see _decoder_core.PyDecoderCore)."},
    {Py_tp_new, core_new},
    {Py_tp_dealloc, core_dealloc},
    {Py_tp_traverse, core_traverse},
    {Py_tp_clear, core_clear},
    {Py_tp_methods, core_methods},
    {Py_tp_members, core_members},
    {0, NULL},
};

static PyType_Spec core_spec = {
    "sigv4kit.streaming._speedups.DecoderCore",
    sizeof(Core),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    core_slots,
};

/* -- the module ------------------------------------------------------------ */

static int
intern(PyObject **slot, const char *name)
{
    *slot = PyUnicode_InternFromString(name);
    return *slot ? 0 : -1;
}

static int
speedups_exec(PyObject *module)
{
    if (intern(&s_feed_rest, "_feed_rest") < 0 || intern(&s_feed, "_feed") < 0 ||
        intern(&s_fail, "_fail") < 0 || intern(&s_copy, "copy") < 0 ||
        intern(&s_update, "update") < 0 || intern(&s_digest, "digest") < 0 ||
        intern(&s_start_chunk, "_start_chunk") < 0 ||
        intern(&s_check_chunk_signature, "_check_chunk_signature") < 0 ||
        intern(&s_state, "_state") < 0)
        return -1;
    s_zero = PyLong_FromLong(0);
    if (s_zero == NULL)
        return -1;
    PyObject *modes = PyImport_ImportModule("sigv4kit.streaming._modes");
    if (modes == NULL)
        return -1;
    PyObject *zlib = PyImport_ImportModule("zlib");
    if (zlib == NULL) {
        Py_DECREF(modes);
        return -1;
    }
    zlib_crc32 = PyObject_GetAttrString(zlib, "crc32");
    Py_DECREF(zlib);
    if (zlib_crc32 == NULL) {
        Py_DECREF(modes);
        return -1;
    }
    PyObject *sha256_new = PyObject_GetAttrString(modes, "_sha256");  /* hashlib.sha256 */
    empty_mid = PyObject_GetAttrString(modes, "_EMPTY_MID");
    Py_DECREF(modes);
    if (sha256_new == NULL || empty_mid == NULL) {
        Py_XDECREF(sha256_new);
        return -1;
    }
    PyObject *sample = PyObject_CallNoArgs(sha256_new);
    Py_DECREF(sha256_new);
    if (sample == NULL)
        return -1;
    hash_type = Py_NewRef((PyObject *)Py_TYPE(sample));
    empty_sha256 = sample;
    d_update = PyObject_GetAttr(hash_type, s_update);
    d_digest = PyObject_GetAttr(hash_type, s_digest);
    d_copy = PyObject_GetAttr(hash_type, s_copy);
    if (d_update == NULL || d_digest == NULL || d_copy == NULL)
        return -1;
    if (!PyBytes_Check(empty_mid)) {
        PyErr_SetString(PyExc_TypeError, "_modes._EMPTY_MID must be bytes");
        return -1;
    }
    PyObject *errors = PyImport_ImportModule("sigv4kit.errors");
    if (errors == NULL)
        return -1;
    signature_error = PyObject_GetAttrString(errors, "SignatureError");
    Py_DECREF(errors);
    if (signature_error == NULL)
        return -1;
    PyObject *type = PyType_FromModuleAndSpec(module, &core_spec, NULL);
    if (type == NULL)
        return -1;
    if (PyModule_AddObject(module, "DecoderCore", type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    return 0;
}

static PyModuleDef_Slot speedups_slots[] = {
    {Py_mod_exec, speedups_exec},
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "sigv4kit.streaming._speedups",
    "The chunk decoder's hot paths in C: an optional accelerator (see _decoder_core.py).",
    0,
    NULL,
    speedups_slots,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
