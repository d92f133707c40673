# Part of fastzips3._core (see _core.pyx); included there, not compiled alone.
#
# Checkpoints (zlib's zran technique): building them needs block boundaries, which only zlib's
# inflate(..., Z_BLOCK) reports (BlockInflater); decoding a piece from one (a bit offset plus a
# 32 KiB window) runs on ISA-L without the GIL (inflate_piece), so pieces decode in parallel.

from fastzips3._zlib cimport (
    crc32_combine as zlib_crc32_combine,
    Z_BLOCK,
    Z_BUF_ERROR,
    Z_OK,
    Z_STREAM_END,
    inflate as zlib_inflate,
    inflateEnd,
    inflateInit2,
    z_stream,
)


cdef uint32_t _piece_into(
    object segments, unsigned char *out, Py_ssize_t size, object window, int bits, object name
) except? 0xFFFFFFFF:
    """Decode exactly ``size`` bytes into ``out`` (see :func:`inflate_piece`); their CRC-32."""
    cdef Inflater inf = Inflater(window, name=name)
    cdef const unsigned char[::1] first
    cdef Py_ssize_t got = 0
    if size == 0:
        return 0
    with nogil:
        _populate_now(out, size)
    pending = list(segments)
    if bits:
        while pending and len(pending[0]) == 0:
            pending.pop(0)
        if not pending:
            raise _DecompressionError(f"member {name!r}: data ends at a checkpoint", name=name)
        first = pending[0]
        inf.prime(bits, first[0] >> (8 - bits))
        pending[0] = first[1:]
    for seg in pending:
        if got >= size:
            break
        if len(seg) == 0:
            continue
        if inf.finished:
            raise _DecompressionError(
                f"member {name!r}: deflate data ended after {got} of {size} bytes", name=name
            )
        inf.feed(seg)
        got += inf._run(out + got, size - got)
        if inf.unused and got < size and not inf.finished:
            # _run stops early with input left only when it made no progress: cannot happen
            # for valid data, so say so rather than loop.
            raise _DecompressionError(f"member {name!r}: ISA-L made no progress", name=name)
    if got < size:
        got += inf._run(out + got, size - got)  # output ISA-L still holds back
    if got < size:
        raise _DecompressionError(
            f"member {name!r}: deflate data ended after {got} of {size} bytes", name=name
        )
    return inf._state.crc


def inflate_piece(segments, Py_ssize_t size, window=b"", int bits=0, *, name=None):
    """Exactly ``size`` bytes of raw deflate output, decoded from a checkpoint.

    ``segments`` are contiguous buffers that follow one another (read in place, never joined).
    With ``bits`` (1-7), the first byte's top ``bits`` bits are the first bits of the stream;
    ``window`` is the output before it. Raises :class:`~fastzips3.errors.DecompressionError`
    when the data is corrupt or ends before ``size`` bytes came out.
    """
    if size < 0:
        raise ValueError("size must not be negative")
    buf = PyBytes_FromStringAndSize(NULL, size)
    _piece_into(segments, <unsigned char *>PyBytes_AS_STRING(buf), size, window, bits, name)
    return buf


def crc32_combine(unsigned long crc1, unsigned long crc2, long long len2):
    """The CRC-32 of A + B from A's CRC, B's CRC and B's length (zlib's ``crc32_combine``)."""
    if len2 < 0:
        raise ValueError("len2 must not be negative")
    return zlib_crc32_combine(crc1, crc2, <long>len2)


cdef class Output:
    """One fresh bytes object that pieces decode into, each at its offset, from several threads
    (each piece without the GIL); :meth:`take` then hands it out. Until then nobody else holds
    the object, so filling it in place is safe (as C code fills ``PyBytes_FromStringAndSize(NULL,
    n)``). Every write is checked to lie inside it."""

    cdef object _buf
    cdef unsigned char *_ptr
    cdef Py_ssize_t _size
    cdef int _busy

    def __init__(self, Py_ssize_t size):
        if self._buf is not None or self._busy:
            raise ValueError("an Output is initialised once")
        if size < 0:
            raise ValueError("size must not be negative")
        self._buf = PyBytes_FromStringAndSize(NULL, size)
        self._ptr = <unsigned char *>PyBytes_AS_STRING(self._buf)
        self._size = size
        self._busy = 0

    def inflate_piece(self, segments, Py_ssize_t offset, Py_ssize_t size, window=b"", int bits=0,
                      *, name=None):
        """Decode exactly ``size`` bytes into ``[offset, offset + size)`` (as
        :func:`inflate_piece`); return their CRC-32."""
        if self._buf is None:
            raise ValueError("the output was already taken")
        if offset < 0 or size < 0 or offset > self._size or size > self._size - offset:
            raise ValueError(f"piece [{offset}, {offset} + {size}) outside the output")
        self._busy += 1
        try:
            return _piece_into(segments, self._ptr + offset, size, window, bits, name)
        finally:
            self._busy -= 1

    def take(self):
        """The filled bytes object (once; no piece may be decoding)."""
        if self._buf is None or self._busy:
            raise ValueError("the output was already taken or is still being written")
        buf, self._buf = self._buf, None
        self._ptr = NULL
        return buf


cdef class BlockInflater:
    """Raw deflate through zlib that stops at every block boundary (``Z_BLOCK``), to build
    checkpoints; its output's CRC-32 is computed as it goes (ISA-L's ``crc32_gzip_refl``).

    Each :meth:`inflate` call decodes without the GIL, and sets :attr:`data_type` to zlib's
    ``strm.data_type`` (bit 128: at a block boundary; bit 64: after the last block; bits 0-2:
    bits left unused in the last byte read).
    """

    cdef z_stream *_strm
    cdef bint _open
    cdef object _input
    cdef const unsigned char[::1] _view
    cdef Py_ssize_t _in_pos
    cdef Py_ssize_t _in_len
    cdef unsigned long long _total_in
    cdef unsigned long long _total_out
    cdef uint32_t _crc
    cdef bint _ended
    cdef bint _busy
    cdef object _name
    cdef public int data_type

    def __cinit__(self, *args, **kwargs):
        self._strm = <z_stream *>calloc(1, sizeof(z_stream))
        if self._strm == NULL:
            raise MemoryError()
        if inflateInit2(self._strm, -15) != Z_OK:
            free(self._strm)
            self._strm = NULL
            raise MemoryError("zlib inflateInit2 failed")
        self._open = True

    def __init__(self, *, name=None):
        self._name = name
        self._in_pos = self._in_len = 0
        self._total_in = self._total_out = 0
        self._crc = 0
        self._ended = False
        self.data_type = 0

    def __dealloc__(self):
        if self._strm != NULL:
            if self._open:
                inflateEnd(self._strm)
            free(self._strm)
            self._strm = NULL

    def feed(self, data):
        """Give the next compressed bytes once the previous ones are used up."""
        if self._busy:
            raise RuntimeError("this checkpoint builder is in use by another thread")
        if self._in_pos < self._in_len:
            raise ValueError("feed() before the previous input was used up")
        self._view = data
        self._input = data
        self._in_pos = 0
        self._in_len = self._view.shape[0]

    @property
    def needs_input(self):
        """True when all fed bytes were used and the stream has not ended."""
        return self._in_pos >= self._in_len and not self._ended

    @property
    def ended(self):
        """True once the stream's last block was decoded."""
        return self._ended

    @property
    def total_in(self):
        """Compressed bytes used so far."""
        return self._total_in

    @property
    def total_out(self):
        """Bytes of output so far."""
        return self._total_out

    @property
    def crc(self):
        """zlib's CRC-32 of all the output so far."""
        return self._crc

    def inflate(self, Py_ssize_t max_length):
        """Up to ``max_length`` (> 0) bytes of output, stopping early at a block boundary."""
        cdef z_stream *strm = self._strm
        cdef Py_ssize_t give_in = min(self._in_len - self._in_pos, <Py_ssize_t>(1 << 30))
        cdef Py_ssize_t room = min(max_length, <Py_ssize_t>(1 << 30))
        cdef int rc
        cdef unsigned int used, made
        if room <= 0:
            raise ValueError("max_length must be positive")
        if self._ended:
            return b""
        if self._busy:
            raise RuntimeError("this checkpoint builder is in use by another thread")
        buf = PyBytes_FromStringAndSize(NULL, room)
        cdef unsigned char *out = <unsigned char *>PyBytes_AS_STRING(buf)
        cdef const unsigned char *src = &self._view[self._in_pos] if give_in else NULL
        self._busy = True
        with nogil:
            strm.next_in = <unsigned char *>src
            strm.avail_in = <unsigned int>give_in
            strm.next_out = out
            strm.avail_out = <unsigned int>room
            rc = zlib_inflate(strm, Z_BLOCK)
            used = <unsigned int>give_in - strm.avail_in
            made = <unsigned int>room - strm.avail_out
            if made:
                self._crc = crc32_gzip_refl(self._crc, out, made)
            strm.next_in = NULL
            strm.avail_in = 0
            strm.next_out = NULL
            strm.avail_out = 0
        self._busy = False
        if rc != Z_OK and rc != Z_STREAM_END and rc != Z_BUF_ERROR:
            reason = strm.msg.decode("utf-8", "replace") if strm.msg != NULL else f"error {rc}"
            raise _DecompressionError(
                f"member {self._name!r}: corrupt deflate data ({reason})", name=self._name
            )
        self._in_pos += used
        self._total_in += used
        self._total_out += made
        self.data_type = strm.data_type
        if self._in_pos >= self._in_len:
            self._input = None
            self._view = None
            self._in_pos = self._in_len = 0
        if rc == Z_STREAM_END:
            self._ended = True
            inflateEnd(strm)
            self._open = False
        if made == room:
            return buf
        return buf[:made]
