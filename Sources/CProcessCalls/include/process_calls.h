// Process-level Linux calls the spawner needs that Swift's Glibc module does not import or cannot
// express: clone3 with CLONE_PARENT | CLONE_PIDFD (| CLONE_INTO_CGROUP), pidfds, waitid(P_PIDFD),
// signal dispositions and masks, prctl, close_range, posix_spawn with file actions.
// Plain C types only, so this module never redefines what the system modules define.
// Every function returns its result, or -errno on failure (never -1 with errno).
#ifndef PLUGINSANDBOX_PROCESS_CALLS_H
#define PLUGINSANDBOX_PROCESS_CALLS_H

#include <stdint.h>

/// Forks the calling (single-threaded) process as a sibling: CLONE_PARENT | CLONE_PIDFD, so the
/// child is a child of the caller's parent. With `cgroup_directory` >= 0 the child starts in that
/// cgroup v2 directory (CLONE_INTO_CGROUP). Returns 0 in the child; the child's pid in the parent,
/// with its pidfd (close-on-exec) in *pidfd_out.
int psp_clone_sibling(int *pidfd_out, int cgroup_directory);

/// pidfd_open(pid, 0).
int psp_pidfd_open(int pid);
/// pidfd_send_signal(pidfd, signal, NULL, 0).
int psp_pidfd_send_signal(int pidfd, int signal);
/// waitid(P_PIDFD, pidfd, WEXITED | (nohang ? WNOHANG : 0)). Sets *pid_out (0 while alive under
/// nohang), *code_out (CLD_EXITED, CLD_KILLED, CLD_DUMPED) and *status_out.
int psp_waitid_pidfd(int pidfd, int nohang, int *pid_out, int *code_out, int *status_out);
/// poll for readability: 1 when readable (or hung up), 0 on timeout.
int psp_poll_readable(int fd, int timeout_ms);

/// 1 when the peer of the socket `fd` has hung up (POLLHUP), 0 otherwise.
int psp_peer_hung_up(int fd);

/// close_range(first, last, 0).
int psp_close_range(unsigned int first, unsigned int last);

/// Every catchable signal to its default action, none blocked.
int psp_reset_signals(void);
/// Blocks every signal in the calling thread.
int psp_block_all_signals(void);
/// Unblocks every signal in the calling thread.
int psp_unblock_all_signals(void);
/// Ignores `signal` (SIG_IGN).
int psp_ignore_signal(int signal);

/// PR_SET_PDEATHSIG: `signal` when the parent thread exits.
int psp_set_parent_death_signal(int signal);
/// PR_SET_NAME: the calling thread's name (comm), at most 15 bytes are kept.
int psp_set_thread_name(const char *name);
/// setsid().
int psp_new_session(void);
/// Entries of /proc/self/task: the number of threads of the calling process.
int psp_thread_count(void);

/// fcntl(fd, F_DUPFD_CLOEXEC, minimum): a close-on-exec duplicate numbered at least `minimum`.
int psp_duplicate_above(int fd, int minimum);
/// Joins the cgroup whose `cgroup.procs` file `procs` is open for writing (writes "0").
int psp_join_cgroup(int procs);
/// Joins the cgroup directory `directory` (writes "0" to its `cgroup.procs`).
int psp_join_cgroup_directory(int directory);

/// The cause values waitid reports (CLD_EXITED, CLD_DUMPED), for Swift.
extern const int psp_exited_code;
extern const int psp_dumped_code;

/// posix_spawn of `path` with: stdin from /dev/null; `sources[i]` at descriptor `slots[i]` (slots
/// ascending from 1, sources all above the highest slot); every other descriptor closed; all
/// signals at their default action; a new session; the signal mask empty, or full when
/// `block_signals` (the child unblocks what it needs). Returns the child's pid.
int psp_spawn(const char *path, char *const argv[], char *const envp[],
              const int *sources, const int *slots, int count, int block_signals);

#endif
