/* SPDX-License-Identifier: MIT */
/*
 * XBZRLE page deltas (FORMAT.md 4.5), checked exactly as QEMU's
 * xbzrle_decode_buffer() and uleb128_decode_small() check them, so that
 * what migstream accepts is what QEMU loads.
 */
#include <inttypes.h>
#include <string.h>

#include "migstream/ram.h"

/*
 * A run length at @p, 1 or 2 bytes (14 bits); the caller made sure two
 * bytes are there.  Returns the bytes used, or 0 when a third would be.
 */
static size_t uleb_small(const uint8_t *p, uint32_t *v)
{
	if (!(p[0] & 0x80)) {
		*v = p[0];
		return 1;
	}
	if (p[1] & 0x80)
		return 0;
	*v = (uint32_t)(p[0] & 0x7f) | (uint32_t)p[1] << 7;
	return 2;
}

/* Walks the delta; copies the data runs into @dst unless it is NULL. */
static int walk(uint8_t *dst, size_t dlen, const uint8_t *src, size_t slen,
		uint64_t off, struct mig_error *err)
{
	size_t i = 0, d = 0, n;
	uint32_t count;

	while (i < slen) {
		/* zero run: unchanged bytes; at least a data run follows */
		if (slen - i < 2)
			return mig_error_set(err, MIG_ERAM, off + i,
					     "xbzrle: the delta ends inside a run (1 byte left at delta offset %zu of %zu)",
					     i, slen);
		n = uleb_small(src + i, &count);
		if (!n)
			return mig_error_set(err, MIG_ERAM, off + i,
					     "xbzrle: run length at delta offset %zu takes more than 2 bytes",
					     i);
		if (i && !count)
			return mig_error_set(err, MIG_ERAM, off + i,
					     "xbzrle: empty unchanged run at delta offset %zu (only the first may be empty)",
					     i);
		if (count > dlen - d)
			return mig_error_set(err, MIG_ERAM, off + i,
					     "xbzrle: unchanged run of %" PRIu32 " bytes from page offset %zu overflows the page of %zu bytes",
					     count, d, dlen);
		i += n;
		d += count;

		/* data run: new bytes, never empty */
		if (slen - i < 2)
			return mig_error_set(err, MIG_ERAM, off + i,
					     "xbzrle: the delta ends before the data run at delta offset %zu of %zu",
					     i, slen);
		n = uleb_small(src + i, &count);
		if (!n)
			return mig_error_set(err, MIG_ERAM, off + i,
					     "xbzrle: run length at delta offset %zu takes more than 2 bytes",
					     i);
		if (!count)
			return mig_error_set(err, MIG_ERAM, off + i,
					     "xbzrle: empty data run at delta offset %zu",
					     i);
		if (count > dlen - d)
			return mig_error_set(err, MIG_ERAM, off + i,
					     "xbzrle: data run of %" PRIu32 " bytes from page offset %zu overflows the page of %zu bytes",
					     count, d, dlen);
		if (count > slen - i - n)
			return mig_error_set(err, MIG_ERAM, off + i,
					     "xbzrle: data run of %" PRIu32 " bytes at delta offset %zu overruns the delta of %zu bytes",
					     count, i, slen);
		i += n;
		if (dst)
			memcpy(dst + d, src + i, count);
		d += count;
		i += count;
	}
	return 0;
}

int mig_xbzrle_check(const uint8_t *enc, size_t len, size_t page_size,
		     uint64_t offset, struct mig_error *err)
{
	return walk(NULL, page_size, enc, len, offset, err);
}

int mig_xbzrle_apply(uint8_t *page, size_t page_size, const uint8_t *enc,
		     size_t len, uint64_t offset, struct mig_error *err)
{
	return walk(page, page_size, enc, len, offset, err);
}
