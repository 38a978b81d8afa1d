// cgroup-probe: a child process for the cgroup tests. Joins the groups whose join descriptors it
// was given, then misbehaves in one named way and reports on stdout, one line per fact.
//
//   cgroup-probe [--join FD,FD,...] MODE [ARG]
//     touch BYTES       allocate and touch BYTES, print "touched", exit 0
//     hold BYTES        allocate and touch BYTES, print "touched", wait to be killed
//     pipes BYTES       fill pipe buffers (kernel memory) with BYTES, print "filled N", wait
//     forks N           fork up to N children that wait; print "forked K errno E" and the
//                       children's pids ("child PID"); wait
//     spin              burn CPU forever
//     wait              wait to be killed
//     clone-into FD     clone3(CLONE_INTO_CGROUP) a child into the v2 group FD; print "child PID"; wait
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void wait_forever(void) {
    for (;;) pause();
}

static void join(const char *list) {
    char *copy = strdup(list);
    for (char *token = strtok(copy, ","); token; token = strtok(NULL, ",")) {
        int fd = atoi(token);
        if (write(fd, "0", 1) != 1) {
            printf("join failed fd %d errno %d\n", fd, errno);
            fflush(stdout);
            _exit(3);
        }
        close(fd);
    }
    free(copy);
    printf("joined\n");
    fflush(stdout);
}

static void touch(long long bytes) {
    char *memory = malloc((size_t)bytes);
    if (!memory) {
        printf("malloc failed\n");
        fflush(stdout);
        _exit(4);
    }
    for (long long offset = 0; offset < bytes; offset += 4096) memory[offset] = 1;
    printf("touched\n");
    fflush(stdout);
}

static void fill_pipes(long long bytes) {
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    long long filled = 0;
    while (filled < bytes) {
        int fds[2];
        if (pipe2(fds, O_NONBLOCK) != 0) break;
        ssize_t written = write(fds[1], chunk, sizeof chunk);
        if (written <= 0) break;
        filled += written;
    }
    printf("filled %lld\n", filled);
    fflush(stdout);
}

static void fork_children(int count) {
    int made = 0, error = 0;
    pid_t children[4096];
    for (; made < count && made < 4096; made++) {
        pid_t child = fork();
        if (child < 0) {
            error = errno;
            break;
        }
        if (child == 0) wait_forever();
        children[made] = child;
    }
    printf("forked %d errno %d\n", made, error);
    for (int index = 0; index < made; index++) printf("child %d\n", (int)children[index]);
    fflush(stdout);
}

static void clone_into(int group) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)group;
    long child = syscall(SYS_clone3, &args, sizeof args);
    if (child == 0) wait_forever();
    if (child < 0) {
        printf("clone3 failed errno %d\n", errno);
    } else {
        printf("child %ld\n", child);
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--join") == 0) {
        join(argv[2]);
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: cgroup-probe [--join FD,...] MODE [ARG]\n");
        return 64;
    }
    const char *mode = argv[first];
    long long argument = first + 1 < argc ? atoll(argv[first + 1]) : 0;
    if (strcmp(mode, "touch") == 0) {
        touch(argument);
        return 0;
    }
    if (strcmp(mode, "hold") == 0) touch(argument);
    else if (strcmp(mode, "pipes") == 0) fill_pipes(argument);
    else if (strcmp(mode, "forks") == 0) fork_children((int)argument);
    else if (strcmp(mode, "clone-into") == 0) clone_into((int)argument);
    else if (strcmp(mode, "spin") == 0) for (volatile unsigned long spins = 0;; spins++) {}
    else if (strcmp(mode, "wait") != 0) {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 64;
    }
    wait_forever();
}
