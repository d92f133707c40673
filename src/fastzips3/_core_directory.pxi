# Part of fastzips3._core (see _core.pyx); included there, not compiled alone.
#
# The directory: the end record search, the ZIP64 locator and end record, and the central
# directory loop with name decoding. The reference implementation is fastzips3._format (plan.py,
# records.py, entry.py, names.py): every function here gives exactly what its pure twin gives,
# the same records, the same error classes and messages, and the differential tests hold the two
# together. Every read is checked against the buffer's length first.

from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_Decode, PyUnicode_DecodeUTF8
from libc.stdint cimport uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, qsort, realloc
from libc.string cimport memcmp, memcpy

from fastzips3._zlib cimport crc32 as _zlib_crc32

from fastzips3.errors import CentralDirectoryError, LimitExceededError, Zip64Error

cdef extern from "Python.h":
    # A new instance of a tuple subclass with ``n`` empty slots (what tuple.__new__ does for a
    # subclass before it copies the items in); it raises MemoryError itself.
    object PyType_GenericAlloc(PyTypeObject *tp, Py_ssize_t n)
    int PyGC_Enable()
    int PyGC_Disable()
    void PyObject_GC_UnTrack(object op)
    # A new str of ``size`` characters up to ``maxchar``, to be filled in before use.
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    void *PyUnicode_DATA(object op)
    bint PyUnicode_IS_COMPACT_ASCII(object op)
    Py_ssize_t PyUnicode_GET_LENGTH(object op)
    # The item array of a tuple (or list).
    PyObject **PySequence_Fast_ITEMS(object o)

cdef extern from *:
    """
    /* A tuple of type tp (a tuple subclass without instance attributes) with n items left to
       fill, not tracked by the garbage collector (PyType_GenericAlloc zeroes and tracks). */
    static PyObject *fastzips3_untracked_tuple(PyTypeObject *tp, Py_ssize_t n) {
        PyTupleObject *op = PyObject_GC_NewVar(PyTupleObject, tp, n);
    #if PY_VERSION_HEX >= 0x030E0000
        if (op != NULL) {
            op->ob_hash = -1;  /* 3.14 caches a tuple's hash: "not computed yet" */
        }
    #endif
        return (PyObject *)op;
    }
    """
    object _untracked_tuple "fastzips3_untracked_tuple"(PyTypeObject *tp, Py_ssize_t n)

cdef enum:
    _EOCD_SIZE = 22
    _LOCATOR_SIZE = 20
    _EOCD64_SIZE = 56
    _CDH_SIZE = 46
    _ENTRY_FIELDS = 13
    _FLAG_UTF8 = 0x800
    _ZIP64_ID = 0x0001
    _UNICODE_PATH_ID = 0x7075
    _CD_U16_MAX = 0xFFFF
    _GC_PAUSE_FROM = 1000
    _STAMPS_KEPT = 4096

cdef uint32_t _CD_U32_MAX = 0xFFFFFFFF
cdef long long _CD_I64_MAX = 0x7FFFFFFFFFFFFFFF


cdef inline uint16_t _u16(const unsigned char *p) noexcept nogil:
    return <uint16_t>(p[0] | (p[1] << 8))


cdef inline uint32_t _u32(const unsigned char *p) noexcept nogil:
    return ((<uint32_t>p[0]) | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16)
            | (<uint32_t>p[3] << 24))


cdef inline uint64_t _u64(const unsigned char *p) noexcept nogil:
    return (<uint64_t>_u32(p)) | ((<uint64_t>_u32(p + 4)) << 32)


cdef inline bint _signature(const unsigned char *p, unsigned char third,
                            unsigned char fourth) noexcept nogil:
    return p[0] == 0x50 and p[1] == 0x4B and p[2] == third and p[3] == fourth


def eocd_candidates(const unsigned char[::1] window not None, Py_ssize_t lowest):
    """Every end of central directory record in ``window[lowest:]``, the last one first.

    Each is ``(pos, disk_number, cd_disk, disk_entries, total_entries, cd_size, cd_offset,
    comment, comment_truncated)``: the position in ``window`` and then the fields of
    ``EndOfCentralDirectory`` (its comment cut at the end of the window). The twin of the
    signature search and ``EndOfCentralDirectory.parse`` in ``_format/plan.py``.
    """
    cdef Py_ssize_t n = window.shape[0]
    cdef Py_ssize_t pos = n - _EOCD_SIZE
    cdef Py_ssize_t start, end
    cdef const unsigned char *p
    found = []
    if lowest < 0:
        lowest = 0
    while pos >= lowest:
        p = &window[pos]
        if _signature(p, 5, 6):
            start = pos + _EOCD_SIZE
            end = start + _u16(p + 20)
            found.append((
                pos,
                _u16(p + 4),
                _u16(p + 6),
                _u16(p + 8),
                _u16(p + 10),
                _u32(p + 12),
                _u32(p + 16),
                PyBytes_FromStringAndSize(<const char *>&window[0] + start, min(end, n) - start),
                end > n,
            ))
        pos -= 1
    return found


def zip64_locator(const unsigned char[::1] window not None, Py_ssize_t pos):
    """The ZIP64 locator at ``window[pos:]`` as ``(eocd64_disk, eocd64_offset, total_disks)``,
    or None when it is not there (the twin of ``Zip64EndOfCentralDirectoryLocator.parse``)."""
    if pos < 0 or pos > window.shape[0] - _LOCATOR_SIZE:
        return None
    cdef const unsigned char *p = &window[pos]
    if not _signature(p, 6, 7):
        return None
    return (_u32(p + 4), _u64(p + 8), _u32(p + 16))


def zip64_end(const unsigned char[::1] window not None, Py_ssize_t pos):
    """The fields of the ZIP64 end record at ``window[pos:]`` (``record_size`` to
    ``cd_offset``), or None when it is cut short or not one (where the twin,
    ``Zip64EndOfCentralDirectory.parse``, raises a Zip64Error that the plan catches)."""
    if pos < 0 or pos > window.shape[0] - _EOCD64_SIZE:
        return None
    cdef const unsigned char *p = &window[pos]
    if not _signature(p, 6, 6):
        return None
    return (
        _u64(p + 4),
        _u16(p + 12),
        _u16(p + 14),
        _u32(p + 16),
        _u32(p + 20),
        _u64(p + 24),
        _u64(p + 32),
        _u64(p + 40),
        _u64(p + 48),
    )


ctypedef struct _Offset:
    uint64_t value
    PyObject *number  # the entry's own int of that value (borrowed: the entry holds it)


cdef int _compare_offsets(const void *a, const void *b) noexcept nogil:
    cdef uint64_t x = (<const _Offset *>a).value
    cdef uint64_t y = (<const _Offset *>b).value
    return (x > y) - (x < y)


cdef tuple _sorted_distinct(_Offset *offsets, Py_ssize_t count):
    """``tuple(sorted(set(values)))``, made of the entries' own int objects (none is made)."""
    if count == 0:
        return ()
    cdef Py_ssize_t i, kept = 1
    for i in range(1, count):
        if offsets[i].value < offsets[i - 1].value:
            qsort(offsets, count, sizeof(_Offset), _compare_offsets)
            break  # else already in order, as writers lay members out
    for i in range(1, count):
        if offsets[i].value != offsets[kept - 1].value:
            offsets[kept] = offsets[i]
            kept += 1
    result = PyTuple_New(kept)
    for i in range(kept):
        _put(result, i, <object>offsets[i].number)
    PyObject_GC_UnTrack(result)  # ints only: no collection needs to scan it
    return result


cdef object _decode_utf8(const unsigned char *p, Py_ssize_t n):
    """The UTF-8 text of ``p[:n]``, or None when it is not valid UTF-8."""
    try:
        return PyUnicode_DecodeUTF8(<const char *>p, n, NULL)
    except UnicodeDecodeError:
        return None


cdef object _unicode_path(const unsigned char *field, Py_ssize_t size,
                          const unsigned char *raw, Py_ssize_t raw_size):
    """The name of an Info-ZIP Unicode Path field whose CRC-32 matches the raw name, or None
    (the twin of ``extra.unicode_path``)."""
    if size < 5 or field[0] != 1:
        return None
    if _u32(field + 1) != <uint32_t>_zlib_crc32(0, raw, <unsigned int>raw_size):
        return None
    return _decode_utf8(field + 5, size - 5)


cdef object _decode_name(const unsigned char *raw, Py_ssize_t n, uint16_t flags,
                         const unsigned char *unicode_field, Py_ssize_t unicode_size,
                         const char *encoding, bint ascii_ok):
    """The twin of ``names.decode_name`` (see there for the rules, in the same order)."""
    cdef bint utf8_flag = (flags & _FLAG_UTF8) != 0
    cdef Py_ssize_t i
    cdef unsigned char high = 0
    if utf8_flag:
        name = _decode_utf8(raw, n)
        if name is not None:
            return name
    if unicode_field != NULL:
        name = _unicode_path(unicode_field, unicode_size, raw, n)
        if name is not None:
            return name
    for i in range(n):
        high |= raw[i]
    if high < 0x80 and ascii_ok:
        text = PyUnicode_New(n, 127)  # ASCII: a compact str holds the bytes as they are
        memcpy(PyUnicode_DATA(text), raw, n)
        return text
    if encoding != NULL and not utf8_flag:
        try:
            return PyUnicode_Decode(<const char *>raw, n, encoding, NULL)
        except UnicodeError:
            pass
    if not utf8_flag:
        name = _decode_utf8(raw, n)
        if name is not None:
            return name
    return PyUnicode_Decode(<const char *>raw, n, "cp437", NULL)


cdef inline bint _is_ascii_text_of(object name, const unsigned char *raw, Py_ssize_t n):
    """Whether ``raw[:n]`` is exactly the str ``name`` in ASCII (then an entry keeps no copy
    of the bytes: the twin of ``entry.stored_name_bytes``)."""
    return (
        PyUnicode_IS_COMPACT_ASCII(name)
        and PyUnicode_GET_LENGTH(name) == n
        and memcmp(PyUnicode_DATA(name), raw, n) == 0
    )


cdef inline void _put(object entry, Py_ssize_t index, object value) noexcept:
    Py_INCREF(value)
    PyTuple_SET_ITEM(entry, index, value)


cdef tuple _steal_into_tuple(PyObject **items, Py_ssize_t count):
    """A tuple of ``items[:count]``, taking over their references (none is touched)."""
    result = PyTuple_New(count)
    if count:
        memcpy(PySequence_Fast_ITEMS(result), items, count * sizeof(PyObject *))
    return result


cdef void _release(PyObject **items, Py_ssize_t count) noexcept:
    cdef Py_ssize_t i
    for i in range(count):
        Py_XDECREF(items[i])


def directory_entries(
    const unsigned char[::1] buf not None,
    Py_ssize_t pos,
    Py_ssize_t stop,
    *,
    long long offset,
    long long base_offset,
    unsigned long long declared,
    limit,
    type entry_type not None,
    encoding,
    bint ascii_ok,
    long long cd_start,
):
    """Every entry of the central directory in ``buf[pos:stop]`` (a tuple), and the sorted
    distinct local header offsets below ``cd_start``: ``(entries, header_offsets)``.

    The twin of ``entry.entries_from_directory`` (same arguments; ``buf[0]`` is at ``offset``
    in the object), plus the ``header_offsets`` of ``Directory``. ``entry_type`` is ``ZipEntry``
    (a 13-field named tuple), built here without a call per entry; ``encoding`` is the canonical
    ``metadata_encoding`` or None, and ``ascii_ok`` says whether it decodes ASCII as ASCII.

    The entries tuple is not tracked by the garbage collector: it holds only entries, which
    hold only str, int, bytes and untracked date tuples, so it can never be part of a cycle
    (CPython untracks such a tuple itself, but only after a collection has scanned all of it).
    """
    cdef Py_ssize_t n = buf.shape[0]
    if pos < 0 or stop > n:
        raise ValueError(f"[{pos}, {stop}) is not inside the {n}-byte buffer")
    fields = getattr(entry_type, "_fields", ())
    if not issubclass(entry_type, tuple) or len(fields) != _ENTRY_FIELDS:
        raise TypeError(f"entry_type must be a named tuple of {_ENTRY_FIELDS} fields")
    if entry_type.__basicsize__ != tuple.__basicsize__:
        raise TypeError("entry_type must add no instance attributes to tuple")
    cdef bint has_limit = limit is not None
    cdef long long max_count = 0
    if has_limit:
        max_count = limit if limit < _CD_I64_MAX else _CD_I64_MAX
    cdef bytes encoding_name = encoding.encode("ascii") if encoding is not None else None
    cdef const char *c_encoding = <const char *>encoding_name if encoding is not None else NULL
    cdef PyTypeObject *tp = <PyTypeObject *>entry_type
    cdef const unsigned char *base = &buf[0] if n else NULL
    cdef const unsigned char *p
    cdef const unsigned char *name_p
    cdef const unsigned char *extra_p
    cdef const unsigned char *zip64_field
    cdef const unsigned char *unicode_field
    cdef Py_ssize_t zip64_size, unicode_size, q, field_size, end, width
    cdef unsigned long long count = 0
    cdef uint16_t flags, nlen, elen, clen, dos_time, dos_date, header_id
    cdef uint64_t usize, csize, header_offset, disk
    cdef uint32_t last_stamp = 0xFFFFFFFF, stamp
    cdef uint32_t attributes, last_attributes = 0
    cdef _Offset *offsets = NULL
    cdef Py_ssize_t offsets_count = 0, offsets_capacity = 0
    cdef _Offset *grown
    # The entries, owned here until they become the tuple: a list would cost a copy and its
    # collection passes (each touching every entry).
    cdef PyObject **items = NULL
    cdef PyObject **grown_items
    cdef Py_ssize_t items_capacity = 0
    cdef Py_ssize_t items_count = 0
    cdef bint paused = False
    date_time = None
    cdef object absolute  # the header offset's int, shared by the entry and header_offsets
    cdef object usize_o, csize_o, method_o, crc_o, comment_o, flags_o, extra_o, raw_o
    cdef object system_o
    cdef bytes last_extra = b""  # writers often repeat one extra field (same time, same owner)
    cdef dict stamps = {}
    external_attr = 0
    try:
        paused = declared >= _GC_PAUSE_FROM and PyGC_Disable()
        while pos < stop:
            if count >= declared and not (pos + 4 <= n and _signature(base + pos, 1, 2)):
                break  # a gap between the directory and its end record
            if has_limit and <long long>count >= max_count:
                raise LimitExceededError(f"the archive has more than max_entries={limit} entries")
            if pos + _CDH_SIZE > stop:
                raise CentralDirectoryError(
                    "the central directory ends in the middle of an entry",
                    offset=offset + pos,
                    record="central directory header",
                )
            p = base + pos
            if not _signature(p, 1, 2):
                raise CentralDirectoryError(
                    "expected a central directory header signature",
                    offset=offset + pos,
                    record="central directory header",
                )
            nlen = _u16(p + 28)
            elen = _u16(p + 30)
            clen = _u16(p + 32)
            end = pos + _CDH_SIZE + nlen + elen + clen
            if end > stop:
                raise CentralDirectoryError(
                    "a central directory entry's name, extra or comment runs past the directory",
                    offset=offset + pos,
                    record="central directory header",
                )
            flags = _u16(p + 8)
            dos_time = _u16(p + 12)
            dos_date = _u16(p + 14)
            csize = _u32(p + 20)
            usize = _u32(p + 24)
            disk = _u16(p + 34)
            header_offset = _u32(p + 42)
            name_p = p + _CDH_SIZE
            extra_p = name_p + nlen
            # The first ZIP64 and Unicode Path fields, walked as extra.iter_extra does: a
            # field that runs past the block ends the walk.
            zip64_field = NULL
            unicode_field = NULL
            zip64_size = unicode_size = 0
            q = 0
            while q + 4 <= elen:
                header_id = _u16(extra_p + q)
                field_size = _u16(extra_p + q + 2)
                q += 4
                if q + field_size > elen:
                    break
                if header_id == _ZIP64_ID and zip64_field == NULL:
                    zip64_field = extra_p + q
                    zip64_size = field_size
                elif header_id == _UNICODE_PATH_ID and unicode_field == NULL:
                    unicode_field = extra_p + q
                    unicode_size = field_size
                q += field_size
            if zip64_field != NULL and (
                usize == _CD_U32_MAX or csize == _CD_U32_MAX or header_offset == _CD_U32_MAX
                or disk == _CD_U16_MAX
            ):
                # extra.resolve_zip64: the sentinel fields, in this order, from the field
                width = (
                    8 * (usize == _CD_U32_MAX)
                    + 8 * (csize == _CD_U32_MAX)
                    + 8 * (header_offset == _CD_U32_MAX)
                    + 4 * (disk == _CD_U16_MAX)
                )
                if width > zip64_size:
                    raise Zip64Error(
                        "a ZIP64 extra field is shorter than the fields it must replace",
                        offset=offset + pos,
                        record="ZIP64 extra field",
                    )
                q = 0
                if usize == _CD_U32_MAX:
                    usize = _u64(zip64_field + q)
                    q += 8
                if csize == _CD_U32_MAX:
                    csize = _u64(zip64_field + q)
                    q += 8
                if header_offset == _CD_U32_MAX:
                    header_offset = _u64(zip64_field + q)
            name = _decode_name(
                name_p, nlen, flags, unicode_field, unicode_size, c_encoding, ascii_ok
            )
            stamp = (<uint32_t>dos_date << 16) | dos_time
            if stamp != last_stamp:  # entries share equal date tuples (they are immutable)
                last_stamp = stamp
                date_time = stamps.get(stamp)
                if date_time is None:
                    date_time = (
                        (dos_date >> 9) + 1980,
                        (dos_date >> 5) & 0xF,
                        dos_date & 0x1F,
                        dos_time >> 11,
                        (dos_time >> 5) & 0x3F,
                        (dos_time & 0x1F) * 2,
                    )
                    PyObject_GC_UnTrack(date_time)
                    if len(stamps) < _STAMPS_KEPT:
                        stamps[stamp] = date_time
            if header_offset <= <uint64_t>_CD_I64_MAX:
                header_offset += <uint64_t>base_offset
                absolute = header_offset
                if header_offset < <uint64_t>cd_start:
                    if offsets_count == offsets_capacity:
                        offsets_capacity = offsets_capacity * 2 + 1024
                        grown = <_Offset *>realloc(offsets, offsets_capacity * sizeof(_Offset))
                        if grown == NULL:
                            raise MemoryError()
                        offsets = grown
                    offsets[offsets_count].value = header_offset
                    offsets[offsets_count].number = <PyObject *>absolute
                    offsets_count += 1
            else:
                absolute = <object>header_offset + base_offset  # past 2**63: Python's ints
            attributes = _u32(p + 38)
            if attributes != last_attributes:  # mostly one or two values: share the int
                last_attributes = attributes
                external_attr = attributes
            # Every field is made before the entry: nothing can fail while it is half filled.
            usize_o = usize
            csize_o = usize_o if csize == usize else csize  # stored members: one int for both
            method_o = _u16(p + 10)
            crc_o = _u32(p + 16)
            comment_o = PyBytes_FromStringAndSize(<const char *>extra_p + elen, clen)
            flags_o = flags
            if elen == len(last_extra) and memcmp(<const char *>last_extra, extra_p, elen) == 0:
                extra_o = last_extra  # bytes are immutable: equal ones can be one object
            else:
                extra_o = last_extra = PyBytes_FromStringAndSize(<const char *>extra_p, elen)
            if _is_ascii_text_of(name, name_p, nlen):
                raw_o = None
            else:
                raw_o = PyBytes_FromStringAndSize(<const char *>name_p, nlen)
            system_o = _u16(p + 4) >> 8
            # Only str, int, bytes and an untracked tuple inside: the entry can never be part of
            # a cycle, so the collector need not track it (CPython untracks such tuples itself,
            # but only once a collection has looked at each of them).
            entry = _untracked_tuple(tp, _ENTRY_FIELDS)
            _put(entry, 0, name)
            _put(entry, 1, usize_o)
            _put(entry, 2, csize_o)
            _put(entry, 3, method_o)
            _put(entry, 4, crc_o)
            _put(entry, 5, date_time)
            _put(entry, 6, comment_o)
            _put(entry, 7, absolute)
            _put(entry, 8, flags_o)
            _put(entry, 9, extra_o)
            _put(entry, 10, raw_o)
            _put(entry, 11, external_attr)
            _put(entry, 12, system_o)
            if items_count == items_capacity:
                # A first guess of the declared count (bounded by what the bytes can hold)
                items_capacity = items_capacity * 2 if items_capacity else (
                    <Py_ssize_t>min(declared, <unsigned long long>((stop - pos) // _CDH_SIZE))
                    + 16
                )
                grown_items = <PyObject **>realloc(items, items_capacity * sizeof(PyObject *))
                if grown_items == NULL:
                    raise MemoryError()
                items = grown_items
            Py_INCREF(entry)
            items[items_count] = <PyObject *>entry
            items_count += 1
            pos = end
            count += 1
        entries = _steal_into_tuple(items, items_count)
        items_count = 0  # the tuple owns them now
        PyObject_GC_UnTrack(entries)
        return entries, _sorted_distinct(offsets, offsets_count)
    finally:
        _release(items, items_count)
        free(items)
        free(offsets)
        if paused:
            PyGC_Enable()


# --- zipfile.ZipInfo objects for fastzips3.ZipFile -----------------------------------------------

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        int type
        Py_ssize_t offset
        int flags
    int T_OBJECT_EX
    int READONLY

cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef *d_member
    Py_ssize_t PyUnicode_FindChar(
        object text, Py_UCS4 ch, Py_ssize_t start, Py_ssize_t end, int direction
    ) except -2

from types import MemberDescriptorType as _MemberDescriptorType

#: The ZipInfo slots build_zipinfos fills, in the order of its offsets array.
_ZIPINFO_SLOTS = (
    "orig_filename", "filename", "date_time", "compress_type", "_compresslevel", "comment",
    "extra", "create_system", "flag_bits", "external_attr", "header_offset", "CRC",
    "compress_size", "file_size", "_fz_index", "_fz_raw",
)
cdef enum:
    _ZI_SLOTS = 16
cdef enum:
    _ZI_ORIG = 0
    _ZI_NAME, _ZI_DATE, _ZI_METHOD, _ZI_LEVEL, _ZI_COMMENT, _ZI_EXTRA, _ZI_SYSTEM, \
        _ZI_FLAGS, _ZI_EXTERNAL, _ZI_OFFSET, _ZI_CRC, _ZI_CSIZE, _ZI_SIZE, _ZI_INDEX, _ZI_RAW


cdef Py_ssize_t _slot_offset(type cls, str name) except -1:
    """Where instances of ``cls`` keep the writable object slot ``name`` (as its descriptor
    says), checked to lie inside the instance."""
    descriptor = None
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None:
            break
    if name == "_compresslevel" and isinstance(descriptor, property):
        return _slot_offset(cls, "compress_level")  # Python 3.13+: a property over this slot
    if (
        type(descriptor) is not _MemberDescriptorType
        or descriptor.__name__ != name
        or descriptor.__objclass__ not in cls.__mro__
    ):
        raise TypeError(f"{cls.__name__}.{name} is not a slot")
    cdef PyMemberDef *member = (<PyMemberDescrObject *><PyObject *>descriptor).d_member
    if (
        member.type != T_OBJECT_EX
        or member.flags & READONLY
        or member.offset < <Py_ssize_t>sizeof(PyObject)
        or member.offset + <Py_ssize_t>sizeof(PyObject *) > cls.__basicsize__
        or member.offset % <Py_ssize_t>sizeof(PyObject *)
    ):
        raise TypeError(f"{cls.__name__}.{name} is not a writable object slot")
    return member.offset


cdef inline void _fill_slot(object obj, Py_ssize_t offset, object value) noexcept:
    # What the slot's descriptor does on assignment, for an instance whose slots are all empty.
    Py_INCREF(value)
    (<PyObject **>((<char *><PyObject *>obj) + offset))[0] = <PyObject *>value


def build_zipinfos(entries, type cls not None, raw, encoding, alt_sep):
    """One ``cls`` (a slotted ``zipfile.ZipInfo`` subclass) per ZipEntry of ``entries``, as
    ``_zipfile._fill_infos`` fills them: a list.

    The twin of that loop, without a call per field: each instance is allocated as
    ``object.__new__`` does and its slots are written where their descriptors say (checked
    once per call). ``raw`` goes to every ``_fz_raw``; ``encoding`` (``metadata_encoding`` or
    None) re-decodes the raw names not flagged UTF-8; ``alt_sep`` (``os.altsep``-like, or None)
    becomes "/" in ``filename``, which also ends at the first NUL, as in zipfile.
    """
    cdef Py_ssize_t offsets[_ZI_SLOTS]
    cdef Py_ssize_t i, k, n, cut
    cdef PyTypeObject *tp = <PyTypeObject *>cls
    if len(_ZIPINFO_SLOTS) != _ZI_SLOTS or _ZI_RAW != _ZI_SLOTS - 1:
        raise AssertionError("_ZIPINFO_SLOTS and _ZI_SLOTS disagree")
    if cls.__new__ is not object.__new__:
        raise TypeError(f"{cls.__name__} must use object.__new__")
    for k in range(_ZI_SLOTS):
        offsets[k] = _slot_offset(cls, _ZIPINFO_SLOTS[k])
    reserved = {cls.__dictoffset__, cls.__weakrefoffset__}
    if len({offsets[k] for k in range(_ZI_SLOTS)}) != _ZI_SLOTS or any(
        offsets[k] in reserved for k in range(_ZI_SLOTS)
    ):
        raise TypeError(f"{cls.__name__}'s slots overlap: not a ZipInfo layout")
    cdef tuple items = entries if type(entries) is tuple else tuple(entries)
    n = len(items)
    infos = PyList_New(n)
    cdef bint paused = PyGC_Disable()
    try:
        for i in range(n):
            entry = items[i]
            if not isinstance(entry, tuple) or len(<tuple>entry) != _ENTRY_FIELDS:
                raise TypeError(f"entry {i} is not a ZipEntry")
            (name, file_size, compress_size, compress_type, crc, date_time, comment,
             header_offset, flag_bits, extra, name_bytes, external_attr,
             create_system) = <tuple>entry
            if encoding is not None and not (flag_bits & _FLAG_UTF8):
                if name_bytes is None:
                    name_bytes = (<str>name).encode("ascii")
                name = name_bytes.decode(encoding)
            if type(name) is not str:
                raise TypeError(f"entry {i}'s name is not a str")
            info = PyType_GenericAlloc(tp, 0)
            _fill_slot(info, offsets[_ZI_ORIG], name)
            cut = PyUnicode_FindChar(name, 0, 0, len(<str>name), 1)
            if cut >= 0:  # zipfile cuts names at the first NUL (a trick of old viruses)
                name = (<str>name)[:cut]
            if alt_sep is not None and alt_sep in name:
                name = (<str>name).replace(alt_sep, "/")
            _fill_slot(info, offsets[_ZI_NAME], name)
            _fill_slot(info, offsets[_ZI_DATE], date_time)
            _fill_slot(info, offsets[_ZI_METHOD], compress_type)
            _fill_slot(info, offsets[_ZI_LEVEL], None)
            _fill_slot(info, offsets[_ZI_COMMENT], comment)
            _fill_slot(info, offsets[_ZI_EXTRA], extra)
            _fill_slot(info, offsets[_ZI_SYSTEM], create_system)
            _fill_slot(info, offsets[_ZI_FLAGS], flag_bits)
            _fill_slot(info, offsets[_ZI_EXTERNAL], external_attr)
            _fill_slot(info, offsets[_ZI_OFFSET], header_offset)
            _fill_slot(info, offsets[_ZI_CRC], crc)
            _fill_slot(info, offsets[_ZI_CSIZE], compress_size)
            _fill_slot(info, offsets[_ZI_SIZE], file_size)
            _fill_slot(info, offsets[_ZI_INDEX], i)
            _fill_slot(info, offsets[_ZI_RAW], raw)
            Py_INCREF(info)
            PyList_SET_ITEM(infos, i, info)
        return infos
    finally:
        if paused:
            PyGC_Enable()
