#include "drivers/console.h"
#include "drivers/serial.h"
#include "sched/spinlock.h"

#define FRAME_MAGIC 0xF5

static bool framed;
static spinlock_t tx_lock = SPINLOCK_INIT;

void console_init(bool use_frames)
{
	framed = use_frames;
}

bool console_is_framed(void)
{
	return framed;
}

static void send_frame(enum console_chan chan, const uint8_t *p, size_t len)
{
	uint8_t hdr[3] = { FRAME_MAGIC, (uint8_t)chan, (uint8_t)len };
	serial_write(hdr, 3);
	if (len)
		serial_write(p, len);
}

void console_write(enum console_chan chan, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t f = spin_lock_irqsave(&tx_lock);
	if (!framed) {
		serial_write(p, len);
	} else {
		while (len) {
			size_t n = len > 255 ? 255 : len;
			send_frame(chan, p, n);
			p += n;
			len -= n;
		}
	}
	spin_unlock_irqrestore(&tx_lock, f);
}

void console_send_exit(int status)
{
	if (!framed)
		return;
	uint8_t v[4] = { (uint8_t)status, (uint8_t)(status >> 8),
			 (uint8_t)(status >> 16), (uint8_t)(status >> 24) };
	uint64_t f = spin_lock_irqsave(&tx_lock);
	send_frame(CON_EXIT, v, 4);
	spin_unlock_irqrestore(&tx_lock, f);
}

void console_send_ready(void)
{
	if (!framed)
		return;
	uint64_t f = spin_lock_irqsave(&tx_lock);
	send_frame(CON_READY, NULL, 0);
	spin_unlock_irqrestore(&tx_lock, f);
}

/* --- input: frames 0xF5 0 LEN data; LEN 0 marks end of file ------------ */

#define STDIN_BUF 4096
static struct {
	spinlock_t lock;
	uint8_t buf[STDIN_BUF];
	uint32_t head, tail;     /* tail - head bytes buffered */
	bool eof;
	int state;               /* 0 wait magic, 1 chan, 2 len, 3 payload */
	uint8_t chan, left;
} in;

static bool rx_throttled;

/* Called from the UART interrupt. Takes bytes while stdin has room; when it
 * is full, bytes stay in the UART — QEMU then stops reading from the host,
 * so nothing is lost — and the receive interrupt stays off until the
 * program reads (console_read_stdin). */
void console_rx_poll(void)
{
	for (;;) {
		if (in.tail - in.head >= STDIN_BUF) {
			rx_throttled = true;
			serial_disable_rx_irq();
			return;
		}
		int c = serial_read_byte();
		if (c < 0)
			return;
		console_rx_byte((uint8_t)c);
	}
}

void console_rx_byte(uint8_t b)
{
	uint64_t f = spin_lock_irqsave(&in.lock);
	if (!framed) {
		/* Plain mode: raw bytes are stdin; there is no end of file. */
		if (in.tail - in.head < STDIN_BUF)
			in.buf[in.tail++ % STDIN_BUF] = b;
		spin_unlock_irqrestore(&in.lock, f);
		return;
	}
	switch (in.state) {
	case 0:
		if (b == FRAME_MAGIC)
			in.state = 1;
		break;
	case 1:
		in.chan = b;
		in.state = 2;
		break;
	case 2:
		in.left = b;
		if (b == 0) {
			if (in.chan == CON_STDIN)
				in.eof = true;
			in.state = 0;
		} else {
			in.state = 3;
		}
		break;
	case 3:
		/* console_rx_poll stops reading the UART before this fills. */
		if (in.chan == CON_STDIN && in.tail - in.head < STDIN_BUF)
			in.buf[in.tail++ % STDIN_BUF] = b;
		if (--in.left == 0)
			in.state = 0;
		break;
	}
	spin_unlock_irqrestore(&in.lock, f);
}

ssize_t console_read_stdin(void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t n = 0;
	if (READ_ONCE(in.head) == READ_ONCE(in.tail))
		console_rx_poll();   /* in case an interrupt was missed or is off */
	uint64_t f = spin_lock_irqsave(&in.lock);
	while (n < len && in.head != in.tail)
		p[n++] = in.buf[in.head++ % STDIN_BUF];
	bool eof = in.eof;
	bool resume = n && rx_throttled;
	rx_throttled = false;
	spin_unlock_irqrestore(&in.lock, f);
	if (resume) {
		serial_enable_rx_irq();
		console_rx_poll();
	}
	if (n)
		return (ssize_t)n;
	return eof ? 0 : -1;
}
