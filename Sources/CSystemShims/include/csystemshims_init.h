#ifndef CSYSTEMSHIMS_INIT_H
#define CSYSTEMSHIMS_INIT_H
#include <stdint.h>
#include <sys/types.h>
#include <signal.h>

/// What PID 1 needs from the kernel that Swift's Glibc module does not expose directly
/// (raw syscalls, ioctls with kernel structs, signalfd). Each returns -1 with errno set on
/// failure, like the call it wraps.

int targe_mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data);
int targe_umount(const char *target, int flags);
unsigned long targe_ms_nosuid(void);
unsigned long targe_ms_nodev(void);
unsigned long targe_ms_noexec(void);
unsigned long targe_ms_noatime(void);
unsigned long targe_ms_relatime(void);
int targe_mnt_detach(void);
/// MS_REMOUNT | MS_RDONLY, for a busy filesystem at shutdown.
unsigned long targe_ms_remount_readonly(void);

/// reboot(2) with LINUX_REBOOT_CMD_POWER_OFF or LINUX_REBOOT_CMD_RESTART.
int targe_power_off(void);
int targe_restart(void);
/// Ctrl-Alt-Del sends SIGINT to PID 1 instead of rebooting at once.
int targe_ctrl_alt_del_signals(void);

/// finit_module(2) with no parameters.
int targe_finit_module(int fd);

int targe_sethostname(const char *name, size_t len);

/// A signalfd for `signals` (which the caller has blocked), non-blocking and close-on-exec.
int targe_signalfd(const sigset_t *signals);
/// Reads one signalfd_siginfo; returns the signal number, 0 when none is pending, -1 on error.
int targe_signalfd_read(int fd);

/// An eventfd, non-blocking and close-on-exec, for waking a poll loop from another thread.
int targe_eventfd(void);

/// Interface configuration through SIOCSIF* / SIOCADDRT on an AF_INET datagram socket.
/// Addresses are IPv4 in host byte order.
int targe_if_set_up(const char *ifname);
int targe_if_set_ipv4(const char *ifname, uint32_t address, uint32_t netmask);
int targe_add_default_route(uint32_t gateway);

/// A UDP socket for a DHCP client on `ifname`: bound to 0.0.0.0:68 and to the device, able
/// to broadcast, non-blocking. Works before the interface has an address.
int targe_dhcp_socket(const char *ifname);
/// Sends `len` bytes to 255.255.255.255:67 (the DHCP servers on the bound interface).
ssize_t targe_dhcp_broadcast(int fd, const void *buf, size_t len);
#endif
