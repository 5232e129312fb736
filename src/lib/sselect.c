/* SPDX-License-Identifier: MIT */
/*
 * Choosing a schema.  Named by the caller (--schema), it is simply used.
 * Otherwise the candidates are the shipped schemas: those that do not know
 * the stream's machine type, or whose machine type would not have sent
 * what the stream shows (configuration record, section footers, the
 * SWITCHOVER_START command), are set aside; the one whose QEMU version is
 * the machine type's is tried first, then the newest.  A section the
 * current schema cannot decode but another can makes that other schema
 * current, and the sections decoded before are decoded again with it, so
 * one schema describes the whole stream whenever one can.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migstream/vmdesc.h"
#include "sselect.h"

void sel_init(struct sel *sel, const struct mig_parse_opts *opts)
{
	memset(sel, 0, sizeof(*sel));
	sel->current = -1;
	if (!opts)
		return;
	for (size_t i = 0; i < opts->nschemas && sel->n < SEL_MAX; i++)
		if (opts->schemas[i])
			sel->cand[sel->n++] = opts->schemas[i];
	sel->forced = opts->schema_forced && sel->n == 1;
	if (sel->forced)
		snprintf(sel->pref_why, sizeof(sel->pref_why),
			 "named by the caller");
}

static const char *name_of(const struct mig_schema *s)
{
	return s->name ? s->name : s->file;
}

static bool saw_switchover(const struct mig_stream *s)
{
	for (const struct mig_record *r = s->records; r; r = r->next)
		if (r->type == MIG_REC_COMMAND &&
		    r->cmd == MIG_CMD_SWITCHOVER_START)
			return true;
	return false;
}

/* "pc-q35-7.2" -> "7.2" (pointer into @m), or NULL. */
static const char *machine_release(const char *m)
{
	const char *dash = m ? strrchr(m, '-') : NULL;

	if (!dash || dash[1] < '0' || dash[1] > '9' || !strchr(dash, '.'))
		return NULL;
	return dash + 1;
}

/* Sets candidates aside by the stream's traits and orders the rest. */
static void order(struct sel *sel, const struct mig_stream *s)
{
	bool sw = saw_switchover(s);
	const char *rel = machine_release(s->machine);
	size_t alive = 0;
	int first = -1;

	sel->ordered = true;
	if (sel->forced)
		return;
	for (size_t i = 0; i < sel->n; i++) {
		const struct mig_smachine *m =
			mig_schema_machine(sel->cand[i], s->machine);

		if (s->machine && !m) {
			sel->dead[i] = true;
			snprintf(sel->dead_why[i], sizeof(sel->dead_why[i]),
				 "does not know machine type %s", s->machine);
		} else if (m && m->configuration != s->has_config) {
			sel->dead[i] = true;
			snprintf(sel->dead_why[i], sizeof(sel->dead_why[i]),
				 "its %s %s a configuration record", m->name,
				 m->configuration ? "sends" : "sends no");
		} else if (m && m->footers != s->footers) {
			sel->dead[i] = true;
			snprintf(sel->dead_why[i], sizeof(sel->dead_why[i]),
				 "its %s %s section footers", m->name,
				 m->footers ? "sends" : "sends no");
		} else if (m && m->switchover_start != sw) {
			sel->dead[i] = true;
			snprintf(sel->dead_why[i], sizeof(sel->dead_why[i]),
				 "its %s %s the switchover-start command",
				 m->name, m->switchover_start ? "sends" : "never sends");
		}
		alive += !sel->dead[i];
	}
	if (!alive) {
		/* Traits set every schema aside: a stream made with
		 * non-default options.  Try them all rather than none. */
		for (size_t i = 0; i < sel->n; i++)
			sel->dead[i] = false;
		snprintf(sel->pref_why, sizeof(sel->pref_why),
			 "no schema matches the stream's traits, all tried");
	}
	/* Preference: the machine type's own release, then the newest. */
	for (size_t i = 0; rel && i < sel->n; i++)
		if (!sel->dead[i] && sel->cand[i]->qemu &&
		    !mig_version_cmp(sel->cand[i]->qemu, rel))
			first = (int)i;
	if (first >= 0) {
		if (!sel->pref_why[0])
			snprintf(sel->pref_why, sizeof(sel->pref_why),
				 "the release of machine type %s", s->machine);
	} else {
		for (size_t i = 0; i < sel->n; i++)
			if (!sel->dead[i] &&
			    (first < 0 || mig_version_cmp(
				 sel->cand[i]->qemu ? sel->cand[i]->qemu : "0",
				 sel->cand[first]->qemu ? sel->cand[first]->qemu
							: "0") > 0))
				first = (int)i;
		if (first >= 0 && !sel->pref_why[0])
			snprintf(sel->pref_why, sizeof(sel->pref_why),
				 "the newest that fits the stream's traits");
	}
	sel->current = first;
}

/* Candidate indices in the order to try them: current first. */
static size_t try_order(const struct sel *sel, int *idx)
{
	size_t n = 0;

	if (sel->current >= 0 && !sel->dead[sel->current])
		idx[n++] = sel->current;
	/* Newest first among the rest. */
	for (size_t k = sel->n; k-- > 0;)
		if ((int)k != sel->current && !sel->dead[k])
			idx[n++] = (int)k;
	return n;
}

/*
 * Decodes @rec's payload with @sch, charging the work to the stream's
 * budget (MIG_STREAM_WORK_MAX): each section has its own, but sections
 * may be a few bytes each, and are decoded once per candidate schema.
 */
static int decode_with(struct sel *sel, const struct mig_schema *sch,
		       struct mig_reader *r, const struct mig_stream *s,
		       const struct mig_record *rec,
		       const struct sel_ends *ends, struct mig_sdecode_out *out,
		       struct mig_error *err)
{
	int ret;

	struct mig_sdecode_in in = {
		.idstr = rec->name,
		.instance = rec->instance,
		.version = rec->version,
		.section_id = rec->section_id,
		.machine = s->machine,
		.caps = (const char *const *)s->caps,
		.ncaps = s->ncaps,
		.end_ok = ends->end_ok,
		.next_end = ends->next_end,
		.ctx = ends->ctx,
	};

	ret = mig_schema_decode(r, sch, &in, out, err);
	sel->work += out->work;
	if (!ret && sel->work > MIG_STREAM_WORK_MAX) {
		mig_node_free(out->tree);
		out->tree = NULL;
		return mig_error_set(err, MIG_ELIMIT, rec->offset,
				     "section '%s' (id %" PRIu32 "): decoding the stream by schema takes more than %u steps",
				     rec->name, rec->section_id,
				     MIG_STREAM_WORK_MAX);
	}
	return ret;
}

static int adopt(struct mig_record *rec, const struct mig_schema *sch,
		 struct mig_sdecode_out *out)
{
	char *vmsd = NULL, *name = strdup(name_of(sch));

	if (!out->legacy && out->vmsd)
		vmsd = strdup(out->vmsd->name);
	if (!name || (!out->legacy && !vmsd)) {
		free(name);
		free(vmsd);
		mig_node_free(out->tree);
		out->tree = NULL;
		return -MIG_ENOMEM;
	}
	mig_node_free(rec->tree);
	free(rec->vmsd);
	free(rec->schema);
	rec->tree = out->tree;
	rec->vmsd = vmsd;
	rec->schema = name;
	rec->kind = out->legacy ? MIG_SEC_LEGACY : MIG_SEC_VMSTATE;
	out->tree = NULL;
	return 0;
}

/* Moves the cursor to @off, backwards or forwards. */
static int seek_to(struct mig_reader *r, uint64_t off, struct mig_error *err)
{
	uint64_t cur = mig_rd_offset(r);

	if (off <= cur)
		return mig_rd_rewind(r, off, err);
	return mig_rd_skip(r, off - cur, err);
}

/* Decodes the sections decoded with @old again with candidate @k. */
static int redecode(struct sel *sel, int k, const char *old,
		    struct mig_reader *r, struct mig_stream *s,
		    struct mig_record *upto, const struct sel_ends *ends,
		    struct mig_error *err)
{
	uint64_t back = mig_rd_offset(r);
	int ret;

	for (struct mig_record *p = s->records; p && p != upto; p = p->next) {
		struct mig_sdecode_out out;

		if (!p->schema || strcmp(p->schema, old))
			continue;
		ret = seek_to(r, p->payload_offset, err);
		if (ret)
			return ret;
		ret = decode_with(sel, sel->cand[k], r, s, p, ends, &out, err);
		if (ret)
			return ret;
		if (out.result != MIG_SDEC_OK) {
			sel->mixed = true;
			continue;
		}
		if (out.tree->size != p->payload_size) {
			/* Another extent than before: keep the old tree. */
			mig_node_free(out.tree);
			sel->mixed = true;
			continue;
		}
		ret = adopt(p, sel->cand[k], &out);
		if (ret)
			return mig_error_set(err, MIG_ENOMEM, p->offset,
					     "out of memory");
	}
	return seek_to(r, back, err);
}

int sel_decode(struct sel *sel, struct mig_reader *r, struct mig_stream *s,
	       struct mig_record *rec, const struct sel_ends *ends,
	       char *why, size_t whylen, struct mig_error *err)
{
	int idx[SEL_MAX];
	char first_why[MIG_MSG_MAX] = "";
	size_t n;
	int ret;

	if (!sel->ordered)
		order(sel, s);
	n = try_order(sel, idx);
	for (size_t t = 0; t < n; t++) {
		int k = idx[t];
		struct mig_sdecode_out out;

		ret = decode_with(sel, sel->cand[k], r, s, rec, ends, &out, err);
		if (ret)
			return ret;
		if (out.result != MIG_SDEC_OK) {
			if (!first_why[0])
				snprintf(first_why, sizeof(first_why), "%s",
					 out.why);
			continue;
		}
		if (k != sel->current) {
			int old = sel->current;

			if (old >= 0) {
				sel->dead[old] = true;
				snprintf(sel->dead_why[old],
					 sizeof(sel->dead_why[old]),
					 "cannot decode section '%s' (id %" PRIu32 ")",
					 rec->name, rec->section_id);
			}
			sel->current = k;
			if (old >= 0 && sel->decoded) {
				uint64_t after = out.tree->offset + out.tree->size;

				ret = redecode(sel, k, name_of(sel->cand[old]),
					       r, s, rec, ends, err);
				if (!ret)
					ret = seek_to(r, after, err);
				if (ret) {
					mig_node_free(out.tree);
					return ret;
				}
			}
		}
		if (!sel->forced) {
			/* Would the others read this section too, and alike?
			 * Those that cannot are set aside. */
			uint64_t after = out.tree->offset + out.tree->size;

			for (size_t o = 0; o < sel->n; o++) {
				struct mig_sdecode_out alt;

				if ((int)o == k || sel->dead[o])
					continue;
				ret = seek_to(r, rec->payload_offset, err);
				if (!ret)
					ret = decode_with(sel, sel->cand[o], r, s, rec,
							  ends, &alt, err);
				if (ret) {
					mig_node_free(out.tree);
					return ret;
				}
				if (alt.result != MIG_SDEC_OK) {
					sel->dead[o] = true;
					snprintf(sel->dead_why[o],
						 sizeof(sel->dead_why[o]),
						 "cannot decode section '%s' (id %" PRIu32 ")",
						 rec->name, rec->section_id);
				} else if (!sdec_same_tree(out.tree, alt.tree)) {
					sel->differs[o] = true;
				}
				mig_node_free(alt.tree);
			}
			ret = seek_to(r, after, err);
			if (ret) {
				mig_node_free(out.tree);
				return ret;
			}
		}
		ret = adopt(rec, sel->cand[k], &out);
		if (ret)
			return mig_error_set(err, MIG_ENOMEM, rec->offset,
					     "out of memory");
		sel->decoded++;
		return 0;
	}
	sel->failed++;
	if (!n)
		snprintf(why, whylen, "no schema fits the stream");
	else
		snprintf(why, whylen, "%s", first_why);
	return 1;
}

int sel_finish(struct sel *sel, struct mig_stream *s)
{
	char buf[2048];
	size_t len = 0;

	if (!sel->n || (!sel->decoded && !sel->failed))
		return 0;
	if (sel->current >= 0 && sel->decoded) {
		s->schema = strdup(name_of(sel->cand[sel->current]));
		if (!s->schema)
			return -MIG_ENOMEM;
	}
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s",
				sel->pref_why[0] ? sel->pref_why
						 : "the only candidate");
	len += (size_t)snprintf(buf + len, sizeof(buf) - len,
				"; decoded %zu device section%s",
				sel->decoded, sel->decoded == 1 ? "" : "s");
	if (sel->failed && len < sizeof(buf))
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					", %zu not", sel->failed);
	if (sel->mixed && len < sizeof(buf))
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"; some sections kept another schema's layout");
	for (size_t i = 0; i < sel->n && len < sizeof(buf); i++) {
		if (sel->dead[i] || (int)i == sel->current || !sel->decoded)
			continue;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"; %s decodes every section too%s",
					name_of(sel->cand[i]),
					sel->differs[i]
					? ", into other fields (pass --schema to choose)"
					: ", into the same fields");
	}
	for (size_t i = 0; i < sel->n && len < sizeof(buf); i++)
		if (sel->dead[i])
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
						"; not %s: %s",
						name_of(sel->cand[i]),
						sel->dead_why[i]);
	s->schema_why = strdup(buf);
	return s->schema_why ? 0 : -MIG_ENOMEM;
}
