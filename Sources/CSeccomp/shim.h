#ifndef PLUGINSANDBOX_CSECCOMP_SHIM_H
#define PLUGINSANDBOX_CSECCOMP_SHIM_H
#include <seccomp.h>
#endif
