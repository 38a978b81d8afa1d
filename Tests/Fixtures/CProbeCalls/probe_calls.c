#define _GNU_SOURCE
#include "probe_calls.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

long probe_i386_getpid(void) {
#if defined(__x86_64__)
    long result;
    __asm__ volatile("int $0x80" : "=a"(result) : "a"(20L) : "memory");
    return result;
#else
    return -ENOSYS;
#endif
}

long probe_x32_getpid(void) {
#if defined(__x86_64__)
    long result;
    __asm__ volatile("syscall" : "=a"(result) : "a"(0x40000000L | 39L) : "rcx", "r11", "memory");
    return result;
#else
    return -ENOSYS;
#endif
}

long probe_forbidden_call(void) {
    long result = syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
    return result < 0 ? -errno : result;
}

static void probe_swallow(int signal) { (void)signal; }

int probe_install_sigsys_handler(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = probe_swallow;
    sigemptyset(&action.sa_mask);
    return sigaction(SIGSYS, &action, NULL) == 0 ? 0 : -errno;
}

long probe_send_out_of_band(int fd) {
    long result = send(fd, "!", 1, MSG_OOB | MSG_NOSIGNAL);
    return result < 0 ? -errno : result;
}

long probe_receive_out_of_band(int fd) {
    char byte;
    long result = recv(fd, &byte, 1, MSG_OOB | MSG_DONTWAIT);
    return result < 0 ? -errno : result;
}

int probe_set_pipe_size(int fd, int bytes) {
    int result = fcntl(fd, F_SETPIPE_SZ, bytes);
    return result < 0 ? -errno : result;
}

int probe_set_pipe_size_high_bits(int fd, int bytes) {
    long result = syscall(SYS_fcntl, fd, 0x100000000UL | F_SETPIPE_SZ, bytes);
    return result < 0 ? -errno : (int)result;
}

int probe_set_send_buffer(int fd, int bytes) {
    return setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) == 0 ? 0 : -errno;
}
