#define _GNU_SOURCE
#include "csystemshims.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif
#ifndef RWF_DSYNC
#define RWF_DSYNC 0x00000002
#endif

ssize_t targe_preadv2_nowait(int fd, void *buf, size_t len, off_t offset) {
    struct iovec iov = { buf, len };
    return preadv2(fd, &iov, 1, offset, RWF_NOWAIT);
}

ssize_t targe_pwritev2_nowait(int fd, const void *buf, size_t len, off_t offset) {
    struct iovec iov = { (void *)buf, len };
    return pwritev2(fd, &iov, 1, offset, RWF_NOWAIT);
}

ssize_t targe_pwritev(int fd, const void *const *bufs, const size_t *lens, int count, off_t offset, int dsync) {
    struct iovec iov[64];
    if (count > 64) { errno = EINVAL; return -1; }
    for (int i = 0; i < count; i++) { iov[i].iov_base = (void *)bufs[i]; iov[i].iov_len = lens[i]; }
    return pwritev2(fd, iov, count, offset, dsync ? RWF_DSYNC : 0);
}

int targe_fallocate_punch(int fd, off_t offset, off_t len) {
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len);
}

int targe_open_direct_flag(void) { return O_DIRECT; }

int targe_block_device_size(int fd, uint64_t *bytes) { return ioctl(fd, BLKGETSIZE64, bytes); }

int targe_block_device_logical_block_size(int fd, int *size) { return ioctl(fd, BLKSSZGET, size); }

int targe_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

int targe_is_block_device(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    return S_ISBLK(st.st_mode) ? 1 : 0;
}
