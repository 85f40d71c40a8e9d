/*
 * The console: the program's stdin/stdout/stderr and the kernel log over the
 * serial line. With `console=framed` (what the wisp tool asks for) every
 * write is wrapped in a frame 0xF5 CHAN LEN payload so the host can split the
 * streams byte-exactly; see docs/console-protocol.md. Otherwise plain text.
 */
#pragma once

enum console_chan {
	CON_STDIN = 0,
	CON_STDOUT = 1,
	CON_STDERR = 2,
	CON_LOG_INFO = 3,
	CON_LOG_WARN = 4,
	CON_EXIT = 5,
	CON_READY = 6,   /* empty frame: input is read from now on */
};

void console_init(bool framed);
bool console_is_framed(void);
void console_write(enum console_chan chan, const void *buf, size_t len);
/* Tells the host that input is read from now on: before it, the host sends
 * nothing, since firmware and early boot may reset the UART and drop
 * bytes (framed mode only). */
void console_send_ready(void);
/* Tells the host the program's exit status (framed mode only). */
void console_send_exit(int status);

/* Input. The UART interrupt handler calls console_rx_poll(), which drains
 * the UART as far as the stdin buffer has room (flow control: see
 * docs/console-protocol.md); console_rx_byte() feeds one byte. */
void console_rx_poll(void);
void console_rx_byte(uint8_t b);
/* Copies up to len bytes of stdin; returns the count, 0 at EOF, -1 when
 * nothing is buffered yet (the caller waits). */
ssize_t console_read_stdin(void *buf, size_t len);
