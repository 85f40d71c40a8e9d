/* futex(2) directly: WAIT/WAKE, value mismatch, relative and absolute
 * timeouts on both clocks, bitsets, REQUEUE, CMP_REQUEUE, WAKE_OP, PI
 * operations refused, robust futexes of a thread that dies. */
#include "check.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* <linux/futex.h>'s values (musl-gcc has no kernel headers) */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_REQUEUE_PRIVATE (FUTEX_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PRIVATE (FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_OP_PRIVATE (FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG)
#define FUTEX_LOCK_PI_PRIVATE (FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_UNLOCK_PI_PRIVATE (FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAIT_BITSET_PRIVATE (FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_BITSET_PRIVATE (FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu
#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_GT 4
#define FUTEX_OP(op, oparg, cmp, cmparg) \
	((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))

static long futex(void *uaddr, int op, uint32_t val, const void *ts_or_val2, void *uaddr2,
		  uint32_t val3)
{
	return syscall(SYS_futex, uaddr, op, val, ts_or_val2, uaddr2, val3);
}

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static _Alignas(4) uint32_t word, word2;
static atomic_int waiting, woken_count;

struct waiter_arg {
	uint32_t *addr;
	uint32_t val;
	uint32_t bitset;
	int shared;
	long result;
	int err;
};

static void *waiter(void *p)
{
	struct waiter_arg *a = p;
	atomic_fetch_add(&waiting, 1);
	long r;
	if (a->bitset)
		r = futex(a->addr, FUTEX_WAIT_BITSET_PRIVATE, a->val, NULL, NULL, a->bitset);
	else
		r = futex(a->addr, a->shared ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE, a->val, NULL, NULL, 0);
	a->result = r;
	a->err = r < 0 ? errno : 0;
	atomic_fetch_add(&woken_count, 1);
	return NULL;
}

/* Waits until n threads have announced themselves and had time to block. */
static void settle(int n)
{
	while (atomic_load(&waiting) < n)
		sched_yield();
	sleep_ms(30);
}

static void start(pthread_t *t, struct waiter_arg *a, uint32_t *addr, uint32_t val, uint32_t bitset)
{
	a->addr = addr;
	a->val = val;
	a->bitset = bitset;
	a->shared = 0;
	a->result = -2;
	pthread_create(t, NULL, waiter, a);
}

int main(void)
{
	/* value mismatch */
	word = 1;
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT, 2, NULL, NULL, 0), EAGAIN);
	/* bad address, misaligned */
	EXPECT_ERRNO(futex((void *)8, FUTEX_WAIT, 0, NULL, NULL, 0), EFAULT);
	EXPECT_ERRNO(futex((char *)&word + 1, FUTEX_WAIT, 0, NULL, NULL, 0), EINVAL);

	/* relative timeout */
	struct timespec rel = { 0, 50 * 1000000 };
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT_PRIVATE, 1, &rel, NULL, 0), ETIMEDOUT);
	uint64_t el = now_ns(CLOCK_MONOTONIC) - t0;
	EXPECT(el >= 50000000ull && el < 2000000000ull);

	/* absolute timeouts: monotonic, then realtime */
	struct timespec abs;
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += 40 * 1000000;
	if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
	t0 = now_ns(CLOCK_MONOTONIC);
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 1, &abs, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
	EXPECT(now_ns(CLOCK_MONOTONIC) - t0 >= 30000000ull);
	clock_gettime(CLOCK_REALTIME, &abs);
	abs.tv_nsec += 40 * 1000000;
	if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 1, &abs, NULL,
			   FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
	EXPECT(now_ns(CLOCK_REALTIME) >= (uint64_t)abs.tv_sec * 1000000000ull + (uint64_t)abs.tv_nsec);
	/* a deadline in the past times out at once; a zero bitset is invalid */
	abs.tv_sec = 0;
	abs.tv_nsec = 1;
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 1, &abs, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 1, NULL, NULL, 0), EINVAL);
	/* invalid timespec */
	struct timespec badts = { 0, 1000000000 };
	EXPECT_ERRNO(futex(&word, FUTEX_WAIT_PRIVATE, 1, &badts, NULL, 0), EINVAL);

	/* wake with nobody waiting */
	EXPECT(futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0);

	/* WAIT + WAKE across threads, one at a time */
	pthread_t t[4];
	struct waiter_arg a[4];
	word = 0;
	atomic_store(&waiting, 0);
	atomic_store(&woken_count, 0);
	for (int i = 0; i < 3; i++)
		start(&t[i], &a[i], &word, 0, 0);
	settle(3);
	EXPECT(atomic_load(&woken_count) == 0);
	EXPECT(futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 1);
	while (atomic_load(&woken_count) < 1)
		sched_yield();
	sleep_ms(20);
	EXPECT(atomic_load(&woken_count) == 1);
	EXPECT(futex(&word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0) == 2);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		EXPECT(a[i].result == 0);
	}

	/* bitsets: a wake for bit 2 leaves the bit-1 waiter asleep */
	atomic_store(&waiting, 0);
	atomic_store(&woken_count, 0);
	start(&t[0], &a[0], &word, 0, 1);
	start(&t[1], &a[1], &word, 0, 2);
	settle(2);
	EXPECT(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 2) == 1);
	pthread_join(t[1], NULL);
	EXPECT(atomic_load(&woken_count) == 1);
	EXPECT(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 1) == 1);
	pthread_join(t[0], NULL);

	/* REQUEUE: wake 1, move the rest to word2, then wake them there */
	atomic_store(&waiting, 0);
	atomic_store(&woken_count, 0);
	for (int i = 0; i < 4; i++)
		start(&t[i], &a[i], &word, 0, 0);
	settle(4);
	EXPECT(futex(&word, FUTEX_REQUEUE_PRIVATE, 1, (void *)(uintptr_t)10, &word2, 0) == 4);
	sleep_ms(20);
	EXPECT(atomic_load(&woken_count) == 1);
	EXPECT(futex(&word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0) == 0);
	/* CMP_REQUEUE refuses on a mismatch, then moves them back */
	word2 = 5;
	EXPECT_ERRNO(futex(&word2, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)(uintptr_t)10, &word, 6), EAGAIN);
	EXPECT(futex(&word2, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)(uintptr_t)10, &word, 5) == 3);
	EXPECT(futex(&word2, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0) == 0);
	EXPECT(futex(&word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0) == 3);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	EXPECT(atomic_load(&woken_count) == 4);

	/* WAKE_OP: word2 += 1 (old 5 > 4: wake on word2 too) */
	atomic_store(&waiting, 0);
	word = 0;
	word2 = 5;
	start(&t[0], &a[0], &word, 0, 0);
	start(&t[1], &a[1], &word2, 5, 0);
	settle(2);
	uint32_t op = FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_GT, 4);
	EXPECT(futex(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)(uintptr_t)1, &word2, op) == 2);
	EXPECT(word2 == 6);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	/* comparison false: only the first futex's waiters */
	op = FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_EQ, 100);
	EXPECT(futex(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)(uintptr_t)1, &word2, op) == 0);
	EXPECT(word2 == 0);

	/* shared (non-private) futexes work the same */
	atomic_store(&waiting, 0);
	word = 0;
	a[0].addr = &word;
	a[0].val = 0;
	a[0].bitset = 0;
	a[0].shared = 1;
	pthread_create(&t[0], NULL, waiter, &a[0]);
	settle(1);
	EXPECT(futex(&word, FUTEX_WAKE, 1, NULL, NULL, 0) == 1);
	pthread_join(t[0], NULL);

	/* PI: refused cleanly */
	word = 0;
	errno = 0;
	long r = futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	EXPECT(r == 0 || errno == ENOSYS);
	if (r == 0)
		futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);

	return guest_done("thr_futex");
}
