#!/usr/bin/env bash
# Turns the function symbols of a linked kernel into the kernel's own symbol
# table (section .ksyms): sorted link-time addresses, sizes and names, which
# the backtrace code searches to print function+offset.
set -euo pipefail
elf=$1
echo '	.section .ksyms, "a"'
echo '	.balign 8'
echo '	.globl ksyms_count, ksyms_table, ksyms_names'
nm --defined-only -n -S "$elf" | awk '
	$3 ~ /^[tTwW]$/ && NF == 4 { addr[n] = $1; size[n] = $2; name[n] = $4; n++ }
	END {
		print "ksyms_count:\n\t.quad " n
		print "ksyms_table:"
		off = 0
		for (i = 0; i < n; i++) {
			printf "\t.quad 0x%s, 0x%s, %d\n", addr[i], size[i], off
			off += length(name[i]) + 1
		}
		print "ksyms_names:"
		for (i = 0; i < n; i++) printf "\t.asciz \"%s\"\n", name[i]
	}'
