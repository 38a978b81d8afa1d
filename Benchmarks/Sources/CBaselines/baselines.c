#define _GNU_SOURCE
#include "CBaselines.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int read_full(int fd, void *buffer, size_t length) {
    size_t done = 0;
    while (done < length) {
        ssize_t n = read(fd, (char *)buffer + done, length - done);
        if (n <= 0) { if (n < 0 && errno == EINTR) continue; return -1; }
        done += (size_t)n;
    }
    return 0;
}

static int write_full(int fd, const void *buffer, size_t length) {
    size_t done = 0;
    while (done < length) {
        ssize_t n = write(fd, (const char *)buffer + done, length - done);
        if (n <= 0) { if (n < 0 && errno == EINTR) continue; return -1; }
        done += (size_t)n;
    }
    return 0;
}

/// Reads one frame (4-byte big-endian length + body) into buffer; returns its total size.
static int read_frame(int fd, char *buffer, size_t capacity) {
    unsigned char header[4];
    if (read_full(fd, header, 4) != 0) return -1;
    size_t length = ((size_t)header[0] << 24) | ((size_t)header[1] << 16) | ((size_t)header[2] << 8) | header[3];
    if (length + 4 > capacity) return -1;
    memcpy(buffer, header, 4);
    if (read_full(fd, buffer + 4, length) != 0) return -1;
    return (int)(length + 4);
}

static void make_frame(char *frame, int size) {
    frame[0] = (char)((size >> 24) & 0xff);
    frame[1] = (char)((size >> 16) & 0xff);
    frame[2] = (char)((size >> 8) & 0xff);
    frame[3] = (char)(size & 0xff);
    memset(frame + 4, 'x', (size_t)size);
}

int cb_pingpong(int iterations, int size, uint64_t *samples) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return -errno;
    size_t capacity = (size_t)size + 4;
    char *frame = malloc(capacity), *echo = malloc(capacity);
    make_frame(frame, size);
    pid_t child = fork();
    if (child < 0) return -errno;
    if (child == 0) {
        close(fds[0]);
        for (;;) {
            int n = read_frame(fds[1], echo, capacity);
            if (n < 0 || write_full(fds[1], echo, (size_t)n) != 0) _exit(0);
        }
    }
    close(fds[1]);
    int result = 0;
    for (int i = 0; i < iterations; i++) {
        uint64_t start = now_ns();
        if (write_full(fds[0], frame, capacity) != 0 || read_frame(fds[0], echo, capacity) < 0) { result = -EIO; break; }
        samples[i] = now_ns() - start;
    }
    close(fds[0]);
    waitpid(child, NULL, 0);
    free(frame);
    free(echo);
    return result;
}

int cb_broadcast(int readers, int rounds, int size, uint64_t *samples) {
    int *ends = calloc((size_t)readers, sizeof(int));
    pid_t *children = calloc((size_t)readers, sizeof(pid_t));
    struct pollfd *polls = calloc((size_t)readers, sizeof(struct pollfd));
    size_t capacity = (size_t)size + 4;
    char *frame = malloc(capacity), *buffer = malloc(capacity);
    make_frame(frame, size);
    char ack[8];
    make_frame(ack, 4);
    int result = 0, started = 0;
    for (int r = 0; r < readers; r++) {
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) { result = -errno; break; }
        pid_t child = fork();
        if (child < 0) { result = -errno; close(fds[0]); close(fds[1]); break; }
        if (child == 0) {
            close(fds[0]);
            for (;;) {
                if (read_frame(fds[1], buffer, capacity) < 0 || write_full(fds[1], ack, 8) != 0) _exit(0);
            }
        }
        close(fds[1]);
        ends[r] = fds[0];
        children[r] = child;
        started++;
    }
    for (int round = 0; round < rounds && result == 0; round++) {
        uint64_t start = now_ns();
        for (int r = 0; r < started; r++) {
            if (write_full(ends[r], frame, capacity) != 0) { result = -EIO; break; }
        }
        for (int r = 0; r < started && result == 0; r++) {
            if (read_full(ends[r], buffer, 8) != 0) result = -EIO;
        }
        samples[round] = now_ns() - start;
    }
    for (int r = 0; r < started; r++) close(ends[r]);
    for (int r = 0; r < started; r++) waitpid(children[r], NULL, 0);
    free(ends); free(children); free(polls); free(frame); free(buffer);
    return result;
}

int cb_pidfd_death(int iterations, uint64_t *samples) {
    for (int i = 0; i < iterations; i++) {
        pid_t child = fork();
        if (child < 0) return -errno;
        if (child == 0) { for (;;) pause(); }
        int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
        if (pidfd < 0) { kill(child, SIGKILL); waitpid(child, NULL, 0); return -errno; }
        struct pollfd poll_fd = { .fd = pidfd, .events = POLLIN };
        uint64_t start = now_ns();
        kill(child, SIGKILL);
        while (poll(&poll_fd, 1, -1) < 0 && errno == EINTR) {}
        samples[i] = now_ns() - start;
        waitpid(child, NULL, 0);
        close(pidfd);
    }
    return 0;
}

int cb_spawn(const char *path, const char *const *argv, int iterations, uint64_t *samples) {
    for (int i = 0; i < iterations; i++) {
        pid_t child;
        uint64_t start = now_ns();
        int error = posix_spawn(&child, path, NULL, NULL, (char *const *)argv, environ);
        if (error != 0) return -error;
        int status;
        waitpid(child, &status, 0);
        samples[i] = now_ns() - start;
    }
    return 0;
}

int cb_hogs_start(int count, int *pids) {
    for (int i = 0; i < count; i++) {
        pid_t child = fork();
        if (child < 0) { int error = errno; cb_hogs_stop(i, pids); return -error; }
        if (child == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            volatile uint64_t spin = 0;
            for (;;) spin++;
        }
        pids[i] = child;
    }
    return 0;
}

void cb_hogs_stop(int count, const int *pids) {
    for (int i = 0; i < count; i++) kill(pids[i], SIGKILL);
    for (int i = 0; i < count; i++) waitpid(pids[i], NULL, 0);
}
