/* Exits with the status given as argv[1] (default 42), after stdio flushes
 * at exit: the VM's exit status must be the program's. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	int status = argc > 1 ? atoi(argv[1]) : 42;
	printf("exiting with %d\n", status);    /* flushed by exit() */
	exit(status);
}
