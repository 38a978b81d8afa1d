// A worker's start, from the first instruction after fork (or after its exec'd process prepared its
// profile) to the moment it is confined: one C function over inputs laid out before the fork, so
// the new process runs no allocator, no runtime and touches few pages on its way to confinement.
#ifndef PLUGINSANDBOX_WORKER_START_H
#define PLUGINSANDBOX_WORKER_START_H

#include <stdint.h>

/// The steps of a worker's start, in order; a failure names one.
enum psc_start_step {
    PSC_STEP_PARENT = 0,        // the parent-death signal, and the supervisor still the parent
    PSC_STEP_CGROUP = 1,        // writing 0 to a cgroup.procs
    PSC_STEP_DESCRIPTORS = 2,   // placing descriptors, closing the rest
    PSC_STEP_CAPABILITIES = 3,  // the bounding set, then every capability set
    PSC_STEP_IDENTITY = 4,      // uid/gid, no groups
    PSC_STEP_RLIMITS = 5,
    PSC_STEP_NO_NEW_PRIVS = 6,
    PSC_STEP_LANDLOCK = 7,
    PSC_STEP_PDEATHSIG = 8,     // again after the uid change, then the parent checked again
    PSC_STEP_SECCOMP = 9,
    PSC_STEP_COUNT = 10,
};

/// The inputs (set before the fork) and outputs of psc_start_worker.
struct psc_worker_start {
    int supervisor_pid;
    /// cgroup.procs descriptors to write "0" to, first of all.
    const int *joins;
    int join_count;
    /// A pipe's read end to wait on (one byte, or its end) before anything else: the parent writes
    /// the new worker's pid into its cgroups while the worker sleeps here (a task moved while it
    /// runs may wait a whole scheduler tick in its new cpu group). < 0: no wait.
    int join_gate;
    /// Descriptors placed with dup2, in order (every source above every slot), then every
    /// descriptor from first_free up closed (first_free < 0: none).
    const int *sources;
    const int *slots;
    int placement_count;
    int first_free;
    /// Becomes `environ` (NULL: left as is).
    char **environment;
    /// The process title and thread name (NULL: left as is).
    const char *title;
    const char *thread_name;
    int drop_capabilities;
    int switch_user;
    uint32_t uid;
    uint32_t gid;
    const int *rlimit_resources;
    const uint64_t *rlimit_values;
    int rlimit_count;
    /// The Landlock ruleset to restrict with, then close (< 0: none).
    int landlock_ruleset;
    /// The seccomp program to load with a listener (NULL: none).
    const void *seccomp_program;
    int seccomp_count;
    /// Bit (1 << step) set: that step may fail without failing the start (it is then degraded).
    uint32_t degradable;
    /// When the worker's process began (psc_now), for the report's timing.
    int64_t started_ns;
    /// The report to send on `report_channel` once confined, with the seccomp listener attached,
    /// when no step degraded (then both are closed); `timing_offset` is where the report leaves
    /// PSC_TIMING_WIDTH spaces for the microseconds since `started_ns`. NULL: send nothing.
    char *report;
    int report_length;
    int timing_offset;
    int report_channel;

    /// Out: the seccomp listener (-1 without a filter).
    int listener;
    /// Out: on failure, the step that failed.
    int failed_step;
    /// Out: bit (1 << step) for each step that failed but was degradable, and its errno.
    uint32_t degraded;
    int degraded_errno[PSC_STEP_COUNT];
    /// Out: microseconds from `started_ns` to confinement.
    int64_t elapsed_us;
    /// Out: 1 when the report was sent (and the channel and listener closed); 0 when the caller
    /// must build and send it (a step degraded); -errno when sending failed.
    int reported;
};

/// How many characters the report leaves for the timing.
#define PSC_TIMING_WIDTH 12

/// CLOCK_BOOTTIME in nanoseconds (the clock Swift's ContinuousClock reads).
int64_t psc_now(void);

/// Runs the start and, when nothing degraded, sends the report. Returns 0, or -errno with
/// `failed_step` set (the process must then not run plugin code).
int psc_start_worker(struct psc_worker_start *start);

#endif
