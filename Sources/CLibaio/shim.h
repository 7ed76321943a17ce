#ifndef TARGE_CLIBAIO_SHIM_H
#define TARGE_CLIBAIO_SHIM_H
/* Linux native AIO (libaio) for the `aio` storage engine, plus the few calls around it that
 * Swift's Glibc module lacks (eventfd flags, fstatfs). libaio's own io_prep_* helpers fill
 * unions that Swift handles awkwardly, so the iocb set-up is done here in C. */
#include <libaio.h>
#include <sys/eventfd.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/vfs.h>

/* RWF_DSYNC (linux/fs.h, the same on every architecture): a per-write O_DSYNC, Linux >= 4.13
 * for AIO. Defined here rather than including linux/fs.h, which clashes with sys/mount.h. */
#define TARGE_RWF_DSYNC 0x00000002

/* Filesystem magic numbers (linux/magic.h) of memory-backed filesystems, where O_DIRECT is
 * either refused or silently buffered. */
#define TARGE_TMPFS_MAGIC 0x01021994
#define TARGE_RAMFS_MAGIC 0x858458f6

/* A single-buffer read or write, completion signalled on `eventfd`. */
static inline void targe_aio_prep_rw(struct iocb *cb, int write, int fd, void *buf, size_t len,
                                     long long offset, int rw_flags, int eventfd) {
    if (write) io_prep_pwrite(cb, fd, buf, len, offset); else io_prep_pread(cb, fd, buf, len, offset);
    cb->aio_rw_flags = (unsigned)rw_flags;
    io_set_eventfd(cb, eventfd);
}

/* A vectored write, completion signalled on `eventfd`. */
static inline void targe_aio_prep_writev(struct iocb *cb, int fd, const struct iovec *iov, int count,
                                         long long offset, int rw_flags, int eventfd) {
    io_prep_pwritev(cb, fd, iov, count, offset);
    cb->aio_rw_flags = (unsigned)rw_flags;
    io_set_eventfd(cb, eventfd);
}

/* A non-blocking, close-on-exec eventfd that counts AIO completions. */
static inline int targe_aio_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

/* The filesystem type (statfs f_type) of an open file, or -1 with errno. */
static inline long long targe_fstatfs_type(int fd) {
    struct statfs s;
    if (fstatfs(fd, &s) != 0) return -1;
    return (long long)s.f_type;
}

/* Index of the iocb an event belongs to in an array starting at `base`. */
static inline long targe_aio_event_index(const struct io_event *event, const struct iocb *base) {
    return (long)(event->obj - base);
}

/* io_event.res is unsigned in the header; the kernel stores a negative errno in it. */
static inline long targe_aio_event_result(const struct io_event *event) { return (long)event->res; }
#endif
