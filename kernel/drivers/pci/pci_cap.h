/*
 * PCI capability lists, walked through a config-space reader so the walk
 * is pure (tests/unit/test_pci_cap.c runs it on a fake config space).
 */
#pragma once

#define PCI_STATUS          0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAP_PTR         0x34

#define PCI_CAP_ID_MSI    0x05
#define PCI_CAP_ID_VENDOR 0x09
#define PCI_CAP_ID_PCIE   0x10
#define PCI_CAP_ID_MSIX   0x11

typedef uint8_t (*pci_cfg_read8_fn)(void *ctx, unsigned off);

/* Offset of the next capability with id `id` (any id when id is 0) after
 * the one at `prev` (0: from the start of the list); 0 when there is none.
 * Survives loops and pointers into the header (at most 48 steps). */
unsigned pci_cap_next(pci_cfg_read8_fn rd, void *ctx, unsigned prev, uint8_t id);
