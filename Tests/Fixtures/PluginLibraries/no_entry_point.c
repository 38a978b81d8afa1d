#include "plugin_library.h"

PSL_DEFINE_NOTE();

int not_an_entry_point(void) { return 0; }
