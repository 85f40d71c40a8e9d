/*
 * The vDSO image, embedded in the kernel: VDSO_IMAGE names the shared
 * object the Makefile built from kernel/linux/vdso/ (stripped of debug
 * information). kernel/linux/vdso.c copies it into each program.
 */
	.section .rodata.vdso, "a"
	.balign 64
	.globl vdso_image_start, vdso_image_end
	.hidden vdso_image_start, vdso_image_end
vdso_image_start:
	.incbin VDSO_IMAGE
vdso_image_end:
	.section .note.GNU-stack, "", @progbits
