/* Dereferences NULL: wisp must end it with SIGSEGV (status 139) and a
 * report naming the signal and the address. */
#include <stdio.h>

int main(void)
{
	printf("about to dereference NULL\n");
	fflush(stdout);
	volatile int *p = NULL;
	*p = 1;
	printf("still alive?\n");
	return 0;
}
