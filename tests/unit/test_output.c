/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for output.c: the `dump` document (man/migstream-dump.1), the
 * analyze-migration.py shape and the `info` document, on a small built
 * stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder.h"

#define VMDESC \
	"{'page_size': 4096, 'devices': [{'name': 'dev', 'instance_id': 0," \
	" 'vmsd_name': 'devsd', 'version': 1, 'fields': [" \
	"  {'name': 'neg', 'type': 'int32', 'size': 4}," \
	"  {'name': 'i8', 'type': 'int8', 'size': 1}," \
	"  {'name': 'pos', 'type': 'int16', 'size': 2}," \
	"  {'name': 'u16', 'type': 'uint16', 'size': 2}," \
	"  {'name': 'u32', 'type': 'uint32', 'size': 4}," \
	"  {'name': 'big', 'type': 'uint64', 'size': 8}," \
	"  {'name': 'ueq', 'type': 'uint8 equal', 'size': 1}," \
	"  {'name': 'flag', 'type': 'bool', 'size': 1}," \
	"  {'name': 'buf', 'type': 'buffer', 'size': 3}," \
	"  {'name': 'one', 'array_len': 1, 'type': 'uint8', 'size': 1}," \
	"  {'name': 'arr', 'array_len': 2, 'type': 'uint8', 'size': 1}," \
	"  {'name': 'r', 'index': 0, 'type': 'uint16', 'size': 2}," \
	"  {'name': 'r', 'index': 1, 'type': 'uint16', 'size': 2}," \
	"  {'name': 's', 'type': 'struct', 'size': 1, 'struct':" \
	"   {'vmsd_name': 'S', 'version': 2, 'fields':" \
	"    [{'name': 'x', 'type': 'uint8', 'size': 1}]}}," \
	"  {'name': 'sa', 'array_len': 2, 'type': 'struct', 'size': 1, 'struct':" \
	"   {'vmsd_name': 'E', 'version': 0, 'fields':" \
	"    [{'name': 'e', 'type': 'uint8', 'size': 1}]}}," \
	"  {'name': 'p', 'type': 'nullptr', 'size': 1}," \
	"  {'name': 't', 'type': 'timer', 'size': 8}]," \
	" 'subsections': [{'vmsd_name': 'dev/sub', 'version': 5, 'fields':" \
	"  [{'name': 'y', 'type': 'uint8', 'size': 1}]}]}]}"

/* Offsets in the built stream, for --offsets checks. */
struct layout {
	size_t start_ram, full_dev, dev_payload, sub, full_opaque, eof;
};

static void put_dev_payload(struct buf *b, struct layout *l)
{
	l->dev_payload = b->len;
	buf_be32(b, 0xffffffff);		/* neg */
	buf_u8(b, 0xfe);			/* i8 */
	buf_be16(b, 3);				/* pos */
	buf_be16(b, 5);				/* u16 */
	buf_be32(b, 6);				/* u32 */
	buf_be64(b, UINT64_MAX);		/* big */
	buf_u8(b, 0xff);			/* ueq */
	buf_u8(b, 1);				/* flag */
	buf_put(b, "\x00\x01\xff", 3);		/* buf */
	buf_u8(b, 7);				/* one */
	buf_u8(b, 1);				/* arr */
	buf_u8(b, 2);
	buf_be16(b, 0x10);			/* r[0] */
	buf_be16(b, 0x11);			/* r[1] */
	buf_u8(b, 9);				/* s.x */
	buf_u8(b, 0xa);				/* sa[0].e */
	buf_u8(b, 0xb);				/* sa[1].e */
	buf_u8(b, 0x30);			/* p */
	buf_be64(b, 0x0102030405060708ull);	/* t */
	l->sub = b->len;
	put_subsection(b, "dev/sub", 5);
	buf_u8(b, 0x42);			/* y */
}

static struct mig_stream *build(struct layout *l)
{
	static const char *const caps[] = { "x-ignore-shared" };
	static const uint8_t uuid[16] = {
		0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	};
	struct buf b = { 0 };
	struct mig_stream *s = NULL;
	struct mig_error err;
	json_t *vmdesc = json_q(VMDESC);

	assert_non_null(vmdesc);
	put_header(&b);
	put_config(&b, "pc-q35-7.2");
	put_cfg_page_bits(&b, 12);
	put_cfg_caps(&b, 1, caps);
	put_cfg_uuid(&b, uuid);
	put_cmd(&b, MIG_CMD_PING, 4, "\x00\x00\x00\x01");
	l->start_ram = b.len;
	put_start(&b, 2, "ram", 0, 4);
	put_ram_mem_size(&b, 2 * 4096);
	put_ram_block(&b, "pc.ram", 2 * 4096);
	buf_be64(&b, 0);
	put_ram_eos(&b);
	put_footer(&b, 2);
	put_part(&b, MIG_REC_PART, 2);
	put_ram_page(&b, 0, "pc.ram", 0x11, 4096);
	put_ram_zero(&b, 4096, NULL);
	put_ram_word(&b, 0, T_RAM_FLUSH);
	put_ram_eos(&b);
	put_footer(&b, 2);
	put_part(&b, MIG_REC_END, 2);
	put_ram_eos(&b);
	put_footer(&b, 2);
	l->full_dev = b.len;
	put_full(&b, 3, "dev", 0, 1);
	put_dev_payload(&b, l);
	put_footer(&b, 3);
	l->full_opaque = b.len;
	put_full(&b, 4, "opaque", 0, 1);
	buf_put(&b, "\x01\x02", 2);
	put_footer(&b, 4);
	l->eof = b.len;
	put_eof(&b);
	put_vmdesc(&b, vmdesc);
	json_decref(vmdesc);
	assert_int_equal(parse_buf(&b, NULL, &s, &err), 0);
	buf_free(&b);
	return s;
}

/* Keys of object @o, in order, are exactly @keys (NULL-terminated). */
static void assert_keys(const json_t *o, const char *const *keys)
{
	void *it = json_object_iter((json_t *)o);
	size_t i = 0;

	assert_true(json_is_object(o));
	for (; it; it = json_object_iter_next((json_t *)o, it), i++) {
		assert_non_null(keys[i]);
		assert_string_equal(json_object_iter_key(it), keys[i]);
	}
	assert_null(keys[i]);
}

static json_int_t int_at(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static const char *str_at(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

/* The field named @name in the "fields" array of @o. */
static json_t *field(const json_t *o, const char *name)
{
	json_t *fields = json_object_get(o, "fields");
	json_t *f;
	size_t i;

	json_array_foreach(fields, i, f)
		if (!strcmp(json_string_value(json_object_get(f, "name")), name))
			return f;
	fail_msg("no field '%s'", name);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* mig_json_u64                                                        */

static void json_u64_number_up_to_int64_max(void **state)
{
	json_t *j;

	(void)state;
	j = mig_json_u64(0);
	assert_true(json_is_integer(j));
	assert_int_equal(json_integer_value(j), 0);
	json_decref(j);
	j = mig_json_u64(INT64_MAX);
	assert_true(json_is_integer(j));
	assert_true(json_integer_value(j) == INT64_MAX);
	json_decref(j);
}

static void json_u64_hex_string_above_int64_max(void **state)
{
	json_t *j;

	(void)state;
	j = mig_json_u64((uint64_t)INT64_MAX + 1);
	assert_string_equal(json_string_value(j), "0x8000000000000000");
	json_decref(j);
	j = mig_json_u64(UINT64_MAX);
	assert_string_equal(json_string_value(j), "0xffffffffffffffff");
	json_decref(j);
}

/* ------------------------------------------------------------------ */
/* dump                                                                */

static void dump_top_level_shape(void **state)
{
	static const char *const keys[] = {
		"migstream_dump", "file", "size", "file_version",
		"configuration", "footers", "page_size", "records",
		"ram_blocks", "vmdesc", "complete", NULL,
	};
	static const char *const conf_keys[] = {
		"machine", "capabilities", "uuid", "target_page_bits", NULL,
	};
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *d = mig_dump_json(s, 0);
	json_t *conf, *vmdesc;

	(void)state;
	assert_keys(d, keys);
	assert_int_equal(int_at(d, "migstream_dump"), MIG_DUMP_FORMAT_VERSION);
	assert_string_equal(str_at(d, "file"), "test.mig");
	assert_int_equal(int_at(d, "size"), s->size);
	assert_int_equal(int_at(d, "file_version"), 3);
	assert_true(json_is_true(json_object_get(d, "footers")));
	assert_int_equal(int_at(d, "page_size"), 4096);
	assert_true(json_is_true(json_object_get(d, "complete")));
	conf = json_object_get(d, "configuration");
	assert_keys(conf, conf_keys);
	assert_string_equal(str_at(conf, "machine"), "pc-q35-7.2");
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(conf, "capabilities"), 0)), "x-ignore-shared");
	assert_string_equal(str_at(conf, "uuid"),
			    "12345678-9abc-def0-0011-223344556677");
	assert_int_equal(int_at(conf, "target_page_bits"), 12);
	vmdesc = json_object_get(d, "vmdesc");
	assert_int_equal(int_at(vmdesc, "offset"), l.eof + 1);
	assert_int_equal(int_at(vmdesc, "size"), s->vmdesc_size);
	json_decref(d);
	mig_stream_free(s);
}

static void dump_without_configuration_or_vmdesc(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s = NULL;
	struct mig_error err;
	json_t *d, *recs;

	(void)state;
	put_header(&b);
	put_eof(&b);
	assert_int_equal(parse_buf(&b, NULL, &s, &err), 0);
	d = mig_dump_json(s, 0);
	assert_true(json_is_null(json_object_get(d, "configuration")));
	assert_true(json_is_null(json_object_get(d, "vmdesc")));
	assert_int_equal(json_array_size(json_object_get(d, "ram_blocks")), 0);
	recs = json_object_get(d, "records");
	assert_int_equal(json_array_size(recs), 1);
	/* An eof record has no other key. */
	assert_int_equal(json_object_size(json_array_get(recs, 0)), 1);
	assert_string_equal(str_at(json_array_get(recs, 0), "record"), "eof");
	json_decref(d);
	mig_stream_free(s);
	buf_free(&b);
}

static void dump_records_in_stream_order(void **state)
{
	static const char *const kinds[] = {
		"command", "start", "part", "end", "full", "full", "eof",
	};
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *d = mig_dump_json(s, 0);
	json_t *recs = json_object_get(d, "records");

	(void)state;
	assert_int_equal(json_array_size(recs), 7);
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(str_at(json_array_get(recs, i), "record"),
				    kinds[i]);
	json_decref(d);
	mig_stream_free(s);
}

static void dump_command_record(void **state)
{
	static const char *const keys[] = {
		"record", "command", "id", "length", "data", NULL,
	};
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *d = mig_dump_json(s, 0);
	json_t *c = json_array_get(json_object_get(d, "records"), 0);

	(void)state;
	assert_keys(c, keys);
	assert_string_equal(str_at(c, "command"), "ping");
	assert_int_equal(int_at(c, "id"), 2);
	assert_int_equal(int_at(c, "length"), 4);
	assert_string_equal(str_at(c, "data"), "00000001");
	json_decref(d);
	mig_stream_free(s);
}

static void dump_ram_records_and_blocks(void **state)
{
	static const char *const ram_keys[] = {
		"pages", "zero_pages", "page_bytes", "multifd_flushes",
		"blocks", NULL,
	};
	static const char *const block_keys[] = {
		"name", "length", "pages", "zero_pages", "address", NULL,
	};
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *d = mig_dump_json(s, 0);
	json_t *recs = json_object_get(d, "records");
	json_t *start = json_array_get(recs, 1);
	json_t *part = json_array_get(recs, 2);
	json_t *ram, *blk;

	(void)state;
	assert_int_equal(int_at(start, "section_id"), 2);
	assert_string_equal(str_at(start, "name"), "ram");
	assert_int_equal(int_at(start, "instance"), 0);
	assert_int_equal(int_at(start, "version"), 4);
	assert_string_equal(str_at(start, "kind"), "ram");
	assert_int_equal(int_at(json_object_get(start, "ram"), "blocks"), 1);
	ram = json_object_get(part, "ram");
	assert_keys(ram, ram_keys);
	assert_int_equal(int_at(ram, "pages"), 1);
	assert_int_equal(int_at(ram, "zero_pages"), 1);
	assert_int_equal(int_at(ram, "page_bytes"), 4096);
	assert_int_equal(int_at(ram, "multifd_flushes"), 1);
	assert_string_equal(str_at(part, "name"), "ram");
	blk = json_array_get(json_object_get(d, "ram_blocks"), 0);
	assert_keys(blk, block_keys);
	assert_string_equal(str_at(blk, "name"), "pc.ram");
	assert_int_equal(int_at(blk, "length"), 8192);
	assert_int_equal(int_at(blk, "pages"), 1);
	assert_int_equal(int_at(blk, "zero_pages"), 1);
	assert_int_equal(int_at(blk, "address"), 0);	/* x-ignore-shared */
	json_decref(d);
	mig_stream_free(s);
}

static void dump_field_values(void **state)
{
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *d = mig_dump_json(s, 0);
	json_t *dev = json_array_get(json_object_get(d, "records"), 4);
	json_t *f;

	(void)state;
	assert_string_equal(str_at(dev, "kind"), "vmstate");
	assert_string_equal(str_at(dev, "vmsd"), "devsd");
	f = field(dev, "neg");
	assert_string_equal(str_at(f, "type"), "int32");
	assert_int_equal(int_at(f, "value"), -1);
	assert_int_equal(int_at(field(dev, "u16"), "value"), 5);
	assert_string_equal(str_at(field(dev, "big"), "value"),
			    "0xffffffffffffffff");
	assert_true(json_is_true(json_object_get(field(dev, "flag"), "value")));
	assert_string_equal(str_at(field(dev, "buf"), "value"), "0001ff");
	assert_true(json_is_null(json_object_get(field(dev, "p"), "value")));
	assert_int_equal(int_at(field(dev, "t"), "value"), 0x0102030405060708ll);
	assert_null(json_object_get(f, "offset"));
	json_decref(d);
	mig_stream_free(s);
}

static void dump_arrays_structs_and_index(void **state)
{
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *d = mig_dump_json(s, 0);
	json_t *dev = json_array_get(json_object_get(d, "records"), 4);
	json_t *f, *v, *el;

	(void)state;
	f = field(dev, "arr");
	assert_int_equal(int_at(f, "array_len"), 2);
	v = json_object_get(f, "value");
	assert_int_equal(json_array_size(v), 2);
	assert_int_equal(json_integer_value(json_array_get(v, 1)), 2);
	f = field(dev, "one");
	assert_int_equal(int_at(f, "array_len"), 1);
	assert_int_equal(json_array_size(json_object_get(f, "value")), 1);
	/* Index entries: both kept, each with its position. */
	f = json_array_get(json_object_get(dev, "fields"), 11);
	assert_string_equal(str_at(f, "name"), "r");
	assert_int_equal(int_at(f, "index"), 0);
	f = json_array_get(json_object_get(dev, "fields"), 12);
	assert_int_equal(int_at(f, "index"), 1);
	assert_int_equal(int_at(f, "value"), 0x11);
	f = field(dev, "s");
	assert_string_equal(str_at(f, "type"), "struct");
	assert_string_equal(str_at(f, "vmsd"), "S");
	assert_int_equal(int_at(f, "version"), 2);
	assert_int_equal(int_at(field(f, "x"), "value"), 9);
	f = field(dev, "sa");
	assert_int_equal(int_at(f, "array_len"), 2);
	el = json_array_get(json_object_get(f, "elements"), 1);
	assert_int_equal(int_at(field(el, "e"), "value"), 0xb);
	json_decref(d);
	mig_stream_free(s);
}

static void dump_subsection(void **state)
{
	static const char *const keys[] = {
		"name", "version", "fields", "subsections", NULL,
	};
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *d = mig_dump_json(s, 0);
	json_t *dev = json_array_get(json_object_get(d, "records"), 4);
	json_t *sub = json_array_get(json_object_get(dev, "subsections"), 0);

	(void)state;
	assert_int_equal(json_array_size(json_object_get(dev, "subsections")), 1);
	assert_keys(sub, keys);
	assert_string_equal(str_at(sub, "name"), "dev/sub");
	assert_int_equal(int_at(sub, "version"), 5);
	assert_int_equal(int_at(field(sub, "y"), "value"), 0x42);
	json_decref(d);
	mig_stream_free(s);
}

/*
 * Regression: "subsections" was left out when empty, but the man page
 * gives every section record, structure, element and subsection both
 * "fields" and "subsections".
 */
static void dump_subsections_key_always_present(void **state)
{
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *d = mig_dump_json(s, 0);
	json_t *dev = json_array_get(json_object_get(d, "records"), 4);
	json_t *st = field(dev, "s");
	json_t *el = json_array_get(json_object_get(field(dev, "sa"),
						    "elements"), 0);

	bool in_struct = json_is_array(json_object_get(st, "subsections"));
	bool in_element = json_is_array(json_object_get(el, "subsections"));

	(void)state;
	json_decref(d);
	mig_stream_free(s);
	assert_true(in_struct);
	assert_true(in_element);
}

static void dump_undecoded_section(void **state)
{
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *d = mig_dump_json(s, 0);
	json_t *op = json_array_get(json_object_get(d, "records"), 5);

	(void)state;
	assert_string_equal(str_at(op, "kind"), "undecoded");
	assert_string_equal(str_at(op, "undecoded"), "not described by the vmdesc");
	assert_null(json_object_get(op, "fields"));
	json_decref(d);
	mig_stream_free(s);
}

static void dump_offsets_on_records_and_nodes(void **state)
{
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *d = mig_dump_json(s, MIG_DUMP_OFFSETS);
	json_t *recs = json_object_get(d, "records");
	json_t *dev = json_array_get(recs, 4);
	json_t *f, *sub, *el;

	(void)state;
	assert_int_equal(int_at(json_array_get(recs, 1), "offset"), l.start_ram);
	assert_int_equal(int_at(dev, "offset"), l.full_dev);
	assert_int_equal(int_at(dev, "size"), l.full_opaque - l.full_dev);
	assert_int_equal(int_at(json_array_get(recs, 6), "offset"), l.eof);
	assert_int_equal(int_at(json_array_get(recs, 6), "size"), 1);
	f = field(dev, "neg");
	assert_int_equal(int_at(f, "offset"), l.dev_payload);
	assert_int_equal(int_at(f, "size"), 4);
	f = field(dev, "big");
	assert_int_equal(int_at(f, "offset"), l.dev_payload + 13);
	assert_int_equal(int_at(f, "size"), 8);
	f = field(dev, "sa");
	assert_int_equal(int_at(f, "size"), 2);
	el = json_array_get(json_object_get(f, "elements"), 1);
	assert_int_equal(int_at(el, "offset"), l.dev_payload + 35);
	assert_int_equal(int_at(el, "size"), 1);
	sub = json_array_get(json_object_get(dev, "subsections"), 0);
	assert_int_equal(int_at(sub, "offset"), l.sub);
	assert_int_equal(int_at(sub, "size"), 1 + 1 + 7 + 4 + 1);
	json_decref(d);
	mig_stream_free(s);
}

/* ------------------------------------------------------------------ */
/* dump --format analyze                                               */

static void analyze_sections_keyed_by_name_and_id(void **state)
{
	static const char *const keys[] = {
		"ram (2)", "dev (3)", "opaque (4)", NULL,
	};
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *a = mig_dump_analyze(s);
	json_t *sizes;

	(void)state;
	assert_keys(a, keys);
	sizes = json_object_get(json_object_get(a, "ram (2)"), "section sizes");
	assert_int_equal(json_object_size(sizes), 1);
	assert_string_equal(str_at(sizes, "pc.ram"), "0x0000000000002000");
	assert_string_equal(str_at(a, "opaque (4)"), "");
	json_decref(a);
	mig_stream_free(s);
}

static void analyze_integers(void **state)
{
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *a = mig_dump_analyze(s);
	json_t *dev = json_object_get(a, "dev (3)");

	(void)state;
	assert_string_equal(str_at(dev, "neg"), "0xffffffff (-1)");
	assert_string_equal(str_at(dev, "i8"), "0xfe (-2)");
	assert_string_equal(str_at(dev, "pos"), "0x0003");
	assert_string_equal(str_at(dev, "u16"), "0x0005");
	assert_string_equal(str_at(dev, "u32"), "0x00000006");
	assert_string_equal(str_at(dev, "big"), "0xffffffffffffffff");
	/* The script reads "uint8 equal" as signed. */
	assert_string_equal(str_at(dev, "ueq"), "0xff (-1)");
	json_decref(a);
	mig_stream_free(s);
}

static void analyze_bool_buffers_and_others(void **state)
{
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *a = mig_dump_analyze(s);
	json_t *dev = json_object_get(a, "dev (3)");

	(void)state;
	assert_true(json_is_true(json_object_get(dev, "flag")));
	assert_string_equal(str_at(dev, "buf"), "00 01 ff");
	assert_string_equal(str_at(dev, "t"), "01 02 03 04 05 06 07 08");
	assert_string_equal(str_at(dev, "p"), "nullptr");
	json_decref(a);
	mig_stream_free(s);
}

static void analyze_arrays_and_repeated_names(void **state)
{
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *a = mig_dump_analyze(s);
	json_t *dev = json_object_get(a, "dev (3)");
	json_t *v;

	(void)state;
	/* array_len 1: a scalar, as the script's unfolding gives. */
	assert_string_equal(str_at(dev, "one"), "0x07");
	v = json_object_get(dev, "arr");
	assert_int_equal(json_array_size(v), 2);
	assert_string_equal(json_string_value(json_array_get(v, 0)), "0x01");
	assert_string_equal(json_string_value(json_array_get(v, 1)), "0x02");
	/* Index entries with one name: collated into a list. */
	v = json_object_get(dev, "r");
	assert_int_equal(json_array_size(v), 2);
	assert_string_equal(json_string_value(json_array_get(v, 1)), "0x0011");
	json_decref(a);
	mig_stream_free(s);
}

static void analyze_structs_and_subsections(void **state)
{
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *a = mig_dump_analyze(s);
	json_t *dev = json_object_get(a, "dev (3)");
	json_t *v;

	(void)state;
	assert_string_equal(str_at(json_object_get(dev, "s"), "x"), "0x09");
	v = json_object_get(dev, "sa");
	assert_int_equal(json_array_size(v), 2);
	assert_string_equal(str_at(json_array_get(v, 1), "e"), "0x0b");
	/* A subsection is keyed by its name, after the fields. */
	v = json_object_get(dev, "dev/sub");
	assert_string_equal(str_at(v, "y"), "0x42");
	assert_null(json_object_iter_next(dev, json_object_iter_at(dev, "dev/sub")));
	json_decref(a);
	mig_stream_free(s);
}

/* ------------------------------------------------------------------ */
/* info                                                                */

static void info_top_level(void **state)
{
	static const char *const keys[] = {
		"migstream_info", "file", "size", "file_version",
		"configuration", "footers", "page_size", "vmdesc", "sections",
		"ram_blocks", "ram", "commands", "records", "end", "complete",
		NULL,
	};
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *i = mig_info_json(s);
	json_t *ram, *cmd;

	(void)state;
	assert_keys(i, keys);
	assert_int_equal(int_at(i, "migstream_info"), MIG_INFO_FORMAT_VERSION);
	assert_int_equal(int_at(i, "records"), 7);
	assert_int_equal(int_at(i, "end"), s->end);
	assert_true(json_is_true(json_object_get(i, "complete")));
	ram = json_object_get(i, "ram");
	assert_int_equal(int_at(ram, "pages"), 1);
	assert_int_equal(int_at(ram, "zero_pages"), 1);
	assert_int_equal(int_at(ram, "multifd_flushes"), 1);
	assert_int_equal(int_at(ram, "blocks"), 1);
	assert_int_equal(json_array_size(json_object_get(i, "commands")), 1);
	cmd = json_array_get(json_object_get(i, "commands"), 0);
	assert_string_equal(str_at(cmd, "command"), "ping");
	assert_int_equal(int_at(cmd, "offset"), l.start_ram - 9);
	json_decref(i);
	mig_stream_free(s);
}

static void info_aggregates_sections_by_id(void **state)
{
	struct layout l;
	struct mig_stream *s = build(&l);
	json_t *i = mig_info_json(s);
	json_t *secs = json_object_get(i, "sections");
	json_t *ram, *dev, *op;

	(void)state;
	assert_int_equal(json_array_size(secs), 3);
	ram = json_array_get(secs, 0);
	assert_int_equal(int_at(ram, "section_id"), 2);
	assert_string_equal(str_at(ram, "kind"), "ram");
	assert_int_equal(int_at(ram, "records"), 3);
	assert_int_equal(int_at(ram, "offset"), l.start_ram);
	/* START, PART and END are back to back: their sizes add up. */
	assert_int_equal(int_at(ram, "bytes"), l.full_dev - l.start_ram);
	dev = json_array_get(secs, 1);
	assert_string_equal(str_at(dev, "name"), "dev");
	assert_string_equal(str_at(dev, "vmsd"), "devsd");
	assert_int_equal(int_at(dev, "records"), 1);
	assert_int_equal(int_at(dev, "bytes"), l.full_opaque - l.full_dev);
	assert_int_equal(int_at(dev, "nodes"),
			 mig_node_count(nth_record(s, 4)->tree) - 1);
	op = json_array_get(secs, 2);
	assert_string_equal(str_at(op, "kind"), "undecoded");
	assert_string_equal(str_at(op, "undecoded"), "not described by the vmdesc");
	assert_null(json_object_get(op, "nodes"));
	json_decref(i);
	mig_stream_free(s);
}

static void info_of_an_incomplete_stream(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s = NULL;
	struct mig_error err;
	json_t *i;

	(void)state;
	put_header(&b);
	put_cmd(&b, MIG_CMD_PING, 4, "\0\0\0\1");
	buf_u8(&b, 0x09);
	assert_int_equal(parse_buf(&b, NULL, &s, &err), -MIG_ERECORD);
	i = mig_info_json(s);
	assert_true(json_is_false(json_object_get(i, "complete")));
	/* Reading stopped after the unknown type byte at 17. */
	assert_int_equal(int_at(i, "end"), 18);
	assert_int_equal(int_at(i, "records"), 1);
	assert_true(json_is_null(json_object_get(i, "configuration")));
	json_decref(i);
	mig_stream_free(s);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_u64_number_up_to_int64_max),
		cmocka_unit_test(json_u64_hex_string_above_int64_max),
		cmocka_unit_test(dump_top_level_shape),
		cmocka_unit_test(dump_without_configuration_or_vmdesc),
		cmocka_unit_test(dump_records_in_stream_order),
		cmocka_unit_test(dump_command_record),
		cmocka_unit_test(dump_ram_records_and_blocks),
		cmocka_unit_test(dump_field_values),
		cmocka_unit_test(dump_arrays_structs_and_index),
		cmocka_unit_test(dump_subsection),
		cmocka_unit_test(dump_subsections_key_always_present),
		cmocka_unit_test(dump_undecoded_section),
		cmocka_unit_test(dump_offsets_on_records_and_nodes),
		cmocka_unit_test(analyze_sections_keyed_by_name_and_id),
		cmocka_unit_test(analyze_integers),
		cmocka_unit_test(analyze_bool_buffers_and_others),
		cmocka_unit_test(analyze_arrays_and_repeated_names),
		cmocka_unit_test(analyze_structs_and_subsections),
		cmocka_unit_test(info_top_level),
		cmocka_unit_test(info_aggregates_sections_by_id),
		cmocka_unit_test(info_of_an_incomplete_stream),
	};

	return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
