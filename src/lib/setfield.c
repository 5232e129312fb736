/* SPDX-License-Identifier: MIT */
/*
 * Field paths and in-place edits (`set`).  A path is resolved against the
 * decoded state trees; a fixed-size leaf found that way is rewritten where
 * it lies in the input, so every other byte (RAM, other sections, the
 * vmdesc, whose sizes do not change) is copied as it was.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migstream/encode.h"

/* Input bytes copied per step. */
/* 128 KiB: measured 2-3x faster than 1 MiB writes into the page cache
 * on the bench machine (the buffer stays in L2; bench/README.md). */
#define COPY_CHUNK (128u << 10)

/* Matches found while resolving one path. */
struct found {
	const struct mig_node *node;	/* first match */
	int count;
	/* The furthest the path got without a match, for the message. */
	size_t best;
	char why[160];
};

struct resolve {
	const char *path;
	struct found exact;		/* every subsection named */
	struct found implicit;		/* some subsection left out */
};

static void miss(struct resolve *rs, const char *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void miss(struct resolve *rs, const char *p, const char *fmt, ...)
{
	size_t at = (size_t)(p - rs->path);
	va_list ap;

	if (at < rs->exact.best && rs->exact.why[0])
		return;
	rs->exact.best = at;
	va_start(ap, fmt);
	vsnprintf(rs->exact.why, sizeof(rs->exact.why), fmt, ap);
	va_end(ap);
}

static bool is_elements(const struct mig_node *n)
{
	return n->child && n->child->kind == MIG_NODE_ELEMENT;
}

/* "[N]" at @p: N into *@v, and the text after it; NULL if not that. */
static const char *parse_index(const char *p, uint64_t *v)
{
	char *end;

	if (*p != '[' || p[1] < '0' || p[1] > '9')
		return NULL;
	*v = strtoull(p + 1, &end, 10);
	return *end == ']' ? end + 1 : NULL;
}

static void walk(struct resolve *rs, const struct mig_node *n, const char *p,
		 bool implicit, int depth);

/* A step "." at @p: the fields of container @n, then its subsections. */
static void walk_fields(struct resolve *rs, const struct mig_node *n,
			const char *p, bool implicit, int depth)
{
	const char *name = p + 1;

	for (const struct mig_node *k = n->child; k; k = k->next) {
		size_t len;
		const char *after;

		if (k->kind != MIG_NODE_FIELD || !k->name)
			continue;
		len = strlen(k->name);
		if (strncmp(name, k->name, len))
			continue;
		after = name + len;
		if (*after && *after != '.' && *after != '[' && *after != '{')
			continue;
		if (k->index >= 0) {
			/* One vmdesc entry per element: "name[index]". */
			uint64_t i;
			const char *rest = parse_index(after, &i);

			if (!rest || i != (uint64_t)k->index)
				continue;
			after = rest;
		}
		walk(rs, k, after, implicit, depth + 1);
	}
	/* The field may be inside a subsection the path does not name. */
	for (const struct mig_node *k = n->child; k; k = k->next)
		if (k->kind == MIG_NODE_SUBSECTION)
			walk_fields(rs, k, p, true, depth + 1);
}

static void walk(struct resolve *rs, const struct mig_node *n, const char *p,
		 bool implicit, int depth)
{
	struct found *f = implicit ? &rs->implicit : &rs->exact;

	if (depth > 4 * MIG_PATH_MAX)
		return;
	if (!*p) {
		if (!f->count)
			f->node = n;
		f->count++;
		return;
	}
	if (*p == '.') {
		if (!n->child && n->vkind != MIG_VAL_NONE) {
			miss(rs, p, "'%s' is a %s value, it has no fields",
			     n->name, n->type ? n->type : "unknown");
			return;
		}
		if (is_elements(n)) {
			miss(rs, p, "'%s' is an array of %zu: give an element first, [0] to [%zu]",
			     n->name ? n->name : "?", n->nchildren,
			     n->nchildren - 1);
			return;
		}
		miss(rs, p, "no field '%.*s' here", (int)strcspn(p + 1, "[{"),
		     p + 1);
		walk_fields(rs, n, p, implicit, depth);
		return;
	}
	if (*p == '[') {
		uint64_t i;
		const char *rest = parse_index(p, &i);
		const struct mig_node *k = n->child;

		if (!rest) {
			miss(rs, p, "'[' must be followed by a number and ']'");
			return;
		}
		if (!is_elements(n)) {
			miss(rs, p, "'%s' is not an array", n->name ? n->name : "?");
			return;
		}
		if (i >= n->nchildren) {
			miss(rs, p, "no element %" PRIu64 ": '%s' has %zu (0 to %zu)",
			     i, n->name ? n->name : "?", n->nchildren,
			     n->nchildren - 1);
			return;
		}
		while (i--)
			k = k->next;
		walk(rs, k, rest, implicit, depth + 1);
		return;
	}
	if (*p == '{') {
		const char *close = strchr(p, '}');
		bool any = false;

		if (!close) {
			miss(rs, p, "'{' without '}'");
			return;
		}
		for (const struct mig_node *k = n->child; k; k = k->next) {
			if (k->kind == MIG_NODE_SUBSECTION && k->name &&
			    strlen(k->name) == (size_t)(close - p - 1) &&
			    !strncmp(k->name, p + 1, (size_t)(close - p - 1))) {
				any = true;
				walk(rs, k, close + 1, implicit, depth + 1);
			}
		}
		if (!any)
			miss(rs, p, "no subsection '%.*s' here",
			     (int)(close - p - 1), p + 1);
		return;
	}
	miss(rs, p, "expected '.', '[' or '{' before '%.20s'", p);
}

/* Sections named @idstr (with @instance, or any when negative). */
static size_t count_sections(const struct mig_stream *s, const char *idstr,
			     size_t len, int64_t instance,
			     const struct mig_record **first,
			     uint32_t *inst_a, uint32_t *inst_b)
{
	size_t n = 0;

	for (const struct mig_record *r = s->records; r; r = r->next) {
		if ((r->type != MIG_REC_FULL && r->type != MIG_REC_START) ||
		    !r->name || strlen(r->name) != len ||
		    strncmp(r->name, idstr, len))
			continue;
		if (r->kind == MIG_SEC_RAM)
			continue;
		if (instance >= 0 && r->instance != (uint64_t)instance)
			continue;
		if (!n) {
			*first = r;
			*inst_a = r->instance;
		} else if (r->instance != *inst_a) {
			*inst_b = r->instance;
		}
		n++;
	}
	return n;
}

/* -MIG_EINVAL with @path as the error's path. */
static int fail_path(struct mig_error *err, const char *path,
		     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_path(struct mig_error *err, const char *path,
		     const char *fmt, ...)
{
	char msg[MIG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET, "%s", msg);
	if (err && err->code == MIG_EINVAL && !err->path[0])
		snprintf(err->path, sizeof(err->path), "%s", path);
	return -MIG_EINVAL;
}

int mig_path_resolve(const struct mig_stream *s, const char *path,
		     const struct mig_record **rec,
		     const struct mig_node **node, struct mig_error *err)
{
	const struct mig_record *best = NULL;
	size_t best_len = 0;

	*rec = NULL;
	*node = NULL;
	/* The longest section id string that starts the path wins. */
	for (const struct mig_record *r = s->records; r; r = r->next) {
		size_t len;
		char c;

		if ((r->type != MIG_REC_FULL && r->type != MIG_REC_START) ||
		    !r->name || r->kind == MIG_SEC_RAM)
			continue;
		len = strlen(r->name);
		if (len <= best_len || strncmp(path, r->name, len))
			continue;
		c = path[len];
		if (c == '\0' || c == '.' || c == '[' || c == '{') {
			best = r;
			best_len = len;
		}
	}
	if (!best)
		return fail_path(err, path, "no device section of this stream starts the path");
	{
		const char *p = path + best_len;
		const struct mig_record *sec = NULL;
		uint32_t ia = 0, ib = 0;
		int64_t instance = -1;
		uint64_t v;
		const char *after = parse_index(p, &v);
		size_t n;
		struct resolve rs = { .path = path };

		if (after && v <= UINT32_MAX) {
			instance = (int64_t)v;
			p = after;
		}
		n = count_sections(s, path, best_len, instance, &sec, &ia, &ib);
		if (!n)
			return fail_path(err, path, "section '%.*s' has no instance %" PRId64,
					 (int)best_len, path, instance);
		if (instance < 0 && ia != ib && n > 1)
			return fail_path(err, path, "section '%.*s' has several instances (%" PRIu32 ", %" PRIu32 ", ...): write '%.*s[%" PRIu32 "]'",
					 (int)best_len, path, ia, ib,
					 (int)best_len, path, ia);
		if (n > 1)
			return fail_path(err, path, "section '%.*s' instance %" PRIu32 " appears %zu times in the stream",
					 (int)best_len, path, ia, n);
		if (!sec->tree)
			return fail_path(err, path, "section '%s' is not decoded (%s)",
					 sec->name,
					 sec->undecoded ? sec->undecoded
							: "no layout");
		if (!*p)
			return fail_path(err, path, "this names a whole section: add a field, such as '%s.%s'",
					 path,
					 sec->tree->child && sec->tree->child->name
					 ? sec->tree->child->name : "x");
		walk(&rs, sec->tree, p, false, 0);
		if (rs.exact.count == 1 ||
		    (!rs.exact.count && rs.implicit.count == 1)) {
			*rec = sec;
			*node = rs.exact.count ? rs.exact.node
					       : rs.implicit.node;
			return 0;
		}
		if (rs.exact.count || rs.implicit.count)
			return fail_path(err, path, "%d fields match: name the subsection with {NAME}",
					 rs.exact.count ? rs.exact.count
							: rs.implicit.count);
		return fail_path(err, path, "at '%s': %s", path + rs.exact.best,
				 rs.exact.why[0] ? rs.exact.why
						 : "nothing matches");
	}
}

/* How many instances of @rec's id string the stream has, other than 0. */
static bool needs_instance(const struct mig_stream *s,
			   const struct mig_record *rec)
{
	if (rec->instance)
		return true;
	for (const struct mig_record *r = s->records; r; r = r->next)
		if ((r->type == MIG_REC_FULL || r->type == MIG_REC_START) &&
		    r->name && !strcmp(r->name, rec->name) &&
		    r->instance != rec->instance)
			return true;
	return false;
}

/* Appends the steps from the section root down to @n. */
static size_t format_steps(const struct mig_node *n, char *buf, size_t len,
			   size_t at)
{
	if (!n || n->kind == MIG_NODE_SECTION)
		return at;
	at = format_steps(n->parent, buf, len, at);
	if (at >= len)
		return at;
	switch (n->kind) {
	case MIG_NODE_SUBSECTION:
		at += (size_t)snprintf(buf + at, len - at, "{%s}", n->name);
		break;
	case MIG_NODE_FIELD:
		at += (size_t)snprintf(buf + at, len - at, ".%s", n->name);
		if (n->index >= 0 && at < len)
			at += (size_t)snprintf(buf + at, len - at,
					       "[%" PRId64 "]", n->index);
		break;
	case MIG_NODE_ELEMENT:
		at += (size_t)snprintf(buf + at, len - at, "[%" PRId64 "]",
				       n->index);
		break;
	default:
		break;
	}
	return at;
}

char *mig_path_format(const struct mig_stream *s, const struct mig_record *rec,
		      const struct mig_node *node, char *buf, size_t len)
{
	size_t at;

	if (!len)
		return buf;
	at = (size_t)snprintf(buf, len, "%s", rec->name);
	if (at < len && needs_instance(s, rec))
		at += (size_t)snprintf(buf + at, len - at, "[%" PRIu32 "]",
				       rec->instance);
	if (at < len)
		format_steps(node, buf, len, at);
	return buf;
}

void mig_patch_release(struct mig_patch *patch)
{
	if (!patch)
		return;
	free(patch->bytes);
	patch->bytes = NULL;
	patch->len = 0;
}

int mig_set_prepare(const struct mig_node *node, const char *text,
		    struct mig_patch *patch, struct mig_error *err)
{
	const char *type = node->type ? node->type : "unknown";
	json_t *v = NULL;
	size_t outlen;
	int ret;

	memset(patch, 0, sizeof(*patch));
	if (node->child || node->vkind == MIG_VAL_NONE) {
		if (is_elements(node))
			return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
					     "'%s' is an array of %zu: set one element, [0] to [%zu]",
					     node->name ? node->name : "?",
					     node->nchildren, node->nchildren - 1);
		return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				     "a %s has fields, not a value: set one of its fields",
				     type);
	}
	switch (node->vkind) {
	case MIG_VAL_STRING:
		return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				     "a %s has a variable size; set changes fixed-size fields only (use dump --lossless and encode)",
				     type);
	case MIG_VAL_NULLPTR:
		return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				     "a null pointer marker has no value to set");
	case MIG_VAL_BOOL:
		if (!strcmp(text, "true"))
			v = json_true();
		else if (!strcmp(text, "false"))
			v = json_false();
		else if (!strcmp(text, "0") || !strcmp(text, "1"))
			v = json_integer(text[0] - '0');
		else
			return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
					     "'%s' is not a bool (true, false, 1 or 0)",
					     text);
		break;
	default:
		v = json_string(text);
		break;
	}
	if (!v)
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory (or the value is not text)");
	if (!node->bytes || node->nbytes != node->size) {
		json_decref(v);
		return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				     "the field's bytes are not known");
	}
	patch->bytes = malloc(node->nbytes > 256 ? node->nbytes : 256);
	if (!patch->bytes) {
		json_decref(v);
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	}
	ret = mig_encode_value(type, node->nbytes, v, patch->bytes, &outlen,
			       err);
	json_decref(v);
	if (!ret && outlen != node->nbytes)
		ret = mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				    "the value would change the field's size");
	if (ret) {
		mig_patch_release(patch);
		return ret;
	}
	patch->offset = node->offset;
	patch->len = outlen;
	return 0;
}

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

int mig_set_write(struct mig_reader *r, uint64_t start,
		  const struct mig_patch *patches, size_t n,
		  struct mig_writer *w, struct mig_error *err)
{
	uint64_t size = mig_rd_size(r), at = start;
	const struct mig_patch **order;
	int ret;

	if (!mig_rd_seekable(r) || size == MIG_NO_OFFSET)
		return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				     "set needs an input it can read twice (mig_rd_make_seekable)");
	order = calloc(n ? n : 1, sizeof(*order));
	if (!order)
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	/* Insertion sort by offset: a handful of patches. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		while (j && order[j - 1]->offset > patches[i].offset) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = &patches[i];
	}
	ret = mig_rd_seek(r, start, err);
	for (size_t i = 0; i < n && !ret; i++) {
		const struct mig_patch *p = order[i];

		if (p->offset < at || p->offset > size ||
		    p->len > size - p->offset) {
			ret = mig_error_set(err, MIG_EINVAL, p->offset,
					    "changes overlap or lie outside the input");
			break;
		}
		ret = copy(r, p->offset - at, w, err);
		if (!ret)
			ret = mig_writer_write(w, p->bytes, p->len, err);
		if (!ret)
			ret = mig_rd_skip(r, p->len, err);
		at = p->offset + p->len;
	}
	if (!ret)
		ret = copy(r, size - at, w, err);
	free(order);
	return ret;
}
