#ifndef PLUGINSANDBOX_SANDBOX_REPORTER_H
#define PLUGINSANDBOX_SANDBOX_REPORTER_H

/// Prebuilds the syscall-name table (while syscalls are still allowed) and installs a SIGSYS
/// handler that writes one JSON line naming the trapped syscall to `report_fd` with
/// async-signal-safe calls only, then dies by SIGSYS. Returns 0 or -errno.
int ps_cf_install_sigsys_reporter(int report_fd);

#endif
