/* ACPI table decoding on hand-made tables, good and garbled. */
#include "check.h"
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include "../../kernel/drivers/acpi/tables.c"

static uint8_t buf[512];

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static void put64(uint8_t *p, uint64_t v) { put32(p, v); put32(p + 4, v >> 32); }

/* A table header with its length, and the checksum made right. */
static void seal(uint8_t *t, const char *sig, uint32_t len)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[9] = 0;
	uint8_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum += t[i];
	t[9] = (uint8_t)-sum;
}

static uint32_t madt(void)
{
	memset(buf, 0, sizeof(buf));
	uint8_t *e = buf + 44;
	put32(buf + 36, 0xFEE00000);
	put32(buf + 40, 1);                                      /* PCAT_COMPAT */
	e[0] = 0; e[1] = 8; e[2] = 0; e[3] = 0; put32(e + 4, 1); e += 8;   /* CPU apic 0 */
	e[0] = 0; e[1] = 8; e[2] = 1; e[3] = 2; put32(e + 4, 1); e += 8;   /* CPU apic 2 */
	e[0] = 0; e[1] = 8; e[2] = 2; e[3] = 4; put32(e + 4, 0); e += 8;   /* disabled */
	e[0] = 0; e[1] = 8; e[2] = 3; e[3] = 6; put32(e + 4, 2); e += 8;   /* online-capable only */
	e[0] = 9; e[1] = 16; put32(e + 4, 2); put32(e + 8, 1); e += 16;     /* x2APIC dup of 2 */
	e[0] = 9; e[1] = 16; put32(e + 4, 300); put32(e + 8, 1); e += 16;   /* x2APIC 300 */
	e[0] = 1; e[1] = 12; e[2] = 7; put32(e + 4, 0xFEC00000); put32(e + 8, 0); e += 12;
	e[0] = 2; e[1] = 10; e[2] = 0; e[3] = 0; put32(e + 4, 2); put16(e + 8, 0); e += 10;
	e[0] = 2; e[1] = 10; e[2] = 0; e[3] = 9; put32(e + 4, 9); put16(e + 8, 0xF); e += 10;
	e[0] = 4; e[1] = 6; e += 6;                                          /* NMI: skipped */
	uint32_t len = (uint32_t)(e - buf);
	seal(buf, "APIC", len);
	return len;
}

static void test_madt(void)
{
	uint32_t len = madt();
	CHECK(acpi_table_valid(buf, sizeof(buf)) == len);
	struct acpi_madt_info m;
	CHECK(acpi_madt_parse(buf, len, &m));
	CHECK(m.lapic_addr == 0xFEE00000 && m.pcat_compat);
	CHECK(m.cpu_count == 3);
	CHECK(m.cpu_apic_id[0] == 0 && m.cpu_apic_id[1] == 2 && m.cpu_apic_id[2] == 300);
	CHECK(m.ioapic_count == 1 && m.ioapic[0].id == 7 && m.ioapic[0].addr == 0xFEC00000);
	CHECK(m.override_count == 2);
	CHECK(m.override[0].isa_irq == 0 && m.override[0].gsi == 2);
	CHECK(m.override[1].isa_irq == 9 && (m.override[1].flags & ACPI_INTI_TRIGGER_MASK) == ACPI_INTI_LEVEL);
	CHECK((m.override[1].flags & ACPI_INTI_POLARITY_MASK) == ACPI_INTI_ACTIVE_LOW);

	/* Garbled: a checksum off by one is refused. */
	buf[50] ^= 1;
	CHECK(acpi_table_valid(buf, sizeof(buf)) == 0);
	/* A length beyond what is mapped is refused. */
	madt();
	CHECK(acpi_table_valid(buf, len - 1) == 0);
	/* An entry of length 0 stops the walk instead of looping. */
	len = madt();
	buf[44 + 8 + 1] = 0;
	CHECK(acpi_madt_parse(buf, len, &m) && m.cpu_count == 1);
	/* An entry running past the end is not read. */
	len = madt();
	buf[44 + 1] = 200;
	CHECK(acpi_madt_parse(buf, len, &m) && m.cpu_count == 0);
	/* Too short to be a MADT. */
	CHECK(!acpi_madt_parse(buf, 40, &m));
}

static void test_fadt(void)
{
	struct acpi_fadt_info f;
	/* ACPI 1.0 FADT: 116 bytes, PM1a at 0x604. */
	memset(buf, 0, sizeof(buf));
	put32(buf + 40, 0x7FE0000);
	put32(buf + 64, 0x604);
	buf[108] = 0x32;
	seal(buf, "FACP", 116);
	CHECK(acpi_fadt_parse(buf, 116, &f));
	CHECK(f.dsdt == 0x7FE0000 && !f.hw_reduced && f.century_reg == 0x32);
	CHECK(f.pm1a_cnt.space == ACPI_SPACE_IO && f.pm1a_cnt.addr == 0x604 && !f.pm1b_cnt.addr);
	CHECK(!f.sleep_ctl.addr);
	CHECK(!acpi_fadt_parse(buf, 100, &f));

	/* HW-reduced ACPI 6 FADT: X_DSDT wins, sleep control in MMIO. */
	memset(buf, 0, sizeof(buf));
	put32(buf + 40, 0x1000);
	put32(buf + 112, ACPI_FADT_HW_REDUCED);
	put64(buf + 140, 0x123456789ull);
	buf[244] = ACPI_SPACE_MEM; buf[245] = 8; put64(buf + 248, 0xFEA00200);
	seal(buf, "FACP", 276);
	CHECK(acpi_fadt_parse(buf, 276, &f));
	CHECK(f.hw_reduced && f.dsdt == 0x123456789ull);
	CHECK(f.sleep_ctl.space == ACPI_SPACE_MEM && f.sleep_ctl.addr == 0xFEA00200);
	CHECK(!f.pm1a_cnt.addr);
	/* Cut short before the sleep registers: they read as absent. */
	CHECK(acpi_fadt_parse(buf, 244, &f) && !f.sleep_ctl.addr && f.dsdt == 0x123456789ull);
}

static void test_rsdp_sdt(void)
{
	uint64_t sdt;
	bool x;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "RSD PTR ", 8);
	put32(buf + 16, 0xE0000);
	buf[15] = 2;
	put32(buf + 20, 36);
	put64(buf + 24, 0x7FF0000);
	uint8_t s = 0;
	for (int i = 0; i < 20; i++) s += buf[i];
	buf[8] = (uint8_t)-s;
	s = 0;
	for (int i = 0; i < 36; i++) s += buf[i];
	buf[32] = (uint8_t)-s;
	CHECK(acpi_rsdp_parse(buf, 36, &sdt, &x) && x && sdt == 0x7FF0000);
	/* Bad extended checksum: the RSDT from the v1 part. */
	buf[33] ^= 0x55;
	CHECK(acpi_rsdp_parse(buf, 36, &sdt, &x) && !x && sdt == 0xE0000);
	/* Only 20 bytes to look at: the RSDT. */
	CHECK(acpi_rsdp_parse(buf, 20, &sdt, &x) && !x);
	buf[0] = 'X';
	CHECK(!acpi_rsdp_parse(buf, 36, &sdt, &x));

	/* XSDT/RSDT entries. */
	memset(buf, 0, sizeof(buf));
	put64(buf + 36, 0x1000);
	put64(buf + 44, 0x2000);
	CHECK(acpi_sdt_entry(buf, 52, true, 0) == 0x1000);
	CHECK(acpi_sdt_entry(buf, 52, true, 1) == 0x2000);
	CHECK(acpi_sdt_entry(buf, 52, true, 2) == 0);
	CHECK(acpi_sdt_entry(buf, 51, true, 1) == 0);
	CHECK(acpi_sdt_entry(buf, 44, false, 1) == 0x0);
	CHECK(acpi_sdt_entry(buf, 44, false, 0) == 0x1000);
}

static void test_s5(void)
{
	uint8_t a, b;
	/* QEMU q35: Name(_S5, Package(4){Zero, Zero, Zero, Zero}) */
	static const uint8_t q35[] = { 0x10, 0x20, 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04,
				       0x00, 0x00, 0x00, 0x00 };
	CHECK(acpi_aml_find_s5(q35, sizeof(q35), &a, &b) && a == 0 && b == 0);
	/* Byte constants, a root prefix and a two-byte PkgLength. */
	static const uint8_t byt[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x40, 0x00, 0x02,
				       0x0A, 0x05, 0x0A, 0x07 };
	CHECK(acpi_aml_find_s5(byt, sizeof(byt), &a, &b) && a == 5 && b == 7);
	/* OneOp and a one-element ACPI 1.0 style package. */
	static const uint8_t one[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x01, 0x0B, 0x05, 0x06 };
	CHECK(acpi_aml_find_s5(one, sizeof(one), &a, &b) && a == 5 && b == 6);
	/* A reference to _S5_ (not a Name) is skipped; the real one found. */
	static const uint8_t ref[] = { 0x70, '_', 'S', '5', '_', 0x60,
				       0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x01, 0x00 };
	CHECK(acpi_aml_find_s5(ref, sizeof(ref), &a, &b) && a == 1 && b == 0);
	/* Truncated anywhere: no match, and (ASan watching the exact-size
	 * heap copy) no read past the end. */
	for (size_t n = 0; n < sizeof(byt); n++) {
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, byt, n);
		CHECK(!acpi_aml_find_s5(copy, n, &a, &b));
		free(copy);
	}
	static const uint8_t none[] = { 0x08, '_', 'S', '4', '_', 0x12, 0x03, 0x01, 0x00 };
	CHECK(!acpi_aml_find_s5(none, sizeof(none), &a, &b));
}

/* Every decoder on truncated and random bytes, in exact-size heap copies
 * so ASan catches any read past the length it was given. */
static void test_no_overreads(void)
{
	uint32_t len = madt();
	struct acpi_madt_info m;
	struct acpi_fadt_info f;
	uint8_t a, b;
	for (uint32_t n = 0; n <= len; n++) {
		uint8_t *c = malloc(n ? n : 1);
		memcpy(c, buf, n);
		acpi_madt_parse(c, n, &m);
		acpi_table_valid(c, n);
		free(c);
	}
	uint32_t seed = 12345;
	for (int round = 0; round < 2000; round++) {
		size_t n = (seed = seed * 1103515245 + 12345) >> 24;
		uint8_t *c = malloc(n ? n : 1);
		for (size_t i = 0; i < n; i++)
			c[i] = (uint8_t)((seed = seed * 1103515245 + 12345) >> 16);
		if (n > 4 && round % 2) {   /* make the AML scanner look deeper */
			size_t at = n / 2 > 4 ? n / 2 - 4 : 0;
			memcpy(c + at, "_S5_", 4);
			if (at) c[at - 1] = 0x08;
			if (at + 4 < n) c[at + 4] = 0x12;
		}
		acpi_madt_parse(c, (uint32_t)n, &m);
		acpi_fadt_parse(c, (uint32_t)n, &f);
		acpi_aml_find_s5(c, n, &a, &b);
		uint64_t sdt;
		bool x;
		acpi_rsdp_parse(c, n, &sdt, &x);
		for (unsigned i = 0; i < 4; i++)
			acpi_sdt_entry(c, (uint32_t)n, i & 1, i);
		free(c);
	}
	CHECK(1);   /* reaching here under ASan is the check */
}

int main(void)
{
	test_no_overreads();
	test_madt();
	test_fadt();
	test_rsdp_sdt();
	test_s5();
	return CHECK_SUMMARY();
}
