// What a hostile plugin would try, for the spawn probe's worker: calls Swift cannot make
// directly (foreign-architecture system calls, a SIGSYS handler, MSG_OOB, F_SETPIPE_SZ).
// Every function returns its result, or -errno.
#ifndef PLUGINSANDBOX_PROBE_CALLS_H
#define PLUGINSANDBOX_PROBE_CALLS_H

/// getpid through the i386 entry (`int 0x80`).
long probe_i386_getpid(void);
/// getpid through the x32 entry (call number with bit 30 set).
long probe_x32_getpid(void);
/// ptrace(PTRACE_TRACEME): forbidden by every shipped profile.
long probe_forbidden_call(void);
/// Installs a SIGSYS handler that swallows the signal (as a plugin evading reports would).
int probe_install_sigsys_handler(void);
/// send(fd, "!", 1, MSG_OOB).
long probe_send_out_of_band(int fd);
/// recv(fd, buffer, 1, MSG_OOB | MSG_DONTWAIT).
long probe_receive_out_of_band(int fd);
/// fcntl(fd, F_SETPIPE_SZ, bytes).
int probe_set_pipe_size(int fd, int bytes);
/// fcntl(fd, F_SETPIPE_SZ, bytes) with bits set above the 32 the kernel reads of the command.
int probe_set_pipe_size_high_bits(int fd, int bytes);
/// setsockopt(fd, SOL_SOCKET, SO_SNDBUF, bytes).
int probe_set_send_buffer(int fd, int bytes);

#endif
