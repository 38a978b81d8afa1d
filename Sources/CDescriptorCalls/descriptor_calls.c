#define _GNU_SOURCE
#include "descriptor_calls.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define RESULT(expression) do { long rc_ = (long)(expression); return rc_ < 0 ? -errno : rc_; } while (0)

int psd_epoll_create(void) { RESULT(epoll_create1(EPOLL_CLOEXEC)); }

static int control(int epoll, int operation, int fd, uint32_t events, uint64_t token) {
    struct epoll_event event = { .events = events, .data = { .u64 = token } };
    RESULT(epoll_ctl(epoll, operation, fd, &event));
}

int psd_epoll_add(int epoll, int fd, uint32_t events, uint64_t token) {
    return control(epoll, EPOLL_CTL_ADD, fd, events, token);
}

int psd_epoll_modify(int epoll, int fd, uint32_t events, uint64_t token) {
    return control(epoll, EPOLL_CTL_MOD, fd, events, token);
}

int psd_epoll_remove(int epoll, int fd) { RESULT(epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL)); }

int psd_epoll_wait(int epoll, struct psd_ready_event *ready, int capacity, int timeout_ms) {
    struct epoll_event events[1024];
    if (capacity > 1024) capacity = 1024;
    int count = epoll_wait(epoll, events, capacity, timeout_ms);
    if (count < 0) return -errno;
    for (int index = 0; index < count; index++) {
        ready[index].token = events[index].data.u64;
        ready[index].events = events[index].events;
    }
    return count;
}

int psd_eventfd(void) { RESULT(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)); }

int psd_socketpair(int type, int fds[2]) { RESULT(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds)); }

int psd_pipe(int fds[2]) { RESULT(pipe2(fds, O_CLOEXEC)); }

int psd_set_pipe_size(int fd, int bytes) { RESULT(fcntl(fd, F_SETPIPE_SZ, bytes)); }

int psd_set_nonblocking(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -errno;
    flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    RESULT(fcntl(fd, F_SETFL, flags));
}

int psd_close_range(unsigned int first, unsigned int last) { RESULT(syscall(SYS_close_range, first, last, 0U)); }

int psd_accept(int listener) { RESULT(accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)); }

int psd_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) < 0) return -errno;
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}

int psd_readable_bytes(int fd) {
    int count = 0;
    if (ioctl(fd, FIONREAD, &count) < 0) return -errno;
    return count;
}

ssize_t psd_send(int fd, const void *buffer, size_t length) { RESULT(send(fd, buffer, length, MSG_NOSIGNAL)); }

ssize_t psd_read(int fd, void *buffer, size_t length) { RESULT(read(fd, buffer, length)); }

ssize_t psd_send_with_descriptors(int socket, const void *buffer, size_t length, const int *fds, int count) {
    if (count < 0 || count > PS_MAX_PASSED_DESCRIPTORS) return -EINVAL;
    struct iovec vector = { .iov_base = (void *)buffer, .iov_len = length };
    union { char bytes[CMSG_SPACE(sizeof(int) * PS_MAX_PASSED_DESCRIPTORS)]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof(control));
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    if (count > 0) {
        message.msg_control = control.bytes;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
        memcpy(CMSG_DATA(header), fds, sizeof(int) * (size_t)count);
    }
    RESULT(sendmsg(socket, &message, MSG_NOSIGNAL));
}

ssize_t psd_receive_with_descriptors(int socket, void *buffer, size_t length, int *fds, int capacity, int *count) {
    *count = 0;
    struct iovec vector = { .iov_base = buffer, .iov_len = length };
    union { char bytes[CMSG_SPACE(sizeof(int) * PS_MAX_PASSED_DESCRIPTORS)]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof(control));
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control.bytes;
    message.msg_controllen = sizeof(control.bytes);
    ssize_t received = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    if (received < 0) return -errno;
    int taken = 0;
    int overflow = (message.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        int incoming = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *data = (int *)CMSG_DATA(header);
        for (int index = 0; index < incoming; index++) {
            int fd;
            memcpy(&fd, data + index, sizeof(int));
            if (taken < capacity) fds[taken++] = fd;
            else { close(fd); overflow = 1; }
        }
    }
    if (overflow) {
        for (int index = 0; index < taken; index++) close(fds[index]);
        // Control data cut short although the buffer had room for `capacity` descriptors: the
        // kernel could not install them here, because this process is at its open-file limit.
        int atLimit = (message.msg_flags & MSG_CTRUNC) != 0 && (message.msg_flags & MSG_TRUNC) == 0 && taken < capacity;
        return atLimit ? -EMFILE : -EMSGSIZE;
    }
    *count = taken;
    return received;
}

static int unix_address(const char *path, struct sockaddr_un *address) {
    memset(address, 0, sizeof(*address));
    address->sun_family = AF_UNIX;
    size_t length = strlen(path);
    if (length == 0 || length >= sizeof(address->sun_path)) return -ENAMETOOLONG;
    memcpy(address->sun_path, path, length + 1);
    return 0;
}

int psd_unix_listen(const char *path, unsigned int mode, int backlog) {
    struct sockaddr_un address;
    int rc = unix_address(path, &address);
    if (rc < 0) return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    mode_t previous = umask((mode_t)(~mode & 0777));
    rc = bind(fd, (struct sockaddr *)&address, sizeof(address));
    int saved = errno;
    umask(previous);
    if (rc < 0) { close(fd); return -saved; }
    if (chmod(path, (mode_t)mode) < 0 || listen(fd, backlog) < 0) {
        saved = errno;
        close(fd);
        unlink(path);
        return -saved;
    }
    return fd;
}

int psd_unix_connect(const char *path) {
    struct sockaddr_un address;
    int rc = unix_address(path, &address);
    if (rc < 0) return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    do {
        rc = connect(fd, (struct sockaddr *)&address, sizeof(address));
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) { int saved = errno; close(fd); return -saved; }
    return fd;
}

ssize_t psd_unix_datagram_send(const char *path, const void *buffer, size_t length) {
    struct sockaddr_un address;
    memset(&address, 0, sizeof(address));
    address.sun_family = AF_UNIX;
    size_t path_length = strlen(path);
    if (path_length == 0 || path_length >= sizeof(address.sun_path)) return -ENAMETOOLONG;
    memcpy(address.sun_path, path, path_length);
    /* A leading '@' names an abstract socket: its first byte is NUL and its length is exact. */
    if (path[0] == '@') address.sun_path[0] = 0;
    socklen_t address_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_length);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    ssize_t sent;
    do {
        sent = sendto(fd, buffer, length, MSG_NOSIGNAL, (struct sockaddr *)&address, address_length);
    } while (sent < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    return sent < 0 ? -saved : sent;
}

long long psd_inode(const char *path) {
    struct stat status;
    if (stat(path, &status) < 0) return -errno;
    return (long long)status.st_ino;
}

long long psd_descriptor_inode(int fd) {
    struct stat status;
    if (fstat(fd, &status) < 0) return -errno;
    return (long long)status.st_ino;
}

void psd_line_buffer_stdio(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    setvbuf(stderr, NULL, _IONBF, 0);
}

long long psd_raise_open_file_limit(unsigned long long wanted) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0) return -errno;
    if (wanted > limit.rlim_max) {
        struct rlimit raised = { .rlim_cur = wanted, .rlim_max = wanted };
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return (long long)wanted;
    }
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) < 0) return -errno;
    }
    return (long long)limit.rlim_cur;
}
