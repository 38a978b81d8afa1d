#include <stdint.h>
#include "plugin_library.h"

// A note as another release of PluginSandbox writes it.
#define FOREIGN_FINGERPRINT "PluginSandbox 0.9.0; library ABI 1; protocol 2; " PSL_ARCHITECTURE "-linux; toolchain clang 17.0.0"

__attribute__((section(".note.pluginsandbox"), used, aligned(4)))
const struct {
    uint32_t owner_size, descriptor_size, type;
    char owner[(sizeof(PSL_NOTE_OWNER) + 3) & ~3u];
    char descriptor[(sizeof(FOREIGN_FINGERPRINT) + 3) & ~3u];
} foreign_note = {sizeof(PSL_NOTE_OWNER), sizeof(FOREIGN_FINGERPRINT), PSL_NOTE_TYPE, PSL_NOTE_OWNER, FOREIGN_FINGERPRINT};

int pluginsandbox_library_v1(void) { return 0; }
