/* PCI capability list walk (pci_cap.h). Pure: host-tested. */
#include "drivers/pci/pci_cap.h"

unsigned pci_cap_next(pci_cfg_read8_fn rd, void *ctx, unsigned prev, uint8_t id)
{
	unsigned off;
	if (prev == 0) {
		uint8_t st = rd(ctx, PCI_STATUS);
		if (!(st & PCI_STATUS_CAP_LIST))
			return 0;
		off = rd(ctx, PCI_CAP_PTR) & 0xfc;
	} else {
		off = rd(ctx, prev + 1) & 0xfc;
	}
	/* 48 = (256 - 64) / 4: more steps than that means a loop. Pointers
	 * below 0x40 point into the standard header: end of list. */
	for (int steps = 0; off >= 0x40 && steps < 48; steps++) {
		uint8_t cid = rd(ctx, off);
		if (cid == 0xff)
			return 0;
		if (id == 0 || cid == id)
			return off;
		off = rd(ctx, off + 1) & 0xfc;
	}
	return 0;
}
