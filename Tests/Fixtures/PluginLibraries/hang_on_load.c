#include "plugin_library.h"

PSL_DEFINE_NOTE();

__attribute__((constructor)) static void hang_while_loading(void) {
    volatile unsigned long spins = 0;
    for (;;) spins++;
}
