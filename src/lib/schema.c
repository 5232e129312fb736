/* SPDX-License-Identifier: MIT */
/*
 * Schemas: loading and checking a schema file (man/migstream-schema.5) and
 * finding one by name.  A file is read with the positioned JSON reader so
 * that every complaint names its line and column; every key is checked
 * (an unknown key is an error, not ignored, so a typo cannot silently
 * change a layout), every reference resolved and nested descriptions
 * checked for cycles.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "migstream/schema.h"
#include "migstream/vmdesc.h"
#include "cond.h"
#include "jsonpos.h"

/* Largest schema file read (bytes). */
#define SCHEMA_MAX (256u << 20)

struct lctx {
	const char *file;
	struct mig_error *err;
	struct mig_schema *s;
};

static int nomem(struct lctx *c)
{
	return mig_error_set(c->err, MIG_ENOMEM, MIG_NO_OFFSET, "out of memory");
}

static int perr(struct lctx *c, struct jp_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct lctx *c, struct jp_pos pos, const char *fmt, ...)
{
	char msg[MIG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cond_pos_error(c->err, c->file, pos, "%s", msg);
}

/* Rejects any key of @o not in the NULL-terminated @allowed. */
static int check_keys(struct lctx *c, const struct jp_value *o,
		      const char *what, const char *const *allowed)
{
	for (size_t i = 0; i < o->n; i++) {
		const char *const *a;

		for (a = allowed; *a; a++)
			if (!strcmp(*a, o->keys[i]))
				break;
		if (!*a)
			return perr(c, o->kpos[i], "unknown key '%s' in %s",
				    o->keys[i], what);
	}
	return 0;
}

static int want_type(struct lctx *c, const struct jp_value *v,
		     enum jp_type t, const char *what)
{
	if (v->type != t)
		return perr(c, v->pos, "%s must be %s, not %s", what,
			    jp_type_name(t), jp_type_name(v->type));
	return 0;
}

/* Optional string member; *@out stays NULL when absent. */
static int get_str(struct lctx *c, const struct jp_value *o, const char *key,
		   bool required, char **out)
{
	const struct jp_value *v = jp_get(o, key);
	int ret;

	if (!v) {
		if (required)
			return perr(c, o->pos, "missing key '%s'", key);
		return 0;
	}
	ret = want_type(c, v, JP_STRING, key);
	if (ret)
		return ret;
	if (!v->slen)
		return perr(c, v->pos, "'%s' must not be empty", key);
	*out = strdup(v->s);
	return *out ? 0 : nomem(c);
}

static int get_u32(struct lctx *c, const struct jp_value *o, const char *key,
		   bool required, uint32_t *out, bool *has)
{
	const struct jp_value *v = jp_get(o, key);

	if (has)
		*has = v != NULL;
	if (!v) {
		if (required)
			return perr(c, o->pos, "missing key '%s'", key);
		return 0;
	}
	if (v->type != JP_INT || v->i < 0 || v->i > UINT32_MAX)
		return perr(c, v->pos, "'%s' must be an integer from 0 to %u",
			    key, UINT32_MAX);
	*out = (uint32_t)v->i;
	return 0;
}

static int get_bool(struct lctx *c, const struct jp_value *o, const char *key,
		    bool dflt, bool *out)
{
	const struct jp_value *v = jp_get(o, key);
	int ret;

	*out = dflt;
	if (!v)
		return 0;
	ret = want_type(c, v, JP_BOOL, key);
	if (!ret)
		*out = v->b;
	return ret;
}

static int get_cond(struct lctx *c, const struct jp_value *o, const char *key,
		    struct mig_cond **out)
{
	const struct jp_value *v = jp_get(o, key);

	if (!v)
		return 0;
	return cond_compile(v, c->file, out, c->err);
}

/* A size or count: a non-negative integer or an expression. */
static int get_amount(struct lctx *c, const struct jp_value *o,
		      const char *key, struct mig_cond **out)
{
	const struct jp_value *v = jp_get(o, key);

	if (v && v->type == JP_INT && v->i < 0)
		return perr(c, v->pos, "'%s' must not be negative", key);
	if (v && (v->type == JP_BOOL || v->type == JP_STRING))
		return perr(c, v->pos, "'%s' must be an integer or an expression object",
			    key);
	return get_cond(c, o, key, out);
}

static int get_props(struct lctx *c, const struct jp_value *o,
		     struct mig_sprop **out, size_t *n)
{
	const struct jp_value *v = jp_get(o, "properties");
	int ret;

	if (!v)
		return 0;
	ret = want_type(c, v, JP_OBJECT, "properties");
	if (ret)
		return ret;
	*out = calloc(v->n ? v->n : 1, sizeof(**out));
	if (!*out)
		return nomem(c);
	for (size_t i = 0; i < v->n; i++) {
		struct mig_sprop *p = &(*out)[i];

		if (!(p->name = strdup(v->keys[i])))
			return nomem(c);
		(*n)++;
		ret = cond_compile(v->items[i], c->file, &p->value, c->err);
		if (ret)
			return ret;
	}
	return 0;
}

static void free_props(struct mig_sprop *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		mig_cond_free(p[i].value);
	}
	free(p);
}

static void free_field(struct mig_sfield *f)
{
	free(f->name);
	free(f->uname);
	free(f->type);
	free(f->vmsd_id);
	free(f->note);
	mig_cond_free(f->exists);
	mig_cond_free(f->size);
	mig_cond_free(f->count);
	mig_cond_free(f->saved);
	for (size_t i = 0; i < f->nov; i++) {
		free(f->ov[i].field);
		free(f->ov[i].type);
		mig_cond_free(f->ov[i].size);
		mig_cond_free(f->ov[i].count);
	}
	free(f->ov);
}

static void free_vmsd(struct mig_svmsd *v)
{
	for (size_t i = 0; i < v->nfields; i++)
		free_field(&v->fields[i]);
	free(v->fields);
	for (size_t i = 0; i < v->nsubs; i++) {
		free(v->subs[i].vmsd_id);
		mig_cond_free(v->subs[i].needed);
	}
	free(v->subs);
	for (size_t i = 0; i < v->nsections; i++)
		free(v->sections[i]);
	free(v->sections);
	free(v->id);
	free(v->name);
	free(v->note);
}

void mig_schema_free(struct mig_schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmachines; i++) {
		free(s->machines[i].name);
		free(s->machines[i].alias);
		free_props(s->machines[i].props, s->machines[i].nprops);
	}
	free(s->machines);
	for (size_t i = 0; i < s->ndevices; i++) {
		free(s->devices[i].type);
		free(s->devices[i].vmsd_id);
		free_props(s->devices[i].props, s->devices[i].nprops);
	}
	free(s->devices);
	for (size_t i = 0; i < s->nvmsds; i++)
		free_vmsd(&s->vmsds[i]);
	free(s->vmsds);
	json_decref(s->provenance);
	free(s->file);
	free(s->name);
	free(s->qemu);
	free(s->qemu_version);
	free(s->target);
	free(s);
}

static const char *const field_keys[] = {
	"name", "type", "version", "exists", "size", "count", "saved", "vmsd",
	"struct_version", "memory_size", "override", "indexed", "note", NULL,
};

static int load_override(struct lctx *c, const struct jp_value *o,
			 struct mig_sfield *f)
{
	static const char *const keys[] = { "size", "count", "type", NULL };
	int ret = want_type(c, o, JP_OBJECT, "override");

	if (ret)
		return ret;
	f->ov = calloc(o->n ? o->n : 1, sizeof(*f->ov));
	if (!f->ov)
		return nomem(c);
	for (size_t i = 0; i < o->n; i++) {
		struct mig_soverride *ov = &f->ov[i];
		const struct jp_value *v = o->items[i];

		if (!(ov->field = strdup(o->keys[i])))
			return nomem(c);
		f->nov++;
		ret = want_type(c, v, JP_OBJECT, "an override");
		if (!ret)
			ret = check_keys(c, v, "an override", keys);
		if (!ret)
			ret = get_amount(c, v, "size", &ov->size);
		if (!ret)
			ret = get_amount(c, v, "count", &ov->count);
		if (!ret)
			ret = get_str(c, v, "type", false, &ov->type);
		if (ret)
			return ret;
	}
	return 0;
}

static int load_field(struct lctx *c, const struct jp_value *o,
		      struct mig_sfield *f)
{
	const struct jp_value *ov;
	uint32_t msize = 0;
	int ret;

	ret = want_type(c, o, JP_OBJECT, "a field");
	if (!ret)
		ret = check_keys(c, o, "a field", field_keys);
	if (ret)
		return ret;
	f->line = o->pos.line;
	f->col = o->pos.col;
	ret = get_str(c, o, "name", true, &f->name);
	if (!ret)
		ret = get_str(c, o, "type", false, &f->type);
	if (!ret)
		ret = get_u32(c, o, "version", false, &f->version, NULL);
	if (!ret)
		ret = get_cond(c, o, "exists", &f->exists);
	if (!ret)
		ret = get_amount(c, o, "size", &f->size);
	if (!ret)
		ret = get_amount(c, o, "count", &f->count);
	if (!ret)
		ret = get_cond(c, o, "saved", &f->saved);
	if (!ret)
		ret = get_str(c, o, "vmsd", false, &f->vmsd_id);
	if (!ret)
		ret = get_u32(c, o, "struct_version", false, &f->struct_version,
			      &f->has_struct_version);
	if (!ret)
		ret = get_u32(c, o, "memory_size", false, &msize, NULL);
	if (!ret)
		ret = get_bool(c, o, "indexed", false, &f->indexed);
	if (!ret)
		ret = get_str(c, o, "note", false, &f->note);
	if (ret)
		return ret;
	f->memory_size = msize;
	ov = jp_get(o, "override");
	if (ov) {
		if (!f->vmsd_id)
			return perr(c, jp_key_pos(o, "override"),
				    "'override' needs a nested description ('vmsd')");
		ret = load_override(c, ov, f);
		if (ret)
			return ret;
	}
	return 0;
}

static int load_sections(struct lctx *c, const struct jp_value *o,
			 struct mig_svmsd *v)
{
	const struct jp_value *a = jp_get(o, "sections");
	int ret;

	if (!a)
		return 0;
	ret = want_type(c, a, JP_ARRAY, "sections");
	if (ret)
		return ret;
	v->sections = calloc(a->n ? a->n : 1, sizeof(*v->sections));
	if (!v->sections)
		return nomem(c);
	for (size_t i = 0; i < a->n; i++) {
		ret = want_type(c, a->items[i], JP_STRING, "a section name");
		if (ret)
			return ret;
		if (!(v->sections[i] = strdup(a->items[i]->s)))
			return nomem(c);
		v->nsections++;
	}
	return 0;
}

static int load_vmsd(struct lctx *c, const struct jp_value *o,
		     struct mig_svmsd *v)
{
	static const char *const keys[] = {
		"id", "name", "version", "minimum_version", "fields",
		"subsections", "sections", "legacy", "origin", "note", NULL,
	};
	static const char *const sub_keys[] = { "vmsd", "needed", NULL };
	const struct jp_value *a;
	char *origin = NULL;
	int ret;

	ret = want_type(c, o, JP_OBJECT, "a description");
	if (!ret)
		ret = check_keys(c, o, "a description", keys);
	if (ret)
		return ret;
	v->line = o->pos.line;
	v->col = o->pos.col;
	ret = get_str(c, o, "id", true, &v->id);
	if (!ret)
		ret = get_str(c, o, "name", false, &v->name);
	if (!ret && !v->name && !(v->name = strdup(v->id)))
		ret = nomem(c);
	if (!ret)
		ret = get_u32(c, o, "version", true, &v->version, NULL);
	if (!ret)
		ret = get_u32(c, o, "minimum_version", false,
			      &v->minimum_version, &v->has_minimum);
	if (!ret)
		ret = get_bool(c, o, "legacy", false, &v->legacy);
	if (!ret)
		ret = get_str(c, o, "note", false, &v->note);
	if (!ret)
		ret = get_str(c, o, "origin", false, &origin);
	if (ret)
		return ret;
	if (v->has_minimum && v->minimum_version > v->version) {
		free(origin);
		return perr(c, jp_key_pos(o, "minimum_version"),
			    "minimum_version %" PRIu32 " is above version %" PRIu32,
			    v->minimum_version, v->version);
	}
	v->origin = MIG_ORIGIN_DUMP;
	if (origin) {
		if (!strcmp(origin, "vmdesc"))
			v->origin = MIG_ORIGIN_VMDESC;
		else if (!strcmp(origin, "curated"))
			v->origin = MIG_ORIGIN_CURATED;
		else if (strcmp(origin, "dump"))
			ret = perr(c, jp_get(o, "origin")->pos,
				   "origin must be \"dump\", \"vmdesc\" or \"curated\", not \"%s\"",
				   origin);
		free(origin);
		if (ret)
			return ret;
	}
	ret = load_sections(c, o, v);
	if (ret)
		return ret;
	a = jp_get(o, "fields");
	if (a) {
		ret = want_type(c, a, JP_ARRAY, "fields");
		if (ret)
			return ret;
		v->fields = calloc(a->n ? a->n : 1, sizeof(*v->fields));
		if (!v->fields)
			return nomem(c);
		for (size_t i = 0; i < a->n; i++) {
			v->nfields++;
			ret = load_field(c, a->items[i], &v->fields[i]);
			if (ret)
				return ret;
		}
	}
	a = jp_get(o, "subsections");
	if (a) {
		ret = want_type(c, a, JP_ARRAY, "subsections");
		if (ret)
			return ret;
		v->subs = calloc(a->n ? a->n : 1, sizeof(*v->subs));
		if (!v->subs)
			return nomem(c);
		for (size_t i = 0; i < a->n; i++) {
			const struct jp_value *so = a->items[i];

			v->nsubs++;
			ret = want_type(c, so, JP_OBJECT, "a subsection");
			if (!ret)
				ret = check_keys(c, so, "a subsection", sub_keys);
			if (!ret)
				ret = get_str(c, so, "vmsd", true,
					      &v->subs[i].vmsd_id);
			if (!ret)
				ret = get_cond(c, so, "needed",
					       &v->subs[i].needed);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int load_machine(struct lctx *c, const struct jp_value *o,
			struct mig_smachine *m)
{
	static const char *const keys[] = {
		"name", "alias", "default", "deprecated", "footers",
		"configuration", "vmdesc", "switchover_start", "properties",
		"note", NULL,
	};
	int ret = want_type(c, o, JP_OBJECT, "a machine");

	if (!ret)
		ret = check_keys(c, o, "a machine", keys);
	if (!ret)
		ret = get_str(c, o, "name", true, &m->name);
	if (!ret)
		ret = get_str(c, o, "alias", false, &m->alias);
	if (!ret)
		ret = get_bool(c, o, "default", false, &m->is_default);
	if (!ret)
		ret = get_bool(c, o, "deprecated", false, &m->deprecated);
	if (!ret)
		ret = get_bool(c, o, "footers", true, &m->footers);
	if (!ret)
		ret = get_bool(c, o, "configuration", true, &m->configuration);
	if (!ret)
		ret = get_bool(c, o, "vmdesc", true, &m->vmdesc);
	if (!ret)
		ret = get_bool(c, o, "switchover_start", false,
			       &m->switchover_start);
	if (!ret)
		ret = get_props(c, o, &m->props, &m->nprops);
	if (!ret && jp_get(o, "note"))
		ret = want_type(c, jp_get(o, "note"), JP_STRING, "note");
	return ret;
}

static int load_device(struct lctx *c, const struct jp_value *o,
		       struct mig_sdevice *d)
{
	static const char *const keys[] = {
		"type", "vmsd", "properties", "note", NULL,
	};
	int ret = want_type(c, o, JP_OBJECT, "a device");

	if (!ret)
		ret = check_keys(c, o, "a device", keys);
	if (!ret)
		ret = get_str(c, o, "type", true, &d->type);
	if (!ret)
		ret = get_str(c, o, "vmsd", false, &d->vmsd_id);
	if (!ret)
		ret = get_props(c, o, &d->props, &d->nprops);
	if (!ret && jp_get(o, "note"))
		ret = want_type(c, jp_get(o, "note"), JP_STRING, "note");
	return ret;
}

static int cmp_vmsd(const void *a, const void *b)
{
	return strcmp(((const struct mig_svmsd *)a)->id,
		      ((const struct mig_svmsd *)b)->id);
}

const struct mig_svmsd *mig_schema_vmsd(const struct mig_schema *s,
					const char *id)
{
	size_t lo = 0, hi = s->nvmsds;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(id, s->vmsds[mid].id);

		if (!r)
			return &s->vmsds[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Position of element @i of array @key of object @o, for messages. */
static struct jp_pos item_pos(const struct jp_value *o, const char *key,
			      size_t i)
{
	const struct jp_value *a = jp_get(o, key);

	if (a && a->type == JP_ARRAY && i < a->n)
		return a->items[i]->pos;
	return jp_key_pos(o, key);
}

/* A name and where it was listed, to find repeats by sorting. */
struct named {
	const char *name;
	size_t idx;
};

/* By name, then by position: the members of a repeat stay in order. */
static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * Unique names, as QEMU's vmdesc writes them: "name[k]" when repeated.
 * Sorted rather than compared pairwise: a hostile schema can repeat one
 * name in tens of thousands of fields.
 */
static int unique_names(struct lctx *c, struct mig_svmsd *v)
{
	size_t n = v->nfields;
	struct named *by;

	if (!n)
		return 0;
	by = calloc(n, sizeof(*by));
	if (!by)
		return nomem(c);
	for (size_t i = 0; i < n; i++)
		by[i] = (struct named){ v->fields[i].name, i };
	qsort(by, n, sizeof(*by), cmp_named);
	for (size_t g = 0, e; g < n; g = e) {
		for (e = g + 1; e < n && !strcmp(by[e].name, by[g].name); e++)
			;
		for (size_t k = g; k < e; k++) {
			struct mig_sfield *f = &v->fields[by[k].idx];
			size_t len = strlen(f->name) + 24;

			if (e - g == 1) {
				f->uname = strdup(f->name);
			} else {
				f->uname = malloc(len);
				if (f->uname)
					snprintf(f->uname, len, "%s[%zu]",
						 f->name, k - g);
			}
			if (!f->uname) {
				free(by);
				return nomem(c);
			}
		}
	}
	free(by);
	return 0;
}

static bool is_struct_type(const char *type)
{
	return !type || !strcmp(type, "struct");
}

/*
 * QEMU's vmsd_can_compress(): a field described once for all elements.
 * The answer for each nested description is kept in @memo, by its index
 * (0: not known yet, 1: no, 2: yes): a hostile schema can nest each
 * description twice in the one above it, and walking every use would
 * take time exponential in the depth.  The recursion is bounded by the
 * nesting limit link_schema() checks first.
 */
static bool can_compress(const struct mig_schema *s,
			 const struct mig_sfield *f, unsigned char *memo)
{
	const struct mig_svmsd *n = f->vmsd;
	size_t j;

	if (f->exists || f->indexed)
		return false;
	if (!n || !is_struct_type(f->type))
		return true;
	j = (size_t)(n - s->vmsds);
	if (!memo[j]) {
		bool ok = !n->nsubs;

		for (size_t i = 0; ok && i < n->nfields; i++)
			ok = can_compress(s, &n->fields[i], memo);
		memo[j] = ok ? 2 : 1;
	}
	return memo[j] == 2;
}

enum { WHITE, GREY, BLACK };

/* State of the search for cycles, an entry per description. */
struct walk {
	unsigned char *color;
	size_t *stack;		/* the descriptions on the current path */
	size_t *next;		/* per path entry, the next nested to look at */
	size_t *height;		/* levels of nesting below, once BLACK */
};

/* The @k-th description nested in @v (fields, then subsections) or NULL. */
static const struct mig_svmsd *nested(const struct mig_svmsd *v, size_t k)
{
	return k < v->nfields ? v->fields[k].vmsd
			      : v->subs[k - v->nfields].vmsd;
}

/* The path's entry @depth nests description @j, which is on the path. */
static int cycle_error(struct lctx *c, const struct walk *w, size_t depth,
		       size_t j)
{
	const struct mig_svmsd *v = &c->s->vmsds[w->stack[depth]];
	size_t k = w->next[depth], start = depth, len = 0;
	struct jp_pos pos = { v->line, v->col, 0 };
	char path[MIG_MSG_MAX];

	while (start > 0 && w->stack[start] != j)
		start--;
	for (size_t d = start; d <= depth && len < sizeof(path); d++)
		len += (size_t)snprintf(path + len, sizeof(path) - len,
					"'%s' -> ",
					c->s->vmsds[w->stack[d]].id);
	if (len < sizeof(path))
		snprintf(path + len, sizeof(path) - len, "'%s'",
			 c->s->vmsds[j].id);
	if (k < v->nfields) {
		pos.line = v->fields[k].line;
		pos.col = v->fields[k].col;
	}
	return perr(c, pos, "cycle of nested descriptions: %s", path);
}

/*
 * Depth-first search from @root for a cycle of nesting (fields and
 * subsections), noting how deep each description's nesting goes.  The
 * path is kept on the heap, not in C stack frames: a schema can chain
 * every one of its descriptions inside the next.
 */
static int find_cycle(struct lctx *c, struct walk *w, size_t root)
{
	const struct mig_schema *s = c->s;
	size_t depth = 0;

	w->color[root] = GREY;
	w->stack[0] = root;
	w->next[0] = 0;
	for (;;) {
		size_t i = w->stack[depth], k = w->next[depth], j;
		const struct mig_svmsd *v = &s->vmsds[i];
		const struct mig_svmsd *n;

		if (k == v->nfields + v->nsubs) {
			w->color[i] = BLACK;
			if (!depth)
				return 0;
			/* the parent looks at this one again, now BLACK */
			depth--;
			continue;
		}
		n = nested(v, k);
		if (!n) {
			w->next[depth]++;
			continue;
		}
		j = (size_t)(n - s->vmsds);
		if (w->color[j] == GREY)
			return cycle_error(c, w, depth, j);
		if (w->color[j] == WHITE) {
			/* GREY ones are distinct: depth stays below nvmsds */
			w->color[j] = GREY;
			w->stack[++depth] = j;
			w->next[depth] = 0;
			continue;
		}
		if (w->height[j] + 1 > w->height[i])
			w->height[i] = w->height[j] + 1;
		w->next[depth]++;
	}
}

/*
 * Checks the nesting: no cycle, and no deeper than the decoders follow
 * (MIG_DEPTH_MAX levels), so that no schema loaded can make a walk of
 * its descriptions recurse without bound.
 */
static int check_nesting(struct lctx *c)
{
	const struct mig_schema *s = c->s;
	size_t n = s->nvmsds ? s->nvmsds : 1, deepest = 0;
	struct walk w = {
		.color = calloc(n, 1),
		.stack = calloc(n, sizeof(*w.stack)),
		.next = calloc(n, sizeof(*w.next)),
		.height = calloc(n, sizeof(*w.height)),
	};
	int ret = 0;

	if (!w.color || !w.stack || !w.next || !w.height)
		ret = nomem(c);
	for (size_t i = 0; !ret && i < s->nvmsds; i++)
		if (w.color[i] == WHITE)
			ret = find_cycle(c, &w, i);
	/* Only after the whole search: a cycle is the error to report. */
	for (size_t i = 0; !ret && i < s->nvmsds; i++)
		if (w.height[i] > w.height[deepest])
			deepest = i;
	if (!ret && s->nvmsds && w.height[deepest] > MIG_DEPTH_MAX) {
		const struct mig_svmsd *v = &s->vmsds[deepest];
		struct jp_pos pos = { v->line, v->col, 0 };

		ret = perr(c, pos,
			   "description '%s' nests descriptions %zu levels deep (at most %d)",
			   v->id, w.height[deepest], MIG_DEPTH_MAX);
	}
	free(w.color);
	free(w.stack);
	free(w.next);
	free(w.height);
	return ret;
}

/* Resolves references, names and compression; checks the nesting. */
static int link_schema(struct lctx *c, const struct jp_value *root)
{
	struct mig_schema *s = c->s;
	unsigned char *memo;
	int ret = 0;

	for (size_t i = 0; i < s->nvmsds; i++) {
		struct mig_svmsd *v = &s->vmsds[i];

		for (size_t k = 0; k < v->nfields; k++) {
			struct mig_sfield *f = &v->fields[k];
			struct jp_pos pos = { f->line, f->col, 0 };

			if (!f->vmsd_id)
				continue;
			f->vmsd = mig_schema_vmsd(s, f->vmsd_id);
			if (!f->vmsd)
				return perr(c, pos,
					    "field '%s' of '%s' refers to unknown description '%s'",
					    f->name, v->id, f->vmsd_id);
		}
		for (size_t k = 0; k < v->nsubs; k++) {
			struct jp_pos pos = { v->line, v->col, 0 };

			v->subs[k].vmsd = mig_schema_vmsd(s, v->subs[k].vmsd_id);
			if (!v->subs[k].vmsd)
				return perr(c, pos,
					    "subsection '%s' of '%s' is an unknown description",
					    v->subs[k].vmsd_id, v->id);
		}
		ret = unique_names(c, v);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < s->ndevices; i++) {
		struct mig_sdevice *d = &s->devices[i];

		if (!d->vmsd_id)
			continue;
		d->vmsd = mig_schema_vmsd(s, d->vmsd_id);
		if (!d->vmsd)
			return perr(c, item_pos(root, "devices", i),
				    "device '%s' refers to unknown description '%s'",
				    d->type, d->vmsd_id);
	}
	ret = check_nesting(c);
	if (ret)
		return ret;
	memo = calloc(s->nvmsds ? s->nvmsds : 1, 1);
	if (!memo)
		return nomem(c);
	for (size_t i = 0; i < s->nvmsds; i++)
		for (size_t k = 0; k < s->vmsds[i].nfields; k++)
			s->vmsds[i].fields[k].compress =
				can_compress(s, &s->vmsds[i].fields[k], memo);
	free(memo);
	return 0;
}

/*
 * Refuses a machine type listed twice, naming the first repeat (@a: the
 * "machines" array, for its position).  Sorted, as for field names.
 */
static int unique_machines(struct lctx *c, const struct jp_value *a)
{
	const struct mig_schema *s = c->s;
	size_t n = s->nmachines, first = n;
	struct named *by;

	if (n < 2)
		return 0;
	by = calloc(n, sizeof(*by));
	if (!by)
		return nomem(c);
	for (size_t i = 0; i < n; i++)
		by[i] = (struct named){ s->machines[i].name, i };
	qsort(by, n, sizeof(*by), cmp_named);
	for (size_t i = 1; i < n; i++)
		if (by[i].idx < first && !strcmp(by[i - 1].name, by[i].name))
			first = by[i].idx;
	free(by);
	if (first == n)
		return 0;
	return perr(c, a->items[first]->pos, "machine '%s' listed twice",
		    s->machines[first].name);
}

static int load_root(struct lctx *c, const struct jp_value *root)
{
	static const char *const keys[] = {
		"migstream_schema", "name", "qemu", "qemu_version", "target",
		"provenance", "machines", "devices", "vmsds", "note",
		"vmdesc_index_last", NULL,
	};
	struct mig_schema *s = c->s;
	const struct jp_value *v, *a;
	uint32_t format = 0;
	int ret;

	ret = want_type(c, root, JP_OBJECT, "a schema");
	if (ret)
		return ret;
	v = jp_get(root, "migstream_schema");
	if (!v)
		return perr(c, root->pos,
			    "not a migstream schema (no \"migstream_schema\" key)");
	ret = get_u32(c, root, "migstream_schema", true, &format, NULL);
	if (ret)
		return ret;
	if (format != MIG_SCHEMA_FORMAT)
		return perr(c, v->pos,
			    "schema format %" PRIu32 " is not supported (this migstream reads format %d)",
			    format, MIG_SCHEMA_FORMAT);
	ret = check_keys(c, root, "the schema", keys);
	if (!ret)
		ret = get_str(c, root, "name", false, &s->name);
	if (!ret)
		ret = get_str(c, root, "qemu", false, &s->qemu);
	if (!ret)
		ret = get_str(c, root, "qemu_version", false, &s->qemu_version);
	if (!ret)
		ret = get_str(c, root, "target", false, &s->target);
	if (!ret)
		ret = get_bool(c, root, "vmdesc_index_last", true,
			       &s->vmdesc_index_last);
	if (ret)
		return ret;
	v = jp_get(root, "provenance");
	if (v) {
		ret = want_type(c, v, JP_OBJECT, "provenance");
		if (ret)
			return ret;
		s->provenance = jp_to_json(v);
		if (!s->provenance)
			return nomem(c);
	}
	if (jp_get(root, "note")) {
		ret = want_type(c, jp_get(root, "note"), JP_STRING, "note");
		if (ret)
			return ret;
	}

	a = jp_get(root, "machines");
	if (a) {
		ret = want_type(c, a, JP_ARRAY, "machines");
		if (ret)
			return ret;
		s->machines = calloc(a->n ? a->n : 1, sizeof(*s->machines));
		if (!s->machines)
			return nomem(c);
		for (size_t i = 0; i < a->n; i++) {
			s->nmachines++;
			ret = load_machine(c, a->items[i], &s->machines[i]);
			if (ret)
				return ret;
		}
		ret = unique_machines(c, a);
		if (ret)
			return ret;
	}
	a = jp_get(root, "devices");
	if (a) {
		ret = want_type(c, a, JP_ARRAY, "devices");
		if (ret)
			return ret;
		s->devices = calloc(a->n ? a->n : 1, sizeof(*s->devices));
		if (!s->devices)
			return nomem(c);
		for (size_t i = 0; i < a->n; i++) {
			s->ndevices++;
			ret = load_device(c, a->items[i], &s->devices[i]);
			if (ret)
				return ret;
		}
	}
	a = jp_get(root, "vmsds");
	if (!a)
		return perr(c, root->pos, "missing key 'vmsds'");
	ret = want_type(c, a, JP_ARRAY, "vmsds");
	if (ret)
		return ret;
	s->vmsds = calloc(a->n ? a->n : 1, sizeof(*s->vmsds));
	if (!s->vmsds)
		return nomem(c);
	for (size_t i = 0; i < a->n; i++) {
		s->nvmsds++;
		ret = load_vmsd(c, a->items[i], &s->vmsds[i]);
		if (ret)
			return ret;
	}
	qsort(s->vmsds, s->nvmsds, sizeof(*s->vmsds), cmp_vmsd);
	for (size_t i = 1; i < s->nvmsds; i++)
		if (!strcmp(s->vmsds[i - 1].id, s->vmsds[i].id)) {
			struct jp_pos p = { s->vmsds[i].line, s->vmsds[i].col, 0 };
			struct jp_pos q = { s->vmsds[i - 1].line,
					    s->vmsds[i - 1].col, 0 };

			return perr(c, p.line > q.line ? p : q,
				    "description id '%s' used twice",
				    s->vmsds[i].id);
		}
	return link_schema(c, root);
}

int mig_schema_load_mem(const char *text, size_t len, const char *name,
			struct mig_schema **out, struct mig_error *err)
{
	struct mig_error local;
	struct lctx c = { .file = name, .err = err ? err : &local };
	struct jp_value *root = NULL;
	struct jp_error je;
	int ret;

	*out = NULL;
	if (!err)
		mig_error_clear(&local);
	ret = jp_parse(text, len, &root, &je);
	if (ret == -2)
		return nomem(&c);
	if (ret)
		return cond_pos_error(c.err, name, je.pos, "bad JSON: %s",
				      je.msg);
	c.s = calloc(1, sizeof(*c.s));
	if (!c.s) {
		jp_free(root);
		return nomem(&c);
	}
	c.s->file = strdup(name ? name : "<schema>");
	ret = c.s->file ? load_root(&c, root) : nomem(&c);
	jp_free(root);
	if (ret) {
		mig_schema_free(c.s);
		return ret;
	}
	*out = c.s;
	return 0;
}

/* Reads a whole file (at most SCHEMA_MAX bytes). */
static int slurp(const char *path, char **out, size_t *len,
		 struct mig_error *err)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 16, n = 0;
	char *buf;

	*out = NULL;
	if (!f)
		return mig_error_set(err, MIG_EIO, MIG_NO_OFFSET,
				     "cannot open '%s': %s", path,
				     strerror(errno));
	buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (got == 0)
			break;
		if (n == cap) {
			char *p;

			if (cap >= SCHEMA_MAX) {
				free(buf);
				fclose(f);
				return mig_error_set(err, MIG_ELIMIT, MIG_NO_OFFSET,
						     "'%s' is larger than %u bytes",
						     path, SCHEMA_MAX);
			}
			p = realloc(buf, cap * 2);
			if (!p) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p;
			cap *= 2;
		}
	}
	if (!buf) {
		fclose(f);
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return mig_error_set(err, MIG_EIO, MIG_NO_OFFSET,
				     "cannot read '%s': %s", path,
				     strerror(errno));
	}
	fclose(f);
	*out = buf;
	*len = n;
	return 0;
}

int mig_schema_load(const char *path, struct mig_schema **out,
		    struct mig_error *err)
{
	char *text;
	size_t len = 0;
	int ret;

	*out = NULL;
	ret = slurp(path, &text, &len, err);
	if (ret)
		return ret;
	ret = mig_schema_load_mem(text, len, path, out, err);
	free(text);
	return ret;
}

static bool is_path(const char *what)
{
	size_t n = strlen(what);

	return strchr(what, '/') || (n > 5 && !strcmp(what + n - 5, ".json"));
}

int mig_schema_open(const char *what, const char *target,
		    const char *const *dirs, size_t ndirs,
		    struct mig_schema **out, struct mig_error *err)
{
	char looked[MIG_MSG_MAX] = "";
	size_t used = 0;

	*out = NULL;
	if (is_path(what))
		return mig_schema_load(what, out, err);
	if (!target)
		target = "x86_64";
	for (size_t i = 0; i < ndirs; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s/%s.json", dirs[i], what,
			 target);
		if (!stat(path, &st))
			return mig_schema_load(path, out, err);
		if (used < sizeof(looked))
			used += (size_t)snprintf(looked + used,
						 sizeof(looked) - used, "%s%s",
						 used ? ", " : "", dirs[i]);
	}
	return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
			     "no schema '%s' for %s (looked in %s)", what,
			     target, used ? looked : "no directory");
}

int mig_version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		unsigned long x = strtoul(a, (char **)&a, 10);
		unsigned long y = strtoul(b, (char **)&b, 10);

		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
		if (!*a || !*b || (*a < '0' || *a > '9') || (*b < '0' || *b > '9'))
			return (*a != 0) - (*b != 0);
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;

	if (!strncmp(x, "qemu-", 5) && !strncmp(y, "qemu-", 5))
		return mig_version_cmp(x + 5, y + 5);
	return strcmp(x, y);
}

int mig_schema_list(const char *target, const char *const *dirs,
		    size_t ndirs, char ***names, size_t *n,
		    struct mig_error *err)
{
	char **list = NULL;
	size_t count = 0;

	*names = NULL;
	*n = 0;
	if (!target)
		target = "x86_64";
	for (size_t i = 0; i < ndirs; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;

		if (!d)
			continue;
		while ((e = readdir(d))) {
			char path[4096];
			struct stat st;
			bool dup = false;
			char **l;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s.json", dirs[i],
				 e->d_name, target);
			if (stat(path, &st))
				continue;
			for (size_t k = 0; k < count; k++)
				dup |= !strcmp(list[k], e->d_name);
			if (dup)
				continue;
			l = realloc(list, (count + 1) * sizeof(*l));
			if (!l || !(l[count] = strdup(e->d_name))) {
				closedir(d);
				if (l)
					list = l;
				for (size_t k = 0; k < count; k++)
					free(list[k]);
				free(list);
				return mig_error_set(err, MIG_ENOMEM,
						     MIG_NO_OFFSET,
						     "out of memory");
			}
			list = l;
			count++;
		}
		closedir(d);
	}
	if (count)
		qsort(list, count, sizeof(*list), cmp_names);
	*names = list;
	*n = count;
	return 0;
}

size_t mig_schema_section_vmsds(const struct mig_schema *s,
				const char *idstr,
				const struct mig_svmsd **out, size_t max)
{
	const char *base = strrchr(idstr, '/');
	size_t n = 0;

	base = base ? base + 1 : idstr;
	for (size_t i = 0; i < s->nvmsds; i++) {
		const struct mig_svmsd *v = &s->vmsds[i];
		bool hit = false;

		for (size_t k = 0; k < v->nsections && !hit; k++)
			hit = !strcmp(v->sections[k], base) ||
			      !strcmp(v->sections[k], idstr);
		if (!hit)
			continue;
		if (n < max)
			out[n] = v;
		n++;
	}
	return n;
}

const struct mig_smachine *mig_schema_machine(const struct mig_schema *s,
					      const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < s->nmachines; i++)
		if (!strcmp(s->machines[i].name, name) ||
		    (s->machines[i].alias && !strcmp(s->machines[i].alias, name)))
			return &s->machines[i];
	return NULL;
}
