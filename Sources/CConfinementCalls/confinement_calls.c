#define _GNU_SOURCE
#include "confinement_calls.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RESULT(expression) do { long rc_ = (long)(expression); return rc_ < 0 ? -errno : (int)rc_; } while (0)

const int psc_rlimit_address_space = RLIMIT_AS, psc_rlimit_open_files = RLIMIT_NOFILE, psc_rlimit_processes = RLIMIT_NPROC;
const int psc_rlimit_cpu = RLIMIT_CPU, psc_rlimit_core = RLIMIT_CORE, psc_rlimit_file_size = RLIMIT_FSIZE;

// MARK: Landlock

// The ruleset attribute as of ABI 6 (system headers may predate the net and scope fields).
struct psc_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

static uint64_t psc_landlock_fs_rights(int abi) {
    uint64_t rights = (1ULL << 13) - 1;  // ABI 1: EXECUTE .. MAKE_SYM
    if (abi >= 2) rights |= 1ULL << 13;  // REFER
    if (abi >= 3) rights |= 1ULL << 14;  // TRUNCATE
    if (abi >= 5) rights |= 1ULL << 15;  // IOCTL_DEV
    return rights;
}

int psc_landlock_abi(void) {
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi < 0 ? 0 : (int)abi;
}

int psc_landlock_create_ruleset(int abi) {
    struct psc_ruleset_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.handled_access_fs = psc_landlock_fs_rights(abi);
    size_t size = sizeof(uint64_t);
    if (abi >= 4) {
        attr.handled_access_net = 3;  // BIND_TCP | CONNECT_TCP
        size = 2 * sizeof(uint64_t);
    }
    if (abi >= 6) {
        attr.scoped = 3;  // ABSTRACT_UNIX_SOCKET | SIGNAL
        size = sizeof attr;
    }
    RESULT(syscall(SYS_landlock_create_ruleset, &attr, size, 0));
}

int psc_landlock_allow(int ruleset, int abi, int path_descriptor, int access) {
    struct stat info;
    if (fstat(path_descriptor, &info) != 0) return -errno;
    uint64_t rights = LANDLOCK_ACCESS_FS_READ_FILE;
    if (S_ISDIR(info.st_mode)) rights |= LANDLOCK_ACCESS_FS_READ_DIR;
    if (access == PSC_LANDLOCK_READ_WRITE_FILE) {
        rights |= LANDLOCK_ACCESS_FS_WRITE_FILE;
        if (abi >= 3) rights |= 1ULL << 14;  // TRUNCATE (O_TRUNC on /dev/null)
    }
    struct landlock_path_beneath_attr rule = { .allowed_access = rights, .parent_fd = path_descriptor };
    RESULT(syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0));
}

int psc_landlock_restrict(int ruleset) { RESULT(syscall(SYS_landlock_restrict_self, ruleset, 0)); }

// MARK: Namespaces and the root

int psc_unshare(int flags) { RESULT(unshare(flags)); }

int psc_set_hostname(const char *name) { RESULT(sethostname(name, strlen(name))); }

int psc_make_mounts_private(void) { RESULT(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)); }

int psc_mount_tmpfs(const char *target, const char *options) {
    RESULT(mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options));
}

int psc_mount_proc(const char *target, const char *options) {
    RESULT(mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, options));
}

int psc_bind_read_only(int source_descriptor, const char *target, int device) {
    char source[64];
    snprintf(source, sizeof source, "/proc/self/fd/%d", source_descriptor);
    if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) != 0) return -errno;
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | (device ? 0 : MS_NODEV);
    RESULT(mount(NULL, target, NULL, flags, NULL));
}

int psc_remount_read_only(const char *target) {
    RESULT(mount(NULL, target, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL));
}

int psc_pivot_into(const char *directory) {
    if (chdir(directory) != 0) return -errno;
    // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves the new.
    if (syscall(SYS_pivot_root, ".", ".") != 0) return -errno;
    if (umount2(".", MNT_DETACH) != 0) return -errno;
    RESULT(chdir("/"));
}

int psc_make_directory(const char *path, unsigned int mode) {
    if (mkdir(path, mode) == 0 || errno == EEXIST) return 0;
    return -errno;
}

int psc_make_file(const char *path) {
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    close(fd);
    return 0;
}

int psc_make_symlink(const char *target, const char *path) { RESULT(symlink(target, path)); }

int psc_open_path(const char *path) { RESULT(open(path, O_PATH | O_CLOEXEC)); }

int psc_is_symlink(const char *path) {
    struct stat info;
    if (lstat(path, &info) != 0) return -errno;
    return S_ISLNK(info.st_mode) ? 1 : 0;
}

int psc_is_directory(int descriptor) {
    struct stat info;
    if (fstat(descriptor, &info) != 0) return -errno;
    return S_ISDIR(info.st_mode) ? 1 : 0;
}

int psc_read_link(const char *path, char *buffer, int capacity) { RESULT(readlink(path, buffer, (size_t)capacity)); }

// MARK: Credentials and limits

int psc_drop_bounding_set(void) {
    for (int capability = 0; capability <= 63; capability++) {
        if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0) {
            if (errno == EINVAL) break;  // past the last capability this kernel knows
            return -errno;
        }
    }
    RESULT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
}

int psc_clear_capabilities(void) {
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    RESULT(syscall(SYS_capset, &header, data));
}

int psc_set_identity(uint32_t uid, uint32_t gid) {
    if (setgroups(0, NULL) != 0) return -errno;
    if (setresgid(gid, gid, gid) != 0) return -errno;
    RESULT(setresuid(uid, uid, uid));
}

int psc_set_rlimit(int resource, uint64_t value) {
    struct rlimit limit = { .rlim_cur = value, .rlim_max = value };
    RESULT(setrlimit(resource, &limit));
}

int psc_set_no_new_privs(void) { RESULT(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)); }

int psc_limit_malloc_arenas(int count) { return mallopt(M_ARENA_MAX, count) == 1 ? 0 : -EINVAL; }

// MARK: seccomp

int psc_seccomp_load(const void *program, int count, int new_listener) {
    struct sock_fprog filter = { .len = (unsigned short)count, .filter = (struct sock_filter *)program };
    if (count <= 0 || count > BPF_MAXINSNS) return -EINVAL;
    unsigned int flags = SECCOMP_FILTER_FLAG_TSYNC;
    // TSYNC and a listener together need TSYNC_ESRCH (a thread that cannot sync is ESRCH, not a tid).
    if (new_listener) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &filter);
    if (rc < 0) return -errno;
    if (!new_listener && rc > 0) return -ESRCH;  // a thread could not be synchronised
    return (int)rc;
}

int psc_seccomp_notify_supported(void) {
    struct seccomp_notif_sizes sizes;
    return syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0 ? 1 : 0;
}

int psc_notify_receive(int listener, struct psc_notification *out) {
    struct pollfd entry = { .fd = listener, .events = POLLIN, .revents = 0 };
    int ready = poll(&entry, 1, 0);
    if (ready < 0) return -errno;
    if (ready == 0 || !(entry.revents & POLLIN)) return 0;
    struct seccomp_notif notification;
    memset(&notification, 0, sizeof notification);
    // The kernel counts a notification whose caller died meanwhile: then RECV says ENOENT at once.
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &notification) != 0) return errno == ENOENT ? 0 : -errno;
    out->id = notification.id;
    out->pid = notification.pid;
    out->number = notification.data.nr;
    out->architecture = notification.data.arch;
    return 1;
}

int psc_notify_deny(int listener, uint64_t id, int error) {
    struct seccomp_notif_resp response;
    memset(&response, 0, sizeof response);
    response.id = id;
    response.error = -error;
    RESULT(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &response));
}
