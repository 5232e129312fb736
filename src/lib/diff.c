/* SPDX-License-Identifier: MIT */
/*
 * diff: two streams compared.  mig_diff_read() reads one stream and keeps
 * its model, its page digests (pagemap.c) and the payload bytes of its
 * non-RAM sections; mig_diff_compare() walks two of them and builds the
 * `diff --json` document, from which the command also renders its text, so
 * the two outputs cannot drift.  json_*_set_new and json_array_append_new
 * steal the reference they are given; every value is created and handed
 * over in one step.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "migstream/diff.h"
#include "migstream/output.h"
#include "migstream/vmdesc.h"
#include "pagemap.h"

/* How much of a section's payload a side kept. */
enum raw_state {
	RAW_BYTES,		/* the bytes, in raw/nraw */
	RAW_DIGEST,		/* only digest and length (past MIG_DIFF_RAW_MAX) */
	RAW_NONE,		/* nothing: raw_why says why */
};

/* One section of one stream: its records grouped by (idstr, instance). */
struct sec {
	const char *name;
	uint32_t instance;
	uint32_t version;
	uint64_t order;		/* offset of its first record */
	size_t rstart;		/* its records: side->recs[rstart..+nrecs] */
	size_t nrecs;
	const struct mig_record *full;	/* last FULL record, if any */
	bool ram;
	enum raw_state raw_state;
	uint8_t *raw;		/* payloads of its records, concatenated */
	uint64_t nraw;
	uint64_t raw_digest;	/* XXH3-64 of the same bytes */
	char raw_why[MIG_MSG_MAX];
};

struct mig_diff_side {
	struct mig_stream *s;
	struct pagemap pm;
	bool ram_read;
	const struct mig_record **recs;	/* section records by (name, inst) */
	size_t nrecs;
	struct sec *secs;	/* sorted by (name, instance) */
	size_t nsecs;
	size_t *by_order;	/* indexes into secs, in stream order */
};

/* ------------------------------------------------------------------ */
/* Reading one side                                                    */

static bool is_section_record(const struct mig_record *rec)
{
	return rec->type == MIG_REC_START || rec->type == MIG_REC_PART ||
	       rec->type == MIG_REC_END || rec->type == MIG_REC_FULL;
}

static int cmp_key(const char *an, uint32_t ai, const char *bn, uint32_t bi)
{
	int d = strcmp(an, bn);

	if (d)
		return d;
	return ai < bi ? -1 : ai > bi;
}

/* Records sort by (name, instance), then stream order (their offset). */
static int cmp_rec(const void *x, const void *y)
{
	const struct mig_record *a = *(const struct mig_record *const *)x;
	const struct mig_record *b = *(const struct mig_record *const *)y;
	int d = cmp_key(a->name, a->instance, b->name, b->instance);

	if (d)
		return d;
	return a->offset < b->offset ? -1 : a->offset > b->offset;
}

/* A section's rank in stream order, for sorting. */
struct rank {
	uint64_t order;
	size_t idx;
};

static int cmp_rank(const void *x, const void *y)
{
	const struct rank *a = x, *b = y;

	return a->order < b->order ? -1 : a->order > b->order;
}

/* Groups the section records of @side->s into sections. */
static int group_sections(struct mig_diff_side *side, struct mig_error *err)
{
	const struct mig_stream *s = side->s;
	struct rank *ranks;
	size_t n = 0, i, j;

	for (const struct mig_record *r = s->records; r; r = r->next)
		if (is_section_record(r) && r->name)
			n++;
	side->recs = calloc(n ? n : 1, sizeof(*side->recs));
	side->secs = calloc(n ? n : 1, sizeof(*side->secs));
	side->by_order = calloc(n ? n : 1, sizeof(*side->by_order));
	if (!side->recs || !side->secs || !side->by_order)
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	for (const struct mig_record *r = s->records; r; r = r->next)
		if (is_section_record(r) && r->name)
			side->recs[side->nrecs++] = r;
	qsort(side->recs, side->nrecs, sizeof(*side->recs), cmp_rec);

	for (i = 0; i < side->nrecs; i = j) {
		const struct mig_record *r0 = side->recs[i];
		struct sec *sec = &side->secs[side->nsecs];

		sec->name = r0->name;
		sec->instance = r0->instance;
		sec->version = r0->version;
		sec->rstart = i;
		sec->ram = r0->kind == MIG_SEC_RAM;
		for (j = i; j < side->nrecs &&
			    !cmp_key(side->recs[j]->name,
				     side->recs[j]->instance, r0->name,
				     r0->instance); j++) {
			if (side->recs[j]->type == MIG_REC_FULL)
				sec->full = side->recs[j];
			if (side->recs[j]->kind == MIG_SEC_RAM)
				sec->ram = true;
		}
		sec->nrecs = j - i;
		side->nsecs++;
	}
	/* Stream order of first appearance: the offsets of the first
	 * records rank them. */
	ranks = calloc(side->nsecs ? side->nsecs : 1, sizeof(*ranks));
	if (!ranks)
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	for (i = 0; i < side->nsecs; i++) {
		side->secs[i].order = side->recs[side->secs[i].rstart]->offset;
		ranks[i].order = side->secs[i].order;
		ranks[i].idx = i;
	}
	qsort(ranks, side->nsecs, sizeof(*ranks), cmp_rank);
	for (i = 0; i < side->nsecs; i++)
		side->by_order[i] = ranks[i].idx;
	free(ranks);
	return 0;
}

/* Moves @r's cursor to @off: back inside its window, or forward. */
static int go_to(struct mig_reader *r, uint64_t off, struct mig_error *err)
{
	uint64_t cur = mig_rd_offset(r);

	if (off <= cur)
		return mig_rd_rewind(r, off, err);
	return mig_rd_skip(r, off - cur, err);
}

/*
 * Keeps the payload bytes of every non-RAM section: after the parse, the
 * reader still holds them (a mapped file, or a pipe's buffered tail), so
 * this reads nothing twice.
 */
static int keep_payloads(struct mig_diff_side *side, struct mig_reader *r)
{
	uint64_t budget = MIG_DIFF_RAW_MAX;
	struct mig_error e;

	for (size_t i = 0; i < side->nsecs; i++) {
		struct sec *sec = &side->secs[i];
		XXH3_state_t *st;
		uint64_t total = 0;
		int ret = 0;

		if (sec->ram)
			continue;
		for (size_t k = 0; k < sec->nrecs; k++)
			total += side->recs[sec->rstart + k]->payload_size;
		sec->raw_state = total <= budget ? RAW_BYTES : RAW_DIGEST;
		if (sec->raw_state == RAW_BYTES) {
			sec->raw = malloc(total ? (size_t)total : 1);
			if (!sec->raw)
				return -MIG_ENOMEM;
			budget -= total;
		}
		st = XXH3_createState();
		if (!st)
			return -MIG_ENOMEM;
		XXH3_64bits_reset(st);
		mig_error_clear(&e);
		for (size_t k = 0; k < sec->nrecs && !ret; k++) {
			const struct mig_record *rec = side->recs[sec->rstart + k];
			const uint8_t *p;

			ret = go_to(r, rec->payload_offset, &e);
			if (!ret)
				ret = mig_rd_peek(r, (size_t)rec->payload_size,
						  &p, &e);
			if (ret)
				break;
			XXH3_64bits_update(st, p, (size_t)rec->payload_size);
			if (sec->raw_state == RAW_BYTES)
				memcpy(sec->raw + sec->nraw, p,
				       (size_t)rec->payload_size);
			sec->nraw += rec->payload_size;
		}
		sec->raw_digest = XXH3_64bits_digest(st);
		XXH3_freeState(st);
		if (ret) {
			free(sec->raw);
			sec->raw = NULL;
			sec->nraw = 0;
			sec->raw_state = RAW_NONE;
			snprintf(sec->raw_why, sizeof(sec->raw_why),
				 "payload no longer readable: %s", e.msg);
		}
	}
	return 0;
}

int mig_diff_read(struct mig_reader *r, const struct mig_diff_opts *opts,
		  struct mig_diff_side **out, struct mig_error *err)
{
	struct mig_error local;
	struct mig_parse_opts po = { 0 };
	struct mig_diff_side *side;
	int ret;

	if (!err)
		err = &local;
	mig_error_clear(err);
	*out = NULL;
	side = calloc(1, sizeof(*side));
	if (!side)
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	pagemap_init(&side->pm, MIG_DIFF_PAGES_MAX);
	if (opts && opts->parse)
		po = *opts->parse;
	po.on_page = NULL;
	po.ctx = NULL;
	if (!opts || opts->ram != MIG_DIFF_RAM_OFF) {
		po.on_page = pagemap_on_page;
		po.ctx = &side->pm;
		side->ram_read = true;
	}
	ret = mig_stream_read(r, &po, &side->s, err);
	if (ret) {
		if (side->pm.err.code) {
			/* The page table stopped the parse: its reason is
			 * more useful than "stopped by the page consumer". */
			err->code = side->pm.err.code;
			err->offset = side->pm.err.offset;
			snprintf(err->msg, sizeof(err->msg), "%s",
				 side->pm.err.msg);
			ret = -side->pm.err.code;
		}
		goto out_free;
	}
	ret = group_sections(side, err);
	if (!ret)
		ret = keep_payloads(side, r);
	if (ret == -MIG_ENOMEM)
		mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET, "out of memory");
	if (ret)
		goto out_free;
	*out = side;
	return 0;
out_free:
	mig_diff_side_free(side);
	return ret;
}

const struct mig_stream *mig_diff_stream(const struct mig_diff_side *side)
{
	return side->s;
}

void mig_diff_side_free(struct mig_diff_side *side)
{
	if (!side)
		return;
	for (size_t i = 0; i < side->nsecs; i++)
		free(side->secs[i].raw);
	free(side->secs);
	free(side->recs);
	free(side->by_order);
	pagemap_release(&side->pm);
	mig_stream_free(side->s);
	free(side);
}

/* ------------------------------------------------------------------ */
/* Values and their text                                               */

static const char hexdig[] = "0123456789abcdef";

/* Lower-case hex of @n bytes into a new JSON string. */
static json_t *hex_json(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	json_t *j;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = hexdig[p[i] >> 4];
		s[2 * i + 1] = hexdig[p[i] & 15];
	}
	s[2 * n] = '\0';
	j = json_stringn(s, 2 * n);
	free(s);
	return j;
}

/* A JSON string of text from the input, hex when it is not UTF-8. */
static json_t *str_json(const char *s)
{
	json_t *j = json_string(s);

	return j ? j : hex_json((const uint8_t *)s, strlen(s));
}

static bool is_struct_type(const char *type)
{
	return type && (!strcmp(type, "struct") || !strcmp(type, "tmp") ||
			!strcmp(type, "vstruct") || !strcmp(type, "qtailq") ||
			!strcmp(type, "qlist"));
}

/* The value of a leaf as JSON, the same form as in `dump`. */
static json_t *value_json(const struct mig_node *n)
{
	switch (n->vkind) {
	case MIG_VAL_UINT:
		return mig_json_u64(n->u);
	case MIG_VAL_INT:
		return json_integer(n->i);
	case MIG_VAL_BOOL:
		return json_boolean(n->u);
	case MIG_VAL_STRING: {
		json_t *j = json_stringn((const char *)n->bytes, n->nbytes);

		return j ? j : hex_json(n->bytes, n->nbytes);
	}
	case MIG_VAL_BYTES:
		return hex_json(n->bytes, n->nbytes);
	case MIG_VAL_NULLPTR:
	case MIG_VAL_NONE:
		break;
	}
	return json_null();
}

/*
 * The natural text of a leaf: unsigned integers in hex (registers,
 * masks, addresses), signed ones and timers (nanoseconds, -1 when off) in
 * decimal, buffers as hex bytes, strings quoted.
 */
static void value_text(const struct mig_node *n, char *buf, size_t len)
{
	size_t k = 0;

	switch (n->vkind) {
	case MIG_VAL_UINT:
		if (n->type && !strcmp(n->type, "timer"))
			snprintf(buf, len, "%" PRId64, (int64_t)n->u);
		else
			snprintf(buf, len, "0x%" PRIx64, n->u);
		return;
	case MIG_VAL_INT:
		snprintf(buf, len, "%" PRId64, n->i);
		return;
	case MIG_VAL_BOOL:
		snprintf(buf, len, "%s", n->u ? "true" : "false");
		return;
	case MIG_VAL_NULLPTR:
		snprintf(buf, len, "NULL");
		return;
	case MIG_VAL_STRING:
		if (len < 8)
			break;
		buf[k++] = '\'';
		for (size_t i = 0; i < n->nbytes && k + 6 < len; i++) {
			uint8_t ch = n->bytes[i];

			if (ch < 0x20 || ch > 0x7e || ch == '\'' || ch == '\\') {
				buf[k++] = '\\';
				buf[k++] = 'x';
				buf[k++] = hexdig[ch >> 4];
				buf[k++] = hexdig[ch & 15];
			} else {
				buf[k++] = (char)ch;
			}
		}
		buf[k++] = '\'';
		buf[k] = '\0';
		return;
	case MIG_VAL_BYTES:
		if (!n->nbytes) {
			snprintf(buf, len, "(empty)");
			return;
		}
		{
			size_t i;

			for (i = 0; i < n->nbytes && k + 6 < len; i++) {
				buf[k++] = hexdig[n->bytes[i] >> 4];
				buf[k++] = hexdig[n->bytes[i] & 15];
			}
			if (i < n->nbytes)
				k += (size_t)snprintf(buf + k, len - k, "...");
		}
		buf[k] = '\0';
		return;
	case MIG_VAL_NONE:
		break;
	}
	if (n->kind == MIG_NODE_SUBSECTION)
		snprintf(buf, len, "subsection, version %" PRIu32, n->version);
	else if (n->type && (!strcmp(n->type, "qtailq") ||
			     !strcmp(n->type, "qlist")))
		snprintf(buf, len, "list of %zu", n->nchildren);
	else if (n->array_len || (n->child && n->child->kind == MIG_NODE_ELEMENT))
		snprintf(buf, len, "array of %zu", n->nchildren);
	else
		snprintf(buf, len, "%s", n->type ? n->type : "struct");
}

/* ------------------------------------------------------------------ */
/* The comparison                                                      */

struct cmp {
	const struct mig_diff_opts *o;
	const struct mig_diff_side *a, *b;
	char *path;		/* the path of the nodes being compared */
	size_t len, cap;
	json_t *diffs;		/* the current section's entries (no --stat) */
	size_t count;		/* entries of the current section */
	bool nomem;
};

/* Appends to the path; returns the length to restore with path_pop. */
static size_t path_push(struct cmp *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static size_t path_push(struct cmp *c, const char *fmt, ...)
{
	size_t old = c->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->path + c->len, c->cap - c->len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= c->cap - c->len) {
		size_t ncap = c->cap * 2 + (size_t)n;
		char *p = realloc(c->path, ncap);

		if (!p) {
			c->nomem = true;
			c->path[c->len] = '\0';
			return old;
		}
		c->path = p;
		c->cap = ncap;
		va_start(ap, fmt);
		n = vsnprintf(c->path + c->len, c->cap - c->len, fmt, ap);
		va_end(ap);
	}
	if (n > 0)
		c->len += (size_t)n;
	return old;
}

static void path_pop(struct cmp *c, size_t old)
{
	c->len = old;
	c->path[old] = '\0';
}

static bool pattern_hit(const char *const *pats, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(pats[i], s) || !fnmatch(pats[i], s, 0))
			return true;
	return false;
}

static bool ignored(const struct cmp *c)
{
	return c->o && pattern_hit(c->o->ignore, c->o->nignore, c->path);
}

/* A new entry of the current section, named by the current path. */
static json_t *entry(struct cmp *c, const char *change)
{
	json_t *o = json_object();

	if (!o) {
		c->nomem = true;
		return NULL;
	}
	json_object_set_new(o, "path", str_json(c->path));
	json_object_set_new(o, "change", json_string(change));
	return o;
}

/* Counts @o and hands it to the section (or drops it under --stat). */
static void emit(struct cmp *c, json_t *o)
{
	c->count++;
	if (!o)
		return;
	if (c->diffs)
		json_array_append_new(c->diffs, o);
	else
		json_decref(o);
}

static void set_text(json_t *o, const char *key, const char *text)
{
	json_object_set_new(o, key, str_json(text));
}

/* Bytes @a (@na) and @b (@nb) compared: one "bytes" entry if they differ. */
static void diff_bytes(struct cmp *c, const uint8_t *a, uint64_t na,
		       const uint8_t *b, uint64_t nb, const char *type,
		       const char *what)
{
	uint64_t common = na < nb ? na : nb;
	uint64_t first = UINT64_MAX, last = 0, count = 0;
	char at[3 * MIG_DIFF_SHORT_BYTES + 8], bt[3 * MIG_DIFF_SHORT_BYTES + 8];
	uint64_t shown_a, shown_b;
	json_t *o;

	for (uint64_t i = 0; i < common; i++) {
		if (a[i] != b[i]) {
			if (first == UINT64_MAX)
				first = i;
			last = i;
			count++;
		}
	}
	if (na != nb) {
		if (first == UINT64_MAX)
			first = common;
		last = (na > nb ? na : nb) - 1;
		count += (na > nb ? na : nb) - common;
	}
	if (!count)
		return;
	o = entry(c, "bytes");
	if (!o)
		return;
	if (what)
		json_object_set_new(o, "what", json_string(what));
	if (type)
		json_object_set_new(o, "type", str_json(type));
	json_object_set_new(o, "a_length", mig_json_u64(na));
	json_object_set_new(o, "b_length", mig_json_u64(nb));
	json_object_set_new(o, "first", mig_json_u64(first));
	json_object_set_new(o, "last", mig_json_u64(last));
	json_object_set_new(o, "count", mig_json_u64(count));
	/* The differing range, at most MIG_DIFF_SHORT_BYTES of it. */
	shown_a = first < na ? (na - first < last - first + 1 ? na - first
							      : last - first + 1)
			     : 0;
	shown_b = first < nb ? (nb - first < last - first + 1 ? nb - first
							      : last - first + 1)
			     : 0;
	{
		uint64_t sa = shown_a > MIG_DIFF_SHORT_BYTES ? MIG_DIFF_SHORT_BYTES
							     : shown_a;
		uint64_t sb = shown_b > MIG_DIFF_SHORT_BYTES ? MIG_DIFF_SHORT_BYTES
							     : shown_b;
		size_t k;

		json_object_set_new(o, "a", sa ? hex_json(a + first, (size_t)sa)
					       : json_string(""));
		json_object_set_new(o, "b", sb ? hex_json(b + first, (size_t)sb)
					       : json_string(""));
		json_object_set_new(o, "shown", mig_json_u64(sa > sb ? sa : sb));
		k = 0;
		for (uint64_t i = 0; i < sa; i++) {
			at[k++] = hexdig[a[first + i] >> 4];
			at[k++] = hexdig[a[first + i] & 15];
		}
		if (shown_a > sa)
			k += (size_t)snprintf(at + k, sizeof(at) - k, "...");
		if (!shown_a)
			k += (size_t)snprintf(at + k, sizeof(at) - k, "(none)");
		at[k] = '\0';
		k = 0;
		for (uint64_t i = 0; i < sb; i++) {
			bt[k++] = hexdig[b[first + i] >> 4];
			bt[k++] = hexdig[b[first + i] & 15];
		}
		if (shown_b > sb)
			k += (size_t)snprintf(bt + k, sizeof(bt) - k, "...");
		if (!shown_b)
			k += (size_t)snprintf(bt + k, sizeof(bt) - k, "(none)");
		bt[k] = '\0';
	}
	set_text(o, "a_text", at);
	set_text(o, "b_text", bt);
	emit(c, o);
}

static bool is_num(const struct mig_node *n)
{
	return n->vkind == MIG_VAL_UINT || n->vkind == MIG_VAL_INT ||
	       n->vkind == MIG_VAL_BOOL;
}

/* Same integer, whatever the signedness and width it was written with. */
static bool num_eq(const struct mig_node *a, const struct mig_node *b)
{
	bool an = a->vkind == MIG_VAL_INT && a->i < 0;
	bool bn = b->vkind == MIG_VAL_INT && b->i < 0;
	uint64_t av = a->vkind == MIG_VAL_INT ? (uint64_t)a->i : a->u;
	uint64_t bv = b->vkind == MIG_VAL_INT ? (uint64_t)b->i : b->u;

	return an == bn && av == bv;
}

static bool str_eq(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static void set_types(json_t *o, const struct mig_node *a,
		      const struct mig_node *b)
{
	if (str_eq(a->type, b->type)) {
		if (a->type)
			json_object_set_new(o, "type", str_json(a->type));
	} else {
		json_object_set_new(o, "a_type", str_json(a->type ? a->type
								  : "unknown"));
		json_object_set_new(o, "b_type", str_json(b->type ? b->type
								  : "unknown"));
	}
}

/* "changed" (or "type" when only the type differs) for two nodes. */
static void changed(struct cmp *c, const struct mig_node *a,
		    const struct mig_node *b, const char *change)
{
	char t[3 * MIG_DIFF_SHORT_BYTES + 64];
	json_t *o = entry(c, change);

	if (!o)
		return;
	set_types(o, a, b);
	json_object_set_new(o, "a", value_json(a));
	json_object_set_new(o, "b", value_json(b));
	value_text(a, t, sizeof(t));
	set_text(o, "a_text", t);
	value_text(b, t, sizeof(t));
	set_text(o, "b_text", t);
	emit(c, o);
}

static void diff_leaf(struct cmp *c, const struct mig_node *a,
		      const struct mig_node *b)
{
	bool eq;

	if (is_num(a) && is_num(b)) {
		eq = num_eq(a, b);
	} else if (a->vkind == b->vkind) {
		eq = a->nbytes == b->nbytes &&
		     (!a->nbytes || !memcmp(a->bytes, b->bytes, a->nbytes));
		if (!eq && a->vkind == MIG_VAL_BYTES &&
		    (a->nbytes > MIG_DIFF_SHORT_BYTES ||
		     b->nbytes > MIG_DIFF_SHORT_BYTES)) {
			diff_bytes(c, a->bytes, a->nbytes, b->bytes, b->nbytes,
				   str_eq(a->type, b->type) ? a->type : NULL,
				   NULL);
			return;
		}
	} else {
		eq = false;
	}
	if (!eq)
		changed(c, a, b, "changed");
	else if (!str_eq(a->type, b->type))
		changed(c, a, b, "type");
}

/*
 * One child of a container, for pairing.  QEMU describes an array of
 * structs as one field entry per element, with an "index" on each (7.2),
 * or on all but the last (10.0): a run of sibling fields of one name that
 * starts with an index is taken as an array, and its elements are numbered
 * by their position in the run, whatever index they carry.
 */
struct slot {
	const struct mig_node *n;
	int rank;		/* field, element, subsection */
	const char *name;
	int64_t index;		/* element or run position, or -1 */
	size_t pos;		/* position among its siblings */
	size_t occ;		/* earlier siblings with the same key */
	long partner;		/* position of the partner, or -1 */
	bool renamed;		/* paired by description name, not by name */
};

static int kind_rank(enum mig_node_kind k)
{
	switch (k) {
	case MIG_NODE_FIELD:
		return 0;
	case MIG_NODE_ELEMENT:
		return 1;
	case MIG_NODE_SUBSECTION:
		return 2;
	case MIG_NODE_SECTION:
		break;
	}
	return 3;
}

static int cmp_key_slot(const struct slot *a, const struct slot *b)
{
	int d = a->rank - b->rank;

	if (d)
		return d;
	d = strcmp(a->name, b->name);
	if (d)
		return d;
	return a->index < b->index ? -1 : a->index > b->index;
}

static int cmp_slot(const void *x, const void *y)
{
	const struct slot *a = *(const struct slot *const *)x;
	const struct slot *b = *(const struct slot *const *)y;
	int d = cmp_key_slot(a, b);

	if (d)
		return d;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Index of field @k in its path: its position in an indexed run. */
static int64_t run_index(const struct mig_node *k, const struct mig_node *prev,
			 int64_t prev_index)
{
	if (k->kind == MIG_NODE_ELEMENT)
		return k->index;
	if (k->kind != MIG_NODE_FIELD)
		return -1;
	if (prev && prev->kind == MIG_NODE_FIELD && prev_index >= 0 &&
	    !strcmp(prev->name ? prev->name : "", k->name ? k->name : ""))
		return prev_index + 1;
	return k->index >= 0 ? 0 : -1;
}

/* Fills @sl with @n's children and a by-key index @idx; sets occ. */
static void slots_of(const struct mig_node *n, struct slot *sl,
		     struct slot **idx)
{
	const struct mig_node *prev = NULL;
	int64_t prev_index = -1;
	size_t i = 0;

	for (const struct mig_node *k = n->child; k; k = k->next, i++) {
		sl[i].n = k;
		sl[i].rank = kind_rank(k->kind);
		sl[i].name = k->name ? k->name : "";
		sl[i].index = run_index(k, prev, prev_index);
		sl[i].pos = i;
		sl[i].occ = 0;
		sl[i].partner = -1;
		sl[i].renamed = false;
		idx[i] = &sl[i];
		prev = k;
		prev_index = sl[i].index;
	}
	qsort(idx, i, sizeof(*idx), cmp_slot);
	for (size_t j = 1; j < i; j++)
		if (!cmp_key_slot(idx[j - 1], idx[j]))
			idx[j]->occ = idx[j - 1]->occ + 1;
}

/* Appends the path step of slot @s; returns the length to restore. */
static size_t push_step(struct cmp *c, const struct slot *s)
{
	size_t old = c->len;

	switch (s->n->kind) {
	case MIG_NODE_SUBSECTION:
		path_push(c, "{%s}", s->name);
		break;
	case MIG_NODE_ELEMENT:
		path_push(c, "[%" PRId64 "]", s->index);
		break;
	default:
		path_push(c, ".%s", s->name);
		if (s->index >= 0)
			path_push(c, "[%" PRId64 "]", s->index);
		break;
	}
	if (s->occ)
		path_push(c, "#%zu", s->occ + 1);
	return old;
}

/* A node present on one side only. */
static void only(struct cmp *c, const struct mig_node *n, bool in_a)
{
	char t[3 * MIG_DIFF_SHORT_BYTES + 64];
	json_t *o = entry(c, in_a ? "only_a" : "only_b");
	const char *what = n->kind == MIG_NODE_SUBSECTION ? "subsection"
			   : n->kind == MIG_NODE_ELEMENT  ? "element"
							  : "field";

	if (!o)
		return;
	json_object_set_new(o, "what", json_string(what));
	if (n->type)
		json_object_set_new(o, "type", str_json(n->type));
	if (n->kind == MIG_NODE_SUBSECTION)
		json_object_set_new(o, "version", json_integer(n->version));
	if (n->vkind != MIG_VAL_NONE)
		json_object_set_new(o, "value", value_json(n));
	value_text(n, t, sizeof(t));
	set_text(o, "text", t);
	emit(c, o);
}

static void diff_node(struct cmp *c, const struct mig_node *a,
		      const struct mig_node *b, int depth);

/* Arrays of single bytes (uint8 arrays) are compared as buffers. */
static bool byte_array(const struct mig_node *n)
{
	if (n->vkind != MIG_VAL_NONE || is_struct_type(n->type) ||
	    n->nchildren <= MIG_DIFF_SHORT_BYTES)
		return false;
	for (const struct mig_node *k = n->child; k; k = k->next)
		if (k->kind != MIG_NODE_ELEMENT || k->nbytes != 1 ||
		    (k->vkind != MIG_VAL_UINT && k->vkind != MIG_VAL_INT))
			return false;
	return true;
}

static uint8_t *gather(const struct mig_node *n)
{
	uint8_t *p = malloc(n->nchildren ? n->nchildren : 1);
	size_t i = 0;

	if (!p)
		return NULL;
	for (const struct mig_node *k = n->child; k; k = k->next)
		p[i++] = k->bytes[0];
	return p;
}

/* The key renamed fields are paired by: description name and index. */
static int cmp_vmsd_key(const struct slot *a, const struct slot *b)
{
	int d = strcmp(a->n->vmsd, b->n->vmsd);

	if (d)
		return d;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* Orders renaming candidates by key, then position (a stable order). */
static int cmp_vmsd_slot(const void *x, const void *y)
{
	const struct slot *a = *(const struct slot *const *)x;
	const struct slot *b = *(const struct slot *const *)y;
	int d = cmp_vmsd_key(a, b);

	if (d)
		return d;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* End of the run of candidates in @c[@i..@n) with the key of @c[@i]. */
static size_t vmsd_run(struct slot **c, size_t i, size_t n)
{
	size_t e = i + 1;

	while (e < n && !cmp_vmsd_key(c[i], c[e]))
		e++;
	return e;
}

/*
 * Fields renamed between versions: an unpaired struct field of A and one
 * of B with the same description (vmsd) name and index are paired, when
 * that description occurs once among the unpaired ones on each side (on
 * A's side any kind of node counts, on B's only fields).  A pairing only
 * takes its own key's two candidates, so keys are independent and each is
 * settled at once: both sides' candidates are sorted by key and merged,
 * which keeps hostile trees of many same-described fields O(n log n)
 * instead of O(na * nb).  @ca and @cb are scratch arrays of @na and @nb.
 */
static void pair_renamed(struct slot *sa, size_t na, struct slot *sb,
			 size_t nb, struct slot **ca, struct slot **cb)
{
	size_t ka = 0, kb = 0, i, j;

	for (i = 0; i < na; i++)
		if (sa[i].partner < 0 && sa[i].n->vmsd)
			ca[ka++] = &sa[i];
	for (j = 0; j < nb; j++)
		if (sb[j].partner < 0 && sb[j].n->vmsd &&
		    sb[j].n->kind == MIG_NODE_FIELD)
			cb[kb++] = &sb[j];
	if (!ka || !kb)
		return;
	qsort(ca, ka, sizeof(*ca), cmp_vmsd_slot);
	qsort(cb, kb, sizeof(*cb), cmp_vmsd_slot);
	for (i = 0, j = 0; i < ka && j < kb;) {
		int d = cmp_vmsd_key(ca[i], cb[j]);
		size_t ei, ej;

		/* Step one at a time: measuring a run here would rescan it. */
		if (d < 0) {
			i++;
			continue;
		}
		if (d > 0) {
			j++;
			continue;
		}
		ei = vmsd_run(ca, i, ka);
		ej = vmsd_run(cb, j, kb);
		if (ei - i == 1 && ej - j == 1 &&
		    ca[i]->n->kind == MIG_NODE_FIELD) {
			ca[i]->partner = (long)cb[j]->pos;
			cb[j]->partner = (long)ca[i]->pos;
			ca[i]->renamed = true;
			cb[j]->renamed = true;
		}
		i = ei;
		j = ej;
	}
}

/*
 * Pairs the children of @a and @b by (kind, name, index, occurrence) and
 * compares the pairs, in @a's order; then reports the unpaired ones.
 */
static void diff_children(struct cmp *c, const struct mig_node *a,
			  const struct mig_node *b, int depth)
{
	size_t na = a->nchildren, nb = b->nchildren, i, j;
	struct slot *sa = calloc(na ? na : 1, sizeof(*sa));
	struct slot *sb = calloc(nb ? nb : 1, sizeof(*sb));
	struct slot **ia = calloc(na ? na : 1, sizeof(*ia));
	struct slot **ib = calloc(nb ? nb : 1, sizeof(*ib));

	if (!sa || !sb || !ia || !ib) {
		c->nomem = true;
		goto out_free;
	}
	slots_of(a, sa, ia);
	slots_of(b, sb, ib);
	/* Merge the two sorted indexes. */
	for (i = 0, j = 0; i < na && j < nb;) {
		int d = cmp_key_slot(ia[i], ib[j]);

		if (!d)
			d = ia[i]->occ < ib[j]->occ ? -1 : ia[i]->occ > ib[j]->occ;
		if (d < 0) {
			i++;
		} else if (d > 0) {
			j++;
		} else {
			ia[i]->partner = (long)ib[j]->pos;
			ib[j]->partner = (long)ia[i]->pos;
			i++;
			j++;
		}
	}
	/* The by-key indexes are done with: reuse them as scratch. */
	pair_renamed(sa, na, sb, nb, ia, ib);
	for (i = 0; i < na && !c->nomem; i++) {
		size_t old = push_step(c, &sa[i]);

		if (ignored(c)) {
			path_pop(c, old);
			continue;
		}
		if (sa[i].partner < 0) {
			only(c, sa[i].n, true);
		} else if (sa[i].renamed) {
			const struct slot *p = &sb[sa[i].partner];
			json_t *o = entry(c, "renamed");

			if (o) {
				set_text(o, "a_name", sa[i].name);
				set_text(o, "b_name", p->name);
				set_text(o, "vmsd", sa[i].n->vmsd);
			}
			emit(c, o);
			/* Below, the paths are B's. */
			path_pop(c, old);
			push_step(c, p);
			if (!ignored(c))
				diff_node(c, sa[i].n, p->n, depth + 1);
		} else {
			diff_node(c, sa[i].n, sb[sa[i].partner].n, depth + 1);
		}
		path_pop(c, old);
	}
	for (j = 0; j < nb && !c->nomem; j++) {
		size_t old;

		if (sb[j].partner >= 0)
			continue;
		old = push_step(c, &sb[j]);
		if (!ignored(c))
			only(c, sb[j].n, false);
		path_pop(c, old);
	}
out_free:
	free(sa);
	free(sb);
	free(ia);
	free(ib);
}

/* Compares two paired nodes whose path is c->path. */
static void diff_node(struct cmp *c, const struct mig_node *a,
		      const struct mig_node *b, int depth)
{
	if (depth > 2 * MIG_DEPTH_MAX + 4)
		return;		/* deeper than any decoded tree can be */
	if (a->kind == MIG_NODE_SUBSECTION && b->kind == MIG_NODE_SUBSECTION &&
	    a->version != b->version) {
		json_t *o = entry(c, "version");

		if (o) {
			json_object_set_new(o, "what", json_string("subsection"));
			json_object_set_new(o, "a", json_integer(a->version));
			json_object_set_new(o, "b", json_integer(b->version));
		}
		emit(c, o);
	}
	if (a->vkind != MIG_VAL_NONE && b->vkind != MIG_VAL_NONE) {
		diff_leaf(c, a, b);
	} else if (a->vkind != MIG_VAL_NONE || b->vkind != MIG_VAL_NONE) {
		changed(c, a, b, "changed");
	} else if (byte_array(a) && byte_array(b)) {
		uint8_t *pa = gather(a), *pb = gather(b);

		if (pa && pb)
			diff_bytes(c, pa, a->nchildren, pb, b->nchildren,
				   str_eq(a->type, b->type) ? a->type : NULL,
				   NULL);
		else
			c->nomem = true;
		free(pa);
		free(pb);
	} else {
		diff_children(c, a, b, depth);
	}
}

/* ------------------------------------------------------------------ */
/* Sections                                                            */

static const struct sec *find_sec(const struct mig_diff_side *side,
				  const char *name, uint32_t instance)
{
	size_t lo = 0, hi = side->nsecs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = cmp_key(side->secs[mid].name, side->secs[mid].instance,
				name, instance);

		if (!d)
			return &side->secs[mid];
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Does @name have an instance other than 0 on @side?  (secs are sorted.) */
static bool nonzero_instance(const struct mig_diff_side *side,
			     const char *name)
{
	size_t lo = 0, hi = side->nsecs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_key(side->secs[mid].name, side->secs[mid].instance,
			    name, 0) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* lo: the first section of @name, if any; instances ascend. */
	for (; lo < side->nsecs && !strcmp(side->secs[lo].name, name); lo++)
		if (side->secs[lo].instance)
			return true;
	return false;
}

/* Is the instance part of the paths of @name (see diff.h)? */
static bool show_instance(const struct cmp *c, const char *name)
{
	return nonzero_instance(c->a, name) || nonzero_instance(c->b, name);
}

/* The deepest node of @n whose bytes hold absolute offset @off. */
static const struct mig_node *node_at(const struct mig_node *n, uint64_t off)
{
	for (int depth = 0; depth < 4 * MIG_DEPTH_MAX; depth++) {
		const struct mig_node *k;

		for (k = n->child; k; k = k->next)
			if (off >= k->offset && off - k->offset < k->size)
				break;
		if (!k)
			return n;
		n = k;
	}
	return n;
}

/* The index that the path of @n shows (see struct slot), or -1. */
static int64_t path_index(const struct mig_node *n)
{
	const struct mig_node *prev = NULL;
	int64_t idx = -1;

	if (!n->parent)
		return n->kind == MIG_NODE_ELEMENT ? n->index : -1;
	for (const struct mig_node *k = n->parent->child; k; k = k->next) {
		idx = run_index(k, prev, idx);
		if (k == n)
			return idx;
		prev = k;
	}
	return -1;
}

/* Writes the path of @n (below its section, named @sec) into @buf. */
static void node_path(const char *sec, const struct mig_node *n, char *buf,
		      size_t len)
{
	const struct mig_node *chain[4 * MIG_DEPTH_MAX + 8];
	int depth = 0;
	size_t k;

	for (; n && n->kind != MIG_NODE_SECTION &&
	       depth < (int)(sizeof(chain) / sizeof(chain[0]));
	     n = n->parent)
		chain[depth++] = n;
	k = (size_t)snprintf(buf, len, "%s", sec);
	while (depth-- > 0 && k < len) {
		int64_t idx;

		n = chain[depth];
		idx = path_index(n);
		if (n->kind == MIG_NODE_SUBSECTION)
			k += (size_t)snprintf(buf + k, len - k, "{%s}", n->name);
		else if (n->kind == MIG_NODE_ELEMENT)
			k += (size_t)snprintf(buf + k, len - k, "[%" PRId64 "]",
					      idx);
		else if (idx >= 0)
			k += (size_t)snprintf(buf + k, len - k,
					      ".%s[%" PRId64 "]", n->name, idx);
		else
			k += (size_t)snprintf(buf + k, len - k, ".%s", n->name);
	}
}

/* Which field of a decoded side holds payload byte @first, if any. */
static void payload_hint(json_t *o, const char *key, const char *secpath,
			 const struct sec *sec, uint64_t first)
{
	const struct mig_record *rec;
	const struct mig_node *n;
	char buf[1024];

	if (!sec->full || sec->nrecs != 1 || !sec->full->tree)
		return;
	rec = sec->full;
	if (first >= rec->payload_size)
		return;
	n = node_at(rec->tree, rec->payload_offset + first);
	if (!n || n == rec->tree)
		return;
	node_path(secpath, n, buf, sizeof(buf));
	json_object_set_new(o, key, str_json(buf));
}

static const char *sec_kind(const struct sec *s)
{
	if (!s->full)
		return "iterative";
	switch (s->full->kind) {
	case MIG_SEC_VMSTATE:
		return "vmstate";
	case MIG_SEC_LEGACY:
		return "legacy";
	case MIG_SEC_RAM:
		return "ram";
	case MIG_SEC_UNDECODED:
		break;
	}
	return "undecoded";
}

/* Both sides' payload bytes compared; @why says why not the fields. */
static void diff_payloads(struct cmp *c, json_t *se, const struct sec *sa,
			  const struct sec *sb, const char *why)
{
	json_object_set_new(se, "compared", json_string("bytes"));
	json_object_set_new(se, "note", str_json(why));
	if (sa->raw_state == RAW_NONE || sb->raw_state == RAW_NONE) {
		json_t *o = entry(c, "unknown");

		if (o)
			set_text(o, "text", sa->raw_state == RAW_NONE ? sa->raw_why
								       : sb->raw_why);
		emit(c, o);
		return;
	}
	if (sa->raw_state == RAW_BYTES && sb->raw_state == RAW_BYTES) {
		size_t before = c->count;

		diff_bytes(c, sa->raw, sa->nraw, sb->raw, sb->nraw, NULL,
			   "payload");
		if (c->count != before && c->diffs) {
			json_t *o = json_array_get(c->diffs,
						   json_array_size(c->diffs) - 1);
			uint64_t first = (uint64_t)json_integer_value(
				json_object_get(o, "first"));

			payload_hint(o, "a_field", c->path, sa, first);
			payload_hint(o, "b_field", c->path, sb, first);
		}
		return;
	}
	if (sa->nraw != sb->nraw || sa->raw_digest != sb->raw_digest) {
		json_t *o = entry(c, "bytes");

		if (o) {
			json_object_set_new(o, "what", json_string("payload"));
			json_object_set_new(o, "a_length", mig_json_u64(sa->nraw));
			json_object_set_new(o, "b_length", mig_json_u64(sb->nraw));
			set_text(o, "text", "payloads differ (too large to keep: compared by digest)");
		}
		emit(c, o);
	}
}

/*
 * A section decoded on one side only (the other stream has no vmdesc, or
 * its vmdesc does not describe it): the payload of the other side is
 * decoded with the same vmdesc entry, when the versions agree and the
 * decode accounts for every byte.  Returns that tree (the caller frees it)
 * and sets *@from_a when A lent its layout; NULL when it cannot be done.
 */
static struct mig_node *borrow_layout(const struct cmp *c,
				      const struct sec *sa,
				      const struct sec *sb, bool *from_a)
{
	const struct mig_diff_side *lender;
	const struct sec *have, *need;
	struct mig_reader *r = NULL;
	struct mig_node *tree = NULL;
	struct mig_error e;
	const json_t *dev;
	int ret;

	if (!sa->full || !sb->full || sa->nrecs != 1 || sb->nrecs != 1 ||
	    sa->version != sb->version)
		return NULL;
	if (sa->full->tree && !sb->full->tree) {
		lender = c->a;
		have = sa;
		need = sb;
	} else if (sb->full->tree && !sa->full->tree) {
		lender = c->b;
		have = sb;
		need = sa;
	} else {
		return NULL;
	}
	if (need->raw_state != RAW_BYTES || !lender->s->vmdesc)
		return NULL;
	dev = mig_vmdesc_device(lender->s->vmdesc, have->name, have->instance);
	if (!dev)
		return NULL;
	mig_error_clear(&e);
	if (mig_reader_from_mem(&r, need->raw, (size_t)need->nraw, need->name,
				&e))
		return NULL;
	ret = mig_vmdesc_decode(r, dev, need->name, &tree, &e);
	if (ret || !mig_rd_at_end(r)) {
		mig_node_free(tree);
		tree = NULL;
	}
	mig_reader_free(r);
	*from_a = lender == c->a;
	return tree;
}

/* One section on one side or both; appends its entry if anything differs. */
static void diff_section(struct cmp *c, json_t *out, const struct sec *sa,
			 const struct sec *sb, size_t *nchanged,
			 size_t *nonly_a, size_t *nonly_b, size_t *nfields)
{
	const struct sec *s = sa ? sa : sb;
	struct mig_node *borrowed;
	bool from_a = false;
	json_t *se;

	c->len = 0;
	c->path[0] = '\0';
	if (show_instance(c, s->name))
		path_push(c, "%s[%" PRIu32 "]", s->name, s->instance);
	else
		path_push(c, "%s", s->name);
	if (ignored(c))
		return;
	se = json_object();
	if (!se) {
		c->nomem = true;
		return;
	}
	json_object_set_new(se, "section", str_json(c->path));
	json_object_set_new(se, "name", str_json(s->name));
	json_object_set_new(se, "instance", json_integer(s->instance));
	if (!sa || !sb) {
		json_object_set_new(se, "status",
				    json_string(sa ? "only_a" : "only_b"));
		json_object_set_new(se, sa ? "a_version" : "b_version",
				    json_integer(s->version));
		json_object_set_new(se, "kind", json_string(sec_kind(s)));
		json_array_append_new(out, se);
		(*(sa ? nonly_a : nonly_b))++;
		return;
	}
	json_object_set_new(se, "status", json_string("changed"));
	json_object_set_new(se, "a_version", json_integer(sa->version));
	json_object_set_new(se, "b_version", json_integer(sb->version));
	c->count = 0;
	c->diffs = c->o && c->o->stat ? NULL : json_array();
	if (sa->version != sb->version) {
		json_t *o = entry(c, "version");

		if (o) {
			json_object_set_new(o, "what", json_string("section"));
			json_object_set_new(o, "a", json_integer(sa->version));
			json_object_set_new(o, "b", json_integer(sb->version));
		}
		emit(c, o);
	}
	if (sa->full && sb->full && sa->full->tree && sb->full->tree &&
	    sa->nrecs == 1 && sb->nrecs == 1) {
		json_object_set_new(se, "compared", json_string("fields"));
		diff_children(c, sa->full->tree, sb->full->tree, 0);
	} else if ((borrowed = borrow_layout(c, sa, sb, &from_a))) {
		json_object_set_new(se, "compared", json_string("fields"));
		json_object_set_new(se, "note", json_string(
			from_a ? "B has no layout for it: decoded with A's vmdesc"
			       : "A has no layout for it: decoded with B's vmdesc"));
		diff_children(c, from_a ? sa->full->tree : borrowed,
			      from_a ? borrowed : sb->full->tree, 0);
		mig_node_free(borrowed);
	} else {
		char why[MIG_MSG_MAX + 96];
		bool ua = !sa->full || !sa->full->tree;
		bool ub = !sb->full || !sb->full->tree;
		const struct sec *u = ua ? sa : sb;

		if (!sa->full || !sb->full)
			snprintf(why, sizeof(why),
				 "iterative section: payload bytes compared");
		else if (ua && ub)
			snprintf(why, sizeof(why),
				 "payload bytes compared: no layout in either stream: %s",
				 u->full->undecoded ? u->full->undecoded : "undecoded");
		else
			snprintf(why, sizeof(why),
				 "payload bytes compared: no layout in %s: %s",
				 ua ? "A" : "B",
				 u->full->undecoded ? u->full->undecoded : "undecoded");
		diff_payloads(c, se, sa, sb, why);
	}
	json_object_set_new(se, "count", json_integer((json_int_t)c->count));
	if (c->diffs)
		json_object_set_new(se, "differences", c->diffs);
	c->diffs = NULL;
	if (c->count) {
		json_array_append_new(out, se);
		(*nchanged)++;
		*nfields += c->count;
	} else {
		json_decref(se);
	}
}

static bool section_selected(const struct cmp *c, const char *name)
{
	if (!c->o || !c->o->nsections)
		return true;
	return pattern_hit(c->o->sections, c->o->nsections, name);
}

/* ------------------------------------------------------------------ */
/* Stream level                                                        */

static json_t *caps_json(const struct mig_stream *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->ncaps; i++)
		json_array_append_new(a, str_json(s->caps[i]));
	return a;
}

static json_t *cmds_json(const struct mig_stream *s)
{
	json_t *a = json_array();

	for (const struct mig_record *r = s->records; r; r = r->next) {
		const char *name;
		char buf[64 + 2 * 32 + 8];
		size_t k;

		if (r->type != MIG_REC_COMMAND)
			continue;
		name = mig_cmd_name(r->cmd);
		k = (size_t)snprintf(buf, sizeof(buf), "%s",
				     name ? name : "unknown");
		if (r->cmd_len && r->cmd_data) {
			k += (size_t)snprintf(buf + k, sizeof(buf) - k, " ");
			for (size_t i = 0; i < r->cmd_len && i < 32; i++) {
				buf[k++] = hexdig[r->cmd_data[i] >> 4];
				buf[k++] = hexdig[r->cmd_data[i] & 15];
			}
			if (r->cmd_len > 32)
				k += (size_t)snprintf(buf + k, sizeof(buf) - k,
						      "...");
			buf[k] = '\0';
		}
		json_array_append_new(a, str_json(buf));
	}
	return a;
}

static bool has_cap(const struct mig_stream *s, const char *cap)
{
	for (size_t i = 0; i < s->ncaps; i++)
		if (!strcmp(s->caps[i], cap))
			return true;
	return false;
}

static bool same_caps(const struct mig_stream *a, const struct mig_stream *b)
{
	for (size_t i = 0; i < a->ncaps; i++)
		if (!has_cap(b, a->caps[i]))
			return false;
	for (size_t i = 0; i < b->ncaps; i++)
		if (!has_cap(a, b->caps[i]))
			return false;
	return true;
}

/* Appends {"item", "a", "b"}; steals @va and @vb. */
static void stream_item(json_t *out, const char *item, json_t *va,
			json_t *vb)
{
	json_t *o = json_object();

	json_object_set_new(o, "item", json_string(item));
	json_object_set_new(o, "a", va);
	json_object_set_new(o, "b", vb);
	json_array_append_new(out, o);
}

static json_t *uuid_json(const struct mig_stream *s)
{
	char u[40];
	const uint8_t *b = s->uuid;

	if (!s->has_uuid)
		return json_null();
	snprintf(u, sizeof(u),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
	return json_string(u);
}

static void diff_stream(json_t *out, const struct mig_stream *a,
			const struct mig_stream *b)
{
	json_t *ca, *cb;

	if (a->has_config != b->has_config ||
	    !str_eq(a->machine, b->machine))
		stream_item(out, "machine",
			    a->machine ? str_json(a->machine) : json_null(),
			    b->machine ? str_json(b->machine) : json_null());
	if (!same_caps(a, b))
		stream_item(out, "capabilities", caps_json(a), caps_json(b));
	if (a->has_uuid != b->has_uuid ||
	    (a->has_uuid && memcmp(a->uuid, b->uuid, 16)))
		stream_item(out, "uuid", uuid_json(a), uuid_json(b));
	if (a->page_size != b->page_size)
		stream_item(out, "page_size", mig_json_u64(a->page_size),
			    mig_json_u64(b->page_size));
	if (a->footers != b->footers)
		stream_item(out, "footers", json_boolean(a->footers),
			    json_boolean(b->footers));
	if (a->has_vmdesc != b->has_vmdesc)
		stream_item(out, "vmdesc", json_boolean(a->has_vmdesc),
			    json_boolean(b->has_vmdesc));
	ca = cmds_json(a);
	cb = cmds_json(b);
	if (!json_equal(ca, cb)) {
		stream_item(out, "commands", ca, cb);
	} else {
		json_decref(ca);
		json_decref(cb);
	}
}

/* ------------------------------------------------------------------ */
/* RAM                                                                 */

static const struct mig_ram_block *find_block(const struct mig_stream *s,
					      const char *name)
{
	for (size_t i = 0; i < s->nram_blocks; i++)
		if (!strcmp(s->ram_blocks[i].name, name))
			return &s->ram_blocks[i];
	return NULL;
}

struct ram_total {
	size_t blocks;		/* blocks that differ, or are in one only */
	uint64_t pages;		/* differing pages */
	uint64_t ranges;
	uint64_t unknown;
};

/* Pages of @a and @b (the same block) compared; entry or NULL. */
static json_t *diff_block(const struct cmp *c, const struct mig_ram_block *a,
			  const struct mig_ram_block *b, uint64_t psize,
			  struct ram_total *t)
{
	const struct pm_block *ta = pagemap_find(&c->a->pm, a->name);
	const struct pm_block *tb = pagemap_find(&c->b->pm, b->name);
	uint64_t npa = a->length / psize + (a->length % psize ? 1 : 0);
	uint64_t npb = b->length / psize + (b->length % psize ? 1 : 0);
	uint64_t n = npa < npb ? npa : npb;
	uint64_t diff = 0, unknown = 0, nranges = 0, start = 0;
	bool ranges = c->o && c->o->ram == MIG_DIFF_RAM_RANGES && !c->o->stat;
	bool in_range = false;
	json_t *o, *list = ranges ? json_array() : NULL;

	for (uint64_t i = 0; i <= n; i++) {
		bool d = false;

		if (i < n) {
			uint64_t da = pagemap_digest(ta, i);
			uint64_t db = pagemap_digest(tb, i);

			if (da == PM_UNKNOWN || db == PM_UNKNOWN) {
				unknown++;
				d = true;
			} else {
				d = da != db;
			}
		}
		if (d) {
			diff++;
			if (!in_range) {
				in_range = true;
				start = i;
			}
			continue;
		}
		if (!in_range)
			continue;
		in_range = false;
		if (list && nranges < MIG_DIFF_RANGES_MAX) {
			json_t *r = json_object();

			json_object_set_new(r, "start", mig_json_u64(start * psize));
			json_object_set_new(r, "length",
					    mig_json_u64((i - start) * psize));
			json_object_set_new(r, "pages", mig_json_u64(i - start));
			json_array_append_new(list, r);
		}
		nranges++;
	}
	if (!diff && a->length == b->length) {
		json_decref(list);
		return NULL;
	}
	o = json_object();
	json_object_set_new(o, "block", str_json(a->name));
	json_object_set_new(o, "status", json_string("changed"));
	json_object_set_new(o, "a_length", mig_json_u64(a->length));
	json_object_set_new(o, "b_length", mig_json_u64(b->length));
	json_object_set_new(o, "pages", mig_json_u64(n));
	json_object_set_new(o, "differing_pages", mig_json_u64(diff));
	json_object_set_new(o, "range_count", mig_json_u64(nranges));
	if (unknown)
		json_object_set_new(o, "unknown_pages", mig_json_u64(unknown));
	if (list) {
		json_object_set_new(o, "ranges", list);
		if (nranges > MIG_DIFF_RANGES_MAX)
			json_object_set_new(o, "ranges_truncated",
					    json_true());
	}
	t->blocks++;
	t->pages += diff;
	t->ranges += nranges;
	t->unknown += unknown;
	return o;
}

static json_t *only_block(const struct mig_ram_block *rb, bool in_a)
{
	json_t *o = json_object();

	json_object_set_new(o, "block", str_json(rb->name));
	json_object_set_new(o, "status", json_string(in_a ? "only_a"
							  : "only_b"));
	json_object_set_new(o, in_a ? "a_length" : "b_length",
			    mig_json_u64(rb->length));
	return o;
}

static json_t *diff_ram(const struct cmp *c, struct ram_total *t)
{
	const struct mig_stream *a = c->a->s, *b = c->b->s;
	uint64_t pa = c->a->pm.page_size ? c->a->pm.page_size : a->page_size;
	uint64_t pb = c->b->pm.page_size ? c->b->pm.page_size : b->page_size;
	json_t *ram = json_object(), *blocks = json_array();

	json_object_set_new(ram, "mode", json_string(
		c->o->ram == MIG_DIFF_RAM_STAT || c->o->stat ? "stat"
							     : "ranges"));
	json_object_set_new(ram, "page_size", mig_json_u64(pa));
	if (pa != pb) {
		json_object_set_new(ram, "note", json_string(
			"the page sizes differ: pages not compared"));
		json_object_set_new(ram, "blocks", blocks);
		t->blocks++;
		return ram;
	}
	for (size_t i = 0; i < a->nram_blocks; i++) {
		const struct mig_ram_block *ra = &a->ram_blocks[i];
		const struct mig_ram_block *rb = find_block(b, ra->name);
		json_t *o;

		if (!rb) {
			json_array_append_new(blocks, only_block(ra, true));
			t->blocks++;
			continue;
		}
		o = diff_block(c, ra, rb, pa, t);
		if (o)
			json_array_append_new(blocks, o);
	}
	for (size_t i = 0; i < b->nram_blocks; i++) {
		if (find_block(a, b->ram_blocks[i].name))
			continue;
		json_array_append_new(blocks, only_block(&b->ram_blocks[i],
							 false));
		t->blocks++;
	}
	json_object_set_new(ram, "blocks", blocks);
	json_object_set_new(ram, "differing_pages", mig_json_u64(t->pages));
	json_object_set_new(ram, "range_count", mig_json_u64(t->ranges));
	if (t->unknown)
		json_object_set_new(ram, "unknown_pages", mig_json_u64(t->unknown));
	return ram;
}

/* ------------------------------------------------------------------ */
/* The document                                                        */

static json_t *side_json(const struct mig_stream *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "file", str_json(s->name));
	json_object_set_new(o, "size", s->size == MIG_NO_OFFSET
					       ? json_null()
					       : mig_json_u64(s->size));
	return o;
}

int mig_diff_compare(const struct mig_diff_side *a,
		     const struct mig_diff_side *b,
		     const struct mig_diff_opts *opts, json_t **out,
		     struct mig_error *err)
{
	static const struct mig_diff_opts defaults;
	struct cmp c = { .o = opts ? opts : &defaults, .a = a, .b = b };
	size_t nchanged = 0, nonly_a = 0, nonly_b = 0, nfields = 0;
	struct ram_total rt = { 0 };
	json_t *doc, *summary, *stream, *secs, *ram = NULL;
	size_t nstream, total;

	*out = NULL;
	c.cap = 256;
	c.path = malloc(c.cap);
	doc = json_object();
	summary = json_object();
	stream = json_array();
	secs = json_array();
	if (!c.path || !doc || !summary || !stream || !secs)
		goto out_nomem;
	c.path[0] = '\0';
	json_object_set_new(doc, "migstream_diff",
			    json_integer(MIG_DIFF_FORMAT_VERSION));
	json_object_set_new(doc, "a", side_json(a->s));
	json_object_set_new(doc, "b", side_json(b->s));
	json_object_set_new(doc, "same", json_false());
	json_object_set(doc, "summary", summary);	/* filled below */

	if (!c.o->nsections)
		diff_stream(stream, a->s, b->s);
	nstream = json_array_size(stream);

	for (size_t k = 0; k < a->nsecs && !c.nomem; k++) {
		const struct sec *sa = &a->secs[a->by_order[k]];

		if (sa->ram || !section_selected(&c, sa->name))
			continue;
		diff_section(&c, secs, sa, find_sec(b, sa->name, sa->instance),
			     &nchanged, &nonly_a, &nonly_b, &nfields);
	}
	for (size_t k = 0; k < b->nsecs && !c.nomem; k++) {
		const struct sec *sb = &b->secs[b->by_order[k]];

		if (sb->ram || !section_selected(&c, sb->name) ||
		    find_sec(a, sb->name, sb->instance))
			continue;
		diff_section(&c, secs, NULL, sb, &nchanged, &nonly_a,
			     &nonly_b, &nfields);
	}
	if (c.nomem)
		goto out_nomem;
	if (c.o->ram != MIG_DIFF_RAM_OFF && a->ram_read && b->ram_read &&
	    section_selected(&c, "ram"))
		ram = diff_ram(&c, &rt);

	json_object_set_new(doc, "stream", stream);
	json_object_set_new(doc, "sections", secs);
	json_object_set_new(doc, "ram", ram ? ram : json_null());
	total = nstream + nchanged + nonly_a + nonly_b + rt.blocks;
	json_object_set_new(summary, "differences", json_integer((json_int_t)total));
	json_object_set_new(summary, "stream", json_integer((json_int_t)nstream));
	json_object_set_new(summary, "sections_changed",
			    json_integer((json_int_t)nchanged));
	json_object_set_new(summary, "sections_only_a",
			    json_integer((json_int_t)nonly_a));
	json_object_set_new(summary, "sections_only_b",
			    json_integer((json_int_t)nonly_b));
	json_object_set_new(summary, "fields", json_integer((json_int_t)nfields));
	json_object_set_new(summary, "ram_blocks",
			    json_integer((json_int_t)rt.blocks));
	json_object_set_new(summary, "ram_pages", mig_json_u64(rt.pages));
	json_object_set_new(summary, "ram_ranges", mig_json_u64(rt.ranges));
	json_decref(summary);
	json_object_set_new(doc, "same", json_boolean(total == 0));
	free(c.path);
	*out = doc;
	return 0;

out_nomem:
	free(c.path);
	json_decref(doc);
	json_decref(summary);
	json_decref(stream);
	json_decref(secs);
	return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET, "out of memory");
}

bool mig_diff_same(const json_t *doc)
{
	return json_is_true(json_object_get(doc, "same"));
}
