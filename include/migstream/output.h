/* SPDX-License-Identifier: MIT */
/*
 * Output shapes: the JSON documents of `dump`, `dump --format analyze` and
 * `info`.  Each is built as a jansson tree in stream order; text output is
 * rendered from the same tree by the command, so the two cannot drift.
 */
#ifndef MIGSTREAM_OUTPUT_H
#define MIGSTREAM_OUTPUT_H

#include <jansson.h>

#include "migstream/stream.h"

/* Version of the `dump` document shape, in its "migstream_dump" key. */
#define MIG_DUMP_FORMAT_VERSION 1
/* Version of the `info --json` document, in its "migstream_info" key. */
#define MIG_INFO_FORMAT_VERSION 1

enum mig_dump_flags {
	MIG_DUMP_OFFSETS = 1 << 0,	/* "offset" and "size" on every node */
};

/* The `dump` document.  NULL only when out of memory. */
json_t *mig_dump_json(const struct mig_stream *s, unsigned flags);

/*
 * What QEMU's scripts/analyze-migration.py -d state prints for @s: one key
 * "NAME (SECTION_ID)" per section in order of first appearance.  NULL when
 * out of memory.
 */
json_t *mig_dump_analyze(const struct mig_stream *s);

/* The `info` document.  NULL only when out of memory. */
json_t *mig_info_json(const struct mig_stream *s);

/*
 * JSON value of an unsigned integer: a number up to INT64_MAX, above it a
 * "0x..." string (JSON numbers are signed 64-bit in jansson).
 */
json_t *mig_json_u64(uint64_t v);

#endif
