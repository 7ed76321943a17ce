#define _GNU_SOURCE
#include "csystemshims.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

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

ssize_t targe_pwritev_iovecs(int fd, const void *iov, int count, off_t offset, int dsync) {
    return pwritev2(fd, (const struct iovec *)iov, count, offset, dsync ? RWF_DSYNC : 0);
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

ssize_t targe_send_with_fd(int sock, const void *buf, size_t len, int fd) {
    struct iovec iov = { (void *)buf, len };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    char control[CMSG_SPACE(sizeof(int))];
    if (fd >= 0) {
        memset(control, 0, sizeof control);
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

ssize_t targe_recv_with_fd(int sock, void *buf, size_t len, int *fd) {
    struct iovec iov = { buf, len };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    char control[CMSG_SPACE(sizeof(int))];
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    *fd = -1;
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) return n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
            memcpy(fd, CMSG_DATA(c), sizeof(int));
        }
    }
    return n;
}

int targe_fork(void) { return fork(); }

int targe_die_with_parent(int signal) { return prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0); }

#include <malloc.h>

int targe_tune_malloc(int mmap_threshold, int trim_threshold) {
    int ok = mallopt(M_MMAP_THRESHOLD, mmap_threshold);
    return ok && mallopt(M_TRIM_THRESHOLD, trim_threshold);
}

int targe_malloc_trim(void) {
    return malloc_trim(0);
}
