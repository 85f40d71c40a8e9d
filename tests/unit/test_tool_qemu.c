/* Unit tests for tools/wisp/qemu.c: the exact QEMU command line. */
#include "../../tools/wisp/buf.c"
#include "../../tools/wisp/qemu.c"

#include "check.h"

static char *joined(const struct strvec *v)
{
	struct strbuf b;
	strbuf_init(&b);
	for (size_t i = 0; i < v->n; i++)
		strbuf_addf(&b, i ? " %s" : "%s", v->v[i]);
	return strbuf_detach(&b);
}

static int argv_is(const struct qemu_config *c, const char *want)
{
	struct strvec v;
	char *got;
	int ok;

	strvec_init(&v);
	qemu_build_argv(c, &v);
	got = joined(&v);
	ok = strcmp(got, want) == 0 && v.v[v.n] == NULL;
	if (!ok)
		fprintf(stderr, "got:  %s\nwant: %s\n", got, want);
	free(got);
	strvec_free(&v);
	return ok;
}

int main(void)
{
	struct qemu_config c = {
		.binary = "/usr/bin/qemu-system-x86_64", .machine = "microvm", .accel = "tcg",
		.mem_mib = 128, .cpus = 1, .kernel = "/b/kernel.elf", .initrd = "/proc/self/fd/3",
		.append = "console=framed -- /bin/x", .console_fd = 5, .extra = NULL,
	};

	CHECK(argv_is(&c, "/usr/bin/qemu-system-x86_64"
			  " -M microvm,x-option-roms=off,isa-serial=on,rtc=on -accel tcg -cpu max"
			  " -m 128M -smp 1 -nodefaults -no-user-config -nographic -no-reboot"
			  " -display none -kernel /b/kernel.elf -initrd /proc/self/fd/3"
			  " -append console=framed -- /bin/x -chardev socket,id=con,fd=5"
			  " -serial chardev:con -device isa-debug-exit,iobase=0xf4,iosize=4"));

	c.machine = "q35";
	c.accel = "kvm";
	c.mem_mib = 1024;
	c.cpus = 4;
	c.extra = "  -d  guest_errors\t-D /tmp/log ";
	CHECK(argv_is(&c, "/usr/bin/qemu-system-x86_64"
			  " -M q35 -accel kvm -cpu host,-arch-capabilities"
			  " -m 1024M -smp 4 -nodefaults -no-user-config -nographic -no-reboot"
			  " -display none -kernel /b/kernel.elf -initrd /proc/self/fd/3"
			  " -append console=framed -- /bin/x -chardev socket,id=con,fd=5"
			  " -serial chardev:con -device isa-debug-exit,iobase=0xf4,iosize=4"
			  " -d guest_errors -D /tmp/log"));

	/* A NIC: after the disks, legacy virtio off on microvm, no option ROM
	 * on q35. */
	c.extra = NULL;
	c.netdev = "user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80";
	CHECK(argv_is(&c, "/usr/bin/qemu-system-x86_64"
			  " -M q35 -accel kvm -cpu host,-arch-capabilities"
			  " -m 1024M -smp 4 -nodefaults -no-user-config -nographic -no-reboot"
			  " -display none -kernel /b/kernel.elf -initrd /proc/self/fd/3"
			  " -append console=framed -- /bin/x -chardev socket,id=con,fd=5"
			  " -serial chardev:con -device isa-debug-exit,iobase=0xf4,iosize=4"
			  " -netdev user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80"
			  " -device virtio-net-pci,netdev=n0,romfile="));
	c.machine = "microvm";
	c.accel = "tcg";
	c.mem_mib = 128;
	c.cpus = 1;
	{
		const char *disks[] = { "/i,mg" }, *fmts[] = { "raw" };
		c.ndisks = 1;
		c.disks = disks;
		c.disk_formats = fmts;
		CHECK(argv_is(&c, "/usr/bin/qemu-system-x86_64"
				  " -M microvm,x-option-roms=off,isa-serial=on,rtc=on -accel tcg -cpu max"
				  " -m 128M -smp 1 -nodefaults -no-user-config -nographic -no-reboot"
				  " -display none -kernel /b/kernel.elf -initrd /proc/self/fd/3"
				  " -append console=framed -- /bin/x -chardev socket,id=con,fd=5"
				  " -serial chardev:con -device isa-debug-exit,iobase=0xf4,iosize=4"
				  " -global virtio-mmio.force-legacy=false"
				  " -drive id=disk0,file=/i,,mg,format=raw,if=none,cache=writeback"
				  " -device virtio-blk-device,drive=disk0"
				  " -netdev user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80"
				  " -device virtio-net-device,netdev=n0"));
		c.ndisks = 0;
		c.pcap = "/tmp/a,b.pcap";
		CHECK(argv_is(&c, "/usr/bin/qemu-system-x86_64"
				  " -M microvm,x-option-roms=off,isa-serial=on,rtc=on -accel tcg -cpu max"
				  " -m 128M -smp 1 -nodefaults -no-user-config -nographic -no-reboot"
				  " -display none -kernel /b/kernel.elf -initrd /proc/self/fd/3"
				  " -append console=framed -- /bin/x -chardev socket,id=con,fd=5"
				  " -serial chardev:con -device isa-debug-exit,iobase=0xf4,iosize=4"
				  " -global virtio-mmio.force-legacy=false"
				  " -netdev user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80"
				  " -device virtio-net-device,netdev=n0"
				  " -object filter-dump,id=dump0,netdev=n0,file=/tmp/a,,b.pcap"));
		c.pcap = NULL;
		c.machine = "q35";
	}
	c.netdev = NULL;

	/* The command line stays one argument, whatever it holds. */
	{
		struct strvec v;
		c.append = "a b \"c d\"";
		c.extra = "";
		strvec_init(&v);
		qemu_build_argv(&c, &v);
		CHECK(strvec_find(&v, "a b \"c d\"") >= 0);
		CHECK(strcmp(v.v[v.n - 1], "isa-debug-exit,iobase=0xf4,iosize=4") == 0);
		strvec_free(&v);
	}
	return CHECK_SUMMARY();
}
