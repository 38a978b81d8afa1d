#include <stdlib.h>
#include <string.h>
#include "plugin_library.h"

PSL_DEFINE_NOTE();

__attribute__((constructor)) static void allocate_while_loading(void) {
    for (;;) {
        char *block = malloc(16 << 20);
        if (block == NULL) abort();
        memset(block, 1, 16 << 20);
    }
}
