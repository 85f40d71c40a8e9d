/* Between the virtio core and its transports. */
#pragma once
#include "drivers/virtio/virtio.h"

/* Devices from `virtio_mmio.device=` entries and QEMU microvm's window. */
void virtio_mmio_probe_all(void);
/* virtio devices the PCI scan found (vendor 0x1af4). */
void virtio_pci_probe_all(void);
