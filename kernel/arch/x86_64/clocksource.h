/* Where time.c gets the TSC frequency and the wall clock from. Internal to
 * arch/x86_64 (time.c, timer.c). */
#pragma once

/* kvmclock (pvclock): TSC kHz, and the wall clock at TSC value *tsc_at. */
bool kvmclock_read(uint64_t *tsc_khz, uint64_t *wall_ns, uint64_t *tsc_at);

/* PIT channel 0 against the TSC over about window_us; false when no PIT
 * counts. Leaves the PIT in one-shot mode 0, which fires at most once. */
bool pit_calibrate_tsc(unsigned window_us, uint64_t *tsc_khz);
/* Stops whatever periodic mode the firmware left the PIT in. */
void pit_quiesce(void);

/* The CMOS clock as Unix seconds; false when no RTC answers sanely. */
bool rtc_read_unix(int64_t *secs);
