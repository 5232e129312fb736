/* SPDX-License-Identifier: MIT */
/*
 * Import: a schema from what a QEMU binary says about itself.
 *
 *   -dump-vmstate    every VMSD compiled in (names, versions, fields with
 *                    their versions, in-memory sizes, whether a _TEST
 *                    exists, fixed array lengths in newer releases,
 *                    nested descriptions, subsections)
 *   -machine help    the machine types, aliases, default, deprecated
 *   real streams     their vmdescs and decoded trees: wire types and
 *                    sizes, array lengths, descriptions the dump lacks
 *                    (those registered with vmstate_register: cpu, apic,
 *                    timer, ...), per-use sizes of shared descriptions,
 *                    and counts or sizes that follow an earlier field
 *   curation         facts read in QEMU's source: _TEST and .needed
 *                    conditions, device properties, machine compat rules
 *
 * The dump's sizes are in-memory sizes (sizeof), not wire sizes; they are
 * kept as "memory_size" and only streams set "size".  The output is sorted
 * and carries no timestamps, so a re-import of the same inputs is
 * byte-identical.
 */
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fnmatch.h>

#include "migstream/schema.h"
#include "migstream/stream.h"
#include "migstream/vmdesc.h"
#include "cond.h"
#include "jsonpos.h"

#define IMPORT_VERSION "0.1.0"

struct imp {
	const struct mig_import_opts *o;
	struct mig_error *err;
	json_t *vmsds;		/* id -> working description */
	json_t *by_name;	/* vmsd name -> [ids] */
	json_t *canon;		/* id -> canonical dump text */
	json_t *devices;	/* QOM type -> {vmsd, properties} */
	json_t *obs;		/* "id\tuname" -> observations */
	json_t *notes;		/* [strings] */
	json_t *used_streams;	/* [names] */
	bool dump_counts;	/* the dump gives array lengths ("num") */
	int index_last;		/* -1 not seen, 0/1 as streams show */
};

static int nomem(struct imp *m)
{
	return mig_error_set(m->err, MIG_ENOMEM, MIG_NO_OFFSET, "out of memory");
}

static void note(struct imp *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(struct imp *m, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(m->notes, json_string(buf));
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* ------------------------------------------------------------------ */
/* Unique names                                                        */

/* Recomputes "_uname" of every field of @v (QEMU's vmdesc naming). */
static void set_unames(json_t *v)
{
	json_t *fields = json_object_get(v, "fields");
	size_t i, k;
	json_t *f, *g;

	json_array_foreach(fields, i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));
		size_t total = 0, before = 0;

		json_array_foreach(fields, k, g) {
			if (strcmp(json_string_value(json_object_get(g, "name")),
				   name))
				continue;
			total++;
			if (k < i)
				before++;
		}
		if (total == 1) {
			json_object_set_new(f, "_uname", json_string(name));
		} else {
			char buf[512];

			snprintf(buf, sizeof(buf), "%s[%zu]", name, before);
			json_object_set_new(f, "_uname", json_string(buf));
		}
	}
}

static json_t *field_by_uname(json_t *v, const char *uname, size_t *pos)
{
	size_t i;
	json_t *f;

	json_array_foreach(json_object_get(v, "fields"), i, f)
		if (!strcmp(json_string_value(json_object_get(f, "_uname")),
			    uname)) {
			if (pos)
				*pos = i;
			return f;
		}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* -dump-vmstate                                                       */

static json_t *unknown(const char *why)
{
	json_t *o = json_object();

	json_object_set_new(o, "unknown", json_string(why));
	return o;
}

static void add_unique(json_t *arr, const char *s)
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e)
		if (!strcmp(json_string_value(e), s))
			return;
	json_array_append_new(arr, json_string(s));
}

static const char *new_vmsd(struct imp *m, const char *name, const char *ctx,
			    const char *origin)
{
	json_t *ids = json_object_get(m->by_name, name);
	char id[512];
	json_t *v;

	if (!ids) {
		ids = json_array();
		json_object_set_new(m->by_name, name, ids);
	}
	if (!json_array_size(ids) && !json_object_get(m->vmsds, name))
		snprintf(id, sizeof(id), "%s", name);
	else
		snprintf(id, sizeof(id), "%s@%s", name, ctx);
	if (json_object_get(m->vmsds, id)) {
		char stem[512];

		snprintf(stem, sizeof(stem), "%s", id);
		for (int n = 2; json_object_get(m->vmsds, id); n++)
			snprintf(id, sizeof(id), "%.500s#%d", stem, n);
	}
	v = json_object();
	json_object_set_new(v, "id", json_string(id));
	json_object_set_new(v, "name", json_string(name));
	json_object_set_new(v, "version", json_integer(0));
	json_object_set_new(v, "fields", json_array());
	json_object_set_new(v, "subsections", json_array());
	json_object_set_new(v, "sections", json_array());
	json_object_set_new(v, "origin", json_string(origin));
	json_object_set_new(m->vmsds, id, v);
	json_array_append_new(ids, json_string(id));
	return json_string_value(json_object_get(v, "id"));
}

static const char *reg_desc(struct imp *m, json_t *desc, const char *ctx,
			    int depth)
{
	const char *name = json_string_value(json_object_get(desc, "name"));
	char *canon;
	json_t *ids, *e, *v, *f;
	const char *id;
	size_t i;

	if (!name || depth > 64)
		return NULL;
	canon = json_dumps(desc, JSON_SORT_KEYS | JSON_COMPACT);
	if (!canon)
		return NULL;
	ids = json_object_get(m->by_name, name);
	json_array_foreach(ids, i, e) {
		const char *c = json_string_value(json_object_get(
			m->canon, json_string_value(e)));

		if (c && !strcmp(c, canon)) {
			free(canon);
			return json_string_value(e);
		}
	}
	id = new_vmsd(m, name, ctx, "dump");
	json_object_set_new(m->canon, id, json_string(canon));
	free(canon);
	v = json_object_get(m->vmsds, id);
	json_object_set(v, "version", json_object_get(desc, "version_id"));
	json_object_set(v, "minimum_version",
			json_object_get(desc, "minimum_version_id"));
	json_array_foreach(json_object_get(desc, "Fields"), i, f) {
		json_t *nf = json_object();
		json_t *sub = json_object_get(f, "Description");
		const char *fname = json_string_value(json_object_get(f, "field"));

		if (!fname) {
			json_decref(nf);
			continue;
		}
		json_object_set_new(nf, "name", json_string(fname));
		json_object_set(nf, "version", json_object_get(f, "version_id"));
		if (json_is_true(json_object_get(f, "field_exists")))
			json_object_set_new(nf, "exists",
					    unknown("a _TEST function -dump-vmstate does not show"));
		if (json_is_integer(json_object_get(f, "num")))
			json_object_set(nf, "count", json_object_get(f, "num"));
		else if (!m->dump_counts)
			/* Before QEMU 8.0 the dump gives no array lengths:
			 * streams may tell; else it is a guess of 1. */
			json_object_set_new(nf, "count",
					    unknown("-dump-vmstate of this QEMU gives no array lengths"));
		json_object_set(nf, "memory_size", json_object_get(f, "size"));
		if (sub) {
			char c2[512];
			const char *sid;

			snprintf(c2, sizeof(c2), "%s.%s", ctx, fname);
			sid = reg_desc(m, sub, c2, depth + 1);
			if (!sid) {
				json_decref(nf);
				return NULL;
			}
			json_object_set_new(nf, "vmsd", json_string(sid));
		}
		json_array_append_new(json_object_get(v, "fields"), nf);
	}
	json_array_foreach(json_object_get(desc, "Subsections"), i, f) {
		const char *sname = json_string_value(json_object_get(f, "name"));
		char c2[512];
		const char *sid;
		json_t *ns;

		snprintf(c2, sizeof(c2), "%s/%s", ctx, sname ? sname : "?");
		sid = reg_desc(m, f, c2, depth + 1);
		if (!sid)
			return NULL;
		ns = json_object();
		json_object_set_new(ns, "vmsd", json_string(sid));
		json_object_set_new(ns, "needed",
				    unknown("a .needed function -dump-vmstate does not show"));
		json_array_append_new(json_object_get(v, "subsections"), ns);
	}
	set_unames(v);
	return id;
}

static int load_json_file(struct imp *m, const char *path, json_t **out)
{
	json_error_t je;

	*out = json_load_file(path, JSON_DECODE_ANY, &je);
	if (!*out)
		return mig_error_set(m->err, MIG_EINVAL, MIG_NO_OFFSET,
				     "%s:%d:%d: %s", path, je.line, je.column,
				     je.text);
	return 0;
}

static int import_dump(struct imp *m, const char *path)
{
	json_t *d = NULL, *e;
	const char *key;
	int ret;

	ret = load_json_file(m, path, &d);
	if (ret)
		return ret;
	if (!json_is_object(d) || !json_object_get(d, "vmschkmachine")) {
		json_decref(d);
		return mig_error_set(m->err, MIG_EINVAL, MIG_NO_OFFSET,
				     "%s: not -dump-vmstate output (no \"vmschkmachine\")",
				     path);
	}
	{
		char *text = json_dumps(d, JSON_COMPACT);

		m->dump_counts = text && strstr(text, "\"num\":");
		free(text);
	}
	json_object_foreach(d, key, e) {
		json_t *desc = json_object_get(e, "Description");
		const char *id, *name;
		json_t *dev;

		if (!strcmp(key, "vmschkmachine") || !desc)
			continue;
		id = reg_desc(m, desc, key, 0);
		if (!id) {
			json_decref(d);
			return mig_error_set(m->err, MIG_EINVAL, MIG_NO_OFFSET,
					     "%s: bad description of '%s'", path,
					     key);
		}
		name = json_string_value(json_object_get(desc, "name"));
		add_unique(json_object_get(json_object_get(m->vmsds, id),
					   "sections"), name);
		dev = json_object();
		json_object_set_new(dev, "vmsd", json_string(id));
		json_object_set_new(m->devices, key, dev);
	}
	json_decref(d);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Real streams                                                        */

static bool node_int(const struct mig_node *n, json_int_t *v)
{
	if (n->vkind == MIG_VAL_UINT || n->vkind == MIG_VAL_BOOL) {
		if (n->u > INT64_MAX)
			return false;
		*v = (json_int_t)n->u;
		return true;
	}
	if (n->vkind == MIG_VAL_INT) {
		*v = n->i;
		return true;
	}
	return false;
}

/* Scalar values of the fields before @stop in @parent (for inference). */
static json_t *earlier_values(const struct mig_node *parent,
			      const struct mig_node *stop)
{
	json_t *o = json_object();

	for (const struct mig_node *n = parent->child; n && n != stop;
	     n = n->next) {
		json_int_t v;

		if (n->kind == MIG_NODE_FIELD && n->name && node_int(n, &v))
			json_object_set_new(o, n->name, json_integer(v));
	}
	return o;
}

static json_t *obs_for(struct imp *m, const char *id, const char *uname)
{
	char key[1024];
	json_t *o;

	snprintf(key, sizeof(key), "%s\t%s", id, uname);
	o = json_object_get(m->obs, key);
	if (!o) {
		o = json_object();
		json_object_set_new(o, "types", json_object());
		json_object_set_new(o, "sizes", json_array());
		json_object_set_new(o, "counts", json_array());
		json_object_set_new(m->obs, key, o);
	}
	return o;
}

/* Picks the description of @name that best matches the observed fields. */
static const char *find_id(struct imp *m, const char *name,
			   const struct mig_node *node)
{
	json_t *ids = json_object_get(m->by_name, name);
	const char *best = NULL;
	long best_score = LONG_MIN;
	size_t i;
	json_t *e;

	json_array_foreach(ids, i, e) {
		json_t *v = json_object_get(m->vmsds, json_string_value(e));
		long score = 0;

		for (const struct mig_node *n = node->child; n; n = n->next) {
			if (n->kind == MIG_NODE_FIELD)
				score += field_by_uname(v, n->name, NULL) ? 1 : -1;
		}
		if (score > best_score) {
			best_score = score;
			best = json_string_value(e);
		}
	}
	return best;
}

/* A group of tree nodes that are one schema field. */
struct group {
	const struct mig_node *first;
	size_t nnodes;		/* index entries */
	uint64_t count;
	bool last_unindexed;
	const struct mig_node *after;
};

/*
 * The group starting at the first field node from @n: returns its first
 * node (NULL when none is left); g->after is where the next one starts.
 */
static const struct mig_node *next_group(const struct mig_node *n,
					 struct group *g)
{
	while (n && n->kind != MIG_NODE_FIELD)
		n = n->next;
	if (!n)
		return NULL;
	g->first = n;
	g->nnodes = 1;
	g->last_unindexed = false;
	g->after = n->next;
	if (n->array_len) {
		g->count = n->array_len;
		return n;
	}
	if (n->index >= 0) {
		const struct mig_node *k = n->next;

		while (k && k->kind == MIG_NODE_FIELD && k->index >= 0 &&
		       !strcmp(k->name, n->name) && k->index == n->index +
		       (int64_t)g->nnodes) {
			g->nnodes++;
			k = k->next;
		}
		/* QEMU 10.0 leaves the index off the last element. */
		if (k && k->kind == MIG_NODE_FIELD && k->index < 0 &&
		    !k->array_len && !strcmp(k->name, n->name)) {
			g->nnodes++;
			g->last_unindexed = true;
			k = k->next;
		}
		g->after = k;
	}
	g->count = g->nnodes;
	return n;
}

static int observe(struct imp *m, const char *vmsd_name,
		   const struct mig_node *node, const char *use,
		   uint32_t version, const char *section, int depth);

/* Adds the fields @node shows to a description made from streams. */
static void merge_fields(struct imp *m, json_t *v, const struct mig_node *node)
{
	json_t *fields = json_object_get(v, "fields");
	bool first = !json_array_size(fields) &&
		     !json_is_true(json_object_get(v, "_seen"));
	size_t i = 0;
	struct group g;
	const struct mig_node *n = node->child;

	(void)m;
	json_object_set_new(v, "_seen", json_true());
	for (; (n = next_group(n, &g)); n = g.after) {
		const char *name = g.first->name;
		size_t at;
		json_t *f = NULL;

		for (at = i; at < json_array_size(fields); at++) {
			f = json_array_get(fields, at);
			if (!strcmp(json_string_value(json_object_get(f, "name")),
				    name))
				break;
		}
		if (at < json_array_size(fields)) {
			/* Fields skipped over were absent this time. */
			for (; i < at; i++)
				json_object_set_new(json_array_get(fields, i),
						    "exists",
						    unknown("not in every stream seen"));
			i = at + 1;
			continue;
		}
		f = json_object();
		json_object_set_new(f, "name", json_string(name));
		if (!first)
			json_object_set_new(f, "exists",
					    unknown("not in every stream seen"));
		json_array_insert_new(fields, i, f);
		i++;
	}
	for (; i < json_array_size(fields); i++)
		json_object_set_new(json_array_get(fields, i), "exists",
				    unknown("not in every stream seen"));
	set_unames(v);
}

static const char *sub_id(struct imp *m, json_t *v, const char *name,
			  const struct mig_node *node)
{
	size_t i;
	json_t *s;
	const char *id;

	json_array_foreach(json_object_get(v, "subsections"), i, s) {
		const char *sid = json_string_value(json_object_get(s, "vmsd"));
		json_t *sv = json_object_get(m->vmsds, sid);

		if (sv && !strcmp(json_string_value(json_object_get(sv, "name")),
				  name))
			return sid;
	}
	/* Not declared: learnt from the stream. */
	id = find_id(m, name, node);
	if (!id) {
		char ctx[512];

		snprintf(ctx, sizeof(ctx), "%s", json_string_value(
				 json_object_get(v, "id")));
		id = new_vmsd(m, name, ctx, "vmdesc");
	}
	s = json_object();
	json_object_set_new(s, "vmsd", json_string(id));
	json_object_set_new(s, "needed", unknown("learnt from a stream"));
	json_array_append_new(json_object_get(v, "subsections"), s);
	return json_string_value(json_object_get(s, "vmsd"));
}

static int observe_group(struct imp *m, json_t *v, const char *id,
			 const struct mig_node *parent, const struct group *g,
			 const char *use, int depth)
{
	const struct mig_node *n = g->first;
	json_t *f = field_by_uname(v, n->name, NULL);
	json_t *o, *types, *e;
	char child_use[1024];

	if (!f) {
		note(m, "description '%s': a stream has field '%s' the dump does not list",
		     id, n->name);
		return 0;
	}
	if (g->nnodes > 1) {
		m->index_last = !g->last_unindexed;
		/* What the stream shows of a description it taught us. */
		if (!strcmp(json_string_value(json_object_get(v, "origin")),
			    "vmdesc"))
			json_object_set_new(f, "indexed", json_true());
	}
	o = obs_for(m, id, n->name);
	types = json_object_get(o, "types");
	json_object_set_new(types, n->type ? n->type : "unknown", json_true());
	e = json_object();
	json_object_set_new(e, "count", json_integer((json_int_t)g->count));
	json_object_set_new(e, "before", earlier_values(parent, n));
	json_array_append_new(json_object_get(o, "counts"), e);
	snprintf(child_use, sizeof(child_use), "%s\t%s", id, n->name);

	for (size_t k = 0; k < g->nnodes; k++, n = n->next) {
		size_t nel = n->array_len ? n->array_len : 1;
		const struct mig_node *el = n->array_len ? n->child : n;

		for (size_t j = 0; j < nel && el; j++) {
			if (n->vmsd) {
				int ret;

				if (!json_object_get(f, "vmsd")) {
					/* A struct the vmdesc knows and the
					 * description made from streams
					 * did not: learn it. */
					const char *sid = find_id(m, n->vmsd, el);

					if (!sid)
						sid = new_vmsd(m, n->vmsd, id,
							       "vmdesc");
					json_object_set_new(f, "vmsd",
							    json_string(sid));
				}
				ret = observe(m, n->vmsd, el, child_use,
					      n->version, NULL, depth + 1);
				if (ret)
					return ret;
			} else {
				json_t *se = json_object();

				json_object_set_new(se, "size",
						    json_integer((json_int_t)el->size));
				json_object_set_new(se, "use", json_string(use));
				json_object_set_new(se, "before",
						    earlier_values(parent, g->first));
				json_array_append_new(json_object_get(o, "sizes"),
						      se);
			}
			if (n->array_len)
				el = el->next;
		}
	}
	return 0;
}

static int observe(struct imp *m, const char *vmsd_name,
		   const struct mig_node *node, const char *use,
		   uint32_t version, const char *section, int depth)
{
	const char *id;
	json_t *v;
	struct group g;
	const struct mig_node *n;
	int ret;

	if (depth > 64)
		return 0;
	id = find_id(m, vmsd_name, node);
	if (!id)
		id = new_vmsd(m, vmsd_name, section ? section : "stream",
			      "vmdesc");
	v = json_object_get(m->vmsds, id);
	if (!strcmp(json_string_value(json_object_get(v, "origin")), "vmdesc")) {
		merge_fields(m, v, node);
		if ((json_int_t)version > json_integer_value(
			    json_object_get(v, "version")))
			json_object_set_new(v, "version", json_integer(version));
	}
	if (section)
		add_unique(json_object_get(v, "sections"), section);
	for (n = node->child; (n = next_group(n, &g)); n = g.after) {
		ret = observe_group(m, v, id, node, &g, use, depth);
		if (ret)
			return ret;
	}
	if (!strcmp(json_string_value(json_object_get(v, "origin")), "dump")) {
		/* A field that must be there but is not: QEMU wrote zero
		 * elements of it (a count that is zero here). */
		size_t i;
		json_t *f;

		json_array_foreach(json_object_get(v, "fields"), i, f) {
			const char *un = json_string_value(json_object_get(f, "_uname"));
			bool seen = false;
			json_t *o, *e;

			if (json_object_get(f, "exists") ||
			    json_integer_value(json_object_get(f, "version")) >
			    (json_int_t)version)
				continue;
			for (n = node->child; n && !seen; n = n->next)
				seen = n->kind == MIG_NODE_FIELD &&
				       !strcmp(n->name, un);
			if (seen)
				continue;
			o = obs_for(m, id, un);
			e = json_object();
			json_object_set_new(e, "count", json_integer(0));
			json_object_set_new(e, "before", earlier_values(node, NULL));
			json_array_append_new(json_object_get(o, "counts"), e);
		}
	}
	for (n = node->child; n; n = n->next) {
		const char *sid;

		if (n->kind != MIG_NODE_SUBSECTION)
			continue;
		sid = sub_id(m, v, n->name, n);
		v = json_object_get(m->vmsds, id);	/* may have moved */
		(void)sid;
		ret = observe(m, n->name, n, "", n->version, NULL, depth + 1);
		if (ret)
			return ret;
	}
	return 0;
}

static int import_stream(struct imp *m, const char *path)
{
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	struct mig_error err;
	size_t used = 0;
	int ret;

	mig_error_clear(&err);
	ret = mig_reader_open(&r, path, &err);
	if (!ret)
		ret = mig_stream_read(r, NULL, &s, &err);
	mig_reader_free(r);
	if (ret || !s) {
		char msg[MIG_MSG_MAX + MIG_PATH_MAX + 64];

		mig_stream_free(s);
		if (ret == -MIG_ENOMEM)
			return nomem(m);
		note(m, "%s", mig_error_format(&err, path, msg, sizeof(msg)));
		return 0;
	}
	if (!s->has_vmdesc) {
		note(m, "%s: no vmdesc, not used", base_name(path));
		mig_stream_free(s);
		return 0;
	}
	for (const struct mig_record *rec = s->records; rec; rec = rec->next) {
		const char *sec;

		if (rec->type != MIG_REC_FULL || rec->kind != MIG_SEC_VMSTATE ||
		    !rec->tree || !rec->vmsd)
			continue;
		sec = strrchr(rec->name, '/');
		sec = sec ? sec + 1 : rec->name;
		ret = observe(m, rec->vmsd, rec->tree, "", rec->version, sec, 0);
		if (ret)
			break;
		used++;
	}
	if (!ret)
		json_array_append_new(m->used_streams,
				      json_string(m->o->no_provenance_paths
						  ? base_name(path) : path));
	mig_stream_free(s);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Turning observations into sizes, counts and types                   */

static bool is_int_type(const char *t)
{
	static const char *const ints[] = {
		"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
		"uint64", "int32 equal", "int32 le", "int64 equal",
		"uint8 equal", "uint16 equal", "uint32 equal", "timer", "bool",
		NULL,
	};

	for (const char *const *p = ints; *p; p++)
		if (!strcmp(*p, t))
			return true;
	return false;
}

/* A field whose value equals @key's value in every entry of @list. */
static const char *infer_field(json_t *list, const char *key)
{
	json_t *first = json_array_get(list, 0);
	json_t *before = json_object_get(first, "before");
	const char *name, *found = NULL;
	json_t *val;

	json_object_foreach(before, name, val) {
		size_t i;
		json_t *e;
		bool all = true;

		json_array_foreach(list, i, e) {
			json_t *b = json_object_get(json_object_get(e, "before"),
						    name);

			if (!b || json_integer_value(b) !=
				      json_integer_value(json_object_get(e, key))) {
				all = false;
				break;
			}
		}
		if (all && !found)
			found = name;
	}
	return found;
}

static void set_override(struct imp *m, const char *use, const char *uname,
			 json_int_t size)
{
	char id[512];
	const char *tab = strchr(use, '\t');
	json_t *pv, *pf, *ov, *o;

	if (!tab)
		return;
	snprintf(id, sizeof(id), "%.*s", (int)(tab - use), use);
	pv = json_object_get(m->vmsds, id);
	pf = pv ? field_by_uname(pv, tab + 1, NULL) : NULL;
	if (!pf)
		return;
	ov = json_object_get(pf, "override");
	if (!ov) {
		ov = json_object();
		json_object_set_new(pf, "override", ov);
	}
	o = json_object();
	json_object_set_new(o, "size", json_integer(size));
	json_object_set_new(ov, uname, o);
}

static void finish_field(struct imp *m, const char *id, json_t *f)
{
	const char *uname = json_string_value(json_object_get(f, "_uname"));
	char key[1024];
	json_t *o, *types, *sizes, *counts;
	const char *type = NULL, *t;
	json_t *val;

	snprintf(key, sizeof(key), "%s\t%s", id, uname);
	o = json_object_get(m->obs, key);
	if (!o)
		return;
	types = json_object_get(o, "types");
	if (json_object_size(types) == 1) {
		json_object_foreach(types, t, val)
			type = t;
		if (strcmp(type, "unknown"))
			json_object_set_new(f, "type", json_string(type));
	} else if (json_object_size(types) > 1) {
		note(m, "'%s' field '%s': streams show several types", id, uname);
	}

	counts = json_object_get(o, "counts");
	if (json_array_size(counts)) {
		json_int_t c0 = json_integer_value(json_object_get(
			json_array_get(counts, 0), "count"));
		bool same = true;
		size_t i;
		json_t *e;

		json_array_foreach(counts, i, e)
			same &= json_integer_value(json_object_get(e, "count")) == c0;
		if (same) {
			json_t *dc = json_object_get(f, "count");

			if (dc && !json_is_integer(dc)) {
				/* The streams tell what the dump did not. */
				json_object_del(f, "count");
				dc = NULL;
			}
			if (dc && json_integer_value(dc) != c0)
				note(m, "'%s' field '%s': the dump says %" JSON_INTEGER_FORMAT " elements, streams %" JSON_INTEGER_FORMAT,
				     id, uname, json_integer_value(dc), c0);
			if (c0 != 1 || dc)
				json_object_set_new(f, "count", json_integer(c0));
		} else {
			const char *by = infer_field(counts, "count");

			if (by) {
				json_t *x = json_object();

				json_object_set_new(x, "field", json_string(by));
				json_object_set_new(f, "count", x);
			} else {
				json_object_set_new(f, "count",
						    unknown("varies between streams"));
				note(m, "'%s' field '%s': element count varies and follows no earlier field",
				     id, uname);
			}
		}
	}

	sizes = json_object_get(o, "sizes");
	if (json_array_size(sizes) && !(type && is_int_type(type))) {
		json_int_t s0 = json_integer_value(json_object_get(
			json_array_get(sizes, 0), "size"));
		bool same = true, per_use = true;
		json_t *by_use = json_object();
		size_t i;
		json_t *e;

		json_array_foreach(sizes, i, e) {
			json_int_t sz = json_integer_value(json_object_get(e, "size"));
			const char *use = json_string_value(json_object_get(e, "use"));
			json_t *u = json_object_get(by_use, use);

			same &= sz == s0;
			if (!u)
				json_object_set_new(by_use, use, json_integer(sz));
			else if (json_integer_value(u) != sz)
				per_use = false;
		}
		if (same) {
			json_object_set_new(f, "size", json_integer(s0));
		} else if (per_use && !json_object_get(by_use, "")) {
			const char *use;

			json_object_foreach(by_use, use, val)
				set_override(m, use, uname,
					     json_integer_value(val));
		} else {
			const char *by = infer_field(sizes, "size");

			if (by) {
				json_t *x = json_object();

				json_object_set_new(x, "field", json_string(by));
				json_object_set_new(f, "size", x);
			} else {
				note(m, "'%s' field '%s': size varies between streams; it is read up to the section's end when nothing follows",
				     id, uname);
			}
		}
		json_decref(by_use);
	}
}

/* ------------------------------------------------------------------ */
/* Curation                                                            */

struct cur {
	struct imp *m;
	const char *file;
	struct jp_value *root;
};

static int cerr(struct cur *c, struct jp_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cerr(struct cur *c, struct jp_pos pos, const char *fmt, ...)
{
	char msg[MIG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cond_pos_error(c->m->err, c->file, pos, "%s", msg);
}

static int ckeys(struct cur *c, const struct jp_value *o, const char *what,
		 const char *const *allowed)
{
	if (o->type != JP_OBJECT)
		return cerr(c, o->pos, "%s must be an object", what);
	for (size_t i = 0; i < o->n; i++) {
		const char *const *a;

		for (a = allowed; *a; a++)
			if (!strcmp(*a, o->keys[i]))
				break;
		if (!*a)
			return cerr(c, o->kpos[i], "unknown key '%s' in %s",
				    o->keys[i], what);
	}
	return 0;
}

/* Does entry @e (with optional "qemu": [...]) apply to this import? */
static int applies(struct cur *c, const struct jp_value *e, bool *yes)
{
	const struct jp_value *q = jp_get(e, "qemu");

	*yes = true;
	if (!q)
		return 0;
	if (q->type != JP_ARRAY)
		return cerr(c, q->pos, "'qemu' must be an array of versions");
	*yes = false;
	for (size_t i = 0; i < q->n; i++) {
		if (q->items[i]->type != JP_STRING)
			return cerr(c, q->items[i]->pos,
				    "'qemu' must be an array of versions");
		if (c->m->o->qemu && !strcmp(q->items[i]->s, c->m->o->qemu))
			*yes = true;
	}
	return 0;
}

/* Checks @v compiles as an expression and returns it as jansson JSON. */
static int expr(struct cur *c, const struct jp_value *v, json_t **out)
{
	struct mig_cond *cc = NULL;
	int ret = cond_compile(v, c->file, &cc, c->m->err);

	mig_cond_free(cc);
	if (ret)
		return ret;
	*out = jp_to_json(v);
	return *out ? 0 : nomem(c->m);
}

static int curate_field(struct cur *c, const char *id, json_t *f,
			const struct jp_value *spec)
{
	static const char *const keys[] = {
		"exists", "size", "count", "saved", "type", "note", NULL,
	};
	int ret = ckeys(c, spec, "a curated field", keys);

	(void)id;
	if (ret)
		return ret;
	for (size_t i = 0; i < spec->n; i++) {
		const char *k = spec->keys[i];
		json_t *j = NULL;

		if (!strcmp(k, "type") || !strcmp(k, "note")) {
			if (spec->items[i]->type != JP_STRING)
				return cerr(c, spec->items[i]->pos,
					    "'%s' must be a string", k);
			j = json_string(spec->items[i]->s);
		} else {
			ret = expr(c, spec->items[i], &j);
			if (ret)
				return ret;
		}
		json_object_set_new(f, k, j);
	}
	return 0;
}

static int curate_vmsd(struct cur *c, const struct jp_value *e)
{
	static const char *const keys[] = {
		"vmsd", "id", "qemu", "fields", "subsections", "sections",
		"source", NULL,
	};
	const struct jp_value *name = jp_get(e, "vmsd");
	const struct jp_value *fields = jp_get(e, "fields");
	const struct jp_value *subs = jp_get(e, "subsections");
	json_t *ids;
	size_t i, hits = 0;
	json_t *idv;
	bool yes;
	int ret;

	ret = ckeys(c, e, "a curated description", keys);
	if (!ret)
		ret = applies(c, e, &yes);
	if (ret)
		return ret;
	if (!yes)
		return 0;
	if (!name || name->type != JP_STRING)
		return cerr(c, e->pos, "a curated description needs \"vmsd\": NAME");
	if (fields && fields->type != JP_OBJECT)
		return cerr(c, fields->pos, "'fields' must be an object");
	if (subs && subs->type != JP_OBJECT)
		return cerr(c, subs->pos, "'subsections' must be an object");
	ids = json_object_get(c->m->by_name, name->s);
	json_array_foreach(ids, i, idv) {
		const char *id = json_string_value(idv);
		json_t *v = json_object_get(c->m->vmsds, id);
		const struct jp_value *want = jp_get(e, "id");

		if (want && (want->type != JP_STRING || strcmp(want->s, id)))
			continue;
		hits++;
		if (jp_get(e, "sections")) {
			const struct jp_value *sl = jp_get(e, "sections");
			json_t *arr = json_array();

			if (sl->type != JP_ARRAY) {
				json_decref(arr);
				return cerr(c, sl->pos, "'sections' must be an array of names");
			}
			for (size_t k = 0; k < sl->n; k++) {
				if (sl->items[k]->type != JP_STRING) {
					json_decref(arr);
					return cerr(c, sl->items[k]->pos,
						    "'sections' must be an array of names");
				}
				json_array_append_new(arr, json_string(sl->items[k]->s));
			}
			json_object_set_new(v, "sections", arr);
		}
		for (size_t k = 0; fields && k < fields->n; k++) {
			json_t *f = field_by_uname(v, fields->keys[k], NULL);

			if (!f) {
				note(c->m, "curation %s:%" PRIu32 ": '%s' has no field '%s' here",
				     c->file, fields->kpos[k].line, id,
				     fields->keys[k]);
				continue;
			}
			ret = curate_field(c, id, f, fields->items[k]);
			if (ret)
				return ret;
		}
		for (size_t k = 0; subs && k < subs->n; k++) {
			static const char *const skeys[] = { "needed", NULL };
			size_t j;
			json_t *s;
			bool found = false;

			ret = ckeys(c, subs->items[k], "a curated subsection",
				    skeys);
			if (ret)
				return ret;
			json_array_foreach(json_object_get(v, "subsections"), j, s) {
				json_t *sv = json_object_get(c->m->vmsds,
					json_string_value(json_object_get(s, "vmsd")));
				json_t *x = NULL;

				if (!sv || strcmp(json_string_value(json_object_get(
						sv, "name")), subs->keys[k]))
					continue;
				found = true;
				if (jp_get(subs->items[k], "needed")) {
					ret = expr(c, jp_get(subs->items[k], "needed"),
						   &x);
					if (ret)
						return ret;
					json_object_set_new(s, "needed", x);
				}
			}
			if (!found)
				note(c->m, "curation %s:%" PRIu32 ": '%s' has no subsection '%s'",
				     c->file, subs->kpos[k].line, id,
				     subs->keys[k]);
		}
	}
	if (!hits)
		note(c->m, "curation %s:%" PRIu32 ": no description '%s' in this QEMU",
		     c->file, e->pos.line, name->s);
	return 0;
}

static int curate_props(struct cur *c, json_t *dev,
			const struct jp_value *props)
{
	json_t *p = json_object_get(dev, "properties");
	int ret;

	if (!p) {
		p = json_object();
		json_object_set_new(dev, "properties", p);
	}
	for (size_t i = 0; i < props->n; i++) {
		json_t *x = NULL;

		ret = expr(c, props->items[i], &x);
		if (ret)
			return ret;
		json_object_set_new(p, props->keys[i], x);
	}
	return 0;
}

/* Device properties by QOM type, or for every type of a description. */
static int curate_device(struct cur *c, const struct jp_value *e)
{
	static const char *const keys[] = {
		"type", "vmsd", "qemu", "properties", "source", NULL,
	};
	const struct jp_value *type = jp_get(e, "type");
	const struct jp_value *vmsd = jp_get(e, "vmsd");
	const struct jp_value *props = jp_get(e, "properties");
	const char *key;
	json_t *dev;
	size_t hits = 0;
	bool yes;
	int ret;

	ret = ckeys(c, e, "a curated device", keys);
	if (!ret)
		ret = applies(c, e, &yes);
	if (ret)
		return ret;
	if (!yes)
		return 0;
	if ((!type || type->type != JP_STRING) == (!vmsd || vmsd->type != JP_STRING))
		return cerr(c, e->pos,
			    "a curated device needs \"type\": QOM-TYPE or \"vmsd\": NAME");
	if (!props || props->type != JP_OBJECT)
		return cerr(c, e->pos, "a curated device needs \"properties\": {...}");
	json_object_foreach(c->m->devices, key, dev) {
		const char *id = json_string_value(json_object_get(dev, "vmsd"));
		json_t *v = id ? json_object_get(c->m->vmsds, id) : NULL;

		if (type ? strcmp(key, type->s)
			 : !v || strcmp(json_string_value(json_object_get(v, "name")),
					vmsd->s))
			continue;
		hits++;
		ret = curate_props(c, dev, props);
		if (ret)
			return ret;
	}
	if (!hits)
		note(c->m, "curation %s:%" PRIu32 ": no device %s '%s' in this QEMU",
		     c->file, e->pos.line, type ? "type" : "with description",
		     type ? type->s : vmsd->s);
	return 0;
}

static int load_curation(struct imp *m, struct cur *c, const char *path)
{
	static const char *const keys[] = {
		"migstream_curation", "vmsds", "devices", "machines", "note",
		NULL,
	};
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0, cap = 0;
	struct jp_error je;
	const struct jp_value *v;
	int ret;

	c->m = m;
	c->file = path;
	c->root = NULL;
	if (!f)
		return mig_error_set(m->err, MIG_EIO, MIG_NO_OFFSET,
				     "cannot open '%s': %s", path,
				     strerror(errno));
	for (;;) {
		size_t got;

		if (len == cap) {
			char *p = realloc(text, cap ? cap * 2 : 65536);

			if (!p) {
				free(text);
				fclose(f);
				return nomem(m);
			}
			text = p;
			cap = cap ? cap * 2 : 65536;
		}
		got = fread(text + len, 1, cap - len, f);
		if (!got)
			break;
		len += got;
	}
	fclose(f);
	ret = jp_parse(text, len, &c->root, &je);
	free(text);
	if (ret == -2)
		return nomem(m);
	if (ret)
		return cond_pos_error(m->err, path, je.pos, "bad JSON: %s",
				      je.msg);
	ret = ckeys(c, c->root, "the curation", keys);
	if (ret)
		return ret;
	v = jp_get(c->root, "migstream_curation");
	if (!v || v->type != JP_INT || v->i != 1)
		return cerr(c, v ? v->pos : c->root->pos,
			    "not a curation file (\"migstream_curation\": 1)");
	return 0;
}

static int apply_curation(struct cur *c)
{
	const struct jp_value *a;
	int ret;

	a = jp_get(c->root, "vmsds");
	if (a && a->type != JP_ARRAY)
		return cerr(c, a->pos, "'vmsds' must be an array");
	for (size_t i = 0; a && i < a->n; i++) {
		ret = curate_vmsd(c, a->items[i]);
		if (ret)
			return ret;
	}
	a = jp_get(c->root, "devices");
	if (a && a->type != JP_ARRAY)
		return cerr(c, a->pos, "'devices' must be an array");
	for (size_t i = 0; a && i < a->n; i++) {
		ret = curate_device(c, a->items[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Machine types                                                       */

/* "pc-q35-7.2" -> "7.2" (in @buf), false when the name has none. */
static bool machine_release(const char *m, char *buf, size_t len)
{
	const char *dash = strrchr(m, '-');

	if (!dash || dash[1] < '0' || dash[1] > '9' || !strchr(dash, '.'))
		return false;
	snprintf(buf, len, "%s", dash + 1);
	return true;
}

static int machine_rule(struct cur *c, const struct jp_value *r, json_t *mach)
{
	static const char *const keys[] = {
		"match", "upto", "from", "qemu_from", "set", "properties",
		"source", NULL,
	};
	static const char *const traits[] = {
		"footers", "configuration", "vmdesc", "switchover_start", NULL,
	};
	const char *name = json_string_value(json_object_get(mach, "name"));
	const struct jp_value *v;
	char rel[64];
	bool has_rel = machine_release(name, rel, sizeof(rel));
	int ret = ckeys(c, r, "a machine rule", keys);

	if (ret)
		return ret;
	v = jp_get(r, "match");
	if (v && (v->type != JP_STRING || fnmatch(v->s, name, 0)))
		return v->type == JP_STRING ? 0
			: cerr(c, v->pos, "'match' must be a glob string");
	v = jp_get(r, "upto");
	if (v) {
		if (v->type != JP_STRING)
			return cerr(c, v->pos, "'upto' must be a version string");
		if (!has_rel || mig_version_cmp(rel, v->s) > 0)
			return 0;
	}
	v = jp_get(r, "from");
	if (v) {
		if (v->type != JP_STRING)
			return cerr(c, v->pos, "'from' must be a version string");
		if (!has_rel || mig_version_cmp(rel, v->s) < 0)
			return 0;
	}
	v = jp_get(r, "qemu_from");
	if (v) {
		if (v->type != JP_STRING)
			return cerr(c, v->pos, "'qemu_from' must be a version string");
		if (!c->m->o->qemu || mig_version_cmp(c->m->o->qemu, v->s) < 0)
			return 0;
	}
	v = jp_get(r, "set");
	if (v) {
		ret = ckeys(c, v, "'set'", traits);
		if (ret)
			return ret;
		for (size_t i = 0; i < v->n; i++) {
			if (v->items[i]->type != JP_BOOL)
				return cerr(c, v->items[i]->pos,
					    "'%s' must be a boolean", v->keys[i]);
			json_object_set_new(mach, v->keys[i],
					    json_boolean(v->items[i]->b));
		}
	}
	v = jp_get(r, "properties");
	if (v) {
		json_t *p = json_object_get(mach, "properties");

		if (v->type != JP_OBJECT)
			return cerr(c, v->pos, "'properties' must be an object");
		if (!p) {
			p = json_object();
			json_object_set_new(mach, "properties", p);
		}
		for (size_t i = 0; i < v->n; i++) {
			json_t *x = NULL;

			ret = expr(c, v->items[i], &x);
			if (ret)
				return ret;
			json_object_set_new(p, v->keys[i], x);
		}
	}
	return 0;
}

static int import_machines(struct imp *m, struct cur *c, const char *path,
			   json_t *out)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	json_t *aliases = json_object();
	const struct jp_value *rules = c->root ? jp_get(c->root, "machines")
					       : NULL;
	size_t i;
	json_t *mach;
	const char *key;
	json_t *val;
	int ret = 0;

	if (!f) {
		json_decref(aliases);
		return mig_error_set(m->err, MIG_EIO, MIG_NO_OFFSET,
				     "cannot open '%s': %s", path,
				     strerror(errno));
	}
	if (rules && rules->type != JP_ARRAY) {
		fclose(f);
		json_decref(aliases);
		return cerr(c, rules->pos, "'machines' must be an array");
	}
	while (fgets(line, sizeof(line), f)) {
		char name[256], *rest, *p;

		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "Supported machines", 18) || !line[0] ||
		    line[0] == ' ')
			continue;
		p = line + strcspn(line, " \t");
		if ((size_t)(p - line) >= sizeof(name))
			continue;
		memcpy(name, line, (size_t)(p - line));
		name[p - line] = '\0';
		rest = p + strspn(p, " \t");
		if ((p = strstr(rest, "(alias of "))) {
			char target[256];

			if (sscanf(p, "(alias of %255[^)])", target) == 1)
				json_object_set_new(aliases, target,
						    json_string(name));
			continue;
		}
		mach = json_object();
		json_object_set_new(mach, "name", json_string(name));
		if (strstr(rest, "(default)"))
			json_object_set_new(mach, "default", json_true());
		if (strstr(rest, "(deprecated)"))
			json_object_set_new(mach, "deprecated", json_true());
		json_object_set_new(mach, "footers", json_true());
		json_object_set_new(mach, "configuration", json_true());
		json_object_set_new(mach, "vmdesc", json_true());
		json_object_set_new(mach, "switchover_start", json_false());
		json_array_append_new(out, mach);
	}
	fclose(f);
	json_array_foreach(out, i, mach) {
		json_t *al = json_object_get(aliases, json_string_value(
						     json_object_get(mach, "name")));

		if (al)
			json_object_set(mach, "alias", al);
		for (size_t k = 0; rules && k < rules->n && !ret; k++)
			ret = machine_rule(c, rules->items[k], mach);
		if (ret)
			break;
	}
	json_object_foreach(aliases, key, val)
		(void)key;
	json_decref(aliases);
	if (!ret && !json_array_size(out))
		note(m, "%s: no machine types found", path);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

static int cmp_ids(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A clean copy of a working description, keys in a fixed order. */
static json_t *emit_vmsd(json_t *v)
{
	static const char *const vkeys[] = {
		"id", "name", "version", "minimum_version", "origin", "sections",
		"legacy", "fields", "subsections", "note", NULL,
	};
	static const char *const fkeys[] = {
		"name", "type", "version", "exists", "count", "size", "vmsd",
		"struct_version", "override", "saved", "indexed", "memory_size",
		"note", NULL,
	};
	json_t *o = json_object();

	for (const char *const *k = vkeys; *k; k++) {
		json_t *x = json_object_get(v, *k);

		if (!x)
			continue;
		if (!strcmp(*k, "name") &&
		    !strcmp(json_string_value(x),
			    json_string_value(json_object_get(v, "id"))))
			continue;
		if ((!strcmp(*k, "sections") || !strcmp(*k, "subsections")) &&
		    !json_array_size(x))
			continue;
		if (!strcmp(*k, "fields")) {
			json_t *fa = json_array();
			size_t i;
			json_t *f;

			json_array_foreach(x, i, f) {
				json_t *nf = json_object();

				for (const char *const *fk = fkeys; *fk; fk++) {
					json_t *y = json_object_get(f, *fk);

					if (!y)
						continue;
					if (!strcmp(*fk, "version") &&
					    !json_integer_value(y))
						continue;
					json_object_set(nf, *fk, y);
				}
				json_array_append_new(fa, nf);
			}
			json_object_set_new(o, "fields", fa);
			continue;
		}
		if (!strcmp(*k, "sections")) {
			json_t *copy = json_deep_copy(x);

			json_object_set_new(o, *k, copy);
			continue;
		}
		json_object_set(o, *k, x);
	}
	return o;
}

static json_t *emit(struct imp *m, json_t *machines)
{
	const struct mig_import_opts *o = m->o;
	json_t *root = json_object();
	json_t *prov = json_object();
	json_t *arr = json_array();
	const char **ids;
	size_t n = json_object_size(m->vmsds), k = 0;
	const char *key;
	json_t *val;

	json_object_set_new(root, "migstream_schema",
			    json_integer(MIG_SCHEMA_FORMAT));
	if (o->name)
		json_object_set_new(root, "name", json_string(o->name));
	if (o->qemu)
		json_object_set_new(root, "qemu", json_string(o->qemu));
	if (o->qemu_version)
		json_object_set_new(root, "qemu_version",
				    json_string(o->qemu_version));
	json_object_set_new(root, "target",
			    json_string(o->target ? o->target : "x86_64"));
	/* As streams show; without one, QEMU 10.0 changed it. */
	json_object_set_new(root, "vmdesc_index_last",
			    json_boolean(m->index_last >= 0 ? m->index_last
					 : !o->qemu || mig_version_cmp(o->qemu, "10.0") < 0));
	json_object_set_new(prov, "generated_by",
			    json_string("migstream schema import " IMPORT_VERSION));
	json_object_set_new(prov, "dump_vmstate",
			    json_string(o->no_provenance_paths
					? base_name(o->dump_path) : o->dump_path));
	if (o->machines_path)
		json_object_set_new(prov, "machine_help",
				    json_string(o->no_provenance_paths
						? base_name(o->machines_path)
						: o->machines_path));
	json_object_set(prov, "streams", m->used_streams);
	if (o->curation_path)
		json_object_set_new(prov, "curation",
				    json_string(o->no_provenance_paths
						? base_name(o->curation_path)
						: o->curation_path));
	json_object_set_new(root, "provenance", prov);
	json_object_set_new(root, "machines", machines);

	json_object_foreach(m->devices, key, val) {
		json_t *d = json_object();

		json_object_set_new(d, "type", json_string(key));
		json_object_set(d, "vmsd", json_object_get(val, "vmsd"));
		if (json_object_get(val, "properties"))
			json_object_set(d, "properties",
					json_object_get(val, "properties"));
		json_array_append_new(arr, d);
	}
	json_object_set_new(root, "devices", arr);

	ids = calloc(n ? n : 1, sizeof(*ids));
	arr = json_array();
	if (ids) {
		json_object_foreach(m->vmsds, key, val)
			ids[k++] = key;
		qsort(ids, k, sizeof(*ids), cmp_ids);
		for (size_t i = 0; i < k; i++)
			json_array_append_new(arr, emit_vmsd(json_object_get(
						      m->vmsds, ids[i])));
		free(ids);
	}
	json_object_set_new(root, "vmsds", arr);
	return root;
}

static int cmp_devices(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "type")),
		      json_string_value(json_object_get(*(json_t *const *)b, "type")));
}

int mig_schema_import(const struct mig_import_opts *o, json_t **out,
		      json_t **notes, struct mig_error *err)
{
	struct mig_error local;
	struct imp m = {
		.o = o,
		.err = err ? err : &local,
		.index_last = -1,
	};
	struct cur cur = { 0 };
	json_t *machines = json_array();
	const char *key;
	json_t *val;
	int ret;

	*out = NULL;
	if (notes)
		*notes = NULL;
	if (!err)
		mig_error_clear(&local);
	if (!o->dump_path)
		return mig_error_set(m.err, MIG_EINVAL, MIG_NO_OFFSET,
				     "import needs -dump-vmstate output");
	m.vmsds = json_object();
	m.by_name = json_object();
	m.canon = json_object();
	m.devices = json_object();
	m.obs = json_object();
	m.notes = json_array();
	m.used_streams = json_array();
	if (!m.vmsds || !m.by_name || !m.canon || !m.devices || !m.obs ||
	    !m.notes || !m.used_streams || !machines) {
		ret = nomem(&m);
		goto out_free;
	}
	cur.m = &m;
	if (o->curation_path) {
		ret = load_curation(&m, &cur, o->curation_path);
		if (ret)
			goto out_free;
	}
	ret = import_dump(&m, o->dump_path);
	if (ret)
		goto out_free;
	for (size_t i = 0; i < o->nstreams; i++) {
		ret = import_stream(&m, o->streams[i]);
		if (ret)
			goto out_free;
	}
	json_object_foreach(m.vmsds, key, val) {
		size_t i;
		json_t *f;

		json_array_foreach(json_object_get(val, "fields"), i, f)
			finish_field(&m, key, f);
	}
	if (cur.root) {
		ret = apply_curation(&cur);
		if (ret)
			goto out_free;
	}
	if (o->machines_path) {
		ret = import_machines(&m, &cur, o->machines_path, machines);
		if (ret)
			goto out_free;
	}
	*out = emit(&m, machines);
	machines = NULL;
	if (*out) {
		/* Devices sorted by type, for stable output. */
		json_t *devs = json_object_get(*out, "devices");
		size_t n = json_array_size(devs);
		json_t **tmp = calloc(n ? n : 1, sizeof(*tmp));

		if (tmp) {
			for (size_t i = 0; i < n; i++)
				tmp[i] = json_incref(json_array_get(devs, i));
			qsort(tmp, n, sizeof(*tmp), cmp_devices);
			json_array_clear(devs);
			for (size_t i = 0; i < n; i++)
				json_array_append_new(devs, tmp[i]);
			free(tmp);
		}
	}
	if (!*out)
		ret = nomem(&m);
	if (!ret && notes)
		*notes = json_incref(m.notes);
out_free:
	json_decref(machines);
	jp_free(cur.root);
	json_decref(m.vmsds);
	json_decref(m.by_name);
	json_decref(m.canon);
	json_decref(m.devices);
	json_decref(m.obs);
	json_decref(m.notes);
	json_decref(m.used_streams);
	return ret;
}
