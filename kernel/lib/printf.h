/* Formatted output into buffers: the kernel's only printf engine.
 * Supports %d %i %u %x %X %o %p %s %c %% with flags "-0 #+", width,
 * precision (also '*') and the length modifiers hh h l ll z t j. */
#pragma once

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
