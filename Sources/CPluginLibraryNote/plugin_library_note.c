#include "plugin_library.h"

PSL_DEFINE_NOTE();
