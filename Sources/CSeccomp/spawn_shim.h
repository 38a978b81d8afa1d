#ifndef PLUGINSANDBOX_CSECCOMP_SPAWN_SHIM_H
#define PLUGINSANDBOX_CSECCOMP_SPAWN_SHIM_H
// Process-spawning system calls that Glibc 2.36 does not wrap, or that Swift cannot call
// (variadic `syscall`, CMSG macros, siginfo_t unions). Every function returns -errno on failure.

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define PS_SPAWN_MAX_FDS 8

/// Mirror of the kernel's `struct clone_args` (v0, 64 bytes), declared here to avoid
/// including <linux/sched.h> next to glibc's <sched.h>.
struct ps_spawn_clone_args {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
};

/// Forks the calling (single-threaded) process with CLONE_PARENT | CLONE_PIDFD: the child becomes a
/// sibling of the caller, i.e. a child of the caller's parent. Returns 0 in the child, the child's pid in
/// the parent (with its pidfd in *pidfd_out), or -errno.
static inline int ps_spawn_fork_sibling(int *pidfd_out) {
    const uint64_t clone_parent = 0x00008000ULL;  // CLONE_PARENT
    const uint64_t clone_pidfd = 0x00001000ULL;   // CLONE_PIDFD
    int pidfd = -1;
    struct ps_spawn_clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = clone_parent | clone_pidfd;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    // With CLONE_PARENT the kernel takes the exit signal from the caller (SIGCHLD); clone3 wants 0 here.
    args.exit_signal = 0;
    long rc = syscall(SYS_clone3, &args, sizeof(args));
    if (rc < 0 && errno == ENOSYS) {
        // clone(flags, stack, parent_tid (pidfd out with CLONE_PIDFD), child_tid, tls) on x86_64/aarch64.
        rc = syscall(SYS_clone, (unsigned long)(clone_parent | clone_pidfd), 0UL, &pidfd, 0UL, 0UL);
    }
    if (rc < 0) return -errno;
    if (rc > 0) *pidfd_out = pidfd;
    return (int)rc;
}

/// pipe2(fds, O_CLOEXEC) (a GNU extension Swift does not import).
static inline int ps_spawn_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) < 0 ? -errno : 0;
}

static inline int ps_spawn_pidfd_open(pid_t pid) {
    long rc = syscall(SYS_pidfd_open, pid, 0U);
    return rc < 0 ? -errno : (int)rc;
}

static inline int ps_spawn_pidfd_send_signal(int pidfd, int sig) {
    long rc = syscall(SYS_pidfd_send_signal, pidfd, sig, (void *)0, 0U);
    return rc < 0 ? -errno : 0;
}

/// waitid(P_PIDFD, pidfd, ..., options). On success returns 0 and sets *pid_out (0 while the process is
/// alive under WNOHANG), *code_out (CLD_EXITED, CLD_KILLED, CLD_DUMPED, ...) and *status_out.
static inline int ps_spawn_waitid_pidfd(int pidfd, int options, int *pid_out, int *code_out, int *status_out) {
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    int rc;
    do {
        rc = waitid((idtype_t)3 /* P_PIDFD */, (id_t)pidfd, &info, options);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return -errno;
    *pid_out = info.si_pid;
    *code_out = info.si_code;
    *status_out = info.si_status;
    return 0;
}

static inline int ps_spawn_close_range(unsigned int first, unsigned int last) {
    long rc = syscall(SYS_close_range, first, last, 0U);
    return rc < 0 ? -errno : 0;
}

/// Sends one message with up to PS_SPAWN_MAX_FDS descriptors attached (SCM_RIGHTS), MSG_NOSIGNAL.
static inline ssize_t ps_spawn_send_with_fds(int sock, const void *buf, size_t len, const int *fds, int nfds) {
    if (nfds < 0 || nfds > PS_SPAWN_MAX_FDS) return -EINVAL;
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    union { char bytes[CMSG_SPACE(sizeof(int) * PS_SPAWN_MAX_FDS)]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof(control));
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (nfds > 0) {
        msg.msg_control = control.bytes;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)nfds);
    }
    ssize_t rc;
    do {
        rc = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : rc;
}

/// Receives one message and up to `maxfds` descriptors (marked close-on-exec). Returns the byte count
/// (0 at end of stream) and sets *nfds_out. Descriptors beyond `maxfds`, or a truncated message, are
/// closed and reported as -EMSGSIZE.
static inline ssize_t ps_spawn_recv_with_fds(int sock, void *buf, size_t cap, int *fds, int maxfds, int *nfds_out) {
    *nfds_out = 0;
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    union { char bytes[CMSG_SPACE(sizeof(int) * PS_SPAWN_MAX_FDS)]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof(control));
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof(control.bytes);
    ssize_t rc;
    do {
        rc = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return -errno;
    int received = 0;
    int overflow = (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0;
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int incoming[PS_SPAWN_MAX_FDS];
        if (count > PS_SPAWN_MAX_FDS) count = PS_SPAWN_MAX_FDS;
        memcpy(incoming, CMSG_DATA(cmsg), sizeof(int) * (size_t)count);
        for (int i = 0; i < count; i++) {
            if (received < maxfds) fds[received++] = incoming[i];
            else { close(incoming[i]); overflow = 1; }
        }
    }
    if (overflow) {
        for (int i = 0; i < received; i++) close(fds[i]);
        return -EMSGSIZE;
    }
    *nfds_out = received;
    return rc;
}

/// Resets every catchable signal to its default action and unblocks all signals (used in a new worker,
/// so neither the zygote's ignored signals nor the runtime's crash handlers carry over).
static inline void ps_spawn_reset_signals(void) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        (void)sigaction(sig, &dfl, (struct sigaction *)0);
    }
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, (sigset_t *)0);
}

/// Blocks every signal in the calling thread, storing the previous mask in *previous.
static inline void ps_spawn_block_all_signals(sigset_t *previous) {
    sigset_t all;
    sigfillset(&all);
    (void)pthread_sigmask(SIG_SETMASK, &all, previous);
}

/// Restores a signal mask saved by ps_spawn_block_all_signals.
static inline void ps_spawn_restore_signal_mask(const sigset_t *previous) {
    (void)pthread_sigmask(SIG_SETMASK, previous, (sigset_t *)0);
}

static inline void ps_spawn_ignore_signal(int sig) {
    struct sigaction ign;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    (void)sigaction(sig, &ign, (struct sigaction *)0);
}

/// Kills the caller with `sig` when its parent thread exits (PR_SET_PDEATHSIG).
static inline int ps_spawn_set_parent_death_signal(int sig) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0UL, 0UL, 0UL) < 0 ? -errno : 0;
}

/// PR_SET_NO_NEW_PRIVS: execve can no longer grant privileges.
static inline int ps_spawn_set_no_new_privs(void) {
    return prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) < 0 ? -errno : 0;
}

// A GNU extension (glibc 2.34+) that <spawn.h> declares only under _GNU_SOURCE.
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

/// Adds "close every descriptor from `from` up" to `actions`; returns 0 or an errno value.
static inline int ps_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

#endif
