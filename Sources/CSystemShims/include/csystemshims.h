#ifndef CSYSTEMSHIMS_H
#define CSYSTEMSHIMS_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// Linux calls and flags that Swift's Glibc module does not expose (they need _GNU_SOURCE
/// or are variadic). Each returns -1 with errno set on failure, like the call it wraps.
ssize_t targe_preadv2_nowait(int fd, void *buf, size_t len, off_t offset);
ssize_t targe_pwritev2_nowait(int fd, const void *buf, size_t len, off_t offset);
/// pwritev of several buffers; flags may include RWF_DSYNC (pass dsync != 0).
ssize_t targe_pwritev(int fd, const void *const *bufs, const size_t *lens, int count, off_t offset, int dsync);
/// pwritev2 of `count` struct iovec at `iov` (up to IOV_MAX); RWF_DSYNC when dsync != 0.
ssize_t targe_pwritev_iovecs(int fd, const void *iov, int count, off_t offset, int dsync);
int targe_fallocate_punch(int fd, off_t offset, off_t len);
int targe_open_direct_flag(void);
/* mallopt(M_MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD); 1 when both took. */
int targe_tune_malloc(int mmap_threshold, int trim_threshold);
/* Returns free heap pages of every arena to the system (malloc_trim(0)). */
int targe_malloc_trim(void);
int targe_block_device_size(int fd, uint64_t *bytes);
int targe_block_device_logical_block_size(int fd, int *size);
int targe_set_no_new_privs(void);
int targe_is_block_device(int fd);
/// Sends `len` bytes on a Unix socket, with `fd` attached (SCM_RIGHTS) when fd >= 0.
ssize_t targe_send_with_fd(int sock, const void *buf, size_t len, int fd);
/// Receives up to `len` bytes; a descriptor passed along lands in *fd (else -1).
ssize_t targe_recv_with_fd(int sock, void *buf, size_t len, int *fd);
/// fork(2), which Swift does not expose; only for single-threaded processes.
int targe_fork(void);
/// Ends the calling process when its parent dies (PR_SET_PDEATHSIG).
int targe_die_with_parent(int signal);
#endif
