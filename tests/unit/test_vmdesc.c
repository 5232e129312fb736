/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for vmdesc.c: locating and parsing the trailer, and decoding
 * section payloads with a device description (FORMAT.md sections 2, 3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder.h"

/* Payloads start here in the input, so offsets are checked as absolute. */
#define BASE 16u
#define PATH "section 'x' (id 3)"

/* One decode: the tree, the error and where the reader stopped. */
struct dec {
	int ret;
	struct mig_node *tree;
	struct mig_error err;
	uint64_t end;
};

/* Decodes @payload (after BASE filler bytes) with the device in @dev_q
 * (single-quoted JSON). */
static struct dec decode(const struct buf *payload, const char *dev_q)
{
	struct buf in = { 0 };
	struct mig_reader *r = NULL;
	struct dec d;
	json_t *dev = json_q(dev_q);

	assert_non_null(dev);
	buf_fill(&in, 0xee, BASE);
	buf_put(&in, payload->p, payload->len);
	assert_int_equal(mig_reader_from_mem(&r, in.p, in.len, "t", NULL), 0);
	assert_int_equal(mig_rd_skip(r, BASE, NULL), 0);
	mig_error_clear(&d.err);
	d.tree = NULL;
	d.ret = mig_vmdesc_decode(r, dev, PATH, &d.tree, &d.err);
	d.end = mig_rd_offset(r);
	mig_reader_free(r);
	json_decref(dev);
	buf_free(&in);
	return d;
}

static void assert_dec_err(const struct dec *d, int code, uint64_t off,
			   const char *path, const char *msg)
{
	assert_int_equal(d->ret, -code);
	assert_int_equal(d->err.code, code);
	assert_int_equal(d->err.offset, off);
	assert_string_equal(d->err.path, path);
	if (msg)
		assert_string_equal(d->err.msg, msg);
}

static void assert_leaf(const struct mig_node *n, const char *name,
			const char *type, uint64_t off, uint64_t size)
{
	assert_non_null(n);
	if (name)
		assert_string_equal(n->name, name);
	assert_string_equal(n->type, type);
	assert_int_equal(n->offset, off);
	assert_int_equal(n->size, size);
}

/* A device "x" with the given fields (JSON array text, single quotes). */
#define DEV(fields) \
	"{'name': 'x', 'instance_id': 0, 'vmsd_name': 'x', 'version': 1, " \
	"'fields': " fields "}"
#define DEV_SUBS(fields, subs) \
	"{'name': 'x', 'instance_id': 0, 'vmsd_name': 'x', 'version': 1, " \
	"'fields': " fields ", 'subsections': " subs "}"

/* ------------------------------------------------------------------ */
/* mig_vmdesc_locate                                                   */

static void locate_finds_the_trailer(void **state)
{
	struct buf b = { 0 };
	uint64_t marker = 0, jlen = 0;
	json_t *j = json_q("{'devices': []}");

	(void)state;
	buf_fill(&b, 0x42, 10);
	put_eof(&b);
	put_vmdesc(&b, j);
	assert_true(mig_vmdesc_locate(b.p, b.len, 1000, &marker, &jlen));
	assert_int_equal(marker, 1000 + 11);
	assert_int_equal(jlen, strlen("{\"devices\":[]}"));
	json_decref(j);
	buf_free(&b);
}

static void locate_without_trailer(void **state)
{
	struct buf b = { 0 };
	uint64_t marker = 7, jlen = 7;

	(void)state;
	buf_fill(&b, 0x00, 40);
	assert_false(mig_vmdesc_locate(b.p, b.len, 0, &marker, &jlen));
	assert_false(mig_vmdesc_locate(b.p, 6, 0, &marker, &jlen));
	assert_false(mig_vmdesc_locate(b.p, 0, 0, &marker, &jlen));
	assert_int_equal(marker, 7);	/* untouched */
	assert_int_equal(jlen, 7);
	buf_free(&b);
}

static void locate_smallest_trailer(void **state)
{
	static const uint8_t t[] = { 0x00, 0x06, 0, 0, 0, 2, '{', '}' };
	uint64_t marker, jlen;

	(void)state;
	assert_true(mig_vmdesc_locate(t, sizeof(t), 5, &marker, &jlen));
	assert_int_equal(marker, 6);
	assert_int_equal(jlen, 2);
}

/* A JSON object ends with '}': anything else is not a trailer, and the
 * tail of a large file is not even scanned. */
static void locate_needs_a_closing_brace(void **state)
{
	static const uint8_t t[] = { 0x00, 0x06, 0, 0, 0, 2, '{', ' ' };
	uint64_t marker, jlen;

	(void)state;
	assert_false(mig_vmdesc_locate(t, sizeof(t), 5, &marker, &jlen));
}

static void locate_rejects_a_wrong_length(void **state)
{
	struct buf b = { 0 };
	uint64_t marker, jlen;

	(void)state;
	put_eof(&b);
	buf_u8(&b, MIG_REC_VMDESC);
	buf_be32(&b, 3);		/* but 2 bytes follow */
	buf_put(&b, "{}", 2);
	assert_false(mig_vmdesc_locate(b.p, b.len, 0, &marker, &jlen));
	buf_free(&b);
}

static void locate_needs_the_eof_byte_and_a_brace(void **state)
{
	static const uint8_t no_eof[] = { 0x01, 0x06, 0, 0, 0, 2, '{', '}' };
	static const uint8_t no_brace[] = { 0x00, 0x06, 0, 0, 0, 2, '[', ']' };
	uint64_t marker, jlen;

	(void)state;
	assert_false(mig_vmdesc_locate(no_eof, sizeof(no_eof), 0, &marker,
				       &jlen));
	assert_false(mig_vmdesc_locate(no_brace, sizeof(no_brace), 0, &marker,
				       &jlen));
}

static void locate_skips_false_candidates(void **state)
{
	struct buf b = { 0 };
	uint64_t marker, jlen;
	json_t *j = json_q("{'devices': [], 'page_size': 4096}");
	size_t real;

	(void)state;
	/* Payload bytes that look like a trailer but whose length does not
	 * reach the end. */
	buf_u8(&b, 0x00);
	buf_u8(&b, 0x06);
	buf_be32(&b, 2);
	buf_put(&b, "{}", 2);
	buf_fill(&b, 0x11, 5);
	real = b.len;
	put_eof(&b);
	put_vmdesc(&b, j);
	assert_true(mig_vmdesc_locate(b.p, b.len, 0, &marker, &jlen));
	assert_int_equal(marker, real + 1);
	assert_int_equal(jlen, b.len - real - 6);
	json_decref(j);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* mig_vmdesc_parse, mig_vmdesc_device, mig_vmdesc_is_legacy           */

static int parse_text(const char *text, uint64_t off, json_t **out,
		      struct mig_error *err)
{
	mig_error_clear(err);
	return mig_vmdesc_parse((const uint8_t *)text, strlen(text), off, out,
				err);
}

static void parse_accepts_a_vmdesc(void **state)
{
	struct mig_error err;
	json_t *j = NULL;

	(void)state;
	assert_int_equal(parse_text("{\"page_size\": 4096, \"devices\": [{\"name\": \"a\", \"instance_id\": 0}]}",
				    100, &j, &err), 0);
	assert_non_null(j);
	assert_int_equal(err.code, 0);
	json_decref(j);
}

static void parse_bad_json_points_into_the_json(void **state)
{
	const char *text = "{\"devices\": [1,, 2]}";
	struct mig_error err;
	json_t *j = (json_t *)&j;

	(void)state;
	assert_int_equal(parse_text(text, 100, &j, &err), -MIG_EVMDESC);
	assert_null(j);
	assert_int_equal(err.code, MIG_EVMDESC);
	/* At the second comma. */
	assert_int_equal(err.offset, 100 + (strstr(text, ",,") - text) + 1);
	assert_int_equal(strncmp(err.msg, "vmdesc: bad JSON: ", 18), 0);
}

static void parse_without_devices_array(void **state)
{
	static const char *const texts[] = {
		"[]", "{}", "{\"devices\": {}}", "{\"devices\": 3}",
	};
	struct mig_error err;
	json_t *j;

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_int_equal(parse_text(texts[i], 50, &j, &err),
				 -MIG_EVMDESC);
		assert_null(j);
		assert_int_equal(err.offset, 50);
		assert_string_equal(err.msg, "vmdesc: no \"devices\" array");
	}
}

static void parse_device_without_name_or_instance(void **state)
{
	struct mig_error err;
	json_t *j;

	(void)state;
	assert_int_equal(parse_text("{\"devices\": [{\"name\": \"a\", \"instance_id\": 0}, {\"name\": \"b\"}]}",
				    9, &j, &err), -MIG_EVMDESC);
	assert_int_equal(err.offset, 9);
	assert_string_equal(err.msg,
			    "vmdesc: device entry 1 lacks \"name\" or \"instance_id\"");
	assert_int_equal(parse_text("{\"devices\": [{\"name\": 1, \"instance_id\": 0}]}",
				    9, &j, &err), -MIG_EVMDESC);
	assert_int_equal(parse_text("{\"devices\": [7]}", 9, &j, &err),
			 -MIG_EVMDESC);
}

static void parse_over_the_size_limit(void **state)
{
	struct mig_error err;
	json_t *j;

	(void)state;
	mig_error_clear(&err);
	/* The length is checked before a byte is read. */
	assert_int_equal(mig_vmdesc_parse((const uint8_t *)"{", MIG_VMDESC_MAX + 1u,
					  70, &j, &err), -MIG_ELIMIT);
	assert_int_equal(err.code, MIG_ELIMIT);
	assert_int_equal(err.offset, 70);
	assert_string_equal(err.msg,
			    "vmdesc of 67108865 bytes exceeds the limit of 67108864");
}

static void device_lookup_by_name_and_instance(void **state)
{
	json_t *j = json_q("{'devices': [{'name': 'dma', 'instance_id': 0, 'version': 1},"
			   " {'name': 'dma', 'instance_id': 1, 'version': 2}]}");
	json_t *d;

	(void)state;
	d = mig_vmdesc_device(j, "dma", 1);
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "version")), 2);
	assert_null(mig_vmdesc_device(j, "dma", 2));
	assert_null(mig_vmdesc_device(j, "dmb", 0));
	json_decref(j);
}

static void legacy_entry_is_recognised(void **state)
{
	json_t *legacy = json_q("{'name': 'slirp', 'instance_id': 0, 'size': 3, "
				"'fields': [{'name': 'data', 'size': 3, 'type': 'buffer'}]}");
	json_t *vmsd = json_q(DEV("[{'name': 'data', 'size': 3, 'type': 'buffer'}]"));
	json_t *two = json_q("{'name': 's', 'instance_id': 0, 'fields': "
			     "[{'name': 'data', 'size': 3}, {'name': 'y', 'size': 1}]}");

	(void)state;
	assert_true(mig_vmdesc_is_legacy(legacy));
	assert_false(mig_vmdesc_is_legacy(vmsd));
	assert_false(mig_vmdesc_is_legacy(two));
	json_decref(legacy);
	json_decref(vmsd);
	json_decref(two);
}

/* ------------------------------------------------------------------ */
/* decode: scalars                                                     */

static void decodes_the_section_root(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 7);
	d = decode(&p, DEV("[{'name': 'a', 'type': 'uint8', 'size': 1}]"));
	assert_int_equal(d.ret, 0);
	assert_int_equal(d.tree->kind, MIG_NODE_SECTION);
	assert_string_equal(d.tree->name, "x");
	assert_string_equal(d.tree->vmsd, "x");
	assert_true(d.tree->has_version);
	assert_int_equal(d.tree->version, 1);
	assert_int_equal(d.tree->offset, BASE);
	assert_int_equal(d.tree->size, 1);
	assert_int_equal(d.tree->nchildren, 1);
	assert_int_equal(d.end, BASE + 1);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void decodes_unsigned_integers(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *n;

	(void)state;
	buf_u8(&p, 0xff);
	buf_be16(&p, 0xfffe);
	buf_be32(&p, 0xfffffffd);
	buf_be64(&p, 0xfffffffffffffffcull);
	d = decode(&p, DEV("[{'name': 'a', 'type': 'uint8', 'size': 1},"
			   " {'name': 'b', 'type': 'uint16', 'size': 2},"
			   " {'name': 'c', 'type': 'uint32', 'size': 4},"
			   " {'name': 'd', 'type': 'uint64', 'size': 8}]"));
	assert_int_equal(d.ret, 0);
	n = child_named(d.tree, "a");
	assert_leaf(n, "a", "uint8", BASE, 1);
	assert_int_equal(n->kind, MIG_NODE_FIELD);
	assert_int_equal(n->vkind, MIG_VAL_UINT);
	assert_int_equal(n->u, 0xff);
	assert_int_equal(n->nbytes, 1);
	assert_int_equal(n->index, -1);
	n = child_named(d.tree, "b");
	assert_leaf(n, "b", "uint16", BASE + 1, 2);
	assert_int_equal(n->u, 0xfffe);
	n = child_named(d.tree, "c");
	assert_leaf(n, "c", "uint32", BASE + 3, 4);
	assert_int_equal(n->u, 0xfffffffd);
	n = child_named(d.tree, "d");
	assert_leaf(n, "d", "uint64", BASE + 7, 8);
	assert_true(n->u == 0xfffffffffffffffcull);
	assert_memory_equal(n->bytes, p.p + 7, 8);
	assert_int_equal(d.tree->size, 15);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void decodes_signed_integers_sign_extended(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *n;

	(void)state;
	buf_u8(&p, 0x80);
	buf_u8(&p, 0x7f);
	buf_be16(&p, 0xffff);
	buf_be32(&p, 0x80000000);
	buf_be64(&p, (uint64_t)-2);
	buf_be64(&p, 0x7fffffffffffffffull);
	d = decode(&p, DEV("[{'name': 'a', 'type': 'int8', 'size': 1},"
			   " {'name': 'b', 'type': 'int8', 'size': 1},"
			   " {'name': 'c', 'type': 'int16', 'size': 2},"
			   " {'name': 'd', 'type': 'int32', 'size': 4},"
			   " {'name': 'e', 'type': 'int64', 'size': 8},"
			   " {'name': 'f', 'type': 'int64', 'size': 8}]"));
	assert_int_equal(d.ret, 0);
	n = child_named(d.tree, "a");
	assert_int_equal(n->vkind, MIG_VAL_INT);
	assert_int_equal(n->i, -128);
	assert_int_equal(n->u, 0x80);	/* the raw value is kept too */
	assert_int_equal(child_named(d.tree, "b")->i, 127);
	assert_int_equal(child_named(d.tree, "c")->i, -1);
	assert_int_equal(child_named(d.tree, "d")->i, INT32_MIN);
	assert_int_equal(child_named(d.tree, "e")->i, -2);
	assert_true(child_named(d.tree, "f")->i == INT64_MAX);
	assert_leaf(child_named(d.tree, "f"), "f", "int64", BASE + 16, 8);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void decodes_equal_and_le_types(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *n;

	(void)state;
	buf_be32(&p, (uint32_t)-5);
	buf_be32(&p, 7);
	buf_u8(&p, 0xff);
	buf_be16(&p, 0xff00);
	buf_be32(&p, 0xffffffff);
	buf_be64(&p, (uint64_t)-1);
	d = decode(&p, DEV("[{'name': 'a', 'type': 'int32 equal', 'size': 4},"
			   " {'name': 'b', 'type': 'int32 le', 'size': 4},"
			   " {'name': 'c', 'type': 'uint8 equal', 'size': 1},"
			   " {'name': 'd', 'type': 'uint16 equal', 'size': 2},"
			   " {'name': 'e', 'type': 'uint32 equal', 'size': 4},"
			   " {'name': 'f', 'type': 'int64 equal', 'size': 8}]"));
	assert_int_equal(d.ret, 0);
	n = child_named(d.tree, "a");
	assert_int_equal(n->vkind, MIG_VAL_INT);
	assert_int_equal(n->i, -5);
	n = child_named(d.tree, "b");
	assert_int_equal(n->vkind, MIG_VAL_INT);
	assert_int_equal(n->i, 7);
	n = child_named(d.tree, "c");
	assert_int_equal(n->vkind, MIG_VAL_UINT);
	assert_int_equal(n->u, 0xff);
	n = child_named(d.tree, "d");
	assert_int_equal(n->vkind, MIG_VAL_UINT);
	assert_int_equal(n->u, 0xff00);
	n = child_named(d.tree, "e");
	assert_int_equal(n->vkind, MIG_VAL_UINT);
	assert_int_equal(n->u, 0xffffffff);
	n = child_named(d.tree, "f");
	assert_int_equal(n->vkind, MIG_VAL_INT);
	assert_int_equal(n->i, -1);
	assert_leaf(n, "f", "int64 equal", BASE + 15, 8);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void decodes_a_timer(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *n;

	(void)state;
	buf_be64(&p, UINT64_MAX);	/* not armed */
	d = decode(&p, DEV("[{'name': 't', 'type': 'timer', 'size': 8}]"));
	assert_int_equal(d.ret, 0);
	n = child_named(d.tree, "t");
	assert_leaf(n, "t", "timer", BASE, 8);
	assert_int_equal(n->vkind, MIG_VAL_UINT);
	assert_true(n->u == UINT64_MAX);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void decodes_bools(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *n;

	(void)state;
	buf_u8(&p, 0);
	buf_u8(&p, 2);			/* any non-zero byte is true */
	d = decode(&p, DEV("[{'name': 'f', 'type': 'bool', 'size': 1},"
			   " {'name': 't', 'type': 'bool', 'size': 1}]"));
	assert_int_equal(d.ret, 0);
	n = child_named(d.tree, "f");
	assert_int_equal(n->vkind, MIG_VAL_BOOL);
	assert_int_equal(n->u, 0);
	n = child_named(d.tree, "t");
	assert_leaf(n, "t", "bool", BASE + 1, 1);
	assert_int_equal(n->u, 1);
	assert_int_equal(n->bytes[0], 2);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void bool_of_size_two_is_evmdesc(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_be16(&p, 1);
	d = decode(&p, DEV("[{'name': 'b', 'type': 'bool', 'size': 2}]"));
	assert_dec_err(&d, MIG_EVMDESC, BASE, PATH " field 'b'",
		       "vmdesc: bool of size 2");
	mig_node_free(d.tree);
	buf_free(&p);
}

static void decodes_buffers_as_raw_bytes(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *n;

	(void)state;
	buf_put(&p, "\x00\x01\xff", 3);
	buf_fill(&p, 0, 4);
	buf_be64(&p, 0x8000000000000001ull);
	d = decode(&p, DEV("[{'name': 'buf', 'type': 'buffer', 'size': 3},"
			   " {'name': 'unused', 'type': 'unused_buffer', 'size': 4},"
			   " {'name': 'bm', 'type': 'bitmap', 'size': 8}]"));
	assert_int_equal(d.ret, 0);
	n = child_named(d.tree, "buf");
	assert_leaf(n, "buf", "buffer", BASE, 3);
	assert_int_equal(n->vkind, MIG_VAL_BYTES);
	assert_int_equal(n->nbytes, 3);
	assert_memory_equal(n->bytes, "\x00\x01\xff", 3);
	n = child_named(d.tree, "unused");
	assert_leaf(n, "unused", "unused_buffer", BASE + 3, 4);
	assert_int_equal(n->vkind, MIG_VAL_BYTES);
	n = child_named(d.tree, "bm");
	assert_leaf(n, "bm", "bitmap", BASE + 7, 8);
	assert_int_equal(n->vkind, MIG_VAL_BYTES);
	assert_memory_equal(n->bytes, p.p + 7, 8);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void decodes_device_types_as_raw_bytes(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *n;

	(void)state;
	buf_put(&p, "\x86\x80\x29\x29", 4);
	buf_put(&p, "\x01\x02\x03", 3);
	buf_put(&p, "\x09\x08", 2);
	d = decode(&p, DEV("[{'name': 'config', 'type': 'pci config', 'size': 4},"
			   " {'name': 'vdev', 'type': 'virtio', 'size': 3},"
			   " {'name': 'notype', 'size': 2}]"));
	assert_int_equal(d.ret, 0);
	n = child_named(d.tree, "config");
	assert_leaf(n, "config", "pci config", BASE, 4);
	assert_int_equal(n->vkind, MIG_VAL_BYTES);
	assert_memory_equal(n->bytes, "\x86\x80\x29\x29", 4);
	n = child_named(d.tree, "vdev");
	assert_leaf(n, "vdev", "virtio", BASE + 4, 3);
	n = child_named(d.tree, "notype");
	assert_leaf(n, "notype", "unknown", BASE + 7, 2);
	assert_int_equal(n->vkind, MIG_VAL_BYTES);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void decodes_a_capability_string(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *n;

	(void)state;
	buf_str8(&p, "x-ignore-shared");
	d = decode(&p, DEV("[{'name': 'capabilities', 'type': 'capability', 'size': 16}]"));
	assert_int_equal(d.ret, 0);
	n = child_named(d.tree, "capabilities");
	assert_leaf(n, "capabilities", "capability", BASE, 16);
	assert_int_equal(n->vkind, MIG_VAL_STRING);
	assert_int_equal(n->nbytes, 15);
	assert_string_equal((const char *)n->bytes, "x-ignore-shared");
	mig_node_free(d.tree);
	buf_free(&p);
}

static void int_size_disagreeing_with_its_type(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 1);
	buf_be32(&p, 2);
	d = decode(&p, DEV("[{'name': 'ok', 'type': 'uint8', 'size': 1},"
			   " {'name': 'a', 'type': 'uint32', 'size': 2}]"));
	assert_dec_err(&d, MIG_EVMDESC, BASE + 1, PATH " field 'a'",
		       "vmdesc: uint32 of size 2 (expected 4)");
	mig_node_free(d.tree);
	buf_free(&p);
}

static void int_without_size_is_evmdesc(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_be16(&p, 2);
	d = decode(&p, DEV("[{'name': 'a', 'type': 'int16'}]"));
	assert_dec_err(&d, MIG_EVMDESC, BASE, PATH " field 'a'",
		       "vmdesc: int16 of size 0 (expected 2)");
	mig_node_free(d.tree);
	buf_free(&p);
}

/* ------------------------------------------------------------------ */
/* decode: nullptr, containers, capability, gtree                      */

static void decodes_a_null_pointer_marker(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *n;

	(void)state;
	buf_u8(&p, 0x30);
	d = decode(&p, DEV("[{'name': 'p', 'type': 'nullptr', 'size': 1}]"));
	assert_int_equal(d.ret, 0);
	n = child_named(d.tree, "p");
	assert_leaf(n, "p", "nullptr", BASE, 1);
	assert_int_equal(n->vkind, MIG_VAL_NULLPTR);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void null_pointer_with_another_byte(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 0x99);
	buf_u8(&p, 0x31);
	d = decode(&p, DEV("[{'name': 'a', 'type': 'uint8', 'size': 1},"
			   " {'name': 'p', 'type': 'nullptr', 'size': 1}]"));
	assert_dec_err(&d, MIG_EDECODE, BASE + 1, PATH " field 'p'",
		       "NULL pointer marker is 0x31, expected 0x30");
	mig_node_free(d.tree);
	buf_free(&p);
}

static void decodes_tmp_and_vstruct_inline(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *tmp, *vs;

	(void)state;
	buf_be16(&p, 0x1234);
	buf_u8(&p, 5);
	buf_be32(&p, 6);
	d = decode(&p, DEV("[{'name': 'tmp', 'type': 'tmp', 'size': 2,"
			   "  'vmsd_name': 'fpreg_tmp', 'version': 0,"
			   "  'fields': [{'name': 'v', 'type': 'uint16', 'size': 2}]},"
			   " {'name': 'vs', 'type': 'vstruct', 'size': 5,"
			   "  'vmsd_name': 'inner', 'version': 3,"
			   "  'fields': [{'name': 'a', 'type': 'uint8', 'size': 1},"
			   "             {'name': 'b', 'type': 'uint32', 'size': 4}]}]"));
	assert_int_equal(d.ret, 0);
	tmp = child_named(d.tree, "tmp");
	assert_leaf(tmp, "tmp", "tmp", BASE, 2);
	assert_string_equal(tmp->vmsd, "fpreg_tmp");
	assert_int_equal(tmp->nchildren, 1);
	assert_int_equal(child_named(tmp, "v")->u, 0x1234);
	vs = child_named(d.tree, "vs");
	assert_leaf(vs, "vs", "vstruct", BASE + 2, 5);
	assert_string_equal(vs->vmsd, "inner");
	assert_true(vs->has_version);
	assert_int_equal(vs->version, 3);
	assert_leaf(child_named(vs, "b"), "b", "uint32", BASE + 3, 4);
	mig_node_free(d.tree);
	buf_free(&p);
}

#define QTAILQ_DEV \
	DEV("[{'name': 'q', 'type': 'qtailq', 'size': 2, 'vmsd_name': 'el'," \
	    " 'version': 1, 'fields': [{'name': 'v', 'type': 'uint16', 'size': 2}]}]")

static void decodes_a_qtailq(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *q, *el;

	(void)state;
	buf_u8(&p, 1);
	buf_be16(&p, 0xaaaa);
	buf_u8(&p, 1);
	buf_be16(&p, 0xbbbb);
	buf_u8(&p, 0);
	d = decode(&p, QTAILQ_DEV);
	assert_int_equal(d.ret, 0);
	q = child_named(d.tree, "q");
	assert_leaf(q, "q", "qtailq", BASE, 7);
	assert_int_equal(q->nchildren, 2);
	el = child_at(q, 1);
	assert_int_equal(el->kind, MIG_NODE_ELEMENT);
	assert_int_equal(el->index, 1);
	assert_leaf(child_named(el, "v"), "v", "uint16", BASE + 4, 2);
	assert_int_equal(child_named(el, "v")->u, 0xbbbb);
	assert_int_equal(d.end, BASE + 7);
	mig_node_free(d.tree);
	buf_free(&p);
}

/*
 * Regression: a qtailq element node started after its 0x01 marker.  A
 * node's bytes include its headers (state.h), as a subsection's include
 * its 0x05 header.  Element 1 below is the 3 bytes at BASE + 3.
 */
static void qtailq_element_includes_its_marker(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *el;
	uint64_t off, size;

	(void)state;
	buf_u8(&p, 1);
	buf_be16(&p, 0xaaaa);
	buf_u8(&p, 1);
	buf_be16(&p, 0xbbbb);
	buf_u8(&p, 0);
	d = decode(&p, QTAILQ_DEV);
	el = child_at(child_named(d.tree, "q"), 1);
	off = el ? el->offset : 0;
	size = el ? el->size : 0;
	mig_node_free(d.tree);
	buf_free(&p);
	assert_int_equal(d.ret, 0);
	assert_int_equal(off, BASE + 3);
	assert_int_equal(size, 3);
}

static void empty_qtailq_is_one_byte(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 0);
	d = decode(&p, QTAILQ_DEV);
	assert_int_equal(d.ret, 0);
	assert_leaf(child_named(d.tree, "q"), "q", "qtailq", BASE, 1);
	assert_int_equal(child_named(d.tree, "q")->nchildren, 0);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void qtailq_with_a_bad_marker(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 1);
	buf_be16(&p, 0xaaaa);
	buf_u8(&p, 2);
	d = decode(&p, QTAILQ_DEV);
	assert_dec_err(&d, MIG_EDECODE, BASE + 3, PATH " field 'q'",
		       "bad list marker 0x02 (expected 0x00 or 0x01)");
	mig_node_free(d.tree);
	buf_free(&p);
}

static void qtailq_without_its_end_marker(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 1);
	buf_be16(&p, 0xaaaa);
	d = decode(&p, QTAILQ_DEV);
	assert_dec_err(&d, MIG_ETRUNC, BASE + 3, PATH " field 'q'",
		       "truncated (need 1 byte, have 0)");
	mig_node_free(d.tree);
	buf_free(&p);
}

static void gtree_is_unsupported(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 4);
	buf_be32(&p, 0);
	d = decode(&p, DEV("[{'name': 'a', 'type': 'uint8', 'size': 1},"
			   " {'name': 'g', 'type': 'gtree', 'size': 8}]"));
	assert_dec_err(&d, MIG_EUNSUP, BASE + 1, PATH " field 'g'",
		       "gtree fields cannot be framed from a vmdesc yet");
	mig_node_free(d.tree);
	buf_free(&p);
}

/* ------------------------------------------------------------------ */
/* decode: structs and arrays                                          */

static void decodes_nested_structs(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *a, *b;

	(void)state;
	buf_u8(&p, 0x11);		/* pre */
	buf_be16(&p, 0x2222);		/* a.b.c */
	buf_u8(&p, 0x33);		/* a.d */
	buf_u8(&p, 0x44);		/* post */
	d = decode(&p, DEV("[{'name': 'pre', 'type': 'uint8', 'size': 1},"
			   " {'name': 'a', 'type': 'struct', 'size': 3, 'struct':"
			   "  {'vmsd_name': 'A', 'version': 2, 'fields': ["
			   "   {'name': 'b', 'type': 'struct', 'size': 2, 'struct':"
			   "    {'vmsd_name': 'B', 'version': 0, 'fields': ["
			   "     {'name': 'c', 'type': 'uint16', 'size': 2}]}},"
			   "   {'name': 'd', 'type': 'uint8', 'size': 1}]}},"
			   " {'name': 'post', 'type': 'uint8', 'size': 1}]"));
	assert_int_equal(d.ret, 0);
	a = child_named(d.tree, "a");
	assert_leaf(a, "a", "struct", BASE + 1, 3);
	assert_string_equal(a->vmsd, "A");
	assert_int_equal(a->version, 2);
	assert_int_equal(a->vkind, MIG_VAL_NONE);
	b = child_named(a, "b");
	assert_leaf(b, "b", "struct", BASE + 1, 2);
	assert_string_equal(b->vmsd, "B");
	assert_ptr_equal(b->parent, a);
	assert_leaf(child_named(b, "c"), "c", "uint16", BASE + 1, 2);
	assert_int_equal(child_named(b, "c")->u, 0x2222);
	assert_leaf(child_named(a, "d"), "d", "uint8", BASE + 3, 1);
	assert_leaf(child_named(d.tree, "post"), "post", "uint8", BASE + 4, 1);
	assert_int_equal(mig_node_count(d.tree), 7);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void struct_without_struct_object(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 1);
	d = decode(&p, DEV("[{'name': 's', 'type': 'struct', 'size': 1}]"));
	assert_dec_err(&d, MIG_EVMDESC, BASE, PATH " field 's'",
		       "vmdesc: struct field without \"struct\" object");
	mig_node_free(d.tree);
	buf_free(&p);
}

static void decodes_an_array_of_scalars(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *a, *el;

	(void)state;
	buf_be16(&p, 10);
	buf_be16(&p, 11);
	buf_be16(&p, 12);
	d = decode(&p, DEV("[{'name': 'regs', 'array_len': 3, 'type': 'uint16', 'size': 2}]"));
	assert_int_equal(d.ret, 0);
	a = child_named(d.tree, "regs");
	assert_leaf(a, "regs", "uint16", BASE, 6);
	assert_int_equal(a->array_len, 3);
	assert_int_equal(a->nchildren, 3);
	assert_int_equal(a->vkind, MIG_VAL_NONE);
	for (int i = 0; i < 3; i++) {
		el = child_at(a, (size_t)i);
		assert_int_equal(el->kind, MIG_NODE_ELEMENT);
		assert_null(el->name);
		assert_int_equal(el->index, i);
		assert_leaf(el, NULL, "uint16", BASE + 2 * (unsigned)i, 2);
		assert_int_equal(el->vkind, MIG_VAL_UINT);
		assert_int_equal(el->u, 10 + i);
	}
	mig_node_free(d.tree);
	buf_free(&p);
}

static void decodes_an_array_of_structs(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *a, *el;

	(void)state;
	buf_u8(&p, 1);
	buf_be32(&p, 100);
	buf_u8(&p, 2);
	buf_be32(&p, 200);
	d = decode(&p, DEV("[{'name': 'fpregs', 'array_len': 2, 'type': 'struct', 'size': 5,"
			   "  'struct': {'vmsd_name': 'fpreg', 'version': 0, 'fields': ["
			   "   {'name': 'tag', 'type': 'uint8', 'size': 1},"
			   "   {'name': 'val', 'type': 'uint32', 'size': 4}]}}]"));
	assert_int_equal(d.ret, 0);
	a = child_named(d.tree, "fpregs");
	assert_leaf(a, "fpregs", "struct", BASE, 10);
	assert_string_equal(a->vmsd, "fpreg");
	assert_int_equal(a->array_len, 2);
	el = child_at(a, 1);
	assert_int_equal(el->kind, MIG_NODE_ELEMENT);
	assert_leaf(el, NULL, "struct", BASE + 5, 5);
	assert_int_equal(el->nchildren, 2);
	assert_leaf(child_named(el, "val"), "val", "uint32", BASE + 6, 4);
	assert_int_equal(child_named(el, "val")->u, 200);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void empty_array_reads_nothing(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 9);
	d = decode(&p, DEV("[{'name': 'none', 'array_len': 0, 'type': 'uint64', 'size': 8},"
			   " {'name': 'b', 'type': 'uint8', 'size': 1}]"));
	assert_int_equal(d.ret, 0);
	assert_leaf(child_named(d.tree, "none"), "none", "uint64", BASE, 0);
	assert_leaf(child_named(d.tree, "b"), "b", "uint8", BASE, 1);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void keeps_index_entries(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *n;

	(void)state;
	buf_be32(&p, 1);
	buf_be32(&p, 2);
	d = decode(&p, DEV("[{'name': 'r', 'index': 0, 'type': 'uint32', 'size': 4},"
			   " {'name': 'r', 'index': 1, 'type': 'uint32', 'size': 4}]"));
	assert_int_equal(d.ret, 0);
	n = child_at(d.tree, 0);
	assert_int_equal(n->index, 0);
	assert_int_equal(n->kind, MIG_NODE_FIELD);
	n = child_at(d.tree, 1);
	assert_leaf(n, "r", "uint32", BASE + 4, 4);
	assert_int_equal(n->index, 1);
	assert_int_equal(n->u, 2);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void huge_array_len_is_refused_before_allocating(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 1);
	d = decode(&p, DEV("[{'name': 'a', 'type': 'uint8', 'size': 1},"
			   " {'name': 'big', 'array_len': 16777217, 'type': 'uint8', 'size': 1}]"));
	assert_dec_err(&d, MIG_ELIMIT, BASE + 1, PATH,
		       "vmdesc: array_len 16777217 exceeds the limit of 16777216");
	/* No node was made for it. */
	assert_int_equal(d.tree->nchildren, 1);
	mig_node_free(d.tree);
	d = decode(&p, DEV("[{'name': 'big', 'array_len': 1099511627776, 'type': 'struct', 'size': 1,"
			   " 'struct': {'fields': []}}]"));
	assert_dec_err(&d, MIG_ELIMIT, BASE, PATH, NULL);
	assert_int_equal(d.tree->nchildren, 0);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void negative_size_is_evmdesc(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 1);
	d = decode(&p, DEV("[{'name': 'a', 'type': 'buffer', 'size': -1}]"));
	assert_dec_err(&d, MIG_EVMDESC, BASE, PATH,
		       "vmdesc: \"size\" is not a non-negative integer");
	mig_node_free(d.tree);
	d = decode(&p, DEV("[{'name': 'a', 'type': 'uint8', 'size': 1, 'array_len': '2'}]"));
	assert_dec_err(&d, MIG_EVMDESC, BASE, PATH,
		       "vmdesc: \"array_len\" is not a non-negative integer");
	mig_node_free(d.tree);
	buf_free(&p);
}

static void malformed_descriptions_are_evmdesc(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 1);
	d = decode(&p, DEV("[{'type': 'uint8', 'size': 1}]"));
	assert_dec_err(&d, MIG_EVMDESC, BASE, PATH,
		       "vmdesc: field entry without a \"name\"");
	mig_node_free(d.tree);
	d = decode(&p, DEV("[3]"));
	assert_dec_err(&d, MIG_EVMDESC, BASE, PATH,
		       "vmdesc: field entry without a \"name\"");
	mig_node_free(d.tree);
	d = decode(&p, DEV("{'a': 1}"));
	assert_dec_err(&d, MIG_EVMDESC, BASE, PATH,
		       "vmdesc: \"fields\" is not an array");
	mig_node_free(d.tree);
	d = decode(&p, DEV_SUBS("[]", "7"));
	assert_dec_err(&d, MIG_EVMDESC, BASE, PATH,
		       "vmdesc: \"subsections\" is not an array");
	mig_node_free(d.tree);
	d = decode(&p, DEV_SUBS("[]", "[{'version': 1}]"));
	assert_dec_err(&d, MIG_EVMDESC, BASE, PATH,
		       "vmdesc: subsection without \"vmsd_name\"");
	mig_node_free(d.tree);
	buf_free(&p);
}

/* A description nested @levels structs deep, one uint8 at the bottom. */
static json_t *nested_dev(int levels)
{
	json_t *inner = json_q("{'fields': [{'name': 'leaf', 'type': 'uint8', 'size': 1}]}");
	json_t *dev;

	for (int i = 0; i < levels; i++) {
		json_t *f = json_pack("{s:s, s:s, s:i, s:o}", "name", "s",
				      "type", "struct", "size", 1,
				      "struct", inner);

		inner = json_pack("{s:[o]}", "fields", f);
	}
	dev = inner;
	json_object_set_new(dev, "name", json_string("x"));
	json_object_set_new(dev, "instance_id", json_integer(0));
	return dev;
}

static int decode_json(json_t *dev, const void *p, size_t n,
		       struct mig_node **tree, struct mig_error *err)
{
	struct mig_reader *r = NULL;
	int ret;

	assert_int_equal(mig_reader_from_mem(&r, p, n, "t", NULL), 0);
	mig_error_clear(err);
	ret = mig_vmdesc_decode(r, dev, PATH, tree, err);
	mig_reader_free(r);
	return ret;
}

static void nesting_up_to_the_limit_decodes(void **state)
{
	json_t *dev = nested_dev(MIG_DEPTH_MAX);
	struct mig_node *tree = NULL, *n;
	struct mig_error err;
	int depth = 0;

	(void)state;
	assert_int_equal(decode_json(dev, "\x5a", 1, &tree, &err), 0);
	for (n = tree; n->child; n = n->child)
		depth++;
	assert_int_equal(depth, MIG_DEPTH_MAX + 1);
	assert_int_equal(n->u, 0x5a);
	mig_node_free(tree);
	json_decref(dev);
}

static void nesting_deeper_than_the_limit(void **state)
{
	json_t *dev = nested_dev(MIG_DEPTH_MAX + 1);
	struct mig_node *tree = NULL;
	struct mig_error err;
	char want[MIG_PATH_MAX] = PATH " field 's";

	(void)state;
	for (int i = 0; i < MIG_DEPTH_MAX; i++)
		strcat(want, ".s");
	strcat(want, "'");
	assert_int_equal(decode_json(dev, "\x5a", 1, &tree, &err), -MIG_ELIMIT);
	assert_int_equal(err.code, MIG_ELIMIT);
	assert_int_equal(err.offset, 0);
	assert_string_equal(err.msg, "nesting deeper than 64 levels");
	assert_string_equal(err.path, want);
	mig_node_free(tree);
	json_decref(dev);
}

/* ------------------------------------------------------------------ */
/* decode: subsections                                                 */

static void decodes_subsections(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *s1, *s2, *s3;

	(void)state;
	buf_u8(&p, 1);				/* a */
	put_subsection(&p, "x/one", 2);		/* at BASE + 1 */
	buf_be16(&p, 0x0101);			/* one.v */
	put_subsection(&p, "x/one/deep", 1);	/* at BASE + 14 */
	buf_u8(&p, 0xdd);			/* deep.w */
	put_subsection(&p, "x/two", 1);		/* at BASE + 31 */
	buf_be32(&p, 0x02020202);
	d = decode(&p, DEV_SUBS("[{'name': 'a', 'type': 'uint8', 'size': 1}]",
				"[{'vmsd_name': 'x/one', 'version': 2, 'fields':"
				"  [{'name': 'v', 'type': 'uint16', 'size': 2}],"
				"  'subsections': [{'vmsd_name': 'x/one/deep', 'version': 1,"
				"   'fields': [{'name': 'w', 'type': 'uint8', 'size': 1}]}]},"
				" {'vmsd_name': 'x/two', 'version': 1, 'fields':"
				"  [{'name': 'z', 'type': 'uint32', 'size': 4}]}]"));
	assert_int_equal(d.ret, 0);
	assert_int_equal(d.end, BASE + p.len);
	assert_int_equal(d.tree->nchildren, 3);
	s1 = child_at(d.tree, 1);
	assert_int_equal(s1->kind, MIG_NODE_SUBSECTION);
	assert_string_equal(s1->name, "x/one");
	assert_null(s1->type);
	assert_true(s1->has_version);
	assert_int_equal(s1->version, 2);
	assert_int_equal(s1->offset, BASE + 1);
	assert_int_equal(s1->size, 1 + 6 + 4 + 2 + (1 + 11 + 4 + 1));
	assert_leaf(child_named(s1, "v"), "v", "uint16", BASE + 12, 2);
	s2 = child_named(s1, "x/one/deep");
	assert_int_equal(s2->kind, MIG_NODE_SUBSECTION);
	assert_int_equal(s2->offset, BASE + 14);
	assert_int_equal(s2->size, 1 + 11 + 4 + 1);
	assert_int_equal(child_named(s2, "w")->u, 0xdd);
	s3 = child_at(d.tree, 2);
	assert_string_equal(s3->name, "x/two");
	assert_int_equal(s3->offset, BASE + 31);
	assert_int_equal(child_named(s3, "z")->u, 0x02020202);
	mig_node_free(d.tree);
	buf_free(&p);
}

#define ONE_SUB_DEV \
	DEV_SUBS("[{'name': 'a', 'type': 'uint8', 'size': 1}]", \
		 "[{'vmsd_name': 'x/sub', 'version': 3, 'fields':" \
		 "  [{'name': 'y', 'type': 'uint32', 'size': 4}]}]")

static void subsection_name_mismatch(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 1);
	put_subsection(&p, "x/other", 3);
	buf_be32(&p, 0);
	d = decode(&p, ONE_SUB_DEV);
	assert_dec_err(&d, MIG_EDECODE, BASE + 2, PATH " subsection 'x/sub'",
		       "subsection is 'x/other', the vmdesc says 'x/sub'");
	mig_node_free(d.tree);
	buf_free(&p);
}

static void subsection_version_mismatch(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 1);
	put_subsection(&p, "x/sub", 4);
	buf_be32(&p, 0);
	d = decode(&p, ONE_SUB_DEV);
	/* The offset of the be32 version. */
	assert_dec_err(&d, MIG_EDECODE, BASE + 1 + 1 + 1 + 5,
		       PATH " subsection 'x/sub'",
		       "subsection version 4, the vmdesc says 3");
	mig_node_free(d.tree);
	buf_free(&p);
}

static void subsection_marker_missing(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 1);
	put_footer(&p, 3);		/* the section ends instead */
	d = decode(&p, ONE_SUB_DEV);
	assert_dec_err(&d, MIG_EDECODE, BASE + 1, PATH " subsection 'x/sub'",
		       "expected subsection marker 0x05, found 0x7e");
	mig_node_free(d.tree);
	buf_free(&p);
}

static void subsection_truncated_in_its_header(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 1);
	buf_u8(&p, MIG_REC_SUBSECTION);
	buf_str8(&p, "x/sub");
	buf_be16(&p, 0);		/* half a version */
	d = decode(&p, ONE_SUB_DEV);
	assert_dec_err(&d, MIG_ETRUNC, BASE + 8, PATH " subsection 'x/sub'",
		       "truncated (need 4 bytes, have 2)");
	mig_node_free(d.tree);
	buf_free(&p);
}

/* ------------------------------------------------------------------ */
/* decode: paths of errors in nested fields                            */

static void truncated_in_a_nested_array_element(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *b;

	(void)state;
	buf_be32(&p, 1);		/* a.b[0] */
	buf_be32(&p, 2);		/* a.b[1] */
	buf_be16(&p, 3);		/* half of a.b[2] */
	d = decode(&p, DEV("[{'name': 'a', 'type': 'struct', 'size': 16, 'struct':"
			   "  {'vmsd_name': 'A', 'fields': [{'name': 'b', 'array_len': 4,"
			   "   'type': 'uint32', 'size': 4}]}}]"));
	assert_dec_err(&d, MIG_ETRUNC, BASE + 8, PATH " field 'a.b[2]'",
		       "truncated (need 4 bytes, have 2)");
	/* What was decoded before the error is kept. */
	b = child_named(child_named(d.tree, "a"), "b");
	assert_non_null(b);
	assert_int_equal(b->nchildren, 3);
	assert_int_equal(child_at(b, 1)->u, 2);
	mig_node_free(d.tree);
	buf_free(&p);
}

static void truncated_in_a_struct_array_element(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 1);
	buf_be16(&p, 2);
	buf_u8(&p, 3);
	d = decode(&p, DEV("[{'name': 'arr', 'array_len': 2, 'type': 'struct', 'size': 3,"
			   "  'struct': {'fields': [{'name': 't', 'type': 'uint8', 'size': 1},"
			   "   {'name': 'v', 'type': 'uint16', 'size': 2}]}}]"));
	assert_dec_err(&d, MIG_ETRUNC, BASE + 4, PATH " field 'arr[1].v'",
		       "truncated (need 2 bytes, have 0)");
	mig_node_free(d.tree);
	buf_free(&p);
}

static void truncated_in_an_index_entry(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_be32(&p, 1);
	d = decode(&p, DEV("[{'name': 'regs', 'index': 0, 'type': 'uint32', 'size': 4},"
			   " {'name': 'regs', 'index': 1, 'type': 'uint32', 'size': 4}]"));
	assert_dec_err(&d, MIG_ETRUNC, BASE + 4, PATH " field 'regs[1]'",
		       "truncated (need 4 bytes, have 0)");
	mig_node_free(d.tree);
	buf_free(&p);
}

static void truncated_in_a_subsection_of_a_struct(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	put_subsection(&p, "S/sub", 1);
	buf_u8(&p, 9);			/* y is a uint16 */
	d = decode(&p, DEV("[{'name': 's', 'type': 'struct', 'size': 12, 'struct':"
			   "  {'vmsd_name': 'S', 'fields': [], 'subsections':"
			   "   [{'vmsd_name': 'S/sub', 'version': 1, 'fields':"
			   "     [{'name': 'y', 'type': 'uint16', 'size': 2}]}]}}]"));
	assert_dec_err(&d, MIG_ETRUNC, BASE + 11,
		       PATH " field 's' subsection 'S/sub' field 'y'",
		       "truncated (need 2 bytes, have 1)");
	mig_node_free(d.tree);
	buf_free(&p);
}

static void truncated_in_a_qtailq_element(void **state)
{
	struct buf p = { 0 };
	struct dec d;

	(void)state;
	buf_u8(&p, 1);
	buf_be16(&p, 7);
	buf_u8(&p, 1);
	buf_u8(&p, 7);
	d = decode(&p, QTAILQ_DEV);
	assert_dec_err(&d, MIG_ETRUNC, BASE + 4, PATH " field 'q[1].v'",
		       "truncated (need 2 bytes, have 1)");
	mig_node_free(d.tree);
	buf_free(&p);
}

static void decode_without_error_record_or_path(void **state)
{
	struct mig_reader *r = NULL;
	struct mig_node *tree = NULL;
	json_t *dev = json_q(DEV("[{'name': 'a', 'type': 'uint32', 'size': 4}]"));

	(void)state;
	assert_int_equal(mig_reader_from_mem(&r, "\x01\x02", 2, "t", NULL), 0);
	assert_int_equal(mig_vmdesc_decode(r, dev, NULL, &tree, NULL),
			 -MIG_ETRUNC);
	assert_non_null(tree);
	mig_node_free(tree);
	mig_reader_free(r);
	json_decref(dev);
}

static void decodes_a_legacy_buffer(void **state)
{
	struct buf p = { 0 };
	struct dec d;
	struct mig_node *n;

	(void)state;
	buf_put(&p, "abc", 3);
	d = decode(&p, "{'name': 'slirp', 'instance_id': 0, 'size': 3, 'fields':"
		       " [{'name': 'data', 'size': 3, 'type': 'buffer'}]}");
	assert_int_equal(d.ret, 0);
	assert_null(d.tree->vmsd);
	assert_false(d.tree->has_version);
	n = child_named(d.tree, "data");
	assert_leaf(n, "data", "buffer", BASE, 3);
	assert_memory_equal(n->bytes, "abc", 3);
	mig_node_free(d.tree);
	buf_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(locate_finds_the_trailer),
		cmocka_unit_test(locate_without_trailer),
		cmocka_unit_test(locate_smallest_trailer),
		cmocka_unit_test(locate_needs_a_closing_brace),
		cmocka_unit_test(locate_rejects_a_wrong_length),
		cmocka_unit_test(locate_needs_the_eof_byte_and_a_brace),
		cmocka_unit_test(locate_skips_false_candidates),
		cmocka_unit_test(parse_accepts_a_vmdesc),
		cmocka_unit_test(parse_bad_json_points_into_the_json),
		cmocka_unit_test(parse_without_devices_array),
		cmocka_unit_test(parse_device_without_name_or_instance),
		cmocka_unit_test(parse_over_the_size_limit),
		cmocka_unit_test(device_lookup_by_name_and_instance),
		cmocka_unit_test(legacy_entry_is_recognised),
		cmocka_unit_test(decodes_the_section_root),
		cmocka_unit_test(decodes_unsigned_integers),
		cmocka_unit_test(decodes_signed_integers_sign_extended),
		cmocka_unit_test(decodes_equal_and_le_types),
		cmocka_unit_test(decodes_a_timer),
		cmocka_unit_test(decodes_bools),
		cmocka_unit_test(bool_of_size_two_is_evmdesc),
		cmocka_unit_test(decodes_buffers_as_raw_bytes),
		cmocka_unit_test(decodes_device_types_as_raw_bytes),
		cmocka_unit_test(decodes_a_capability_string),
		cmocka_unit_test(int_size_disagreeing_with_its_type),
		cmocka_unit_test(int_without_size_is_evmdesc),
		cmocka_unit_test(decodes_a_null_pointer_marker),
		cmocka_unit_test(null_pointer_with_another_byte),
		cmocka_unit_test(decodes_tmp_and_vstruct_inline),
		cmocka_unit_test(decodes_a_qtailq),
		cmocka_unit_test(qtailq_element_includes_its_marker),
		cmocka_unit_test(empty_qtailq_is_one_byte),
		cmocka_unit_test(qtailq_with_a_bad_marker),
		cmocka_unit_test(qtailq_without_its_end_marker),
		cmocka_unit_test(gtree_is_unsupported),
		cmocka_unit_test(decodes_nested_structs),
		cmocka_unit_test(struct_without_struct_object),
		cmocka_unit_test(decodes_an_array_of_scalars),
		cmocka_unit_test(decodes_an_array_of_structs),
		cmocka_unit_test(empty_array_reads_nothing),
		cmocka_unit_test(keeps_index_entries),
		cmocka_unit_test(huge_array_len_is_refused_before_allocating),
		cmocka_unit_test(negative_size_is_evmdesc),
		cmocka_unit_test(malformed_descriptions_are_evmdesc),
		cmocka_unit_test(nesting_up_to_the_limit_decodes),
		cmocka_unit_test(nesting_deeper_than_the_limit),
		cmocka_unit_test(decodes_subsections),
		cmocka_unit_test(subsection_name_mismatch),
		cmocka_unit_test(subsection_version_mismatch),
		cmocka_unit_test(subsection_marker_missing),
		cmocka_unit_test(subsection_truncated_in_its_header),
		cmocka_unit_test(truncated_in_a_nested_array_element),
		cmocka_unit_test(truncated_in_a_struct_array_element),
		cmocka_unit_test(truncated_in_an_index_entry),
		cmocka_unit_test(truncated_in_a_subsection_of_a_struct),
		cmocka_unit_test(truncated_in_a_qtailq_element),
		cmocka_unit_test(decode_without_error_record_or_path),
		cmocka_unit_test(decodes_a_legacy_buffer),
	};

	return cmocka_run_group_tests_name("vmdesc", tests, NULL, NULL);
}
