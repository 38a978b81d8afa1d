#include "fault_calls.h"

long foreign_architecture_getpid(void) {
#if defined(__x86_64__)
    long result;
    __asm__ volatile("int $0x80" : "=a"(result) : "a"(20L) : "memory");
    return result;
#else
    return -38;
#endif
}

long x32_getpid(void) {
#if defined(__x86_64__)
    long result;
    __asm__ volatile("syscall" : "=a"(result) : "a"(0x40000000L | 39L) : "rcx", "r11", "memory");
    return result;
#else
    return -38;
#endif
}
