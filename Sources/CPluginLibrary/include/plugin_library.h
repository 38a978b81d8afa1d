// The boundary between a worker and a plugin library: one exported C entry point returning a
// table of C types, and wire-protocol messages as bytes. No Swift type crosses it, so the worker
// and the library may each carry their own copy of PluginKit (see the PluginLibrary
// documentation, "Choosing the boundary").
#ifndef PLUGINSANDBOX_PLUGIN_LIBRARY_H
#define PLUGINSANDBOX_PLUGIN_LIBRARY_H

#include <stddef.h>
#include <stdint.h>

/// The symbol every plugin library exports:
/// `const struct psl_library_v1 *pluginsandbox_library_v1(void)`.
#define PSL_ENTRY_SYMBOL "pluginsandbox_library_v1"
/// The layout of the structures below. A new layout comes with a new entry symbol.
#define PSL_ABI_VERSION 1
/// The PluginSandbox release a build belongs to.
#define PSL_RELEASE "0.16.0"
/// The wire protocol version the library's session speaks (ProtocolVersion.current; a test keeps
/// the two equal).
#define PSL_PROTOCOL_VERSION 2

#if defined(__x86_64__)
#define PSL_ARCHITECTURE "x86_64"
#elif defined(__aarch64__)
#define PSL_ARCHITECTURE "aarch64"
#else
#define PSL_ARCHITECTURE "unknown"
#endif

#if defined(__clang__)
#define PSL_TOOLCHAIN "clang " __clang_version__
#else
#define PSL_TOOLCHAIN "gcc " __VERSION__
#endif

#define PSL_TEXT_(value) #value
#define PSL_TEXT(value) PSL_TEXT_(value)

/// What a build is, in one line: the release, the library ABI, the protocol, the architecture,
/// and the toolchain (the Swift toolchain's own clang, whose version names the toolchain build).
/// A worker loads a library only when both say exactly the same.
#define PSL_FINGERPRINT                                                                       \
    "PluginSandbox " PSL_RELEASE "; library ABI " PSL_TEXT(PSL_ABI_VERSION) "; protocol "      \
    PSL_TEXT(PSL_PROTOCOL_VERSION) "; " PSL_ARCHITECTURE "-linux; toolchain " PSL_TOOLCHAIN

/// The ELF note that carries a library's fingerprint, readable without loading the library:
/// owner "PluginSandbox", type PSL_NOTE_TYPE, descriptor the NUL-terminated fingerprint.
#define PSL_NOTE_OWNER "PluginSandbox"
#define PSL_NOTE_TYPE 0x50534c31u /* "PSL1" */

/// Defines the note in the object file that expands it (a plugin library gets it from the
/// CPluginLibraryNote target; a library written in C expands it once itself).
#define PSL_DEFINE_NOTE()                                                                      \
    __attribute__((section(".note.pluginsandbox"), used, aligned(4)))                          \
    const struct {                                                                             \
        uint32_t owner_size, descriptor_size, type;                                            \
        char owner[(sizeof(PSL_NOTE_OWNER) + 3) & ~3u];                                        \
        char descriptor[(sizeof(PSL_FINGERPRINT) + 3) & ~3u];                                  \
    } psl_library_note = {                                                                     \
        sizeof(PSL_NOTE_OWNER), sizeof(PSL_FINGERPRINT), PSL_NOTE_TYPE, PSL_NOTE_OWNER, PSL_FINGERPRINT \
    }

/// The worker's side of a library's session, handed to `open`.
struct psl_host_v1 {
    /// Passed back to `send`.
    void *context;
    /// Delivers one wire message from the library's session to the worker: the UTF-8 JSON body
    /// of one frame, without its length prefix. The bytes are copied before it returns; it may be
    /// called from any thread.
    void (*send)(void *context, const uint8_t *body, size_t length);
};

/// What a plugin library declares: returned by its entry point, in storage that lives as long as
/// the process.
struct psl_library_v1 {
    /// PSL_ABI_VERSION of the library's build.
    uint32_t abi_version;
    /// The wire protocol version its session speaks.
    uint32_t protocol_version;
    /// PSL_FINGERPRINT of the library's build.
    const char *fingerprint;
    /// A short name, for messages.
    const char *name;
    /// The ids of the session plugins it offers, as a JSON array of strings.
    const char *plugins;
    /// Starts the library's session side, which talks to `host` (kept by the caller for the life of
    /// the process); returns its handle, or NULL when it cannot start.
    void *(*open)(const struct psl_host_v1 *host);
    /// Delivers one wire message (a frame's JSON body) from the worker to the session `open`
    /// returned. The bytes are copied before it returns.
    void (*receive)(void *session, const uint8_t *body, size_t length);
};

/// The entry point's type.
typedef const struct psl_library_v1 *(*psl_entry_v1)(void);

/// PSL_FINGERPRINT as this build compiled it.
const char *psl_fingerprint(void);

#endif
