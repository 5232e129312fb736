/* SPDX-License-Identifier: MIT */
/*
 * Inside the opaque "virtio" field.  A virtio device's section has one field
 * whose bytes are written by custom code, virtio_save() in QEMU's
 * hw/virtio/virtio.c, which the vmdesc and -dump-vmstate show as one
 * opaque field.  For the PCI transport it is:
 *
 *   be32 version_id, PCI config space (256 bytes, 4096 for PCI Express),
 *     be32 irq_state[4]                      vmstate_pci_device
 *   if MSI-X: the vector table (16 bytes an entry), the pending bits
 *     (an entry a bit, rounded up to bytes), be16 config_vector
 *   u8 status, u8 isr, be16 queue_sel, be32 guest_features (low half),
 *   be32 config_len, config_len bytes of device config
 *   be32 num, then per queue: be32 vring.num, be64 vring.desc,
 *     be16 last_avail_idx [, be16 vector if MSI-X]
 *   the device's own state: a legacy save() (virtio-blk's pending
 *     requests, virtio-serial's ports) and/or its device description
 *     ("virtio-net-device", "virtio-balloon-device"), with subsections
 *   the subsections of "virtio" (device_endian, 64bit_features,
 *     virtqueues, ..., extra_state, which holds "virtio_pci" and its
 *     subsection "virtio_pci/modern_state")
 *
 * Whether the config space is a PCI Express one and how many MSI-X vectors
 * there are is read from the config space itself (its capability list),
 * which is what QEMU's pci_is_express() and msix_present() reflect.  The
 * device's own fields are not modelled; the subsections after them are
 * found by their headers (0x05, length, name, be32 version), which cannot
 * be mistaken in practice, and checked by name against what the target
 * knows, in the order QEMU's loaders meet them: the device description's
 * subsections, then "virtio"'s, with "virtio_pci"'s inside extra_state.
 * A subsection name no loader claims ends the field where it stands, as in
 * QEMU (the outer section then misses its footer).
 *
 * What the target knows: the schema's own descriptions named "virtio",
 * "virtio_pci" and the device's, when it has them from -dump-vmstate or
 * curation; else the subsection names read off the Debian QEMU 5.2, 7.2
 * and 10.0 binaries (check_names.c); else, for another version, the
 * table below (from the same binaries and hw/virtio/virtio.c,
 * virtio-pci.c), which also gives the sizes of the subsections whose
 * layout is fixed, so that their data is skipped rather than searched.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"

/* VIRTIO_QUEUE_MAX in 5.2 to 10.0. */
#define QUEUE_MAX 1024
#define NO_SIZE UINT64_MAX

struct vsub {
	const char *name;
	const char *since;	/* first of 5.2, 7.2, 10.0 that has it */
	uint32_t version;
	uint64_t size;		/* bytes after the header, NO_SIZE: not known */
};

static const struct vsub vsubs[] = {
	{ "virtio/device_endian", "5.2", 1, 1 },
	{ "virtio/64bit_features", "5.2", 1, 8 },
	{ "virtio/virtqueues", "5.2", 1, QUEUE_MAX * 16 },
	{ "virtio/ringsize", "5.2", 1, QUEUE_MAX * 4 },
	{ "virtio/broken", "5.2", 1, 1 },
	{ "virtio/extra_state", "5.2", 1, 0 },
	{ "virtio/started", "5.2", 1, 1 },
	{ "virtio/packed_virtqueues", "5.2", 1, NO_SIZE },
	{ "virtio/disabled", "5.2", 1, 1 },
	/* dfselect, gfselect, guest_features[2], 1024 x modern_queue_state
	 * (num, unused, enabled, desc[2], avail[2], used[2]) */
	{ "virtio_pci/modern_state", "5.2", 1, 16 + QUEUE_MAX * 28 },
	{ "virtio-net-device/rss", "5.2", 1, NO_SIZE },
	{ "virtio-net-device/backend", "10.0", 0, NO_SIZE },
	{ "virtio-balloon-device/free-page-report", "5.2", 1, NO_SIZE },
	{ "virtio-balloon-device/page-poison", "7.2", 1, NO_SIZE },
	{ "virtio-mem-device/sanity-checks", "5.2", 1, NO_SIZE },
};

/* The device description inside virtio_save, by the outer one's name. */
static const struct {
	const char *outer;
	const char *device;
} devvmsds[] = {
	{ "virtio-net", "virtio-net-device" },
	{ "virtio-balloon", "virtio-balloon-device" },
	{ "virtio-mem", "virtio-mem-device" },
};

/* The schema's description named @name, if it has one. */
static const struct mig_svmsd *schema_vmsd(const struct mig_schema *s,
					   const char *name)
{
	for (size_t i = 0; i < s->nvmsds; i++)
		if (!strcmp(s->vmsds[i].name, name))
			return &s->vmsds[i];
	return NULL;
}

/*
 * Does the target know subsection @name of @parent?  *@version, *@minimum
 * and *@size say what it takes (size NO_SIZE when not known).  The
 * schema's own description of @parent decides when it has one from
 * -dump-vmstate or curation; else the names read off the binaries
 * (check_names.c); else the table above.
 */
static bool known(const struct tl_section *in, const char *parent,
		  const char *name, uint32_t *version, uint32_t *minimum,
		  uint64_t *size)
{
	const struct mig_svmsd *pv = schema_vmsd(in->s, parent);
	const struct vsub *vs = NULL;
	int k;

	*size = NO_SIZE;
	*minimum = 0;
	*version = 1;
	for (size_t i = 0; i < sizeof(vsubs) / sizeof(vsubs[0]); i++)
		if (!strcmp(vsubs[i].name, name))
			vs = &vsubs[i];
	if (vs) {
		*size = vs->size;
		*version = vs->version;
	}
	if (pv) {
		for (size_t i = 0; i < pv->nsubs; i++) {
			const struct mig_svmsd *sv = pv->subs[i].vmsd;

			if (sv && !strcmp(sv->name, name)) {
				*version = sv->version;
				*minimum = sv->has_minimum ? sv->minimum_version : 0;
				return true;
			}
		}
		if (pv->origin != MIG_ORIGIN_VMDESC)
			return false;
	}
	k = tl_name_known(in->qemu, parent, name);
	if (k >= 0)
		return k == 1;
	return vs && in->qemu && mig_version_cmp(in->qemu, vs->since) >= 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* A capability @id in the PCI config space @cfg (256 bytes), or 0. */
static size_t pci_cap(const uint8_t *cfg, uint8_t id)
{
	size_t p = cfg[0x34] & 0xfc;

	if (!(cfg[0x06] & 0x10))	/* status: no capability list */
		return 0;
	for (int n = 0; p >= 0x40 && p < 0xff && n < 48; n++) {
		if (cfg[p] == id)
			return p;
		p = cfg[p + 1] & 0xfc;
	}
	return 0;
}

/*
 * Where the device's own state starts in the @len bytes at @b: after the
 * transport's and the common header.  0 when the bytes do not follow that
 * layout.
 */
static size_t front(const uint8_t *b, size_t len, char *note, size_t nlen)
{
	size_t pos = 4, msix = 0, c;
	uint32_t clen, num;

	if (len < 4 + 256 + 16) {
		snprintf(note, nlen, "shorter than a PCI config space");
		return 0;
	}
	c = pci_cap(b + 4, 0x11);
	if (c) {
		uint16_t mc = (uint16_t)(b[4 + c + 2] | b[4 + c + 3] << 8);

		msix = (mc & 0x7ff) + 1u;
	}
	pos += pci_cap(b + 4, 0x10) ? 4096 : 256;
	pos += 16;
	if (msix)
		pos += msix * 16 + (msix + 7) / 8 + 2;
	if (pos + 12 > len)
		goto bad;
	clen = be32(b + pos + 8);
	pos += 12;
	if (clen > len - pos)
		goto bad;
	pos += clen;
	if (pos + 4 > len)
		goto bad;
	num = be32(b + pos);
	pos += 4;
	if (num > QUEUE_MAX || (uint64_t)num * (14 + (msix ? 2 : 0)) > len - pos)
		goto bad;
	pos += num * (14 + (msix ? 2 : 0));
	return pos;
bad:
	snprintf(note, nlen,
		 "the transport and common header do not fit (%zu MSI-X vectors)",
		 msix);
	return 0;
}

/* A subsection header at @b[@i]: its name (NUL-terminated) and version. */
static bool header_at(const uint8_t *b, size_t len, size_t i, char name[256],
		      uint32_t *version)
{
	size_t l;
	bool slash = false;

	if (b[i] != 0x05 || i + 2 > len)
		return false;
	l = b[i + 1];
	if (l < 3 || i + 2 + l + 4 > len)
		return false;
	for (size_t k = 0; k < l; k++) {
		uint8_t ch = b[i + 2 + k];

		if (ch == '/')
			slash = true;
		else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
			   ch == '.'))
			return false;
	}
	*version = be32(b + i + 2 + l);
	if (!slash || *version > 255)
		return false;
	memcpy(name, b + i + 2, l);
	name[l] = '\0';
	return true;
}

enum vstate { V_DEVICE, V_VIRTIO, V_PCI };

int tl_virtio(struct tl *d, const char *outer, uint64_t size)
{
	const struct tl_section *in = tl_in(d);
	struct tl_outcome *o = tl_out(d);
	struct mig_reader *r = tl_reader(d);
	uint64_t start = mig_rd_offset(r), stop = NO_SIZE;
	const char *devname = NULL;
	enum vstate st = V_VIRTIO;
	const uint8_t *b;
	size_t len, pos;
	struct mig_error e;
	int ret;

	if (size == NO_SIZE) {
		if (in->end == MIG_NO_OFFSET || in->end < start)
			return tl_fail(d, TL_UNFRAMED, start,
				       "'%s': the end of the virtio state is not known",
				       tl_path(d));
		size = in->end - start;
	}
	if (size > (64u << 20))
		return tl_fail(d, TL_UNFRAMED, start,
			       "'%s': %" PRIu64 " bytes of virtio state", tl_path(d),
			       size);
	mig_error_clear(&e);
	ret = mig_rd_peek(r, (size_t)size, &b, &e);
	if (ret == -MIG_ETRUNC)
		return tl_fail(d, TL_TRUNC, start,
			       "the input ends inside '%s'", tl_path(d));
	if (ret)
		return ret;
	len = (size_t)size;
	for (size_t i = 0; i < sizeof(devvmsds) / sizeof(devvmsds[0]); i++)
		if (!strcmp(devvmsds[i].outer, outer)) {
			devname = devvmsds[i].device;
			st = V_DEVICE;
		}
	pos = front(b, len, o->virtio_note, sizeof(o->virtio_note));

	while (pos < len) {
		char name[256];
		const char *parent;
		uint32_t ver, want = 0, min = 0;
		uint64_t hop;
		size_t hlen;

		if (!header_at(b, len, pos, name, &ver)) {
			pos++;
			continue;
		}
		hlen = 2 + strlen(name) + 4;
		/* Which loader meets it: QEMU's prefix rule, loader by
		 * loader, outermost last. */
		for (;;) {
			if (st == V_DEVICE &&
			    strncmp(name, devname, strlen(devname)))
				st = V_VIRTIO;
			else if (st == V_PCI && strncmp(name, "virtio_pci", 10))
				st = V_VIRTIO;
			else
				break;
		}
		if (st == V_VIRTIO && strncmp(name, "virtio", 6)) {
			/* No loader claims it: the field ends here. */
			stop = pos;
			break;
		}
		parent = st == V_DEVICE ? devname
					: st == V_PCI ? "virtio_pci" : "virtio";
		tl_path_push(d, "{%s}", name);
		o->virtio_subs++;
		/* Inside extra_state QEMU's loader is in a field of its own. */
		if (st == V_PCI)
			tl_field_push(d, "virtio/extra_state", "extra_state");
		if (!known(in, parent, name, &want, &min, &hop)) {
			snprintf(o->name, sizeof(o->name), "%s", name);
			snprintf(o->parent, sizeof(o->parent), "%s", parent);
			ret = tl_fail(d, TL_UNKNOWN_SUB, start + pos,
				      "subsection '%s' of '%s' (inside the opaque virtio state) is not known to the target",
				      name, parent);
			tl_path_pop(d);
			if (st == V_PCI)
				tl_field_pop(d);
			return ret;
		}
		if (ver > want || ver < min) {
			snprintf(o->name, sizeof(o->name), "%s", name);
			o->got = ver;
			o->want = ver > want ? want : min;
			ret = tl_fail(d, ver > want ? TL_VERSION_NEW : TL_VERSION_OLD,
				      start + pos,
				      "subsection '%s' version %" PRIu32 " (the target reads %" PRIu32 " to %" PRIu32 ")",
				      name, ver, min, want);
			tl_path_pop(d);
			if (st == V_PCI)
				tl_field_pop(d);
			return ret;
		}
		tl_path_pop(d);
		if (st == V_PCI)
			tl_field_pop(d);
		if (!strcmp(name, "virtio/extra_state"))
			st = V_PCI;
		pos += hlen;
		if (hop != NO_SIZE && hop <= len - pos)
			pos += (size_t)hop;
	}
	return tl_skip(d, stop == NO_SIZE ? len : stop);
}
