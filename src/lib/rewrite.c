/* SPDX-License-Identifier: MIT */
/*
 * The rewrite engine (rewrite.h): a plan of byte edits over one input, the
 * vmdesc kept in step with them as text, and the copy that applies them.
 *
 * Edits are kept as a list of (input offset, bytes removed, bytes put in
 * their place).  What follows from the plan as a whole (footers added or
 * removed, the length of a PACKAGED blob, the vmdesc trailer, an added
 * configuration record) is worked out when the output is written, so the
 * order in which the caller decides things does not matter.
 *
 * The vmdesc is parsed a second time here, into a tree of byte spans of
 * its text (jansson keeps no positions).  An edit marks the values it
 * changes; writing the vmdesc copies every span no edit touched as it
 * was, and writes the objects and arrays that changed with QEMU's own
 * separators (", " and ": ").  Entries are matched to state-tree nodes by
 * walking both the way the vmdesc decoder (vmdesc.c) walked them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migstream/rewrite.h"
#include "migstream/vmdesc.h"
#include "ram.h"

/* Input bytes copied per step (the reader gives back what is behind). */
/* 128 KiB: measured 2-3x faster than 1 MiB writes into the page cache
 * on the bench machine (the buffer stays in L2; bench/README.md). */
#define COPY_CHUNK (128u << 10)
/* Deepest JSON nesting followed in the vmdesc text. */
#define JSON_DEPTH_MAX 1024
/* Default cap on what a pipe rewrite holds. */
#define HOLD_MAX (256ull << 20)
/* A RAM block list fits in this (4096 blocks of at most 300 bytes). */
#define BLOCK_LIST_MAX (2u << 20)

/* ------------------------------------------------------------------ */
/* The vmdesc as text: a tree of spans                                 */

struct jnode {
	char type;		/* 'o' 'a' 's'tring 'n'umber 'l'iteral */
	bool removed;		/* as an array element or a member */
	bool dirty;		/* something at or below it changed */
	size_t start, end;	/* its text */
	size_t key_start;	/* member of an object: its key's text */
	size_t key_end;
	char *key;		/* the key, decoded (NULL outside objects) */
	uint64_t shrink;	/* numbers: written as value - shrink */
	bool has_set;		/* numbers: written as .set */
	uint64_t set;
	struct jnode *parent, *child, *last, *next;
};

struct jparse {
	const char *t;
	size_t len, pos;
	size_t nodes;
};

static void jfree(struct jnode *n)
{
	while (n) {
		struct jnode *next = n->next;

		jfree(n->child);
		free(n->key);
		free(n);
		n = next;
	}
}

static void jskip_ws(struct jparse *p)
{
	while (p->pos < p->len &&
	       (p->t[p->pos] == ' ' || p->t[p->pos] == '\t' ||
		p->t[p->pos] == '\n' || p->t[p->pos] == '\r'))
		p->pos++;
}

/* A string at the cursor; *@dec (may be NULL) gets it decoded. */
static int jstring(struct jparse *p, char **dec)
{
	size_t start = ++p->pos, n = 0;
	char *s = NULL;

	while (p->pos < p->len && p->t[p->pos] != '"') {
		if (p->t[p->pos] == '\\')
			p->pos++;
		p->pos++;
	}
	if (p->pos >= p->len)
		return -1;
	if (dec) {
		s = malloc(p->pos - start + 1);
		if (!s)
			return -2;
		for (size_t i = start; i < p->pos; i++) {
			char c = p->t[i];

			if (c == '\\') {
				c = p->t[++i];
				switch (c) {
				case 'n':
					c = '\n';
					break;
				case 't':
					c = '\t';
					break;
				case 'r':
					c = '\r';
					break;
				case 'b':
					c = '\b';
					break;
				case 'f':
					c = '\f';
					break;
				case 'u':
					/* Not in any name we look for. */
					c = '?';
					i += 4 < p->pos - i ? 4
							    : p->pos - i - 1;
					break;
				default:
					break;
				}
			}
			s[n++] = c;
		}
		s[n] = '\0';
		*dec = s;
	}
	p->pos++;
	return 0;
}

/* Parses one value at the cursor into *@out.  -1 bad text, -2 no memory. */
static int jvalue(struct jparse *p, struct jnode *parent, int depth,
		  struct jnode **out)
{
	struct jnode *n;
	int ret = 0;

	*out = NULL;
	jskip_ws(p);
	if (p->pos >= p->len || depth > JSON_DEPTH_MAX)
		return -1;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -2;
	n->parent = parent;
	n->start = p->pos;
	p->nodes++;
	switch (p->t[p->pos]) {
	case '{':
	case '[': {
		bool obj = p->t[p->pos] == '{';
		char close = obj ? '}' : ']';

		n->type = obj ? 'o' : 'a';
		p->pos++;
		jskip_ws(p);
		if (p->pos < p->len && p->t[p->pos] == close) {
			p->pos++;
			break;
		}
		for (;;) {
			struct jnode *c;
			size_t ks = 0, ke = 0;
			char *key = NULL;

			jskip_ws(p);
			if (obj) {
				if (p->pos >= p->len || p->t[p->pos] != '"') {
					ret = -1;
					break;
				}
				ks = p->pos;
				ret = jstring(p, &key);
				if (ret)
					break;
				ke = p->pos;
				jskip_ws(p);
				if (p->pos >= p->len || p->t[p->pos] != ':') {
					free(key);
					ret = -1;
					break;
				}
				p->pos++;
			}
			ret = jvalue(p, n, depth + 1, &c);
			if (ret) {
				free(key);
				break;
			}
			c->key = key;
			c->key_start = ks;
			c->key_end = ke;
			if (n->last)
				n->last->next = c;
			else
				n->child = c;
			n->last = c;
			jskip_ws(p);
			if (p->pos < p->len && p->t[p->pos] == ',') {
				p->pos++;
				continue;
			}
			if (p->pos < p->len && p->t[p->pos] == close) {
				p->pos++;
				break;
			}
			ret = -1;
			break;
		}
		break;
	}
	case '"':
		n->type = 's';
		ret = jstring(p, NULL);
		break;
	default:
		n->type = (p->t[p->pos] == '-' ||
			   (p->t[p->pos] >= '0' && p->t[p->pos] <= '9'))
				  ? 'n'
				  : 'l';
		while (p->pos < p->len && !strchr(",]} \t\r\n", p->t[p->pos]))
			p->pos++;
		break;
	}
	n->end = p->pos;
	if (ret) {
		jfree(n);
		return ret;
	}
	*out = n;
	return 0;
}

/* The member @key of object @o (the last one, as jansson keeps), or NULL. */
static struct jnode *jget(const struct jnode *o, const char *key)
{
	struct jnode *found = NULL;

	if (!o || o->type != 'o')
		return NULL;
	for (struct jnode *c = o->child; c; c = c->next)
		if (c->key && !strcmp(c->key, key))
			found = c;
	return found;
}

static bool jnum(const char *t, const struct jnode *n, uint64_t *v)
{
	char buf[32];
	size_t len;
	char *end;

	if (!n || n->type != 'n')
		return false;
	len = n->end - n->start;
	if (len == 0 || len >= sizeof(buf) || t[n->start] == '-')
		return false;
	memcpy(buf, t + n->start, len);
	buf[len] = '\0';
	*v = strtoull(buf, &end, 10);
	return *end == '\0';
}

static bool jstr_is(const char *t, const struct jnode *n, const char *s)
{
	size_t len = strlen(s);

	return n && n->type == 's' && n->end - n->start == len + 2 &&
	       !memcmp(t + n->start + 1, s, len);
}

static void jdirty(struct jnode *n)
{
	for (; n && !n->dirty; n = n->parent)
		n->dirty = true;
}

static void jremove(struct jnode *n)
{
	n->removed = true;
	jdirty(n);
}

/* Growing output text. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed || !n)
		return;
	if (n > b->cap - b->len) {
		size_t ncap = b->cap ? b->cap : 4096;
		char *q;

		while (n > ncap - b->len)
			ncap *= 2;
		q = realloc(b->p, ncap);
		if (!q) {
			b->failed = true;
			return;
		}
		b->p = q;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void jrender(const char *t, const struct jnode *n, struct sbuf *b)
{
	bool first = true;

	if (!n->dirty) {
		sb_put(b, t + n->start, n->end - n->start);
		return;
	}
	if (n->type == 'n') {
		char num[32];
		uint64_t v = 0;

		if (n->has_set)
			v = n->set;
		else if (jnum(t, n, &v))
			v = v >= n->shrink ? v - n->shrink : 0;
		snprintf(num, sizeof(num), "%" PRIu64, v);
		sb_put(b, num, strlen(num));
		return;
	}
	if (n->type != 'o' && n->type != 'a') {
		sb_put(b, t + n->start, n->end - n->start);
		return;
	}
	sb_put(b, n->type == 'o' ? "{" : "[", 1);
	for (const struct jnode *c = n->child; c; c = c->next) {
		if (c->removed)
			continue;
		if (!first)
			sb_put(b, ", ", 2);
		first = false;
		if (n->type == 'o') {
			sb_put(b, t + c->key_start, c->key_end - c->key_start);
			sb_put(b, ": ", 2);
		}
		jrender(t, c, b);
	}
	sb_put(b, n->type == 'o' ? "}" : "]", 1);
}

/* ------------------------------------------------------------------ */
/* The plan                                                            */

struct edit {
	uint64_t off;		/* input offset */
	uint64_t len;		/* bytes removed there (0: an insertion) */
	uint8_t *data;		/* bytes written in their place */
	size_t dlen;
	/* An insertion belongs to something: it goes when that is removed. */
	uint64_t owner_off, owner_len;
	size_t seq;		/* order of insertions at one offset */
};

struct mig_rewrite {
	const struct mig_stream *s;
	uint64_t start;			/* offset of the stream header */
	uint64_t end;			/* end of the input */
	struct edit *edits;
	size_t nedits, cap;
	size_t seq;
	/* Records by position, and which are dropped. */
	const struct mig_record **recs;
	bool *dropped;
	size_t nrecs;
	int footers;			/* 1 add, 0 remove, -1 leave */
	int config;			/* 1 add, 0 remove, -1 leave */
	char *config_machine;
	bool keep_vmdesc;
	/* The vmdesc text and its spans (parsed when first needed). */
	char *vtext;
	size_t vlen;
	struct jnode *vroot;
	bool vparsed;
};

static int nomem(struct mig_error *err)
{
	return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET, "out of memory");
}

static uint64_t stream_start(const struct mig_stream *s)
{
	return s->wrapper ? s->wrapper->stream_offset : 0;
}

int mig_rewrite_new(const struct mig_stream *s, struct mig_reader *r,
		    struct mig_rewrite **out, struct mig_error *err)
{
	struct mig_rewrite *rw;
	size_t i = 0;

	*out = NULL;
	if (!s || !s->complete)
		return mig_error_set(err, MIG_EINVAL,
				     s ? s->end : MIG_NO_OFFSET,
				     "only a stream read to its end can be rewritten");
	rw = calloc(1, sizeof(*rw));
	if (!rw)
		return nomem(err);
	rw->s = s;
	rw->start = stream_start(s);
	rw->end = s->end;
	rw->footers = -1;
	rw->config = -1;
	rw->keep_vmdesc = true;
	rw->recs = calloc(s->nrecords ? s->nrecords : 1, sizeof(*rw->recs));
	rw->dropped = calloc(s->nrecords ? s->nrecords : 1, 1);
	if (!rw->recs || !rw->dropped)
		goto out_nomem;
	for (const struct mig_record *rec = s->records; rec; rec = rec->next)
		if (i < s->nrecords)
			rw->recs[i++] = rec;
	rw->nrecs = i;
	if (s->has_vmdesc) {
		const uint8_t *p;
		uint64_t here = mig_rd_offset(r);
		int ret;

		rw->vlen = (size_t)s->vmdesc_size;
		rw->vtext = malloc(rw->vlen + 1);
		if (!rw->vtext)
			goto out_nomem;
		ret = mig_rd_seek(r, s->vmdesc_offset + 5, err);
		if (!ret)
			ret = mig_rd_peek(r, rw->vlen, &p, err);
		if (!ret) {
			memcpy(rw->vtext, p, rw->vlen);
			rw->vtext[rw->vlen] = '\0';
			ret = mig_rd_seek(r, here, err);
		}
		if (ret) {
			mig_rewrite_free(rw);
			return ret;
		}
	}
	*out = rw;
	return 0;
out_nomem:
	mig_rewrite_free(rw);
	return nomem(err);
}

void mig_rewrite_free(struct mig_rewrite *rw)
{
	if (!rw)
		return;
	for (size_t i = 0; i < rw->nedits; i++)
		free(rw->edits[i].data);
	free(rw->edits);
	free(rw->recs);
	free(rw->dropped);
	free(rw->config_machine);
	free(rw->vtext);
	jfree(rw->vroot);
	free(rw);
}

const struct mig_stream *mig_rewrite_stream(const struct mig_rewrite *rw)
{
	return rw->s;
}

/* Index of @rec in the stream, or -1. */
static long rec_index(const struct mig_rewrite *rw,
		      const struct mig_record *rec)
{
	size_t lo = 0, hi = rw->nrecs;

	/* Records are in offset order (a PACKAGED command comes before
	 * the records in its blob). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rw->recs[mid]->offset < rec->offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < rw->nrecs && rw->recs[lo]->offset == rec->offset; lo++)
		if (rw->recs[lo] == rec)
			return (long)lo;
	return -1;
}

static bool inside(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a >= b && a - b <= blen && alen <= blen - (a - b);
}

/*
 * Adds an edit.  A removal or replacement inside an earlier removal is
 * dropped; one around earlier edits replaces them; a partial overlap is
 * an error.  An insertion goes with its owner.
 */
static int add_edit(struct mig_rewrite *rw, uint64_t off, uint64_t len,
		    const void *data, size_t dlen, uint64_t owner_off,
		    uint64_t owner_len, struct mig_error *err)
{
	struct edit *e;
	size_t i = 0;

	if (off < rw->start || off > rw->end || len > rw->end - off)
		return mig_error_set(err, MIG_EINVAL, off,
				     "edit of %" PRIu64 " bytes outside the stream",
				     len);
	while (i < rw->nedits) {
		struct edit *x = &rw->edits[i];

		if (len == 0) {
			/* An insertion: dropped when its owner is removed. */
			if (x->len && inside(owner_off, owner_len, x->off,
					     x->len))
				return 0;
			i++;
			continue;
		}
		if (x->len == 0) {
			if (inside(x->owner_off, x->owner_len, off, len)) {
				free(x->data);
				*x = rw->edits[--rw->nedits];
				continue;
			}
			i++;
			continue;
		}
		if (x->off == off && x->len == len) {
			/* The same bytes again: removal wins, else the
			 * later replacement. */
			uint8_t *d = NULL;

			if (!x->dlen)
				return 0;
			if (dlen && !(d = malloc(dlen)))
				return nomem(err);
			if (dlen)
				memcpy(d, data, dlen);
			free(x->data);
			x->data = d;
			x->dlen = dlen;
			return 0;
		}
		if (inside(off, len, x->off, x->len) && !x->dlen)
			return 0;
		if (inside(x->off, x->len, off, len) && !dlen) {
			free(x->data);
			*x = rw->edits[--rw->nedits];
			continue;
		}
		if (off < x->off + x->len && x->off < off + len)
			return mig_error_set(err, MIG_EINVAL, off,
					     "edit of %" PRIu64 " bytes at 0x%" PRIx64 " overlaps one of %" PRIu64 " bytes at 0x%" PRIx64,
					     len, off, x->len, x->off);
		i++;
	}
	if (rw->nedits == rw->cap) {
		size_t ncap = rw->cap ? rw->cap * 2 : 16;
		struct edit *ne = realloc(rw->edits, ncap * sizeof(*ne));

		if (!ne)
			return nomem(err);
		rw->edits = ne;
		rw->cap = ncap;
	}
	e = &rw->edits[rw->nedits];
	memset(e, 0, sizeof(*e));
	if (dlen) {
		e->data = malloc(dlen);
		if (!e->data)
			return nomem(err);
		memcpy(e->data, data, dlen);
	}
	e->off = off;
	e->len = len;
	e->dlen = dlen;
	e->owner_off = len ? off : owner_off;
	e->owner_len = len ? len : owner_len;
	e->seq = rw->seq++;
	rw->nedits++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Matching tree nodes with vmdesc entries                             */

static int vparse(struct mig_rewrite *rw, struct mig_error *err)
{
	struct jparse p = { 0 };
	int ret;

	if (rw->vparsed)
		return rw->vroot ? 0 : -MIG_EVMDESC;
	rw->vparsed = true;
	if (!rw->vtext)
		return 0;
	p.t = rw->vtext;
	p.len = rw->vlen;
	ret = jvalue(&p, NULL, 0, &rw->vroot);
	if (ret == -2)
		return nomem(err);
	if (ret || rw->vroot->type != 'o')
		return mig_error_set(err, MIG_EVMDESC,
				     rw->s->vmdesc_offset + 5 + p.pos,
				     "vmdesc text cannot be followed for rewriting");
	return 0;
}


/* The device entry of section @rec (the first that matches, as vmdesc.c). */
static struct jnode *device_entry(struct mig_rewrite *rw,
				  const struct mig_record *rec)
{
	struct jnode *devs = jget(rw->vroot, "devices");

	if (!devs || devs->type != 'a' || !rec->name)
		return NULL;
	for (struct jnode *d = devs->child; d; d = d->next) {
		uint64_t inst;

		if (jstr_is(rw->vtext, jget(d, "name"), rec->name) &&
		    jnum(rw->vtext, jget(d, "instance_id"), &inst) &&
		    inst == rec->instance)
			return d;
	}
	return NULL;
}

/* Every node of one section with the vmdesc entry it was decoded from. */
struct nmap_ent {
	const struct mig_node *node;
	struct jnode *entry;
};

struct nmap {
	const char *t;
	struct nmap_ent *v;
	size_t n, cap;
	bool failed;		/* out of memory */
	bool mismatch;		/* tree and vmdesc do not walk alike */
};

static void map_add(struct nmap *m, const struct mig_node *node,
		    struct jnode *entry)
{
	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 256;
		struct nmap_ent *v = realloc(m->v, ncap * sizeof(*v));

		if (!v) {
			m->failed = true;
			return;
		}
		m->v = v;
		m->cap = ncap;
	}
	m->v[m->n].node = node;
	m->v[m->n].entry = entry;
	m->n++;
}

static void map_desc(struct nmap *m, const struct mig_node *parent,
		     struct jnode *desc, int depth);

/* The children of @node, which was decoded with field entry @f. */
static void map_value(struct nmap *m, const struct mig_node *node,
		      struct jnode *f, int depth)
{
	if (jstr_is(m->t, jget(f, "type"), "struct")) {
		map_desc(m, node, jget(f, "struct"), depth + 1);
	} else if (jstr_is(m->t, jget(f, "type"), "tmp") ||
		   jstr_is(m->t, jget(f, "type"), "vstruct")) {
		map_desc(m, node, f, depth + 1);
	} else if (jstr_is(m->t, jget(f, "type"), "qtailq") ||
		   jstr_is(m->t, jget(f, "type"), "qlist")) {
		for (const struct mig_node *el = node->child; el;
		     el = el->next) {
			map_add(m, el, f);
			map_desc(m, el, f, depth + 1);
		}
	}
}

/* As vmdesc.c's decode_vmsd(): fields, then subsections. */
static void map_desc(struct nmap *m, const struct mig_node *parent,
		     struct jnode *desc, int depth)
{
	struct jnode *fields = jget(desc, "fields");
	struct jnode *subs = jget(desc, "subsections");
	const struct mig_node *child = parent->child;

	if (!desc || depth > MIG_DEPTH_MAX + 2) {
		m->mismatch = true;
		return;
	}
	for (struct jnode *f = fields && fields->type == 'a' ? fields->child
							     : NULL;
	     f; f = f->next, child = child->next) {
		if (!child || child->kind != MIG_NODE_FIELD) {
			m->mismatch = true;
			return;
		}
		map_add(m, child, f);
		if (jget(f, "array_len")) {
			for (const struct mig_node *el = child->child; el;
			     el = el->next) {
				map_add(m, el, f);
				map_value(m, el, f, depth);
			}
		} else {
			map_value(m, child, f, depth);
		}
	}
	for (struct jnode *s = subs && subs->type == 'a' ? subs->child : NULL;
	     s; s = s->next, child = child->next) {
		if (!child || child->kind != MIG_NODE_SUBSECTION) {
			m->mismatch = true;
			return;
		}
		map_add(m, child, s);
		map_desc(m, child, s, depth + 1);
	}
}

static int cmp_ent(const void *a, const void *b)
{
	const struct nmap_ent *x = a, *y = b;
	uintptr_t p = (uintptr_t)x->node, q = (uintptr_t)y->node;

	return p < q ? -1 : p > q;
}

static struct jnode *map_find(const struct nmap *m,
			      const struct mig_node *node)
{
	struct nmap_ent key = { node, NULL };
	const struct nmap_ent *e;

	if (!m->n)
		return NULL;
	e = bsearch(&key, m->v, m->n, sizeof(*m->v), cmp_ent);
	return e ? e->entry : NULL;
}

/*
 * Maps the tree of @rec onto its device entry *@dev.  -MIG_EUNSUP when
 * the two do not walk alike (the tree did not come from this vmdesc).
 */
static int map_section(struct mig_rewrite *rw, const struct mig_record *rec,
		       struct nmap *m, struct jnode **dev,
		       struct mig_error *err)
{
	memset(m, 0, sizeof(*m));
	m->t = rw->vtext;
	*dev = device_entry(rw, rec);
	if (!*dev)
		return mig_error_set(err, MIG_EUNSUP, rec->offset,
				     "section '%s' (instance %" PRIu32 ") has no vmdesc entry to change",
				     rec->name, rec->instance);
	map_desc(m, rec->tree, *dev, 0);
	if (m->failed) {
		free(m->v);
		return nomem(err);
	}
	if (m->mismatch) {
		free(m->v);
		m->v = NULL;
		return mig_error_set(err, MIG_EUNSUP, rec->offset,
				     "section '%s': its tree and its vmdesc entry do not match",
				     rec->name);
	}
	if (m->n)
		qsort(m->v, m->n, sizeof(*m->v), cmp_ent);
	return 0;
}

static void shrink(struct jnode *num, uint64_t by)
{
	if (!num || num->type != 'n' || !by)
		return;
	num->shrink += by;
	jdirty(num);
}

static const char *node_label(const struct mig_node *n)
{
	return n->name ? n->name : "element";
}

/*
 * Every struct around @from (up to the section) is @delta bytes shorter:
 * their vmdesc "size" says so.
 */
static int shrink_sizes(const struct mig_record *rec, const struct nmap *m,
			struct jnode *dev,
			const struct mig_node *from, uint64_t delta,
			struct mig_error *err)
{
	for (const struct mig_node *a = from; a; a = a->parent) {
		struct jnode *e;

		if (a->kind == MIG_NODE_SECTION) {
			/* A legacy section lists its payload size too. */
			shrink(jget(dev, "size"), delta);
			break;
		}
		if (a->kind == MIG_NODE_SUBSECTION)
			continue;
		e = map_find(m, a);
		if (!e)
			return mig_error_set(err, MIG_EUNSUP, a->offset,
					     "section '%s': no vmdesc entry for '%s'",
					     rec->name, node_label(a));
		if (a->kind == MIG_NODE_ELEMENT) {
			if (jget(e, "array_len"))
				return mig_error_set(err, MIG_EUNSUP, a->offset,
						     "section '%s': a cut inside one element of '%s', an array the vmdesc describes once",
						     rec->name,
						     a->parent
							     ? node_label(a->parent)
							     : "?");
			/* A list element: the vmdesc sizes the first
			 * element only, not the field. */
			continue;
		}
		if (jget(e, "array_len"))
			return mig_error_set(err, MIG_EUNSUP, a->offset,
					     "section '%s': a cut inside array '%s', which the vmdesc describes once",
					     rec->name, node_label(a));
		shrink(jget(e, "size"), delta);
	}
	return 0;
}

/* True when @node is in the tree of @rec. */
static bool in_tree(const struct mig_record *rec, const struct mig_node *node)
{
	const struct mig_node *n = node;

	while (n->parent)
		n = n->parent;
	return rec->tree && n == rec->tree;
}

static int check_section(struct mig_rewrite *rw, const struct mig_record *rec,
			 struct mig_error *err)
{
	if (!rec || rec_index(rw, rec) < 0)
		return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				     "record not in the stream being rewritten");
	if (rec->type != MIG_REC_FULL && rec->type != MIG_REC_START &&
	    rec->type != MIG_REC_PART && rec->type != MIG_REC_END)
		return mig_error_set(err, MIG_EINVAL, rec->offset,
				     "record at 0x%" PRIx64 " is not a section",
				     rec->offset);
	return 0;
}

/*
 * The vmdesc side of a cut of @len bytes: @node's entry removed (@whole)
 * or its size shrunk, and the sizes around it.
 */
static int vmdesc_cut(struct mig_rewrite *rw, const struct mig_record *rec,
		      const struct mig_node *node, bool whole, uint64_t len,
		      struct mig_error *err)
{
	struct jnode *dev, *e;
	const struct mig_node *from;
	struct nmap m;
	int ret;

	if (!rw->keep_vmdesc || !rw->vtext)
		return 0;
	ret = vparse(rw, err);
	if (ret)
		return ret;
	/* A section the vmdesc does not describe: nothing in it to keep in
	 * step. */
	if (!device_entry(rw, rec))
		return 0;
	ret = map_section(rw, rec, &m, &dev, err);
	if (ret)
		return ret;
	e = map_find(&m, node);
	if (!e) {
		ret = mig_error_set(err, MIG_EUNSUP, node->offset,
				    "section '%s': no vmdesc entry for '%s'",
				    rec->name, node_label(node));
		goto out;
	}
	from = node;
	if (whole && node->kind == MIG_NODE_SUBSECTION) {
		struct jnode *arr = e->parent;
		bool left = false;

		jremove(e);
		for (struct jnode *c = arr->child; c; c = c->next)
			left |= !c->removed;
		/* QEMU writes "subsections" only when one was sent. */
		if (!left && arr->key)
			jremove(arr);
		from = node->parent;
	} else if (whole && node->kind == MIG_NODE_FIELD) {
		jremove(e);
		from = node->parent;
	} else if (whole) {
		/* An element: of an array (one fewer), or of a list. */
		if (jget(e, "array_len")) {
			shrink(jget(e, "array_len"), 1);
			from = node->parent ? node->parent->parent : NULL;
		} else {
			from = node->parent;
		}
	}
	ret = shrink_sizes(rec, &m, dev, from, len, err);
out:
	free(m.v);
	return ret;
}

/*
 * True when @node (of a tree the caller decoded, not the parser's) lies in
 * the payload of @rec and the vmdesc does not describe @rec: its bytes can
 * be cut with nothing else to change.
 */
static bool plain_node(struct mig_rewrite *rw, const struct mig_record *rec,
		       const struct mig_node *node)
{
	if (rec->tree || node->offset < rec->payload_offset ||
	    node->offset - rec->payload_offset > rec->payload_size ||
	    node->size > rec->payload_size -
				 (node->offset - rec->payload_offset))
		return false;
	if (!rw->vtext)
		return true;
	return !vparse(rw, NULL) && !device_entry(rw, rec);
}

int mig_rewrite_cut(struct mig_rewrite *rw, const struct mig_record *rec,
		    const struct mig_node *node, struct mig_error *err)
{
	int ret = check_section(rw, rec, err);

	if (ret)
		return ret;
	if (node && node->kind != MIG_NODE_SECTION && !in_tree(rec, node) &&
	    plain_node(rw, rec, node))
		return add_edit(rw, node->offset, node->size, NULL, 0, 0, 0,
				err);
	if (!node || node->kind == MIG_NODE_SECTION || !in_tree(rec, node))
		return mig_error_set(err, MIG_EINVAL, rec->offset,
				     "section '%s': the node to cut is not a field, element or subsection of it",
				     rec->name);
	ret = vmdesc_cut(rw, rec, node, true, node->size, err);
	if (ret)
		return ret;
	return add_edit(rw, node->offset, node->size, NULL, 0, 0, 0, err);
}

int mig_rewrite_cut_range(struct mig_rewrite *rw, const struct mig_record *rec,
			  const struct mig_node *node, uint64_t off,
			  uint64_t len, struct mig_error *err)
{
	int ret = check_section(rw, rec, err);

	if (ret)
		return ret;
	if (!node || node->child ||
	    (!in_tree(rec, node) && !plain_node(rw, rec, node)) ||
	    node->kind == MIG_NODE_SECTION ||
	    node->kind == MIG_NODE_SUBSECTION)
		return mig_error_set(err, MIG_EINVAL, rec->offset,
				     "section '%s': a range can be cut only inside a leaf field",
				     rec->name);
	if (off < node->offset || off - node->offset > node->size ||
	    len > node->size - (off - node->offset))
		return mig_error_set(err, MIG_EINVAL, off,
				     "section '%s': %" PRIu64 " bytes at 0x%" PRIx64 " are not inside field '%s'",
				     rec->name, len, off, node_label(node));
	if (!len)
		return 0;
	if (in_tree(rec, node))
		ret = vmdesc_cut(rw, rec, node, false, len, err);
	if (ret)
		return ret;
	return add_edit(rw, off, len, NULL, 0, 0, 0, err);
}

int mig_rewrite_drop(struct mig_rewrite *rw, const struct mig_record *rec,
		     struct mig_error *err)
{
	long i = rec ? rec_index(rw, rec) : -1;
	int ret;

	if (i < 0)
		return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				     "record not in the stream being rewritten");
	if (rec->type == MIG_REC_EOF)
		return mig_error_set(err, MIG_EINVAL, rec->offset,
				     "the EOF record cannot be dropped");
	if (rec->type == MIG_REC_FULL && rw->vtext) {
		struct jnode *dev;

		ret = vparse(rw, err);
		if (ret)
			return ret;
		dev = device_entry(rw, rec);
		if (dev)
			jremove(dev);
	}
	ret = add_edit(rw, rec->offset, rec->size, NULL, 0, 0, 0, err);
	if (!ret)
		rw->dropped[i] = true;
	return ret;
}

int mig_rewrite_set_version(struct mig_rewrite *rw,
			    const struct mig_record *rec, uint32_t version,
			    struct mig_error *err)
{
	uint8_t be[4] = { version >> 24, version >> 16, version >> 8, version };
	uint64_t at;
	int ret = check_section(rw, rec, err);

	if (ret)
		return ret;
	if (rec->type != MIG_REC_FULL && rec->type != MIG_REC_START)
		return mig_error_set(err, MIG_EINVAL, rec->offset,
				     "only a START or FULL section header carries a version");
	at = rec->offset + 1 + 4 + 1 + strlen(rec->name) + 4;
	if (rec->type == MIG_REC_FULL && rw->vtext) {
		struct jnode *dev, *v;

		ret = vparse(rw, err);
		if (ret)
			return ret;
		dev = device_entry(rw, rec);
		v = dev ? jget(dev, "version") : NULL;
		if (v && v->type == 'n') {
			v->has_set = true;
			v->set = version;
			jdirty(v);
		}
	}
	if (version == rec->version)
		return 0;
	return add_edit(rw, at, 4, be, 4, 0, 0, err);
}

int mig_rewrite_set_footers(struct mig_rewrite *rw, bool on,
			    struct mig_error *err)
{
	(void)err;
	rw->footers = on == rw->s->footers ? -1 : on;
	return 0;
}

int mig_rewrite_set_config(struct mig_rewrite *rw, const char *machine,
			   struct mig_error *err)
{
	const struct mig_stream *s = rw->s;

	if (!machine) {
		rw->config = s->has_config ? 0 : -1;
		if (s->has_config && rw->vtext) {
			struct jnode *c;
			int ret = vparse(rw, err);

			if (ret)
				return ret;
			c = jget(rw->vroot, "configuration");
			if (c)
				jremove(c);
		}
		return 0;
	}
	if (!*machine || strlen(machine) > 255)
		return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				     "machine type name '%s' is not 1 to 255 bytes",
				     machine);
	if (s->has_config) {
		if (strcmp(machine, s->machine))
			return mig_error_set(err, MIG_EINVAL, s->config_offset,
					     "the stream is of machine type '%s', not '%s'",
					     s->machine, machine);
		rw->config = -1;
		return 0;
	}
	free(rw->config_machine);
	rw->config_machine = strdup(machine);
	if (!rw->config_machine)
		return nomem(err);
	rw->config = 1;
	return 0;
}

int mig_rewrite_set_vmdesc(struct mig_rewrite *rw, bool keep,
			   struct mig_error *err)
{
	(void)err;
	rw->keep_vmdesc = keep;
	return 0;
}

bool mig_rewrite_dropped(const struct mig_rewrite *rw,
			 const struct mig_record *rec)
{
	long i = rec_index(rw, rec);

	return i >= 0 && rw->dropped[i];
}

int mig_rewrite_footers(const struct mig_rewrite *rw)
{
	return rw->footers;
}

int mig_rewrite_config(const struct mig_rewrite *rw)
{
	return rw->config;
}

bool mig_rewrite_vmdesc_changed(struct mig_rewrite *rw)
{
	if (!rw->vtext)
		return false;
	if (!rw->keep_vmdesc)
		return true;
	return !vparse(rw, NULL) && rw->vroot->dirty;
}

int mig_rewrite_vmdesc_text(struct mig_rewrite *rw, char **out, size_t *len,
			    struct mig_error *err)
{
	struct sbuf b = { 0 };
	int ret;

	*out = NULL;
	*len = 0;
	if (!rw->vtext || !rw->keep_vmdesc)
		return 0;
	ret = vparse(rw, err);
	if (ret)
		return ret;
	if (!rw->vroot->dirty) {
		b.p = malloc(rw->vlen + 1);
		if (!b.p)
			return nomem(err);
		memcpy(b.p, rw->vtext, rw->vlen);
		b.len = rw->vlen;
	} else {
		jrender(rw->vtext, rw->vroot, &b);
		sb_put(&b, "", 1);
		if (b.failed) {
			free(b.p);
			return nomem(err);
		}
		b.len--;
	}
	b.p[b.len] = '\0';
	*out = b.p;
	*len = b.len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Building the full edit list                                         */

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int cmp_edit(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;

	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	/* At one offset: insertions first, in the order they were made. */
	if ((x->len == 0) != (y->len == 0))
		return x->len == 0 ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A copy of @rw's edit list in *@tmp, to add the derived edits to. */
static int clone_edits(const struct mig_rewrite *rw, struct mig_rewrite *tmp,
		       struct mig_error *err)
{
	*tmp = *rw;
	tmp->edits = calloc(rw->nedits + 16, sizeof(*tmp->edits));
	tmp->cap = rw->nedits + 16;
	tmp->nedits = 0;
	if (!tmp->edits)
		return nomem(err);
	for (size_t i = 0; i < rw->nedits; i++) {
		struct edit *e = &tmp->edits[i];

		*e = rw->edits[i];
		e->data = NULL;
		if (e->dlen) {
			e->data = malloc(e->dlen);
			if (!e->data) {
				tmp->nedits = i;
				return nomem(err);
			}
			memcpy(e->data, rw->edits[i].data, e->dlen);
		}
		tmp->nedits = i + 1;
	}
	return 0;
}

static void free_edits(struct edit *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].data);
	free(e);
}

static bool is_section(const struct mig_record *rec)
{
	return rec->type == MIG_REC_START || rec->type == MIG_REC_PART ||
	       rec->type == MIG_REC_END || rec->type == MIG_REC_FULL;
}

/*
 * The full, sorted edit list of @rw: its own edits and what follows from
 * the plan (configuration, footers, vmdesc, PACKAGED lengths).  With
 * @preview, the RAM chunks after the block list are left out too.
 */
static int build(struct mig_rewrite *rw, bool preview, struct edit **out,
		 size_t *n, struct mig_error *err)
{
	const struct mig_stream *s = rw->s;
	struct mig_rewrite tmp;
	int ret;

	*out = NULL;
	*n = 0;
	ret = clone_edits(rw, &tmp, err);
	if (ret)
		goto out_free;
	if (preview) {
		for (size_t i = 0; i < rw->nrecs && !ret; i++) {
			const struct mig_record *rec = rw->recs[i];

			if (rec->kind == MIG_SEC_RAM &&
			    (rec->type == MIG_REC_PART ||
			     rec->type == MIG_REC_END) &&
			    !rw->dropped[i])
				ret = add_edit(&tmp, rec->offset, rec->size,
					       NULL, 0, 0, 0, err);
		}
	}
	if (!ret && rw->config == 0 && s->has_config) {
		uint64_t end = s->records ? s->records->offset : s->end;

		ret = add_edit(&tmp, s->config_offset, end - s->config_offset,
			       NULL, 0, 0, 0, err);
	} else if (!ret && rw->config == 1) {
		size_t len = strlen(rw->config_machine);
		uint8_t rec[5 + 255];

		rec[0] = MIG_REC_CONFIG;
		put_be32(rec + 1, (uint32_t)len);
		memcpy(rec + 5, rw->config_machine, len);
		ret = add_edit(&tmp, rw->start + 8, 0, rec, 5 + len,
			       rw->start, 8, err);
	}
	for (size_t i = 0; i < rw->nrecs && !ret && rw->footers >= 0; i++) {
		const struct mig_record *rec = rw->recs[i];
		uint64_t end = rec->offset + rec->size;

		if (!is_section(rec) || rw->dropped[i])
			continue;
		if (rw->footers == 1 && !rec->has_footer) {
			uint8_t f[5];

			f[0] = MIG_REC_FOOTER;
			put_be32(f + 1, rec->section_id);
			ret = add_edit(&tmp, end, 0, f, 5, rec->offset,
				       rec->size, err);
		} else if (rw->footers == 0 && rec->has_footer) {
			ret = add_edit(&tmp, end - 5, 5, NULL, 0, 0, 0, err);
		}
	}
	if (!ret && s->has_vmdesc) {
		uint64_t at = s->vmdesc_offset;

		if (!rw->keep_vmdesc) {
			ret = add_edit(&tmp, at, 5 + s->vmdesc_size, NULL, 0,
				       0, 0, err);
		} else {
			ret = vparse(rw, err);
			if (!ret && rw->vroot->dirty) {
				struct sbuf b = { 0 };
				uint8_t len[4];

				jrender(rw->vtext, rw->vroot, &b);
				if (b.failed || b.len > UINT32_MAX) {
					free(b.p);
					ret = nomem(err);
				} else {
					put_be32(len, (uint32_t)b.len);
					ret = add_edit(&tmp, at + 1, 4, len, 4,
						       0, 0, err);
					if (!ret)
						ret = add_edit(&tmp, at + 5,
							       s->vmdesc_size,
							       b.p, b.len, 0,
							       0, err);
					free(b.p);
				}
			}
		}
	}
	/* PACKAGED blobs whose contents changed size. */
	for (size_t i = 0; i < rw->nrecs && !ret; i++) {
		const struct mig_record *rec = rw->recs[i];
		uint64_t b0 = rec->offset + 9, blen;
		int64_t delta = 0;
		uint8_t len[4];

		if (rec->type != MIG_REC_COMMAND ||
		    rec->cmd != MIG_CMD_PACKAGED || rw->dropped[i] ||
		    rec->size < 9)
			continue;
		blen = rec->size - 9;
		for (size_t k = 0; k < tmp.nedits; k++) {
			const struct edit *e = &tmp.edits[k];

			if (e->len ? inside(e->off, e->len, b0, blen)
				   : inside(e->owner_off, e->owner_len, b0,
					    blen))
				delta += (int64_t)e->dlen - (int64_t)e->len;
		}
		if (!delta)
			continue;
		if ((int64_t)blen + delta < 0 ||
		    (uint64_t)((int64_t)blen + delta) > UINT32_MAX) {
			ret = mig_error_set(err, MIG_ELIMIT, rec->offset,
					    "packaged blob would be %" PRId64 " bytes",
					    (int64_t)blen + delta);
			break;
		}
		put_be32(len, (uint32_t)((int64_t)blen + delta));
		ret = add_edit(&tmp, rec->offset + 5, 4, len, 4, 0, 0, err);
	}
	if (ret)
		goto out_free;
	qsort(tmp.edits, tmp.nedits, sizeof(*tmp.edits), cmp_edit);
	*out = tmp.edits;
	*n = tmp.nedits;
	return 0;
out_free:
	free_edits(tmp.edits, tmp.nedits);
	return ret;
}

bool mig_rewrite_empty(const struct mig_rewrite *rw)
{
	struct edit *e;
	size_t n;

	/* build() only reads @rw (the vmdesc may get parsed). */
	if (build((struct mig_rewrite *)rw, false, &e, &n, NULL))
		return false;
	free_edits(e, n);
	return n == 0;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

struct seg {
	uint64_t out;		/* offset in the output */
	uint64_t in;		/* input offset (added: where they went) */
	uint64_t len;
	bool added;
};

struct mig_offmap {
	struct seg *v;
	size_t n, cap;
	bool failed;
};

static void seg_add(struct mig_offmap *m, uint64_t out, uint64_t in,
		    uint64_t len, bool added)
{
	if (!m || !len)
		return;
	if (m->n && !added && !m->v[m->n - 1].added &&
	    m->v[m->n - 1].out + m->v[m->n - 1].len == out &&
	    m->v[m->n - 1].in + m->v[m->n - 1].len == in) {
		m->v[m->n - 1].len += len;
		return;
	}
	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		struct seg *v = realloc(m->v, ncap * sizeof(*v));

		if (!v) {
			m->failed = true;
			return;
		}
		m->v = v;
		m->cap = ncap;
	}
	m->v[m->n].out = out;
	m->v[m->n].in = in;
	m->v[m->n].len = len;
	m->v[m->n].added = added;
	m->n++;
}

uint64_t mig_offmap_input(const struct mig_offmap *m, uint64_t out_off)
{
	size_t lo = 0, hi;

	if (!m || !m->n || out_off == MIG_NO_OFFSET)
		return MIG_NO_OFFSET;
	hi = m->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].out <= out_off)
			lo = mid;
		else
			hi = mid;
	}
	if (out_off < m->v[lo].out)
		return m->v[lo].in;
	if (m->v[lo].added)
		return m->v[lo].in;
	if (out_off - m->v[lo].out >= m->v[lo].len)
		return m->v[lo].in + m->v[lo].len;
	return m->v[lo].in + (out_off - m->v[lo].out);
}

uint64_t mig_offmap_output(const struct mig_offmap *m, uint64_t in_off)
{
	if (!m || in_off == MIG_NO_OFFSET)
		return MIG_NO_OFFSET;
	for (size_t i = 0; i < m->n; i++) {
		const struct seg *g = &m->v[i];

		if (g->added)
			continue;
		if (in_off < g->in)
			return g->out;
		if (in_off - g->in < g->len)
			return g->out + (in_off - g->in);
	}
	return m->n ? m->v[m->n - 1].out + m->v[m->n - 1].len : MIG_NO_OFFSET;
}

void mig_offmap_free(struct mig_offmap *m)
{
	if (!m)
		return;
	free(m->v);
	free(m);
}

/* Copies @n input bytes at the cursor to @w. */
static int copy(struct mig_reader *r, uint64_t n, struct mig_writer *w,
		struct mig_error *err)
{
	while (n) {
		size_t step = n < COPY_CHUNK ? (size_t)n : COPY_CHUNK;
		const uint8_t *p;
		int ret = mig_rd_peek(r, step, &p, err);

		if (!ret)
			ret = mig_writer_write(w, p, step, err);
		if (!ret)
			ret = mig_rd_skip(r, step, err);
		if (ret)
			return ret;
		n -= step;
	}
	return 0;
}

/*
 * Writes input [@from, @to) from @r with @edits (sorted) applied; the
 * map, when given, gets a segment for each piece (output offsets from
 * @out0).
 */
static int apply(struct mig_reader *r, uint64_t from, uint64_t to,
		 const struct edit *edits, size_t n, struct mig_writer *w,
		 struct mig_offmap *map, uint64_t out0, struct mig_error *err)
{
	uint64_t pos = from, out = out0;
	int ret = mig_rd_seek(r, from, err);

	for (size_t i = 0; i < n && !ret; i++) {
		const struct edit *e = &edits[i];

		/* Edits of what lies outside (an insertion belongs where
		 * its owner is). */
		if (e->off < from || e->off + e->len > to ||
		    (!e->len && e->owner_off < from))
			continue;
		if (e->off < pos)
			return mig_error_set(err, MIG_EINVAL, e->off,
					     "edits overlap at 0x%" PRIx64,
					     e->off);
		ret = copy(r, e->off - pos, w, err);
		seg_add(map, out, pos, e->off - pos, false);
		out += e->off - pos;
		if (!ret)
			ret = mig_writer_write(w, e->data, e->dlen, err);
		seg_add(map, out, e->off, e->dlen, true);
		out += e->dlen;
		if (!ret)
			ret = mig_rd_skip(r, e->len, err);
		pos = e->off + e->len;
	}
	if (!ret)
		ret = copy(r, to - pos, w, err);
	seg_add(map, out, pos, to - pos, false);
	if (!ret && map && map->failed)
		ret = nomem(err);
	return ret;
}

int mig_rewrite_write(struct mig_rewrite *rw, struct mig_reader *r,
		      struct mig_writer *w, struct mig_error *err)
{
	struct edit *e;
	size_t n;
	int ret;

	if (!mig_rd_seekable(r))
		return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				     "rewriting a file needs an input it can read twice");
	ret = build(rw, false, &e, &n, err);
	if (ret)
		return ret;
	ret = apply(r, rw->start, rw->end, e, n, w, NULL, 0, err);
	free_edits(e, n);
	return ret;
}

/* Writes all of @p to @fd. */
static int fd_write(int fd, const uint8_t *p, size_t n, struct mig_error *err)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return mig_error_set(err, MIG_EIO, MIG_NO_OFFSET,
					     "cannot write the output: %s",
					     k < 0 ? strerror(errno)
						   : "no progress");
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/*
 * Copies input [@off, @off + @n) to @out_fd: by the kernel while it can,
 * the rest through @r.
 */
static int fd_copy(struct mig_reader *r, int in_fd, int out_fd, uint64_t off,
		   uint64_t n, bool *kernel, struct mig_error *err)
{
	loff_t at = (loff_t)off;
	int ret;

	while (n && *kernel) {
		size_t step = n < (1ull << 30) ? (size_t)n : (1u << 30);
		ssize_t k = copy_file_range(in_fd, &at, out_fd, NULL, step, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			/* Another file system, or none that can: by hand. */
			if (k < 0 && errno != EXDEV && errno != EINVAL &&
			    errno != ENOSYS && errno != EOPNOTSUPP &&
			    errno != EBADF)
				return mig_error_set(err, MIG_EIO, off,
						     "cannot copy to the output: %s",
						     strerror(errno));
			*kernel = false;
			break;
		}
		n -= (uint64_t)k;
	}
	off = (uint64_t)at;
	ret = n ? mig_rd_seek(r, off, err) : 0;
	while (n && !ret) {
		size_t step = n < COPY_CHUNK ? (size_t)n : COPY_CHUNK;
		const uint8_t *p;

		ret = mig_rd_peek(r, step, &p, err);
		if (!ret)
			ret = fd_write(out_fd, p, step, err);
		if (!ret)
			ret = mig_rd_skip(r, step, err);
		n -= step;
	}
	return ret;
}

uint64_t mig_rewrite_first_change(struct mig_rewrite *rw)
{
	uint64_t first = MIG_NO_OFFSET;
	struct edit *e;
	size_t n;

	if (build(rw, false, &e, &n, NULL))
		return rw->start;
	if (n)
		first = e[0].off;
	free_edits(e, n);
	return first;
}

uint64_t mig_rewrite_start(const struct mig_rewrite *rw)
{
	return rw->start;
}

uint64_t mig_rewrite_end(const struct mig_rewrite *rw)
{
	return rw->end;
}

int mig_rewrite_write_fd(struct mig_rewrite *rw, struct mig_reader *r,
			 int in_fd, int out_fd, uint64_t from,
			 uint64_t *written, struct mig_error *err)
{
	uint64_t pos = from, out = 0;
	bool kernel = true;
	struct edit *e;
	size_t n;
	int ret;

	*written = 0;
	ret = build(rw, false, &e, &n, err);
	if (ret)
		return ret;
	if (from < rw->start || from > rw->end || (n && from > e[0].off)) {
		free_edits(e, n);
		return mig_error_set(err, MIG_EINVAL, from,
				     "output from 0x%" PRIx64 " on: the plan changes bytes before it",
				     from);
	}
	for (size_t i = 0; i < n && !ret; i++) {
		if (e[i].off < pos) {
			ret = mig_error_set(err, MIG_EINVAL, e[i].off,
					    "edits overlap at 0x%" PRIx64,
					    e[i].off);
			break;
		}
		ret = fd_copy(r, in_fd, out_fd, pos, e[i].off - pos, &kernel,
			      err);
		out += e[i].off - pos;
		if (!ret)
			ret = fd_write(out_fd, e[i].data, e[i].dlen, err);
		out += e[i].dlen;
		pos = e[i].off + e[i].len;
	}
	if (!ret)
		ret = fd_copy(r, in_fd, out_fd, pos, rw->end - pos, &kernel,
			      err);
	out += rw->end - pos;
	free_edits(e, n);
	if (!ret)
		*written = out;
	return ret;
}

int mig_rewrite_preview(struct mig_rewrite *rw, struct mig_reader *r,
			struct mig_writer *w, struct mig_offmap **map,
			struct mig_error *err)
{
	struct mig_offmap *m = NULL;
	struct edit *e;
	size_t n;
	int ret;

	if (map) {
		*map = NULL;
		m = calloc(1, sizeof(*m));
		if (!m)
			return nomem(err);
	}
	ret = build(rw, true, &e, &n, err);
	if (!ret) {
		ret = apply(r, rw->start, rw->end, e, n, w, m, 0, err);
		free_edits(e, n);
	}
	if (ret || !map) {
		mig_offmap_free(m);
		return ret;
	}
	*map = m;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Pipes                                                               */

struct pipe {
	struct mig_reader *in;
	struct mig_writer *w;
	const struct mig_pipe_ops *ops;
	struct mig_error *err;
	struct mig_pipe_policy pol;
	/* The pieces a plan needs, back to back, and where they came from. */
	struct sbuf syn;
	struct mig_offmap map;
	/* What the input is like. */
	bool has_config;
	bool footers_known;
	bool footers;
	uint64_t page_size;
	bool have_ram;
	uint32_t ram_id;
	struct ram_state st;
	struct mig_stream *scratch;	/* the RAM block list parse */
	char *caps[64];
	size_t ncaps;
	char machine[256];
	/* What the policy did. */
	uint32_t dropped_cmds;		/* ids dropped at least once */
	bool footers_changed;
};

static int p_nomem(struct pipe *p)
{
	return nomem(p->err);
}

/* Keeps @n input bytes at @p (input offset @off) for the plan. */
static int keep(struct pipe *p, const uint8_t *b, size_t n, uint64_t off)
{
	seg_add(&p->map, p->syn.len, off, n, false);
	sb_put(&p->syn, (const char *)b, n);
	return p->syn.failed || p->map.failed ? p_nomem(p) : 0;
}

static int emit(struct pipe *p, const void *b, size_t n)
{
	return mig_writer_write(p->w, b, n, p->err);
}

/* Reads @n bytes at the cursor into @dst (keeping and emitting is up to
 * the caller). */
static int take(struct pipe *p, uint8_t *dst, size_t n)
{
	return mig_rd_bytes(p->in, dst, n, p->err);
}

static bool printable_name(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] < 0x20 || b[i] > 0x7e)
			return false;
	return n > 0;
}

/* The configuration record at the cursor: kept, not yet emitted. */
static int pipe_config(struct pipe *p, uint8_t **rec, size_t *rec_len)
{
	uint64_t at = mig_rd_offset(p->in);
	struct sbuf b = { 0 };
	uint8_t hdr[5];
	const uint8_t *q;
	uint32_t len;
	int ret;

	*rec = NULL;
	ret = take(p, hdr, 5);
	if (ret)
		return ret;
	len = (uint32_t)hdr[1] << 24 | (uint32_t)hdr[2] << 16 |
	      (uint32_t)hdr[3] << 8 | hdr[4];
	if (len == 0 || len > 255)
		return mig_error_set(p->err, MIG_ECONFIG, at + 1,
				     "machine type name of %" PRIu32 " bytes (expected 1 to 255)",
				     len);
	sb_put(&b, (const char *)hdr, 5);
	ret = mig_rd_peek(p->in, len, &q, p->err);
	if (ret)
		goto out_free;
	if (!printable_name(q, len)) {
		ret = mig_error_set(p->err, MIG_ECONFIG, at + 5,
				    "machine type name is not printable text");
		goto out_free;
	}
	memcpy(p->machine, q, len);
	p->machine[len] = '\0';
	sb_put(&b, (const char *)q, len);
	ret = mig_rd_skip(p->in, len, p->err);
	while (!ret && !mig_rd_at_end(p->in)) {
		uint8_t sh[2], be[4];
		char name[256];
		uint64_t sub_at = mig_rd_offset(p->in);
		uint32_t n;

		ret = mig_rd_peek(p->in, 1, &q, p->err);
		if (ret || q[0] != MIG_REC_SUBSECTION)
			break;
		ret = take(p, sh, 2);
		if (!ret)
			ret = mig_rd_peek(p->in, sh[1], &q, p->err);
		if (ret)
			break;
		memcpy(name, q, sh[1]);
		name[sh[1]] = '\0';
		sb_put(&b, (const char *)sh, 2);
		sb_put(&b, (const char *)q, sh[1]);
		ret = mig_rd_skip(p->in, sh[1], p->err);
		if (!ret)
			ret = take(p, be, 4);
		if (ret)
			break;
		sb_put(&b, (const char *)be, 4);
		if (!strcmp(name, "configuration/target-page-bits")) {
			ret = take(p, be, 4);
			if (ret)
				break;
			n = (uint32_t)be[0] << 24 | (uint32_t)be[1] << 16 |
			    (uint32_t)be[2] << 8 | be[3];
			if (n < 10 || n > 16) {
				ret = mig_error_set(p->err, MIG_ECONFIG,
						    sub_at,
						    "target page bits %" PRIu32 " out of range 10..16",
						    n);
				break;
			}
			p->page_size = 1ull << n;
			sb_put(&b, (const char *)be, 4);
		} else if (!strcmp(name, "configuration/capabilities")) {
			ret = take(p, be, 4);
			if (ret)
				break;
			sb_put(&b, (const char *)be, 4);
			n = (uint32_t)be[0] << 24 | (uint32_t)be[1] << 16 |
			    (uint32_t)be[2] << 8 | be[3];
			if (n > 64) {
				ret = mig_error_set(p->err, MIG_ECONFIG,
						    sub_at, "%" PRIu32 " capabilities (at most 64)",
						    n);
				break;
			}
			for (uint32_t i = 0; i < n && !ret; i++) {
				ret = mig_rd_str8(p->in, name, p->err);
				if (ret)
					break;
				char len8 = (char)strlen(name);

				sb_put(&b, &len8, 1);
				sb_put(&b, name, strlen(name));
				if (!strcmp(name, "x-ignore-shared"))
					p->st.ignore_shared = true;
				else if (!strcmp(name, "mapped-ram"))
					p->st.mapped_ram = true;
				if (p->ncaps < 64 &&
				    !(p->caps[p->ncaps++] = strdup(name)))
					ret = p_nomem(p);
			}
		} else if (!strcmp(name, "configuration/uuid")) {
			uint8_t uuid[16];

			ret = take(p, uuid, 16);
			if (!ret)
				sb_put(&b, (const char *)uuid, 16);
		} else {
			ret = mig_error_set(p->err, MIG_ECONFIG, sub_at,
					    "unknown subsection '%s'", name);
		}
	}
	if (!ret && b.failed)
		ret = p_nomem(p);
	if (ret)
		goto out_free;
	*rec = (uint8_t *)b.p;
	*rec_len = b.len;
	return 0;
out_free:
	free(b.p);
	return ret;
}

/*
 * After a section payload: its footer, if the input has them, kept when
 * @keep_it, and written or left out as the policy says.
 */
static int pipe_footer(struct pipe *p, uint32_t id, bool keep_it)
{
	const uint8_t *q;
	uint64_t at = mig_rd_offset(p->in);
	uint8_t f[5];
	bool has = false;
	int ret;

	if (!p->footers_known || p->footers) {
		if (mig_rd_at_end(p->in))
			return mig_error_set(p->err, MIG_ETRUNC, at,
					     "truncated: the stream ends after a section payload");
		ret = mig_rd_peek(p->in, 1, &q, p->err);
		if (ret)
			return ret;
		if (q[0] == MIG_REC_FOOTER) {
			ret = mig_rd_peek(p->in, 5, &q, p->err);
			if (ret)
				return ret;
			if (((uint32_t)q[1] << 24 | (uint32_t)q[2] << 16 |
			     (uint32_t)q[3] << 8 | q[4]) != id)
				return mig_error_set(p->err, MIG_EFOOTER,
						     at + 1,
						     "mismatched section id in footer: expected 0x%" PRIx32,
						     id);
			has = true;
		} else if (p->footers_known) {
			return mig_error_set(p->err, MIG_EFOOTER, at,
					     "missing section footer (found byte 0x%02x)",
					     q[0]);
		}
		p->footers_known = true;
		p->footers = has;
	}
	if (has) {
		ret = take(p, f, 5);
		if (!ret && keep_it)
			ret = keep(p, f, 5, at);
		if (!ret && p->pol.footers != 0)
			ret = emit(p, f, 5);
		return ret;
	}
	if (p->pol.footers == 1) {
		f[0] = MIG_REC_FOOTER;
		put_be32(f + 1, id);
		return emit(p, f, 5);
	}
	return 0;
}

/* Copies @n bytes at the cursor to the output (and to the plan copy). */
static int pass(struct pipe *p, uint64_t n, bool keep_it)
{
	while (n) {
		size_t step = n < COPY_CHUNK ? (size_t)n : COPY_CHUNK;
		uint64_t at = mig_rd_offset(p->in);
		const uint8_t *q;
		int ret = mig_rd_peek(p->in, step, &q, p->err);

		if (!ret)
			ret = emit(p, q, step);
		if (!ret && keep_it)
			ret = keep(p, q, step, at);
		if (!ret)
			ret = mig_rd_skip(p->in, step, p->err);
		if (ret)
			return ret;
		n -= step;
	}
	return 0;
}

/*
 * The START of "ram": the block list, read with the RAM decoder from a
 * window of the input (it is small), passed through and kept.
 */
static int pipe_ram_start(struct pipe *p, size_t hdr_len, uint32_t id)
{
	struct mig_reader *mr = NULL;
	struct mig_record rec = { 0 };
	struct mig_error local;
	uint64_t at = mig_rd_offset(p->in);
	const uint8_t *q;
	size_t avail = BLOCK_LIST_MAX;
	uint64_t len;
	int ret;

	mig_error_clear(&local);
	ret = mig_rd_peek(p->in, avail, &q, &local);
	if (ret == -MIG_ETRUNC) {
		mig_error_clear(&local);
		ret = mig_rd_rest(p->in, BLOCK_LIST_MAX, &q, &avail, p->err);
	} else if (ret) {
		*p->err = local;
	}
	if (ret)
		return ret;
	if (!p->scratch) {
		p->scratch = calloc(1, sizeof(*p->scratch));
		if (!p->scratch)
			return p_nomem(p);
		p->scratch->page_size = p->page_size;
	}
	ret = mig_reader_from_mem(&mr, q, avail, "-", p->err);
	if (ret)
		return ret;
	rec.type = MIG_REC_START;
	rec.section_id = id;
	rec.name = (char *)"ram";
	ret = mig_rd_skip(mr, hdr_len, p->err);
	if (!ret)
		ret = ram_read_chunk(mr, p->scratch, &p->st, &rec, p->err);
	len = mig_rd_offset(mr);
	mig_reader_free(mr);
	if (ret) {
		if (p->err && p->err->offset != MIG_NO_OFFSET)
			p->err->offset += at;
		return ret;
	}
	if (p->st.mapped_ram)
		return mig_error_set(p->err, MIG_EUNSUP, at,
				     "a mapped-ram stream is a file format (its pages lie at fixed offsets), not something a pipe can carry");
	p->have_ram = true;
	p->ram_id = id;
	ret = pass(p, len, true);
	if (!ret)
		ret = pipe_footer(p, id, true);
	return ret;
}

static uint32_t be32_of(const uint8_t *q)
{
	return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 |
	       (uint32_t)q[2] << 8 | q[3];
}

/* A PART or END chunk of "ram", record by record, straight through. */
static int pipe_ram_chunk(struct pipe *p, uint32_t id)
{
	const uint64_t ps = p->page_size;
	int ret = pass(p, 5, false);

	while (!ret) {
		uint64_t at = mig_rd_offset(p->in);
		const uint8_t *q;
		uint64_t word, n = 8;
		unsigned flags, kind;

		ret = mig_rd_peek(p->in, 8, &q, p->err);
		if (ret)
			break;
		word = (uint64_t)be32_of(q) << 32 | be32_of(q + 4);
		flags = (unsigned)(word & (ps - 1));
		kind = flags & ~RAM_FLAG_CONTINUE;
		if (kind == RAM_FLAG_EOS) {
			ret = pass(p, 8, false);
			break;
		}
		if ((kind == RAM_FLAG_ZERO || kind == RAM_FLAG_PAGE ||
		     kind == RAM_FLAG_XBZRLE ||
		     kind == RAM_FLAG_COMPRESS_PAGE) &&
		    !(flags & RAM_FLAG_CONTINUE)) {
			ret = mig_rd_peek(p->in, 9, &q, p->err);
			if (ret)
				break;
			n += 1 + (uint64_t)q[8];
		}
		switch (kind) {
		case RAM_FLAG_ZERO:
			n += 1;
			break;
		case RAM_FLAG_PAGE:
			n += ps;
			break;
		case RAM_FLAG_XBZRLE:
			ret = mig_rd_peek(p->in, (size_t)n + 3, &q, p->err);
			if (!ret && q[n] != 1)
				ret = mig_error_set(p->err, MIG_ERAM, at + n,
						    "XBZRLE page with encoding byte 0x%02x",
						    q[n]);
			if (!ret)
				n += 3 + ((uint64_t)q[n + 1] << 8 | q[n + 2]);
			break;
		case RAM_FLAG_COMPRESS_PAGE:
			ret = mig_rd_peek(p->in, (size_t)n + 4, &q, p->err);
			if (!ret && be32_of(q + n) > 2 * ps + 1024)
				ret = mig_error_set(p->err, MIG_ERAM, at + n,
						    "compressed page of %" PRIu32 " bytes",
						    be32_of(q + n));
			if (!ret)
				n += 4 + be32_of(q + n);
			break;
		case RAM_FLAG_MULTIFD_FLUSH:
			break;
		case RAM_FLAG_HOOK:
			ret = mig_error_set(p->err, MIG_EUNSUP, at,
					    "RAM hook record (0x%x): RDMA pages travel outside the stream",
					    flags);
			break;
		default:
			ret = mig_error_set(p->err, MIG_ERAM, at,
					    "unknown combination of migration flags: 0x%x",
					    flags);
		}
		if (!ret)
			ret = pass(p, n, false);
	}
	if (!ret)
		ret = pipe_footer(p, id, false);
	return ret;
}

static int pipe_command(struct pipe *p, const uint8_t *hdr)
{
	uint64_t at = mig_rd_offset(p->in);
	uint16_t cmd = (uint16_t)(hdr[1] << 8 | hdr[2]);
	uint16_t len = (uint16_t)(hdr[3] << 8 | hdr[4]);
	bool drop = cmd < 32 && (p->pol.drop_cmds >> cmd & 1);
	const uint8_t *q;
	int ret;

	ret = mig_rd_peek(p->in, 5u + len, &q, p->err);
	if (ret)
		return ret;
	ret = keep(p, q, 5u + len, at);
	if (!ret && cmd == MIG_CMD_POSTCOPY_ADVISE)
		ram_postcopy_advise(&p->st, q + 5, len);
	if (!ret && !drop)
		ret = emit(p, q, 5u + len);
	if (!ret && drop)
		p->dropped_cmds |= 1u << cmd;
	if (!ret)
		ret = mig_rd_skip(p->in, 5u + len, p->err);
	return ret;
}

/* Does the plan do to what went out exactly what the policy did? */
static int pipe_agree(struct pipe *p, const struct mig_stream *s,
		      const struct mig_rewrite *rw, size_t head_len)
{
	int eff_footers = p->pol.footers < 0 ||
					  (p->footers_known &&
					   p->pol.footers == (int)p->footers)
				  ? -1
				  : p->pol.footers;
	int eff_config = -1;

	if (p->pol.config == 0 && p->has_config)
		eff_config = 0;
	else if (p->pol.config == 1 && !p->has_config)
		eff_config = 1;
	if (rw->footers != eff_footers && p->footers_known)
		return mig_error_set(p->err, MIG_EUNSUP, MIG_NO_OFFSET,
				     "the plan changes the section footers after sections went out with them as they were");
	if (rw->config != eff_config)
		return mig_error_set(p->err, MIG_EUNSUP, MIG_NO_OFFSET,
				     "the plan changes the configuration record after it went out");
	for (const struct mig_record *rec = s->records; rec; rec = rec->next) {
		bool dropped;

		if (rec->offset >= head_len)
			break;
		dropped = mig_rewrite_dropped(rw, rec);
		if (rec->type == MIG_REC_COMMAND &&
		    dropped != (rec->cmd < 32 &&
				(p->pol.drop_cmds >> rec->cmd & 1)))
			return mig_error_set(p->err, MIG_EUNSUP,
					     mig_offmap_input(&p->map,
							      rec->offset),
					     "the plan %s command '%s', which already went out %s",
					     dropped ? "drops" : "keeps",
					     mig_cmd_name(rec->cmd)
						     ? mig_cmd_name(rec->cmd)
						     : "?",
					     dropped ? "as it was" : "dropped");
	}
	for (size_t i = 0; i < rw->nedits; i++) {
		const struct edit *e = &rw->edits[i];
		bool cmd = false;

		if (e->off >= head_len)
			continue;
		for (const struct mig_record *rec = s->records; rec;
		     rec = rec->next)
			if (rec->type == MIG_REC_COMMAND &&
			    rec->offset == e->off && rec->size == e->len)
				cmd = true;
		if (!cmd)
			return mig_error_set(p->err, MIG_EUNSUP,
					     mig_offmap_input(&p->map, e->off),
					     "the plan changes bytes that already went out");
	}
	return 0;
}

/* From the record at the cursor on: hold, plan, write. */
static int pipe_hold(struct pipe *p)
{
	const struct mig_pipe_ops *ops = p->ops;
	struct mig_parse_opts popts = { 0 };
	struct mig_reader *mr = NULL;
	struct mig_stream *s = NULL;
	struct mig_rewrite *rw = NULL;
	uint64_t at = mig_rd_offset(p->in);
	uint64_t cap = ops->max_hold ? ops->max_hold : HOLD_MAX;
	size_t head_len = p->syn.len;
	const uint8_t *q;
	struct edit *e = NULL;
	size_t len, n = 0;
	int ret;

	ret = mig_rd_rest(p->in, cap, &q, &len, p->err);
	if (ret == -MIG_ELIMIT)
		mig_error_push_path(p->err,
				    "device state held until the vmdesc arrives");
	if (ret)
		return ret;
	ret = keep(p, q, len, at);
	if (ret)
		return ret;
	ret = mig_reader_from_mem(&mr, p->syn.p, p->syn.len,
				  mig_reader_name(p->in), p->err);
	if (ret)
		return ret;
	if (ops->parse)
		popts = *ops->parse;
	popts.on_page = NULL;
	popts.on_progress = NULL;
	ret = mig_stream_read(mr, &popts, &s, p->err);
	if (ret) {
		if (p->err && p->err->offset != MIG_NO_OFFSET)
			p->err->offset = mig_offmap_input(&p->map,
							  p->err->offset);
		goto out;
	}
	ret = ops->tail(ops->ctx, s, mr, &p->map, &rw, p->err);
	if (ret)
		goto out;
	if (!rw || rw->s != s) {
		ret = mig_error_set(p->err, MIG_EINVAL, MIG_NO_OFFSET,
				    "the tail callback gave no plan over the held stream");
		goto out;
	}
	ret = pipe_agree(p, s, rw, head_len);
	if (!ret)
		ret = build(rw, false, &e, &n, p->err);
	if (!ret)
		ret = apply(mr, head_len, p->syn.len, e, n, p->w, NULL, 0,
			    p->err);
	free_edits(e, n);
out:
	mig_rewrite_free(rw);
	mig_stream_free(s);
	mig_reader_free(mr);
	return ret;
}

int mig_rewrite_pipe(struct mig_reader *in, struct mig_writer *w,
		     const struct mig_pipe_ops *ops, struct mig_error *err)
{
	struct mig_error local;
	struct pipe p = {
		.in = in,
		.w = w,
		.ops = ops,
		.err = err ? err : &local,
		.page_size = 4096,
		.st = { .last = -1 },
		.pol = { .footers = -1, .config = -1 },
	};
	struct mig_pipe_head head = { 0 };
	uint8_t hdr[8], *cfg = NULL;
	size_t cfg_len = 0;
	const uint8_t *q;
	uint64_t at = mig_rd_offset(in);
	int ret;

	mig_error_clear(p.err);
	if (!ops || !ops->head || !ops->tail)
		return mig_error_set(p.err, MIG_EINVAL, MIG_NO_OFFSET,
				     "a pipe rewrite needs head and tail callbacks");
	ret = ram_take_caps(&p.st, ops->parse ? ops->parse->caps : NULL,
			    ops->parse ? ops->parse->ncaps : 0, p.err);
	if (!ret)
		ret = take(&p, hdr, 8);
	if (ret)
		goto out;
	if (be32_of(hdr) != MIG_FILE_MAGIC) {
		ret = mig_error_set(p.err, MIG_EMAGIC, at,
				    "not a migration stream (magic 0x%08" PRIx32 ")",
				    be32_of(hdr));
		goto out;
	}
	if (be32_of(hdr + 4) != MIG_FILE_VERSION) {
		ret = mig_error_set(p.err, MIG_EVERSION, at + 4,
				    "unsupported stream version %" PRIu32 " (expected 3)",
				    be32_of(hdr + 4));
		goto out;
	}
	ret = keep(&p, hdr, 8, at);
	if (!ret)
		ret = mig_rd_peek(in, 1, &q, p.err);
	if (!ret && q[0] == MIG_REC_CONFIG) {
		uint64_t cfg_at = mig_rd_offset(in);

		p.has_config = true;
		ret = pipe_config(&p, &cfg, &cfg_len);
		if (!ret)
			ret = keep(&p, cfg, cfg_len, cfg_at);
	}
	if (ret)
		goto out;
	head.has_config = p.has_config;
	head.machine = p.has_config ? p.machine : NULL;
	head.caps = (const char *const *)p.caps;
	head.ncaps = p.ncaps;
	ret = ops->head(ops->ctx, &head, &p.pol, p.err);
	if (ret)
		goto out;
	ret = emit(&p, hdr, 8);
	if (!ret && p.has_config && p.pol.config != 0)
		ret = emit(&p, cfg, cfg_len);
	if (!ret && !p.has_config && p.pol.config == 1) {
		size_t len = p.pol.machine ? strlen(p.pol.machine) : 0;
		uint8_t c[5];

		if (!len || len > 255) {
			ret = mig_error_set(p.err, MIG_EINVAL, MIG_NO_OFFSET,
					    "no machine type for the configuration record");
			goto out;
		}
		c[0] = MIG_REC_CONFIG;
		put_be32(c + 1, (uint32_t)len);
		ret = emit(&p, c, 5);
		if (!ret)
			ret = emit(&p, p.pol.machine, len);
	}
	while (!ret) {
		uint8_t h[5];

		if (mig_rd_at_end(in)) {
			ret = mig_error_set(p.err, MIG_ETRUNC,
					    mig_rd_offset(in),
					    "truncated: the stream ends before its EOF record");
			break;
		}
		ret = mig_rd_peek(in, 1, &q, p.err);
		if (ret)
			break;
		if (q[0] == MIG_REC_START || q[0] == MIG_REC_FULL) {
			char name[256];
			size_t nl;

			ret = mig_rd_peek(in, 6, &q, p.err);
			if (ret)
				break;
			nl = q[5];
			ret = mig_rd_peek(in, 6 + nl + 8, &q, p.err);
			if (ret)
				break;
			memcpy(name, q + 6, nl);
			name[nl] = '\0';
			if (q[0] == MIG_REC_START && !strcmp(name, "ram") &&
			    be32_of(q + 6 + nl) == 0 && !p.have_ram) {
				ret = pipe_ram_start(&p, 6 + nl + 8,
						     be32_of(q + 1));
				continue;
			}
			break;
		}
		if (q[0] == MIG_REC_PART || q[0] == MIG_REC_END) {
			ret = mig_rd_peek(in, 5, &q, p.err);
			if (ret || !p.have_ram || be32_of(q + 1) != p.ram_id)
				break;
			ret = pipe_ram_chunk(&p, p.ram_id);
			continue;
		}
		if (q[0] == MIG_REC_COMMAND) {
			ret = mig_rd_peek(in, 5, &q, p.err);
			if (ret)
				break;
			memcpy(h, q, 5);
			if ((h[1] << 8 | h[2]) == MIG_CMD_PACKAGED)
				break;
			ret = pipe_command(&p, h);
			continue;
		}
		/* EOF, or a byte the parser will name. */
		break;
	}
	if (!ret)
		ret = pipe_hold(&p);
	if (!ret)
		ret = mig_writer_flush(w, p.err);
out:
	free(cfg);
	free(p.syn.p);
	free(p.map.v);
	for (size_t i = 0; i < p.ncaps; i++)
		free(p.caps[i]);
	mig_stream_free(p.scratch);
	ram_state_release(&p.st);
	return ret;
}
