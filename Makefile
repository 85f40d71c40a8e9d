# wisp — one Makefile for the kernel, the host tool, the tests and the benchmarks.
#
#   make          build/kernel.elf, build/wisp and what the tests need
#   make check    every test: host unit tests (ASan+UBSan), kernel self-tests, system tests
#   make bench    benchmarks against a Linux guest, printed as JSON and a table
#   make clean

BUILD   ?= build
CC      ?= gcc
PYTHON  ?= /usr/bin/python3

WARN    := -Wall -Wextra -Werror
HOST_CFLAGS := -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE

# --- kernel -----------------------------------------------------------------
# A freestanding static PIE: linked at its physical load address, it applies its
# own R_X86_64_RELATIVE relocations at boot and moves to a random upper-half base.
KERNEL_CFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-builtin-printf \
	-fpie -fno-plt -fvisibility=hidden -include kernel/include/compiler.h \
	-fno-stack-protector -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
	-fcf-protection=none -mno-red-zone -mgeneral-regs-only -mno-sse -mno-mmx \
	-fno-strict-aliasing -fno-delete-null-pointer-checks \
	-Ikernel -Ikernel/include -MMD -MP
KERNEL_LDFLAGS := -nostdlib -static-pie -Wl,--no-dynamic-linker -Wl,-z,norelro \
	-Wl,-z,noexecstack -Wl,--build-id=none -Wl,-z,max-page-size=4096 \
	-Wl,--no-warn-rwx-segments -T kernel/arch/x86_64/kernel.ld

# (kernel/linux/vdso/ is user-space code: built by the vDSO rule below)
KERNEL_SRCS := $(shell find kernel -path kernel/linux/vdso -prune -o \( -name '*.c' -o -name '*.S' \) -print | sort)
KERNEL_OBJS := $(patsubst %,$(BUILD)/%.o,$(KERNEL_SRCS))

# --- host tool ----------------------------------------------------------------
TOOL_SRCS := $(sort $(wildcard tools/wisp/*.c))
TOOL_OBJS := $(patsubst %,$(BUILD)/%.o,$(TOOL_SRCS))

# --- host unit tests: each tests/unit/test_X.c is one program that #includes the
# pure module it tests; built with ASan and UBSan.
SAN_CFLAGS := $(HOST_CFLAGS) -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -Ikernel -iquote kernel/include -Itools/wisp -Itests/unit -DHOST_TEST
# (-iquote: the kernel's "errno.h" must not hide libc's <errno.h> in host tests)
UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))

# --- guest test programs: tests/guest/X.c built static with musl and dynamic with glibc
GUEST_SRCS := $(sort $(wildcard tests/guest/*.c))
GUEST_BINS := $(patsubst tests/guest/%.c,$(BUILD)/tests/guest/musl/%,$(GUEST_SRCS)) \
	      $(patsubst tests/guest/%.c,$(BUILD)/tests/guest/glibc/%,$(GUEST_SRCS))

all: $(BUILD)/kernel.elf $(BUILD)/wisp $(UNIT_BINS) $(GUEST_BINS) docs/syscalls.md

# The syscall table in the docs is generated from the SYSCALL() entries.
docs/syscalls.md: $(filter %.c,$(KERNEL_SRCS)) scripts/gen-syscall-doc.sh
	bash scripts/gen-syscall-doc.sh > $@.tmp && mv $@.tmp $@

deps:
	@bash scripts/deps.sh

$(BUILD)/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_CFLAGS) -c $< -o $@
$(BUILD)/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

# Two links: the first yields the symbol list, which becomes the kernel's own
# symbol table (section .ksyms, placed last so no other address moves).
$(BUILD)/kernel.stage1.elf: $(KERNEL_OBJS) kernel/arch/x86_64/kernel.ld
	$(CC) $(KERNEL_LDFLAGS) $(KERNEL_OBJS) -o $@
$(BUILD)/ksyms.S: $(BUILD)/kernel.stage1.elf scripts/gen-ksyms.sh
	bash scripts/gen-ksyms.sh $< > $@
$(BUILD)/ksyms.o: $(BUILD)/ksyms.S
	$(CC) -c $< -o $@
$(BUILD)/kernel.elf: $(KERNEL_OBJS) $(BUILD)/ksyms.o
	$(CC) $(KERNEL_LDFLAGS) $(KERNEL_OBJS) $(BUILD)/ksyms.o -o $@
	@bash scripts/check-ksyms.sh $(BUILD)/kernel.stage1.elf $@

# --- vDSO ---------------------------------------------------------------------
# kernel/linux/vdso/: user-space code the kernel maps into every program, built
# as a small shared object with its own linker script (no run-time relocations:
# checked), stripped of debug information and embedded by vdso_image.S.
VDSO_CFLAGS := -std=gnu11 -O2 -g $(WARN) -fpic -fno-plt -ffreestanding -fno-builtin \
	-fno-stack-protector -fcf-protection=none -Ikernel -nostdlib -shared \
	-Wl,-T,kernel/linux/vdso/vdso.lds -Wl,-soname=linux-vdso.so.1 -Wl,--hash-style=both \
	-Wl,--eh-frame-hdr -Wl,-Bsymbolic -Wl,--no-undefined -Wl,-z,max-page-size=4096 \
	-Wl,--build-id=none
$(BUILD)/vdso/vdso.so: kernel/linux/vdso/vdso.c kernel/linux/vdso/vvar.h kernel/linux/vdso/vdso.lds
	@mkdir -p $(dir $@)
	$(CC) $(VDSO_CFLAGS) $< -o $@
	@if readelf -rW $@ | grep -q 'R_X86_64'; then echo "$@: has relocations" >&2; rm -f $@; exit 1; fi
	@if readelf -SW $@ | grep -qE ' \.(data|bss|got)'; then echo "$@: has writable data" >&2; rm -f $@; exit 1; fi
$(BUILD)/vdso/vdso.bin: $(BUILD)/vdso/vdso.so
	objcopy --strip-debug $< $@
$(BUILD)/kernel/linux/vdso_image.S.o: $(BUILD)/vdso/vdso.bin
$(BUILD)/kernel/linux/vdso_image.S.o: KERNEL_CFLAGS += -DVDSO_IMAGE='"$(BUILD)/vdso/vdso.bin"'

$(BUILD)/tools/%.c.o: tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Itools/wisp -MMD -MP -c $< -o $@
$(BUILD)/wisp: $(TOOL_OBJS)
	$(CC) $(TOOL_OBJS) -o $@

$(BUILD)/tests/unit/%: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -MMD -MP $< -o $@

$(BUILD)/tests/guest/musl/%: tests/guest/%.c
	@mkdir -p $(dir $@)
	musl-gcc -static -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -pthread $< -o $@
$(BUILD)/tests/guest/glibc/%: tests/guest/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -pthread $< -o $@

check: deps all
	@$(PYTHON) tests/run.py

bench: deps all
	@$(PYTHON) bench/run.py

clean:
	rm -rf $(BUILD)

.PHONY: all deps check bench clean
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# The README's first command: boot a bundled demo program.
demo: deps all
	$(BUILD)/wisp run -- busybox echo "hello from wisp"
.PHONY: demo
