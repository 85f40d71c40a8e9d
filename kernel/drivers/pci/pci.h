/*
 * PCI: a scan of configuration space at boot, through ECAM when the ACPI
 * MCFG table gives one (q35) and the legacy 0xCF8/0xCFC ports otherwise
 * (pc), following bridges. BARs are read as the firmware assigned them
 * (SeaBIOS on q35/pc); we do not reassign. The INTx line of each device
 * is translated to an IOAPIC GSI for the chipset QEMU emulates (q35's ICH9:
 * fixed PIRQ wiring; pc's PIIX3: the ISA IRQ in the interrupt line
 * register), as their ACPI tables would say.
 */
#pragma once
#include "drivers/pci/pci_cap.h"

#define PCI_VENDOR_ID   0x00
#define PCI_DEVICE_ID   0x02
#define PCI_COMMAND     0x04
#define PCI_CMD_IO      0x1
#define PCI_CMD_MEM     0x2
#define PCI_CMD_MASTER  0x4
#define PCI_CMD_INTX_DISABLE 0x400
#define PCI_CLASS_REV   0x08
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0        0x10
#define PCI_SECONDARY_BUS 0x19
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN  0x3d

struct pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint8_t class, subclass, prog_if;
	uint8_t header_type;           /* without the multi-function bit */
	uint8_t irq_pin;               /* 1..4 = INTA..INTD, 0 none */
	int gsi;                       /* IOAPIC line of irq_pin, -1 unknown */
	bool irq_active_low, irq_level;
	uint64_t bar[6];               /* physical (memory) or port (I/O) base */
	uint64_t bar_size[6];
	bool bar_io[6];
	struct pci_dev *next;
};

/* Scans every bus. After acpi_init; before smp_init (maps ECAM). */
void pci_init(void);
/* First device found, then ->next; NULL when there is no PCI. */
struct pci_dev *pci_devices(void);

uint8_t pci_read8(const struct pci_dev *d, unsigned off);
uint16_t pci_read16(const struct pci_dev *d, unsigned off);
uint32_t pci_read32(const struct pci_dev *d, unsigned off);
void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v);
void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v);

/* Capability offset by id after prev (0: first); 0 when none. */
unsigned pci_find_cap(const struct pci_dev *d, uint8_t id, unsigned prev);
/* Turns on memory/I/O decoding and bus mastering; INTx left enabled. */
void pci_enable(const struct pci_dev *d);
