# Part of fastzips3._core (see _core.pyx); included there, not compiled alone.
#
# ISA-L's raw-deflate inflate with the CRC-32 of the output computed in the same pass, called
# without the GIL on the caller's buffers (no copy in; output into the caller's buffer, or into
# one fresh bytes object). Every call is bounded by the output room it is given.

from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, _PyBytes_Resize
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from fastzips3._isal cimport (
    ISAL_BLOCK_FINISH,
    ISAL_BLOCK_NEW_HDR,
    ISAL_GZIP_NO_HDR,
    crc32_gzip_refl,
    inflate_state,
    isal_inflate,
    isal_inflate_init,
    isal_inflate_set_dict,
)

from fastzips3.errors import DecompressionError as _DecompressionError

# ISA-L's counters (avail_in, avail_out, total_out) are 32-bit: no call is given more than this
# many bytes in or out. Tests lower it (_set_inflate_slice) to exercise the slicing.
cdef Py_ssize_t _inflate_slice = 1 << 30
# The history ISA-L keeps (and the most a dictionary can hold).
cdef Py_ssize_t _INFLATE_WINDOW = 1 << 15


def _set_inflate_slice(Py_ssize_t size):
    """Set the most bytes one ``isal_inflate`` call is given in or out; return the old value.

    For tests of the slicing that members over 4 GiB need.
    """
    global _inflate_slice
    if size < 1 or size > (1 << 30):
        raise ValueError(f"slice size must be in [1, 2**30], not {size}")
    old = _inflate_slice
    _inflate_slice = size
    return old


def crc32(const unsigned char[::1] data, unsigned long value=0):
    """zlib's CRC-32 of ``data`` continuing from ``value`` (ISA-L's ``crc32_gzip_refl``)."""
    cdef uint32_t crc = <uint32_t>value
    cdef uint64_t n = <uint64_t>data.shape[0]
    if n == 0:
        return crc
    with nogil:
        crc = crc32_gzip_refl(crc, &data[0], n)
    return crc


cdef str _inflate_reason(int rc):
    if rc == -1:
        return "invalid block"
    if rc == -2:
        return "invalid symbol"
    if rc == -3:
        return "invalid lookback distance"
    return f"ISA-L error {rc}"


cdef class Inflater:
    """A streaming raw-deflate decoder on ISA-L, with zlib's CRC-32 of its output fused in.

    :meth:`feed` gives it compressed bytes (read in place: the object is kept alive, never
    copied); :meth:`decompress_into` and :meth:`decompress` decode from them, without the GIL,
    at most the room they are given. ``window`` is the history before the first byte (a
    checkpoint's 32 KiB), and :meth:`prime` the leftover bits of a checkpoint inside a byte.
    Corrupt data raises :class:`~fastzips3.errors.DecompressionError`; a truncated stream shows
    as no output once the input is used up (:attr:`finished` stays False).
    """

    cdef inflate_state *_state
    cdef object _input
    cdef const unsigned char[::1] _view
    cdef Py_ssize_t _in_pos
    cdef Py_ssize_t _in_len
    cdef unsigned long long _total_out
    cdef object _name
    cdef public bint input_ended
    # Set, with the GIL held, while a call decodes without it: a second thread entering then
    # (or feeding, or re-initialising) would share the ISA-L state or free the input under it.
    cdef bint _busy

    def __cinit__(self, *args, **kwargs):
        self._state = <inflate_state *>calloc(1, sizeof(inflate_state))
        if self._state == NULL:
            raise MemoryError()
        isal_inflate_init(self._state)
        # After init, which resets it: state.crc is then zlib's CRC-32 of the output, and no
        # gzip header or trailer is read.
        self._state.crc_flag = ISAL_GZIP_NO_HDR

    def __init__(self, window=b"", *, name=None):
        cdef const unsigned char[::1] hist
        self._enter()
        self._name = name
        self._input = None
        self._in_pos = 0
        self._in_len = 0
        self._total_out = 0
        self.input_ended = False
        if len(window):
            hist = window
            if hist.shape[0] > _INFLATE_WINDOW:
                hist = hist[hist.shape[0] - _INFLATE_WINDOW :]
            if isal_inflate_set_dict(self._state, <uint8_t *>&hist[0], <uint32_t>hist.shape[0]):
                raise _DecompressionError(
                    f"member {name!r}: ISA-L refused the checkpoint window", name=name
                )

    def __dealloc__(self):
        free(self._state)
        self._state = NULL

    cdef int _enter(self) except -1:
        if self._busy:
            raise RuntimeError(
                "this deflate decoder is in use by another thread: a member reader is not "
                "thread-safe; open one reader per thread"
            )
        return 0

    def prime(self, int bits, int value):
        """Start inside a byte: ``value`` holds the ``bits`` (1-7) leftover bits of a checkpoint
        (the top bits of the byte before the data fed next), before any input is fed."""
        self._enter()
        if not 0 < bits < 8 or not 0 <= value < (1 << bits):
            raise ValueError(f"bad priming: {bits} bits, value {value}")
        if self._total_out or self._input is not None or self._state.read_in_length:
            raise ValueError("prime() must come before any input")
        self._state.read_in = <uint64_t>value
        self._state.read_in_length = bits

    def feed(self, data):
        """Give the next compressed bytes (any contiguous buffer), once the previous ones are
        used up (:attr:`needs_input`)."""
        self._enter()
        if self._in_pos < self._in_len:
            raise ValueError("feed() before the previous input was used up")
        self._view = data
        self._input = data
        self._in_pos = 0
        self._in_len = self._view.shape[0]

    @property
    def needs_input(self):
        """True when all fed bytes were used and the stream has not finished."""
        return self._in_pos >= self._in_len and not self.finished

    @property
    def finished(self):
        """The final block was decoded and all its output handed out."""
        return self._state.block_state == ISAL_BLOCK_FINISH

    @property
    def crc(self):
        """zlib's CRC-32 of all the output so far."""
        return self._state.crc

    @property
    def total_out(self):
        """Bytes of output so far."""
        return self._total_out

    @property
    def unused(self):
        """Bytes fed but not yet taken (ISA-L reads ahead a few bytes into its bit buffer)."""
        return self._in_len - self._in_pos

    cdef Py_ssize_t _run(self, unsigned char *out, Py_ssize_t room) except -1:
        """Decode into ``out[:room]`` from the pending input; return the bytes written."""
        cdef inflate_state *st = self._state
        cdef const unsigned char *src = NULL
        cdef Py_ssize_t in_pos = self._in_pos
        cdef Py_ssize_t in_len = self._in_len
        cdef Py_ssize_t done = 0
        cdef Py_ssize_t slice_size = _inflate_slice
        cdef uint32_t give_in, give_out, used, made
        cdef int rc = 0
        self._enter()
        if in_len > 0:
            src = &self._view[0]
        self._busy = True
        with nogil:
            while done < room and st.block_state != ISAL_BLOCK_FINISH:
                give_in = <uint32_t>min(in_len - in_pos, slice_size)
                give_out = <uint32_t>min(room - done, slice_size)
                st.next_in = <uint8_t *>(src + in_pos) if give_in else NULL
                st.avail_in = give_in
                st.next_out = out + done
                st.avail_out = give_out
                rc = isal_inflate(st)
                used = give_in - st.avail_in
                made = give_out - st.avail_out
                in_pos += used
                done += made
                if rc < 0 or (used == 0 and made == 0):
                    break
            st.next_in = NULL
            st.avail_in = 0
            st.next_out = NULL
            st.avail_out = 0
        self._busy = False
        self._in_pos = in_pos
        self._total_out += done
        if in_pos >= in_len:  # let the caller's buffer go
            self._input = None
            self._view = None
            self._in_pos = self._in_len = 0
        if rc < 0:
            raise _DecompressionError(
                f"member {self._name!r}: corrupt deflate data ({_inflate_reason(rc)})",
                name=self._name,
            )
        return done

    cdef Py_ssize_t _pull_run(
        self, unsigned char *out, Py_ssize_t room, object pull, Py_ssize_t chunk
    ) except -1:
        """Decode into ``out[:room]``, calling ``pull(chunk)`` (with the GIL) for input as it is
        used up; ``b""`` from it sets :attr:`input_ended`."""
        cdef Py_ssize_t done = 0
        cdef Py_ssize_t made
        while done < room and self._state.block_state != ISAL_BLOCK_FINISH:
            if self._in_pos >= self._in_len and not self.input_ended:
                data = pull(chunk)
                if len(data):
                    self.feed(data)
                else:
                    self.input_ended = True
            had_input = self._in_pos < self._in_len
            made = self._run(out + done, room - done)
            done += made
            if made == 0 and not (had_input and self._in_pos >= self._in_len):
                if self._in_pos < self._in_len and self._state.block_state != ISAL_BLOCK_FINISH:
                    raise _DecompressionError(
                        f"member {self._name!r}: ISA-L made no progress", name=self._name
                    )
                break  # finished, or the input ended (a truncated stream)
        return done

    def decompress_into(self, unsigned char[::1] out, pull=None, Py_ssize_t chunk=1 << 18):
        """Decode into ``out`` (a writable buffer); return the count.

        Without ``pull``, only from the fed bytes: 0 when more input is needed or the stream
        has finished. With ``pull``, input is pulled as needed (``pull(chunk)``, ``b""`` at the
        end): fewer than ``len(out)`` bytes only at the end of the stream or of the input.
        """
        if out.shape[0] == 0:
            return 0
        if pull is None:
            return self._run(&out[0], out.shape[0])
        return self._pull_run(&out[0], out.shape[0], pull, chunk)

    def decompress(self, Py_ssize_t max_length, pull=None, Py_ssize_t chunk=1 << 18):
        """Up to ``max_length`` (> 0) decoded bytes as a fresh bytes (input as for
        :meth:`decompress_into`)."""
        cdef Py_ssize_t got
        cdef PyObject *raw
        cdef fz_populator populator
        cdef bint populating = False
        cdef unsigned char *out
        if max_length <= 0:
            raise ValueError("max_length must be positive")
        buf = PyBytes_FromStringAndSize(NULL, max_length)
        out = <unsigned char *>PyBytes_AS_STRING(buf)
        if max_length >= _POPULATE_FROM:
            # Pages made ready on a helper thread while ISA-L fills the ones before them
            # (see _core_pages.pxi); it is joined before anyone else can see the buffer.
            populating = fz_populator_start(&populator, out, <size_t>max_length)
        try:
            if pull is None:
                got = self._run(out, max_length)
            else:
                got = self._pull_run(out, max_length, pull, chunk)
        finally:
            if populating:
                with nogil:
                    fz_populator_join(&populator)
        if got == max_length:
            return buf
        if got == 0:
            return b""
        if got * 2 < max_length:
            return buf[:got]  # a copy: far smaller than what a shrink in place would keep
        # Shrink in place: _PyBytes_Resize needs the only reference, which raw takes over.
        raw = <PyObject *>buf
        Py_INCREF(buf)
        buf = None
        _PyBytes_Resize(&raw, got)
        result = <object>raw
        Py_DECREF(result)
        return result
