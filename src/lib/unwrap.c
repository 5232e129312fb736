/* SPDX-License-Identifier: MIT */
/*
 * Decompressors for wrapped inputs: gzip (zlib), xz (liblzma), zstd
 * (libzstd), bzip2 (libbz2) and lzop (liblzo2; the lzop container is read
 * here).  Each turns compressed bytes taken from an inner reader into the
 * window of the reader above it, in pieces of at most DECOMP_IN bytes, so
 * memory stays bounded whatever the input size.  Concatenated members
 * (pigz, pbzip2, `cat a.gz b.gz`) are read as one stream; zero bytes after
 * the last member (block padding) are ignored; anything else after it is
 * an error, as is data that fails its checksum.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bzlib.h>
#include <lzma.h>
#include <lzo1x.h>
#include <zlib.h>
#include <zstd.h>

#include "unwrap.h"

/* Compressed bytes handed to a decoder at once. */
#define DECOMP_IN (1u << 20)
/* lzop's own limit on a block (its MAX_BLOCK_SIZE). */
#define LZOP_BLOCK_MAX (64u << 20)

static const uint8_t xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
static const uint8_t lzop_magic[9] = { 0x89, 'L', 'Z', 'O', 0x00,
				       0x0d, 0x0a, 0x1a, 0x0a };

/* lzop header flags (lzop's conf.h). */
#define LZOP_ADLER32_D 0x0001u
#define LZOP_ADLER32_C 0x0002u
#define LZOP_H_EXTRA_FIELD 0x0040u
#define LZOP_CRC32_D 0x0100u
#define LZOP_CRC32_C 0x0200u
#define LZOP_H_FILTER 0x0800u
#define LZOP_H_CRC32 0x1000u

struct lzop {
	bool in_member;		/* header read, blocks follow */
	uint32_t flags;
	uint8_t *out;		/* the current block, decompressed */
	size_t out_len;
	size_t out_pos;
	uint8_t *in;		/* the current block, compressed */
	size_t in_cap;
	size_t out_cap;
};

struct decomp {
	enum mig_compression c;
	bool done;		/* the data ended with a proper end marker */
	bool frame_end;		/* zstd: the last call ended a frame */
	union {
		z_stream z;
		lzma_stream x;
		bz_stream b;
		ZSTD_DStream *zs;
		struct lzop lz;
	} u;
};

enum mig_compression decomp_sniff(const uint8_t *p, size_t n)
{
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return MIG_COMP_GZIP;
	if (n >= sizeof(xz_magic) && !memcmp(p, xz_magic, sizeof(xz_magic)))
		return MIG_COMP_XZ;
	if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f &&
	    p[3] == 0xfd)
		return MIG_COMP_ZSTD;
	/* zstd skippable frame, as some tools write first */
	if (n >= 4 && (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d &&
	    p[3] == 0x18)
		return MIG_COMP_ZSTD;
	if (n >= 4 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h' &&
	    p[3] >= '1' && p[3] <= '9')
		return MIG_COMP_BZIP2;
	if (n >= sizeof(lzop_magic) && !memcmp(p, lzop_magic,
					       sizeof(lzop_magic)))
		return MIG_COMP_LZOP;
	return MIG_COMP_NONE;
}

/*
 * Memory the xz decoder may take: a dictionary as large as zstd's default
 * window (128 MiB, twice what `xz -9` uses) and 1 MiB for the rest.  The
 * dictionary size is a header field: without a limit 56 bytes of xz make
 * liblzma reserve 4 GiB.
 */
#define XZ_MEMLIMIT (129u << 20)

static int nomem(struct mig_error *err)
{
	return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET, "out of memory");
}

static int start(struct decomp *d, struct mig_error *err)
{
	switch (d->c) {
	case MIG_COMP_GZIP:
		memset(&d->u.z, 0, sizeof(d->u.z));
		/* 16 + 15: a gzip header, the largest window. */
		if (inflateInit2(&d->u.z, 16 + MAX_WBITS) != Z_OK)
			return nomem(err);
		return 0;
	case MIG_COMP_XZ: {
		lzma_stream init = LZMA_STREAM_INIT;

		d->u.x = init;
		if (lzma_stream_decoder(&d->u.x, XZ_MEMLIMIT,
					LZMA_CONCATENATED) != LZMA_OK)
			return nomem(err);
		return 0;
	}
	case MIG_COMP_BZIP2:
		memset(&d->u.b, 0, sizeof(d->u.b));
		if (BZ2_bzDecompressInit(&d->u.b, 0, 0) != BZ_OK)
			return nomem(err);
		return 0;
	case MIG_COMP_ZSTD:
		d->u.zs = ZSTD_createDStream();
		if (!d->u.zs)
			return nomem(err);
		ZSTD_initDStream(d->u.zs);
		return 0;
	case MIG_COMP_LZOP:
		if (lzo_init() != LZO_E_OK)
			return mig_error_set(err, MIG_EUNSUP, MIG_NO_OFFSET,
					     "liblzo2 failed to initialise");
		memset(&d->u.lz, 0, sizeof(d->u.lz));
		return 0;
	default:
		return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				     "no decompressor for format %d", d->c);
	}
}

static void stop(struct decomp *d)
{
	switch (d->c) {
	case MIG_COMP_GZIP:
		inflateEnd(&d->u.z);
		break;
	case MIG_COMP_XZ:
		lzma_end(&d->u.x);
		break;
	case MIG_COMP_BZIP2:
		BZ2_bzDecompressEnd(&d->u.b);
		break;
	case MIG_COMP_ZSTD:
		ZSTD_freeDStream(d->u.zs);
		d->u.zs = NULL;
		break;
	case MIG_COMP_LZOP:
		free(d->u.lz.out);
		free(d->u.lz.in);
		memset(&d->u.lz, 0, sizeof(d->u.lz));
		break;
	default:
		break;
	}
}

int decomp_new(struct decomp **out, enum mig_compression c,
	       struct mig_error *err)
{
	struct decomp *d = calloc(1, sizeof(*d));
	int ret;

	*out = NULL;
	if (!d)
		return nomem(err);
	d->c = c;
	ret = start(d, err);
	if (ret) {
		free(d);
		return ret;
	}
	*out = d;
	return 0;
}

void decomp_free(struct decomp *d)
{
	if (!d)
		return;
	stop(d);
	free(d);
}

/* The input ended inside the compressed data. */
static int ended_early(struct decomp *d, struct mig_reader *in, char *note,
		       size_t notelen, size_t *got)
{
	snprintf(note, notelen,
		 "the %s data ends without its end marker, at 0x%" PRIx64 " of the compressed input",
		 mig_compression_name(d->c), mig_rd_offset(in));
	*got = 0;
	return 0;
}

static int corrupt(struct decomp *d, struct mig_reader *in, uint64_t at,
		   const char *why, struct mig_error *err)
{
	return mig_error_set(err, MIG_EDECODE, at,
			     "%s data is corrupt near 0x%" PRIx64 " of the compressed input: %s",
			     mig_compression_name(d->c), mig_rd_offset(in), why);
}

/*
 * After the end of a member: another member starts (go on), or zero
 * padding (skipped), or the input ends.  *@more tells which.
 */
static int after_member(struct decomp *d, struct mig_reader *in,
			uint64_t at, bool *more, struct mig_error *err)
{
	const uint8_t *p;
	size_t n;
	int ret;

	*more = false;
	for (;;) {
		size_t i = 0;

		ret = rd_window(in, DECOMP_IN, &p, &n, err);
		if (ret || !n)
			return ret;
		while (i < n && !p[i])
			i++;
		if (i) {
			rd_consume(in, i);
			continue;
		}
		break;
	}
	{
		struct mig_error local;
		const uint8_t *q;

		mig_error_clear(&local);
		if (!mig_rd_peek(in, n >= 16 ? 16 : n, &q, &local) &&
		    decomp_sniff(q, n >= 16 ? 16 : n) == d->c) {
			stop(d);
			ret = start(d, err);
			if (ret)
				return ret;
			d->done = false;
			*more = true;
			return 0;
		}
	}
	return mig_error_set(err, MIG_EDECODE, at,
			     "unexpected bytes after the end of the %s data, at 0x%" PRIx64 " of the compressed input",
			     mig_compression_name(d->c), mig_rd_offset(in));
}

static int read_gzip(struct decomp *d, struct mig_reader *in, uint8_t *dst,
		     size_t n, size_t *got, char *note, size_t notelen,
		     uint64_t at, struct mig_error *err)
{
	z_stream *z = &d->u.z;

	*got = 0;
	while (!*got) {
		const uint8_t *p;
		size_t avail;
		int ret, zr;

		if (d->done) {
			bool more;

			ret = after_member(d, in, at, &more, err);
			if (ret || !more)
				return ret;
		}
		ret = rd_window(in, DECOMP_IN, &p, &avail, err);
		if (ret)
			return ret;
		if (!avail)
			return ended_early(d, in, note, notelen, got);
		z->next_in = (Bytef *)p;
		z->avail_in = (uInt)avail;
		z->next_out = dst;
		z->avail_out = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
		zr = inflate(z, Z_NO_FLUSH);
		rd_consume(in, avail - z->avail_in);
		*got = (size_t)(z->next_out - dst);
		if (zr == Z_STREAM_END)
			d->done = true;
		else if (zr == Z_MEM_ERROR)
			return nomem(err);
		else if (zr != Z_OK && zr != Z_BUF_ERROR)
			return corrupt(d, in, at + *got,
				       z->msg ? z->msg : "inflate failed", err);
	}
	return 0;
}

static const char *lzma_why(lzma_ret r)
{
	switch (r) {
	case LZMA_MEM_ERROR:
		return "out of memory";
	case LZMA_FORMAT_ERROR:
		return "not xz data";
	case LZMA_OPTIONS_ERROR:
		return "unsupported options";
	case LZMA_DATA_ERROR:
		return "corrupt data";
	case LZMA_BUF_ERROR:
		return "truncated data";
	case LZMA_UNSUPPORTED_CHECK:
		return "unsupported integrity check";
	default:
		return "decoder error";
	}
}

static int read_xz(struct decomp *d, struct mig_reader *in, uint8_t *dst,
		   size_t n, size_t *got, char *note, size_t notelen,
		   uint64_t at, struct mig_error *err)
{
	lzma_stream *x = &d->u.x;

	*got = 0;
	while (!*got && !d->done) {
		const uint8_t *p;
		size_t avail;
		lzma_action action = LZMA_RUN;
		lzma_ret lr;
		int ret;

		ret = rd_window(in, DECOMP_IN, &p, &avail, err);
		if (ret)
			return ret;
		if (!avail)
			action = LZMA_FINISH;
		x->next_in = p;
		x->avail_in = avail;
		x->next_out = dst;
		x->avail_out = n;
		lr = lzma_code(x, action);
		rd_consume(in, avail - x->avail_in);
		*got = (size_t)(x->next_out - dst);
		if (lr == LZMA_STREAM_END) {
			d->done = true;
		} else if (lr == LZMA_BUF_ERROR && action == LZMA_FINISH) {
			if (!*got)
				return ended_early(d, in, note, notelen, got);
		} else if (lr == LZMA_MEM_ERROR) {
			return nomem(err);
		} else if (lr == LZMA_MEMLIMIT_ERROR) {
			return mig_error_set(err, MIG_ELIMIT, at + *got,
					     "xz data near 0x%" PRIx64 " of the compressed input needs %" PRIu64 " MiB of memory to decompress (at most %u MiB)",
					     mig_rd_offset(in),
					     (uint64_t)((lzma_memusage(x) + (1u << 20) - 1) >> 20),
					     XZ_MEMLIMIT >> 20);
		} else if (lr != LZMA_OK) {
			return corrupt(d, in, at + *got, lzma_why(lr), err);
		}
	}
	return 0;
}

static int read_bzip2(struct decomp *d, struct mig_reader *in, uint8_t *dst,
		      size_t n, size_t *got, char *note, size_t notelen,
		      uint64_t at, struct mig_error *err)
{
	bz_stream *b = &d->u.b;

	*got = 0;
	while (!*got) {
		const uint8_t *p;
		size_t avail;
		int ret, br;

		if (d->done) {
			bool more;

			ret = after_member(d, in, at, &more, err);
			if (ret || !more)
				return ret;
		}
		ret = rd_window(in, DECOMP_IN, &p, &avail, err);
		if (ret)
			return ret;
		if (!avail)
			return ended_early(d, in, note, notelen, got);
		b->next_in = (char *)p;
		b->avail_in = (unsigned)avail;
		b->next_out = (char *)dst;
		b->avail_out = n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
		br = BZ2_bzDecompress(b);
		rd_consume(in, avail - b->avail_in);
		*got = (size_t)((uint8_t *)b->next_out - dst);
		if (br == BZ_STREAM_END)
			d->done = true;
		else if (br == BZ_MEM_ERROR)
			return nomem(err);
		else if (br != BZ_OK)
			return corrupt(d, in, at + *got,
				       br == BZ_DATA_ERROR_MAGIC ? "bad magic"
								  : "checksum or data error",
				       err);
	}
	return 0;
}

static int read_zstd(struct decomp *d, struct mig_reader *in, uint8_t *dst,
		     size_t n, size_t *got, char *note, size_t notelen,
		     uint64_t at, struct mig_error *err)
{
	*got = 0;
	while (!*got) {
		ZSTD_inBuffer ib;
		ZSTD_outBuffer ob = { dst, n, 0 };
		const uint8_t *p;
		size_t avail, zr;
		int ret;

		ret = rd_window(in, DECOMP_IN, &p, &avail, err);
		if (ret)
			return ret;
		if (!avail && d->frame_end)
			return 0;
		ib.src = p;
		ib.size = avail;
		ib.pos = 0;
		zr = ZSTD_decompressStream(d->u.zs, &ob, &ib);
		rd_consume(in, ib.pos);
		*got = ob.pos;
		if (ZSTD_isError(zr))
			return corrupt(d, in, at + *got,
				       ZSTD_getErrorName(zr), err);
		/* 0: a frame is complete and flushed. */
		d->frame_end = zr == 0;
		if (!avail && !*got && !ib.pos)
			return ended_early(d, in, note, notelen, got);
	}
	return 0;
}

/* lzop: big-endian fields; the header is kept for its checksum. */
static int lz_bytes(struct mig_reader *in, void *dst, size_t n, uint8_t *hdr,
		    size_t *hlen, struct mig_error *err)
{
	int ret = mig_rd_bytes(in, dst, n, err);

	if (!ret && hdr) {
		memcpy(hdr + *hlen, dst, n);
		*hlen += n;
	}
	return ret;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int lz_header(struct decomp *d, struct mig_reader *in,
		     struct mig_error *err)
{
	uint8_t hdr[512], b[4], magic[9], method, namelen;
	uint64_t at = mig_rd_offset(in);
	uint16_t version;
	size_t hlen = 0;
	uint32_t sum, want;
	int ret;

	ret = mig_rd_bytes(in, magic, sizeof(magic), err);
	if (ret)
		return ret;
	if (memcmp(magic, lzop_magic, sizeof(magic)))
		return mig_error_set(err, MIG_EDECODE, at,
				     "lzop data: bad magic at 0x%" PRIx64 " of the compressed input",
				     at);
	ret = lz_bytes(in, b, 2, hdr, &hlen, err);	/* version */
	if (ret)
		return ret;
	version = (uint16_t)(b[0] << 8 | b[1]);
	ret = lz_bytes(in, b, 2, hdr, &hlen, err);	/* library version */
	if (!ret && version >= 0x0940)
		ret = lz_bytes(in, b, 2, hdr, &hlen, err); /* needed version */
	if (!ret)
		ret = lz_bytes(in, &method, 1, hdr, &hlen, err);
	if (!ret && version >= 0x0940)
		ret = lz_bytes(in, b, 1, hdr, &hlen, err);	/* level */
	if (!ret)
		ret = lz_bytes(in, b, 4, hdr, &hlen, err);
	if (ret)
		return ret;
	d->u.lz.flags = be32(b);
	if (method < 1 || method > 3)
		return mig_error_set(err, MIG_EUNSUP, at,
				     "lzop data: compression method %u (only the LZO1X methods 1 to 3 are read)",
				     (unsigned)method);
	if (d->u.lz.flags & LZOP_H_FILTER)
		ret = lz_bytes(in, b, 4, hdr, &hlen, err);
	if (!ret)
		ret = lz_bytes(in, b, 4, hdr, &hlen, err);	/* mode */
	if (!ret)
		ret = lz_bytes(in, b, 4, hdr, &hlen, err);	/* mtime */
	if (!ret && version >= 0x0940)
		ret = lz_bytes(in, b, 4, hdr, &hlen, err);	/* mtime high */
	if (!ret)
		ret = lz_bytes(in, &namelen, 1, hdr, &hlen, err);
	if (!ret)
		ret = lz_bytes(in, hdr + hlen, namelen, NULL, NULL, err);
	if (ret)
		return ret;
	hlen += namelen;
	ret = mig_rd_bytes(in, b, 4, err);
	if (ret)
		return ret;
	want = be32(b);
	sum = d->u.lz.flags & LZOP_H_CRC32 ? (uint32_t)crc32(0, hdr, (uInt)hlen)
					  : (uint32_t)adler32(1, hdr, (uInt)hlen);
	if (sum != want)
		return mig_error_set(err, MIG_EDECODE, at,
				     "lzop data: the header at 0x%" PRIx64 " of the compressed input fails its checksum",
				     at);
	if (d->u.lz.flags & LZOP_H_EXTRA_FIELD) {
		uint32_t len;

		ret = mig_rd_bytes(in, b, 4, err);
		if (ret)
			return ret;
		len = be32(b);
		/* The extra field and its checksum, not looked at. */
		ret = mig_rd_skip(in, (uint64_t)len + 4, err);
		if (ret)
			return ret;
	}
	d->u.lz.in_member = true;
	return 0;
}

/* Reads the next block into .out; .out_len 0 at the end of a member. */
static int lz_block(struct decomp *d, struct mig_reader *in,
		    struct mig_error *err)
{
	struct lzop *lz = &d->u.lz;
	uint64_t at = mig_rd_offset(in);
	uint32_t dst_len, src_len, d_adler = 0, d_crc = 0;
	uint8_t b[4];
	lzo_uint out_len;
	int ret;

	lz->out_len = 0;
	lz->out_pos = 0;
	ret = mig_rd_bytes(in, b, 4, err);
	if (ret)
		return ret;
	dst_len = be32(b);
	if (!dst_len) {
		lz->in_member = false;
		return 0;
	}
	ret = mig_rd_bytes(in, b, 4, err);
	if (ret)
		return ret;
	src_len = be32(b);
	if (dst_len > LZOP_BLOCK_MAX || !src_len || src_len > dst_len)
		return mig_error_set(err, MIG_EDECODE, at,
				     "lzop data: block at 0x%" PRIx64 " of the compressed input has bad sizes (%" PRIu32 " bytes compressed to %" PRIu32 ")",
				     at, dst_len, src_len);
	if (lz->flags & LZOP_ADLER32_D) {
		ret = mig_rd_bytes(in, b, 4, err);
		d_adler = be32(b);
	}
	if (!ret && lz->flags & LZOP_CRC32_D) {
		ret = mig_rd_bytes(in, b, 4, err);
		d_crc = be32(b);
	}
	if (!ret && src_len < dst_len) {
		/* Checksums of the compressed bytes: the ones of the
		 * decompressed bytes are checked instead. */
		if (lz->flags & LZOP_ADLER32_C)
			ret = mig_rd_skip(in, 4, err);
		if (!ret && lz->flags & LZOP_CRC32_C)
			ret = mig_rd_skip(in, 4, err);
	}
	if (ret)
		return ret;
	if (dst_len > lz->out_cap) {
		uint8_t *p = realloc(lz->out, dst_len);

		if (!p)
			return nomem(err);
		lz->out = p;
		lz->out_cap = dst_len;
	}
	if (src_len == dst_len) {
		ret = mig_rd_bytes(in, lz->out, dst_len, err);
		if (ret)
			return ret;
	} else {
		if (src_len > lz->in_cap) {
			uint8_t *p = realloc(lz->in, src_len);

			if (!p)
				return nomem(err);
			lz->in = p;
			lz->in_cap = src_len;
		}
		ret = mig_rd_bytes(in, lz->in, src_len, err);
		if (ret)
			return ret;
		out_len = dst_len;
		if (lzo1x_decompress_safe(lz->in, src_len, lz->out, &out_len,
					  NULL) != LZO_E_OK ||
		    out_len != dst_len)
			return mig_error_set(err, MIG_EDECODE, at,
					     "lzop data: block at 0x%" PRIx64 " of the compressed input does not decompress",
					     at);
	}
	if (lz->flags & LZOP_ADLER32_D &&
	    (uint32_t)adler32(1, lz->out, dst_len) != d_adler)
		return mig_error_set(err, MIG_EDECODE, at,
				     "lzop data: block at 0x%" PRIx64 " of the compressed input fails its Adler-32 checksum",
				     at);
	if (lz->flags & LZOP_CRC32_D &&
	    (uint32_t)crc32(0, lz->out, dst_len) != d_crc)
		return mig_error_set(err, MIG_EDECODE, at,
				     "lzop data: block at 0x%" PRIx64 " of the compressed input fails its CRC-32 checksum",
				     at);
	lz->out_len = dst_len;
	return 0;
}

static int read_lzop(struct decomp *d, struct mig_reader *in, uint8_t *dst,
		     size_t n, size_t *got, char *note, size_t notelen,
		     uint64_t at, struct mig_error *err)
{
	struct lzop *lz = &d->u.lz;
	struct mig_error local;
	int ret;

	(void)at;
	*got = 0;
	while (lz->out_pos == lz->out_len) {
		mig_error_clear(&local);
		if (d->done) {
			bool more;

			ret = after_member(d, in, at, &more, err);
			if (ret || !more)
				return ret;
		}
		if (!lz->in_member) {
			if (mig_rd_at_end(in))
				return ended_early(d, in, note, notelen, got);
			ret = lz_header(d, in, &local);
		} else {
			ret = lz_block(d, in, &local);
			if (!ret && !lz->in_member)
				d->done = true;
		}
		if (ret == -MIG_ETRUNC)
			return ended_early(d, in, note, notelen, got);
		if (ret) {
			if (err && !err->code)
				*err = local;
			return ret;
		}
	}
	*got = lz->out_len - lz->out_pos < n ? lz->out_len - lz->out_pos : n;
	memcpy(dst, lz->out + lz->out_pos, *got);
	lz->out_pos += *got;
	return 0;
}

int decomp_read(struct decomp *d, struct mig_reader *in, uint8_t *dst,
		size_t n, size_t *got, char *note, size_t notelen, uint64_t at,
		struct mig_error *err)
{
	struct mig_error local;
	int ret;

	*got = 0;
	if (!n)
		return 0;
	/* The inner reader's errors are about compressed offsets. */
	mig_error_clear(&local);
	switch (d->c) {
	case MIG_COMP_GZIP:
		ret = read_gzip(d, in, dst, n, got, note, notelen, at, &local);
		break;
	case MIG_COMP_XZ:
		ret = read_xz(d, in, dst, n, got, note, notelen, at, &local);
		break;
	case MIG_COMP_BZIP2:
		ret = read_bzip2(d, in, dst, n, got, note, notelen, at, &local);
		break;
	case MIG_COMP_ZSTD:
		ret = read_zstd(d, in, dst, n, got, note, notelen, at, &local);
		break;
	case MIG_COMP_LZOP:
		ret = read_lzop(d, in, dst, n, got, note, notelen, at, &local);
		break;
	default:
		ret = mig_error_set(&local, MIG_EINVAL, at,
				    "no decompressor for format %d", d->c);
		break;
	}
	/* Offsets in messages are decompressed ones; a message about the
	 * compressed input names its own offset. */
	if (ret && local.code && (d->c == MIG_COMP_LZOP || ret == -MIG_EIO))
		local.offset = at;
	if (ret && err && !err->code)
		*err = local;
	return ret;
}
