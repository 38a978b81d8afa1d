// Physical floors measured in C, in the same run as the Swift figures they are compared with.
// Every function forks its peers itself; children run only async-signal-safe C and _exit.
// Samples are nanoseconds. Each returns 0, or -errno.
#ifndef PLUGINSANDBOX_CBASELINES_H
#define PLUGINSANDBOX_CBASELINES_H
#include <stdint.h>

/// Round trips of one `size`-byte length-prefixed frame over a socketpair to an echoing child.
int cb_pingpong(int iterations, int size, uint64_t *samples);
/// One frame to each of `readers` child processes, waiting for all their acks, `rounds` times.
int cb_broadcast(int readers, int rounds, int size, uint64_t *samples);
/// Time from SIGKILL of a child to its pidfd polling readable.
int cb_pidfd_death(int iterations, uint64_t *samples);
/// posix_spawn of `path` (argv: path, then arguments) to its exit.
int cb_spawn(const char *path, const char *const *argv, int iterations, uint64_t *samples);
/// Starts `count` busy-looping children (CPU hogs that die with this process); their pids go to `pids`.
int cb_hogs_start(int count, int *pids);
/// Kills and reaps the hogs `cb_hogs_start` started.
void cb_hogs_stop(int count, const int *pids);
#endif
