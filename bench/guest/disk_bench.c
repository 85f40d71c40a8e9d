/* disk_bench: sequential write/read throughput and fsync-heavy small writes
 * on a mounted ext2 disk, for bench/disk_bench.py.
 *
 *   disk_bench DIR [SIZE_MIB [FSYNC_OPS]]
 *
 * 1. write DIR/seq (SIZE_MIB x 1 MiB write()s), fsync, close: write MB/s
 *    (the fsync is inside the clock, so the data is on the disk);
 * 2. re-open it and read it back in 1 MiB read()s: read MB/s. Nothing is
 *    dropped from the page cache first (wisp has no control for that), so
 *    what part comes from the cache and what from the disk depends on each
 *    kernel's cache and the guest's memory;
 * 3. FSYNC_OPS 4 KiB appends to DIR/small, each followed by fsync: ops/s
 *    (stops early after 5 s of it).
 *
 * Prints one line:
 *   disk_bench: write_mbs=W read_mbs=R fsync_ops=F size_mib=N fsync_n=K
 * (MB = 10^6 bytes) or "disk_bench: error ..." on failure.
 *
 * As /init with PID 1 (the Linux guest) it first prepares the machine: mounts
 * devtmpfs on /dev, loads the modules listed one per line in /modules.list
 * (files in /, in order, with finit_module) since Debian's kernel
 * has virtio-mmio, virtio-blk and ext4 as modules, waits for /dev/vda and
 * mounts it on DIR as ext2 (ext4's driver serves ext2, CONFIG_EXT4_USE_FOR_EXT2);
 * then it unmounts, syncs and powers off. There, if /ins.sql exists, it
 * also runs "/usr/bin/sqlite3 DIR/t.db '.read /ins.sql'" (the sqlite
 * boots, with SIZE_MIB 0 to skip the rest); wisp runs sqlite3 itself.
 *
 * Built by bench/disk_bench.py with: musl-gcc -static -O2
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)

static int out = 1;

static void say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 1)
        n = sizeof(buf) - 1;
    (void)!write(out, buf, n);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what)
{
    say("disk_bench: error %s: %s\n", what, strerror(errno));
    return 1;
}

/* Linux only: modules, /dev/vda, the mount. */
static int linux_setup(const char *dir)
{
    mkdir("/dev", 0755);
    if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) < 0 && errno != EBUSY)
        return fail("mount devtmpfs");
    int c = open("/dev/console", O_WRONLY | O_NOCTTY);
    if (c >= 0)
        out = c;

    FILE *f = fopen("/modules.list", "r");
    char name[256], path[300];
    while (f && fgets(name, sizeof(name), f)) {
        name[strcspn(name, "\n")] = 0;
        if (!name[0])
            continue;
        snprintf(path, sizeof(path), "/%s", name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return fail(path);
        if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
            return fail(path);
        close(fd);
    }
    if (f)
        fclose(f);

    /* The virtio-mmio probe and the disk's partition scan end after the
     * module load returns: wait for the node. */
    struct stat st;
    for (int i = 0; stat("/dev/vda", &st) < 0; i++) {
        if (i > 500) {
            errno = ENOENT;
            return fail("/dev/vda never appeared");
        }
        usleep(10000);
    }
    mkdir(dir, 0755);
    if (mount("/dev/vda", dir, "ext2", 0, NULL) < 0)
        return fail("mount /dev/vda as ext2");
    return 0;
}

static int bench(const char *dir, long size_mib, long fsync_ops)
{
    char path[512];
    char *buf = malloc(MIB);
    if (!buf)
        return fail("malloc");
    for (int i = 0; i < MIB; i++)
        buf[i] = (char)(i * 31 + 7);

    /* 1. sequential write + fsync */
    snprintf(path, sizeof(path), "%s/seq", dir);
    double t0 = now();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return fail("open seq for writing");
    for (long i = 0; i < size_mib; i++) {
        buf[0] = (char)i;       /* every MiB differs a little */
        for (size_t done = 0; done < MIB;) {
            ssize_t n = write(fd, buf + done, MIB - done);
            if (n <= 0)
                return fail("write seq");
            done += n;
        }
    }
    if (fsync(fd) < 0)
        return fail("fsync seq");
    close(fd);
    double tw = now() - t0;

    /* 2. sequential read after a re-open */
    t0 = now();
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return fail("open seq for reading");
    long long total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, MIB);
        if (n < 0)
            return fail("read seq");
        if (n == 0)
            break;
        total += n;
    }
    close(fd);
    double tr = now() - t0;
    if (total != size_mib * (long long)MIB) {
        say("disk_bench: error read %lld bytes, wrote %lld\n", total,
            size_mib * (long long)MIB);
        return 1;
    }

    /* 3. 4 KiB appends, each made durable */
    snprintf(path, sizeof(path), "%s/small", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (fd < 0)
        return fail("open small");
    long k = 0;
    t0 = now();
    double tf = 0;
    for (; k < fsync_ops; k++) {
        if (write(fd, buf, 4096) != 4096)
            return fail("write small");
        if (fsync(fd) < 0)
            return fail("fsync small");
        tf = now() - t0;
        if (tf > 5.0) {
            k++;
            break;
        }
    }
    close(fd);

    double mb = size_mib * (double)MIB / 1e6;
    say("disk_bench: write_mbs=%.2f read_mbs=%.2f fsync_ops=%.1f size_mib=%ld fsync_n=%ld\n",
        mb / tw, mb / tr, tf > 0 ? k / tf : 0.0, size_mib, k);
    free(buf);
    return 0;
}

/* Linux only: run /usr/bin/sqlite3 DIR/t.db ".read /ins.sql" (its libraries
 * are in the initramfs) with its output on the console, and wait for it. */
static int run_sqlite(const char *dir)
{
    char db[512];
    snprintf(db, sizeof(db), "%s/t.db", dir);
    pid_t pid = fork();
    if (pid < 0)
        return fail("fork");
    if (pid == 0) {
        dup2(out, 1);
        dup2(out, 2);
        char *argv[] = {"/usr/bin/sqlite3", db, ".read /ins.sql", NULL};
        char *envp[] = {"HOME=/", NULL};
        execve(argv[0], argv, envp);
        say("disk_bench: error exec sqlite3: %s\n", strerror(errno));
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return fail("waitpid");
    return !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(int argc, char **argv)
{
    /* The Linux guest runs us as /init; wisp as /disk_bench DIR N K (and
     * may well give us PID 1 too, so the name decides). */
    int pid1 = getpid() == 1 && strcmp(argv[0], "/init") == 0;
    const char *dir = argc > 1 ? argv[1] : "/data";
    long size_mib = argc > 2 ? atol(argv[2]) : 256;
    long fsync_ops = argc > 3 ? atol(argv[3]) : 1000;
    int rc;

    if (pid1) {
        /* Linux passes no arguments to /init from us: read them from
         * /disk_bench.args ("SIZE_MIB FSYNC_OPS"). */
        FILE *f = fopen("/disk_bench.args", "r");
        if (f) {
            if (fscanf(f, "%ld %ld", &size_mib, &fsync_ops) != 2)
                size_mib = 256, fsync_ops = 1000;
            fclose(f);
        }
        dir = "/data";
    }
    rc = pid1 ? linux_setup(dir) : 0;
    /* SIZE_MIB 0 skips the file benchmark (the sqlite boots). */
    if (rc == 0 && size_mib > 0)
        rc = bench(dir, size_mib, fsync_ops);
    if (rc == 0 && pid1 && access("/ins.sql", R_OK) == 0)
        rc = run_sqlite(dir);
    if (pid1) {
        sync();
        umount(dir);
        reboot(RB_POWER_OFF);
    }
    return rc;
}
