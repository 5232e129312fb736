/* SPDX-License-Identifier: MIT */
/*
 * Output shapes.  Every builder walks the stream in order and returns a new
 * jansson tree; json_*_set_new / json_array_append_new steal the reference
 * they are given, so each value is created and handed over in one step.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migstream/output.h"

json_t *mig_json_u64(uint64_t v)
{
	char buf[24];

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
}

/* Lower-case hex of @n bytes; @sep between bytes when non-zero. */
static json_t *hex_string(const uint8_t *p, size_t n, char sep)
{
	static const char digits[] = "0123456789abcdef";
	size_t len = n * (sep ? 3 : 2);
	char *s = malloc(len + 1);
	size_t k = 0;
	json_t *j;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (sep && i)
			s[k++] = sep;
		s[k++] = digits[p[i] >> 4];
		s[k++] = digits[p[i] & 15];
	}
	s[k] = '\0';
	j = json_stringn(s, k);
	free(s);
	return j;
}

/* Text that may not be UTF-8 (read from the input): hex when it is not. */
static json_t *safe_string(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);

	return j ? j : hex_string((const uint8_t *)s, n, 0);
}

static const char *kind_name(enum mig_section_kind k)
{
	switch (k) {
	case MIG_SEC_VMSTATE:
		return "vmstate";
	case MIG_SEC_LEGACY:
		return "legacy";
	case MIG_SEC_RAM:
		return "ram";
	case MIG_SEC_UNDECODED:
		return "undecoded";
	}
	return "unknown";
}

static const char *rec_key(enum mig_rec_type t)
{
	switch (t) {
	case MIG_REC_START:
		return "start";
	case MIG_REC_PART:
		return "part";
	case MIG_REC_END:
		return "end";
	case MIG_REC_FULL:
		return "full";
	case MIG_REC_COMMAND:
		return "command";
	case MIG_REC_EOF:
		return "eof";
	default:
		return "unknown";
	}
}

static bool is_struct_type(const char *type)
{
	return type && (!strcmp(type, "struct") || !strcmp(type, "tmp") ||
			!strcmp(type, "vstruct") || !strcmp(type, "qtailq") ||
			!strcmp(type, "qlist"));
}

/* ------------------------------------------------------------------ */
/* dump --format tree                                                  */

static json_t *leaf_value(const struct mig_node *n)
{
	switch (n->vkind) {
	case MIG_VAL_UINT:
		return mig_json_u64(n->u);
	case MIG_VAL_INT:
		return json_integer(n->i);
	case MIG_VAL_BOOL:
		return json_boolean(n->u);
	case MIG_VAL_STRING:
		return safe_string((const char *)n->bytes, n->nbytes);
	case MIG_VAL_NULLPTR:
		return json_null();
	case MIG_VAL_BYTES:
		return hex_string(n->bytes, n->nbytes, 0);
	case MIG_VAL_NONE:
		break;
	}
	return json_null();
}

static void add_offsets(json_t *o, const struct mig_node *n, unsigned flags)
{
	if (!(flags & MIG_DUMP_OFFSETS))
		return;
	json_object_set_new(o, "offset", mig_json_u64(n->offset));
	json_object_set_new(o, "size", mig_json_u64(n->size));
}

static json_t *node_json(const struct mig_node *n, unsigned flags);

/* "fields" and "subsections" of a struct-like node, into @o. */
static void body_json(json_t *o, const struct mig_node *n, unsigned flags)
{
	json_t *fields = json_array();
	json_t *subs = json_array();

	for (const struct mig_node *k = n->child; k; k = k->next)
		json_array_append_new(k->kind == MIG_NODE_SUBSECTION ? subs
								      : fields,
				      node_json(k, flags));
	json_object_set_new(o, "fields", fields);
	json_object_set_new(o, "subsections", subs);
}

static json_t *element_json(const struct mig_node *el, unsigned flags)
{
	json_t *o = json_object();

	if (is_struct_type(el->type))
		body_json(o, el, flags);
	else
		json_object_set_new(o, "value", leaf_value(el));
	add_offsets(o, el, flags);
	return o;
}

static json_t *node_json(const struct mig_node *n, unsigned flags)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", safe_string(n->name, strlen(n->name)));
	if (n->kind == MIG_NODE_SUBSECTION) {
		json_object_set_new(o, "version", json_integer(n->version));
		body_json(o, n, flags);
		add_offsets(o, n, flags);
		return o;
	}
	json_object_set_new(o, "type", json_string(n->type ? n->type
							    : "unknown"));
	if (n->index >= 0)
		json_object_set_new(o, "index", json_integer(n->index));
	if (n->vmsd)
		json_object_set_new(o, "vmsd", json_string(n->vmsd));
	if (n->has_version)
		json_object_set_new(o, "version", json_integer(n->version));
	if (n->array_len || (n->child && n->child->kind == MIG_NODE_ELEMENT &&
			     !is_struct_type(n->type))) {
		json_t *vals = json_array();
		bool structs = is_struct_type(n->type);

		json_object_set_new(o, "array_len", json_integer(n->array_len));
		for (const struct mig_node *k = n->child; k; k = k->next)
			json_array_append_new(vals, structs ? element_json(k, flags)
							    : leaf_value(k));
		json_object_set_new(o, structs ? "elements" : "value", vals);
	} else if (n->type && (!strcmp(n->type, "qtailq") ||
			       !strcmp(n->type, "qlist"))) {
		json_t *els = json_array();

		for (const struct mig_node *k = n->child; k; k = k->next)
			json_array_append_new(els, element_json(k, flags));
		json_object_set_new(o, "elements", els);
	} else if (is_struct_type(n->type)) {
		body_json(o, n, flags);
	} else {
		json_object_set_new(o, "value", leaf_value(n));
	}
	add_offsets(o, n, flags);
	return o;
}

static json_t *config_json(const struct mig_stream *s)
{
	json_t *o, *caps;

	if (!s->has_config)
		return json_null();
	o = json_object();
	json_object_set_new(o, "machine", s->machine ? json_string(s->machine)
						     : json_null());
	caps = json_array();
	for (size_t i = 0; i < s->ncaps; i++)
		json_array_append_new(caps, json_string(s->caps[i]));
	json_object_set_new(o, "capabilities", caps);
	if (s->has_uuid) {
		char u[40];
		const uint8_t *b = s->uuid;

		snprintf(u, sizeof(u),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8],
			 b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
		json_object_set_new(o, "uuid", json_string(u));
	}
	if (s->has_page_bits)
		json_object_set_new(o, "target_page_bits",
				    json_integer(s->page_bits));
	return o;
}

static json_t *ram_chunk_json(const struct mig_ram_chunk *c)
{
	json_t *o = json_object();

	json_object_set_new(o, "pages", mig_json_u64(c->pages));
	json_object_set_new(o, "zero_pages", mig_json_u64(c->zero));
	json_object_set_new(o, "page_bytes", mig_json_u64(c->page_bytes));
	json_object_set_new(o, "multifd_flushes", mig_json_u64(c->flushes));
	json_object_set_new(o, "blocks", json_integer((json_int_t)c->nblocks));
	/* Only in streams that have such records. */
	if (c->compressed)
		json_object_set_new(o, "compressed_pages",
				    mig_json_u64(c->compressed));
	if (c->xbzrle)
		json_object_set_new(o, "xbzrle_pages", mig_json_u64(c->xbzrle));
	return o;
}

static json_t *ram_blocks_json(const struct mig_stream *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->nram_blocks; i++) {
		const struct mig_ram_block *b = &s->ram_blocks[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", safe_string(b->name,
							   strlen(b->name)));
		json_object_set_new(o, "length", mig_json_u64(b->length));
		json_object_set_new(o, "pages", mig_json_u64(b->pages));
		json_object_set_new(o, "zero_pages", mig_json_u64(b->zero));
		/* Keys below only where the stream has the feature. */
		if (b->compressed)
			json_object_set_new(o, "compressed_pages",
					    mig_json_u64(b->compressed));
		if (b->xbzrle)
			json_object_set_new(o, "xbzrle_pages",
					    mig_json_u64(b->xbzrle));
		if (b->has_addr)
			json_object_set_new(o, "address", mig_json_u64(b->addr));
		if (b->page_size)
			json_object_set_new(o, "page_size",
					    mig_json_u64(b->page_size));
		if (b->mapped) {
			json_t *m = json_object();

			json_object_set_new(m, "bitmap_offset",
					    mig_json_u64(b->bitmap_offset));
			json_object_set_new(m, "pages_offset",
					    mig_json_u64(b->pages_offset));
			json_object_set_new(o, "mapped_ram", m);
		}
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *record_json(const struct mig_record *rec, unsigned flags)
{
	json_t *o = json_object();

	json_object_set_new(o, "record", json_string(rec_key(rec->type)));
	if (flags & MIG_DUMP_OFFSETS) {
		json_object_set_new(o, "offset", mig_json_u64(rec->offset));
		json_object_set_new(o, "size", mig_json_u64(rec->size));
	}
	switch (rec->type) {
	case MIG_REC_START:
	case MIG_REC_PART:
	case MIG_REC_END:
	case MIG_REC_FULL:
		json_object_set_new(o, "section_id",
				    json_integer(rec->section_id));
		json_object_set_new(o, "name", rec->name
			? safe_string(rec->name, strlen(rec->name)) : json_null());
		json_object_set_new(o, "instance", json_integer(rec->instance));
		json_object_set_new(o, "version", json_integer(rec->version));
		json_object_set_new(o, "kind", json_string(kind_name(rec->kind)));
		if (rec->vmsd)
			json_object_set_new(o, "vmsd", json_string(rec->vmsd));
		/* Decoded with a schema instead of a vmdesc: which one. */
		if (rec->schema)
			json_object_set_new(o, "schema", json_string(rec->schema));
		if (rec->kind == MIG_SEC_RAM)
			json_object_set_new(o, "ram", ram_chunk_json(&rec->ram));
		else if (rec->tree)
			body_json(o, rec->tree, flags);
		if (rec->undecoded)
			json_object_set_new(o, "undecoded",
					    json_string(rec->undecoded));
		break;
	case MIG_REC_COMMAND: {
		const char *name = mig_cmd_name(rec->cmd);

		json_object_set_new(o, "command", name ? json_string(name)
						       : json_null());
		json_object_set_new(o, "id", json_integer(rec->cmd));
		json_object_set_new(o, "length", json_integer(rec->cmd_len));
		json_object_set_new(o, "data", rec->cmd_data
			? hex_string(rec->cmd_data, rec->cmd_len, 0)
			: json_string(""));
		break;
	}
	default:
		break;
	}
	return o;
}

static json_t *vmdesc_json(const struct mig_stream *s)
{
	json_t *o;

	if (!s->has_vmdesc)
		return json_null();
	o = json_object();
	json_object_set_new(o, "offset", mig_json_u64(s->vmdesc_offset));
	json_object_set_new(o, "size", mig_json_u64(s->vmdesc_size));
	return o;
}

/* The schema a stream without a vmdesc was decoded with, and why. */
static json_t *schema_json(const struct mig_stream *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", s->schema ? json_string(s->schema)
						 : json_null());
	json_object_set_new(o, "why", json_string(s->schema_why));
	return o;
}

json_t *mig_dump_json(const struct mig_stream *s, unsigned flags)
{
	json_t *o = json_object();
	json_t *recs = json_array();

	if (!o || !recs) {
		json_decref(o);
		json_decref(recs);
		return NULL;
	}
	json_object_set_new(o, "migstream_dump",
			    json_integer(MIG_DUMP_FORMAT_VERSION));
	json_object_set_new(o, "file", safe_string(s->name, strlen(s->name)));
	json_object_set_new(o, "size", s->size == MIG_NO_OFFSET ? json_null()
						: mig_json_u64(s->size));
	/* Only for a wrapped input: a bare stream's document is unchanged. */
	if (s->wrapper)
		json_object_set_new(o, "wrapper",
				    mig_wrapper_json(s->wrapper, true));
	json_object_set_new(o, "file_version", json_integer(s->file_version));
	json_object_set_new(o, "configuration", config_json(s));
	json_object_set_new(o, "footers", json_boolean(s->footers));
	json_object_set_new(o, "page_size", mig_json_u64(s->page_size));
	for (const struct mig_record *r = s->records; r; r = r->next)
		json_array_append_new(recs, record_json(r, flags));
	json_object_set_new(o, "records", recs);
	json_object_set_new(o, "ram_blocks", ram_blocks_json(s));
	json_object_set_new(o, "vmdesc", vmdesc_json(s));
	if (s->schema_why)
		json_object_set_new(o, "schema", schema_json(s));
	json_object_set_new(o, "complete", json_boolean(s->complete));
	return o;
}

/* ------------------------------------------------------------------ */
/* dump --format analyze: what analyze-migration.py -d state prints.   */

/* The script's formatters by vmdesc type; everything else is hex bytes. */
static const char *const analyze_signed[] = {
	"int8", "int16", "int32", "int64", "int32 equal", "int32 le",
	"int64 equal", "uint8 equal", "uint16 equal", NULL,
};
static const char *const analyze_unsigned[] = {
	"uint8", "uint16", "uint32", "uint64", "uint32 equal", NULL,
};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* Appends the raw bytes of every leaf below @n, in stream order. */
static int collect_bytes(const struct mig_node *n, uint8_t **buf,
			 size_t *len, size_t *cap)
{
	/* An empty leaf adds nothing (and *buf may still be NULL). */
	if (n->bytes && n->nbytes) {
		if (n->nbytes > *cap - *len) {
			size_t ncap = (*cap ? *cap * 2 : 64) + n->nbytes;
			uint8_t *p = realloc(*buf, ncap);

			if (!p)
				return -1;
			*buf = p;
			*cap = ncap;
		}
		memcpy(*buf + *len, n->bytes, n->nbytes);
		*len += n->nbytes;
	}
	for (const struct mig_node *k = n->child; k; k = k->next)
		if (collect_bytes(k, buf, len, cap))
			return -1;
	return 0;
}

static json_t *analyze_int(const struct mig_node *n, bool is_signed)
{
	char buf[64];
	int width = (int)n->nbytes * 2;
	uint64_t u = 0;

	for (size_t i = 0; i < n->nbytes; i++)
		u = u << 8 | n->bytes[i];
	if (is_signed && n->nbytes && (n->bytes[0] & 0x80)) {
		unsigned shift = 64 - 8 * (unsigned)n->nbytes;
		int64_t v = shift ? (int64_t)(u << shift) >> shift : (int64_t)u;

		snprintf(buf, sizeof(buf), "0x%0*" PRIx64 " (%" PRId64 ")",
			 width, u, v);
	} else {
		snprintf(buf, sizeof(buf), "0x%0*" PRIx64, width, u);
	}
	return json_string(buf);
}

static json_t *analyze_body(const struct mig_node *n);

static json_t *analyze_value(const struct mig_node *n)
{
	const char *type = n->type ? n->type : "unknown";
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	json_t *j;

	if (!strcmp(type, "struct"))
		return analyze_body(n);
	if (!strcmp(type, "bool"))
		return json_boolean(n->nbytes && n->bytes[0]);
	if (!strcmp(type, "nullptr"))
		return json_string("nullptr");
	if (!strcmp(type, "capability"))
		return safe_string((const char *)n->bytes, n->nbytes);
	if (in_list(analyze_signed, type))
		return analyze_int(n, true);
	if (in_list(analyze_unsigned, type))
		return analyze_int(n, false);
	if (collect_bytes(n, &buf, &len, &cap)) {
		free(buf);
		return NULL;
	}
	j = hex_string(buf, len, ' ');
	free(buf);
	return j;
}

/* The script collects repeated names into a list, in stream order. */
static void analyze_add(json_t *o, const char *key, json_t *v)
{
	json_t *old = json_object_get(o, key);

	if (!old) {
		json_object_set_new(o, key, v);
	} else if (json_is_array(old)) {
		json_array_append_new(old, v);
	} else {
		json_t *a = json_array();

		json_array_append(a, old);	/* borrowed: take a reference */
		json_array_append_new(a, v);
		json_object_set_new(o, key, a);
	}
}

static json_t *analyze_body(const struct mig_node *n)
{
	json_t *o = json_object();

	for (const struct mig_node *k = n->child; k; k = k->next) {
		if (k->kind == MIG_NODE_SUBSECTION) {
			json_object_set_new(o, k->name, analyze_body(k));
		} else if (k->array_len) {
			for (const struct mig_node *e = k->child; e; e = e->next)
				analyze_add(o, k->name, analyze_value(e));
		} else {
			analyze_add(o, k->name, analyze_value(k));
		}
	}
	return o;
}

json_t *mig_dump_analyze(const struct mig_stream *s)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	for (const struct mig_record *r = s->records; r; r = r->next) {
		char key[300];

		/* A record cut inside its header has no name (NULL). */
		if ((r->type != MIG_REC_START && r->type != MIG_REC_FULL) ||
		    !r->name)
			continue;
		snprintf(key, sizeof(key), "%s (%" PRIu32 ")", r->name,
			 r->section_id);
		if (json_object_get(o, key))
			continue;
		if (r->kind == MIG_SEC_RAM) {
			json_t *sizes = json_object();
			json_t *ram = json_object();

			for (size_t i = 0; i < s->nram_blocks; i++) {
				char v[24];

				snprintf(v, sizeof(v), "0x%016" PRIx64,
					 s->ram_blocks[i].length);
				json_object_set_new(sizes, s->ram_blocks[i].name,
						    json_string(v));
			}
			json_object_set_new(ram, "section sizes", sizes);
			json_object_set_new(o, key, ram);
		} else if (r->tree) {
			json_object_set_new(o, key, analyze_body(r->tree));
		} else {
			json_object_set_new(o, key, json_string(""));
		}
	}
	return o;
}

/* ------------------------------------------------------------------ */
/* info                                                                */

/* The entry of section @id in @by_id (its id in decimal -> the entry):
 * a stream may have a section per 20 bytes, too many to search a list. */
static json_t *find_section_entry(json_t *by_id, uint32_t id)
{
	char key[16];

	snprintf(key, sizeof(key), "%" PRIu32, id);
	return json_object_get(by_id, key);
}

json_t *mig_info_json(const struct mig_stream *s)
{
	json_t *o = json_object();
	json_t *conf = config_json(s);
	json_t *secs = json_array();
	json_t *by_id = json_object();
	json_t *cmds = json_array();
	struct mig_ram_chunk total = { 0 };

	json_object_set_new(o, "migstream_info",
			    json_integer(MIG_INFO_FORMAT_VERSION));
	json_object_set_new(o, "file", safe_string(s->name, strlen(s->name)));
	json_object_set_new(o, "size", s->size == MIG_NO_OFFSET ? json_null()
						: mig_json_u64(s->size));
	/* Only for a wrapped input: a bare stream's document is unchanged. */
	if (s->wrapper)
		json_object_set_new(o, "wrapper",
				    mig_wrapper_json(s->wrapper, true));
	json_object_set_new(o, "file_version", json_integer(s->file_version));
	json_object_set_new(o, "configuration", conf);
	json_object_set_new(o, "footers", json_boolean(s->footers));
	json_object_set_new(o, "page_size", mig_json_u64(s->page_size));
	json_object_set_new(o, "vmdesc", vmdesc_json(s));
	if (s->schema_why)
		json_object_set_new(o, "schema", schema_json(s));

	for (const struct mig_record *r = s->records; r; r = r->next) {
		json_t *e;

		if (r->type == MIG_REC_COMMAND) {
			const char *name = mig_cmd_name(r->cmd);

			e = json_object();
			json_object_set_new(e, "command", name ? json_string(name)
							       : json_null());
			json_object_set_new(e, "id", json_integer(r->cmd));
			json_object_set_new(e, "length", json_integer(r->cmd_len));
			json_object_set_new(e, "offset", mig_json_u64(r->offset));
			json_array_append_new(cmds, e);
			continue;
		}
		/* EOF, or a section record cut inside its header: no name
		 * (NULL), nothing to list. */
		if (r->type == MIG_REC_EOF || !r->name)
			continue;
		e = find_section_entry(by_id, r->section_id);
		if (!e) {
			e = json_object();
			json_object_set_new(e, "section_id",
					    json_integer(r->section_id));
			json_object_set_new(e, "name",
					    safe_string(r->name, strlen(r->name)));
			json_object_set_new(e, "instance",
					    json_integer(r->instance));
			json_object_set_new(e, "version", json_integer(r->version));
			json_object_set_new(e, "kind",
					    json_string(kind_name(r->kind)));
			json_object_set_new(e, "offset", mig_json_u64(r->offset));
			json_object_set_new(e, "bytes", json_integer(0));
			json_object_set_new(e, "records", json_integer(0));
			if (r->vmsd)
				json_object_set_new(e, "vmsd",
						    json_string(r->vmsd));
			json_array_append_new(secs, e);
			{
				char key[16];

				snprintf(key, sizeof(key), "%" PRIu32,
					 r->section_id);
				json_object_set(by_id, key, e);
			}
		}
		json_object_set_new(e, "bytes", mig_json_u64(
			(uint64_t)json_integer_value(json_object_get(e, "bytes")) +
			r->size));
		json_object_set_new(e, "records", json_integer(
			json_integer_value(json_object_get(e, "records")) + 1));
		if (r->tree)
			json_object_set_new(e, "nodes", json_integer(
				(json_int_t)mig_node_count(r->tree) - 1));
		if (r->undecoded)
			json_object_set_new(e, "undecoded",
					    json_string(r->undecoded));
		if (r->schema)
			json_object_set_new(e, "schema", json_string(r->schema));
		if (r->kind == MIG_SEC_RAM) {
			total.pages += r->ram.pages;
			total.zero += r->ram.zero;
			total.page_bytes += r->ram.page_bytes;
			total.flushes += r->ram.flushes;
			total.nblocks += r->ram.nblocks;
			total.compressed += r->ram.compressed;
			total.xbzrle += r->ram.xbzrle;
		}
	}
	json_decref(by_id);
	json_object_set_new(o, "sections", secs);
	json_object_set_new(o, "ram_blocks", ram_blocks_json(s));
	json_object_set_new(o, "ram", ram_chunk_json(&total));
	json_object_set_new(o, "commands", cmds);
	json_object_set_new(o, "records", json_integer((json_int_t)s->nrecords));
	json_object_set_new(o, "end", mig_json_u64(s->end));
	json_object_set_new(o, "complete", json_boolean(s->complete));
	return o;
}
