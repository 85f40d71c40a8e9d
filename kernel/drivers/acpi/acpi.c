/*
 * ACPI glue: find the tables in guest memory, decode them with tables.c,
 * publish what the interrupt, SMP and power code need, and power off.
 * No AML interpreter: the one thing we need from the DSDT, the \_S5 sleep
 * type, is a constant package we can decode by pattern.
 */
#include "drivers/acpi/acpi.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/mmio.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/pvh.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "lib/selftest.h"
#include "lib/string.h"

unsigned acpi_cpu_count;
uint32_t acpi_cpu_apic_id[ACPI_MAX_CPUS];
unsigned acpi_ioapic_count;
struct acpi_ioapic_info acpi_ioapic[ACPI_MAX_IOAPICS];
uint64_t acpi_lapic_addr;

#define MAX_TABLE_LEN (16u << 20)   /* anything longer is garbage */

static struct {
	uint64_t rsdp;                 /* physical, 0: no ACPI */
	const void *sdt;
	uint32_t sdt_len;
	bool xsdt;
	struct acpi_madt_info madt;
	bool have_madt, have_fadt;
	struct acpi_fadt_info fadt;
	enum { OFF_NONE, OFF_PM1, OFF_SLEEP_CTL } off_method;
	bool s5_resolved, s5_found;
	uint8_t slp_typa, slp_typb;
	volatile uint8_t *sleep_ctl_mmio;
} acpi;

/* The kernel address of phys..phys+len when the direct map covers it. */
static const void *phys_range(uint64_t phys, uint64_t len)
{
	if (!phys || phys + len < phys || phys + len > boot_info.direct_map_end)
		return NULL;
	return phys_to_virt(phys);
}

/* A table at phys whose header, length and checksum hold up. */
static const void *map_table(uint64_t phys, uint32_t *len_out)
{
	const uint8_t *h = phys_range(phys, 36);
	if (!h)
		return NULL;
	uint32_t len;
	memcpy(&len, h + 4, 4);
	if (len > MAX_TABLE_LEN || !phys_range(phys, len))
		return NULL;
	uint32_t ok = acpi_table_valid(h, len);
	if (!ok)
		return NULL;
	if (len_out)
		*len_out = ok;
	return h;
}

static uint64_t scan_rsdp(uint64_t start, uint64_t end)
{
	for (uint64_t p = start; p + 20 <= end; p += 16) {
		const void *v = phys_to_virt(p);
		uint64_t sdt;
		bool x;
		if (!memcmp(v, "RSD PTR ", 8) && acpi_rsdp_parse(v, end - p, &sdt, &x))
			return p;
	}
	return 0;
}

static uint64_t find_rsdp(void)
{
	const struct hvm_start_info *si = phys_to_virt(boot_info.start_info_phys);
	if (si->rsdp_paddr) {
		const void *v = phys_range(si->rsdp_paddr, 36);
		uint64_t sdt;
		bool x;
		if (v && acpi_rsdp_parse(v, 36, &sdt, &x))
			return si->rsdp_paddr;
		pr_warn("acpi: PVH start info points at a bad RSDP (%#lx); scanning", si->rsdp_paddr);
	}
	/* The first KiB of the EBDA (segment at 0x40E), then the BIOS ROM. */
	uint64_t ebda = (uint64_t)*(const volatile uint16_t *)phys_to_virt(0x40E) << 4;
	uint64_t r = 0;
	if (ebda >= 0x80000 && ebda < 0xA0000)
		r = scan_rsdp(ebda, ebda + 1024);
	return r ? r : scan_rsdp(0xE0000, 0x100000);
}

const void *acpi_find_table(const char sig[4], unsigned n, uint32_t *len)
{
	if (!memcmp(sig, "DSDT", 4)) {
		if (!acpi.have_fadt || n)
			return NULL;
		return map_table(acpi.fadt.dsdt, len);
	}
	for (unsigned i = 0;; i++) {
		uint64_t phys = acpi_sdt_entry(acpi.sdt, acpi.sdt_len, acpi.xsdt, i);
		if (!phys)
			return NULL;
		const uint8_t *h = phys_range(phys, 36);
		if (!h || memcmp(h, sig, 4))
			continue;
		const void *t = map_table(phys, len);
		if (!t) {
			pr_warn("acpi: %.4s at %#lx is corrupt; ignored", sig, phys);
			continue;
		}
		if (n-- == 0)
			return t;
	}
}

struct acpi_irq_route acpi_isa_irq_route(unsigned irq)
{
	/* ISA defaults: identity, edge, active high. */
	struct acpi_irq_route r = { irq, false, false };
	for (unsigned i = 0; i < acpi.madt.override_count; i++) {
		const struct acpi_override *o = &acpi.madt.override[i];
		if (o->isa_irq != irq)
			continue;
		r.gsi = o->gsi;
		r.active_low = (o->flags & ACPI_INTI_POLARITY_MASK) == ACPI_INTI_ACTIVE_LOW;
		r.level = (o->flags & ACPI_INTI_TRIGGER_MASK) == ACPI_INTI_LEVEL;
	}
	return r;
}

/* The boot CPU's APIC id straight from CPUID (the LAPIC is not up yet). */
static uint32_t boot_apic_id(void)
{
	uint32_t a, b, c, d;
	cpuid(0, 0, &a, &b, &c, &d);
	if (a >= 0xB) {
		cpuid(0xB, 0, &a, &b, &c, &d);
		if (b)
			return d;   /* x2APIC id */
	}
	cpuid(1, 0, &a, &b, &c, &d);
	return b >> 24;
}

static void publish_cpus(void)
{
	uint32_t bsp = boot_apic_id();
	const struct acpi_madt_info *m = &acpi.madt;
	acpi_cpu_count = 0;
	acpi_cpu_apic_id[acpi_cpu_count++] = bsp;
	bool listed = !acpi.have_madt;
	for (unsigned i = 0; i < m->cpu_count; i++) {
		if (m->cpu_apic_id[i] == bsp)
			listed = true;
		else if (acpi_cpu_count < ACPI_MAX_CPUS)
			acpi_cpu_apic_id[acpi_cpu_count++] = m->cpu_apic_id[i];
	}
	if (!listed)
		pr_warn("acpi: the boot CPU (APIC id %u) is not in the MADT", bsp);
	if (m->cpus_dropped)
		pr_warn("acpi: %u CPUs beyond the first %d ignored", m->cpus_dropped, ACPI_MAX_CPUS);
}

static void parse_madt(void)
{
	uint32_t len;
	const void *t = acpi_find_table("APIC", 0, &len);
	if (t && acpi_madt_parse(t, len, &acpi.madt)) {
		acpi.have_madt = true;
	} else {
		pr_warn("acpi: no usable MADT; assuming one CPU and an IOAPIC at 0xfec00000");
		acpi.madt = (struct acpi_madt_info){ 0 };
	}
	if (!acpi.madt.ioapic_count) {
		if (acpi.have_madt)
			pr_warn("acpi: MADT lists no IOAPIC; assuming one at 0xfec00000");
		acpi.madt.ioapic[0] = (struct acpi_ioapic_info){ 0, 0xFEC00000, 0 };
		acpi.madt.ioapic_count = 1;
	}
	acpi_ioapic_count = acpi.madt.ioapic_count;
	memcpy(acpi_ioapic, acpi.madt.ioapic, sizeof(acpi_ioapic));
	acpi_lapic_addr = acpi.madt.lapic_addr ? acpi.madt.lapic_addr : 0xFEE00000;
	publish_cpus();
}

static bool find_s5(void)
{
	uint32_t len;
	const uint8_t *t = acpi_find_table("DSDT", 0, &len);
	if (t && acpi_aml_find_s5(t + 36, len - 36, &acpi.slp_typa, &acpi.slp_typb))
		return true;
	for (unsigned n = 0; (t = acpi_find_table("SSDT", n, &len)); n++)
		if (acpi_aml_find_s5(t + 36, len - 36, &acpi.slp_typa, &acpi.slp_typb))
			return true;
	return false;
}

static void parse_fadt(void)
{
	uint32_t len;
	const void *t = acpi_find_table("FACP", 0, &len);
	if (!t || !acpi_fadt_parse(t, len, &acpi.fadt)) {
		pr_warn("acpi: no usable FADT; poweroff only through isa-debug-exit or port 0x604");
		return;
	}
	acpi.have_fadt = true;

	const struct acpi_gas *sc = &acpi.fadt.sleep_ctl;
	if (sc->addr && sc->space == ACPI_SPACE_MEM) {
		acpi.sleep_ctl_mmio = (volatile uint8_t *)mmio_map(sc->addr, 1);
		if (acpi.sleep_ctl_mmio)
			acpi.off_method = OFF_SLEEP_CTL;
	} else if (sc->addr && sc->space == ACPI_SPACE_IO && sc->addr < 0x10000) {
		acpi.off_method = OFF_SLEEP_CTL;
	}
	if (acpi.off_method == OFF_NONE && acpi.fadt.pm1a_cnt.addr &&
	    acpi.fadt.pm1a_cnt.space == ACPI_SPACE_IO && acpi.fadt.pm1a_cnt.addr < 0x10000)
		acpi.off_method = OFF_PM1;
	if (acpi.off_method == OFF_NONE)
		pr_warn("acpi: FADT gives no PM1 control or sleep control register");
}

/* The sleep type for S5 lives in AML (the DSDT, 8 KiB on q35) that we
 * would have to checksum and scan byte by byte: done at first use, off the
 * boot path (power.c tries isa-debug-exit first, so most runs never get
 * here). */
static void resolve_s5(void)
{
	if (acpi.s5_resolved)
		return;
	acpi.s5_resolved = true;
	acpi.s5_found = find_s5();
	if (!acpi.s5_found) {
		/* QEMU's values: GED sleep type 5, PIIX/ICH9 sleep type 0. */
		acpi.slp_typa = acpi.slp_typb = acpi.off_method == OFF_SLEEP_CTL ? 5 : 0;
		pr_warn("acpi: no \\_S5 object in the DSDT/SSDTs; guessing sleep type %u",
			acpi.slp_typa);
	}
}

static void log_summary(void)
{
	char buf[160];
	size_t n = 0;
	for (unsigned i = 0; i < acpi_cpu_count && n < sizeof(buf) - 16; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "%s%u", i ? "," : "", acpi_cpu_apic_id[i]);
	pr_info("acpi: %u CPU%s (APIC ids %s)", acpi_cpu_count, acpi_cpu_count == 1 ? "" : "s", buf);
	for (unsigned i = 0; i < acpi_ioapic_count; i++)
		pr_info("acpi: IOAPIC %u at %#x, GSI base %u", acpi_ioapic[i].id,
			acpi_ioapic[i].addr, acpi_ioapic[i].gsi_base);
	n = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < acpi.madt.override_count && n < sizeof(buf) - 32; i++) {
		const struct acpi_override *o = &acpi.madt.override[i];
		n += snprintf(buf + n, sizeof(buf) - n, " irq%u->gsi%u%s%s", o->isa_irq, o->gsi,
			      (o->flags & 3) == ACPI_INTI_ACTIVE_LOW ? ",low" : "",
			      (o->flags & 0xC) == ACPI_INTI_LEVEL ? ",level" : "");
	}
	if (n)
		pr_info("acpi: ISA overrides:%s", buf);
	if (acpi.off_method)
		pr_info("acpi: poweroff via %s", acpi_poweroff_method());
}

void acpi_init(void)
{
	acpi.rsdp = find_rsdp();
	const void *rsdp = acpi.rsdp ? phys_to_virt(acpi.rsdp) : NULL;
	uint64_t sdt_phys = 0;
	if (!rsdp) {
		pr_warn("acpi: no RSDP found");
	} else if (acpi_rsdp_parse(rsdp, 36, &sdt_phys, &acpi.xsdt)) {
		acpi.sdt = map_table(sdt_phys, &acpi.sdt_len);
		if (!acpi.sdt && acpi.xsdt) {
			/* A bad XSDT: fall back on the RSDT the v1 part names. */
			acpi_rsdp_parse(rsdp, 20, &sdt_phys, &acpi.xsdt);
			acpi.sdt = map_table(sdt_phys, &acpi.sdt_len);
		}
		if (!acpi.sdt)
			pr_warn("acpi: %s at %#lx is corrupt", acpi.xsdt ? "XSDT" : "RSDT", sdt_phys);
		else
			pr_debug("acpi: RSDP at %#lx, %s at %#lx", acpi.rsdp,
				 acpi.xsdt ? "XSDT" : "RSDT", sdt_phys);
	}
	if (!acpi.sdt) {
		acpi.sdt_len = 0;   /* acpi_find_table then finds nothing */
		static const uint8_t empty[36];
		acpi.sdt = empty;
	}
	parse_madt();
	parse_fadt();
	log_summary();
}

const char *acpi_poweroff_method(void)
{
	switch (acpi.off_method) {
	case OFF_PM1: return "pm1";
	case OFF_SLEEP_CTL: return "sleep-ctl";
	default: return NULL;
	}
}

static void pm1_write(const struct acpi_gas *g, uint8_t typ)
{
	if (!g->addr || g->space != ACPI_SPACE_IO || g->addr >= 0x10000)
		return;
	uint16_t port = (uint16_t)g->addr;
	uint16_t v = inw(port) & ~(uint16_t)(7 << 10 | 1 << 13);
	/* Sleep type first, then SLP_EN, as the spec's sequence has it. */
	outw(port, v | (uint16_t)(typ << 10));
	outw(port, v | (uint16_t)(typ << 10) | 1 << 13);
}

void acpi_poweroff(void)
{
	if (!acpi.off_method)
		return;
	resolve_s5();
	switch (acpi.off_method) {
	case OFF_SLEEP_CTL: {
		uint8_t v = (uint8_t)((acpi.slp_typa & 7) << 2 | 1 << 5);   /* SLP_TYP, SLP_EN */
		if (acpi.sleep_ctl_mmio)
			*acpi.sleep_ctl_mmio = v;
		else
			outb((uint16_t)acpi.fadt.sleep_ctl.addr, v);
		break;
	}
	case OFF_PM1:
		pm1_write(&acpi.fadt.pm1a_cnt, acpi.slp_typa);
		pm1_write(&acpi.fadt.pm1b_cnt, acpi.slp_typb);
		break;
	default:
		return;
	}
	/* The write stops the VM at once under QEMU; give real chipsets a moment. */
	for (uint64_t t0 = rdtsc(); rdtsc() - t0 < 1ull << 30;)
		cpu_relax();
}

static int acpi_selftest(void)
{
	int bad = 0;
	if (!acpi.rsdp || !acpi.sdt_len) {
		pr_err("acpi: no RSDP/RSDT found");
		bad++;
	}
	if (!acpi.have_madt || !acpi.have_fadt) {
		pr_err("acpi: MADT %s, FADT %s", acpi.have_madt ? "ok" : "missing",
		       acpi.have_fadt ? "ok" : "missing");
		bad++;
	}
	if (acpi_cpu_count < 1 || acpi_ioapic_count < 1) {
		pr_err("acpi: %u CPUs, %u IOAPICs", acpi_cpu_count, acpi_ioapic_count);
		bad++;
	}
	if (acpi.off_method)
		resolve_s5();
	if (!acpi_poweroff_method() || !acpi.s5_found) {
		pr_err("acpi: poweroff path unknown (method %s, \\_S5 %s)",
		       acpi_poweroff_method() ? acpi_poweroff_method() : "none",
		       acpi.s5_found ? "found" : "missing");
		bad++;
	}
	struct acpi_irq_route com1 = acpi_isa_irq_route(4);
	uint32_t dsdt_len = 0;
	acpi_find_table("DSDT", 0, &dsdt_len);
	pr_info("acpi: %u CPUs, poweroff via %s with SLP_TYP %u, COM1 -> GSI %u, DSDT %u bytes",
		acpi_cpu_count, acpi_poweroff_method() ? acpi_poweroff_method() : "none",
		acpi.slp_typa, com1.gsi, dsdt_len);
	return bad;
}
SELFTEST("acpi", acpi_selftest);
