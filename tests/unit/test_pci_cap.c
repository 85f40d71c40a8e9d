/* PCI capability list walk (kernel/drivers/pci/pci_cap.c) on a fake
 * configuration space: order, id filter, end of list, no list at all,
 * loops and pointers into the header. */
#include "check.h"
#include <stdint.h>
#include <stdbool.h>
#include "../../kernel/drivers/pci/pci_cap.c"

static uint8_t cfg[256];

static uint8_t rd(void *ctx, unsigned off)
{
	(void)ctx;
	return off < 256 ? cfg[off] : 0xff;
}

static void cap(unsigned off, uint8_t id, uint8_t next)
{
	cfg[off] = id;
	cfg[off + 1] = next;
}

int main(void)
{
	/* No capability list bit: nothing, even with a pointer set. */
	cfg[PCI_CAP_PTR] = 0x40;
	cap(0x40, PCI_CAP_ID_VENDOR, 0);
	CHECK(pci_cap_next(rd, NULL, 0, 0) == 0);

	/* A virtio-pci-like list: MSI-X, then four vendor caps. Low two bits
	 * of pointers are reserved and must be ignored. */
	cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	cfg[PCI_CAP_PTR] = 0x98 | 3;
	cap(0x98, PCI_CAP_ID_MSIX, 0x84);
	cap(0x84, PCI_CAP_ID_VENDOR, 0x70 | 1);
	cap(0x70, PCI_CAP_ID_VENDOR, 0x60);
	cap(0x60, PCI_CAP_ID_VENDOR, 0x50);
	cap(0x50, PCI_CAP_ID_VENDOR, 0x40);
	cap(0x40, PCI_CAP_ID_VENDOR, 0x00);
	unsigned seen[8], n = 0;
	for (unsigned c = pci_cap_next(rd, NULL, 0, PCI_CAP_ID_VENDOR); c && n < 8;
	     c = pci_cap_next(rd, NULL, c, PCI_CAP_ID_VENDOR))
		seen[n++] = c;
	CHECK(n == 5);
	CHECK(seen[0] == 0x84 && seen[1] == 0x70 && seen[2] == 0x60 && seen[3] == 0x50 &&
	      seen[4] == 0x40);
	CHECK(pci_cap_next(rd, NULL, 0, PCI_CAP_ID_MSIX) == 0x98);
	CHECK(pci_cap_next(rd, NULL, 0x98, PCI_CAP_ID_MSIX) == 0);
	CHECK(pci_cap_next(rd, NULL, 0, PCI_CAP_ID_MSI) == 0);
	CHECK(pci_cap_next(rd, NULL, 0, 0) == 0x98);          /* any id */
	CHECK(pci_cap_next(rd, NULL, 0x98, 0) == 0x84);

	/* A loop ends the walk instead of spinning. */
	cap(0x40, PCI_CAP_ID_VENDOR, 0x84);
	CHECK(pci_cap_next(rd, NULL, 0, PCI_CAP_ID_MSI) == 0);
	/* A pointer into the header (< 0x40) ends the list. */
	cap(0x60, PCI_CAP_ID_VENDOR, 0x10);
	CHECK(pci_cap_next(rd, NULL, 0x60, PCI_CAP_ID_VENDOR) == 0);
	/* All-ones config space (no device) finds nothing. */
	memset(cfg, 0xff, sizeof(cfg));
	CHECK(pci_cap_next(rd, NULL, 0, PCI_CAP_ID_VENDOR) == 0);
	return CHECK_SUMMARY();
}
