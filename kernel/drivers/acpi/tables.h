/*
 * ACPI table decoding, kept free of kernel headers so the host unit tests
 * (tests/unit/test_acpi_tables.c) can feed it hand-made and garbled tables.
 * Every reader takes the table's bytes and its length and never looks past
 * either; multi-byte fields are read byte by byte (tables are unaligned).
 */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define ACPI_MAX_CPUS      64
#define ACPI_MAX_IOAPICS   8
#define ACPI_MAX_OVERRIDES 16

/* A Generic Address Structure: where a register lives. */
struct acpi_gas {
	uint8_t space;          /* ACPI_SPACE_MEM or ACPI_SPACE_IO */
	uint8_t bit_width;
	uint64_t addr;          /* 0: not present */
};
#define ACPI_SPACE_MEM 0
#define ACPI_SPACE_IO  1

struct acpi_ioapic_info {
	uint8_t id;
	uint32_t addr;
	uint32_t gsi_base;
};

/* MADT interrupt source override: ISA IRQ -> GSI with polarity/trigger. */
struct acpi_override {
	uint8_t isa_irq;
	uint32_t gsi;
	uint16_t flags;         /* MPS INTI flags, see ACPI_INTI_* */
};
#define ACPI_INTI_POLARITY_MASK 0x3
#define ACPI_INTI_ACTIVE_HIGH   0x1
#define ACPI_INTI_ACTIVE_LOW    0x3
#define ACPI_INTI_TRIGGER_MASK  0xC
#define ACPI_INTI_EDGE          0x4
#define ACPI_INTI_LEVEL         0xC

struct acpi_madt_info {
	uint64_t lapic_addr;
	bool pcat_compat;                     /* dual 8259 PICs present */
	unsigned cpu_count;
	uint32_t cpu_apic_id[ACPI_MAX_CPUS];
	unsigned cpus_dropped;                /* enabled CPUs beyond the array */
	unsigned ioapic_count;
	struct acpi_ioapic_info ioapic[ACPI_MAX_IOAPICS];
	unsigned override_count;
	struct acpi_override override[ACPI_MAX_OVERRIDES];
};

struct acpi_fadt_info {
	uint64_t dsdt;                        /* physical address, 0: none */
	bool hw_reduced;
	uint16_t sci_irq;
	uint8_t century_reg;                  /* CMOS index of the century, 0: none */
	uint16_t boot_arch;                   /* IAPC_BOOT_ARCH flags */
	struct acpi_gas pm1a_cnt, pm1b_cnt;
	struct acpi_gas sleep_ctl;            /* HW-reduced ACPI */
	struct acpi_gas reset_reg;
	uint8_t reset_value;
};
#define ACPI_FADT_HW_REDUCED  (1u << 20)
#define ACPI_FADT_RESET_REG   (1u << 10)
#define ACPI_BOOT_ARCH_8042   (1u << 1)

/* Sum of bytes is zero: the check every ACPI structure carries. */
bool acpi_checksum_ok(const void *p, size_t len);
/* An RSDP: signature, v1 checksum, and the extended one when revision >= 2.
 * Gives the RSDT (32-bit entries) or XSDT (64-bit entries) address. */
bool acpi_rsdp_parse(const void *p, size_t avail, uint64_t *sdt, bool *xsdt);
/* A table header with a plausible length (>= 36, <= avail) and a good
 * checksum; returns its length or 0. */
uint32_t acpi_table_valid(const void *p, size_t avail);
/* The n-th entry of an RSDT/XSDT, or 0 past the end. */
uint64_t acpi_sdt_entry(const void *sdt, uint32_t len, bool xsdt, unsigned n);
/* Decoders for a validated table. They return false when the table is too
 * short to hold the fields they need. */
bool acpi_madt_parse(const void *madt, uint32_t len, struct acpi_madt_info *out);
bool acpi_fadt_parse(const void *fadt, uint32_t len, struct acpi_fadt_info *out);
/* Finds `Name(_S5_, Package(){a, b, ...})` in AML and decodes SLP_TYPa/b. */
bool acpi_aml_find_s5(const uint8_t *aml, size_t len, uint8_t *slp_typa, uint8_t *slp_typb);
