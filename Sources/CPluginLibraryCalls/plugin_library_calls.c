#define _GNU_SOURCE
#include "plugin_library_calls.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define RESULT(expression) do { long long result_ = (long long)(expression); return result_ < 0 ? -errno : result_; } while (0)

// MARK: SHA-256 (FIPS 180-4)

static const uint32_t psl_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define PSL_ROTATE(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void psl_sha256_block(uint32_t state[8], const uint8_t *block) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) {
        w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 | (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
    }
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = PSL_ROTATE(w[i - 15], 7) ^ PSL_ROTATE(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = PSL_ROTATE(w[i - 2], 17) ^ PSL_ROTATE(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (PSL_ROTATE(e, 6) ^ PSL_ROTATE(e, 11) ^ PSL_ROTATE(e, 25)) + ((e & f) ^ (~e & g)) + psl_k[i] + w[i];
        uint32_t t2 = (PSL_ROTATE(a, 2) ^ PSL_ROTATE(a, 13) ^ PSL_ROTATE(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d; state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

void psl_sha256_start(struct psl_sha256 *context) {
    static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(context->state, initial, sizeof(initial));
    context->length = 0;
    context->used = 0;
}

void psl_sha256_add(struct psl_sha256 *context, const void *bytes, size_t count) {
    const uint8_t *input = bytes;
    context->length += count;
    if (context->used > 0) {
        size_t take = 64 - context->used < count ? 64 - context->used : count;
        memcpy(context->block + context->used, input, take);
        context->used += take;
        input += take;
        count -= take;
        if (context->used < 64) return;
        psl_sha256_block(context->state, context->block);
        context->used = 0;
    }
    for (; count >= 64; input += 64, count -= 64) psl_sha256_block(context->state, input);
    memcpy(context->block, input, count);
    context->used = count;
}

void psl_sha256_finish(struct psl_sha256 *context, uint8_t digest[32]) {
    uint64_t bits = context->length * 8;
    uint8_t padding[72] = {0x80};
    size_t pad = context->used < 56 ? 56 - context->used : 120 - context->used;
    for (int i = 0; i < 8; i++) padding[pad + i] = (uint8_t)(bits >> (56 - 8 * i));
    uint64_t length = context->length;
    psl_sha256_add(context, padding, pad + 8);
    context->length = length;
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(context->state[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(context->state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(context->state[i] >> 8);
        digest[4 * i + 3] = (uint8_t)context->state[i];
    }
}

// MARK: The sealed copy

int psl_file_version(int fd, struct psl_file_version *version) {
    struct stat status;
    if (fstat(fd, &status) != 0) return -errno;
    version->device = (uint64_t)status.st_dev;
    version->inode = (uint64_t)status.st_ino;
    version->size = (int64_t)status.st_size;
    version->modified_ns = (int64_t)status.st_mtim.tv_sec * 1000000000 + status.st_mtim.tv_nsec;
    version->changed_ns = (int64_t)status.st_ctim.tv_sec * 1000000000 + status.st_ctim.tv_nsec;
    version->regular = S_ISREG(status.st_mode) ? 1 : 0;
    return 0;
}

int psl_open_read_only(const char *path) { RESULT(open(path, O_RDONLY | O_CLOEXEC)); }

int psl_memfd(const char *name) {
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    // Kernels before 6.3 do not know MFD_EXEC (and map every memfd executable).
    if (fd < 0 && errno == EINVAL) fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    return fd < 0 ? -errno : fd;
}

long long psl_copy_file(int from, int to, long long length) {
    off_t offset = 0;
    while (offset < length) {
        ssize_t copied = sendfile(to, from, &offset, (size_t)(length - offset));
        if (copied < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (copied == 0) return -ENODATA;  // the file shrank while it was copied
    }
    return offset;
}

int psl_seal(int fd) { RESULT(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)); }

int psl_seals(int fd) { RESULT(fcntl(fd, F_GET_SEALS)); }

int psl_is_sealed(int fd) {
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0) return -errno;
    int needed = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
    return (seals & needed) == needed ? 1 : 0;
}

long long psl_read_at(int fd, void *buffer, size_t count, long long offset) { RESULT(pread(fd, buffer, count, (off_t)offset)); }

int psl_reopen_read_only(int fd) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    RESULT(open(path, O_RDONLY | O_CLOEXEC));
}

// MARK: Loading (in the worker)

static void psl_copy_error(char *error, size_t capacity) {
    const char *text = dlerror();
    if (capacity == 0) return;
    snprintf(error, capacity, "%s", text ? text : "unknown dlopen failure");
}

void *psl_load_library(int fd, char *error, size_t capacity) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (handle == NULL) psl_copy_error(error, capacity);
    return handle;
}

void *psl_find_symbol(void *handle, const char *name, char *error, size_t capacity) {
    dlerror();
    void *symbol = dlsym(handle, name);
    if (symbol == NULL) psl_copy_error(error, capacity);
    return symbol;
}

const void *psl_call_entry(void *entry) {
    const void *(*function)(void) = (const void *(*)(void))entry;
    return function();
}
