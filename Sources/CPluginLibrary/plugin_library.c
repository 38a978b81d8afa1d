#include "plugin_library.h"

const char *psl_fingerprint(void) { return PSL_FINGERPRINT; }
