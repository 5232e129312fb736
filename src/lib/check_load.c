/* SPDX-License-Identifier: MIT */
/*
 * A model of the target's loader for one device section: QEMU's
 * vmstate_load_state() walked with the target's schema over the bytes the
 * source wrote.  Fields exist by the target's _TEST conditions (or
 * versions), evaluated on the values already read; subsections are
 * recognised by name as vmstate_subsection_load() does, and one the target
 * does not know stops it, at any depth; nested descriptions are read at
 * their local version (VMS_STRUCT), their field version (VMSTATE_WITH_TMP)
 * or the given one (VMS_VSTRUCT), each with its version checks.
 *
 * This differs from the schema decoder (sdecode.c), which reads a stream
 * with the schema of the QEMU that wrote it: here the schema is the
 * reader's, the failure is the answer, and it must say exactly what the
 * target stops at (kind, offset, names, versions) to print QEMU's own
 * message.  A condition the schema does not know is tried both ways, as
 * the decoder does; the answer "loads" then means "some answer loads", and
 * check.c reports it as a risk.
 *
 * Opaque fields (QEMU's custom VMStateInfo: "pci config", "msix state",
 * "scsi-requests"...) are read with the schema's size when it has one, else
 * with the size the source's own description gives at the same offset: the
 * target runs the same device configuration, so it reads what was written.
 * "virtio" fields are read by check_virtio.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migstream/vmdesc.h"
#include "check_int.h"

/* Unknown conditions decided in one section, at most. */
#define CHOICES_MAX 24
/* Layouts tried for one section, at most. */
#define TRIES_MAX 256
/* Caps on nesting and on what one field may claim: migstream/vmdesc.h. */
/* Candidate descriptions for one section. */
#define CANDIDATES_MAX 8

struct frame {
	const char *entered;	/* field that entered this struct, or NULL */
	bool same_struct;	/* a subsection: its parent's C struct */
	const struct mig_sfield *via;	/* the struct field (overrides) */
	size_t val0;		/* its values start at vals[val0] */
};

/* A scalar read in this section, for conditions. */
struct val {
	int frame;
	const char *name;	/* borrowed from the schema */
	int64_t v;
};

/* One leaf of the source's tree. */
struct sleaf {
	uint64_t offset;
	uint64_t size;
	const char *name;	/* field name (an element's: its field's) */
};

struct tl {
	const struct tl_section *in;
	struct tl_outcome o;
	const struct mig_svmsd *top;
	bool stopped;
	bool nomem;
	int hard;		/* -MIG_E* from the reader (EIO, ENOMEM) */
	struct mig_error err;
	/* choices of this attempt */
	uint8_t choice[CHOICES_MAX];
	unsigned given, used;
	bool overflow;
	/* steps of this attempt, and over every attempt (MIG_SECTION_WORK_MAX) */
	size_t steps;
	size_t work;
	bool spent;
	/* frames and values */
	struct frame frames[MIG_DEPTH_MAX * 2 + 4];
	int nframes;
	struct val *vals;
	size_t nvals, capvals;
	/* the fields being read, for QEMU's "Failed to load" lines */
	struct {
		const char *vmsd;
		const char *field;
	} fstack[MIG_DEPTH_MAX * 2 + 4];
	int nfs;
	/* the path */
	char path[MIG_PATH_MAX];
	size_t plen;
	size_t pstack[MIG_DEPTH_MAX * 4];
	int npstack;
	/* the source's leaves and how far the target is in step with them */
	const struct sleaf *leaves;
	size_t nleaves;
	size_t li;
	bool in_sync;
};

/* ------------------------------------------------------------------ */
/* Small helpers shared with check_virtio.c                            */

struct mig_reader *tl_reader(struct tl *d)
{
	return d->in->r;
}

const struct tl_section *tl_in(struct tl *d)
{
	return d->in;
}

struct tl_outcome *tl_out(struct tl *d)
{
	return &d->o;
}

const char *tl_path(struct tl *d)
{
	return d->path;
}

void tl_path_push(struct tl *d, const char *fmt, ...)
{
	va_list ap;

	if (d->npstack < (int)(sizeof(d->pstack) / sizeof(d->pstack[0])))
		d->pstack[d->npstack++] = d->plen;
	va_start(ap, fmt);
	if (d->plen < sizeof(d->path) - 1) {
		int n = vsnprintf(d->path + d->plen, sizeof(d->path) - d->plen,
				  fmt, ap);

		if (n > 0)
			d->plen += (size_t)n;
		if (d->plen > sizeof(d->path) - 1)
			d->plen = sizeof(d->path) - 1;
	}
	va_end(ap);
}

void tl_path_pop(struct tl *d)
{
	if (d->npstack > 0)
		d->plen = d->pstack[--d->npstack];
	d->path[d->plen] = '\0';
}

void tl_field_push(struct tl *d, const char *vmsd, const char *field)
{
	if (d->nfs < (int)(sizeof(d->fstack) / sizeof(d->fstack[0]))) {
		d->fstack[d->nfs].vmsd = vmsd;
		d->fstack[d->nfs].field = field;
	}
	d->nfs++;
}

void tl_field_pop(struct tl *d)
{
	if (d->nfs > 0)
		d->nfs--;
}

int tl_fail(struct tl *d, enum tl_kind kind, uint64_t off, const char *fmt,
	    ...)
{
	int max = (int)(sizeof(d->fstack) / sizeof(d->fstack[0]));
	va_list ap;

	if (d->stopped)
		return 1;
	d->stopped = true;
	d->o.nchain = 0;
	for (int k = (d->nfs < max ? d->nfs : max) - 1;
	     k >= 0 && d->o.nchain < TL_CHAIN_MAX; k--)
		snprintf(d->o.chain[d->o.nchain++], TL_NAME_MAX, "%s:%s",
			 d->fstack[k].vmsd, d->fstack[k].field);
	d->o.kind = kind;
	d->o.offset = off;
	snprintf(d->o.path, sizeof(d->o.path), "%s", d->path);
	va_start(ap, fmt);
	vsnprintf(d->o.why, sizeof(d->o.why), fmt, ap);
	va_end(ap);
	return 1;
}

/* A reader error: truncation stops the layout, the rest is fatal. */
static int rd_error(struct tl *d, int ret, uint64_t off, uint64_t n)
{
	if (ret == -MIG_ETRUNC)
		return tl_fail(d, TL_TRUNC, off,
			       "the input ends inside '%s' (%" PRIu64 " more bytes needed)",
			       d->path, n);
	d->hard = ret;
	d->stopped = true;
	return ret;
}

int tl_read(struct tl *d, void *buf, size_t n)
{
	uint64_t off = mig_rd_offset(d->in->r);
	int ret = mig_rd_bytes(d->in->r, buf, n, &d->err);

	return ret ? rd_error(d, ret, off, n) : 0;
}

int tl_skip(struct tl *d, uint64_t n)
{
	uint64_t off = mig_rd_offset(d->in->r);
	uint64_t size = mig_rd_size(d->in->r);
	int ret;

	/* mig_rd_skip moves to the end when it fails; check first. */
	if (size != MIG_NO_OFFSET && n > size - off)
		return rd_error(d, -MIG_ETRUNC, off, n);
	ret = mig_rd_skip(d->in->r, n, &d->err);
	return ret ? rd_error(d, ret, off, n) : 0;
}

/* One step of the section's budget (MIG_SECTION_WORK_MAX). */
static int spend(struct tl *d)
{
	if (++d->work <= MIG_SECTION_WORK_MAX)
		return 0;
	d->spent = true;
	return tl_fail(d, TL_UNFRAMED, mig_rd_offset(d->in->r),
		       "more than %u steps (fields, elements and condition lookups) over the layouts tried",
		       MIG_SECTION_WORK_MAX);
}

/* ------------------------------------------------------------------ */
/* The source's layout                                                 */

static int collect_leaves(const struct mig_node *n, const char *fname,
			  struct sleaf **v, size_t *nv, size_t *cap)
{
	const char *name = n->kind == MIG_NODE_FIELD ? n->name : fname;

	if (!n->child) {
		if (n->kind == MIG_NODE_SECTION || n->kind == MIG_NODE_SUBSECTION
		    || !n->size)
			return 0;
		if (*nv == *cap) {
			size_t nc = *cap ? *cap * 2 : 256;
			struct sleaf *p = realloc(*v, nc * sizeof(*p));

			if (!p)
				return -MIG_ENOMEM;
			*v = p;
			*cap = nc;
		}
		(*v)[(*nv)++] = (struct sleaf){ n->offset, n->size, name };
		return 0;
	}
	for (const struct mig_node *c = n->child; c; c = c->next) {
		int ret = collect_leaves(c, name, v, nv, cap);

		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The target reads a leaf @name of @size bytes at @off: is it where the
 * source wrote one of the same size?  Records where the two part, and
 * fields read under another name.
 */
static void leaf(struct tl *d, uint64_t off, uint64_t size, const char *name)
{
	const struct sleaf *s;

	if (!d->leaves || !d->in_sync || !size)
		return;
	while (d->li < d->nleaves && d->leaves[d->li].offset < off)
		d->li++;
	s = d->li < d->nleaves ? &d->leaves[d->li] : NULL;
	if (s && s->offset == off && s->size == size) {
		d->li++;
		if (name && s->name && strcmp(name, s->name)) {
			if (!d->o.nrenamed++) {
				snprintf(d->o.renamed_path,
					 sizeof(d->o.renamed_path), "%s",
					 d->path);
				snprintf(d->o.renamed_target,
					 sizeof(d->o.renamed_target), "%s",
					 name);
				snprintf(d->o.renamed_source,
					 sizeof(d->o.renamed_source), "%s",
					 s->name);
				d->o.renamed_offset = off;
			}
		}
		return;
	}
	d->in_sync = false;
	d->o.diverged = true;
	d->o.div_offset = off;
	snprintf(d->o.div_target, sizeof(d->o.div_target), "%s", d->path);
	d->o.div_target_size = size;
	if (s && s->offset == off) {
		snprintf(d->o.div_source, sizeof(d->o.div_source), "%s",
			 s->name ? s->name : "?");
		d->o.div_source_size = s->size;
	} else if (d->li > 0 && d->leaves[d->li - 1].offset +
					 d->leaves[d->li - 1].size > off) {
		s = &d->leaves[d->li - 1];
		snprintf(d->o.div_source, sizeof(d->o.div_source), "%s",
			 s->name ? s->name : "?");
		d->o.div_source_size = s->size;
	} else {
		d->o.div_source[0] = '\0';
		d->o.div_source_size = 0;
	}
}

/* The source's field @name at @off: its bytes, over repeated entries. */
static bool src_extent(const struct tl *d, uint64_t off, const char *name,
		       uint64_t *len)
{
	size_t i;
	uint64_t end;

	if (!d->leaves)
		return false;
	for (i = 0; i < d->nleaves && d->leaves[i].offset < off; i++)
		;
	if (i == d->nleaves || d->leaves[i].offset != off ||
	    !d->leaves[i].name || strcmp(d->leaves[i].name, name))
		return false;
	end = off;
	for (; i < d->nleaves && d->leaves[i].offset == end &&
	       d->leaves[i].name && !strcmp(d->leaves[i].name, name); i++)
		end += d->leaves[i].size;
	*len = end - off;
	return true;
}

/* The source's node of @kind named @name at @off, or NULL. */
static const struct mig_node *src_node(const struct mig_node *n,
				       enum mig_node_kind kind, uint64_t off,
				       const char *name)
{
	for (; n; n = n->next) {
		const struct mig_node *hit;

		if (n->kind == kind && n->offset == off && n->name &&
		    !strcmp(n->name, name))
			return n;
		if (n->offset <= off && off < n->offset + n->size &&
		    (hit = src_node(n->child, kind, off, name)))
			return hit;
	}
	return NULL;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int tl_name_known(const char *qemu, const char *parent, const char *name)
{
	size_t pl = strlen(parent);
	bool covered = false;

	for (size_t i = 0; check_names_parents[i]; i++)
		if (!strcmp(check_names_parents[i], parent))
			covered = true;
	/* The table has "PARENT/..." names only. */
	if (!covered || !qemu || strncmp(name, parent, pl) || name[pl] != '/')
		return -1;
	for (size_t i = 0; check_names[i].qemu; i++) {
		if (strcmp(check_names[i].qemu, qemu))
			continue;
		return bsearch(&name, check_names[i].names, check_names[i].n,
			       sizeof(name), cmp_name) != NULL;
	}
	return -1;
}

int tl_names_count(const char *qemu, const char *parent)
{
	size_t pl = strlen(parent);
	bool covered = false;
	int n = 0;

	for (size_t i = 0; check_names_parents[i]; i++)
		if (!strcmp(check_names_parents[i], parent))
			covered = true;
	for (size_t i = 0; covered && qemu && check_names[i].qemu; i++) {
		if (strcmp(check_names[i].qemu, qemu))
			continue;
		for (size_t k = 0; k < check_names[i].n; k++) {
			const char *nm = check_names[i].names[k];

			/* Direct subsections: no further '/'. */
			if (!strncmp(nm, parent, pl) && nm[pl] == '/' &&
			    !strchr(nm + pl + 1, '/'))
				n++;
		}
		return n;
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* The environment of conditions                                       */

static bool name_is(const char *name, const char *path)
{
	size_t n = strlen(path);

	return !strcmp(name, path) || (!strncmp(name, path, n) && name[n] == '[');
}

static bool env_field(void *ctx, const char *path, struct mig_val *out)
{
	struct tl *d = ctx;
	char bufs[2][512];
	int w = 0;
	const char *p = path;

	for (int k = d->nframes - 1; k >= 0; k--) {
		const struct frame *f = &d->frames[k];

		for (size_t i = d->nvals; i-- > f->val0;) {
			/* A value compared is a step: a condition that looks
			 * among many fields costs what they do. */
			if (spend(d))
				return false;
			if (d->vals[i].frame != k || !name_is(d->vals[i].name, p))
				continue;
			out->kind = MIG_V_INT;
			out->i = d->vals[i].v;
			return true;
		}
		if (f->same_struct)
			continue;
		if (!f->entered)
			break;
		snprintf(bufs[w], sizeof(bufs[w]), "%s.%s", f->entered, p);
		p = bufs[w];
		w ^= 1;
	}
	return false;
}

/* Properties of the device types that use the section's description. */
static bool env_prop(void *ctx, const char *name, struct mig_val *out)
{
	struct tl *d = ctx;
	const struct mig_schema *s = d->in->s;
	const struct mig_smachine *m = d->in->machine;
	bool found = false;
	struct mig_val v;

	for (size_t i = 0; i < s->ndevices; i++) {
		const struct mig_sdevice *dev = &s->devices[i];
		bool have = false;
		size_t tl = strlen(dev->type);

		if (dev->vmsd != d->top)
			continue;
		/* The machine type is not known, and some machine type sets
		 * this property: its value is not known either. */
		for (size_t k = 0; !m && k < s->nmachines; k++)
			for (size_t j = 0; j < s->machines[k].nprops; j++) {
				const char *pn = s->machines[k].props[j].name;

				if (!strncmp(pn, dev->type, tl) && pn[tl] == '.' &&
				    !strcmp(pn + tl + 1, name))
					return false;
			}
		/* The machine's compat properties win over the default. */
		for (size_t k = 0; m && k < m->nprops && !have; k++) {
			const struct mig_sprop *p = &m->props[k];

			if (!strncmp(p->name, dev->type, tl) &&
			    p->name[tl] == '.' && !strcmp(p->name + tl + 1, name)) {
				mig_cond_eval(p->value, NULL, &v);
				have = true;
			}
		}
		for (size_t k = 0; k < dev->nprops && !have; k++) {
			if (!strcmp(dev->props[k].name, name)) {
				struct mig_cond_env env = {
					.machine = d->in->machine_name,
					.section = d->in->idstr,
				};

				mig_cond_eval(dev->props[k].value, &env, &v);
				have = true;
			}
		}
		if (!have)
			return false;
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
	struct tl *d = ctx;
	const struct mig_smachine *m = d->in->machine;

	for (size_t k = 0; m && k < m->nprops; k++)
		if (!strcmp(m->props[k].name, name)) {
			mig_cond_eval(m->props[k].value, NULL, out);
			return true;
		}
	return false;
}

static bool env_cap(void *ctx, const char *name, struct mig_val *out)
{
	struct tl *d = ctx;

	out->kind = MIG_V_INT;
	out->i = 0;
	for (size_t i = 0; i < d->in->ncaps; i++)
		if (!strcmp(d->in->caps[i], name))
			out->i = 1;
	return true;
}

static void make_env(struct tl *d, int64_t version, struct mig_cond_env *e)
{
	memset(e, 0, sizeof(*e));
	e->has_version = true;
	e->version = version;
	e->machine = d->in->machine_name;
	e->section = d->in->idstr;
	e->has_instance = true;
	e->instance = d->in->instance;
	e->field = env_field;
	e->prop = env_prop;
	e->machine_prop = env_machine_prop;
	e->cap = env_cap;
	e->ctx = d;
}

static int add_val(struct tl *d, const char *name, int64_t v)
{
	if (d->nvals == d->capvals) {
		size_t nc = d->capvals ? d->capvals * 2 : 64;
		struct val *p = realloc(d->vals, nc * sizeof(*p));

		if (!p) {
			d->nomem = true;
			d->hard = -MIG_ENOMEM;
			d->stopped = true;
			return -MIG_ENOMEM;
		}
		d->vals = p;
		d->capvals = nc;
	}
	d->vals[d->nvals++] = (struct val){ d->nframes - 1, name, v };
	return 0;
}

/* The next answer for an unknown condition: the driver's, or false. */
static bool choose(struct tl *d, const char *what, const struct mig_cond *c)
{
	bool answer;

	if (d->used < d->given) {
		answer = d->choice[d->used++];
	} else if (d->used >= CHOICES_MAX) {
		d->overflow = true;
		return false;
	} else {
		d->choice[d->used] = 0;
		answer = d->choice[d->used++];
	}
	if (d->o.ndecided < TL_DECIDED_MAX) {
		struct tl_decided *k = &d->o.decided[d->o.ndecided++];
		char *text = mig_cond_text(c);

		snprintf(k->field, sizeof(k->field), "%s%s", d->path, what);
		snprintf(k->cond, sizeof(k->cond), "%s",
			 text ? text : "(a condition)");
		free(text);
		k->answer = answer;
		k->offset = mig_rd_offset(d->in->r);
	}
	return answer;
}

/*
 * One step of the walk: a field looked at, an element, a subsection.  The
 * input bounds neither the fields a condition leaves out nor elements that
 * take no bytes, so the steps are: per layout and over all of them.
 */
static int step(struct tl *d)
{
	if (++d->steps > MIG_SECTION_NODES_MAX)
		return tl_fail(d, TL_UNFRAMED, mig_rd_offset(d->in->r),
			       "more than %u fields and elements in one section",
			       MIG_SECTION_NODES_MAX);
	return spend(d);
}

/* ------------------------------------------------------------------ */
/* Walking the target's description                                    */

static int load_vmsd(struct tl *d, const struct mig_svmsd *v, int64_t version,
		     const char *entered, const struct mig_sfield *via,
		     bool same_struct, int depth);

struct int_type {
	const char *name;
	unsigned width;
	bool is_signed;
	bool equal;
};

static const struct int_type int_types[] = {
	{ "int8", 1, true, false },		{ "int16", 2, true, false },
	{ "int32", 4, true, false },		{ "int64", 8, true, false },
	{ "uint8", 1, false, false },		{ "uint16", 2, false, false },
	{ "uint32", 4, false, false },		{ "uint64", 8, false, false },
	{ "int32 le", 4, true, false },		{ "timer", 8, false, false },
	{ "int32 equal", 4, true, true },	{ "int64 equal", 8, true, true },
	{ "uint8 equal", 1, false, true },	{ "uint16 equal", 2, false, true },
	{ "uint32 equal", 4, false, true },	{ "float64", 8, false, false },
	{ "CPU_Double_U", 8, false, false },
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

static bool is_nested(const char *type)
{
	return !type || !strcmp(type, "struct") || !strcmp(type, "vstruct") ||
	       !strcmp(type, "tmp");
}

static bool is_list(const char *type)
{
	return type && (!strcmp(type, "qtailq") || !strcmp(type, "qlist"));
}

static const struct mig_soverride *find_override(const struct tl *d,
						 const struct mig_sfield *f)
{
	const struct mig_sfield *via = d->nframes ? d->frames[d->nframes - 1].via
						  : NULL;

	for (size_t i = 0; via && i < via->nov; i++)
		if (!strcmp(via->ov[i].field, f->uname))
			return &via->ov[i];
	return NULL;
}

/* An amount (size, count), or -1 when not known. */
static int64_t amount(struct tl *d, const struct mig_cond *c, int64_t version)
{
	struct mig_cond_env env;
	struct mig_val v;

	make_env(d, version, &env);
	mig_cond_eval(c, &env, &v);
	if (v.kind != MIG_V_INT || v.i < 0)
		return -1;
	return v.i;
}

/* A field the schema cannot frame: read what the source wrote there. */
static int opaque_from_source(struct tl *d, const struct mig_sfield *f,
			      const char *what)
{
	uint64_t off = mig_rd_offset(d->in->r), len;

	if (!src_extent(d, off, f->uname, &len))
		return tl_fail(d, TL_UNFRAMED, off,
			       "field '%s': %s, and the stream does not describe it either",
			       d->path, what);
	if (!d->o.nopaque++)
		snprintf(d->o.opaque_first, sizeof(d->o.opaque_first), "%s",
			 d->path);
	leaf(d, off, len, f->uname);
	return tl_skip(d, len);
}

static int load_list(struct tl *d, const struct mig_sfield *f, int depth)
{
	for (int64_t i = 0;; i++) {
		uint64_t off = mig_rd_offset(d->in->r);
		uint8_t mark;
		int ret = tl_read(d, &mark, 1);

		if (ret)
			return ret;
		if (mark == 0)
			return 0;
		if (mark != 1)
			return tl_fail(d, TL_MARKER, off,
				       "list marker 0x%02x in '%s' (expected 0x00 or 0x01)",
				       mark, d->path);
		ret = step(d);
		if (ret)
			return ret;
		tl_path_push(d, "[%" PRId64 "]", i);
		ret = load_vmsd(d, f->vmsd, f->version, f->uname, f, false,
				depth + 1);
		tl_path_pop(d);
		if (ret)
			return ret;
	}
}

/* One element of @f: @type, @size bytes when not fixed (-1: unknown). */
static int load_elem(struct tl *d, const struct mig_sfield *f,
		     const char *type, int64_t size, bool single, int depth)
{
	const struct int_type *it;
	uint64_t off = mig_rd_offset(d->in->r);
	uint8_t buf[8];
	int ret;

	if (type && !strcmp(type, "virtio")) {
		uint64_t len = UINT64_MAX;

		if (!src_extent(d, off, f->uname, &len))
			len = UINT64_MAX;
		leaf(d, off, len == UINT64_MAX ? 0 : len, f->uname);
		return tl_virtio(d, d->top ? d->top->name : "", len);
	}
	if (f->vmsd && is_nested(type)) {
		int64_t v = f->vmsd->version;

		if (type && !strcmp(type, "vstruct") && f->has_struct_version)
			v = f->struct_version;
		else if (type && !strcmp(type, "tmp"))
			v = f->version;
		return load_vmsd(d, f->vmsd, v, f->uname, f, false, depth + 1);
	}
	if (f->vmsd && is_list(type))
		return load_list(d, f, depth);
	if (type && !strcmp(type, "gtree"))
		return opaque_from_source(d, f, "the model cannot frame a gtree");
	if (type && !strcmp(type, "capability")) {
		uint8_t len;

		ret = tl_read(d, &len, 1);
		if (!ret)
			ret = tl_skip(d, len);
		if (!ret)
			leaf(d, off, 1u + len, f->uname);
		return ret;
	}
	if (type && !strcmp(type, "nullptr")) {
		ret = tl_read(d, buf, 1);
		if (ret)
			return ret;
		if (buf[0] != 0x30)
			return tl_fail(d, TL_MARKER, off,
				       "'%s': NULL pointer marker 0x%02x, expected 0x30",
				       d->path, buf[0]);
		leaf(d, off, 1, f->uname);
		return 0;
	}
	if (type && !strcmp(type, "bool")) {
		ret = tl_read(d, buf, 1);
		if (ret)
			return ret;
		leaf(d, off, 1, f->uname);
		return single ? add_val(d, f->uname, buf[0] != 0) : 0;
	}
	if ((it = find_int_type(type))) {
		uint64_t v = 0;
		int64_t sv;

		ret = tl_read(d, buf, it->width);
		if (ret)
			return ret;
		for (unsigned i = 0; i < it->width; i++)
			v = v << 8 | buf[i];
		leaf(d, off, it->width, f->uname);
		if (it->equal && d->o.nequal < TL_EQUAL_MAX) {
			struct tl_equal *e = &d->o.equal[d->o.nequal++];

			snprintf(e->path, sizeof(e->path), "%s", d->path);
			snprintf(e->type, sizeof(e->type), "%s", type);
			e->offset = off;
			e->value = v;
		}
		if (!single)
			return 0;
		if (it->is_signed) {
			unsigned shift = 64 - 8 * it->width;

			sv = shift ? (int64_t)(v << shift) >> shift : (int64_t)v;
		} else if (v > INT64_MAX) {
			return 0;
		} else {
			sv = (int64_t)v;
		}
		return add_val(d, f->uname, sv);
	}
	if (size < 0)
		return opaque_from_source(d, f,
					  "its size is not in the target's schema");
	if ((uint64_t)size > MIG_FIELD_MAX)
		return tl_fail(d, TL_UNFRAMED, off,
			       "field '%s' claims %" PRId64 " bytes", d->path,
			       size);
	leaf(d, off, (uint64_t)size, f->uname);
	return tl_skip(d, (uint64_t)size);
}

static int load_field(struct tl *d, const struct mig_svmsd *v,
		      const struct mig_sfield *f, int64_t version, int depth)
{
	const struct mig_soverride *ov = find_override(d, f);
	const struct mig_cond *csize = ov && ov->size ? ov->size : f->size;
	const struct mig_cond *ccount = ov && ov->count ? ov->count : f->count;
	const char *type = ov && ov->type ? ov->type : f->type;
	int64_t count = 1, size = -1;
	int ret = 0;

	if (ccount) {
		count = amount(d, ccount, version);
		if (count < 0) {
			tl_field_push(d, v->name, f->name);
			tl_path_push(d, ".%s", f->uname);
			ret = opaque_from_source(d, f,
						 "its element count is not known");
			tl_path_pop(d);
			tl_field_pop(d);
			return ret;
		}
		if (count > MIG_ARRAY_MAX)
			return tl_fail(d, TL_UNFRAMED, mig_rd_offset(d->in->r),
				       "field '%s.%s' claims %" PRId64 " elements",
				       d->path, f->uname, count);
	}
	if (!(f->vmsd && (is_nested(type) || is_list(type))) &&
	    !find_int_type(type)) {
		if (csize)
			size = amount(d, csize, version);
		if (size < 0 && !type && f->memory_size)
			size = (int64_t)f->memory_size;
	}
	if (count == 0)
		return 0;
	tl_field_push(d, v->name, f->name);
	for (int64_t i = 0; i < count && !ret; i++) {
		uint64_t at = mig_rd_offset(d->in->r);

		/* The field itself was one step (load_vmsd). */
		if (count > 1) {
			ret = step(d);
			if (ret)
				break;
		}
		if (count > 1)
			tl_path_push(d, ".%s[%" PRId64 "]", f->uname, i);
		else
			tl_path_push(d, ".%s", f->uname);
		ret = load_elem(d, f, type, size, count == 1, depth);
		tl_path_pop(d);
		/* Elements that take no bytes are not bounded by the input:
		 * as the decoders do, refuse many of them. */
		if (!ret && count > (int64_t)MIG_EMPTY_ELEMENTS_MAX &&
		    mig_rd_offset(d->in->r) == at) {
			tl_path_push(d, ".%s", f->uname);
			ret = tl_fail(d, TL_UNFRAMED, at,
				      "field '%s': array of %" PRId64 " elements that take no bytes (at most %u)",
				      d->path, count, MIG_EMPTY_ELEMENTS_MAX);
			tl_path_pop(d);
		}
	}
	tl_field_pop(d);
	return ret;
}

static const struct mig_svmsd *find_sub(const struct mig_svmsd *v,
					const char *name)
{
	for (size_t i = 0; i < v->nsubs; i++)
		if (v->subs[i].vmsd && !strcmp(v->subs[i].vmsd->name, name))
			return v->subs[i].vmsd;
	return NULL;
}

/* vmstate_subsection_load(). */
static int load_subsections(struct tl *d, const struct mig_svmsd *v,
			    int depth)
{
	size_t plen = strlen(v->name);

	for (;;) {
		const struct mig_svmsd *sub;
		uint64_t start = mig_rd_offset(d->in->r);
		const uint8_t *p;
		char name[256];
		uint8_t hdr[4];
		uint32_t version;
		size_t len;
		int ret;

		/* QEMU peeks; a short input simply ends the loop. */
		if (mig_rd_peek(d->in->r, 2, &p, NULL) || p[0] != 0x05)
			return 0;
		len = p[1];
		if (len < plen + 1)
			return 0;
		if (mig_rd_peek(d->in->r, 2 + len, &p, NULL))
			return 0;
		memcpy(name, p + 2, len);
		name[len] = '\0';
		if (strncmp(v->name, name, plen))
			return 0;
		ret = step(d);
		if (ret)
			return ret;
		sub = find_sub(v, name);
		tl_path_push(d, "{%s}", name);
		if (!sub && v->origin == MIG_ORIGIN_VMDESC &&
		    tl_name_known(d->in->qemu, v->name, name) == 1) {
			/* The target has it, but its schema learned '%s' from
			 * streams that did not carry this subsection: read it
			 * as the source's description says. */
			const struct mig_node *n = d->in->src
				? src_node(d->in->src, MIG_NODE_SUBSECTION, start, name)
				: NULL;

			ret = 0;
			if (!n)
				ret = tl_fail(d, TL_UNFRAMED, start,
					      "subsection '%s' of '%s': QEMU %s has it, but neither its schema nor the stream describes it",
					      name, v->name, d->in->qemu);
			else if (!d->o.nopaque++)
				snprintf(d->o.opaque_first,
					 sizeof(d->o.opaque_first), "%s",
					 d->path);
			if (!ret)
				ret = tl_skip(d, n->size);
			tl_path_pop(d);
			if (ret)
				return ret;
			continue;
		}
		if (!sub) {
			d->o.partial = v->origin == MIG_ORIGIN_VMDESC &&
				       tl_name_known(d->in->qemu, v->name, name) < 0;
			snprintf(d->o.name, sizeof(d->o.name), "%s", name);
			snprintf(d->o.parent, sizeof(d->o.parent), "%s", v->name);
			ret = tl_fail(d, TL_UNKNOWN_SUB, start,
				      "subsection '%s' of '%s' is not known to the target",
				      name, v->name);
			tl_path_pop(d);
			return ret;
		}
		ret = tl_skip(d, 2 + len);
		if (!ret)
			ret = tl_read(d, hdr, 4);
		if (ret) {
			tl_path_pop(d);
			return ret;
		}
		version = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
			  (uint32_t)hdr[2] << 8 | hdr[3];
		ret = load_vmsd(d, sub, version, NULL, NULL, true, depth + 1);
		tl_path_pop(d);
		if (ret)
			return ret;
	}
}

static int load_vmsd(struct tl *d, const struct mig_svmsd *v, int64_t version,
		     const char *entered, const struct mig_sfield *via,
		     bool same_struct, int depth)
{
	uint64_t off = mig_rd_offset(d->in->r);
	int ret = 0;

	if (depth > MIG_DEPTH_MAX ||
	    d->nframes >= (int)(sizeof(d->frames) / sizeof(d->frames[0])))
		return tl_fail(d, TL_UNFRAMED, off,
			       "nesting deeper than %d levels", MIG_DEPTH_MAX);
	if (version > (int64_t)v->version) {
		snprintf(d->o.name, sizeof(d->o.name), "%s", v->name);
		d->o.got = (uint32_t)version;
		d->o.want = v->version;
		return tl_fail(d, TL_VERSION_NEW, off,
			       "'%s' version %" PRId64 " is newer than the target's %" PRIu32,
			       v->name, version, v->version);
	}
	if (v->has_minimum && version < (int64_t)v->minimum_version) {
		snprintf(d->o.name, sizeof(d->o.name), "%s", v->name);
		d->o.got = (uint32_t)version;
		d->o.want = v->minimum_version;
		return tl_fail(d, TL_VERSION_OLD, off,
			       "'%s' version %" PRId64 " is older than the target's minimum %" PRIu32,
			       v->name, version, v->minimum_version);
	}
	d->frames[d->nframes++] = (struct frame){
		.entered = entered,
		.same_struct = same_struct,
		.via = via,
		.val0 = d->nvals,
	};
	for (size_t i = 0; i < v->nfields && !ret; i++) {
		const struct mig_sfield *f = &v->fields[i];
		bool present;

		/* A field left out reads nothing but costs its test. */
		ret = step(d);
		if (ret)
			break;
		if (f->exists) {
			struct mig_cond_env env;
			enum mig_tv t;

			make_env(d, version, &env);
			t = mig_cond_test(f->exists, &env, NULL);
			if (t == MIG_TV_UNKNOWN) {
				char what[TL_NAME_MAX];

				snprintf(what, sizeof(what), ".%s", f->uname);
				present = choose(d, what, f->exists);
			} else {
				present = t == MIG_TV_TRUE;
			}
		} else {
			present = f->version <= version;
		}
		if (present)
			ret = load_field(d, v, f, version, depth);
	}
	if (!ret)
		ret = load_subsections(d, v, depth);
	d->nframes--;
	d->nvals = d->frames[d->nframes].val0;
	return ret;
}

/* ------------------------------------------------------------------ */
/* Trying layouts                                                      */

static int attempt(struct tl *d, const struct mig_svmsd *v)
{
	const struct tl_section *in = d->in;
	int ret;

	memset(&d->o, 0, sizeof(d->o));
	d->o.vmsd = v;
	d->stopped = false;
	d->hard = 0;
	d->used = 0;
	d->overflow = false;
	d->steps = 0;
	d->nframes = 0;
	d->nvals = 0;
	d->nfs = 0;
	d->li = 0;
	d->in_sync = true;
	d->top = v;
	d->npstack = 0;
	d->plen = (size_t)snprintf(d->path, sizeof(d->path), "%s", in->idstr);
	if (in->instance)
		d->plen += (size_t)snprintf(d->path + d->plen,
					    sizeof(d->path) - d->plen, "[%" PRIu32 "]",
					    in->instance);
	if (d->plen >= sizeof(d->path))
		d->plen = sizeof(d->path) - 1;
	mig_error_clear(&d->err);
	ret = mig_rd_seek(in->r, in->start, &d->err);
	if (ret)
		return ret == -MIG_ENOMEM ? ret : -MIG_EIO;
	if (v->legacy) {
		/* An opaque save_state payload: read as written. */
		d->o.legacy = true;
		d->o.kind = TL_FITS;
		d->o.end_at = in->end;
		return 0;
	}
	ret = load_vmsd(d, v, in->version, NULL, NULL, false, 0);
	if (d->hard)
		return d->hard;
	if (ret < 0)
		return ret;
	if (d->overflow && !d->stopped)
		tl_fail(d, TL_UNFRAMED, mig_rd_offset(in->r),
			"more than %d unknown conditions in one section",
			CHOICES_MAX);
	if (!d->stopped) {
		d->o.end_at = mig_rd_offset(in->r);
		d->o.kind = d->o.end_at == in->end ? TL_FITS : TL_END;
		d->o.offset = d->o.end_at;
		snprintf(d->o.path, sizeof(d->o.path), "%s", d->path);
		if (d->o.kind == TL_END)
			/* Where the data ends the target reads on, or the
			 * other way round: the first leaf that parts says
			 * why. */
			leaf(d, d->o.end_at, 1, NULL);
	}
	return 0;
}

static bool next_choices(struct tl *d)
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

/* Which failure to report when no layout fits: the one that got furthest;
 * on a tie, the more specific kind. */
static bool better(const struct tl_outcome *a, const struct tl_outcome *b)
{
	static const int rank[] = {
		[TL_FITS] = 9, [TL_UNKNOWN_SUB] = 8, [TL_VERSION_NEW] = 7,
		[TL_VERSION_OLD] = 7, [TL_MARKER] = 6, [TL_END] = 5,
		[TL_TRUNC] = 4, [TL_UNFRAMED] = 1, [TL_NO_VMSD] = 0,
	};

	if (a->kind == TL_UNFRAMED && b->kind != TL_UNFRAMED)
		return true;
	if (b->kind == TL_UNFRAMED && a->kind != TL_UNFRAMED)
		return false;
	if (a->offset != b->offset)
		return a->offset > b->offset;
	return rank[a->kind] > rank[b->kind];
}

int tl_check_section(const struct tl_section *in, struct tl_outcome *out,
		     struct mig_error *err)
{
	const struct mig_svmsd *cand[CANDIDATES_MAX];
	struct tl *d;
	struct sleaf *leaves = NULL;
	size_t nleaves = 0, capl = 0, ncand;
	bool have_fit = false, have_fail = false;
	struct tl_outcome fail;
	unsigned tries = 0, fits = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	memset(&fail, 0, sizeof(fail));
	ncand = mig_schema_section_vmsds(in->s, in->idstr, cand,
					 CANDIDATES_MAX);
	if (!ncand) {
		out->kind = TL_NO_VMSD;
		out->offset = in->start;
		return 0;
	}
	if (ncand > CANDIDATES_MAX)
		ncand = CANDIDATES_MAX;
	if (in->src && collect_leaves(in->src, NULL, &leaves, &nleaves, &capl))
		goto nomem;
	d = calloc(1, sizeof(*d));
	if (!d)
		goto nomem;
	d->in = in;
	d->leaves = leaves;
	d->nleaves = nleaves;

	for (size_t c = 0; c < ncand && !have_fit && !d->spent; c++) {
		const struct mig_svmsd *v = cand[c];

		/* savevm.c checks the registered version first. */
		if (!v->legacy && in->version > v->version) {
			struct tl_outcome o = { .kind = TL_VERSION_NEW,
						.vmsd = v,
						.offset = in->start,
						.got = in->version,
						.want = v->version };

			snprintf(o.name, sizeof(o.name), "%s", v->name);
			snprintf(o.path, sizeof(o.path), "%s", in->idstr);
			if (!have_fail || better(&o, &fail))
				fail = o;
			have_fail = true;
			continue;
		}
		d->given = 0;
		for (;;) {
			if (tries >= TRIES_MAX) {
				/* Some untried answer may fit: no verdict. */
				memset(&fail, 0, sizeof(fail));
				fail.kind = TL_UNFRAMED;
				fail.vmsd = v;
				fail.offset = in->start;
				snprintf(fail.path, sizeof(fail.path), "%s",
					 in->idstr);
				snprintf(fail.why, sizeof(fail.why),
					 "'%s': gave up after %u layouts (too many conditions the schema does not know)",
					 v->name, tries);
				have_fail = true;
				break;
			}
			tries++;
			ret = attempt(d, v);
			if (ret) {
				mig_error_set(err, -ret, in->start, "%s",
					      d->err.msg[0] ? d->err.msg
							    : "cannot read the section again");
				goto out_free;
			}
			if (d->spent) {
				/* As for TRIES_MAX: a layout that fitted
				 * stands, else there is no verdict. */
				memset(&fail, 0, sizeof(fail));
				fail.kind = TL_UNFRAMED;
				fail.vmsd = v;
				fail.offset = in->start;
				snprintf(fail.path, sizeof(fail.path), "%s",
					 in->idstr);
				snprintf(fail.why, sizeof(fail.why),
					 "'%s': gave up in layout %u (more than %u steps over the layouts tried: fields, elements and condition lookups)",
					 v->name, tries, MIG_SECTION_WORK_MAX);
				have_fail = true;
				break;
			}
			if (d->o.kind == TL_FITS) {
				if (!fits++) {
					*out = d->o;
					have_fit = true;
				}
			} else if (!have_fail || better(&d->o, &fail)) {
				fail = d->o;
				have_fail = true;
			}
			if (fits >= 2 || !next_choices(d))
				break;
		}
	}
	if (!have_fit)
		*out = fail;
	out->tries = tries;
	out->fits = fits;
out_free:
	out->work = d->work;
	free(d->vals);
	free(d);
	free(leaves);
	return ret;
nomem:
	free(leaves);
	return mig_error_set(err, MIG_ENOMEM, in->start, "out of memory");
}
