/* kite-native-launcher: what the kite-native kernelspec runs. It ignores SIGINT and execs
 * kite-native (next to it) with --sigint-from-launcher. A SIG_IGN disposition survives exec, so a
 * SIGINT that arrives while the dynamic loader maps libpython, xeus, ZeroMQ, ... (tens of
 * milliseconds on a loaded machine) cannot end the kernel; kite-native blocks SIGINT and
 * restores the default disposition before CPython installs its handler. This program is linked
 * statically against libc only, so its own window is a few hundred microseconds. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
    signal(SIGINT, SIG_IGN);
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0) {
        perror("kite-native-launcher: /proc/self/exe");
        return 127;
    }
    path[n] = '\0';
    char* slash = strrchr(path, '/');
    strcpy(slash ? slash + 1 : path, "kite-native");
    char** args = calloc((size_t)argc + 2, sizeof *args);
    if (!args) return 127;
    args[0] = path;
    args[1] = "--sigint-from-launcher";
    for (int i = 1; i < argc; ++i) args[i + 1] = argv[i];
    execv(path, args);
    perror("kite-native-launcher: exec kite-native");
    return 127;
}
