/* SPDX-License-Identifier: MIT */
/*
 * The vmdesc: the JSON description QEMU appends after EOF.  It lists, for
 * every FULL section in the stream, the fields as they were written (type,
 * size, array length, nested structs and subsections).  The decoder here
 * walks a section payload with it and builds the state tree.
 */
#ifndef MIGSTREAM_VMDESC_H
#define MIGSTREAM_VMDESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "migstream/error.h"
#include "migstream/reader.h"
#include "migstream/state.h"

/*
 * Limits of decoding device sections, the same whether a vmdesc
 * (vmdesc.c) or a schema (sdecode.c) describes them, and for the model of
 * the target's loader in validate (check_load.c); man/migstream.1 LIMITS
 * lists them.  Lengths and counts from the input are also checked against
 * what is left of it; these caps bound what the input alone cannot.
 */
/* Largest vmdesc JSON accepted (bytes). */
#define MIG_VMDESC_MAX (64u << 20)
/* Deepest nesting of structs and subsections decoded. */
#define MIG_DEPTH_MAX 64
/*
 * Nodes built for one section and for all the sections of a stream (a
 * node takes about 200 bytes).  The largest real section seen (e1000e,
 * QEMU 10.0) has about 33,000 nodes, the largest stream under 60,000.
 */
#define MIG_SECTION_NODES_MAX (1u << 18)
#define MIG_STREAM_NODES_MAX (1u << 19)
/* Bytes of one field, elements of one array. */
#define MIG_FIELD_MAX (64u << 20)
#define MIG_ARRAY_MAX (16u << 20)
/* Elements of an array whose elements take no bytes: nothing in the input
 * bounds their number, so they are capped far lower. */
#define MIG_EMPTY_ELEMENTS_MAX 4096u
/*
 * Work of decoding by schema, or of validate's model of the loader, where
 * conditions the schema cannot decide make several layouts to try: steps
 * (nodes built, fields looked at, elements, names compared to find a
 * field a condition reads) for one section over every layout tried, and
 * for all the sections of a stream.  The largest real section takes
 * about 33,000 steps, the largest real stream without a vmdesc about
 * 67,000 (each section decoded by every schema that may fit): four times
 * the section node cap is some thirty times the first, the stream cap
 * over a hundred times the second.  A stream with a few bytes per section
 * could otherwise spend the section budget again and again.
 */
#define MIG_SECTION_WORK_MAX (4u * MIG_SECTION_NODES_MAX)
#define MIG_STREAM_WORK_MAX (1u << 23)

/*
 * Looks for the trailer "00 06 be32:len json" ending exactly at the end of
 * the @len bytes at @tail (which start at absolute offset @tail_off).  On
 * success sets *@marker_off to the offset of the 0x06 byte and *@json_len
 * and returns true.
 */
bool mig_vmdesc_locate(const uint8_t *tail, size_t len, uint64_t tail_off,
		       uint64_t *marker_off, uint64_t *json_len);

/*
 * Parses @len bytes of vmdesc JSON found at absolute offset @off and checks
 * its shape (an object with a "devices" array of objects).  -MIG_EVMDESC
 * with the offset of the bad byte, -MIG_ENOMEM.
 */
int mig_vmdesc_parse(const uint8_t *json, size_t len, uint64_t off,
		     json_t **out, struct mig_error *err);

/* The "devices" entry for (@name, @instance), or NULL. */
json_t *mig_vmdesc_device(const json_t *vmdesc, const char *name,
			  uint32_t instance);

/* True when @dev is a legacy (non-VMState) entry: one "data" buffer. */
bool mig_vmdesc_is_legacy(const json_t *dev);

/*
 * Decodes one section payload with its device entry @dev, reading from @r.
 * @path names the section for messages ("section 'cpu' (id 5)").  *@out
 * is the MIG_NODE_SECTION tree, also after a decode error (then it holds
 * what was decoded before it; the caller frees it either way).  Errors: -MIG_ETRUNC,
 * -MIG_EDECODE (payload and description disagree), -MIG_EVMDESC (the
 * description is malformed), -MIG_ELIMIT (nesting), -MIG_ENOMEM,
 * -MIG_EUNSUP (a field type this version cannot frame).
 */
int mig_vmdesc_decode(struct mig_reader *r, const json_t *dev,
		      const char *path, struct mig_node **out,
		      struct mig_error *err);

#endif
