/*
 * ACPI table decoding (ACPI 6.5, chapter 5). Pure functions over bytes:
 * firmware tables are input we did not write, so every offset is checked
 * against the length the caller vouches for.
 */
#include "drivers/acpi/tables.h"

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static bool bytes_eq(const uint8_t *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)s[i])
			return false;
	return true;
}

bool acpi_checksum_ok(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += b[i];
	return sum == 0;
}

bool acpi_rsdp_parse(const void *p, size_t avail, uint64_t *sdt, bool *xsdt)
{
	const uint8_t *b = p;
	if (avail < 20 || !bytes_eq(b, "RSD PTR ", 8) || !acpi_checksum_ok(b, 20))
		return false;
	uint8_t rev = b[15];
	if (rev >= 2 && avail >= 36) {
		uint32_t len = le32(b + 20);
		uint64_t x = le64(b + 24);
		/* A v2 RSDP whose extended part is bad still has a good RSDT. */
		if (len >= 36 && len <= avail && acpi_checksum_ok(b, len) && x) {
			*sdt = x;
			*xsdt = true;
			return true;
		}
	}
	*sdt = le32(b + 16);
	*xsdt = false;
	return *sdt != 0;
}

uint32_t acpi_table_valid(const void *p, size_t avail)
{
	if (avail < 36)
		return 0;
	uint32_t len = le32((const uint8_t *)p + 4);
	if (len < 36 || len > avail || !acpi_checksum_ok(p, len))
		return 0;
	return len;
}

uint64_t acpi_sdt_entry(const void *sdt, uint32_t len, bool xsdt, unsigned n)
{
	const uint8_t *b = sdt;
	size_t w = xsdt ? 8 : 4;
	size_t off = 36 + (size_t)n * w;
	if (off + w > len)
		return 0;
	return xsdt ? le64(b + off) : le32(b + off);
}

static void add_cpu(struct acpi_madt_info *m, uint32_t apic_id)
{
	for (unsigned i = 0; i < m->cpu_count; i++)
		if (m->cpu_apic_id[i] == apic_id)
			return;   /* listed both as a local APIC and an x2APIC */
	if (m->cpu_count < ACPI_MAX_CPUS)
		m->cpu_apic_id[m->cpu_count++] = apic_id;
	else
		m->cpus_dropped++;
}

bool acpi_madt_parse(const void *madt, uint32_t len, struct acpi_madt_info *m)
{
	const uint8_t *b = madt;
	if (len < 44)
		return false;
	*m = (struct acpi_madt_info){ 0 };
	m->lapic_addr = le32(b + 36);
	m->pcat_compat = le32(b + 40) & 1;
	for (uint32_t off = 44; off + 2 <= len;) {
		const uint8_t *e = b + off;
		uint8_t type = e[0], elen = e[1];
		if (elen < 2 || off + elen > len)
			break;   /* garbled: keep what we have */
		switch (type) {
		case 0:   /* Processor Local APIC */
			if (elen >= 8 && (le32(e + 4) & 1))
				add_cpu(m, e[3]);
			break;
		case 9:   /* Processor Local x2APIC */
			if (elen >= 16 && (le32(e + 8) & 1))
				add_cpu(m, le32(e + 4));
			break;
		case 1:   /* I/O APIC */
			if (elen >= 12 && m->ioapic_count < ACPI_MAX_IOAPICS)
				m->ioapic[m->ioapic_count++] = (struct acpi_ioapic_info){
					e[2], le32(e + 4), le32(e + 8) };
			break;
		case 2:   /* Interrupt Source Override (bus 0 = ISA) */
			if (elen >= 10 && e[2] == 0 && e[3] < 16 &&
			    m->override_count < ACPI_MAX_OVERRIDES)
				m->override[m->override_count++] = (struct acpi_override){
					e[3], le32(e + 4), le16(e + 8) };
			break;
		case 5:   /* Local APIC Address Override */
			if (elen >= 12)
				m->lapic_addr = le64(e + 4);
			break;
		}
		off += elen;
	}
	return true;
}

/* A GAS at b+off: only when the table is long enough to hold it. */
static struct acpi_gas gas_at(const uint8_t *b, uint32_t len, uint32_t off)
{
	struct acpi_gas g = { 0 };
	if (off + 12 <= len) {
		g.space = b[off];
		g.bit_width = b[off + 1];
		g.addr = le64(b + off + 4);
	}
	return g;
}

bool acpi_fadt_parse(const void *fadt, uint32_t len, struct acpi_fadt_info *f)
{
	const uint8_t *b = fadt;
	if (len < 116)   /* ACPI 1.0 FADT: everything up to Flags */
		return false;
	*f = (struct acpi_fadt_info){ 0 };
	f->dsdt = le32(b + 40);
	f->sci_irq = le16(b + 46);
	f->century_reg = b[108];
	f->boot_arch = le16(b + 109);
	uint32_t flags = le32(b + 112);
	f->hw_reduced = flags & ACPI_FADT_HW_REDUCED;
	uint32_t pm1a = le32(b + 64), pm1b = le32(b + 68);
	if (pm1a)
		f->pm1a_cnt = (struct acpi_gas){ ACPI_SPACE_IO, 16, pm1a };
	if (pm1b)
		f->pm1b_cnt = (struct acpi_gas){ ACPI_SPACE_IO, 16, pm1b };
	if (flags & ACPI_FADT_RESET_REG && len >= 129) {
		f->reset_reg = gas_at(b, len, 116);
		f->reset_value = b[128];
	}
	/* The 64-bit fields win over the 32-bit ones when both are given. */
	if (len >= 148 && le64(b + 140))
		f->dsdt = le64(b + 140);
	struct acpi_gas g = gas_at(b, len, 172);
	if (g.addr)
		f->pm1a_cnt = g;
	g = gas_at(b, len, 184);
	if (g.addr)
		f->pm1b_cnt = g;
	f->sleep_ctl = gas_at(b, len, 244);
	return true;
}

/* AML PkgLength: lead byte bits 7:6 = count of extra bytes. */
static bool pkg_length(const uint8_t *p, const uint8_t *end, size_t *hdr)
{
	if (p >= end)
		return false;
	*hdr = 1 + (p[0] >> 6);
	return p + *hdr <= end;
}

/* One integer data object: ZeroOp, OneOp, OnesOp or a Byte/Word/DWord/
 * QWord constant. Returns the bytes consumed, 0 when it is something else. */
static size_t aml_int(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	if (p >= end)
		return 0;
	switch (p[0]) {
	case 0x00: *v = 0; return 1;
	case 0x01: *v = 1; return 1;
	case 0xFF: *v = ~0ull; return 1;
	case 0x0A: if (p + 2 > end) return 0; *v = p[1]; return 2;
	case 0x0B: if (p + 3 > end) return 0; *v = le16(p + 1); return 3;
	case 0x0C: if (p + 5 > end) return 0; *v = le32(p + 1); return 5;
	case 0x0E: if (p + 9 > end) return 0; *v = le64(p + 1); return 9;
	}
	return 0;
}

bool acpi_aml_find_s5(const uint8_t *aml, size_t len, uint8_t *typa, uint8_t *typb)
{
	const uint8_t *end = aml + len;
	for (size_t i = 1; i + 4 <= len; i++) {
		if (!bytes_eq(aml + i, "_S5_", 4))
			continue;
		/* NameOp, optionally with a root or parent prefix before the name. */
		bool named = aml[i - 1] == 0x08 ||
			     (i >= 2 && (aml[i - 1] == '\\' || aml[i - 1] == '^') &&
			      aml[i - 2] == 0x08);
		const uint8_t *p = aml + i + 4;
		size_t hdr;
		if (!named || p >= end || p[0] != 0x12 || !pkg_length(p + 1, end, &hdr))
			continue;
		p += 1 + hdr;
		if (p >= end)
			continue;
		unsigned count = *p++;
		uint64_t a, bv = 0;
		size_t n = aml_int(p, end, &a);
		if (!count || !n)
			continue;
		if (count >= 2 && !aml_int(p + n, end, &bv))
			continue;
		if (count == 1)
			bv = a >> 8;   /* ACPI 1.0 style: both types in one word */
		*typa = a & 7;
		*typb = bv & 7;
		return true;
	}
	return false;
}
