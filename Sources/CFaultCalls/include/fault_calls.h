// System calls a hostile plugin makes that Swift cannot express: a call through a foreign
// architecture's entry point. For the fault plugin only.
#ifndef PLUGINSANDBOX_FAULT_CALLS_H
#define PLUGINSANDBOX_FAULT_CALLS_H

/// getpid through the i386 entry point (`int 0x80`, eax = 20) on x86_64; returns what the kernel returned.
long foreign_architecture_getpid(void);
/// getpid with the x32 bit set (0x40000000 | 39) on x86_64.
long x32_getpid(void);

#endif
