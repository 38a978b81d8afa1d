#define _GNU_SOURCE
#include "worker_start.h"
#include "confinement_calls.h"
#include "descriptor_calls.h"
#include "process_calls.h"
#include "startup_guard.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

/// Records the outcome of `step`: 0 on success; a degradable failure is remembered and skipped;
/// any other failure ends the start.
static int psc_outcome(struct psc_worker_start *start, int step, int result) {
    if (result >= 0) return 0;
    if (start->degradable & (1u << step)) {
        start->degraded |= 1u << step;
        start->degraded_errno[step] = -result;
        return 0;
    }
    start->failed_step = step;
    return result;
}

#define STEP(step, expression) do { int rc_ = psc_outcome(start, (step), (expression)); if (rc_ < 0) return rc_; } while (0)

static int psc_parent_death_signal(int supervisor) {
    int result = psp_set_parent_death_signal(SIGKILL);
    if (result < 0) return result;
    return getppid() == supervisor ? 0 : -ESRCH;
}

static int psc_wait_for_parent(int gate) {
    if (gate < 0) return 0;
    char byte;
    ssize_t count;
    do {
        count = read(gate, &byte, 1);
    } while (count < 0 && errno == EINTR);
    // One byte: the parent joined us to our cgroups. End of file: it could not; do not go on.
    return count == 1 ? 0 : (count < 0 ? -errno : -ECANCELED);
}

static int psc_join(const int *joins, int count) {
    for (int index = 0; index < count; index++) {
        int result = psp_join_cgroup(joins[index]);
        if (result < 0) return result;
    }
    return 0;
}

static int psc_place(const struct psc_worker_start *start) {
    for (int index = 0; index < start->placement_count; index++) {
        if (dup2(start->sources[index], start->slots[index]) < 0) return -errno;
    }
    return start->first_free >= 0 ? psp_close_range((unsigned)start->first_free, ~0U) : 0;
}

static int psc_rlimits(const struct psc_worker_start *start) {
    for (int index = 0; index < start->rlimit_count; index++) {
        int result = psc_set_rlimit(start->rlimit_resources[index], start->rlimit_values[index]);
        if (result < 0) return result;
    }
    return 0;
}

static int psc_landlock(int ruleset) {
    int result = psc_landlock_restrict(ruleset);
    close(ruleset);
    return result;
}

int64_t psc_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_BOOTTIME, &now);
    return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

/// Writes the timing into the report's reserved spaces and sends it with the listener attached.
static int psc_report(struct psc_worker_start *start) {
    char *field = start->report + start->timing_offset;
    int64_t value = start->elapsed_us < 0 ? 0 : start->elapsed_us;
    for (int index = PSC_TIMING_WIDTH - 1; index >= 0; index--) {
        field[index] = (index == PSC_TIMING_WIDTH - 1 || value > 0) ? (char)('0' + value % 10) : ' ';
        value /= 10;
    }
    if (value > 0) return -EOVERFLOW;
    long sent;
    do {
        sent = psd_send_with_descriptors(start->report_channel, start->report, (size_t)start->report_length,
                                         &start->listener, start->listener >= 0 ? 1 : 0);
    } while (sent == -EINTR);
    if (sent < 0) return (int)sent;
    close(start->report_channel);
    if (start->listener >= 0) close(start->listener);
    start->listener = -1;
    return 1;
}

int psc_start_worker(struct psc_worker_start *start) {
    start->listener = -1;
    start->failed_step = -1;
    start->degraded = 0;
    start->reported = 0;
    // Neither of the first three may degrade: without them the process is not the worker asked for.
    uint32_t degradable = start->degradable;
    start->degradable = 0;
    STEP(PSC_STEP_PARENT, psc_parent_death_signal(start->supervisor_pid));
    STEP(PSC_STEP_CGROUP, psc_wait_for_parent(start->join_gate));
    STEP(PSC_STEP_CGROUP, psc_join(start->joins, start->join_count));
    STEP(PSC_STEP_DESCRIPTORS, psc_place(start));
    start->degradable = degradable;
    (void)psp_reset_signals();
    (void)psp_new_session();  // an exec'd worker already leads its session
    if (start->environment != NULL) environ = start->environment;
    if (start->title != NULL) (void)psg_set_title(start->title);
    if (start->thread_name != NULL) (void)psp_set_thread_name(start->thread_name);
    (void)psc_limit_malloc_arenas(2);
    if (start->drop_capabilities) STEP(PSC_STEP_CAPABILITIES, psc_drop_bounding_set());
    if (start->switch_user) STEP(PSC_STEP_IDENTITY, psc_set_identity(start->uid, start->gid));
    if (start->drop_capabilities) STEP(PSC_STEP_CAPABILITIES, psc_clear_capabilities());
    if (start->rlimit_count > 0) STEP(PSC_STEP_RLIMITS, psc_rlimits(start));
    STEP(PSC_STEP_NO_NEW_PRIVS, psc_set_no_new_privs());
    if (start->landlock_ruleset >= 0) STEP(PSC_STEP_LANDLOCK, psc_landlock(start->landlock_ruleset));
    // A uid change cleared the parent-death signal; the supervisor may have died meanwhile.
    start->degradable &= ~(1u << PSC_STEP_PDEATHSIG);
    STEP(PSC_STEP_PDEATHSIG, psc_parent_death_signal(start->supervisor_pid));
    start->degradable = degradable;
    if (start->seccomp_program != NULL) {
        int listener = psc_seccomp_load(start->seccomp_program, start->seccomp_count, 1);
        STEP(PSC_STEP_SECCOMP, listener);
        if (listener >= 0) start->listener = listener;
    }
    start->elapsed_us = (psc_now() - start->started_ns) / 1000;
    if (start->report != NULL && start->degraded == 0) start->reported = psc_report(start);
    return 0;
}
