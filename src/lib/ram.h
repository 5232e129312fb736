/* SPDX-License-Identifier: MIT */
/* Internal: the RAM section decoder, called by the stream parser. */
#ifndef MIGSTREAM_LIB_RAM_H
#define MIGSTREAM_LIB_RAM_H

#include "migstream/ram.h"
#include "migstream/stream.h"

/* RAM_SAVE_FLAG_* bits of the record word (FORMAT.md section 4.1). */
#define RAM_FLAG_FULL 0x01
#define RAM_FLAG_ZERO 0x02
#define RAM_FLAG_MEM_SIZE 0x04
#define RAM_FLAG_PAGE 0x08
#define RAM_FLAG_EOS 0x10
#define RAM_FLAG_CONTINUE 0x20
#define RAM_FLAG_XBZRLE 0x40
#define RAM_FLAG_HOOK 0x80
#define RAM_FLAG_COMPRESS_PAGE 0x100
#define RAM_FLAG_MULTIFD_FLUSH 0x200

/* Most RAM blocks one stream may list. */
#define RAM_BLOCKS_MAX 4096

/* Version of the mapped-ram block header QEMU writes (and reads, at most). */
#define RAM_MAPPED_VERSION 1
/* Bytes of a mapped-ram block header. */
#define RAM_MAPPED_HEADER 28

/* Decoding state that spans RAM sections (the CONTINUE block). */
struct ram_state {
	bool ignore_shared;	/* x-ignore-shared: blocks carry addresses */
	bool mapped_ram;	/* mapped-ram capability */
	bool postcopy;		/* postcopy-ram: blocks may carry page sizes */
	/* POSTCOPY_ADVISE arguments, when it had them */
	bool advised;
	uint64_t advise_sizes;	/* OR of the page sizes of all blocks */
	uint64_t advise_target;	/* target page size */
	long last;		/* block index of the last page, or -1 */
	int (*on_page)(void *ctx, const struct mig_page *page);
	void *ctx;
	uint8_t *page;		/* COMPRESS_PAGE's page (page_cap bytes) */
	size_t page_cap;
};

/*
 * Takes the capabilities of @opts (--cap): -MIG_EINVAL for a name that
 * mig_cap_known() does not know.
 */
int ram_take_caps(struct ram_state *st, const char *const *caps, size_t n,
		  struct mig_error *err);

/*
 * A POSTCOPY_ADVISE command with @len bytes of arguments at @data: with
 * its 16 bytes (postcopy-ram on), RAM block lists that follow may carry
 * page sizes, and those sizes are bits of the first argument.
 */
void ram_postcopy_advise(struct ram_state *st, const uint8_t *data,
			 size_t len);

/* Frees what @st allocated. */
void ram_state_release(struct ram_state *st);

/*
 * Reads one RAM chunk (the payload of a START, PART or END of "ram") up to
 * and including its EOS record, counting pages into @rec->ram and @s's
 * blocks.  Errors: -MIG_ETRUNC, -MIG_ERAM, -MIG_EUNSUP, -MIG_ELIMIT,
 * -MIG_ENOMEM, and what the page callback returns.
 */
int ram_read_chunk(struct mig_reader *r, struct mig_stream *s,
		   struct ram_state *st, struct mig_record *rec,
		   struct mig_error *err);

#endif
