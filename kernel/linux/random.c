#include "linux/random.h"
#include "linux/syscall.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/usercopy.h"
#include "lib/string.h"
#include "errno.h"

static uint64_t state[2];

/* xorshift128+, seeded once from the TSC when RDRAND fails. */
static uint64_t fallback(void)
{
	if (!state[0] && !state[1]) {
		state[0] = rdtsc() * 0x9E3779B97F4A7C15ull | 1;
		state[1] = rdtsc() ^ 0xD1B54A32D192ED03ull;
	}
	uint64_t s1 = state[0], s0 = state[1];
	state[0] = s0;
	s1 ^= s1 << 23;
	state[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
	return state[1] + s0;
}

void random_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		uint64_t r;
		if (!rdrand64(&r))
			r = fallback();
		size_t n = MIN(len, sizeof(r));
		memcpy(p, &r, n);
		p += n;
		len -= n;
	}
}

#define GRND_NONBLOCK 1
#define GRND_RANDOM   2
#define GRND_INSECURE 4

static long sys_getrandom(void *ubuf, size_t len, unsigned flags)
{
	if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
		return -EINVAL;
	uint8_t tmp[256];
	size_t done = 0;
	len = MIN(len, (size_t)33554431);       /* Linux's per-call limit */
	while (done < len) {
		size_t n = MIN(len - done, sizeof(tmp));
		random_bytes(tmp, n);
		if (copy_to_user((uint8_t *)ubuf + done, tmp, n) < 0)
			return done ? (long)done : -EFAULT;
		done += n;
	}
	memset(tmp, 0, sizeof(tmp));
	return (long)done;
}
SYSCALL(318, getrandom, sys_getrandom, "pux");
