#ifndef TARGE_CRBD_H
#define TARGE_CRBD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Ceph RBD for Targe, through librbd's C API loaded at run time (dlopen of librbd.so.1 and
 * librados.so.2): the binary, and the appliance image built from it, do not depend on
 * Ceph's libraries; a host that serves RBD images needs Debian's librbd1. Handles are
 * opaque pointers; errors are negative errno values, as librbd returns them. */

/* Loads the libraries once; 0, or -1 with the loader's message in `error`. */
int targe_rbd_load(char *error, size_t error_length);

/* Connects to a cluster as client `id` with `conf` (ceph.conf; its keyring setting finds the
 * key). `timeout_seconds` bounds the connect (client_mount_timeout) and every monitor and
 * OSD operation after it (rados_mon_op_timeout, rados_osd_op_timeout). Blocks. */
int targe_rbd_connect(const char *conf, const char *id, int timeout_seconds, void **cluster);
void targe_rbd_shutdown(void *cluster);

/* Opens `pool`/`name_space`/`image` (name_space may be empty). Blocks. */
int targe_rbd_open(void *cluster, const char *pool, const char *name_space, const char *image,
                   void **ioctx, void **handle);
void targe_rbd_close(void *ioctx, void *handle);

int targe_rbd_size(void *handle, uint64_t *size);

/* Completions are signalled on `eventfd` and collected with targe_rbd_poll on the caller's
 * thread, never on librbd's. */
int targe_rbd_notify(void *handle, int eventfd);

/* Asynchronous requests: `tag` comes back from targe_rbd_poll with the result. */
int targe_rbd_readv(void *handle, const struct iovec *iov, int count, uint64_t offset, void *tag);
int targe_rbd_writev(void *handle, const struct iovec *iov, int count, uint64_t offset, void *tag);
int targe_rbd_flush(void *handle, void *tag);
/* Deallocates: the range reads as zeros afterwards (rbd_aio_write_zeroes). */
int targe_rbd_discard(void *handle, uint64_t offset, uint64_t length, void *tag);

/* Whether the byte at `offset` holds data in the image (`mapped`), and how many bytes from
 * it, at most `length`, share that state (`run`): from the image's extents (rbd_diff_iterate2
 * since its creation). Blocks. */
int targe_rbd_allocation(void *handle, uint64_t offset, uint64_t length, int *mapped, uint64_t *run);

/* Watches the image's header (a resize, a new snapshot, a lock change in the cluster):
 * `changed(context)` runs on librbd's thread after each update; it must only hand the news
 * on (the image may not be used from it). rbd_update_unwatch waits for a running call. */
typedef void (*targe_rbd_header_changed)(void *context);
void *targe_rbd_watch(void *handle, targe_rbd_header_changed changed, void *context);
void targe_rbd_unwatch(void *handle, void *watch);

/* Up to `capacity` finished requests: their tags and results (bytes, or -errno). */
int targe_rbd_poll(void *handle, void **tags, ssize_t *results, int capacity);

/* The image's exclusive lock, for gateways that serve one image in turn. Each blocks for a
 * round trip to the cluster (call them off the event loops). */
/* 1 when this client holds the lock, 0 when not, -ESHUTDOWN when it was blocklisted. */
int targe_rbd_is_lock_owner(void *handle);
/* Takes the lock and keeps it until the image is closed (librbd no longer hands it to a
 * client that asks); -EROFS when a live client holds it. */
int targe_rbd_lock_acquire(void *handle);
/* Gives the lock up (another gateway may take it). */
int targe_rbd_lock_release(void *handle);
/* The holder's client address ("IP:PORT/NONCE"); -ENOENT when nobody holds the lock. */
int targe_rbd_lock_owner(void *handle, char *owner, size_t owner_length);
/* Blocklists `owner` (its whole client) and breaks its lock; -EBUSY when the holder changed. */
int targe_rbd_lock_break(void *handle, const char *owner);
/* 1 when the client at `address` still watches the image's header (it is alive), else 0. */
int targe_rbd_is_watching(void *handle, const char *address);
/* Image metadata: the gateway holding the lock writes its name here for the others. */
int targe_rbd_metadata_get(void *handle, const char *key, char *value, size_t value_length);
int targe_rbd_metadata_set(void *handle, const char *key, const char *value);

/* A small object beside the image (the LU's reservations) that every gateway shares: read
 * with its version, replaced only if still at that version (-ERANGE or -EOVERFLOW when another
 * gateway replaced it first), and announced to every gateway's watch, whose `handler` gets the
 * notification's payload on librados' thread. Each call blocks for a round trip. */
typedef void (*targe_rbd_state_changed)(void *context, const void *data, size_t length);
int targe_rbd_state_open(void *cluster, const char *pool, const char *name_space, const char *oid,
                         targe_rbd_state_changed handler, void *context, void **state);
int targe_rbd_state_read(void *state, char *buffer, size_t capacity, uint64_t *version);
int targe_rbd_state_replace(void *state, const char *buffer, size_t length, uint64_t expected, uint64_t *version);
int targe_rbd_state_notify(void *state, const char *buffer, size_t length, int timeout_ms);
/* Watches again after the watch failed (a lost connection); 0 when it is fine. */
int targe_rbd_state_rewatch(void *state);
void targe_rbd_state_close(void *state);

#endif
