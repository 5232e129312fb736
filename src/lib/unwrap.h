/* SPDX-License-Identifier: MIT */
/*
 * Internal: the decompressors and the libvirt header reader behind
 * mig_reader_unwrap(), and the two reader internals they use.
 */
#ifndef MIGSTREAM_LIB_UNWRAP_H
#define MIGSTREAM_LIB_UNWRAP_H

#include "migstream/input.h"
#include "migstream/reader.h"

struct decomp;

/* The compression whose magic starts the @n bytes at @p, or NONE. */
enum mig_compression decomp_sniff(const uint8_t *p, size_t n);

/* -MIG_ENOMEM, -MIG_EUNSUP (a format this build cannot decode). */
int decomp_new(struct decomp **out, enum mig_compression c,
	       struct mig_error *err);
void decomp_free(struct decomp *d);

/*
 * Decompresses up to @n bytes into @dst, taking compressed bytes from
 * @in.  *@got is 0 only at the end: the end of the compressed data, or
 * the end of @in before it (then @note says so, for the message of the
 * truncation the consumer will report).  @at is the decompressed offset
 * of @dst, for messages.  Errors: -MIG_EDECODE (corrupt data), -MIG_EIO,
 * -MIG_ENOMEM, -MIG_ELIMIT.
 */
int decomp_read(struct decomp *d, struct mig_reader *in, uint8_t *dst,
		size_t n, size_t *got, char *note, size_t notelen, uint64_t at,
		struct mig_error *err);

/* True when the @n bytes at @p start with a libvirt save image magic. */
bool libvirt_sniff(const uint8_t *p, size_t n);

/*
 * Reads a libvirt save image header and its XML area from @r into @lv
 * (whose strings the caller frees with the wrapper).  Errors: -MIG_ETRUNC,
 * -MIG_EVERSION, -MIG_EUNSUP (unknown format), -MIG_ELIMIT, -MIG_EMAGIC
 * (inconsistent header), -MIG_ENOMEM.
 */
int libvirt_read(struct mig_reader *r, struct mig_libvirt *lv,
		 struct mig_error *err);

/*
 * Reader internals: up to @max bytes at the cursor without advancing (at
 * least one unless the input has ended, then *@n is 0), and advancing
 * past bytes so shown.
 */
int rd_window(struct mig_reader *r, size_t max, const uint8_t **p,
	      size_t *n, struct mig_error *err);
void rd_consume(struct mig_reader *r, size_t n);

#endif
