// Confinement calls Swift cannot make directly (Landlock, capabilities, unshare, the SIGSYS
// reporter), as small static inline functions. Each returns 0 or -errno.
#ifndef PLUGINSANDBOX_CONFINE_SHIM_H
#define PLUGINSANDBOX_CONFINE_SHIM_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <malloc.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef O_PATH
#define O_PATH 010000000
#endif

// The ruleset attribute as of Landlock ABI 6 (system headers may predate the net and scope fields).
struct ps_cf_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};
#define PS_CF_ACCESS_NET_BIND_TCP (1ULL << 0)
#define PS_CF_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#define PS_CF_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define PS_CF_SCOPE_SIGNAL (1ULL << 1)

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

/// The Landlock ABI the kernel offers (0: none).
static inline int ps_cf_landlock_abi(void) {
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi < 0 ? 0 : (int)abi;
}

static inline uint64_t ps_cf_landlock_fs_rights(int abi) {
    uint64_t rights = (1ULL << 13) - 1; // ABI 1: EXECUTE .. MAKE_SYM
    if (abi >= 2) rights |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5) rights |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return rights;
}

/// Restricts the process: every filesystem right the ABI knows is handled (so denied unless a
/// rule grants it), `paths` get read-only access, TCP bind/connect are denied (ABI >= 4), and
/// abstract Unix sockets and signals outside the domain are scoped away (ABI >= 6).
/// On a path error `*failed_index` names the path.
static inline int ps_cf_landlock_restrict(int abi, const char *const *paths, int count, int *failed_index) {
    struct ps_cf_ruleset_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.handled_access_fs = ps_cf_landlock_fs_rights(abi);
    size_t size = sizeof(uint64_t);
    if (abi >= 4) {
        attr.handled_access_net = PS_CF_ACCESS_NET_BIND_TCP | PS_CF_ACCESS_NET_CONNECT_TCP;
        size = 2 * sizeof(uint64_t);
    }
    if (abi >= 6) {
        attr.scoped = PS_CF_SCOPE_ABSTRACT_UNIX_SOCKET | PS_CF_SCOPE_SIGNAL;
        size = sizeof attr;
    }
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (ruleset < 0) return -errno;
    uint64_t read_rights = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
    for (int index = 0; index < count; index++) {
        int fd = open(paths[index], O_PATH | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) continue;
            int code = errno;
            *failed_index = index;
            close(ruleset);
            return -code;
        }
        struct landlock_path_beneath_attr rule = { .allowed_access = read_rights, .parent_fd = fd };
        struct stat info;
        if (fstat(fd, &info) == 0 && !S_ISDIR(info.st_mode)) rule.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE;
        if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0) {
            int code = errno;
            *failed_index = index;
            close(fd);
            close(ruleset);
            return -code;
        }
        close(fd);
    }
    int result = (int)syscall(SYS_landlock_restrict_self, ruleset, 0);
    int code = errno;
    close(ruleset);
    return result == 0 ? 0 : -code;
}

static inline int ps_cf_unshare(int flags) { return unshare(flags) == 0 ? 0 : -errno; }

/// Drops every capability from the bounding set (needs CAP_SETPCAP; ignored without it).
static inline void ps_cf_drop_bounding_set(void) {
    for (int cap = 0; cap <= 63; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL) break;
    }
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

/// Empties the effective, permitted and inheritable capability sets.
static inline int ps_cf_clear_capabilities(void) {
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    return syscall(SYS_capset, &header, data) == 0 ? 0 : -errno;
}

/// Becomes uid/gid with no supplementary groups.
static inline int ps_cf_set_identity(uint32_t uid, uint32_t gid) {
    if (setgroups(0, NULL) != 0) return -errno;
    if (setresgid(gid, gid, gid) != 0) return -errno;
    if (setresuid(uid, uid, uid) != 0) return -errno;
    return 0;
}

static inline int ps_cf_set_rlimit(int resource, uint64_t value) {
    struct rlimit limit = { .rlim_cur = value, .rlim_max = value };
    return setrlimit(resource, &limit) == 0 ? 0 : -errno;
}

static inline int ps_cf_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : -errno; }
static inline int ps_cf_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0 ? 0 : -errno; }
static inline void ps_cf_limit_malloc_arenas(int count) { mallopt(M_ARENA_MAX, count); }

/// The seccomp actions libseccomp defines as macros.
static inline uint32_t ps_cf_action_allow(void) { return SCMP_ACT_ALLOW; }
static inline uint32_t ps_cf_action_trap(void) { return SCMP_ACT_TRAP; }
static inline uint32_t ps_cf_action_kill(void) { return SCMP_ACT_KILL_PROCESS; }
static inline uint32_t ps_cf_action_log(void) { return SCMP_ACT_LOG; }
static inline uint32_t ps_cf_action_errno(int code) { return SCMP_ACT_ERRNO(code); }

/// Adds one rule with up to 6 argument comparisons.
static inline int ps_cf_rule_add(scmp_filter_ctx ctx, uint32_t action, int syscall_number, unsigned int count,
                                 const struct scmp_arg_cmp *comparisons) {
    return seccomp_rule_add_array(ctx, action, syscall_number, count, comparisons);
}

#endif
