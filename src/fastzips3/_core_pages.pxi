# Part of fastzips3._core (see _core.pyx); included there, not compiled alone.
#
# Fresh output pages, made ready before the decoder writes them. A large fresh buffer costs
# one page fault per 4 KiB on first write: on the 2-core VM this project measures on, about
# 0.45-0.5 s per GiB, a third of decoding a deflate member. Linux (5.14+) can populate a range
# writable in one call (madvise MADV_POPULATE_WRITE), about 0.3 s per GiB and without changing
# a byte, so it is safe while the decoder writes the same pages. Elsewhere these are no-ops.

cdef extern from *:
    """
    #if defined(__linux__)
    #include <errno.h>
    #include <pthread.h>
    #include <stdint.h>
    #include <sys/mman.h>
    #include <unistd.h>
    #ifndef MADV_POPULATE_WRITE
    #define MADV_POPULATE_WRITE 23  /* Linux 5.14; older headers (manylinux2014) lack it */
    #endif
    #define FZ_CAN_POPULATE 1
    #else
    #define FZ_CAN_POPULATE 0
    #endif

    /* Step of the background walk: how far past the decoder one call may run before the
       stop flag is looked at again. */
    #define FZ_POPULATE_STEP ((size_t)16 << 20)

    typedef struct {
        unsigned char *start;
        size_t size;
        int stop;
        int running;
    #if FZ_CAN_POPULATE
        pthread_t thread;
    #endif
    } fz_populator;

    /* Populate the whole pages inside [start, start + size): 0, or -1 where the kernel
       cannot (too old, or not Linux). Never writes a byte. */
    static int fz_populate(unsigned char *start, size_t size) {
    #if FZ_CAN_POPULATE
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t begin = ((uintptr_t)start + page - 1) & ~(page - 1);
        uintptr_t end = ((uintptr_t)start + size) & ~(page - 1);
        if (end <= begin) {
            return 0;
        }
        return madvise((void *)begin, end - begin, MADV_POPULATE_WRITE) == 0 ? 0 : -1;
    #else
        (void)start;
        (void)size;
        return -1;
    #endif
    }

    #if FZ_CAN_POPULATE
    static void *fz_populator_main(void *arg) {
        fz_populator *p = (fz_populator *)arg;
        size_t done = 0;
        while (done < p->size && !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
            size_t n = p->size - done < FZ_POPULATE_STEP ? p->size - done : FZ_POPULATE_STEP;
            if (fz_populate(p->start + done, n) != 0) {
                break;
            }
            done += n;
        }
        return NULL;
    }
    #endif

    /* Start populating [start, start + size) on a helper thread (it touches no Python
       object); 1 when it runs. fz_populator_join must follow before the memory goes. */
    static int fz_populator_start(fz_populator *p, unsigned char *start, size_t size) {
        p->start = start;
        p->size = size;
        p->stop = 0;
        p->running = 0;
    #if FZ_CAN_POPULATE
        p->running = pthread_create(&p->thread, NULL, fz_populator_main, p) == 0;
    #endif
        return p->running;
    }

    /* Stop the helper (it finishes its current step) and wait for it. */
    static void fz_populator_join(fz_populator *p) {
    #if FZ_CAN_POPULATE
        if (p->running) {
            __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
            pthread_join(p->thread, NULL);
        }
    #endif
        p->running = 0;
    }
    """
    ctypedef struct fz_populator:
        pass
    int fz_populate(unsigned char *start, size_t size) nogil
    int fz_populator_start(fz_populator *p, unsigned char *start, size_t size) nogil
    void fz_populator_join(fz_populator *p) nogil
    bint FZ_CAN_POPULATE

#: Outputs at least this large are populated ahead of the decoder (smaller ones fault in fast
#: enough, and a helper thread costs about 50 us to start).
cdef Py_ssize_t _POPULATE_FROM = 32 << 20

#: Whether this build can populate fresh pages ahead of the decoder (Linux only).
CAN_POPULATE = bool(FZ_CAN_POPULATE)

#: Pieces at least this large are populated in one call before their decoder writes them.
cdef Py_ssize_t _POPULATE_PIECE_FROM = 1 << 20


cdef inline void _populate_now(unsigned char *start, Py_ssize_t size) noexcept nogil:
    """Populate ``start[:size]`` in this thread, when it is large enough to be worth a call."""
    if size >= _POPULATE_PIECE_FROM:
        fz_populate(start, <size_t>size)
