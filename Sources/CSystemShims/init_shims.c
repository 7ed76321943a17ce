#define _GNU_SOURCE
#include "csystemshims_init.h"
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int targe_mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data) {
    return mount(source, target, fstype, flags, data);
}
int targe_umount(const char *target, int flags) { return umount2(target, flags); }
unsigned long targe_ms_nosuid(void) { return MS_NOSUID; }
unsigned long targe_ms_nodev(void) { return MS_NODEV; }
unsigned long targe_ms_noexec(void) { return MS_NOEXEC; }
unsigned long targe_ms_noatime(void) { return MS_NOATIME; }
unsigned long targe_ms_relatime(void) { return MS_RELATIME; }
int targe_mnt_detach(void) { return MNT_DETACH; }
unsigned long targe_ms_remount_readonly(void) { return MS_REMOUNT | MS_RDONLY; }

int targe_power_off(void) { return reboot(RB_POWER_OFF); }
int targe_restart(void) { return reboot(RB_AUTOBOOT); }
int targe_ctrl_alt_del_signals(void) { return reboot(RB_DISABLE_CAD); }

int targe_finit_module(int fd) { return (int)syscall(SYS_finit_module, fd, "", 0); }

int targe_sethostname(const char *name, size_t len) { return sethostname(name, len); }

int targe_signalfd(const sigset_t *signals) { return signalfd(-1, signals, SFD_NONBLOCK | SFD_CLOEXEC); }

int targe_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n < 0) return errno == EAGAIN ? 0 : -1;
    if (n != sizeof info) { errno = EIO; return -1; }
    return (int)info.ssi_signo;
}

int targe_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

static int inet_socket(void) { return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); }

static void fill_name(struct ifreq *req, const char *ifname) {
    memset(req, 0, sizeof *req);
    strncpy(req->ifr_name, ifname, IFNAMSIZ - 1);
}

static void fill_ipv4(struct sockaddr *addr, uint32_t host_order) {
    struct sockaddr_in *in = (struct sockaddr_in *)addr;
    memset(in, 0, sizeof *in);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(host_order);
}

/// Runs `request` on a fresh socket, keeping the ioctl's errno across close().
static int inet_ioctl(unsigned long request, void *arg) {
    int sock = inet_socket();
    if (sock < 0) return -1;
    int rc = ioctl(sock, request, arg);
    int saved = errno;
    close(sock);
    errno = saved;
    return rc;
}

int targe_if_set_up(const char *ifname) {
    struct ifreq req;
    fill_name(&req, ifname);
    if (inet_ioctl(SIOCGIFFLAGS, &req) != 0) return -1;
    req.ifr_flags |= IFF_UP | IFF_RUNNING;
    return inet_ioctl(SIOCSIFFLAGS, &req);
}

int targe_if_set_ipv4(const char *ifname, uint32_t address, uint32_t netmask) {
    struct ifreq req;
    fill_name(&req, ifname);
    fill_ipv4(&req.ifr_addr, address);
    if (inet_ioctl(SIOCSIFADDR, &req) != 0) return -1;
    fill_name(&req, ifname);
    fill_ipv4(&req.ifr_netmask, netmask);
    return inet_ioctl(SIOCSIFNETMASK, &req);
}

int targe_add_default_route(uint32_t gateway) {
    struct rtentry route;
    memset(&route, 0, sizeof route);
    fill_ipv4(&route.rt_dst, 0);
    fill_ipv4(&route.rt_genmask, 0);
    fill_ipv4(&route.rt_gateway, gateway);
    route.rt_flags = RTF_UP | RTF_GATEWAY;
    return inet_ioctl(SIOCADDRT, &route);
}

int targe_dhcp_socket(const char *ifname) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    int one = 1;
    struct sockaddr_in local;
    memset(&local, 0, sizeof local);
    local.sin_family = AF_INET;
    local.sin_port = htons(68);
    local.sin_addr.s_addr = htonl(INADDR_ANY);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0
        || setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) != 0
        || setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) != 0
        || bind(fd, (struct sockaddr *)&local, sizeof local) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

ssize_t targe_dhcp_broadcast(int fd, const void *buf, size_t len) {
    struct sockaddr_in server;
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    server.sin_port = htons(67);
    server.sin_addr.s_addr = htonl(INADDR_BROADCAST);
    return sendto(fd, buf, len, 0, (struct sockaddr *)&server, sizeof server);
}
