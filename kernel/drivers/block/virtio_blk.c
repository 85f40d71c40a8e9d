/*
 * virtio-blk (virtio 1.2 section 5.2): one request queue, each request a
 * chain of header (device reads), data segments, status byte (device
 * writes). Features used: SEG_MAX and SIZE_MAX (request limits), RO
 * (writes refused with -EROFS before they reach the device), BLK_SIZE
 * (logged only: we always address 512-byte sectors, as the protocol does),
 * FLUSH (the disk has a write cache; blk_flush sends VIRTIO_BLK_T_FLUSH).
 */
#include "drivers/block/blockdev.h"
#include "drivers/virtio/virtio.h"
#include "lib/klog.h"
#include "lib/string.h"
#include "mm/heap.h"
#include "errno.h"

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9

/* Config space offsets. */
#define VBLK_CAPACITY 0
#define VBLK_SIZE_MAX 8
#define VBLK_SEG_MAX  12
#define VBLK_BLK_SIZE 20

#define VIRTIO_BLK_T_IN    0
#define VIRTIO_BLK_T_OUT   1
#define VIRTIO_BLK_T_FLUSH 4

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

struct vblk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* What lives in blk_request.drv (32 bytes, 32-aligned: never straddles a
 * page, so each part is one physically contiguous descriptor). */
struct vblk_drv {
	struct vblk_hdr hdr;
	volatile uint8_t status;
};
_Static_assert(sizeof(struct vblk_drv) <= sizeof(((struct blk_request *)0)->drv), "drv");

struct vblk {
	struct blockdev bd;
	struct virtio_device *vd;
	struct virtio_vq *vq;
};

static void vblk_done(struct virtio_vq *q)
{
	struct blk_request *rq;
	while ((rq = virtio_vq_get_used(q, NULL))) {
		struct vblk_drv *d = (struct vblk_drv *)rq->drv;
		int st = d->status == VIRTIO_BLK_S_OK ? 0 : -EIO;
		if (st)
			pr_warn("virtio-blk: %s: request type %u sector %lu failed (status %u)",
				rq->bdev->name, d->hdr.type, d->hdr.sector, d->status);
		blk_complete(rq, st);
	}
}

static int vblk_submit(struct blockdev *bd, struct blk_request *rq)
{
	struct vblk *v = bd->priv;
	struct vblk_drv *d = (struct vblk_drv *)rq->drv;
	d->hdr.type = rq->op == BLK_OP_READ ? VIRTIO_BLK_T_IN :
		      rq->op == BLK_OP_WRITE ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_FLUSH;
	d->hdr.reserved = 0;
	d->hdr.sector = rq->op == BLK_OP_FLUSH ? 0 : rq->sector;
	d->status = 0xff;      /* the device overwrites it */
	struct virtio_sg sg[BLK_MAX_SEGS + 2];
	unsigned n = 0;
	sg[n++] = (struct virtio_sg){ &d->hdr, sizeof(d->hdr), false };
	if (rq->op != BLK_OP_FLUSH)
		for (unsigned i = 0; i < rq->nsegs; i++)
			sg[n++] = (struct virtio_sg){ rq->segs[i].buf, rq->segs[i].len,
						      rq->op == BLK_OP_READ };
	sg[n++] = (struct virtio_sg){ (const void *)&d->status, 1, true };
	return virtio_vq_add(v->vq, sg, n, rq, true);
}

static void vblk_poll(struct blockdev *bd)
{
	struct vblk *v = bd->priv;
	vblk_done(v->vq);
}

static const struct blockdev_ops vblk_ops = {
	.submit = vblk_submit,
	.poll = vblk_poll,
};

int virtio_blk_probe(struct virtio_device *vd)
{
	uint64_t want = 1ull << VIRTIO_BLK_F_SIZE_MAX | 1ull << VIRTIO_BLK_F_SEG_MAX |
			1ull << VIRTIO_BLK_F_RO | 1ull << VIRTIO_BLK_F_BLK_SIZE |
			1ull << VIRTIO_BLK_F_FLUSH;
	if (virtio_negotiate(vd, want) < 0)
		return -ENODEV;
	struct vblk *v = kzalloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->vd = vd;
	vd->priv = v;
	struct blockdev *bd = &v->bd;
	virtio_config_read(vd, VBLK_CAPACITY, &bd->nsectors, 8);
	bd->readonly = virtio_has_feature(vd, VIRTIO_BLK_F_RO);
	bd->flush_supported = virtio_has_feature(vd, VIRTIO_BLK_F_FLUSH);
	v->vq = virtio_setup_vq(vd, 0, 256, vblk_done, v);
	if (!v->vq) {
		kfree(v);
		return -ENODEV;
	}
	/* Segments per request: what the device takes and what always fits
	 * in the ring with header and status. */
	unsigned segs = v->vq->ring.num - 2;
	if (virtio_has_feature(vd, VIRTIO_BLK_F_SEG_MAX)) {
		uint32_t sm;
		virtio_config_read(vd, VBLK_SEG_MAX, &sm, 4);
		if (sm && sm < segs)
			segs = sm;
	}
	bd->max_segs = MIN(segs, BLK_MAX_SEGS);
	bd->max_seg_size = 1u << 20;
	if (virtio_has_feature(vd, VIRTIO_BLK_F_SIZE_MAX)) {
		uint32_t sz;
		virtio_config_read(vd, VBLK_SIZE_MAX, &sz, 4);
		if (sz >= BLK_SECTOR_SIZE && sz < bd->max_seg_size)
			bd->max_seg_size = sz;
	}
	uint32_t blksz = 512;
	if (virtio_has_feature(vd, VIRTIO_BLK_F_BLK_SIZE))
		virtio_config_read(vd, VBLK_BLK_SIZE, &blksz, 4);
	bd->ops = &vblk_ops;
	bd->priv = v;
	blockdev_next_name("vd", bd->name, sizeof(bd->name));
	if (virtio_driver_ok(vd) < 0) {
		kfree(v);
		return -EIO;
	}
	pr_debug("virtio-blk: %s on %s: %u segments of <= %u bytes, queue %u, block size %u, irq %d",
		 bd->name, vd->where, bd->max_segs, bd->max_seg_size, v->vq->ring.num, blksz, vd->gsi);
	return blockdev_register(bd);
}
