#ifndef TARGE_CLIBCAP_SHIM_H
#define TARGE_CLIBCAP_SHIM_H
#include <sys/capability.h>
#include <sys/prctl.h>
#include <errno.h>
#include <stddef.h>
#include <sys/types.h>

/* prctl is variadic, which Swift cannot call: small fixed-arity wrappers. */
static inline int targe_capbset_drop(int cap) { return prctl(PR_CAPBSET_DROP, cap, 0, 0, 0); }
static inline int targe_capbset_read(int cap) { return prctl(PR_CAPBSET_READ, cap, 0, 0, 0); }
static inline int targe_ambient_clear_all(void) { return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); }
static inline int targe_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
static inline int targe_get_no_new_privs(void) { return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); }
/* Empties every capability set of the calling thread (effective, permitted, inheritable). */
static inline int targe_clear_process_caps(void) {
    cap_t caps = cap_init();
    if (caps == NULL) return -1;
    int rc = cap_set_proc(caps);
    int saved = errno;
    cap_free(caps);
    errno = saved;
    return rc;
}
/* Keeps only the capabilities to open any file (DAC override and search) and to bind a
 * portal below 1024 that a reload adds, for the privileged helper: effective and
 * permitted, nothing inheritable. */
static inline int targe_keep_only_file_access_caps(void) {
    cap_t caps = cap_from_text("cap_dac_override,cap_dac_read_search,cap_net_bind_service=ep");
    if (caps == NULL) return -1;
    int rc = cap_set_proc(caps);
    int saved = errno;
    cap_free(caps);
    errno = saved;
    return rc;
}
static inline int targe_cap_dac_override(void) { return CAP_DAC_OVERRIDE; }
static inline int targe_cap_dac_read_search(void) { return CAP_DAC_READ_SEARCH; }
static inline int targe_cap_net_bind_service(void) { return CAP_NET_BIND_SERVICE; }

/* setres[ug]id need _GNU_SOURCE, which Swift's Glibc module does not define. */
int setresuid(uid_t ruid, uid_t euid, uid_t suid);
int setresgid(gid_t rgid, gid_t egid, gid_t sgid);
static inline int targe_setresuid(uid_t id) { return setresuid(id, id, id); }
static inline int targe_setresgid(gid_t id) { return setresgid(id, id, id); }
#endif
