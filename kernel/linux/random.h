/* Random bytes for the program: getrandom, AT_RANDOM. RDRAND when the CPU
 * has it, else a generator seeded from the TSC (not cryptographic; a
 * virtio-rng seed is a later step). */
#pragma once

void random_bytes(void *buf, size_t len);
