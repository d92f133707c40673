# Part of fastzips3._core (see _core.pyx); included there, not compiled alone.
#
# ISA-L's raw deflate of one independent piece, GIL released, with the CRC-32 of the input in
# the same call. Pieces make pigz-style parallel compression of one stream: each piece is primed
# with the 32 KiB before it as the dictionary and ends with a sync flush (byte-aligned, no final
# bit), the last one with the final block; their outputs concatenated are one deflate stream.

from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, _PyBytes_Resize
from cpython.object cimport PyObject
from fastzips3._isal cimport (
    COMP_OK,
    ISAL_DEF_LVL1_DEFAULT,
    ISAL_DEF_LVL2_DEFAULT,
    ISAL_DEF_LVL3_DEFAULT,
    NO_FLUSH,
    SYNC_FLUSH,
    ZSTATE_END,
    crc32_gzip_refl,
    isal_deflate,
    isal_deflate_init,
    isal_deflate_set_dict,
    isal_zstream,
)

# ISA-L's avail_in/avail_out are 32-bit: one piece is at most this large (the writer's pieces
# are a few MiB).
cdef Py_ssize_t _DEFLATE_MAX_PIECE = 1 << 30
#: The highest ISA-L compression level.
ISAL_MAX_LEVEL = 3


cdef uint32_t _level_buf_size(int level) noexcept nogil:
    if level == 1:
        return ISAL_DEF_LVL1_DEFAULT
    if level == 2:
        return ISAL_DEF_LVL2_DEFAULT
    if level == 3:
        return ISAL_DEF_LVL3_DEFAULT
    return 0


def deflate_piece(
    const unsigned char[::1] data,
    int level=1,
    const unsigned char[::1] dictionary=b"",
    bint final=True,
):
    """Raw deflate of ``data`` at ISA-L ``level`` (0-3), primed with ``dictionary`` (at most
    the last 32 KiB count), ending with the final block when ``final``, else with a sync flush.

    Returns ``(compressed, crc32(data))``. The GIL is released while ISA-L runs.
    """
    cdef Py_ssize_t n = data.shape[0]
    cdef Py_ssize_t dict_len = dictionary.shape[0]
    if level < 0 or level > 3:
        raise ValueError(f"ISA-L levels are 0-3, not {level}")
    if n > _DEFLATE_MAX_PIECE:
        raise ValueError(f"a piece is at most {_DEFLATE_MAX_PIECE} bytes, not {n}")
    if dict_len > 32768:
        dictionary = dictionary[dict_len - 32768:]
        dict_len = 32768
    cdef Py_ssize_t room = n + (n >> 3) + 1024
    cdef object out = PyBytes_FromStringAndSize(NULL, room)
    cdef PyObject *raw = <PyObject *>out
    cdef isal_zstream *stream = <isal_zstream *>calloc(1, sizeof(isal_zstream))
    cdef uint32_t buf_size = _level_buf_size(level)
    cdef uint8_t *level_buf = NULL
    cdef int rc = COMP_OK
    cdef uint32_t crc = 0
    cdef Py_ssize_t produced = 0
    cdef bint done = False
    cdef uint8_t *obuf = NULL
    if stream == NULL:
        raise MemoryError()
    try:
        if buf_size:
            level_buf = <uint8_t *>calloc(buf_size, 1)
            if level_buf == NULL:
                raise MemoryError()
        while True:
            obuf = <uint8_t *>PyBytes_AS_STRING(<object>raw)
            with nogil:
                if produced == 0:
                    isal_deflate_init(stream)
                    stream.level = level
                    stream.level_buf = level_buf
                    stream.level_buf_size = buf_size
                    stream.end_of_stream = 1 if final else 0
                    stream.flush = NO_FLUSH if final else SYNC_FLUSH
                    if dict_len:
                        rc = isal_deflate_set_dict(stream, <uint8_t *>&dictionary[0], dict_len)
                    stream.next_in = <uint8_t *>&data[0] if n else NULL
                    stream.avail_in = <uint32_t>n
                    if n:
                        crc = crc32_gzip_refl(0, &data[0], <uint64_t>n)
                if rc == COMP_OK:
                    stream.next_out = obuf + produced
                    stream.avail_out = <uint32_t>(room - produced)
                    rc = isal_deflate(stream)
                    produced = room - stream.avail_out
                    if final:
                        done = stream.internal_state.state == ZSTATE_END
                    else:
                        done = stream.avail_in == 0 and stream.avail_out > 0
            if rc != COMP_OK:
                raise ValueError(f"ISA-L deflate failed (error {rc})")
            if done:
                break
            if produced < room:
                continue
            room = room * 2 + 65536
            _PyBytes_Resize(&raw, room)
            out = <object>raw
    finally:
        free(level_buf)
        free(stream)
    _PyBytes_Resize(&raw, produced)
    out = <object>raw
    return out, crc
