# cython: language_level=3
"""fastzips3's compiled core: the hot loops, in Cython, on ISA-L and zlib.

Pure like ``fastzips3._format`` and ``fastzips3._codecs``: buffers in, records and bytes out; no
I/O, no Python threads of its own (the one helper thread it starts populates a large fresh
output's pages, touches no object and is joined before the output is returned), and no calls
back into Python from code that runs without the GIL.
The pure-Python modules are the reference implementation; a differential test holds the two
together. ``fastzips3._accel`` decides whether this module is used.

Each part lives in its own include file, one owner each:

- ``_core_directory.pxi``: the end-record search, ZIP64 records and the central-directory loop,
  name decoding;
- ``_core_pages.pxi``: fresh output pages made ready ahead of the decoder (Linux);
- ``_core_inflate.pxi``: ``isal_inflate`` with the CRC-32 fused, GIL released;
- ``_core_zran.pxi``: checkpoints (build with zlib's ``Z_BLOCK``, decode a piece from one).
"""

from fastzips3._isal cimport ISAL_MAJOR_VERSION, ISAL_MINOR_VERSION, ISAL_PATCH_VERSION
from fastzips3._zlib cimport zlibVersion

#: The ISA-L version this module was compiled against, as "major.minor.patch".
ISAL_VERSION = f"{ISAL_MAJOR_VERSION}.{ISAL_MINOR_VERSION}.{ISAL_PATCH_VERSION}"
#: The zlib version this module runs with.
ZLIB_VERSION = zlibVersion().decode("ascii")

include "_core_directory.pxi"
include "_core_pages.pxi"
include "_core_inflate.pxi"
include "_core_zran.pxi"
include "_core_deflate.pxi"
