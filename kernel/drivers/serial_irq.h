/* COM1 receive interrupt: received bytes go to the console as they come. */
#pragma once

/* Routes COM1's ISA IRQ through the IOAPIC and enables the UART's receive
 * interrupt. After ioapic_init(). */
void serial_irq_init(void);
