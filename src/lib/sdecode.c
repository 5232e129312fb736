/* SPDX-License-Identifier: MIT */
/*
 * Decoding a device section with a schema instead of a vmdesc.  The walk is
 * QEMU's vmstate_load_state(): fields in order, each present when its
 * _TEST condition holds (or, without one, when its version is not above
 * the version being read), then subsections, recognised by name as QEMU's
 * loader does.  The tree it builds has the shape the vmdesc decoder builds
 * (names, array_len/index, nested vmsd names and versions), so consumers
 * cannot tell which description was used.
 *
 * A condition the schema cannot decide (unknown) is a choice: the decoder
 * reads the section once for every combination of answers it meets, depth
 * first, and keeps the layouts that end where the section ends (its footer
 * follows, or a record can start).  One fitting layout is the answer; none
 * or several are reported, never guessed between.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migstream/schema.h"
#include "migstream/vmdesc.h"
#include "cond.h"
#include "sselect.h"

/* Unknown conditions decided in one section, at most. */
#define CHOICES_MAX 32
/* Default number of layouts tried for one section. */
#define TRIES_DEFAULT 256
/* The other caps are the vmdesc decoder's: see migstream/vmdesc.h. */
/* Candidate descriptions for one section id string. */
#define CANDIDATES_MAX 8

struct frame {
	struct mig_node *node;	/* whose children are this struct's fields */
	const char *entered;	/* field name this struct was entered by */
	bool same_struct;	/* a subsection: same C struct as its parent */
	int64_t version;
	const struct mig_sfield *via;	/* the struct field (overrides) */
};

struct sdec {
	struct mig_reader *r;
	const struct mig_schema *s;
	const struct mig_sdecode_in *in;
	struct mig_error err;	/* this attempt's failure */
	const struct mig_svmsd *top;
	const struct mig_smachine *machine;
	/* choices of this attempt */
	uint8_t choice[CHOICES_MAX];
	unsigned given;		/* fixed by the driver */
	unsigned used;		/* consumed by this attempt */
	bool overflow;
	struct frame frames[MIG_DEPTH_MAX * 2 + 4];
	int nframes;
	size_t nodes;
	size_t work;		/* steps over every layout tried */
	bool spent;		/* MIG_SECTION_WORK_MAX reached: no more layouts */
	uint64_t spent_at;	/* where */
	bool nomem;
};

static int fail(struct sdec *d, int code, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct sdec *d, int code, uint64_t off, const char *fmt, ...)
{
	char msg[MIG_MSG_MAX];
	va_list ap;

	if (code == MIG_ENOMEM)
		d->nomem = true;
	if (d->err.code)
		return -code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mig_error_set(&d->err, code, off, "%s", msg);
	return -code;
}

/* Reader failures keep the reader's message. */
static int rd_fail(struct sdec *d, int ret)
{
	if (ret == -MIG_ENOMEM || ret == -MIG_EIO)
		d->nomem = ret == -MIG_ENOMEM;
	return ret;
}

/* One step of the section's budget (MIG_SECTION_WORK_MAX). */
static int spend(struct sdec *d)
{
	if (++d->work <= MIG_SECTION_WORK_MAX)
		return 0;
	if (!d->spent)
		d->spent_at = mig_rd_offset(d->r);
	d->spent = true;
	return fail(d, MIG_ELIMIT, mig_rd_offset(d->r),
		    "more than %u steps (nodes, fields and condition lookups) for one section",
		    MIG_SECTION_WORK_MAX);
}

static struct mig_node *new_node(struct sdec *d, enum mig_node_kind kind,
				 const char *name, const char *type)
{
	struct mig_node *n;

	if (d->nodes >= MIG_SECTION_NODES_MAX) {
		fail(d, MIG_ELIMIT, mig_rd_offset(d->r),
		     "more than %u nodes in one section", MIG_SECTION_NODES_MAX);
		return NULL;
	}
	if (spend(d))
		return NULL;
	n = mig_node_new(kind, name, type);
	if (!n) {
		fail(d, MIG_ENOMEM, mig_rd_offset(d->r), "out of memory");
		return NULL;
	}
	d->nodes++;
	n->offset = mig_rd_offset(d->r);
	return n;
}

/* ------------------------------------------------------------------ */
/* The environment of conditions                                       */

static bool node_value(const struct mig_node *n, struct mig_val *out)
{
	switch (n->vkind) {
	case MIG_VAL_UINT:
	case MIG_VAL_BOOL:
		if (n->u > INT64_MAX)
			return false;
		out->kind = MIG_V_INT;
		out->i = (int64_t)n->u;
		return true;
	case MIG_VAL_INT:
		out->kind = MIG_V_INT;
		out->i = n->i;
		return true;
	default:
		return false;
	}
}

/* Is @name (a tree name, maybe "x[2]") the field @path? */
static bool name_is(const char *name, const char *path)
{
	size_t n = strlen(path);

	if (!strcmp(name, path))
		return true;
	return !strncmp(name, path, n) && name[n] == '[';
}

static bool env_field(void *ctx, const char *path, struct mig_val *out)
{
	struct sdec *d = ctx;
	char bufs[2][512];
	int w = 0;
	const char *p = path;

	for (int k = d->nframes - 1; k >= 0; k--) {
		const struct frame *f = &d->frames[k];

		for (const struct mig_node *n = f->node->child; n; n = n->next) {
			/* A name compared is a step: a condition that looks
			 * among many fields costs what they do. */
			if (spend(d))
				return false;
			if (n->kind == MIG_NODE_FIELD && n->name &&
			    name_is(n->name, p))
				return node_value(n, out);
		}
		if (f->same_struct)
			continue;
		if (!f->entered)
			break;
		/* Outside the struct, its fields are "entered.path". */
		snprintf(bufs[w], sizeof(bufs[w]), "%s.%s", f->entered, p);
		p = bufs[w];
		w ^= 1;
	}
	return false;
}

/* Does any machine type of @s set property @name of device type @type? */
static bool compat_sets(const struct mig_schema *s, const char *type,
			const char *name)
{
	size_t tl = strlen(type);

	for (size_t i = 0; i < s->nmachines; i++)
		for (size_t k = 0; k < s->machines[i].nprops; k++) {
			const char *p = s->machines[i].props[k].name;

			if (!strncmp(p, type, tl) && p[tl] == '.' &&
			    !strcmp(p + tl + 1, name))
				return true;
		}
	return false;
}

/* Device types whose description is the section's. */
static bool env_prop(void *ctx, const char *name, struct mig_val *out)
{
	struct sdec *d = ctx;
	bool found = false;
	struct mig_val v;

	for (size_t i = 0; i < d->s->ndevices; i++) {
		const struct mig_sdevice *dev = &d->s->devices[i];
		bool have = false;

		if (dev->vmsd != d->top)
			continue;
		/* The machine's compat properties win over the default;
		 * with the machine type unknown, a property some machine
		 * type sets is unknown too. */
		if (!d->machine && compat_sets(d->s, dev->type, name)) {
			out->kind = MIG_V_UNKNOWN;
			out->why = "a property the machine type decides, and the machine type is not known";
			return true;
		}
		if (d->machine) {
			size_t tl = strlen(dev->type);

			for (size_t k = 0; k < d->machine->nprops && !have; k++) {
				const struct mig_sprop *p = &d->machine->props[k];

				if (!strncmp(p->name, dev->type, tl) &&
				    p->name[tl] == '.' &&
				    !strcmp(p->name + tl + 1, name)) {
					mig_cond_eval(p->value, NULL, &v);
					have = true;
				}
			}
		}
		for (size_t k = 0; k < dev->nprops && !have; k++) {
			if (!strcmp(dev->props[k].name, name)) {
				struct mig_cond_env env = {
					.machine = d->in->machine,
					.section = d->in->idstr,
				};

				mig_cond_eval(dev->props[k].value, &env, &v);
				have = true;
			}
		}
		if (!have)
			return false;	/* one candidate does not say */
		if (found && (v.kind != out->kind ||
			      (v.kind == MIG_V_INT && v.i != out->i) ||
			      (v.kind == MIG_V_STR && strcmp(v.s, out->s)))) {
			out->kind = MIG_V_UNKNOWN;
			out->why = "device types that share the description disagree";
			return true;
		}
		*out = v;
		found = true;
	}
	return found;
}

static bool env_machine_prop(void *ctx, const char *name, struct mig_val *out)
{
	struct sdec *d = ctx;

	if (!d->machine)
		return false;
	for (size_t k = 0; k < d->machine->nprops; k++)
		if (!strcmp(d->machine->props[k].name, name)) {
			mig_cond_eval(d->machine->props[k].value, NULL, out);
			return true;
		}
	return false;
}

static bool env_cap(void *ctx, const char *name, struct mig_val *out)
{
	struct sdec *d = ctx;

	out->kind = MIG_V_INT;
	out->i = 0;
	for (size_t i = 0; i < d->in->ncaps; i++)
		if (!strcmp(d->in->caps[i], name))
			out->i = 1;
	return true;
}

static void make_env(struct sdec *d, int64_t version, struct mig_cond_env *e)
{
	memset(e, 0, sizeof(*e));
	e->has_version = true;
	e->version = version;
	e->machine = d->in->machine;
	e->section = d->in->idstr;
	e->has_instance = true;
	e->instance = d->in->instance;
	e->field = env_field;
	e->prop = env_prop;
	e->machine_prop = env_machine_prop;
	e->cap = env_cap;
	e->ctx = d;
}

/* The next answer for an unknown condition. */
static bool choose(struct sdec *d)
{
	if (d->used < d->given)
		return d->choice[d->used++];
	if (d->used >= CHOICES_MAX) {
		d->overflow = true;
		return false;
	}
	d->choice[d->used] = 0;
	return d->choice[d->used++];
}

/* ------------------------------------------------------------------ */
/* Walking the description                                             */

static int decode_vmsd(struct sdec *d, const struct mig_svmsd *v,
		       int64_t version, struct mig_node *node,
		       const char *entered, const struct mig_sfield *via,
		       bool same_struct, int depth);

struct int_type {
	const char *name;
	unsigned width;
	bool is_signed;
};

static const struct int_type int_types[] = {
	{ "int8", 1, true },		{ "int16", 2, true },
	{ "int32", 4, true },		{ "int64", 8, true },
	{ "uint8", 1, false },		{ "uint16", 2, false },
	{ "uint32", 4, false },		{ "uint64", 8, false },
	{ "int32 equal", 4, true },	{ "int32 le", 4, true },
	{ "int64 equal", 8, true },	{ "uint8 equal", 1, false },
	{ "uint16 equal", 2, false },	{ "uint32 equal", 4, false },
	{ "timer", 8, false },
};

static const struct int_type *find_int_type(const char *type)
{
	if (!type)
		return NULL;
	for (size_t i = 0; i < sizeof(int_types) / sizeof(int_types[0]); i++)
		if (!strcmp(int_types[i].name, type))
			return &int_types[i];
	return NULL;
}

static bool is_nested_type(const char *type)
{
	return !type || !strcmp(type, "struct") || !strcmp(type, "vstruct") ||
	       !strcmp(type, "tmp");
}

static bool is_list_type(const char *type)
{
	return type && (!strcmp(type, "qtailq") || !strcmp(type, "qlist"));
}

static int read_raw(struct sdec *d, struct mig_node *node, uint64_t n)
{
	const uint8_t *p;
	int ret;

	if (n > MIG_FIELD_MAX)
		return fail(d, MIG_ELIMIT, mig_rd_offset(d->r),
			    "field of %" PRIu64 " bytes exceeds the limit of %u",
			    n, MIG_FIELD_MAX);
	ret = mig_rd_peek(d->r, (size_t)n, &p, &d->err);
	if (ret)
		return rd_fail(d, ret);
	if (mig_node_set_bytes(node, p, (size_t)n))
		return fail(d, MIG_ENOMEM, mig_rd_offset(d->r), "out of memory");
	return mig_rd_skip(d->r, n, &d->err);
}

/* Looks for an override of @f in the struct field that led here. */
static const struct mig_soverride *find_override(const struct sdec *d,
						 const struct mig_sfield *f)
{
	const struct mig_sfield *via = d->nframes ? d->frames[d->nframes - 1].via
						  : NULL;

	if (!via)
		return NULL;
	for (size_t i = 0; i < via->nov; i++)
		if (!strcmp(via->ov[i].field, f->uname))
			return &via->ov[i];
	return NULL;
}

/* An amount (size, count) or -1 when not known (@why set). */
static int64_t amount(struct sdec *d, const struct mig_cond *c, int64_t version,
		      const char **why)
{
	struct mig_cond_env env;
	struct mig_val v;

	make_env(d, version, &env);
	mig_cond_eval(c, &env, &v);
	if (v.kind != MIG_V_INT || v.i < 0) {
		*why = v.kind == MIG_V_UNKNOWN && v.why ? v.why
		       : "not a non-negative integer";
		return -1;
	}
	return v.i;
}

static int decode_list(struct sdec *d, const struct mig_sfield *f,
		       struct mig_node *node, int depth)
{
	for (int64_t i = 0;; i++) {
		struct mig_node *el;
		uint8_t mark;
		int ret;

		ret = mig_rd_u8(d->r, &mark, &d->err);
		if (ret)
			return rd_fail(d, ret);
		if (mark == 0)
			return 0;
		if (mark != 1)
			return fail(d, MIG_EDECODE, mig_rd_offset(d->r) - 1,
				    "bad list marker 0x%02x in '%s' (expected 0x00 or 0x01)",
				    mark, f->uname);
		el = new_node(d, MIG_NODE_ELEMENT, NULL, "struct");
		if (!el)
			return -d->err.code;
		el->index = i;
		mig_node_append(node, el);
		ret = decode_vmsd(d, f->vmsd, f->vmsd->version, el, f->uname,
				  f, false, depth + 1);
		if (ret)
			return ret;
		el->size = mig_rd_offset(d->r) - el->offset;
	}
}

/* One element of @f, of @type and @size (-1: up to the section's end). */
static int decode_elem(struct sdec *d, const struct mig_sfield *f,
		       const char *type, int64_t size, struct mig_node *node,
		       int depth)
{
	const struct int_type *it;
	uint64_t start = mig_rd_offset(d->r);
	int ret = 0;

	if (f->vmsd && is_nested_type(type)) {
		int64_t v = f->vmsd->version;

		if (type && !strcmp(type, "vstruct") && f->has_struct_version)
			v = f->struct_version;
		ret = decode_vmsd(d, f->vmsd, v, node, f->uname, f, false,
				  depth + 1);
	} else if (f->vmsd && is_list_type(type)) {
		ret = decode_list(d, f, node, depth);
	} else if (type && !strcmp(type, "gtree")) {
		return fail(d, MIG_EUNSUP, start,
			    "field '%s': gtree fields cannot be framed yet",
			    f->uname);
	} else if (type && !strcmp(type, "capability")) {
		char s[256];

		ret = mig_rd_str8(d->r, s, &d->err);
		if (ret)
			return rd_fail(d, ret);
		if (mig_node_set_bytes(node, s, strlen(s) + 1))
			return fail(d, MIG_ENOMEM, start, "out of memory");
		node->nbytes--;
		node->vkind = MIG_VAL_STRING;
	} else if (type && !strcmp(type, "nullptr")) {
		ret = read_raw(d, node, 1);
		if (ret)
			return ret;
		if (node->bytes[0] != 0x30)
			return fail(d, MIG_EDECODE, start,
				    "field '%s': NULL pointer marker is 0x%02x, expected 0x30",
				    f->uname, node->bytes[0]);
		node->vkind = MIG_VAL_NULLPTR;
	} else if (type && !strcmp(type, "bool")) {
		ret = read_raw(d, node, 1);
		if (ret)
			return ret;
		node->vkind = MIG_VAL_BOOL;
		node->u = node->bytes[0] != 0;
	} else if ((it = find_int_type(type))) {
		uint64_t v = 0;

		ret = read_raw(d, node, it->width);
		if (ret)
			return ret;
		for (unsigned i = 0; i < it->width; i++)
			v = v << 8 | node->bytes[i];
		if (it->is_signed) {
			unsigned shift = 64 - 8 * it->width;

			node->vkind = MIG_VAL_INT;
			node->i = shift ? (int64_t)(v << shift) >> shift
					: (int64_t)v;
		} else {
			node->vkind = MIG_VAL_UINT;
		}
		node->u = v;
	} else {
		uint64_t n = (uint64_t)size;

		if (size < 0) {
			/* Size unknown: the field runs to the section's end,
			 * which the footer marks. */
			uint64_t end = d->in->next_end
				? d->in->next_end(d->in->ctx, start)
				: UINT64_MAX;

			if (end == UINT64_MAX)
				return fail(d, MIG_EUNSUP, start,
					    "field '%s': its size is not in the schema and no footer marks the section's end",
					    f->uname);
			n = end - start;
		}
		ret = read_raw(d, node, n);
		if (ret)
			return ret;
		node->vkind = MIG_VAL_BYTES;
	}
	if (ret)
		return ret;
	node->size = mig_rd_offset(d->r) - start;
	return 0;
}

/*
 * Elements that take no bytes are not bounded by the input: an array of
 * @count of them is refused once element @el is seen to be empty.
 */
static int empty_elements(struct sdec *d, const struct mig_sfield *f,
			  int64_t count, const struct mig_node *el)
{
	if (count <= (int64_t)MIG_EMPTY_ELEMENTS_MAX ||
	    mig_rd_offset(d->r) != el->offset)
		return 0;
	return fail(d, MIG_ELIMIT, el->offset,
		    "field '%s': array of %" PRId64 " elements that take no bytes (at most %u)",
		    f->uname, count, MIG_EMPTY_ELEMENTS_MAX);
}

static int decode_field(struct sdec *d, const struct mig_sfield *f,
			int64_t version, struct mig_node *parent, int depth)
{
	const struct mig_soverride *ov = find_override(d, f);
	const struct mig_cond *csize = ov && ov->size ? ov->size : f->size;
	const struct mig_cond *ccount = ov && ov->count ? ov->count : f->count;
	const char *type = ov && ov->type ? ov->type : f->type;
	const char *why = NULL;
	int64_t count = 1, size = -1;
	struct mig_node *node;
	int ret = 0;

	if (ccount) {
		count = amount(d, ccount, version, &why);
		/* A count the schema does not know at all (an old dump gives
		 * none) is taken as 1: the footer checks the guess.  A count
		 * that depends on something unknown is not guessed. */
		if (count < 0 && mig_cond_is_unknown(ccount))
			count = 1;
		if (count < 0)
			return fail(d, MIG_EUNSUP, mig_rd_offset(d->r),
				    "field '%s': element count not known (%s)",
				    f->uname, why);
		if (count > MIG_ARRAY_MAX)
			return fail(d, MIG_ELIMIT, mig_rd_offset(d->r),
				    "field '%s': %" PRId64 " elements exceed the limit of %u",
				    f->uname, count, MIG_ARRAY_MAX);
	}
	if (!(f->vmsd && (is_nested_type(type) || is_list_type(type))) &&
	    !find_int_type(type) && !(type && !strcmp(type, "bool"))) {
		if (csize)
			size = amount(d, csize, version, &why);
		if (size < 0 && !type && f->memory_size)
			size = (int64_t)f->memory_size;	/* best guess */
		if (size < 0 && count != 1)
			return fail(d, MIG_EUNSUP, mig_rd_offset(d->r),
				    "field '%s': element size not known", f->uname);
	}
	if (count == 0)
		return 0;	/* QEMU writes nothing and describes nothing */

	if (count == 1 || f->compress) {
		node = new_node(d, MIG_NODE_FIELD, f->uname,
				type ? type : NULL);
		if (!node)
			return -d->err.code;
		mig_node_append(parent, node);
		if (f->vmsd) {
			int64_t v = f->vmsd->version;

			if (type && !strcmp(type, "vstruct") && f->has_struct_version)
				v = f->struct_version;
			node->vmsd = strdup(f->vmsd->name);
			if (!node->vmsd)
				return fail(d, MIG_ENOMEM, node->offset,
					    "out of memory");
			node->version = (uint32_t)v;
			node->has_version = true;
		}
		if (count == 1) {
			ret = decode_elem(d, f, type, size, node, depth);
		} else {
			node->array_len = (uint32_t)count;
			for (int64_t i = 0; i < count && !ret; i++) {
				struct mig_node *el = new_node(d, MIG_NODE_ELEMENT,
							       NULL, type);

				if (!el)
					return -d->err.code;
				el->index = i;
				mig_node_append(node, el);
				ret = decode_elem(d, f, type, size, el, depth);
				if (!ret)
					ret = empty_elements(d, f, count, el);
			}
		}
		if (ret)
			return ret;
		node->size = mig_rd_offset(d->r) - node->offset;
		return 0;
	}
	/* Not compressible: one entry per element, each with its index
	 * (10.0 and later: all but the last, see vmdesc_index_last). */
	for (int64_t i = 0; i < count; i++) {
		node = new_node(d, MIG_NODE_FIELD, f->uname, type);
		if (!node)
			return -d->err.code;
		node->index = i + 1 < count || d->s->vmdesc_index_last ? i : -1;
		mig_node_append(parent, node);
		if (f->vmsd) {
			node->vmsd = strdup(f->vmsd->name);
			if (!node->vmsd)
				return fail(d, MIG_ENOMEM, node->offset,
					    "out of memory");
			node->version = f->vmsd->version;
			node->has_version = true;
		}
		ret = decode_elem(d, f, type, size, node, depth);
		if (ret)
			return ret;
		node->size = mig_rd_offset(d->r) - node->offset;
		ret = empty_elements(d, f, count, node);
		if (ret)
			return ret;
	}
	return 0;
}

static const struct mig_svmsd *find_sub(const struct mig_svmsd *v,
					const char *name)
{
	for (size_t i = 0; i < v->nsubs; i++)
		if (v->subs[i].vmsd && !strcmp(v->subs[i].vmsd->name, name))
			return v->subs[i].vmsd;
	return NULL;
}

/* QEMU's vmstate_subsection_load(). */
static int decode_subsections(struct sdec *d, const struct mig_svmsd *v,
			      struct mig_node *parent, int depth)
{
	size_t plen = strlen(v->name);

	for (;;) {
		const struct mig_svmsd *sub;
		struct mig_node *node;
		uint64_t start = mig_rd_offset(d->r);
		const uint8_t *p;
		char name[256];
		uint32_t version;
		size_t len;
		int ret;

		if (mig_rd_at_end(d->r))
			return 0;
		if (mig_rd_peek(d->r, 2, &p, NULL))
			return 0;
		if (p[0] != 0x05 /* QEMU_VM_SUBSECTION */)
			return 0;
		len = p[1];
		if (len < plen + 1)
			return 0;
		if (mig_rd_peek(d->r, 2 + len, &p, NULL))
			return 0;
		memcpy(name, p + 2, len);
		name[len] = '\0';
		if (strncmp(v->name, name, plen))
			return 0;
		sub = find_sub(v, name);
		if (!sub)
			return fail(d, MIG_EDECODE, start,
				    "unknown subsection '%s' of '%s'", name,
				    v->name);
		ret = mig_rd_skip(d->r, 2 + len, &d->err);
		if (!ret)
			ret = mig_rd_be32(d->r, &version, &d->err);
		if (ret)
			return rd_fail(d, ret);
		if (version > sub->version)
			return fail(d, MIG_EDECODE, start,
				    "subsection '%s' version %" PRIu32 " is newer than the schema's %" PRIu32,
				    name, version, sub->version);
		if (sub->has_minimum && version < sub->minimum_version)
			return fail(d, MIG_EDECODE, start,
				    "subsection '%s' version %" PRIu32 " is older than the schema's minimum %" PRIu32,
				    name, version, sub->minimum_version);
		node = new_node(d, MIG_NODE_SUBSECTION, name, NULL);
		if (!node)
			return -d->err.code;
		node->offset = start;
		node->version = version;
		node->has_version = true;
		mig_node_append(parent, node);
		ret = decode_vmsd(d, sub, version, node, NULL, NULL, true,
				  depth + 1);
		if (ret)
			return ret;
		node->size = mig_rd_offset(d->r) - start;
	}
}

static int decode_vmsd(struct sdec *d, const struct mig_svmsd *v,
		       int64_t version, struct mig_node *node,
		       const char *entered, const struct mig_sfield *via,
		       bool same_struct, int depth)
{
	int ret = 0;

	if (depth > MIG_DEPTH_MAX ||
	    d->nframes >= (int)(sizeof(d->frames) / sizeof(d->frames[0])))
		return fail(d, MIG_ELIMIT, mig_rd_offset(d->r),
			    "nesting deeper than %d levels", MIG_DEPTH_MAX);
	d->frames[d->nframes++] = (struct frame){
		.node = node,
		.entered = entered,
		.same_struct = same_struct,
		.version = version,
		.via = via,
	};
	for (size_t i = 0; i < v->nfields && !ret; i++) {
		const struct mig_sfield *f = &v->fields[i];
		bool present;

		/* A field left out builds no node but costs its test. */
		ret = spend(d);
		if (ret)
			break;
		if (f->exists) {
			struct mig_cond_env env;
			enum mig_tv t;

			make_env(d, version, &env);
			t = mig_cond_test(f->exists, &env, NULL);
			present = t == MIG_TV_UNKNOWN ? choose(d)
						      : t == MIG_TV_TRUE;
		} else {
			present = f->version <= version;
		}
		if (present)
			ret = decode_field(d, f, version, node, depth);
	}
	if (!ret)
		ret = decode_subsections(d, v, node, depth);
	d->nframes--;
	return ret;
}

/* ------------------------------------------------------------------ */
/* Trying layouts                                                      */

static int attempt(struct sdec *d, const struct mig_svmsd *v, uint64_t start,
		   struct mig_node **tree)
{
	struct mig_node *root;
	int ret;

	*tree = NULL;
	mig_error_clear(&d->err);
	d->used = 0;
	d->overflow = false;
	d->nframes = 0;
	d->nodes = 0;
	d->top = v;
	ret = mig_rd_rewind(d->r, start, &d->err);
	if (ret)
		return ret;
	root = new_node(d, MIG_NODE_SECTION, d->in->idstr, NULL);
	if (!root)
		return -d->err.code;
	*tree = root;
	if (!v->legacy) {
		root->vmsd = strdup(v->name);
		if (!root->vmsd)
			return fail(d, MIG_ENOMEM, start, "out of memory");
	}
	root->version = d->in->version;
	root->has_version = true;
	if (v->legacy) {
		struct mig_sfield data = {
			.name = (char *)"data",
			.uname = (char *)"data",
			.type = (char *)"buffer",
		};
		struct mig_node *n = new_node(d, MIG_NODE_FIELD, "data",
					      "buffer");

		root->has_version = false;
		if (!n)
			return -d->err.code;
		mig_node_append(root, n);
		ret = decode_elem(d, &data, "buffer", -1, n, 0);
	} else {
		ret = decode_vmsd(d, v, d->in->version, root, NULL, NULL, false,
				  0);
	}
	root->size = mig_rd_offset(d->r) - root->offset;
	if (ret)
		return ret;
	if (d->overflow)
		return fail(d, MIG_ELIMIT, mig_rd_offset(d->r),
			    "more than %d unknown conditions in one section",
			    CHOICES_MAX);
	if (d->in->end_ok && !d->in->end_ok(d->in->ctx, mig_rd_offset(d->r)))
		return fail(d, MIG_EDECODE, mig_rd_offset(d->r),
			    "the layout ends at 0x%" PRIx64 ", where neither the section's footer nor a record follows",
			    mig_rd_offset(d->r));
	return 0;
}

/* Same nodes, bytes and shape: two layouts that read the same tree. */
bool sdec_same_tree(const struct mig_node *a, const struct mig_node *b)
{
	const struct mig_node *x, *y;

	if (a->kind != b->kind || a->offset != b->offset || a->size != b->size ||
	    a->index != b->index || a->array_len != b->array_len ||
	    a->version != b->version || a->has_version != b->has_version ||
	    a->vkind != b->vkind || a->nbytes != b->nbytes ||
	    (a->nbytes && memcmp(a->bytes, b->bytes, a->nbytes)) ||
	    !!a->name != !!b->name || (a->name && strcmp(a->name, b->name)) ||
	    !!a->type != !!b->type || (a->type && strcmp(a->type, b->type)) ||
	    !!a->vmsd != !!b->vmsd || (a->vmsd && strcmp(a->vmsd, b->vmsd)))
		return false;
	for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
		if (!sdec_same_tree(x, y))
			return false;
	return !x && !y;
}

/* Advances the choice vector depth first; false when every one was tried. */
static bool next_choices(struct sdec *d)
{
	for (int j = (int)d->used - 1; j >= 0; j--) {
		if (!d->choice[j]) {
			d->choice[j] = 1;
			d->given = (unsigned)j + 1;
			return true;
		}
	}
	return false;
}

static void describe_choices(const struct sdec *d, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < d->used && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%c", i ? "" : "",
				      d->choice[i] ? 'T' : 'F');
}

int mig_schema_decode(struct mig_reader *r, const struct mig_schema *s,
		      const struct mig_sdecode_in *in,
		      struct mig_sdecode_out *out, struct mig_error *err)
{
	const struct mig_svmsd *cand[CANDIDATES_MAX];
	uint64_t start = mig_rd_offset(r);
	unsigned max_tries = in->max_tries ? in->max_tries : TRIES_DEFAULT;
	size_t ncand, fits = 0;
	struct sdec *d;
	char first_fit[64] = "", second_fit[64] = "";
	uint64_t best_off = 0;
	char best_msg[MIG_MSG_MAX] = "";
	char best_vmsd[128] = "";
	bool gave_up = false;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->result = MIG_SDEC_NONE;
	ncand = mig_schema_section_vmsds(s, in->idstr, cand, CANDIDATES_MAX);
	if (!ncand) {
		snprintf(out->why, sizeof(out->why),
			 "schema %s has no description for section '%s'",
			 s->name ? s->name : s->file, in->idstr);
		return 0;
	}
	if (ncand > CANDIDATES_MAX)
		ncand = CANDIDATES_MAX;
	d = calloc(1, sizeof(*d));
	if (!d)
		return mig_error_set(err, MIG_ENOMEM, start, "out of memory");
	d->r = r;
	d->s = s;
	d->in = in;
	d->machine = mig_schema_machine(s, in->machine);

	for (size_t c = 0; c < ncand && fits < 2; c++) {
		const struct mig_svmsd *v = cand[c];

		if (!v->legacy && in->version > v->version) {
			snprintf(best_msg, sizeof(best_msg),
				 "section version %" PRIu32 " is newer than the schema's '%s' (version %" PRIu32 ")",
				 in->version, v->id, v->version);
			best_off = start;
			continue;
		}
		if (!v->legacy && v->has_minimum && in->version < v->minimum_version) {
			snprintf(best_msg, sizeof(best_msg),
				 "section version %" PRIu32 " is older than the schema's '%s' accepts (minimum %" PRIu32 ")",
				 in->version, v->id, v->minimum_version);
			best_off = start;
			continue;
		}
		d->given = 0;
		for (;;) {
			struct mig_node *tree = NULL;

			if (out->tries >= max_tries) {
				snprintf(best_msg, sizeof(best_msg),
					 "gave up after %u layouts (too many unknown conditions)",
					 out->tries);
				gave_up = true;
				goto done;
			}
			out->tries++;
			ret = attempt(d, v, start, &tree);
			if (d->nomem || ret == -MIG_EIO) {
				mig_node_free(tree);
				ret = mig_error_set(err, d->nomem ? MIG_ENOMEM : MIG_EIO,
						    start, "%s", d->err.msg);
				goto out_free;
			}
			if (d->spent) {
				/* Layouts not tried, this one included, may
				 * fit too: even one that fitted is not known
				 * to be the only one. */
				mig_node_free(tree);
				goto done;
			}
			if (!ret && fits == 1 && sdec_same_tree(out->tree, tree)) {
				/* Another way to the same tree: not a second
				 * layout (e.g. two descriptions alike). */
				mig_node_free(tree);
			} else if (!ret) {
				fits++;
				if (fits == 1) {
					out->tree = tree;
					out->vmsd = v;
					out->legacy = v->legacy;
					out->choices = d->used;
					describe_choices(d, first_fit,
							 sizeof(first_fit));
					snprintf(best_vmsd, sizeof(best_vmsd),
						 "%s", v->id);
				} else {
					char tmp[64];

					describe_choices(d, tmp, sizeof(tmp));
					snprintf(second_fit, sizeof(second_fit),
						 "%s%s%s", v->id, tmp[0] ? " " : "",
						 tmp);
					mig_node_free(tree);
				}
			} else {
				if (d->err.offset != MIG_NO_OFFSET &&
				    (d->err.offset >= best_off || !best_msg[0])) {
					best_off = d->err.offset;
					snprintf(best_msg, sizeof(best_msg), "%s",
						 d->err.msg);
				}
				mig_node_free(tree);
			}
			ret = 0;
			if (fits >= 2 || !next_choices(d))
				break;
		}
	}
done:
	if (d->spent) {
		mig_node_free(out->tree);
		out->tree = NULL;
		out->vmsd = NULL;
		out->legacy = false;
		out->choices = 0;
		out->result = MIG_SDEC_NONE;
		out->fail_offset = d->spent_at;
		snprintf(out->why, sizeof(out->why),
			 "schema %s: gave up at 0x%" PRIx64 " in layout %u: more than %u steps (nodes, fields and condition lookups) for one section",
			 s->name ? s->name : s->file, d->spent_at, out->tries,
			 MIG_SECTION_WORK_MAX);
		ret = mig_rd_rewind(r, start, err);
		goto out_free;
	}
	if (fits == 1 && gave_up) {
		/* One layout fits, but those not tried may too: the decoder
		 * does not guess. */
		mig_node_free(out->tree);
		out->tree = NULL;
		out->vmsd = NULL;
		out->legacy = false;
		out->choices = 0;
		out->fail_offset = start;
		snprintf(out->why, sizeof(out->why),
			 "schema %s: one layout fits, but it gave up after %u layouts (too many unknown conditions) without trying the others",
			 s->name ? s->name : s->file, out->tries);
		ret = mig_rd_rewind(r, start, err);
		goto out_free;
	}
	if (fits == 1) {
		out->result = MIG_SDEC_OK;
		/* Leave the cursor after the kept layout. */
		ret = mig_rd_rewind(r, start, err);
		if (!ret)
			ret = mig_rd_skip(r, out->tree->size, err);
		goto out_free;
	}
	if (fits >= 2) {
		mig_node_free(out->tree);
		out->tree = NULL;
		out->vmsd = NULL;
		out->result = MIG_SDEC_SEVERAL;
		out->fail_offset = start;
		snprintf(out->why, sizeof(out->why),
			 "at 0x%" PRIx64 ": several layouts of schema %s fit (%s%s%s and %s; unknown conditions decided T/F in order)",
			 start, s->name ? s->name : s->file, best_vmsd,
			 first_fit[0] ? " " : "", first_fit, second_fit);
	} else {
		out->fail_offset = best_off;
		snprintf(out->why, sizeof(out->why),
			 "no layout of schema %s fits: at 0x%" PRIx64 ": %s",
			 s->name ? s->name : s->file, best_off, best_msg);
	}
	ret = mig_rd_rewind(r, start, err);
out_free:
	out->work = d->work;
	free(d);
	return ret;
}
