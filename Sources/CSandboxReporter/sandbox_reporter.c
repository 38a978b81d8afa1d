// The SIGSYS reporter: names the forbidden system call to the supervisor before the worker dies.
// A C target (not an inline shim) because its table and handler need one definition.
#include "sandbox_reporter.h"

#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>


#define PS_CF_SYSCALL_NAMES 512
static const char *ps_cf_syscall_names[PS_CF_SYSCALL_NAMES];
static int ps_cf_report_fd = -1;

static size_t ps_cf_append(char *buffer, size_t at, const char *text) {
    while (*text && at < 255) buffer[at++] = *text++;
    return at;
}

static size_t ps_cf_append_number(char *buffer, size_t at, long value) {
    char digits[24];
    int count = 0;
    unsigned long magnitude = value < 0 ? (unsigned long)(-value) : (unsigned long)value;
    do { digits[count++] = (char)('0' + magnitude % 10); magnitude /= 10; } while (magnitude && count < 23);
    if (value < 0 && at < 255) buffer[at++] = '-';
    while (count && at < 255) buffer[at++] = digits[--count];
    return at;
}

/// Async-signal-safe: formats one JSON line naming the syscall, writes it, dies by SIGSYS.
static void ps_cf_sigsys_handler(int sig, siginfo_t *info, void *context) {
    (void)context;
    char line[256];
    size_t at = 0;
    int number = info->si_syscall;
    const char *name = (number >= 0 && number < PS_CF_SYSCALL_NAMES && ps_cf_syscall_names[number]) ? ps_cf_syscall_names[number] : "unknown";
    at = ps_cf_append(line, at, "{\"violation\":\"seccomp\",\"syscall\":\"");
    at = ps_cf_append(line, at, name);
    at = ps_cf_append(line, at, "\",\"number\":");
    at = ps_cf_append_number(line, at, number);
    at = ps_cf_append(line, at, ",\"arch\":\"x86_64\"}\n");
    if (ps_cf_report_fd >= 0) (void)!write(ps_cf_report_fd, line, at);
    struct sigaction fallback;
    memset(&fallback, 0, sizeof fallback);
    fallback.sa_handler = SIG_DFL;
    sigaction(sig, &fallback, NULL);
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, sig);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
    _exit(128 + sig);
}

/// Prebuilds the syscall-name table and installs the SIGSYS reporter writing to `report_fd`.
int ps_cf_install_sigsys_reporter(int report_fd) {
    for (int number = 0; number < PS_CF_SYSCALL_NAMES; number++) {
        ps_cf_syscall_names[number] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
    }
    ps_cf_report_fd = report_fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = ps_cf_sigsys_handler;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    return sigaction(SIGSYS, &action, NULL) == 0 ? 0 : -errno;
}

