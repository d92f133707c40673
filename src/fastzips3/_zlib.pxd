# C declarations of the parts of zlib that fastzips3._core calls (checkpoint building needs
# Z_BLOCK and inflatePrime, which Python's zlib module does not expose).
cdef extern from "zlib.h" nogil:
    ctypedef unsigned char Bytef
    ctypedef unsigned int uInt
    ctypedef unsigned long uLong

    ctypedef struct z_stream:
        const Bytef *next_in
        uInt avail_in
        uLong total_in
        Bytef *next_out
        uInt avail_out
        uLong total_out
        const char *msg
        void *zalloc
        void *zfree
        void *opaque
        int data_type

    int Z_OK
    int Z_STREAM_END
    int Z_NEED_DICT
    int Z_BUF_ERROR
    int Z_DATA_ERROR
    int Z_MEM_ERROR
    int Z_NO_FLUSH
    int Z_BLOCK
    int Z_FINISH

    const char *zlibVersion()
    int inflateInit2(z_stream *strm, int windowBits)
    int inflate(z_stream *strm, int flush)
    int inflateEnd(z_stream *strm)
    int inflateReset(z_stream *strm)
    int inflatePrime(z_stream *strm, int bits, int value)
    int inflateSetDictionary(z_stream *strm, const Bytef *dictionary, uInt dictLength)
    int inflateGetDictionary(z_stream *strm, Bytef *dictionary, uInt *dictLength)
    uLong crc32(uLong crc, const Bytef *buf, uInt len)
    uLong crc32_combine(uLong crc1, uLong crc2, long len2)
