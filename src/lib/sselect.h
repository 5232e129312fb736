/* SPDX-License-Identifier: MIT */
/*
 * Choosing a schema for a stream without a vmdesc, internal to the
 * library: stream.c hands every device section the vmdesc cannot describe
 * to sel_decode(); the chooser keeps one schema for the whole stream when
 * it can and says why it chose it.
 */
#ifndef MIGSTREAM_SSELECT_H
#define MIGSTREAM_SSELECT_H

#include "migstream/schema.h"
#include "migstream/stream.h"

#define SEL_MAX 16

struct sel {
	const struct mig_schema *cand[SEL_MAX];
	size_t n;
	bool forced;		/* one schema named by the caller */
	bool dead[SEL_MAX];
	char dead_why[SEL_MAX][160];
	int current;		/* index into cand, -1 before the first */
	bool ordered;		/* traits applied */
	size_t decoded;		/* sections decoded by a schema */
	size_t failed;		/* sections no schema decoded */
	bool mixed;		/* sections decoded by different schemas */
	uint64_t work;		/* steps of every decode (MIG_STREAM_WORK_MAX) */
	bool differs[SEL_MAX];	/* also decodes, but reads another tree */
	char pref_why[256];
};

/* Section-end checks the stream parser provides. */
struct sel_ends {
	bool (*end_ok)(void *ctx, uint64_t off);
	uint64_t (*next_end)(void *ctx, uint64_t from);
	void *ctx;
};

void sel_init(struct sel *sel, const struct mig_parse_opts *opts);

/*
 * Decodes the FULL section @rec (cursor at its payload) with the chosen
 * schema, choosing it first if need be.  Returns 0 when decoded (rec->tree,
 * rec->kind, rec->vmsd, rec->schema set; cursor after the payload), 1 when
 * not (cursor back at the payload, @why says why), or a negative error.
 */
int sel_decode(struct sel *sel, struct mig_reader *r, struct mig_stream *s,
	       struct mig_record *rec, const struct sel_ends *ends,
	       char *why, size_t whylen, struct mig_error *err);

/* Do two trees have the same nodes, names, types, values and extents? */
bool sdec_same_tree(const struct mig_node *a, const struct mig_node *b);

/* Stores the choice and its reasons in @s (s->schema, s->schema_why). */
int sel_finish(struct sel *sel, struct mig_stream *s);

#endif
