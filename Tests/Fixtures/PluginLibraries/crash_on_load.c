#include <unistd.h>
#include "plugin_library.h"

PSL_DEFINE_NOTE();

__attribute__((constructor)) static void crash_while_loading(void) {
    static const char line[] = "crash_on_load: load-time code runs\n";
    write(2, line, sizeof(line) - 1);
    *(volatile int *)0 = 1;
}
