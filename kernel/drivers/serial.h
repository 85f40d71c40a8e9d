/* The 16550 UART at COM1: the console's wire. */
#pragma once

void serial_init(void);
void serial_write(const void *buf, size_t len);
/* Returns the next received byte, or -1 when none is waiting. */
int serial_read_byte(void);
/* Enables the receive interrupt (the IRQ line is routed by the caller). */
void serial_enable_rx_irq(void);
void serial_disable_rx_irq(void);
#define SERIAL_IRQ 4
