#include "drivers/serial.h"
#include "arch/x86_64/cpu.h"

#define COM1 0x3f8
enum { DATA = 0, IER = 1, FCR = 2, LCR = 3, MCR = 4, LSR = 5 };
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20

/* A byte the host sent before we turned the FIFO on (in non-FIFO mode the
 * UART holds one); enabling the FIFO would drop it, so it is kept here. */
static int early_byte = -1;

void serial_init(void)
{
	if (inb(COM1 + LSR) & LSR_DATA_READY)
		early_byte = inb(COM1 + DATA);
	outb(COM1 + IER, 0x00);
	outb(COM1 + LCR, 0x80);        /* divisor latch: 115200 baud */
	outb(COM1 + DATA, 0x01);
	outb(COM1 + IER, 0x00);
	outb(COM1 + LCR, 0x03);        /* 8N1 */
	outb(COM1 + FCR, 0xC1);        /* FIFOs on, 14-byte threshold */
	outb(COM1 + MCR, 0x0B);        /* DTR, RTS, OUT2 (IRQ gate) */
}

void serial_write(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		while (!(inb(COM1 + LSR) & LSR_THR_EMPTY))
			cpu_relax();
		outb(COM1 + DATA, p[i]);
	}
}

int serial_read_byte(void)
{
	if (early_byte >= 0) {
		int c = early_byte;
		early_byte = -1;
		return c;
	}
	if (!(inb(COM1 + LSR) & LSR_DATA_READY))
		return -1;
	return inb(COM1 + DATA);
}

void serial_enable_rx_irq(void)
{
	outb(COM1 + IER, 0x01);
}

void serial_disable_rx_irq(void)
{
	outb(COM1 + IER, 0x00);
}
