/* /proc/net files of the IPv4 layer (proc_net.c); same convention as
 * tcp_proc_net (net/stack.h): format into buf (at most len bytes), return
 * the length needed. They take net_lock themselves. */
#pragma once
#include <stddef.h>

size_t proc_net_dev(char *buf, size_t len);
size_t proc_net_snmp(char *buf, size_t len);
size_t proc_net_route(char *buf, size_t len);
size_t proc_net_arp(char *buf, size_t len);
