// Confinement calls the sandbox needs that Swift's Glibc module does not import or cannot express:
// Landlock, capabilities, identity, rlimits, unshare, mounts, pivot_root, loading a seccomp program
// and reading its notification listener.
// Plain C types only, so this module never redefines what the system modules define.
// Every function returns its result, or -errno on failure (never -1 with errno).
#ifndef PLUGINSANDBOX_CONFINEMENT_CALLS_H
#define PLUGINSANDBOX_CONFINEMENT_CALLS_H

#include <stdint.h>

/// Namespace flags for psc_unshare.
#define PSC_NAMESPACE_MOUNT 0x00020000
#define PSC_NAMESPACE_UTS 0x04000000
#define PSC_NAMESPACE_IPC 0x08000000
#define PSC_NAMESPACE_USER 0x10000000
#define PSC_NAMESPACE_NET 0x40000000

/// What a Landlock rule grants beneath a path.
#define PSC_LANDLOCK_READ 1
#define PSC_LANDLOCK_READ_WRITE_FILE 2

/// The Landlock ABI the kernel offers (0: none).
int psc_landlock_abi(void);
/// A ruleset that handles every filesystem right of `abi` (so each is denied unless a rule grants
/// it), TCP bind and connect from ABI 4, and scopes signals and abstract Unix sockets from ABI 6.
/// Returns the ruleset descriptor (close-on-exec).
int psc_landlock_create_ruleset(int abi);
/// Grants `access` (PSC_LANDLOCK_*) beneath the path `path_descriptor` refers to (O_PATH).
int psc_landlock_allow(int ruleset, int abi, int path_descriptor, int access);
/// landlock_restrict_self(ruleset): the calling thread (and its future children) are confined.
int psc_landlock_restrict(int ruleset);

/// unshare(flags).
int psc_unshare(int flags);
/// sethostname (in a new UTS namespace).
int psc_set_hostname(const char *name);
/// Makes every mount of the (new) mount namespace private, recursively.
int psc_make_mounts_private(void);
/// Mounts a tmpfs at `target` (nosuid, nodev) with `options`.
int psc_mount_tmpfs(const char *target, const char *options);
/// Mounts a new procfs at `target` (nosuid, nodev, noexec) with `options`.
int psc_mount_proc(const char *target, const char *options);
/// Bind-mounts what `source_descriptor` (O_PATH) refers to at `target`, recursively, then makes the
/// bind read-only, nosuid, and (unless `device`) nodev.
int psc_bind_read_only(int source_descriptor, const char *target, int device);
/// Remounts the mount at `target` read-only, nosuid, nodev.
int psc_remount_read_only(const char *target);
/// Makes `directory` (a mount point) the root: pivot_root(".", ".") from inside it, then detaches
/// the old root, leaving the caller at "/".
int psc_pivot_into(const char *directory);
/// mkdir(path, mode); an existing directory is not an error.
int psc_make_directory(const char *path, unsigned int mode);
/// Creates an empty regular file (a mount point for a file); an existing one is not an error.
int psc_make_file(const char *path);
/// symlink(target, path).
int psc_make_symlink(const char *target, const char *path);
/// open(path, O_PATH | O_CLOEXEC), following symbolic links.
int psc_open_path(const char *path);
/// 1 when `path` is a symbolic link (lstat), 0 otherwise.
int psc_is_symlink(const char *path);
/// 1 when `descriptor` refers to a directory, 0 otherwise.
int psc_is_directory(int descriptor);
/// readlink(path) into `buffer` (not NUL-terminated); returns the length.
int psc_read_link(const char *path, char *buffer, int capacity);

/// Drops every capability from the bounding set and clears the ambient set.
int psc_drop_bounding_set(void);
/// Empties the effective, permitted and inheritable capability sets.
int psc_clear_capabilities(void);
/// Becomes uid/gid with no supplementary groups.
int psc_set_identity(uint32_t uid, uint32_t gid);
/// setrlimit(resource, {value, value}).
int psc_set_rlimit(int resource, uint64_t value);
/// PR_SET_NO_NEW_PRIVS.
int psc_set_no_new_privs(void);
/// M_ARENA_MAX: per-thread malloc arenas would each reserve 64 MiB of address space.
int psc_limit_malloc_arenas(int count);

/// The resource numbers for psc_set_rlimit.
extern const int psc_rlimit_address_space, psc_rlimit_open_files, psc_rlimit_processes;
extern const int psc_rlimit_cpu, psc_rlimit_core, psc_rlimit_file_size;

/// Loads a classic BPF program of `count` 8-byte instructions as a seccomp filter for every thread
/// (TSYNC). With `new_listener`, returns the notification listener (close-on-exec); else 0.
int psc_seccomp_load(const void *program, int count, int new_listener);
/// Whether the kernel supports seccomp user notification: 1 or 0.
int psc_seccomp_notify_supported(void);

/// One seccomp notification.
struct psc_notification {
    uint64_t id;
    uint32_t pid;
    int32_t number;
    uint32_t architecture;
};
/// Receives one pending notification without blocking: 1 and *out, or 0 when none is pending.
int psc_notify_receive(int listener, struct psc_notification *out);
/// Answers notification `id`: the call fails with `error` (a positive errno).
int psc_notify_deny(int listener, uint64_t id, int error);

#endif
