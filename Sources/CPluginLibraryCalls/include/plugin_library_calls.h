// The system calls around plugin libraries: the supervisor's sealed copy (memfd, seals, SHA-256 of
// the sealed bytes) and the worker's load (dlopen of its descriptor). Every call returns its
// result or -errno, for PluginSystem's one retrying wrapper.
#ifndef PLUGINSANDBOX_PLUGIN_LIBRARY_CALLS_H
#define PLUGINSANDBOX_PLUGIN_LIBRARY_CALLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// SHA-256, streamed.
struct psl_sha256 {
    uint32_t state[8];
    uint64_t length;
    uint8_t block[64];
    size_t used;
};
void psl_sha256_start(struct psl_sha256 *context);
void psl_sha256_add(struct psl_sha256 *context, const void *bytes, size_t count);
void psl_sha256_finish(struct psl_sha256 *context, uint8_t digest[32]);

/// What identifies a file's version: its inode and the times and size a write changes.
struct psl_file_version {
    uint64_t device;
    uint64_t inode;
    int64_t size;
    int64_t modified_ns;
    int64_t changed_ns;
    int regular;
};
int psl_file_version(int fd, struct psl_file_version *version);

/// Opens `path` to read (close-on-exec); -errno.
int psl_open_read_only(const char *path);
/// A memfd that can be sealed and mapped executable (close-on-exec); -errno.
int psl_memfd(const char *name);
/// Copies `length` bytes from the start of `from` to the end of `to`, in the kernel; -errno.
long long psl_copy_file(int from, int to, long long length);
/// Seals `fd` against writes, growth, shrinking and further seals; -errno.
int psl_seal(int fd);
/// The seals of `fd`; -errno.
int psl_seals(int fd);
/// 1 when `fd`'s seals forbid writes, growth and shrinking; 0 when not; -errno.
int psl_is_sealed(int fd);
/// Reads up to `count` bytes at `offset`; -errno.
long long psl_read_at(int fd, void *buffer, size_t count, long long offset);
/// A read-only descriptor of the same file, opened through /proc/self/fd (close-on-exec); -errno.
int psl_reopen_read_only(int fd);

/// dlopen of the file behind `fd` (through /proc/self/fd/N) with RTLD_NOW | RTLD_LOCAL |
/// RTLD_DEEPBIND, so the library binds to its own definitions first. NULL with dlerror's text in
/// `error` on failure.
void *psl_load_library(int fd, char *error, size_t capacity);
/// dlsym; NULL with dlerror's text in `error` when the symbol is missing.
void *psl_find_symbol(void *handle, const char *name, char *error, size_t capacity);
/// Calls the entry point `entry` (a psl_entry_v1).
const void *psl_call_entry(void *entry);

#endif
