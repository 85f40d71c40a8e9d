/* The crash test's writer (tests/system/test_ext2.py): appends numbered
 * records to PATH, fsync after each, and prints a record's number only
 * after its fsync returned. Whatever it printed must be on the disk after
 * the VM is killed at any moment. Stops after COUNT records (default
 * 1,000,000). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fsync_append PATH [COUNT]\n");
		return 2;
	}
	long count = argc > 2 ? atol(argv[2]) : 1000000;
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	for (long i = 0; i < count; i++) {
		char rec[64];
		int n = snprintf(rec, sizeof(rec), "record %08ld ........................\n", i);
		if (write(fd, rec, (size_t)n) != n || fsync(fd) < 0) {
			perror("write/fsync");
			return 1;
		}
		printf("%ld\n", i);
		fflush(stdout);
	}
	return close(fd) < 0;
}
