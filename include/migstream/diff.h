/* SPDX-License-Identifier: MIT */
/*
 * diff: two streams compared at the stream level (configuration, footers,
 * vmdesc, commands), section by section and field by field (sections
 * aligned by id string and instance, never by section id), and guest RAM
 * page by page.
 *
 * Each input is read once, on its own, by mig_diff_read(): the device
 * state trees are kept (they are small), guest RAM is not.  Every page
 * record is reduced to a 64-bit digest (XXH3-64) in a table per RAM block,
 * one entry per guest page sent (8 bytes per page, in groups of 512 made
 * as pages come; see MIG_DIFF_PAGES_MAX), and
 * page records are replayed in stream order so the last write wins.  The
 * two sides are then compared by mig_diff_compare(), which needs no input.
 * Two pipes can therefore be compared by reading one after the other.
 *
 * Paths.  Every difference is named by a path:
 *
 *	path    = section { step }
 *	section = IDSTR [ "[" INSTANCE "]" ]
 *	step    = "." FIELD            a field, by its vmdesc name (which may
 *	                               itself contain dots: "env.regs")
 *	        | "[" N "]"            an array element, or a field's vmdesc
 *	                               "index"
 *	        | "{" SUBSECTION "}"   a subsection, by its name
 *
 * for example "cpu[1].env.regs[3]", "0000:00:03.0/e1000.mac_reg[12]",
 * "cpu{cpu/async_pf_msr}.env.async_pf_en_msr".  The instance is written
 * when the id string has an instance other than 0 in either stream.  An
 * array of structs, which the vmdesc lists as one field entry per element
 * (with an "index" on each, or on all but the last), is numbered by
 * position like any array.  A field name that repeats in one structure
 * without an index gets "#2", "#3", ... from its second occurrence.
 *
 * RAM.  A page never sent counts as a zero page (what a fresh destination
 * holds), a ZERO record makes a page of its fill byte, and a PAGE record
 * whose bytes are all zero is the same as a ZERO record.  Pages of a kind
 * this version does not know (struct mig_page's kind) are "unknown": they
 * are counted, and always reported as differing.  Addresses are byte
 * offsets inside the RAM block, as in the stream.
 */
#ifndef MIGSTREAM_DIFF_H
#define MIGSTREAM_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "migstream/error.h"
#include "migstream/reader.h"
#include "migstream/stream.h"

/* Version of the `diff --json` document, in its "migstream_diff" key. */
#define MIG_DIFF_FORMAT_VERSION 1

/*
 * Most guest pages covered for one stream, over the blocks it sends pages
 * of (by their lengths in the block list): 2^28 pages, 1 TiB of guest RAM
 * with 4 KiB pages, at most 2 GiB of digests when every page is sent.  It
 * also bounds the page-by-page comparison.  A stream with more fails with
 * -MIG_ELIMIT (compare it with RAM off).
 */
#define MIG_DIFF_PAGES_MAX (1ull << 28)

/*
 * Most payload bytes of device sections kept per stream for a comparison
 * byte by byte (needed when a section has no layout on one side).  Past
 * it, a section keeps only its digest: equal or not, without the range.
 */
#define MIG_DIFF_RAW_MAX (64u << 20)

/* Longest buffer shown whole; longer ones show the differing byte range. */
#define MIG_DIFF_SHORT_BYTES 16

/* Most ranges listed per RAM block (the counts stay exact past it). */
#define MIG_DIFF_RANGES_MAX 65536

enum mig_diff_ram {
	MIG_DIFF_RAM_RANGES,	/* counts and the differing address ranges */
	MIG_DIFF_RAM_STAT,	/* counts only */
	MIG_DIFF_RAM_OFF,	/* RAM not read into digests, not compared */
};

struct mig_diff_opts {
	enum mig_diff_ram ram;
	/*
	 * fnmatch(3) patterns on section id strings ("ram" stands for guest
	 * RAM); none means every section.  With any, stream-level
	 * differences are not reported.
	 */
	const char *const *sections;
	size_t nsections;
	/*
	 * fnmatch(3) patterns on paths (above); a path that matches, or that
	 * equals a pattern character for character, is left out with
	 * everything below it.
	 */
	const char *const *ignore;
	size_t nignore;
	/* Counts only: no per-field entries and no ranges in the result. */
	bool stat;
	/*
	 * Parse options for both inputs (NULL: defaults).  Their on_page and
	 * ctx are replaced by the page digest table's own.
	 */
	const struct mig_parse_opts *parse;
};

/* One stream as read for a comparison. */
struct mig_diff_side;

/*
 * Reads the whole stream from @r (in one pass) and keeps what a comparison
 * needs: the stream model, the page digests (unless @opts->ram is
 * MIG_DIFF_RAM_OFF) and the payload bytes of non-RAM sections.  @opts may
 * be NULL (defaults: RAM ranges).  On error *@out is NULL.  Errors: those
 * of mig_stream_read(), and -MIG_ELIMIT when the stream has more pages
 * than MIG_DIFF_PAGES_MAX, -MIG_ERAM when pages come in two sizes.
 */
int mig_diff_read(struct mig_reader *r, const struct mig_diff_opts *opts,
		  struct mig_diff_side **out, struct mig_error *err);

/* The stream model of @side (owned by @side). */
const struct mig_stream *mig_diff_stream(const struct mig_diff_side *side);

void mig_diff_side_free(struct mig_diff_side *side);

/*
 * Compares @a with @b and returns the result as the `diff --json`
 * document (shape in migstream-diff(1)); its "same" key is true when
 * nothing differs.  @opts may be NULL.  Errors: -MIG_ENOMEM.
 */
int mig_diff_compare(const struct mig_diff_side *a,
		     const struct mig_diff_side *b,
		     const struct mig_diff_opts *opts, json_t **out,
		     struct mig_error *err);

/* True when the document from mig_diff_compare() reports no difference. */
bool mig_diff_same(const json_t *doc);

#endif
