#define _GNU_SOURCE
#include "process_calls.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define RESULT(expression) do { long rc_ = (long)(expression); return rc_ < 0 ? -errno : (int)rc_; } while (0)

const int psp_exited_code = CLD_EXITED;
const int psp_dumped_code = CLD_DUMPED;

/// The kernel's `struct clone_args` up to `cgroup` (v2, 88 bytes), declared here so that
/// <linux/sched.h> is not included next to glibc's <sched.h>.
struct psp_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    uint64_t set_tid, set_tid_size, cgroup;
};

int psp_clone_sibling(int *pidfd_out, int cgroup_directory) {
    const uint64_t clone_parent = 0x00008000ULL, clone_pidfd = 0x00001000ULL, clone_into_cgroup = 0x200000000ULL;
    int pidfd = -1;
    struct psp_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = clone_parent | clone_pidfd;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    // With CLONE_PARENT the child's exit signal is the caller's (SIGCHLD); clone3 wants 0 here.
    args.exit_signal = 0;
    if (cgroup_directory >= 0) {
        args.flags |= clone_into_cgroup;
        args.cgroup = (uint64_t)cgroup_directory;
    }
    long rc = syscall(SYS_clone3, &args, sizeof args);
    if (rc < 0 && errno == ENOSYS && cgroup_directory < 0) {
        // clone(flags, stack, parent_tid (the pidfd with CLONE_PIDFD), child_tid, tls) on x86_64/aarch64.
        rc = syscall(SYS_clone, (unsigned long)(clone_parent | clone_pidfd), 0UL, &pidfd, 0UL, 0UL);
    }
    if (rc < 0) return -errno;
    if (rc > 0) *pidfd_out = pidfd;
    return (int)rc;
}

int psp_pidfd_open(int pid) { RESULT(syscall(SYS_pidfd_open, pid, 0U)); }

int psp_pidfd_send_signal(int pidfd, int signal) { RESULT(syscall(SYS_pidfd_send_signal, pidfd, signal, (void *)0, 0U)); }

int psp_waitid_pidfd(int pidfd, int nohang, int *pid_out, int *code_out, int *status_out) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid((idtype_t)3 /* P_PIDFD */, (id_t)pidfd, &info, WEXITED | (nohang ? WNOHANG : 0)) < 0) return -errno;
    *pid_out = info.si_pid;
    *code_out = info.si_code;
    *status_out = info.si_status;
    return 0;
}

int psp_poll_readable(int fd, int timeout_ms) {
    struct pollfd entry = { .fd = fd, .events = POLLIN, .revents = 0 };
    RESULT(poll(&entry, 1, timeout_ms));
}

int psp_peer_hung_up(int fd) {
    struct pollfd entry = { .fd = fd, .events = POLLIN, .revents = 0 };
    if (poll(&entry, 1, 0) < 0) return -errno;
    return (entry.revents & POLLHUP) ? 1 : 0;
}

int psp_close_range(unsigned int first, unsigned int last) { RESULT(syscall(SYS_close_range, first, last, 0U)); }

int psp_reset_signals(void) {
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    for (int number = 1; number < NSIG; number++) {
        if (number == SIGKILL || number == SIGSTOP) continue;
        (void)sigaction(number, &default_action, NULL);  // EINVAL for the C library's reserved signals
    }
    return psp_unblock_all_signals();
}

int psp_block_all_signals(void) {
    sigset_t all;
    sigfillset(&all);
    return -pthread_sigmask(SIG_SETMASK, &all, NULL);
}

int psp_unblock_all_signals(void) {
    sigset_t none;
    sigemptyset(&none);
    return -pthread_sigmask(SIG_SETMASK, &none, NULL);
}

int psp_ignore_signal(int signal) {
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    RESULT(sigaction(signal, &ignore, NULL));
}

int psp_set_parent_death_signal(int signal) { RESULT(prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL)); }

int psp_set_thread_name(const char *name) { RESULT(prctl(PR_SET_NAME, (unsigned long)name, 0UL, 0UL, 0UL)); }

int psp_new_session(void) { RESULT(setsid()); }

int psp_thread_count(void) {
    DIR *directory = opendir("/proc/self/task");
    if (directory == NULL) return -errno;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        if (entry->d_name[0] != '.') count++;
    }
    closedir(directory);
    return count;
}

int psp_duplicate_above(int fd, int minimum) { RESULT(fcntl(fd, F_DUPFD_CLOEXEC, minimum)); }

int psp_join_cgroup(int procs) {
    ssize_t written;
    do {
        written = write(procs, "0", 1);
    } while (written < 0 && errno == EINTR);
    return written == 1 ? 0 : (written < 0 ? -errno : -EIO);
}

int psp_join_cgroup_directory(int directory) {
    int procs = openat(directory, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (procs < 0) return -errno;
    int result = psp_join_cgroup(procs);
    close(procs);
    return result;
}

int psp_spawn(const char *path, char *const argv[], char *const envp[],
              const int *sources, const int *slots, int count, int block_signals) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int status = posix_spawn_file_actions_init(&actions);
    if (status != 0) return -status;
    status = posix_spawnattr_init(&attributes);
    if (status != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return -status;
    }
    int highest = 0;
    status = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    for (int index = 0; status == 0 && index < count; index++) {
        status = posix_spawn_file_actions_adddup2(&actions, sources[index], slots[index]);
        if (slots[index] > highest) highest = slots[index];
    }
    if (status == 0) status = posix_spawn_file_actions_addclosefrom_np(&actions, highest + 1);
    sigset_t defaults, mask;
    sigfillset(&defaults);
    if (block_signals) sigfillset(&mask); else sigemptyset(&mask);
    if (status == 0) status = posix_spawnattr_setsigdefault(&attributes, &defaults);
    if (status == 0) status = posix_spawnattr_setsigmask(&attributes, &mask);
    if (status == 0) status = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID);
    pid_t pid = -1;
    if (status == 0) status = posix_spawn(&pid, path, &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    return status == 0 ? (int)pid : -status;
}
