/* Network configuration's early start (netconfig.c): main.c calls it once
 * interrupts are on, before the initramfs is unpacked, so the DHCP
 * exchange overlaps the rest of the boot; net_init (net/stack.h) waits
 * for it and applies what /etc/wisp/config adds. Thread context. */
#pragma once

void net_start(void);
