/* Freestanding string and memory functions (the compiler also emits calls
 * to memcpy, memset, memmove and memcmp on its own). */
#pragma once

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
size_t strlcpy(char *dst, const char *src, size_t size);
size_t strlcat(char *dst, const char *src, size_t size);
bool str_starts_with(const char *s, const char *prefix);
/* Parses an unsigned number (0x.. hex, else decimal) with an optional
 * K/M/G suffix; returns false on junk. */
bool parse_u64(const char *s, uint64_t *out);
