/* SPDX-License-Identifier: MIT */
/*
 * Comparing two schemas: what breaks a migration from QEMU A to QEMU B.
 *
 * Machine types: one B does not have, footers, the configuration record
 * and the SWITCHOVER_START command that B would not expect.  Sections: one
 * B has no description for, a version outside B's range.  Layout: A's
 * description is written at A's version with A's conditions, then read by
 * B's description at that version with B's conditions; conditions that
 * look at fields written earlier see the value A writes there when the
 * schema knows it ("saved"), or B's default when A wrote nothing there.
 * Both sides are flattened to their leaf fields and walked together: a
 * different total is a reject (QEMU reports a missing footer or a bad
 * subsection), the same total with fields at other offsets is a risk (it
 * loads, the state is wrong).  A field that only changed its name, or
 * became "unused" padding of the same size, is information only.
 * Subsections A can send that B does not know are a reject when A always
 * sends them, a risk when that depends on the guest.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migstream/schema.h"

/* Leaf items of one side, at most (per section). */
#define ITEMS_MAX 65536
/* Elements of a struct array expanded one by one, at most. */
#define EXPAND_MAX 64

struct item {
	char path[256];		/* "esp.fifo.data" */
	const char *type;	/* NULL: not known */
	int64_t size;		/* bytes; -1: not known */
	bool approx;		/* size from the dump (in memory) */
	bool cond_unknown;	/* present only if an unknown condition says */
	bool has_value;		/* the value the writer always writes */
	int64_t value;
	uint64_t off;		/* from the section start; valid while known */
	bool off_known;
};

struct subref {
	char path[256];
	const struct mig_svmsd *vmsd;	/* whose subsections may follow */
};

struct side {
	const struct mig_schema *s;
	const struct mig_smachine *m;
	const struct mig_svmsd *top;
	struct item *items;
	size_t n;
	struct subref *subs;
	size_t nsubs;
	bool overflow;
	/* the reader looks at the writer's items for field values */
	const struct side *writer;
	char section[256];
};

struct dctx {
	const struct mig_schema *a, *b;
	const struct mig_sdiff_opts *o;
	json_t *findings;
	size_t counted;
	bool nomem;
};

static void add(struct dctx *c, const char *sev, const char *kind,
		const char *section, const char *vmsd, const char *field,
		const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void add(struct dctx *c, const char *sev, const char *kind,
		const char *section, const char *vmsd, const char *field,
		const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *f = json_object();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!f) {
		c->nomem = true;
		return;
	}
	json_object_set_new(f, "severity", json_string(sev));
	json_object_set_new(f, "kind", json_string(kind));
	json_object_set_new(f, "section", section ? json_string(section)
						  : json_null());
	if (vmsd)
		json_object_set_new(f, "vmsd", json_string(vmsd));
	if (field)
		json_object_set_new(f, "field", json_string(field));
	json_object_set_new(f, "message", json_string(msg));
	if (json_array_append_new(c->findings, f))
		c->nomem = true;
	if (strcmp(sev, "info"))
		c->counted++;
}

static const char *sname(const struct mig_schema *s)
{
	return s->name ? s->name : s->file;
}

/* ------------------------------------------------------------------ */
/* Flattening one side                                                 */

static bool env_field(void *ctx, const char *path, struct mig_val *out);

struct fctx {
	struct side *sd;
	char prefix[256];	/* path of the struct being flattened */
};

static bool env_prop(void *ctx, const char *name, struct mig_val *out)
{
	struct fctx *f = ctx;
	const struct side *sd = f->sd;
	bool found = false;

	for (size_t i = 0; i < sd->s->ndevices; i++) {
		const struct mig_sdevice *d = &sd->s->devices[i];
		struct mig_val v = { .kind = MIG_V_UNKNOWN };
		bool have = false;

		if (d->vmsd != sd->top)
			continue;
		if (sd->m) {
			size_t tl = strlen(d->type);

			for (size_t k = 0; k < sd->m->nprops && !have; k++)
				if (!strncmp(sd->m->props[k].name, d->type, tl) &&
				    sd->m->props[k].name[tl] == '.' &&
				    !strcmp(sd->m->props[k].name + tl + 1, name)) {
					mig_cond_eval(sd->m->props[k].value, NULL, &v);
					have = true;
				}
		}
		for (size_t k = 0; k < d->nprops && !have; k++)
			if (!strcmp(d->props[k].name, name)) {
				struct mig_cond_env e = {
					.machine = sd->m ? sd->m->name : NULL,
					.section = sd->section,
				};

				mig_cond_eval(d->props[k].value, &e, &v);
				have = true;
			}
		if (!have)
			return false;
		if (found && (v.kind != out->kind || v.i != out->i)) {
			out->kind = MIG_V_UNKNOWN;
			out->why = "device types that share the description disagree";
			return true;
		}
		*out = v;
		found = true;
	}
	return found;
}

static bool env_mprop(void *ctx, const char *name, struct mig_val *out)
{
	struct fctx *f = ctx;
	const struct mig_smachine *m = f->sd->m;

	for (size_t k = 0; m && k < m->nprops; k++)
		if (!strcmp(m->props[k].name, name)) {
			mig_cond_eval(m->props[k].value, NULL, out);
			return true;
		}
	return false;
}

static void make_env(struct fctx *f, int64_t version, struct mig_cond_env *e)
{
	memset(e, 0, sizeof(*e));
	e->has_version = true;
	e->version = version;
	e->machine = f->sd->m ? f->sd->m->name : NULL;
	e->section = f->sd->section;
	e->field = env_field;
	e->prop = env_prop;
	e->machine_prop = env_mprop;
	e->ctx = f;
}

/* Looks a field up by path, from the innermost struct outwards. */
static const struct item *lookup(const struct side *sd, const char *prefix,
				 const char *path)
{
	char want[600];
	char pre[256];

	snprintf(pre, sizeof(pre), "%s", prefix);
	for (;;) {
		snprintf(want, sizeof(want), "%s%s%s", pre, pre[0] ? "." : "",
			 path);
		for (size_t i = sd->n; i-- > 0;)
			if (!strcmp(sd->items[i].path, want))
				return &sd->items[i];
		if (!pre[0])
			return NULL;
		/* A struct's own field is "struct.field" one level out. */
		{
			char *dot = strrchr(pre, '.');

			if (dot)
				*dot = '\0';
			else
				pre[0] = '\0';
		}
	}
}

static bool env_field(void *ctx, const char *path, struct mig_val *out)
{
	struct fctx *f = ctx;
	const struct side *sd = f->sd;
	const struct item *it = lookup(sd, f->prefix, path);

	if (!it)
		return false;	/* not written: the "default" applies */
	if (sd->writer) {
		/* The reader sees what the writer wrote at that offset. */
		const struct side *w = sd->writer;

		if (!it->off_known)
			goto unknown;
		for (size_t i = 0; i < w->n; i++) {
			const struct item *wi = &w->items[i];

			if (wi->off_known && wi->off == it->off &&
			    wi->size == it->size && wi->has_value) {
				out->kind = MIG_V_INT;
				out->i = wi->value;
				return true;
			}
		}
		goto unknown;
	}
	if (it->has_value) {
		out->kind = MIG_V_INT;
		out->i = it->value;
		return true;
	}
unknown:
	out->kind = MIG_V_UNKNOWN;
	out->why = "the value written is not in the schema";
	return true;
}

static bool int_width(const char *t, int64_t *w)
{
	static const struct { const char *n; int w; } ints[] = {
		{ "int8", 1 }, { "uint8", 1 }, { "bool", 1 },
		{ "uint8 equal", 1 }, { "int16", 2 }, { "uint16", 2 },
		{ "uint16 equal", 2 }, { "int32", 4 }, { "uint32", 4 },
		{ "int32 equal", 4 }, { "uint32 equal", 4 }, { "int32 le", 4 },
		{ "int64", 8 }, { "uint64", 8 }, { "int64 equal", 8 },
		{ "timer", 8 },
	};

	for (size_t i = 0; t && i < sizeof(ints) / sizeof(ints[0]); i++)
		if (!strcmp(ints[i].n, t)) {
			*w = ints[i].w;
			return true;
		}
	return false;
}

static struct item *push_item(struct side *sd)
{
	struct item *it;

	if (sd->n >= ITEMS_MAX) {
		sd->overflow = true;
		return NULL;
	}
	if (!(sd->n & (sd->n - 1)) || !sd->items) {
		size_t cap = sd->n ? sd->n * 2 : 64;
		struct item *p = realloc(sd->items, cap * sizeof(*p));

		if (!p) {
			sd->overflow = true;
			return NULL;
		}
		sd->items = p;
	}
	it = &sd->items[sd->n++];
	memset(it, 0, sizeof(*it));
	if (sd->n > 1) {
		const struct item *prev = &sd->items[sd->n - 2];

		it->off_known = prev->off_known && prev->size >= 0 &&
				!prev->cond_unknown;
		it->off = prev->off + (prev->size > 0 ? (uint64_t)prev->size : 0);
	} else {
		it->off_known = true;
	}
	return it;
}

static void push_sub(struct side *sd, const char *path,
		     const struct mig_svmsd *v)
{
	struct subref *p;

	p = realloc(sd->subs, (sd->nsubs + 1) * sizeof(*p));
	if (!p) {
		sd->overflow = true;
		return;
	}
	sd->subs = p;
	snprintf(p[sd->nsubs].path, sizeof(p[sd->nsubs].path), "%s", path);
	p[sd->nsubs].vmsd = v;
	sd->nsubs++;
}

static const struct mig_soverride *override_of(const struct mig_sfield *via,
					       const struct mig_sfield *f)
{
	for (size_t i = 0; via && i < via->nov; i++)
		if (!strcmp(via->ov[i].field, f->uname))
			return &via->ov[i];
	return NULL;
}

static void flatten(struct side *sd, const struct mig_svmsd *v,
		    int64_t version, const char *prefix,
		    const struct mig_sfield *via, bool cond_unknown, int depth)
{
	struct fctx fc = { .sd = sd };

	snprintf(fc.prefix, sizeof(fc.prefix), "%s", prefix);
	if (depth > 32)
		return;
	for (size_t i = 0; i < v->nfields && !sd->overflow; i++) {
		const struct mig_sfield *f = &v->fields[i];
		const struct mig_soverride *ov = override_of(via, f);
		const struct mig_cond *csize = ov && ov->size ? ov->size : f->size;
		const struct mig_cond *ccount = ov && ov->count ? ov->count
								: f->count;
		const char *type = ov && ov->type ? ov->type : f->type;
		struct mig_cond_env env;
		bool unk = cond_unknown;
		int64_t count = 1, size = -1;
		char path[256];
		struct mig_val val;

		make_env(&fc, version, &env);
		if (f->exists) {
			enum mig_tv t = mig_cond_test(f->exists, &env, NULL);

			if (t == MIG_TV_FALSE)
				continue;
			if (t == MIG_TV_UNKNOWN)
				unk = true;
		} else if (f->version > version) {
			continue;
		}
		snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "",
			 f->uname);
		if (ccount) {
			mig_cond_eval(ccount, &env, &val);
			count = val.kind == MIG_V_INT ? val.i : -1;
		}
		if (count == 0)
			continue;
		if (f->vmsd && (!type || !strcmp(type, "struct") ||
				!strcmp(type, "vstruct") || !strcmp(type, "tmp"))) {
			int64_t nv = type && !strcmp(type, "vstruct") &&
				     f->has_struct_version ? f->struct_version
							   : f->vmsd->version;
			int64_t n = count < 0 ? 1 : count;

			for (int64_t k = 0; k < n && k < EXPAND_MAX; k++) {
				char ep[256];

				if (n > 1)
					snprintf(ep, sizeof(ep), "%s[%" PRId64 "]",
						 path, k);
				else
					snprintf(ep, sizeof(ep), "%s", path);
				flatten(sd, f->vmsd, nv, ep, f, unk || count < 0,
					depth + 1);
				push_sub(sd, ep, f->vmsd);
			}
			continue;
		}
		{
			struct item *it = push_item(sd);
			int64_t w;

			if (!it)
				return;
			snprintf(it->path, sizeof(it->path), "%s", path);
			it->type = type;
			it->cond_unknown = unk;
			if (int_width(type, &w)) {
				size = w;
			} else if (csize) {
				mig_cond_eval(csize, &env, &val);
				size = val.kind == MIG_V_INT ? val.i : -1;
			} else if (f->memory_size && !type) {
				size = (int64_t)f->memory_size;
				it->approx = true;
			}
			it->size = size >= 0 && count >= 0 ? size * count : -1;
			if (f->saved && count == 1) {
				mig_cond_eval(f->saved, &env, &val);
				if (val.kind == MIG_V_INT) {
					it->has_value = true;
					it->value = val.i;
				}
			}
		}
	}
}

static void side_free(struct side *sd)
{
	free(sd->items);
	free(sd->subs);
	sd->items = NULL;
	sd->subs = NULL;
	sd->n = sd->nsubs = 0;
}

/* ------------------------------------------------------------------ */
/* Comparing                                                           */

/* Padding: QEMU's VMSTATE_UNUSED is an "unused_buffer" named "unused". */
static bool is_unused(const struct item *it)
{
	const char *base = strrchr(it->path, '.');

	base = base ? base + 1 : it->path;
	return (it->type && !strcmp(it->type, "unused_buffer")) ||
	       !strncmp(base, "unused", 6);
}

static const char *tname(const char *t)
{
	return t ? t : "?";
}

static bool has_path(const struct side *sd, const char *path)
{
	for (size_t i = 0; i < sd->n; i++)
		if (!strcmp(sd->items[i].path, path))
			return true;
	return false;
}

static const char *bytes(int64_t n)
{
	return n == 1 ? "byte" : "bytes";
}

/* "4 bytes" or "size not known", in a static buffer of the caller's. */
static const char *sz(char *buf, size_t len, int64_t n)
{
	if (n < 0)
		snprintf(buf, len, "size not known");
	else
		snprintf(buf, len, "%" PRId64 " %s", n, bytes(n));
	return buf;
}

static void compare_items(struct dctx *c, const char *sec, const char *vmsd,
			  const struct side *w, const struct side *r)
{
	size_t i = 0, j = 0;
	bool reported_shift = false;
	char sbuf[48];
	int64_t wt = 0, rt = 0;
	bool wt_known = true, rt_known = true, unk = false;
	const struct item *first_unk = NULL;

	for (size_t k = 0; k < w->n; k++) {
		if (w->items[k].size < 0)
			wt_known = false;
		else
			wt += w->items[k].size;
		if (w->items[k].cond_unknown && !first_unk)
			first_unk = &w->items[k];
		unk |= w->items[k].cond_unknown;
	}
	for (size_t k = 0; k < r->n; k++) {
		if (r->items[k].size < 0)
			rt_known = false;
		else
			rt += r->items[k].size;
		if (r->items[k].cond_unknown && !first_unk)
			first_unk = &r->items[k];
		unk |= r->items[k].cond_unknown;
	}
	/* Walk both in step while offsets line up. */
	while (i < w->n && j < r->n) {
		const struct item *a = &w->items[i], *b = &r->items[j];

		if (a->size < 0 || b->size < 0 || a->cond_unknown ||
		    b->cond_unknown) {
			/* Not known, but the same on both sides: whatever
			 * it is, both agree on it. */
			if (a->size == b->size &&
			    a->cond_unknown == b->cond_unknown &&
			    !strcmp(a->path, b->path) &&
			    !!a->type == !!b->type &&
			    (!a->type || !strcmp(a->type, b->type))) {
				i++;
				j++;
				continue;
			}
			break;
		}
		if (a->size == b->size) {
			bool same_name = !strcmp(a->path, b->path);
			/* A name the other side has elsewhere: the fields
			 * moved, which the wire does not show. */
			bool moved = !same_name && (has_path(r, a->path) ||
						    has_path(w, b->path));

			if (!same_name && (is_unused(a) || is_unused(b)))
				add(c, "info", "field-unused", sec, vmsd, b->path,
				    "%s '%s' is read by %s as '%s' (%" PRId64 " %s of padding, no wire change)",
				    sname(c->a), a->path, sname(c->b), b->path,
				    a->size, bytes(a->size));
			else if (moved)
				add(c, "risk", "field-moved", sec, vmsd, b->path,
				    "at byte %" PRIu64 " of '%s' %s writes '%s' (%s) where %s reads '%s' (%s): it loads, into the wrong field",
				    a->off, vmsd, sname(c->a), a->path,
				    tname(a->type), sname(c->b), b->path,
				    tname(b->type));
			else if (a->type && b->type && strcmp(a->type, b->type))
				add(c, "risk", "field-type", sec, vmsd, b->path,
				    "%s writes '%s' as %s, %s reads '%s' as %s, at the same place",
				    sname(c->a), a->path, tname(a->type),
				    sname(c->b), b->path, tname(b->type));
			else if (!same_name)
				add(c, "info", "field-renamed", sec, vmsd, b->path,
				    "%s '%s' is read by %s as '%s' (%" PRId64 " %s, same place)",
				    sname(c->a), a->path, sname(c->b), b->path,
				    a->size, bytes(a->size));
			i++;
			j++;
			continue;
		}
		if (!reported_shift) {
			add(c, wt_known && rt_known && wt != rt ? "reject" : "risk",
			    "field-layout", sec, vmsd, b->path,
			    "at byte %" PRIu64 " of '%s' %s writes '%s' (%s, %" PRId64 " %s) where %s reads '%s' (%s, %" PRId64 " %s)%s",
			    a->off, vmsd, sname(c->a), a->path, tname(a->type),
			    a->size, bytes(a->size), sname(c->b), b->path,
			    tname(b->type), b->size, bytes(b->size),
			    a->approx || b->approx
			    ? " (sizes from -dump-vmstate, in memory)" : "");
			reported_shift = true;
		}
		break;
	}
	if (i == w->n && j < r->n && !reported_shift) {
		const struct item *b = &r->items[j];

		add(c, "reject", "field-added", sec, vmsd, b->path,
		    "%s reads '%s' (%s, %s) after everything %s writes in '%s'; QEMU then reports a missing section footer or misreads what follows",
		    sname(c->b), b->path, tname(b->type),
		    sz(sbuf, sizeof(sbuf), b->size), sname(c->a), vmsd);
		reported_shift = true;
	} else if (j == r->n && i < w->n && !reported_shift) {
		const struct item *a = &w->items[i];

		add(c, "reject", "field-removed", sec, vmsd, a->path,
		    "%s writes '%s' (%s, %s) that %s does not read in '%s'; QEMU then reports a missing section footer",
		    sname(c->a), a->path, tname(a->type),
		    sz(sbuf, sizeof(sbuf), a->size), sname(c->b), vmsd);
		reported_shift = true;
	}
	if (!reported_shift && (i < w->n || j < r->n) && first_unk)
		add(c, "risk", "condition-unknown", sec, vmsd, first_unk->path,
		    "whether '%s' is on the wire depends on a condition the schemas do not decide",
		    first_unk->path);
	else if (!reported_shift && (i < w->n || j < r->n))
		add(c, "risk", "size-unknown", sec, vmsd, NULL,
		    "the schemas do not give every wire size of '%s'", vmsd);
	(void)unk;
}

static const struct mig_svmsd *sub_named(const struct mig_svmsd *v,
					 const char *name,
					 const struct mig_cond **needed)
{
	for (size_t i = 0; i < v->nsubs; i++)
		if (v->subs[i].vmsd && !strcmp(v->subs[i].vmsd->name, name)) {
			if (needed)
				*needed = v->subs[i].needed;
			return v->subs[i].vmsd;
		}
	return NULL;
}

static void compare_layout(struct dctx *c, const char *sec,
			   const struct mig_svmsd *va, int64_t version,
			   const struct mig_svmsd *vb,
			   const struct mig_smachine *ma,
			   const struct mig_smachine *mb, int depth);

/* Subsections A may send under @path that B does not know. */
static void compare_subs(struct dctx *c, const char *sec,
			 const struct mig_svmsd *va, const struct mig_svmsd *vb,
			 const struct mig_smachine *ma,
			 const struct mig_smachine *mb, int depth)
{
	for (size_t i = 0; i < va->nsubs; i++) {
		const struct mig_svmsd *sa = va->subs[i].vmsd;
		const struct mig_cond *needed = va->subs[i].needed;
		const struct mig_svmsd *sb;
		enum mig_tv t = MIG_TV_UNKNOWN;

		if (!sa)
			continue;
		if (needed) {
			struct mig_cond_env e = {
				.machine = ma ? ma->name : NULL,
				.section = sec,
			};

			t = mig_cond_test(needed, &e, NULL);
		} else {
			t = MIG_TV_TRUE;	/* no .needed: always sent */
		}
		if (t == MIG_TV_FALSE)
			continue;
		sb = sub_named(vb, sa->name, NULL);
		if (!sb) {
			add(c, t == MIG_TV_TRUE ? "reject" : "risk",
			    "subsection-unknown", sec, va->name, sa->name,
			    "%s %s subsection '%s' of '%s', which %s does not know (QEMU fails the load)",
			    sname(c->a), t == MIG_TV_TRUE ? "sends" : "may send",
			    sa->name, va->name, sname(c->b));
			continue;
		}
		if (sa->version > sb->version)
			add(c, t == MIG_TV_TRUE ? "reject" : "risk",
			    "subsection-version", sec, va->name, sa->name,
			    "subsection '%s' is version %" PRIu32 " in %s, %s reads at most %" PRIu32,
			    sa->name, sa->version, sname(c->a), sname(c->b),
			    sb->version);
		else if (sb->has_minimum && sa->version < sb->minimum_version)
			add(c, t == MIG_TV_TRUE ? "reject" : "risk",
			    "subsection-version", sec, va->name, sa->name,
			    "subsection '%s' is version %" PRIu32 " in %s, %s needs at least %" PRIu32,
			    sa->name, sa->version, sname(c->a), sname(c->b),
			    sb->minimum_version);
		else
			compare_layout(c, sec, sa, sa->version, sb, ma, mb,
				       depth + 1);
	}
}

static void compare_layout(struct dctx *c, const char *sec,
			   const struct mig_svmsd *va, int64_t version,
			   const struct mig_svmsd *vb,
			   const struct mig_smachine *ma,
			   const struct mig_smachine *mb, int depth)
{
	struct side w = { .s = c->a, .m = ma, .top = va };
	struct side r = { .s = c->b, .m = mb, .top = vb, .writer = &w };

	if (depth > 16)
		return;
	snprintf(w.section, sizeof(w.section), "%s", sec);
	snprintf(r.section, sizeof(r.section), "%s", sec);
	flatten(&w, va, version, "", NULL, false, 0);
	flatten(&r, vb, version, "", NULL, false, 0);
	if (w.overflow || r.overflow) {
		c->nomem |= w.overflow && w.n < ITEMS_MAX;
		add(c, "info", "too-large", sec, va->name, NULL,
		    "'%s' has more than %d fields; not compared", va->name,
		    ITEMS_MAX);
	} else {
		compare_items(c, sec, va->name, &w, &r);
	}
	/* Subsections: of the description itself and of nested structs. */
	compare_subs(c, sec, va, vb, ma, mb, depth);
	for (size_t i = 0; i < w.nsubs; i++) {
		const struct mig_svmsd *nb = NULL;

		if (!w.subs[i].vmsd->nsubs)
			continue;
		for (size_t k = 0; k < r.nsubs; k++)
			if (!strcmp(r.subs[k].path, w.subs[i].path))
				nb = r.subs[k].vmsd;
		if (nb)
			compare_subs(c, sec, w.subs[i].vmsd, nb, ma, mb, depth);
		else
			for (size_t k = 0; k < w.subs[i].vmsd->nsubs; k++)
				add(c, "risk", "subsection-unknown", sec,
				    w.subs[i].vmsd->name,
				    w.subs[i].vmsd->subs[k].vmsd->name,
				    "%s may send subsection '%s' inside '%s', where %s reads no '%s'",
				    sname(c->a),
				    w.subs[i].vmsd->subs[k].vmsd->name,
				    w.subs[i].path, sname(c->b),
				    w.subs[i].vmsd->name);
	}
	side_free(&w);
	side_free(&r);
}

/* ------------------------------------------------------------------ */
/* Sections and machine types                                          */

static const struct mig_svmsd *section_in(const struct mig_schema *s,
					  const char *sec)
{
	const struct mig_svmsd *v[4];
	size_t n = mig_schema_section_vmsds(s, sec, v, 4);

	return n ? v[0] : NULL;
}

/* B's description of @sec that is A's @va: the same id, else the one
 * with most fields of the same names. */
static const struct mig_svmsd *counterpart(const struct mig_schema *b,
					   const char *sec,
					   const struct mig_svmsd *va)
{
	const struct mig_svmsd *v[8], *best = NULL;
	size_t n = mig_schema_section_vmsds(b, sec, v, 8);
	long best_score = -1;

	if (n > 8)
		n = 8;
	for (size_t i = 0; i < n; i++) {
		long score = 0;

		if (!strcmp(v[i]->id, va->id))
			return v[i];
		for (size_t k = 0; k < va->nfields; k++)
			for (size_t j = 0; j < v[i]->nfields; j++)
				score += !strcmp(va->fields[k].uname,
						 v[i]->fields[j].uname);
		if (score > best_score) {
			best_score = score;
			best = v[i];
		}
	}
	return best;
}

static void compare_section(struct dctx *c, const char *sec,
			    const struct mig_svmsd *va,
			    const struct mig_smachine *ma,
			    const struct mig_smachine *mb)
{
	const struct mig_svmsd *vb = counterpart(c->b, sec, va);

	if (!vb) {
		add(c, "reject", "section-unknown", sec, va->name, NULL,
		    "%s has no device state '%s' (QEMU: Unknown savevm section or instance)",
		    sname(c->b), sec);
		return;
	}
	if (va->version > vb->version) {
		add(c, "reject", "section-version", sec, va->name, NULL,
		    "%s writes '%s' version %" PRIu32 ", %s reads at most version %" PRIu32 " (QEMU: savevm: unsupported version %" PRIu32 " for '%s' v%" PRIu32 ")",
		    sname(c->a), sec, va->version, sname(c->b), vb->version,
		    va->version, sec, vb->version);
		return;
	}
	if (vb->has_minimum && va->version < vb->minimum_version) {
		add(c, "reject", "section-version", sec, va->name, NULL,
		    "%s writes '%s' version %" PRIu32 ", %s needs at least version %" PRIu32 " (QEMU: incoming version_id %" PRIu32 " is too old)",
		    sname(c->a), sec, va->version, sname(c->b),
		    vb->minimum_version, va->version);
		return;
	}
	if (strcmp(va->name, vb->name))
		add(c, "info", "vmsd-renamed", sec, va->name, NULL,
		    "'%s' is described by '%s' in %s and '%s' in %s", sec,
		    va->name, sname(c->a), vb->name, sname(c->b));
	compare_layout(c, sec, va, va->version, vb, ma, mb, 0);
}

static void compare_machine(struct dctx *c, const struct mig_smachine *ma,
			    const struct mig_smachine *mb)
{
	const char *n = ma->name;

	if (!mb) {
		add(c, "reject", "machine-unknown", NULL, NULL, NULL,
		    "%s has no machine type %s (QEMU: Machine type received is '%s')",
		    sname(c->b), n, n);
		return;
	}
	if (ma->footers != mb->footers)
		add(c, "reject", "machine-footers", NULL, NULL, NULL,
		    "%s: %s %s section footers, %s %s them", n, sname(c->a),
		    ma->footers ? "sends" : "sends no", sname(c->b),
		    mb->footers ? "expects" : "does not expect");
	if (ma->configuration != mb->configuration)
		add(c, "reject", "machine-configuration", NULL, NULL, NULL,
		    "%s: %s %s a configuration record, %s %s one", n,
		    sname(c->a), ma->configuration ? "sends" : "sends no",
		    sname(c->b), mb->configuration ? "expects" : "does not expect");
	if (ma->switchover_start && c->b->qemu &&
	    mig_version_cmp(c->b->qemu, "10.0") < 0)
		add(c, "reject", "machine-command", NULL, NULL, NULL,
		    "%s: %s sends the switchover-start command, which %s does not know (QEMU: MIG_CMD 0xb unknown)",
		    n, sname(c->a), sname(c->b));
	if (ma->vmdesc != mb->vmdesc)
		add(c, "info", "machine-vmdesc", NULL, NULL, NULL,
		    "%s: %s %s a vmdesc, %s %s (QEMU only warns)", n,
		    sname(c->a), ma->vmdesc ? "sends" : "sends no", sname(c->b),
		    mb->vmdesc ? "would" : "would not");
}

int mig_schema_diff(const struct mig_schema *a, const struct mig_schema *b,
		    const struct mig_sdiff_opts *o, json_t **out,
		    size_t *nfindings, struct mig_error *err)
{
	static const struct mig_sdiff_opts none;
	struct dctx c;
	const struct mig_smachine *ma = NULL, *mb = NULL;
	json_t *root;

	if (!o)
		o = &none;
	if (o->reverse) {
		const struct mig_schema *t = a;

		a = b;
		b = t;
	}
	memset(&c, 0, sizeof(c));
	c.a = a;
	c.b = b;
	c.o = o;
	*out = NULL;
	*nfindings = 0;
	c.findings = json_array();
	root = json_object();
	if (!c.findings || !root) {
		json_decref(c.findings);
		json_decref(root);
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	}
	if (o->machine) {
		ma = mig_schema_machine(a, o->machine);
		mb = mig_schema_machine(b, o->machine);
		if (!ma) {
			json_decref(c.findings);
			json_decref(root);
			return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
					     "schema %s has no machine type '%s'",
					     sname(a), o->machine);
		}
		compare_machine(&c, ma, mb);
	} else {
		size_t only = 0;

		for (size_t i = 0; i < a->nmachines; i++) {
			const struct mig_smachine *m2 =
				mig_schema_machine(b, a->machines[i].name);

			if (m2)
				compare_machine(&c, &a->machines[i], m2);
			else
				only++;
		}
		if (only)
			add(&c, "info", "machines-only-in-source", NULL, NULL, NULL,
			    "%zu machine types of %s are not in %s (a stream made with one cannot be loaded there)",
			    only, sname(a), sname(b));
	}
	for (size_t i = 0; i < a->ndevices && !o->vmsd; i++) {
		const struct mig_sdevice *da = &a->devices[i];
		const struct mig_sdevice *db = NULL;

		for (size_t k = 0; k < b->ndevices && !db; k++)
			if (!strcmp(b->devices[k].type, da->type))
				db = &b->devices[k];
		if (db)
			continue;
		add(&c, "risk", "device-type-unknown", NULL,
		    da->vmsd ? da->vmsd->name : NULL, NULL,
		    "%s has no device type '%s': a VM with one cannot be started there to receive its state%s",
		    sname(b), da->type,
		    da->vmsd && section_in(b, da->vmsd->name)
		    ? " (its device state is known there, under another type)" : "");
	}
	for (size_t i = 0; i < a->nvmsds; i++) {
		const struct mig_svmsd *va = &a->vmsds[i];

		for (size_t k = 0; k < va->nsections; k++) {
			if (o->vmsd && strcmp(o->vmsd, va->sections[k]) &&
			    strcmp(o->vmsd, va->name) && strcmp(o->vmsd, va->id))
				continue;
			compare_section(&c, va->sections[k], va, ma, mb);
		}
	}
	json_object_set_new(root, "from", json_string(sname(a)));
	json_object_set_new(root, "to", json_string(sname(b)));
	json_object_set_new(root, "machine", o->machine ? json_string(o->machine)
							: json_null());
	json_object_set_new(root, "findings", c.findings);
	json_object_set_new(root, "counted", json_integer((json_int_t)c.counted));
	if (c.nomem) {
		json_decref(root);
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	}
	*out = root;
	*nfindings = c.counted;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Show                                                                */

static json_t *cond_or_null(const struct mig_cond *c)
{
	return c ? mig_cond_json(c) : json_null();
}

static json_t *vmsd_json(const struct mig_schema *s, const struct mig_svmsd *v)
{
	static const char *const origins[] = { "dump", "vmdesc", "curated" };
	json_t *o = json_object(), *fa = json_array(), *sa = json_array();
	json_t *secs = json_array(), *devs = json_array();

	json_object_set_new(o, "id", json_string(v->id));
	json_object_set_new(o, "name", json_string(v->name));
	json_object_set_new(o, "version", json_integer(v->version));
	json_object_set_new(o, "minimum_version", v->has_minimum
			    ? json_integer(v->minimum_version) : json_null());
	json_object_set_new(o, "origin", json_string(origins[v->origin]));
	for (size_t i = 0; i < v->nsections; i++)
		json_array_append_new(secs, json_string(v->sections[i]));
	json_object_set_new(o, "sections", secs);
	for (size_t i = 0; i < s->ndevices; i++)
		if (s->devices[i].vmsd == v)
			json_array_append_new(devs, json_string(s->devices[i].type));
	json_object_set_new(o, "devices", devs);
	for (size_t i = 0; i < v->nfields; i++) {
		const struct mig_sfield *f = &v->fields[i];
		json_t *j = json_object();

		json_object_set_new(j, "name", json_string(f->uname));
		json_object_set_new(j, "type", f->type ? json_string(f->type)
						       : json_null());
		json_object_set_new(j, "version", json_integer(f->version));
		json_object_set_new(j, "exists", cond_or_null(f->exists));
		json_object_set_new(j, "count", cond_or_null(f->count));
		json_object_set_new(j, "size", cond_or_null(f->size));
		if (f->vmsd)
			json_object_set_new(j, "vmsd", json_string(f->vmsd->id));
		if (f->memory_size)
			json_object_set_new(j, "memory_size",
					    json_integer((json_int_t)f->memory_size));
		json_object_set_new(j, "compressed", json_boolean(f->compress));
		json_array_append_new(fa, j);
	}
	json_object_set_new(o, "fields", fa);
	for (size_t i = 0; i < v->nsubs; i++) {
		json_t *j = json_object();

		json_object_set_new(j, "name", json_string(v->subs[i].vmsd->name));
		json_object_set_new(j, "vmsd", json_string(v->subs[i].vmsd->id));
		json_object_set_new(j, "version",
				    json_integer(v->subs[i].vmsd->version));
		json_object_set_new(j, "needed", cond_or_null(v->subs[i].needed));
		json_array_append_new(sa, j);
	}
	json_object_set_new(o, "subsections", sa);
	return o;
}

json_t *mig_schema_show(const struct mig_schema *s, const char *what)
{
	json_t *o;

	if (what) {
		const struct mig_svmsd *v = mig_schema_vmsd(s, what);

		for (size_t i = 0; !v && i < s->nvmsds; i++)
			if (!strcmp(s->vmsds[i].name, what))
				v = &s->vmsds[i];
		if (!v)
			v = section_in(s, what);
		for (size_t i = 0; !v && i < s->ndevices; i++)
			if (!strcmp(s->devices[i].type, what))
				v = s->devices[i].vmsd;
		return v ? vmsd_json(s, v) : NULL;
	}
	o = json_object();
	json_object_set_new(o, "name", s->name ? json_string(s->name) : json_null());
	json_object_set_new(o, "file", json_string(s->file));
	json_object_set_new(o, "qemu_version", s->qemu_version
			    ? json_string(s->qemu_version) : json_null());
	json_object_set_new(o, "target", s->target ? json_string(s->target)
						   : json_null());
	json_object_set_new(o, "descriptions", json_integer((json_int_t)s->nvmsds));
	json_object_set_new(o, "devices", json_integer((json_int_t)s->ndevices));
	{
		json_t *m = json_array();

		for (size_t i = 0; i < s->nmachines; i++) {
			const struct mig_smachine *mc = &s->machines[i];
			json_t *j = json_object();

			json_object_set_new(j, "name", json_string(mc->name));
			if (mc->alias)
				json_object_set_new(j, "alias", json_string(mc->alias));
			json_object_set_new(j, "default", json_boolean(mc->is_default));
			json_object_set_new(j, "footers", json_boolean(mc->footers));
			json_object_set_new(j, "configuration",
					    json_boolean(mc->configuration));
			json_object_set_new(j, "vmdesc", json_boolean(mc->vmdesc));
			json_object_set_new(j, "switchover_start",
					    json_boolean(mc->switchover_start));
			json_array_append_new(m, j);
		}
		json_object_set_new(o, "machines", m);
	}
	if (s->provenance)
		json_object_set(o, "provenance", s->provenance);
	return o;
}
