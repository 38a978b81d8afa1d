// Descriptor-level Linux calls that Swift's Glibc module does not import or cannot express
// (epoll, eventfd, accept4, SO_PEERCRED, MSG_NOSIGNAL, SCM_RIGHTS control messages, pipe sizes).
// Plain C types only, so this module never redefines what the system modules define.
// Every function returns its result, or -errno on failure (never -1 with errno).
#ifndef PLUGINSANDBOX_DESCRIPTOR_CALLS_H
#define PLUGINSANDBOX_DESCRIPTOR_CALLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// The most descriptors one message may carry (SCM_RIGHTS).
#define PS_MAX_PASSED_DESCRIPTORS 8

/// Readiness bits, as epoll reports them.
#define PS_EVENT_READABLE 0x001u
#define PS_EVENT_WRITABLE 0x004u
#define PS_EVENT_ERROR 0x008u
#define PS_EVENT_HANGUP 0x010u
#define PS_EVENT_READ_HANGUP 0x2000u

/// One readiness event: the registration's token and what is ready.
struct psd_ready_event {
    uint64_t token;
    uint32_t events;
};

/// epoll_create1(EPOLL_CLOEXEC).
int psd_epoll_create(void);
/// epoll_ctl(ADD) of `fd` for `events` (level-triggered), reporting `token`.
int psd_epoll_add(int epoll, int fd, uint32_t events, uint64_t token);
/// epoll_ctl(MOD).
int psd_epoll_modify(int epoll, int fd, uint32_t events, uint64_t token);
/// epoll_ctl(DEL).
int psd_epoll_remove(int epoll, int fd);
/// epoll_wait into `ready` (at most `capacity`, capped at 1024); `timeout_ms` < 0 waits forever.
int psd_epoll_wait(int epoll, struct psd_ready_event *ready, int capacity, int timeout_ms);

/// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK).
int psd_eventfd(void);

/// socketpair(AF_UNIX, type | SOCK_CLOEXEC) into fds[2].
int psd_socketpair(int type, int fds[2]);
/// pipe2(fds, O_CLOEXEC).
int psd_pipe(int fds[2]);
/// fcntl(F_SETPIPE_SZ); returns the size the kernel set.
int psd_set_pipe_size(int fd, int bytes);
/// Sets or clears O_NONBLOCK.
int psd_set_nonblocking(int fd, int on);
/// close_range(first, last, 0).
int psd_close_range(unsigned int first, unsigned int last);

/// A Unix stream socket bound to `path` (mode `mode`, set through the umask while binding) and
/// listening, close-on-exec and non-blocking. -ENAMETOOLONG for a path that does not fit.
int psd_unix_listen(const char *path, unsigned int mode, int backlog);
/// A Unix stream socket connected to `path` (blocking, close-on-exec).
int psd_unix_connect(const char *path);
/// Sends one datagram to the Unix datagram socket at `path` (`@name`: an abstract socket) from a
/// fresh unbound socket; returns the bytes sent or -errno.
ssize_t psd_unix_datagram_send(const char *path, const void *buffer, size_t length);
/// The inode of the file at `path` (0 with -errno when it cannot be read).
long long psd_inode(const char *path);
/// The inode of the file `fd` refers to.
long long psd_descriptor_inode(int fd);
/// accept4 with SOCK_CLOEXEC | SOCK_NONBLOCK.
int psd_accept(int listener);
/// SO_PEERCRED of a connected Unix socket.
int psd_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid);
/// Bytes waiting to be read (FIONREAD).
int psd_readable_bytes(int fd);

/// send(2) with MSG_NOSIGNAL: a dead peer is EPIPE, never SIGPIPE.
ssize_t psd_send(int fd, const void *buffer, size_t length);
/// read(2).
ssize_t psd_read(int fd, void *buffer, size_t length);

/// Sends one message with up to PS_MAX_PASSED_DESCRIPTORS descriptors attached, MSG_NOSIGNAL.
ssize_t psd_send_with_descriptors(int socket, const void *buffer, size_t length, const int *fds, int count);
/// Receives one message and up to `capacity` descriptors (close-on-exec). Sets *count. A truncated
/// message or more descriptors than `capacity` closes every received descriptor and returns -EMSGSIZE;
/// descriptors the kernel could not install (this process at its open-file limit) return -EMFILE.
ssize_t psd_receive_with_descriptors(int socket, void *buffer, size_t length, int *fds, int capacity, int *count);

/// Raises this process's open-file limit: the soft limit to the hard one, and (with privilege)
/// both to `wanted` when that is higher. Returns the soft limit now in force, or -errno.
long long psd_raise_open_file_limit(unsigned long long wanted);
/// stdout line-buffered and stderr unbuffered (a worker's output reaches its log as it is printed).
void psd_line_buffer_stdio(void);

#endif
