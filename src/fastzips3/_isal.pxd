# C declarations of the parts of ISA-L (igzip and CRC) that fastzips3._core calls.
# Only the fields the core reads or writes are declared; Cython takes the real layout from the
# header, so these declarations do not depend on one ISA-L version's struct offsets.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t

cdef extern from "isa-l.h" nogil:
    int ISAL_MAJOR_VERSION
    int ISAL_MINOR_VERSION
    int ISAL_PATCH_VERSION

cdef extern from "isa-l/igzip_lib.h" nogil:
    int ISAL_DECOMP_OK
    int ISAL_END_INPUT
    int ISAL_OUT_OVERFLOW
    int ISAL_NEED_DICT
    int ISAL_INVALID_BLOCK
    int ISAL_INVALID_SYMBOL
    int ISAL_INVALID_LOOKBACK
    int ISAL_INVALID_WRAPPER
    int ISAL_UNSUPPORTED_METHOD
    int ISAL_INCORRECT_CHECKSUM
    int ISAL_DEFLATE
    int ISAL_GZIP_NO_HDR
    int ISAL_DEF_HIST_SIZE
    int ISAL_DEF_MAX_LEVEL
    int ISAL_DEF_LVL0_DEFAULT
    int ISAL_DEF_LVL1_DEFAULT
    int ISAL_DEF_LVL2_DEFAULT
    int ISAL_DEF_LVL3_DEFAULT
    int NO_FLUSH
    int SYNC_FLUSH
    int FULL_FLUSH
    int IGZIP_DEFLATE

    enum isal_block_state:
        ISAL_BLOCK_NEW_HDR
        ISAL_BLOCK_HDR
        ISAL_BLOCK_TYPE0
        ISAL_BLOCK_CODED
        ISAL_BLOCK_INPUT_DONE
        ISAL_BLOCK_FINISH
        ISAL_GZIP_EXTRA_LEN
        ISAL_GZIP_EXTRA
        ISAL_GZIP_NAME
        ISAL_GZIP_COMMENT
        ISAL_GZIP_HCRC
        ISAL_ZLIB_DICT
        ISAL_CHECKSUM_CHECK

    struct inflate_state:
        uint8_t *next_out
        uint32_t avail_out
        uint32_t total_out
        uint8_t *next_in
        uint64_t read_in
        uint32_t avail_in
        int32_t read_in_length
        isal_block_state block_state
        uint32_t bfinal
        uint32_t crc_flag
        uint32_t crc
        int32_t tmp_out_valid
        int32_t tmp_out_processed

    void isal_inflate_init(inflate_state *state)
    void isal_inflate_reset(inflate_state *state)
    int isal_inflate_set_dict(inflate_state *state, uint8_t *dict, uint32_t dict_len)
    int isal_inflate(inflate_state *state)

    # Compression (fastzips3._core_deflate.pxi): the state field tells when a stream is done.
    int COMP_OK
    enum isal_zstate_state:
        ZSTATE_NEW_HDR
        ZSTATE_END

    struct isal_zstate:
        isal_zstate_state state

    struct isal_zstream:
        uint8_t *next_in
        uint32_t avail_in
        uint32_t total_in
        uint8_t *next_out
        uint32_t avail_out
        uint32_t total_out
        void *hufftables
        uint32_t level
        uint32_t level_buf_size
        uint8_t *level_buf
        uint16_t end_of_stream
        uint16_t flush
        uint16_t gzip_flag
        uint16_t hist_bits
        isal_zstate internal_state

    void isal_deflate_init(isal_zstream *stream)
    void isal_deflate_reset(isal_zstream *stream)
    int isal_deflate_set_dict(isal_zstream *stream, uint8_t *dict, uint32_t dict_len)
    int isal_deflate(isal_zstream *stream)

cdef extern from "isa-l/crc.h" nogil:
    uint32_t crc32_gzip_refl(uint32_t init_crc, const unsigned char *buf, uint64_t len)
