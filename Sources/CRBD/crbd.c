#include "crbd.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rados/librados.h>
#include <rbd/librbd.h>

/* One pointer per function, typed from the headers, so a signature mismatch fails the build. */
#define TARGE_RBD_FUNCTIONS(X) \
    X(rados_create2) X(rados_conf_read_file) X(rados_conf_set) X(rados_connect) X(rados_shutdown) \
    X(rados_ioctx_create) X(rados_ioctx_destroy) X(rados_ioctx_set_namespace) \
    X(rbd_open) X(rbd_close) X(rbd_get_size) X(rbd_set_image_notification) \
    X(rbd_poll_io_events) X(rbd_aio_create_completion) X(rbd_aio_get_return_value) X(rbd_aio_get_arg) \
    X(rbd_aio_release) X(rbd_aio_readv) X(rbd_aio_writev) X(rbd_aio_flush) X(rbd_aio_write_zeroes) \
    X(rbd_update_watch) X(rbd_update_unwatch) X(rbd_diff_iterate2) \
    X(rbd_is_exclusive_lock_owner) X(rbd_lock_acquire) X(rbd_lock_release) X(rbd_lock_get_owners) X(rbd_lock_get_owners_cleanup) \
    X(rbd_lock_break) X(rbd_watchers_list) X(rbd_watchers_list_cleanup) X(rbd_metadata_get) X(rbd_metadata_set) \
    X(rados_read) X(rados_get_last_version) X(rados_create_write_op) X(rados_release_write_op) \
    X(rados_write_op_create) X(rados_write_op_assert_version) X(rados_write_op_write_full) X(rados_write_op_operate) \
    X(rados_watch2) X(rados_unwatch2) X(rados_watch_flush) X(rados_notify2) X(rados_notify_ack) X(rados_buffer_free)

#define TARGE_DECLARE(name) static __typeof__(&name) p_##name;
TARGE_RBD_FUNCTIONS(TARGE_DECLARE)

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[512];
static int loaded;

static void load(void) {
    /* librados first: librbd needs it, and a missing one names the right package. */
    void *rados = dlopen("librados.so.2", RTLD_NOW | RTLD_GLOBAL);
    void *rbd = rados ? dlopen("librbd.so.1", RTLD_NOW | RTLD_GLOBAL) : NULL;
    if (!rados || !rbd) {
        snprintf(load_error, sizeof load_error, "%s (install Debian's librbd1)", dlerror());
        return;
    }
#define TARGE_RESOLVE(name) \
    p_##name = (__typeof__(&name))dlsym(rbd, #name); \
    if (!p_##name) { snprintf(load_error, sizeof load_error, "%s", dlerror()); return; }
    TARGE_RBD_FUNCTIONS(TARGE_RESOLVE)
    loaded = 1;
}

int targe_rbd_load(char *error, size_t error_length) {
    pthread_once(&load_once, load);
    if (loaded) return 0;
    if (error && error_length) snprintf(error, error_length, "%s", load_error);
    return -1;
}

int targe_rbd_connect(const char *conf, const char *id, int timeout_seconds, void **cluster) {
    rados_t c;
    char name[128];
    snprintf(name, sizeof name, "client.%s", id);
    int r = p_rados_create2(&c, "ceph", name, 0);
    if (r < 0) return r;
    r = p_rados_conf_read_file(c, conf);
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", timeout_seconds);
    const char *keys[] = { "client_mount_timeout", "rados_mon_op_timeout", "rados_osd_op_timeout" };
    for (size_t i = 0; r >= 0 && i < sizeof keys / sizeof keys[0]; i++) r = p_rados_conf_set(c, keys[i], timeout);
    if (r >= 0) r = p_rados_connect(c);
    if (r < 0) {
        p_rados_shutdown(c);
        return r;
    }
    *cluster = c;
    return 0;
}

void targe_rbd_shutdown(void *cluster) {
    p_rados_shutdown((rados_t)cluster);
}

int targe_rbd_open(void *cluster, const char *pool, const char *name_space, const char *image,
                   void **ioctx, void **handle) {
    rados_ioctx_t io;
    int r = p_rados_ioctx_create((rados_t)cluster, pool, &io);
    if (r < 0) return r;
    p_rados_ioctx_set_namespace(io, name_space);
    rbd_image_t img;
    r = p_rbd_open(io, image, &img, NULL);
    if (r < 0) {
        p_rados_ioctx_destroy(io);
        return r;
    }
    *ioctx = io;
    *handle = img;
    return 0;
}

void targe_rbd_close(void *ioctx, void *handle) {
    p_rbd_close((rbd_image_t)handle);
    p_rados_ioctx_destroy((rados_ioctx_t)ioctx);
}

int targe_rbd_size(void *handle, uint64_t *size) {
    return p_rbd_get_size((rbd_image_t)handle, size);
}


int targe_rbd_notify(void *handle, int eventfd) {
    return p_rbd_set_image_notification((rbd_image_t)handle, eventfd, EVENT_TYPE_EVENTFD);
}

/* A completion without a callback: with the image's notification set, librbd queues it
 * for rbd_poll_io_events and signals the eventfd. */
static int completion(void *tag, rbd_completion_t *c) {
    return p_rbd_aio_create_completion(tag, NULL, c);
}

#define TARGE_SUBMIT(call) \
    rbd_completion_t c; \
    int r = completion(tag, &c); \
    if (r < 0) return r; \
    r = (call); \
    if (r < 0) p_rbd_aio_release(c); \
    return r < 0 ? r : 0;

int targe_rbd_readv(void *handle, const struct iovec *iov, int count, uint64_t offset, void *tag) {
    TARGE_SUBMIT(p_rbd_aio_readv((rbd_image_t)handle, iov, count, offset, c))
}

int targe_rbd_writev(void *handle, const struct iovec *iov, int count, uint64_t offset, void *tag) {
    TARGE_SUBMIT(p_rbd_aio_writev((rbd_image_t)handle, iov, count, offset, c))
}

int targe_rbd_flush(void *handle, void *tag) {
    TARGE_SUBMIT(p_rbd_aio_flush((rbd_image_t)handle, c))
}

/* Not rbd_aio_discard: librbd skips discards that do not cover whole objects (and those
 * blocks keep their data), while an unmapped block must read as zeros (LBPRZ). Writing zeros
 * deallocates whole objects and zeroes the rest. */
int targe_rbd_discard(void *handle, uint64_t offset, uint64_t length, void *tag) {
    TARGE_SUBMIT(p_rbd_aio_write_zeroes((rbd_image_t)handle, offset, length, c, 0, 0))
}

struct targe_rbd_watch {
    targe_rbd_header_changed changed;
    void *context;
    uint64_t handle;
};

static void header_updated(void *arg) {
    struct targe_rbd_watch *watch = arg;
    watch->changed(watch->context);
}

void *targe_rbd_watch(void *handle, targe_rbd_header_changed changed, void *context) {
    struct targe_rbd_watch *watch = calloc(1, sizeof *watch);
    if (!watch) return NULL;
    watch->changed = changed;
    watch->context = context;
    if (p_rbd_update_watch((rbd_image_t)handle, &watch->handle, header_updated, watch) < 0) {
        free(watch);
        return NULL;
    }
    return watch;
}

void targe_rbd_unwatch(void *handle, void *watch) {
    if (!watch) return;
    p_rbd_update_unwatch((rbd_image_t)handle, ((struct targe_rbd_watch *)watch)->handle);
    free(watch);
}

int targe_rbd_poll(void *handle, void **tags, ssize_t *results, int capacity) {
    rbd_completion_t done[64];
    if (capacity > 64) capacity = 64;
    int n = p_rbd_poll_io_events((rbd_image_t)handle, done, capacity);
    for (int i = 0; i < n; i++) {
        tags[i] = p_rbd_aio_get_arg(done[i]);
        results[i] = p_rbd_aio_get_return_value(done[i]);
        p_rbd_aio_release(done[i]);
    }
    return n;
}

int targe_rbd_is_lock_owner(void *handle) {
    int owner = 0;
    int r = p_rbd_is_exclusive_lock_owner((rbd_image_t)handle, &owner);
    return r < 0 ? r : (owner ? 1 : 0);
}

int targe_rbd_lock_acquire(void *handle) {
    return p_rbd_lock_acquire((rbd_image_t)handle, RBD_LOCK_MODE_EXCLUSIVE);
}

int targe_rbd_lock_release(void *handle) {
    return p_rbd_lock_release((rbd_image_t)handle);
}

int targe_rbd_lock_owner(void *handle, char *owner, size_t owner_length) {
    rbd_lock_mode_t mode;
    char *owners[4];
    size_t count = 4;
    int r = p_rbd_lock_get_owners((rbd_image_t)handle, &mode, owners, &count);
    if (r < 0) return r;
    if (count == 0) return -ENOENT;
    snprintf(owner, owner_length, "%s", owners[0]);
    p_rbd_lock_get_owners_cleanup(owners, count);
    return 0;
}

int targe_rbd_lock_break(void *handle, const char *owner) {
    return p_rbd_lock_break((rbd_image_t)handle, RBD_LOCK_MODE_EXCLUSIVE, owner);
}

int targe_rbd_is_watching(void *handle, const char *address) {
    size_t count = 16;
    rbd_image_watcher_t *watchers = NULL;
    int r;
    for (;;) {
        watchers = calloc(count, sizeof *watchers);
        if (!watchers) return -ENOMEM;
        size_t wanted = count;
        r = p_rbd_watchers_list((rbd_image_t)handle, watchers, &wanted);
        if (r == -ERANGE && wanted > count && wanted < 65536) {
            free(watchers);
            count = wanted;
            continue;
        }
        if (r < 0) {
            free(watchers);
            return r;
        }
        count = wanted;
        break;
    }
    int found = 0;
    for (size_t i = 0; i < count; i++) {
        if (watchers[i].addr && strcmp(watchers[i].addr, address) == 0) found = 1;
    }
    p_rbd_watchers_list_cleanup(watchers, count);
    free(watchers);
    return found;
}

int targe_rbd_metadata_get(void *handle, const char *key, char *value, size_t value_length) {
    memset(value, 0, value_length);
    size_t length = value_length - 1;  /* librbd does not terminate the copy */
    return p_rbd_metadata_get((rbd_image_t)handle, key, value, &length);
}

int targe_rbd_metadata_set(void *handle, const char *key, const char *value) {
    return p_rbd_metadata_set((rbd_image_t)handle, key, value);
}

/* A small object beside an image that every gateway reads, replaces with compare-and-swap
 * (the object's version) and hears about (watch/notify, the new contents in the payload). */
struct targe_rbd_state {
    rados_t cluster;
    rados_ioctx_t io;
    char oid[256];
    uint64_t cookie;
    int watching;
    int broken;
    targe_rbd_state_changed handler;
    void *context;
};

static void state_notified(void *arg, uint64_t notify_id, uint64_t handle, uint64_t notifier_id, void *data,
                           size_t length) {
    (void)notifier_id;
    struct targe_rbd_state *state = arg;
    if (state->handler && data && length > 0) state->handler(state->context, data, length);
    p_rados_notify_ack(state->io, state->oid, notify_id, handle, NULL, 0);
}

static void state_watch_failed(void *arg, uint64_t cookie, int error) {
    (void)cookie; (void)error;
    __atomic_store_n(&((struct targe_rbd_state *)arg)->broken, 1, __ATOMIC_RELEASE);
}

static int state_watch(struct targe_rbd_state *state) {
    int r = p_rados_watch2(state->io, state->oid, &state->cookie, state_notified, state_watch_failed, state);
    if (r == 0) {
        state->watching = 1;
        __atomic_store_n(&state->broken, 0, __ATOMIC_RELEASE);
    }
    return r;
}

int targe_rbd_state_open(void *cluster, const char *pool, const char *name_space, const char *oid,
                         targe_rbd_state_changed handler, void *context, void **out) {
    struct targe_rbd_state *state = calloc(1, sizeof *state);
    if (!state) return -ENOMEM;
    state->cluster = (rados_t)cluster;
    state->handler = handler;
    state->context = context;
    snprintf(state->oid, sizeof state->oid, "%s", oid);
    int r = p_rados_ioctx_create((rados_t)cluster, pool, &state->io);
    if (r < 0) {
        free(state);
        return r;
    }
    p_rados_ioctx_set_namespace(state->io, name_space);
    /* Exists afterwards (a watch needs an object); its contents, if any, stay. */
    rados_write_op_t op = p_rados_create_write_op();
    p_rados_write_op_create(op, LIBRADOS_CREATE_IDEMPOTENT, NULL);
    r = p_rados_write_op_operate(op, state->io, state->oid, NULL, 0);
    p_rados_release_write_op(op);
    if (r == 0) r = state_watch(state);
    if (r < 0) {
        p_rados_ioctx_destroy(state->io);
        free(state);
        return r;
    }
    *out = state;
    return 0;
}

int targe_rbd_state_read(void *handle, char *buffer, size_t capacity, uint64_t *version) {
    struct targe_rbd_state *state = handle;
    int r = p_rados_read(state->io, state->oid, buffer, capacity, 0);
    if (r >= 0) *version = p_rados_get_last_version(state->io);
    return r;
}

int targe_rbd_state_replace(void *handle, const char *buffer, size_t length, uint64_t expected, uint64_t *version) {
    struct targe_rbd_state *state = handle;
    rados_write_op_t op = p_rados_create_write_op();
    p_rados_write_op_assert_version(op, expected);
    p_rados_write_op_write_full(op, buffer, length);
    int r = p_rados_write_op_operate(op, state->io, state->oid, NULL, 0);
    p_rados_release_write_op(op);
    if (r == 0) *version = p_rados_get_last_version(state->io);
    return r;
}

int targe_rbd_state_notify(void *handle, const char *buffer, size_t length, int timeout_ms) {
    struct targe_rbd_state *state = handle;
    char *reply = NULL;
    size_t reply_length = 0;
    int r = p_rados_notify2(state->io, state->oid, buffer, length, (uint64_t)timeout_ms, &reply, &reply_length);
    if (reply) p_rados_buffer_free(reply);
    return r;
}

int targe_rbd_state_rewatch(void *handle) {
    struct targe_rbd_state *state = handle;
    if (!__atomic_load_n(&state->broken, __ATOMIC_ACQUIRE)) return 0;
    if (state->watching) p_rados_unwatch2(state->io, state->cookie);
    state->watching = 0;
    return state_watch(state);
}

void targe_rbd_state_close(void *handle) {
    struct targe_rbd_state *state = handle;
    if (state->watching) p_rados_unwatch2(state->io, state->cookie);
    p_rados_watch_flush(state->cluster);  /* no callback runs after this */
    p_rados_ioctx_destroy(state->io);
    free(state);
}

struct allocation_walk {
    uint64_t start;
    uint64_t end;
    int found;         /* the first allocated extent at or after start */
    uint64_t first;    /* its start */
    uint64_t last;     /* where it ends (merged with touching ones) */
};

static int allocated_extent(uint64_t offset, size_t length, int exists, void *arg) {
    struct allocation_walk *walk = arg;
    if (!exists) return 0;
    if (!walk->found) {
        walk->found = 1;
        walk->first = offset;
        walk->last = offset + length;
        return 0;
    }
    if (offset <= walk->last) {
        if (offset + length > walk->last) walk->last = offset + length;
        return 0;
    }
    return -ECANCELED;  /* a gap: the run from `start` is known */
}

int targe_rbd_allocation(void *handle, uint64_t offset, uint64_t length, int *mapped, uint64_t *run) {
    struct allocation_walk walk = { offset, offset + length, 0, 0, 0 };
    int r = p_rbd_diff_iterate2((rbd_image_t)handle, NULL, offset, length, 1, 0, allocated_extent, &walk);
    if (r < 0 && r != -ECANCELED) return r;
    if (!walk.found || walk.first >= walk.end) {
        *mapped = 0;
        *run = length;
    } else if (walk.first > offset) {
        *mapped = 0;
        *run = walk.first - offset;
    } else {
        *mapped = 1;
        *run = (walk.last < walk.end ? walk.last : walk.end) - offset;
    }
    return 0;
}
