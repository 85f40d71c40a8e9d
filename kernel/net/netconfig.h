/* Network configuration's early start (netconfig.c): main.c calls it once
 * interrupts are on, before the initramfs is unpacked, so the DHCP
 * exchange overlaps the rest of the boot and the program; net_init
 * (net/stack.h) applies what /etc/wisp/config adds without waiting for
 * it, net_wait_configured does. Thread context. */
#pragma once

void net_start(void);
