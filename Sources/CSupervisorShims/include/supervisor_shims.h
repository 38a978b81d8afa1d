// Linux calls the supervisor's reactor and control socket need that Swift's Glibc module does
// not import (epoll, eventfd, accept4, SO_PEERCRED, MSG_NOSIGNAL). Declared here with plain
// types only, so this module never redefines what the system modules define.
#ifndef PLUGINSANDBOX_SUPERVISOR_SHIMS_H
#define PLUGINSANDBOX_SUPERVISOR_SHIMS_H

#include <stddef.h>
#include <stdint.h>

/// epoll_create1(EPOLL_CLOEXEC).
int ps_epoll_create(void);
/// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK).
int ps_eventfd(void);
/// Adds `fd` with `events`, reporting `token` back.
int ps_epoll_add(int epoll, int fd, uint32_t events, uint64_t token);
/// Changes the events of `fd`.
int ps_epoll_modify(int epoll, int fd, uint32_t events, uint64_t token);
/// Removes `fd`.
int ps_epoll_remove(int epoll, int fd);
/// Waits for up to `capacity` (at most 256) events, unpacking them into tokens and masks.
int ps_epoll_wait(int epoll, uint64_t *tokens, uint32_t *events, int capacity, int timeout);
/// accept4 with SOCK_CLOEXEC | SOCK_NONBLOCK.
int ps_accept(int listener);
/// SO_PEERCRED of a connected Unix socket.
int ps_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid);
/// send(2) with MSG_NOSIGNAL, so a dead peer is an EPIPE, never a SIGPIPE.
long ps_send(int fd, const void *buffer, size_t length);

#endif
