/* SPDX-License-Identifier: MIT */
/*
 * The stream parser: reads the record framing of a QEMU migration stream
 * (header, configuration, sections, footers, commands, EOF, vmdesc) and
 * hands each section's payload to the decoder that knows it: RAM to ram.c,
 * device sections to the vmdesc-driven decoder.  Guest RAM is counted, never
 * held.  The result is a struct mig_stream: the records in stream order,
 * each device section with its state tree.
 */
#ifndef MIGSTREAM_STREAM_H
#define MIGSTREAM_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "migstream/error.h"
#include "migstream/reader.h"
#include "migstream/state.h"

struct mig_schema;

#define MIG_FILE_MAGIC 0x5145564du	/* "QEVM" */
#define MIG_FILE_VERSION 3u
#define MIG_FILE_VERSION_COMPAT 2u

enum mig_rec_type {
	MIG_REC_EOF = 0x00,
	MIG_REC_START = 0x01,
	MIG_REC_PART = 0x02,
	MIG_REC_END = 0x03,
	MIG_REC_FULL = 0x04,
	MIG_REC_SUBSECTION = 0x05,
	MIG_REC_VMDESC = 0x06,
	MIG_REC_CONFIG = 0x07,
	MIG_REC_COMMAND = 0x08,
	MIG_REC_FOOTER = 0x7e,
};

enum mig_cmd_id {
	MIG_CMD_INVALID = 0,
	MIG_CMD_OPEN_RETURN_PATH = 1,
	MIG_CMD_PING = 2,
	MIG_CMD_POSTCOPY_ADVISE = 3,
	MIG_CMD_POSTCOPY_LISTEN = 4,
	MIG_CMD_POSTCOPY_RUN = 5,
	MIG_CMD_POSTCOPY_RAM_DISCARD = 6,
	MIG_CMD_PACKAGED = 7,
	MIG_CMD_ENABLE_COLO = 8,
	MIG_CMD_POSTCOPY_RESUME = 9,
	MIG_CMD_RECV_BITMAP = 10,
	MIG_CMD_SWITCHOVER_START = 11,
	MIG_CMD_MAX = 12,
};

/* How a section's payload was (or was not) understood. */
enum mig_section_kind {
	MIG_SEC_VMSTATE,	/* decoded from its vmdesc entry */
	MIG_SEC_LEGACY,		/* vmdesc lists it as one opaque "data" buffer */
	MIG_SEC_RAM,		/* "ram": decoded by ram.c */
	MIG_SEC_UNDECODED,	/* no layout known: extent found by its footer */
};

/* One RAM block as listed by the MEM_SIZE record, with page counts. */
struct mig_ram_block {
	char name[256];
	uint64_t length;	/* used_length in bytes */
	uint64_t pages;		/* PAGE (and COMPRESS_PAGE) records */
	uint64_t zero;		/* ZERO records */
	uint64_t offset;	/* where the block list entry starts */
	uint64_t xbzrle;	/* XBZRLE records */
	uint64_t compressed;	/* COMPRESS_PAGE records, also in .pages */
	/* x-ignore-shared: the block's guest physical address */
	bool has_addr;
	uint64_t addr;
	/* postcopy-ram: the block's own (huge) page size, 0 when not sent */
	uint64_t page_size;
	/*
	 * mapped-ram (FORMAT.md 4.9): file offsets of the block's dirty
	 * bitmap and page array; both 0 for a block with no pages in the
	 * file (x-ignore-shared).  Its pages count in .pages, the pages its
	 * bitmap leaves clear (holes) in .zero.
	 */
	bool mapped;
	uint64_t bitmap_offset;
	uint64_t pages_offset;
};

/* Counts of RAM records in one RAM section chunk (START/PART/END). */
struct mig_ram_chunk {
	uint64_t pages;		/* PAGE records */
	uint64_t zero;		/* ZERO records */
	uint64_t flushes;	/* MULTIFD_FLUSH records */
	uint64_t page_bytes;	/* bytes of page data (decompressed) */
	size_t nblocks;		/* blocks listed here (START only) */
	uint64_t xbzrle;	/* XBZRLE records */
	uint64_t compressed;	/* COMPRESS_PAGE records, also in .pages */
};

struct mig_record {
	enum mig_rec_type type;
	uint64_t offset;	/* of the record type byte */
	uint64_t size;		/* whole record, footer included */

	/* START, PART, END, FULL */
	uint32_t section_id;
	char *name;		/* section idstr (START/FULL; copied for PART/END) */
	uint32_t instance;
	uint32_t version;
	enum mig_section_kind kind;
	uint64_t payload_offset;
	uint64_t payload_size;
	bool has_footer;
	struct mig_node *tree;	/* MIG_SEC_VMSTATE and MIG_SEC_LEGACY */
	char *vmsd;		/* vmdesc "vmsd_name" when known */
	char *undecoded;	/* MIG_SEC_UNDECODED: why */
	char *schema;		/* decoded with this schema, not a vmdesc */
	struct mig_ram_chunk ram;	/* MIG_SEC_RAM */

	/* COMMAND */
	uint16_t cmd;
	uint16_t cmd_len;
	uint8_t *cmd_data;	/* cmd_len bytes */

	struct mig_record *next;
};

struct mig_stream {
	char *name;
	uint64_t size;		/* input bytes, when known */
	uint64_t end;		/* offset where reading stopped */
	bool complete;		/* read to EOF (and vmdesc) without error */
	uint32_t file_version;

	/* configuration record */
	bool has_config;
	uint64_t config_offset;
	char *machine;
	char **caps;
	size_t ncaps;
	bool has_uuid;
	uint8_t uuid[16];
	bool has_page_bits;
	uint32_t page_bits;

	bool footers;		/* sections carry footers */
	uint64_t page_size;	/* target page size (vmdesc, else 4096) */

	struct mig_record *records;
	struct mig_record *last;
	size_t nrecords;

	struct mig_ram_block *ram_blocks;
	size_t nram_blocks;

	/* trailing VMDESCRIPTION */
	bool has_vmdesc;
	uint64_t vmdesc_offset;	/* of the 0x06 byte */
	uint64_t vmdesc_size;	/* JSON bytes */
	json_t *vmdesc;		/* parsed JSON (owned) */

	/* Device sections decoded with a schema (mig_parse_opts.schemas) */
	char *schema;		/* the schema chosen, NULL when none was used */
	char *schema_why;	/* why it was chosen, one line */

	/* What the reader removed around the stream (owned), or NULL. */
	struct mig_wrapper *wrapper;
};

/* What a RAM page record did to a page, as reported to on_page. */
enum mig_page_kind {
	MIG_PAGE_DATA,		/* the page's bytes are in .data */
	MIG_PAGE_FILL,		/* ZERO record: every byte is .fill */
	/*
	 * XBZRLE record: .data holds .len bytes of delta against the page's
	 * current content, already checked; mig_xbzrle_apply() (migstream/
	 * ram.h) turns a copy of the page into its new content.
	 */
	MIG_PAGE_XBZRLE,
};

/* The record a page came in, for listings (MIG_PAGE_* says what it did). */
enum mig_page_record {
	MIG_PREC_PAGE,		/* PAGE: raw bytes */
	MIG_PREC_ZERO,		/* ZERO */
	MIG_PREC_XBZRLE,	/* XBZRLE delta */
	MIG_PREC_COMPRESS,	/* COMPRESS_PAGE, decompressed into .data */
	MIG_PREC_MAPPED,	/* mapped-ram: a page of a block's page array,
				 * or (MIG_PAGE_FILL) a hole of its bitmap */
};

struct mig_page {
	const struct mig_ram_block *block;
	uint64_t addr;		/* byte offset inside the block */
	enum mig_page_kind kind;
	const uint8_t *data;	/* page_size bytes (MIG_PAGE_DATA) */
	uint8_t fill;		/* MIG_PAGE_FILL */
	uint64_t offset;	/* input offset of the record */
	uint64_t size;		/* page size in bytes */
	size_t block_index;	/* of .block in the stream's ram_blocks */
	enum mig_page_record record;
	size_t len;		/* bytes at .data: .size, or the XBZRLE delta */
	/*
	 * Input offset of the bytes at .data: for a compressed page, of its
	 * be32 length; for a mapped-ram hole, of the bitmap byte.
	 */
	uint64_t data_offset;
	uint64_t section;	/* input offset of the START/PART/END record */
	/*
	 * The input, for consumers that look at earlier bytes again (see
	 * mig_rd_seek); they must leave its cursor where they found it.
	 */
	struct mig_reader *input;
	/* The parse's error: a consumer that fails may fill it first. */
	struct mig_error *err;
};

/* Where a parse is, for on_progress. */
struct mig_progress {
	uint64_t offset;	/* stream offset reached */
	uint64_t in_bytes;	/* bytes taken from the file or pipe */
	uint64_t in_size;	/* its size, MIG_NO_OFFSET when unknown */
	const char *section;	/* section being read, or NULL */
};

struct mig_parse_opts {
	/* Largest stream tail buffered from a pipe to find the vmdesc. */
	uint64_t max_tail;
	/*
	 * Called for every page record in stream order (a later record for
	 * the same page overrides an earlier one).  .data is valid only
	 * during the call.  A non-zero return stops the parse with that
	 * value (it should be a negative -MIG_E* code).
	 */
	int (*on_page)(void *ctx, const struct mig_page *page);
	void *ctx;
	/*
	 * Migration capabilities the caller knows were on at the source
	 * (QEMU names, such as "x-ignore-shared"), for those the stream does
	 * not record: x-ignore-shared, postcopy-ram and mapped-ram change
	 * the RAM block list (FORMAT.md 4.3).  The configuration record's
	 * capabilities and a POSTCOPY_ADVISE command count as well.  A name
	 * mig_cap_known() does not know fails the parse with -MIG_EINVAL.
	 */
	const char *const *caps;
	size_t ncaps;
	/*
	 * Called every @progress_step bytes of input (0: 4 MiB), never per
	 * page, with where the parse is; for a progress line.  The library
	 * keeps no clock: the callback decides when to show anything.
	 */
	void (*on_progress)(void *ctx, const struct mig_progress *p);
	void *progress_ctx;
	uint64_t progress_step;
	/*
	 * Schemas (migstream/schema.h) for device sections the vmdesc does
	 * not describe.  With schema_forced and one schema, that schema is
	 * used; otherwise they are candidates chosen from by the machine type
	 * and what the stream shows (mig_stream.schema_why says how).
	 * ignore_vmdesc decodes every device section with them, as if the
	 * stream had no vmdesc.
	 */
	const struct mig_schema *const *schemas;
	size_t nschemas;
	bool schema_forced;
	bool ignore_vmdesc;
};

/*
 * Reads the whole stream from @r.  On success *@out holds it and 0 is
 * returned.  On a stream error *@out still holds everything read before
 * the error (s->complete false) so callers can show it, and the error is
 * returned: -MIG_ETRUNC, -MIG_EMAGIC, -MIG_EVERSION, -MIG_ERECORD,
 * -MIG_EFOOTER, -MIG_ESECTION, -MIG_ECMD, -MIG_ERAM, -MIG_EVMDESC,
 * -MIG_EDECODE, -MIG_ECONFIG, -MIG_ELIMIT; also -MIG_ENOMEM and -MIG_EIO
 * (with *@out NULL when nothing could be allocated).  @opts may be NULL.
 */
int mig_stream_read(struct mig_reader *r, const struct mig_parse_opts *opts,
		    struct mig_stream **out, struct mig_error *err);
void mig_stream_free(struct mig_stream *s);

/* "START", "PART", ..., or NULL for a byte that is no record type. */
const char *mig_rec_type_name(int type);
/* "switchover-start", ..., or NULL for an unknown id. */
const char *mig_cmd_name(int cmd);
/*
 * Expected argument length of command @cmd, or -1 when it varies.
 */
int mig_cmd_fixed_len(int cmd);

#endif
