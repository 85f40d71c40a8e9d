/* The first program: output on both streams, argv, envp, auxv, identity. */
#include <stdlib.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/utsname.h>
#include "check.h"

int main(int argc, char **argv, char **envp)
{
	printf("hello, world\n");
	fflush(stdout);
	fprintf(stderr, "hello, stderr\n");

	EXPECT(argc >= 1);
	EXPECT(argv[argc] == NULL);
	for (int i = 1; i < argc; i++)
		printf("arg %d: %s\n", i, argv[i]);
	EXPECT(getenv("PATH") != NULL);
	EXPECT(envp != NULL);
	const char *want = getenv("WISP_TEST");
	if (want)
		printf("WISP_TEST=%s\n", want);

	EXPECT(getauxval(AT_PAGESZ) == 4096);
	unsigned char *rnd = (unsigned char *)getauxval(AT_RANDOM);
	EXPECT(rnd != NULL);
	EXPECT(getauxval(AT_PHDR) != 0);
	EXPECT(getauxval(AT_ENTRY) != 0);
	EXPECT(getauxval(AT_SECURE) == 0);
	const char *platform = (const char *)getauxval(AT_PLATFORM);
	EXPECT(platform && !strcmp(platform, "x86_64"));
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	EXPECT(execfn && strstr(execfn, "hello"));

	struct utsname u;
	EXPECT(uname(&u) == 0);
	EXPECT(!strcmp(u.sysname, "Linux"));
	EXPECT(!strcmp(u.machine, "x86_64"));
	EXPECT(getpid() > 0);
	EXPECT(getuid() == 0 && geteuid() == 0);

	/* The heap works (brk and mmap-backed malloc). */
	char *small = malloc(100), *big = malloc(8 << 20);
	EXPECT(small && big);
	if (big) {
		memset(big, 0x5a, 8 << 20);
		EXPECT(big[(8 << 20) - 1] == 0x5a);
	}
	free(small);
	free(big);
	return guest_done("hello");
}
