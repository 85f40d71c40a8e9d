#include "lib/klog.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "drivers/console.h"
#include "sched/spinlock.h"
#include "arch/x86_64/time.h"

#define RING_SIZE 16384   /* bytes of records kept for dmesg */

struct record_hdr {
	uint64_t ns;
	uint16_t len;
	uint8_t level;
};

static struct {
	spinlock_t lock;
	uint8_t ring[RING_SIZE];
	uint64_t head, tail;   /* byte positions; tail - head <= RING_SIZE */
} log;

static enum klog_level console_level = KLOG_INFO;

void klog_set_console_level(enum klog_level lvl)
{
	console_level = lvl;
}

bool klog_level_from_name(const char *name, enum klog_level *out)
{
	static const char *const names[] = { "err", "warn", "info", "debug" };
	for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(name, names[i])) {
			*out = (enum klog_level)i;
			return true;
		}
	}
	return false;
}

static void ring_put(const void *p, size_t n)
{
	const uint8_t *s = p;
	for (size_t i = 0; i < n; i++)
		log.ring[log.tail++ % RING_SIZE] = s[i];
}

static void ring_get(uint64_t pos, void *p, size_t n)
{
	uint8_t *d = p;
	for (size_t i = 0; i < n; i++)
		d[i] = log.ring[(pos + i) % RING_SIZE];
}

static void store(enum klog_level lvl, const char *msg, size_t len)
{
	struct record_hdr h = { clock_monotonic_ns(), (uint16_t)len, (uint8_t)lvl };
	size_t need = sizeof(h) + len;
	uint64_t f = spin_lock_irqsave(&log.lock);
	while (log.tail + need - log.head > RING_SIZE) {   /* drop the oldest */
		struct record_hdr old;
		ring_get(log.head, &old, sizeof(old));
		log.head += sizeof(old) + old.len;
	}
	ring_put(&h, sizeof(h));
	ring_put(msg, len);
	spin_unlock_irqrestore(&log.lock, f);
}

void vklog(enum klog_level lvl, const char *fmt, va_list ap)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "wisp: ");
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (line[n - 1] != '\n')
		line[n++] = '\n';
	line[n] = 0;
	store(lvl, line + 6, n - 7);   /* without prefix and newline */
	if (lvl <= console_level)
		console_write(lvl <= KLOG_WARN ? CON_LOG_WARN : CON_LOG_INFO, line, n);
}

void klog(enum klog_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vklog(lvl, fmt, ap);
	va_end(ap);
}

size_t klog_read(char *buf, size_t size)
{
	size_t out = 0;
	uint64_t f = spin_lock_irqsave(&log.lock);
	for (uint64_t pos = log.head; pos < log.tail;) {
		struct record_hdr h;
		char msg[512];
		ring_get(pos, &h, sizeof(h));
		ring_get(pos + sizeof(h), msg, h.len);
		pos += sizeof(h) + h.len;
		int n = snprintf(buf + out, out < size ? size - out : 0,
				 "[%5lu.%06lu] %.*s\n", h.ns / 1000000000,
				 h.ns / 1000 % 1000000, (int)h.len, msg);
		out += n;
	}
	spin_unlock_irqrestore(&log.lock, f);
	if (out >= size && size)
		out = size - 1;
	return out;
}
