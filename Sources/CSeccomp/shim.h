// libseccomp, for compiling profiles into seccomp programs, plus the few of its macros Swift cannot
// import, as static inline functions (prefix pss_).
#ifndef PLUGINSANDBOX_CSECCOMP_SHIM_H
#define PLUGINSANDBOX_CSECCOMP_SHIM_H

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <unistd.h>

static inline uint32_t pss_action_allow(void) { return SCMP_ACT_ALLOW; }
static inline uint32_t pss_action_notify(void) { return SCMP_ACT_NOTIFY; }
static inline uint32_t pss_action_kill(void) { return SCMP_ACT_KILL_PROCESS; }
static inline uint32_t pss_action_log(void) { return SCMP_ACT_LOG; }
static inline uint32_t pss_action_errno(int code) { return SCMP_ACT_ERRNO(code); }

/// The native architecture's token, and x32's (whose calls arrive with the native token and the
/// x32 bit set in the call number).
static inline uint32_t pss_native_architecture(void) { return seccomp_arch_native(); }
static inline uint32_t pss_x32_architecture(void) { return SCMP_ARCH_X32; }
static inline uint32_t pss_i386_architecture(void) { return SCMP_ARCH_X86; }

/// Adds one rule with up to 6 argument comparisons; 0 or -errno.
static inline int pss_rule_add(scmp_filter_ctx ctx, uint32_t action, int syscall_number, unsigned int count,
                               const struct scmp_arg_cmp *comparisons) {
    return seccomp_rule_add_array(ctx, action, syscall_number, count, comparisons);
}

/// Exports the filter as a classic BPF program into a malloc'd buffer (*program, *length bytes;
/// the caller frees it); 0 or -errno. Goes through a pipe, so it works without any writable
/// filesystem: a program has at most 4096 instructions (32 KiB), less than a pipe holds.
static inline int pss_export_program(scmp_filter_ctx ctx, void **program, size_t *length) {
    int ends[2];
    if (pipe(ends) != 0) return -errno;
    int rc = seccomp_export_bpf(ctx, ends[1]);
    close(ends[1]);
    if (rc < 0) { close(ends[0]); return rc; }
    size_t capacity = 32 * 1024 + 8, used = 0;
    unsigned char *buffer = malloc(capacity);
    if (buffer == NULL) { close(ends[0]); return -ENOMEM; }
    for (;;) {
        ssize_t got = read(ends[0], buffer + used, capacity - used);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) { int code = errno; free(buffer); close(ends[0]); return -code; }
        if (got == 0) break;
        used += (size_t)got;
        if (used == capacity) { free(buffer); close(ends[0]); return -E2BIG; }
    }
    close(ends[0]);
    if (used == 0 || used % 8 != 0) { free(buffer); return -EINVAL; }
    *program = buffer;
    *length = used;
    return 0;
}

/// Exports the filter as libseccomp's pseudo filter code to `fd`; 0 or -errno.
static inline int pss_export_text(scmp_filter_ctx ctx, int fd) { return seccomp_export_pfc(ctx, fd); }

#endif
