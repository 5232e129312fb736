/* SPDX-License-Identifier: MIT */
/*
 * Wrapped inputs: what may surround a QEMU migration stream in a file or a
 * pipe.  mig_reader_open() and mig_reader_unwrap() find each layer by its
 * magic at the start of the input and remove it, so that every consumer
 * reads the bare stream:
 *
 *   - the whole input compressed with gzip, xz, zstd, bzip2 or lzop
 *     (decoded with zlib, liblzma, libzstd, libbz2 and liblzo2);
 *   - a libvirt save image (virsh save, managedsave): a 92-byte header,
 *     the domain XML padded with NULs, then the stream, raw or compressed
 *     in the format the header names.
 *
 * Offsets.  Where the stream's bytes lie in the file as they are (a bare
 * stream, `--offset N`, a raw libvirt image) offsets are positions in the
 * file, so `dd skip=` or `xxd -s` find them.  Where they were compressed,
 * offsets are positions in the decompressed data, 0 being its first byte.
 *
 * A compressed input cannot seek.  The one consumer that needs seeking,
 * a mapped-ram stream, calls mig_rd_make_seekable(), which spools the rest
 * of the decompressed data into an unnamed temporary file (sparse, on disk,
 * never in memory) and maps it.
 */
#ifndef MIGSTREAM_INPUT_H
#define MIGSTREAM_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "migstream/error.h"

/* Size of the libvirt save image header (magic, 5 + 14 u32 words). */
#define MIG_LIBVIRT_HEADER_SIZE 92
/* Largest XML, cookie and padding area of a libvirt image accepted. */
#define MIG_LIBVIRT_DATA_MAX (16u << 20)
/* Most layers (compression, libvirt, compression) unwrapped. */
#define MIG_WRAP_DEPTH_MAX 3

enum mig_compression {
	MIG_COMP_NONE,
	MIG_COMP_GZIP,
	MIG_COMP_BZIP2,
	MIG_COMP_XZ,
	MIG_COMP_LZOP,
	MIG_COMP_ZSTD,
};

/* libvirt's save_image_format numbers, as stored in the header. */
enum mig_libvirt_format {
	MIG_LIBVIRT_RAW = 0,
	MIG_LIBVIRT_GZIP = 1,
	MIG_LIBVIRT_BZIP2 = 2,
	MIG_LIBVIRT_XZ = 3,
	MIG_LIBVIRT_LZOP = 4,
	MIG_LIBVIRT_ZSTD = 5,
	MIG_LIBVIRT_SPARSE = 6,	/* raw mapped-ram (recent libvirt) */
	MIG_LIBVIRT_FORMAT_COUNT,
};

/* The header and XML of a libvirt save image. */
struct mig_libvirt {
	char magic[17];		/* "LibvirtQemudSave" or "LibvirtQemudPart" */
	bool complete;		/* false for "...Part": the save did not finish */
	bool swapped;		/* written by a host of the other byte order */
	uint32_t version;	/* header version, 1 or 2 */
	uint32_t data_len;	/* bytes of XML, cookie and padding */
	uint32_t was_running;	/* the domain ran when it was saved */
	uint32_t format;	/* enum mig_libvirt_format */
	uint32_t cookie_offset;	/* of the cookie inside the data, or 0 */
	uint64_t offset;	/* of the header, in the layer that holds it */
	char *xml;		/* the domain XML (NUL-terminated) */
	char *cookie;		/* libvirt's save cookie XML, or NULL */
	char *name;		/* the XML's <name>, or NULL */
	char *uuid;		/* the XML's <uuid>, or NULL */
};

/* What was found around the stream (mig_reader_wrapper). */
struct mig_wrapper {
	uint64_t offset;	/* --offset: bytes skipped before anything */
	enum mig_compression compression;	/* of the whole input */
	bool has_libvirt;
	struct mig_libvirt libvirt;
	enum mig_compression stream_compression;	/* libvirt's format */
	uint64_t stream_offset;	/* of the stream's first byte (see above) */
};

struct mig_input_opts {
	uint64_t offset;	/* the input starts @offset bytes in */
	bool raw;		/* take the bytes as they are: no unwrapping */
};

/* "gzip", "xz", ...; "none" for MIG_COMP_NONE. */
const char *mig_compression_name(enum mig_compression c);
/* "raw", "gzip", ..., "sparse"; NULL for an unknown number. */
const char *mig_libvirt_format_name(uint32_t format);
/*
 * The compression of libvirt format @format: MIG_COMP_NONE for raw and
 * sparse (and for unknown numbers).
 */
enum mig_compression mig_libvirt_compression(uint32_t format);

/* Deep copy of @w; NULL when out of memory. */
struct mig_wrapper *mig_wrapper_dup(const struct mig_wrapper *w);
void mig_wrapper_free(struct mig_wrapper *w);

/*
 * The "wrapper" object of `dump` and `info --json`; with @xml the domain
 * XML and cookie are included in full.  NULL when out of memory.
 */
json_t *mig_wrapper_json(const struct mig_wrapper *w, bool xml);

#endif
