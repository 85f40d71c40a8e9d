/* Clocks: the TSC, calibrated at boot, drives the monotonic clock. */
#pragma once

void time_init(void);
/* Nanoseconds since the kernel's first instruction. */
uint64_t clock_monotonic_ns(void);
/* Nanoseconds since the Unix epoch (wall clock). */
uint64_t clock_realtime_ns(void);
uint64_t tsc_to_ns(uint64_t tsc_delta);
extern uint64_t tsc_khz;
