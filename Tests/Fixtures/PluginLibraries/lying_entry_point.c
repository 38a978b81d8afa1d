#include <stddef.h>
#include "plugin_library.h"

PSL_DEFINE_NOTE();

// The note says this build; the entry point claims another protocol and release.
static const struct psl_library_v1 declaration = {
    .abi_version = PSL_ABI_VERSION,
    .protocol_version = PSL_PROTOCOL_VERSION + 1,
    .fingerprint = "PluginSandbox 9.9.9; library ABI 1; protocol 3; elsewhere",
    .name = "liar",
    .plugins = "[\"liar\"]",
    .open = NULL,
    .receive = NULL,
};

const struct psl_library_v1 *pluginsandbox_library_v1(void) { return &declaration; }
