// The fail-safe start of a zygote or worker process, before the host's `main`.
//
// A constructor runs before any Swift or host code. In a process started with a zygote or worker
// marker (argv[1]) it: sets the parent-death signal and exits if the parent named in argv[2] is
// already gone; sets no_new_privs; installs a small seccomp filter that refuses execve and execveat
// (zygotes and workers never exec) and any call from a foreign architecture; and arms a timer that
// kills the process (SIGKILL, which nothing can catch) unless `WorkerBootstrap.start` disarms it.
// A host that forgot `WorkerBootstrap.start` therefore never runs its own `main` for long as a
// marked process, and can never exec another copy of itself from one.
//
// It also records where argv lives, so that the process title can be rewritten later.
// Every function returns its result, or -errno on failure.
#ifndef PLUGINSANDBOX_STARTUP_GUARD_H
#define PLUGINSANDBOX_STARTUP_GUARD_H

/// What argv[1] marked this process as.
#define PSG_MARKER_NONE 0
#define PSG_MARKER_ZYGOTE 1
#define PSG_MARKER_WORKER 2

/// The markers, as argv[1] carries them.
extern const char *const psg_zygote_marker;
extern const char *const psg_worker_marker;

/// The longest the guard waits for `WorkerBootstrap.start`, and the environment variable that may
/// shorten it (never lengthen it), in milliseconds.
#define PSG_DEADLINE_MILLISECONDS 10000
extern const char *const psg_deadline_variable;

/// The marker this process started with.
int psg_marker(void);
/// Disarms the start timer (once `WorkerBootstrap.start` is reached); 0 when none was armed.
int psg_disarm(void);
/// How many bytes the process title (the argv area the kernel shows) can hold.
int psg_title_capacity(void);
/// Writes `title` over the argv area (cut to its capacity, the rest zeroed).
int psg_set_title(const char *title);

#endif
