/* SPDX-License-Identifier: MIT */
/*
 * The vmdesc-driven decoder.  The vmdesc lists each field as it was
 * written: a "size" per element, an optional "array_len" (all elements
 * alike) or "index" (one entry per element), nested descriptions for
 * structs, and the subsections that were sent, in order.  Payloads carry no
 * framing of their own, so the description is followed exactly and every
 * byte is accounted for; the section footer then confirms the extent.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migstream/vmdesc.h"


/* One step of the path shown in messages. */
struct step {
	bool subsection;
	const char *name;
	int64_t index;		/* element index, or -1 */
};

struct dctx {
	struct mig_reader *r;
	struct mig_error *err;
	const char *section;	/* "section 'cpu' (id 5)" */
	struct step steps[MIG_DEPTH_MAX * 2 + 2];
	int nsteps;
	size_t nodes;
};

bool mig_vmdesc_locate(const uint8_t *tail, size_t len, uint64_t tail_off,
		       uint64_t *marker_off, uint64_t *json_len)
{
	size_t lo, p;

	/* The JSON is an object that ends the input: without a final '}'
	 * there is nothing to look for (and no reason to touch the last
	 * MIG_VMDESC_MAX bytes of a large file). */
	if (len < 7 || tail[len - 1] != '}')
		return false;
	/* The trailer is at most MIG_VMDESC_MAX bytes of JSON plus 6. */
	lo = len > (size_t)MIG_VMDESC_MAX + 6 ? len - MIG_VMDESC_MAX - 6 : 1;
	for (p = len - 6; p >= lo; p--) {
		uint32_t n;

		if (tail[p] != 0x06 || tail[p - 1] != 0x00 || tail[p + 5] != '{')
			continue;
		n = (uint32_t)tail[p + 1] << 24 | (uint32_t)tail[p + 2] << 16 |
		    (uint32_t)tail[p + 3] << 8 | tail[p + 4];
		if (n == len - p - 5) {
			*marker_off = tail_off + p;
			*json_len = n;
			return true;
		}
	}
	return false;
}

int mig_vmdesc_parse(const uint8_t *json, size_t len, uint64_t off,
		     json_t **out, struct mig_error *err)
{
	json_error_t jerr;
	json_t *root, *devs;
	size_t i;
	json_t *dev;

	*out = NULL;
	if (len > MIG_VMDESC_MAX)
		return mig_error_set(err, MIG_ELIMIT, off,
				     "vmdesc of %zu bytes exceeds the limit of %u",
				     len, MIG_VMDESC_MAX);
	root = json_loadb((const char *)json, len, 0, &jerr);
	/* jansson's position is one past the bad byte, except for UTF-8
	 * errors, where it is the first byte of the bad sequence. */
	if (!root && jerr.position > 0 &&
	    json_error_code(&jerr) != json_error_invalid_utf8)
		jerr.position--;
	if (!root)
		return mig_error_set(err, MIG_EVMDESC, off + (uint64_t)jerr.position,
				     "vmdesc: bad JSON: %s (line %d, column %d)",
				     jerr.text, jerr.line, jerr.column);
	devs = json_object_get(root, "devices");
	if (!json_is_object(root) || !json_is_array(devs)) {
		json_decref(root);
		return mig_error_set(err, MIG_EVMDESC, off,
				     "vmdesc: no \"devices\" array");
	}
	json_array_foreach(devs, i, dev) {
		if (!json_is_object(dev) ||
		    !json_is_string(json_object_get(dev, "name")) ||
		    !json_is_integer(json_object_get(dev, "instance_id"))) {
			json_decref(root);
			return mig_error_set(err, MIG_EVMDESC, off,
					     "vmdesc: device entry %zu lacks \"name\" or \"instance_id\"",
					     i);
		}
	}
	*out = root;
	return 0;
}

json_t *mig_vmdesc_device(const json_t *vmdesc, const char *name,
			  uint32_t instance)
{
	json_t *devs = json_object_get(vmdesc, "devices");
	json_t *dev;
	size_t i;

	json_array_foreach(devs, i, dev) {
		const char *n = json_string_value(json_object_get(dev, "name"));
		json_int_t id = json_integer_value(json_object_get(dev,
							"instance_id"));

		if (n && !strcmp(n, name) && id == (json_int_t)instance)
			return dev;
	}
	return NULL;
}

bool mig_vmdesc_is_legacy(const json_t *dev)
{
	json_t *fields = json_object_get(dev, "fields");
	json_t *f0 = json_array_get(fields, 0);
	const char *n = json_string_value(json_object_get(f0, "name"));

	return !json_object_get(dev, "vmsd_name") &&
	       json_array_size(fields) == 1 && n && !strcmp(n, "data");
}

/* Writes the current position as "section '..' subsection '..' field 'a.b[2]'". */
static void fill_path(struct dctx *c)
{
	char *p = c->err->path;
	size_t cap = sizeof(c->err->path), n = 0;
	bool in_field = false;

	n += snprintf(p + n, cap - n, "%s", c->section);
	for (int i = 0; i < c->nsteps && n < cap; i++) {
		const struct step *s = &c->steps[i];

		if (s->subsection) {
			if (in_field)
				n += snprintf(p + n, cap - n, "'");
			in_field = false;
			n += snprintf(p + n, cap - n, " subsection '%s'",
				      s->name);
			continue;
		}
		if (!s->name)
			n += snprintf(p + n, cap - n, "[%" PRId64 "]", s->index);
		else if (!in_field)
			n += snprintf(p + n, cap - n, " field '%s", s->name);
		else
			n += snprintf(p + n, cap - n, ".%s", s->name);
		if (n < cap && s->name && s->index >= 0)
			n += snprintf(p + n, cap - n, "[%" PRId64 "]", s->index);
		in_field = true;
	}
	if (in_field && n < cap)
		snprintf(p + n, cap - n, "'");
}

/* Records an error at the current path; returns -code. */
static int fail(struct dctx *c, int code, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct dctx *c, int code, uint64_t off, const char *fmt, ...)
{
	char msg[MIG_MSG_MAX];
	va_list ap;

	if (!c->err || c->err->code)
		return -code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mig_error_set(c->err, code, off, "%s", msg);
	fill_path(c);
	return -code;
}

/* A reader error (truncation, I/O) gets the current path attached. */
static int rd_fail(struct dctx *c, int ret)
{
	if (c->err && c->err->code && !c->err->path[0])
		fill_path(c);
	return ret;
}

static int push(struct dctx *c, bool subsection, const char *name,
		int64_t index)
{
	if (c->nsteps >= (int)(sizeof(c->steps) / sizeof(c->steps[0])))
		return fail(c, MIG_ELIMIT, mig_rd_offset(c->r),
			    "nesting deeper than %d levels", MIG_DEPTH_MAX);
	c->steps[c->nsteps].subsection = subsection;
	c->steps[c->nsteps].name = name;
	c->steps[c->nsteps].index = index;
	c->nsteps++;
	return 0;
}

static void pop(struct dctx *c)
{
	c->nsteps--;
}

static struct mig_node *new_node(struct dctx *c, enum mig_node_kind kind,
				 const char *name, const char *type)
{
	struct mig_node *n;

	if (c->nodes >= MIG_SECTION_NODES_MAX) {
		fail(c, MIG_ELIMIT, mig_rd_offset(c->r),
		     "more than %u nodes in one section", MIG_SECTION_NODES_MAX);
		return NULL;
	}
	n = mig_node_new(kind, name, type);
	if (!n) {
		fail(c, MIG_ENOMEM, mig_rd_offset(c->r), "out of memory");
		return NULL;
	}
	c->nodes++;
	n->offset = mig_rd_offset(c->r);
	return n;
}

/* Integer types: wire width and signedness. */
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
	for (size_t i = 0; i < sizeof(int_types) / sizeof(int_types[0]); i++)
		if (!strcmp(int_types[i].name, type))
			return &int_types[i];
	return NULL;
}

static int decode_vmsd(struct dctx *c, const json_t *desc,
		       struct mig_node *parent, int depth);

/* Reads @n raw bytes into @node's value. */
static int read_raw(struct dctx *c, struct mig_node *node, uint64_t n)
{
	const uint8_t *p;
	int ret;

	if (n > MIG_FIELD_MAX)
		return fail(c, MIG_ELIMIT, mig_rd_offset(c->r),
			    "field of %" PRIu64 " bytes exceeds the limit of %u",
			    n, MIG_FIELD_MAX);
	ret = mig_rd_peek(c->r, (size_t)n, &p, c->err);
	if (ret)
		return rd_fail(c, ret);
	if (mig_node_set_bytes(node, p, (size_t)n))
		return fail(c, MIG_ENOMEM, mig_rd_offset(c->r), "out of memory");
	return mig_rd_skip(c->r, n, c->err);
}

/* A container (qtailq, qlist): 0x01 + element, repeated, then 0x00. */
static int decode_list(struct dctx *c, const json_t *f, struct mig_node *node,
		       int depth)
{
	for (int64_t i = 0;; i++) {
		struct mig_node *el;
		uint8_t mark;
		int ret;

		ret = mig_rd_u8(c->r, &mark, c->err);
		if (ret)
			return rd_fail(c, ret);
		if (mark == 0)
			return 0;
		if (mark != 1)
			return fail(c, MIG_EDECODE, mig_rd_offset(c->r) - 1,
				    "bad list marker 0x%02x (expected 0x00 or 0x01)",
				    mark);
		el = new_node(c, MIG_NODE_ELEMENT, NULL, "struct");
		if (!el)
			return -c->err->code;
		/* An element's bytes start with its 0x01 marker, so cutting
		 * the element cuts the marker too. */
		el->offset = mig_rd_offset(c->r) - 1;
		el->index = i;
		mig_node_append(node, el);
		ret = push(c, false, NULL, i);
		if (ret)
			return ret;
		ret = decode_vmsd(c, f, el, depth + 1);
		pop(c);
		if (ret)
			return ret;
		el->size = mig_rd_offset(c->r) - el->offset;
	}
}

/* Decodes one element of field @f (of @type, @size bytes) into @node. */
static int decode_elem(struct dctx *c, const json_t *f, const char *type,
		       uint64_t size, struct mig_node *node, int depth)
{
	const struct int_type *it;
	uint64_t start = mig_rd_offset(c->r);
	int ret = 0;

	if (!strcmp(type, "struct")) {
		const json_t *st = json_object_get(f, "struct");

		if (!json_is_object(st))
			return fail(c, MIG_EVMDESC, start,
				    "vmdesc: struct field without \"struct\" object");
		ret = decode_vmsd(c, st, node, depth + 1);
	} else if (!strcmp(type, "tmp") || !strcmp(type, "vstruct")) {
		/* Their description sits inline in the field object. */
		ret = decode_vmsd(c, f, node, depth + 1);
	} else if (!strcmp(type, "qtailq") || !strcmp(type, "qlist")) {
		ret = decode_list(c, f, node, depth);
	} else if (!strcmp(type, "gtree")) {
		return fail(c, MIG_EUNSUP, start,
			    "gtree fields cannot be framed from a vmdesc yet");
	} else if (!strcmp(type, "capability")) {
		char s[256];

		ret = mig_rd_str8(c->r, s, c->err);
		if (ret)
			return rd_fail(c, ret);
		if (strlen(s) != mig_rd_offset(c->r) - start - 1)
			return fail(c, MIG_EDECODE, start + 1 + strlen(s),
				    "capability '%s' goes on after a NUL byte", s);
		if (mig_node_set_bytes(node, s, strlen(s) + 1))
			return fail(c, MIG_ENOMEM, start, "out of memory");
		node->nbytes--;
		node->vkind = MIG_VAL_STRING;
	} else if (!strcmp(type, "nullptr")) {
		ret = read_raw(c, node, 1);
		if (ret)
			return ret;
		if (node->bytes[0] != 0x30)
			return fail(c, MIG_EDECODE, start,
				    "NULL pointer marker is 0x%02x, expected 0x30",
				    node->bytes[0]);
		node->vkind = MIG_VAL_NULLPTR;
	} else if (!strcmp(type, "bool")) {
		if (size != 1)
			return fail(c, MIG_EVMDESC, start,
				    "vmdesc: bool of size %" PRIu64, size);
		ret = read_raw(c, node, 1);
		if (ret)
			return ret;
		node->vkind = MIG_VAL_BOOL;
		node->u = node->bytes[0] != 0;
	} else if ((it = find_int_type(type))) {
		uint64_t v = 0;

		if (size != it->width)
			return fail(c, MIG_EVMDESC, start,
				    "vmdesc: %s of size %" PRIu64 " (expected %u)",
				    type, size, it->width);
		ret = read_raw(c, node, it->width);
		if (ret)
			return ret;
		for (unsigned i = 0; i < it->width; i++)
			v = v << 8 | node->bytes[i];
		if (it->is_signed) {
			unsigned shift = 64 - 8 * it->width;

			node->vkind = MIG_VAL_INT;
			/* Sign-extend through the unsigned type: no UB. */
			node->i = shift ? (int64_t)(v << shift) >> shift
					: (int64_t)v;
		} else {
			node->vkind = MIG_VAL_UINT;
		}
		node->u = v;
	} else {
		/* buffer, unused_buffer, bitmap, unknown, device-specific
		 * types ("pci config", "virtio", ...): raw bytes. */
		ret = read_raw(c, node, size);
		if (ret)
			return ret;
		node->vkind = MIG_VAL_BYTES;
	}
	if (ret)
		return ret;
	node->size = mig_rd_offset(c->r) - start;
	return 0;
}

static int get_u64(struct dctx *c, const json_t *obj, const char *key,
		   bool required, uint64_t *v)
{
	const json_t *j = json_object_get(obj, key);

	if (!j) {
		if (required)
			return fail(c, MIG_EVMDESC, mig_rd_offset(c->r),
				    "vmdesc: field lacks \"%s\"", key);
		return 1;
	}
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return fail(c, MIG_EVMDESC, mig_rd_offset(c->r),
			    "vmdesc: \"%s\" is not a non-negative integer", key);
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

static int decode_field(struct dctx *c, const json_t *f,
			struct mig_node *parent, int depth)
{
	const char *name = json_string_value(json_object_get(f, "name"));
	const char *type = json_string_value(json_object_get(f, "type"));
	const json_t *st;
	struct mig_node *node;
	uint64_t size = 0, alen = 0, index = 0;
	int has_alen, has_index, ret;

	if (!json_is_object(f) || !name)
		return fail(c, MIG_EVMDESC, mig_rd_offset(c->r),
			    "vmdesc: field entry without a \"name\"");
	if (!type)
		type = "unknown";
	ret = get_u64(c, f, "size", false, &size);
	if (ret < 0)
		return ret;
	has_alen = get_u64(c, f, "array_len", false, &alen);
	if (has_alen < 0)
		return has_alen;
	has_index = get_u64(c, f, "index", false, &index);
	if (has_index < 0)
		return has_index;
	if (has_alen == 0 && alen > MIG_ARRAY_MAX)
		return fail(c, MIG_ELIMIT, mig_rd_offset(c->r),
			    "vmdesc: array_len %" PRIu64 " exceeds the limit of %u",
			    alen, MIG_ARRAY_MAX);

	node = new_node(c, MIG_NODE_FIELD, name, type);
	if (!node)
		return -c->err->code;
	mig_node_append(parent, node);
	st = !strcmp(type, "struct") ? json_object_get(f, "struct") : f;
	if (json_is_string(json_object_get(st, "vmsd_name"))) {
		node->vmsd = strdup(json_string_value(json_object_get(st,
							"vmsd_name")));
		if (!node->vmsd)
			return fail(c, MIG_ENOMEM, node->offset, "out of memory");
	}
	if (json_is_integer(json_object_get(st, "version"))) {
		node->version = (uint32_t)json_integer_value(
			json_object_get(st, "version"));
		node->has_version = true;
	}
	if (has_index == 0)
		node->index = (int64_t)index;

	ret = push(c, false, name, node->index);
	if (ret)
		return ret;
	if (has_alen == 0) {
		node->array_len = (uint32_t)alen;
		for (uint64_t i = 0; i < alen && !ret; i++) {
			struct mig_node *el = new_node(c, MIG_NODE_ELEMENT,
						       NULL, type);

			if (!el) {
				ret = -c->err->code;
				break;
			}
			el->index = (int64_t)i;
			mig_node_append(node, el);
			ret = push(c, false, NULL, (int64_t)i);
			if (ret)
				break;
			ret = decode_elem(c, f, type, size, el, depth);
			pop(c);
			if (!ret && el->size == 0 && alen > MIG_EMPTY_ELEMENTS_MAX)
				ret = fail(c, MIG_ELIMIT, el->offset,
					   "vmdesc: array of %" PRIu64 " elements that take no bytes (at most %u)",
					   alen, MIG_EMPTY_ELEMENTS_MAX);
		}
	} else {
		ret = decode_elem(c, f, type, size, node, depth);
	}
	pop(c);
	if (ret)
		return ret;
	node->size = mig_rd_offset(c->r) - node->offset;
	return 0;
}

static int decode_subsection(struct dctx *c, const json_t *sub,
			     struct mig_node *parent, int depth)
{
	const char *want = json_string_value(json_object_get(sub, "vmsd_name"));
	uint64_t start = mig_rd_offset(c->r);
	struct mig_node *node;
	char name[256];
	uint32_t version;
	uint64_t want_version;
	uint8_t mark;
	int ret;

	if (!json_is_object(sub) || !want)
		return fail(c, MIG_EVMDESC, start,
			    "vmdesc: subsection without \"vmsd_name\"");
	ret = push(c, true, want, -1);
	if (ret)
		return ret;
	ret = mig_rd_u8(c->r, &mark, c->err);
	if (ret)
		return rd_fail(c, ret);
	if (mark != 0x05)
		return fail(c, MIG_EDECODE, start,
			    "expected subsection marker 0x05, found 0x%02x",
			    mark);
	ret = mig_rd_str8(c->r, name, c->err);
	if (ret)
		return rd_fail(c, ret);
	/* A NUL would cut the name short and match a shorter one. */
	if (strlen(name) != mig_rd_offset(c->r) - start - 2)
		return fail(c, MIG_EDECODE, start + 2 + strlen(name),
			    "subsection name '%s' goes on after a NUL byte",
			    name);
	ret = mig_rd_be32(c->r, &version, c->err);
	if (ret)
		return rd_fail(c, ret);
	if (strcmp(name, want))
		return fail(c, MIG_EDECODE, start + 1,
			    "subsection is '%s', the vmdesc says '%s'", name,
			    want);
	ret = get_u64(c, sub, "version", false, &want_version);
	if (ret < 0)
		return ret;
	if (ret == 0 && want_version != version)
		return fail(c, MIG_EDECODE, start + 2 + strlen(name),
			    "subsection version %u, the vmdesc says %" PRIu64,
			    version, want_version);
	node = new_node(c, MIG_NODE_SUBSECTION, name, NULL);
	if (!node)
		return -c->err->code;
	node->offset = start;
	node->version = version;
	node->has_version = true;
	mig_node_append(parent, node);
	ret = decode_vmsd(c, sub, node, depth + 1);
	if (ret)
		return ret;
	pop(c);
	node->size = mig_rd_offset(c->r) - start;
	return 0;
}

/* Fields, then subsections, of one description (section, struct, sub). */
static int decode_vmsd(struct dctx *c, const json_t *desc,
		       struct mig_node *parent, int depth)
{
	const json_t *fields = json_object_get(desc, "fields");
	const json_t *subs = json_object_get(desc, "subsections");
	const json_t *f;
	size_t i;
	int ret;

	if (depth > MIG_DEPTH_MAX)
		return fail(c, MIG_ELIMIT, mig_rd_offset(c->r),
			    "nesting deeper than %d levels", MIG_DEPTH_MAX);
	if (fields && !json_is_array(fields))
		return fail(c, MIG_EVMDESC, mig_rd_offset(c->r),
			    "vmdesc: \"fields\" is not an array");
	if (subs && !json_is_array(subs))
		return fail(c, MIG_EVMDESC, mig_rd_offset(c->r),
			    "vmdesc: \"subsections\" is not an array");
	json_array_foreach(fields, i, f) {
		ret = decode_field(c, f, parent, depth);
		if (ret)
			return ret;
	}
	json_array_foreach(subs, i, f) {
		ret = decode_subsection(c, f, parent, depth);
		if (ret)
			return ret;
	}
	return 0;
}

int mig_vmdesc_decode(struct mig_reader *r, const json_t *dev,
		      const char *path, struct mig_node **out,
		      struct mig_error *err)
{
	struct mig_error local;
	struct dctx c = {
		.r = r,
		.err = err ? err : &local,
		.section = path ? path : "",
	};
	const char *name = json_string_value(json_object_get(dev, "name"));
	const json_t *vmsd = json_object_get(dev, "vmsd_name");
	const json_t *ver = json_object_get(dev, "version");
	struct mig_node *root;
	int ret;

	if (!err)
		mig_error_clear(&local);
	*out = NULL;
	root = new_node(&c, MIG_NODE_SECTION, name, NULL);
	if (!root)
		return -c.err->code;
	if (json_is_string(vmsd) &&
	    !(root->vmsd = strdup(json_string_value(vmsd)))) {
		mig_node_free(root);
		return fail(&c, MIG_ENOMEM, mig_rd_offset(r), "out of memory");
	}
	if (json_is_integer(ver)) {
		root->version = (uint32_t)json_integer_value(ver);
		root->has_version = true;
	}
	ret = decode_vmsd(&c, dev, root, 0);
	root->size = mig_rd_offset(r) - root->offset;
	*out = root;
	return ret;
}
