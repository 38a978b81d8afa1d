#define _GNU_SOURCE
#include "startup_guard.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

const char *const psg_zygote_marker = "--plugin-sandbox-zygote";
const char *const psg_worker_marker = "--plugin-sandbox-worker";
const char *const psg_deadline_variable = "PLUGIN_SANDBOX_BOOTSTRAP_DEADLINE_MS";

/// Exit code of a marked process that could not guard itself or whose parent is gone.
#define PSG_GUARD_FAILED 125

#if defined(__x86_64__)
#define PSG_NATIVE_ARCH AUDIT_ARCH_X86_64
#define PSG_X32_BIT 0x40000000u
#elif defined(__aarch64__)
#define PSG_NATIVE_ARCH AUDIT_ARCH_AARCH64
#define PSG_X32_BIT 0xffffffffu
#else
#error "the startup guard knows x86_64 and aarch64"
#endif

static int psg_marked = PSG_MARKER_NONE;
static int psg_timer_armed = 0;
static long psg_timer = 0;
static char *psg_title_start = NULL;
static size_t psg_title_length = 0;

/// execve, execveat and foreign architectures answer USER_NOTIF. With no listener (the zygote, a
/// host that forgot the bootstrap) that is ENOSYS; in a worker, whose own filter is newer and
/// reports these calls to the supervisor through its listener, the worker's filter wins, because
/// among equal actions the newest filter's is taken.
static int psg_install_filter(void) {
    struct sock_filter program[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PSG_NATIVE_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, PSG_X32_BIT, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execveat, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog filter = { .len = sizeof program / sizeof program[0], .filter = program };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter) != 0) return -errno;
    return 0;
}

static long psg_deadline(void) {
    long milliseconds = PSG_DEADLINE_MILLISECONDS;
    const char *text = getenv(psg_deadline_variable);
    if (text != NULL) {
        char *end = NULL;
        long asked = strtol(text, &end, 10);
        if (end != text && *end == '\0' && asked > 0 && asked < milliseconds) milliseconds = asked;
    }
    return milliseconds;
}

/// A POSIX timer delivering SIGKILL: unlike SIGALRM it cannot be ignored or caught by host code.
static int psg_arm_timer(long milliseconds) {
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = SIGKILL;
    int timer = 0;
    if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &event, &timer) != 0) return -errno;
    struct itimerspec when;
    memset(&when, 0, sizeof when);
    when.it_value.tv_sec = milliseconds / 1000;
    when.it_value.tv_nsec = (milliseconds % 1000) * 1000000L;
    if (syscall(SYS_timer_settime, timer, 0, &when, NULL) != 0) return -errno;
    psg_timer = timer;
    psg_timer_armed = 1;
    return 0;
}

__attribute__((constructor)) static void psg_guard(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc < 1 || argv == NULL || argv[0] == NULL) return;
    psg_title_start = argv[0];
    psg_title_length = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) + 1 - argv[0]);
    if (argc < 3) return;
    if (strcmp(argv[1], psg_zygote_marker) == 0) psg_marked = PSG_MARKER_ZYGOTE;
    else if (strcmp(argv[1], psg_worker_marker) == 0) psg_marked = PSG_MARKER_WORKER;
    else return;
    // argv[2] names the process that started this one: it must still be the parent.
    char *end = NULL;
    long parent = strtol(argv[2], &end, 10);
    if (end == argv[2] || *end != '\0') _exit(PSG_GUARD_FAILED);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) _exit(PSG_GUARD_FAILED);
    if ((long)getppid() != parent) _exit(PSG_GUARD_FAILED);
    if (psg_install_filter() != 0) _exit(PSG_GUARD_FAILED);
    if (psg_arm_timer(psg_deadline()) != 0) _exit(PSG_GUARD_FAILED);
}

int psg_marker(void) { return psg_marked; }

int psg_disarm(void) {
    if (!psg_timer_armed) return 0;
    if (syscall(SYS_timer_delete, psg_timer) != 0) return -errno;
    psg_timer_armed = 0;
    return 0;
}

int psg_title_capacity(void) { return (int)psg_title_length; }

int psg_set_title(const char *title) {
    if (psg_title_start == NULL || psg_title_length == 0) return -ENOSYS;
    size_t length = strlen(title);
    if (length >= psg_title_length) length = psg_title_length - 1;
    memset(psg_title_start, 0, psg_title_length);
    memcpy(psg_title_start, title, length);
    return (int)length;
}
