#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include "plugin_library.h"

PSL_DEFINE_NOTE();

__attribute__((constructor)) static void attack_while_loading(void) {
    int file = open("/etc/passwd", O_RDONLY);
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    fprintf(stderr, "attack_on_load: /etc/passwd -> %d, socket -> %d\n", file, sock);
    char *const arguments[] = {"/bin/sh", "-c", "echo escaped", NULL};
    execve("/bin/sh", arguments, NULL);
}
