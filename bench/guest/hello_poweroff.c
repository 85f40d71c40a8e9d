/* hello_poweroff: the one program of the boot benchmark's guests.
 *
 * Prints "TAG: program started", then powers the machine off. TAG is argv[1],
 * else "linux" when PID 1, else "guest". As PID 1 it writes to /dev/console
 * (stdout if that cannot be opened), then calls sync() and
 * reboot(RB_POWER_OFF): Linux's PID 1 must not exit, or Linux panics. If
 * reboot() returns (wisp may not implement it) it exits 0, so the VM ends on
 * its own either way.
 *
 *   Linux:  /init                    -> "linux: program started"
 *   wisp:   /hello_poweroff hello    -> "hello: program started" (the bench
 *           waits for the kernel's "wisp: program started after N us")
 *
 * Built by bench/boot.py with: musl-gcc -static -O2
 */
#include <fcntl.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int pid1 = getpid() == 1;
    const char *tag = argc > 1 ? argv[1] : (pid1 ? "linux" : "guest");
    char line[128];
    size_t n = strlen(tag);

    if (n > sizeof(line) - 32)
        n = sizeof(line) - 32;
    memcpy(line, tag, n);
    memcpy(line + n, ": program started\n", 18);
    n += 18;

    int fd = pid1 ? open("/dev/console", O_WRONLY | O_NOCTTY) : -1;
    if (fd < 0)
        fd = 1;
    if (write(fd, line, n) < 0 && fd != 1)
        (void)!write(1, line, n);

    if (pid1) {
        sync();
        reboot(RB_POWER_OFF);   /* does not return on Linux */
    }
    return 0;
}
