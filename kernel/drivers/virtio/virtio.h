/*
 * virtio 1.x devices, whatever the transport (virtio-mmio version 2, or
 * modern virtio-pci), for drivers (virtio-blk now; net, rng later).
 *
 * Discovery (virtio_init) finds the devices: on the MMIO transport from
 * `virtio_mmio.device=SIZE@ADDR:IRQ` command-line entries and by probing
 * QEMU microvm's window, on PCI from the PCI scan (drivers/pci/pci.h).
 * Each device is offered to the driver table in virtio.c by device id.
 *
 * A driver's probe:
 *     virtio_negotiate(vd, wanted_features)    reset, ACK, DRIVER, features
 *     virtio_config_read(vd, off, &x, size)    device-specific config
 *     virtio_setup_vq(vd, 0, max, callback)    one per queue
 *     virtio_driver_ok(vd)                     the device goes live
 * then virtio_vq_add / virtio_vq_kick to submit, and takes completions in
 * its callback (interrupt context) with virtio_vq_get_used.
 */
#pragma once
#include "drivers/virtio/virtqueue.h"
#include "sched/spinlock.h"
#include "sched/wait.h"

/* Device ids (virtio 1.2 section 5). */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4

/* Device status (section 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED      128

/* Transport-independent feature bits (section 6). */
#define VIRTIO_F_INDIRECT_DESC   28
#define VIRTIO_F_EVENT_IDX       29
#define VIRTIO_F_VERSION_1       32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED     34

#define VIRTIO_MAX_VQS 4

struct virtio_device;
struct virtio_vq;

struct virtio_transport {
	const char *name;                          /* "mmio", "pci" */
	uint8_t (*get_status)(struct virtio_device *vd);
	void (*set_status)(struct virtio_device *vd, uint8_t status);  /* 0 resets */
	uint64_t (*get_features)(struct virtio_device *vd);
	void (*set_features)(struct virtio_device *vd, uint64_t features);
	uint32_t (*config_generation)(struct virtio_device *vd);
	void (*config_read)(struct virtio_device *vd, unsigned off, void *buf, unsigned len);
	/* Largest size of queue idx, 0 when it does not exist. */
	unsigned (*queue_max)(struct virtio_device *vd, unsigned idx);
	/* Tells the device where queue idx lives and enables it. 0 or -errno. */
	int (*queue_enable)(struct virtio_device *vd, struct virtio_vq *q);
	void (*notify)(struct virtio_device *vd, struct virtio_vq *q);
	/* Reads and acknowledges the interrupt status: bit 0 a queue, bit 1
	 * the configuration changed. */
	uint32_t (*irq_ack)(struct virtio_device *vd);
};

typedef void (*virtio_vq_callback_t)(struct virtio_vq *q);

struct virtio_vq {
	struct virtio_device *vd;
	unsigned index;
	struct virtq ring;
	struct wait_queue space_wq;      /* its lock guards ring; waiters for free descriptors */
	virtio_vq_callback_t callback;   /* used buffers arrived (interrupt context) */
	void *priv;                      /* the driver's */
	/* Transport data. */
	uint32_t notify_off;             /* pci: address offset of its doorbell */
	uint64_t nr_notifies, nr_interrupts;
	uint64_t nr_nudges;              /* notifications sent by virtio_vq_nudge */
};

struct virtio_device {
	const struct virtio_transport *t;
	void *tp;                        /* transport's private data */
	char where[32];                  /* "mmio@0xfeb00000", "pci 0000:00:03.0" */
	uint32_t device_id;
	uint64_t features;               /* negotiated */
	int gsi;                         /* interrupt line, -1 for none (polled) */
	bool irq_active_low, irq_edge;   /* how the line signals (default: level, high) */
	unsigned nvqs;
	struct virtio_vq vqs[VIRTIO_MAX_VQS];
	void *priv;                      /* the driver's */
	/* The device's configuration changed (interrupt context; optional). */
	void (*config_changed)(struct virtio_device *vd);
	struct virtio_device *next;      /* all devices, discovery order */
	struct virtio_device *irq_next;  /* devices sharing gsi */
};

/* Finds every device and binds drivers. After acpi_init, ioapic_init and
 * sched_init; before smp_init (it maps MMIO windows). */
void virtio_init(void);

/* Registration by a transport: offers vd to the driver for its id. */
void virtio_add_device(struct virtio_device *vd);

/* ---- for drivers ---- */
static inline bool virtio_has_feature(const struct virtio_device *vd, unsigned bit)
{
	return (vd->features >> bit) & 1;
}
/* Resets the device, acknowledges it and negotiates: the device's
 * features & wanted, plus VERSION_1, which must be offered (legacy-only
 * devices are refused). 0, or -ENODEV and the device marked FAILED. */
int virtio_negotiate(struct virtio_device *vd, uint64_t wanted);
/* Reads len (1, 2, 4 or 8) bytes of device config at off, consistently
 * (retried while the generation changes). */
void virtio_config_read(struct virtio_device *vd, unsigned off, void *buf, unsigned len);
/* Allocates and enables queue idx with at most max entries. */
struct virtio_vq *virtio_setup_vq(struct virtio_device *vd, unsigned idx,
				  unsigned max, virtio_vq_callback_t cb, void *priv);
/* Sets DRIVER_OK and routes the interrupt. */
int virtio_driver_ok(struct virtio_device *vd);
/* Marks the device FAILED (driver gave up). */
void virtio_fail(struct virtio_device *vd);

/* Adds a chain (buffers given by kernel virtual address; each must be
 * physically contiguous). Sleeps until enough descriptors are free when
 * `wait` (thread context only); else returns -ENOSPC. Notifies the device.
 * -EINVAL when the chain can never fit. */
struct virtio_sg {
	const void *buf;
	uint32_t len;
	bool device_writes;
};
int virtio_vq_add(struct virtio_vq *q, const struct virtio_sg *sg, unsigned n,
		  void *cookie, bool wait);
/* As virtio_vq_add without waiting and without notifying the device, for
 * batches: virtio_vq_kick afterwards tells it once (if it wants to hear). */
int virtio_vq_add_nokick(struct virtio_vq *q, const struct virtio_sg *sg, unsigned n,
			 void *cookie);
void virtio_vq_kick(struct virtio_vq *q);
/* For a driver's watchdog (a timer, long after the adds): notifies the
 * device when chains wait in the available ring and it has used none
 * since the previous call (*seen keeps the used index between calls).
 * Repairs a notification lost to a fence the platform did not keep (see
 * virtqueue.c); a spare one is harmless. Returns whether it notified. */
bool virtio_vq_nudge(struct virtio_vq *q, uint16_t *seen);
/* Interrupt suppression for polling drivers (virtq_disable_cb/enable_cb;
 * with VIRTIO_F_EVENT_IDX negotiated the event index is used). enable
 * returns false when used chains are already waiting: take them. */
void virtio_vq_disable_cb(struct virtio_vq *q);
bool virtio_vq_enable_cb(struct virtio_vq *q);
/* Next completed chain's cookie (and bytes written), NULL when none; takes
 * the lock itself. Wakes space waiters. */
void *virtio_vq_get_used(struct virtio_vq *q, uint32_t *len);
/* Runs the callbacks of all of vd's queues as the interrupt would (polling). */
void virtio_poll(struct virtio_device *vd);

/* Physical address of any kernel memory (direct map, image, KVA). */
uint64_t virtio_virt_to_phys(const void *p);

/* First device (discovery order) or NULL; ->next for the rest. */
struct virtio_device *virtio_devices(void);
