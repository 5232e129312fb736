/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for lossless.c, encode.c, setfield.c and writer.c: streams
 * made with builder.h go through `dump --lossless` and back through the
 * encoder byte for byte; edited documents are checked value by value;
 * field paths resolve; `set` patches in place; the writer is atomic.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder.h"
#include "migstream/encode.h"

/*
 * Device "dev" (instances 0 and 1), version 3: uint8 a, int8 b, uint16 c,
 * bool d, 4-byte buffer e, uint32 arr[3], struct s { uint64 x }, qtailq q
 * of { uint16 v }, then subsection "dev/sub" v1 { int32 y }.
 */
#define DEV_FIELDS \
	"'fields': [{'name': 'a', 'type': 'uint8', 'size': 1}," \
	" {'name': 'b', 'type': 'int8', 'size': 1}," \
	" {'name': 'c', 'type': 'uint16', 'size': 2}," \
	" {'name': 'd', 'type': 'bool', 'size': 1}," \
	" {'name': 'e', 'type': 'buffer', 'size': 4}," \
	" {'name': 'arr', 'type': 'uint32', 'size': 4, 'array_len': 3}," \
	" {'name': 's', 'type': 'struct', 'size': 8, 'struct': {'vmsd_name': 'st'," \
	"   'version': 1, 'fields': [{'name': 'x', 'type': 'uint64', 'size': 8}]}}," \
	" {'name': 'q', 'type': 'qtailq', 'size': 2, 'vmsd_name': 'el', 'version': 1," \
	"   'fields': [{'name': 'v', 'type': 'uint16', 'size': 2}]}]," \
	" 'subsections': [{'vmsd_name': 'dev/sub', 'version': 1," \
	"   'fields': [{'name': 'y', 'type': 'int32', 'size': 4}]}]"
#define DEV_ENTRY(inst) \
	"{'name': 'dev', 'instance_id': " #inst ", 'vmsd_name': 'dev', " \
	"'version': 3, " DEV_FIELDS "}"
#define LEGACY_ENTRY \
	"{'name': 'legacy', 'instance_id': 0, 'size': 5, 'fields': " \
	"[{'name': 'data', 'size': 5, 'type': 'buffer'}]}"
#define VMDESC \
	"{'page_size': 4096, 'devices': [" DEV_ENTRY(0) ", " DEV_ENTRY(1) \
	", " LEGACY_ENTRY "]}"

static const uint8_t uuid[16] = {
	0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
	0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
};

static void put_dev(struct buf *b, uint32_t id, uint32_t inst, uint8_t a)
{
	put_full(b, id, "dev", inst, 3);
	buf_u8(b, a);		/* a */
	buf_u8(b, 0xfe);	/* b = -2 */
	buf_be16(b, 0x1234);	/* c */
	buf_u8(b, 1);		/* d */
	buf_be32(b, 0xdeadbeef);	/* e */
	for (uint32_t i = 0; i < 3; i++)
		buf_be32(b, 100 + i);	/* arr */
	buf_be64(b, 0x1122334455667788ull);	/* s.x */
	buf_u8(b, 1);		/* q[0] */
	buf_be16(b, 7);
	buf_u8(b, 1);		/* q[1] */
	buf_be16(b, 8);
	buf_u8(b, 0);		/* end of q */
	put_subsection(b, "dev/sub", 1);
	buf_be32(b, (uint32_t)-5);	/* y */
	put_footer(b, id);
}

/*
 * Header, configuration (x-ignore-shared, uuid), RAM in START, PART
 * (named and CONTINUE zero and data pages in two blocks), a PING, END,
 * two "dev" sections, a legacy one, EOF and the vmdesc.
 */
static void make_stream(struct buf *b)
{
	const char *caps[] = { "x-ignore-shared" };
	json_t *vd = json_q(VMDESC);

	assert_non_null(vd);
	put_header(b);
	put_config(b, "pc-test-1.0");
	put_cfg_caps(b, 1, caps);
	put_cfg_uuid(b, uuid);

	put_start(b, 1, "ram", 0, 4);
	put_ram_mem_size(b, 0x5000);
	put_ram_block(b, "pc.ram", 0x4000);
	buf_be64(b, 0);			/* x-ignore-shared address */
	put_ram_block(b, "rom", 0x1000);
	buf_be64(b, 0xc0000);
	put_ram_eos(b);
	put_footer(b, 1);

	put_part(b, MIG_REC_PART, 1);
	put_ram_zero(b, 0, "pc.ram");
	put_ram_zero(b, 0x1000, NULL);
	put_ram_page(b, 0x2000, NULL, 0xaa, 4096);
	put_ram_page(b, 0x3000, NULL, 0xbb, 4096);
	put_ram_page(b, 0, "rom", 0xcc, 4096);
	put_ram_eos(b);
	put_footer(b, 1);

	put_cmd(b, MIG_CMD_PING, 4, "\0\0\0\7");

	put_part(b, MIG_REC_END, 1);
	put_ram_eos(b);
	put_footer(b, 1);

	put_dev(b, 2, 0, 0x7f);
	put_dev(b, 3, 1, 0x01);
	put_full(b, 4, "legacy", 0, 1);
	buf_put(b, "\1\2\3\4\5", 5);
	put_footer(b, 4);
	put_eof(b);
	put_vmdesc(b, vd);
	json_decref(vd);
}

/* The lossless document of @b (inline data); asserts it is complete. */
static json_t *dump_doc(const struct buf *b, struct mig_writer *ram,
			const char *ram_path, int want)
{
	struct mig_lossless_opts opts = { .ram = ram, .ram_path = ram_path };
	struct mig_reader *r = NULL;
	struct mig_error err;
	json_t *doc = NULL;
	int ret;

	assert_int_equal(mig_reader_from_mem(&r, b->p, b->len, "t.mig", &err),
			 0);
	ret = mig_lossless_dump(r, &opts, &doc, &err);
	mig_reader_free(r);
	if (ret != want)
		fprintf(stderr, "dump: %d %s: %s\n", ret, err.path, err.msg);
	assert_int_equal(ret, want);
	assert_non_null(doc);
	return doc;
}

/* Encodes @doc into @out (caller frees); returns the encoder's result. */
static int encode_doc(const json_t *doc, const struct mig_encode_opts *opts,
		      struct buf *out, struct mig_error *err)
{
	struct mig_writer *w = NULL;
	const uint8_t *p;
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	assert_int_equal(mig_writer_mem(&w, err), 0);
	ret = mig_encode(doc, opts, w, err);
	p = mig_writer_mem_data(w, &len);
	if (!ret)
		buf_put(out, p, len);
	mig_writer_abort(w);
	return ret;
}

static void assert_same(const struct buf *a, const struct buf *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->p, b->p, a->len);
}

/* The record object with "name" @name and "instance" @inst. */
static json_t *find_rec(json_t *doc, const char *name, int inst)
{
	json_t *recs = json_object_get(doc, "records"), *r;
	size_t i;

	json_array_foreach(recs, i, r) {
		const char *n = json_string_value(json_object_get(r, "name"));

		if (n && !strcmp(n, name) &&
		    json_integer_value(json_object_get(r, "instance")) == inst)
			return r;
	}
	fail_msg("no record '%s' %d", name, inst);
	return NULL;
}

static json_t *find_field(json_t *rec, const char *name)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(rec, "fields"), i, f)
		if (!strcmp(json_string_value(json_object_get(f, "name")), name))
			return f;
	fail_msg("no field '%s'", name);
	return NULL;
}

/* ------------------------------------------------------------------ */

static void test_roundtrip_inline(void **state)
{
	struct buf b = { 0 }, out;
	struct mig_error err;
	json_t *doc, *conf, *ram, *part, *dev, *f;

	(void)state;
	make_stream(&b);
	doc = dump_doc(&b, NULL, NULL, 0);
	assert_true(json_is_true(json_object_get(doc, "complete")));
	assert_true(json_is_null(json_object_get(doc, "rest")));

	/* Structure where structure is known. */
	conf = json_object_get(doc, "configuration");
	assert_string_equal(json_string_value(json_object_get(conf, "machine")),
			    "pc-test-1.0");
	assert_int_equal(json_array_size(json_object_get(conf, "subsections")),
			 2);
	ram = json_object_get(json_array_get(json_object_get(doc, "records"), 0),
			      "ram");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(ram, 0), "type")), "mem_size");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
		json_object_get(json_array_get(ram, 0), "blocks"), 1), "addr")),
		0xc0000);
	part = json_object_get(json_array_get(json_object_get(doc, "records"), 1),
			       "ram");
	/* zero x2 (one run), page x2 (one run), page in "rom", eos */
	assert_int_equal(json_array_size(part), 4);
	assert_int_equal(json_integer_value(json_object_get(
		json_array_get(part, 0), "count")), 2);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(part, 0), "block")), "pc.ram");
	assert_int_equal(json_integer_value(json_object_get(
		json_array_get(part, 1), "count")), 2);
	assert_null(json_object_get(json_array_get(part, 1), "block"));
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(part, 2), "block")), "rom");
	dev = find_rec(doc, "dev", 1);
	assert_string_equal(json_string_value(json_object_get(dev, "kind")),
			    "vmstate");
	f = find_field(dev, "b");
	assert_int_equal(json_integer_value(json_object_get(f, "value")), -2);
	f = find_field(dev, "e");
	assert_string_equal(json_string_value(json_object_get(f, "value")),
			    "deadbeef");
	assert_string_equal(json_string_value(json_object_get(
		find_rec(doc, "legacy", 0), "kind")), "legacy");
	assert_true(json_is_string(json_object_get(json_object_get(doc, "vmdesc"),
						   "text")));

	assert_int_equal(encode_doc(doc, NULL, &out, &err), 0);
	assert_same(&b, &out);
	buf_free(&out);
	json_decref(doc);
	buf_free(&b);
}

/* The document survives being printed and read back as JSON text. */
static void test_roundtrip_text(void **state)
{
	struct buf b = { 0 }, out;
	struct mig_error err;
	json_error_t jerr;
	json_t *doc, *again;
	char *text;

	(void)state;
	make_stream(&b);
	doc = dump_doc(&b, NULL, NULL, 0);
	text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	assert_non_null(text);
	again = json_loads(text, JSON_ALLOW_NUL, &jerr);
	assert_non_null(again);
	assert_int_equal(encode_doc(again, NULL, &out, &err), 0);
	assert_same(&b, &out);
	buf_free(&out);
	free(text);
	json_decref(again);
	json_decref(doc);
	buf_free(&b);
}

static void test_roundtrip_side_file(void **state)
{
	char dir[] = "/tmp/test_encode.XXXXXX";
	char path[256];
	struct buf b = { 0 }, out;
	struct mig_encode_opts eo = { 0 };
	struct mig_writer *w = NULL;
	struct mig_error err;
	json_t *doc, *rf;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.ram", dir);
	make_stream(&b);
	assert_int_equal(mig_writer_open(&w, path, &err), 0);
	doc = dump_doc(&b, w, path, 0);
	assert_int_equal(mig_writer_commit(w, &err), 0);
	rf = json_object_get(doc, "ram_file");
	assert_string_equal(json_string_value(json_object_get(rf, "path")), path);
	/* Three pages of data went to the side file. */
	assert_int_equal(json_integer_value(json_object_get(rf, "size")),
			 3 * 4096);
	assert_int_equal(encode_doc(doc, NULL, &out, &err), 0);
	assert_same(&b, &out);
	buf_free(&out);

	/* A side file that is not the one: refused, by content. */
	f = fopen(path, "r+b");
	assert_non_null(f);
	fputc(0x55, f);
	fclose(f);
	assert_int_equal(encode_doc(doc, NULL, &out, &err), -MIG_EINVAL);
	assert_non_null(strstr(err.msg, "is not the one the document was made with"));

	/* A missing one, and --ram-file naming another. */
	eo.ram_path = "/nonexistent/s.ram";
	assert_int_equal(encode_doc(doc, &eo, &out, &err), -MIG_EINVAL);
	unlink(path);
	assert_int_equal(encode_doc(doc, NULL, &out, &err), -MIG_EINVAL);
	rmdir(dir);
	json_decref(doc);
	buf_free(&b);
}

/* A side file that starts like a gzip file is still read as it is. */
static void test_side_file_raw(void **state)
{
	char dir[] = "/tmp/test_encode.XXXXXX";
	char path[256];
	struct buf b = { 0 }, out;
	struct mig_writer *w = NULL;
	struct mig_error err;
	uint8_t page[4096];
	json_t *doc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.ram", dir);
	memset(page, 0x5a, sizeof(page));
	memcpy(page, "\x1f\x8b\x08\x00", 4);
	put_header(&b);
	put_start(&b, 1, "ram", 0, 4);
	put_ram_mem_size(&b, 0x1000);
	put_ram_block(&b, "pc.ram", 0x1000);
	put_ram_eos(&b);
	put_part(&b, MIG_REC_END, 1);
	put_ram_word(&b, 0, T_RAM_PAGE);
	buf_str8(&b, "pc.ram");
	buf_put(&b, page, sizeof(page));
	put_ram_eos(&b);
	put_eof(&b);
	assert_int_equal(mig_writer_open(&w, path, &err), 0);
	doc = dump_doc(&b, w, path, 0);
	assert_int_equal(mig_writer_commit(w, &err), 0);
	assert_int_equal(encode_doc(doc, NULL, &out, &err), 0);
	assert_same(&b, &out);
	buf_free(&out);
	unlink(path);
	rmdir(dir);
	json_decref(doc);
	buf_free(&b);
}

/* Sets @key of field @field of record (@name, @inst) to @v (stolen). */
static void edit(json_t *doc, const char *name, int inst, const char *field,
		 const char *key, json_t *v)
{
	json_object_set_new(find_field(find_rec(doc, name, inst), field), key, v);
}

static void test_edit_in_range(void **state)
{
	struct buf b = { 0 }, out;
	struct mig_error err;
	struct mig_stream *s = NULL;
	const struct mig_record *rec;
	const struct mig_node *n;
	size_t diffs = 0;
	json_t *doc, *arr;

	(void)state;
	make_stream(&b);
	doc = dump_doc(&b, NULL, NULL, 0);
	edit(doc, "dev", 1, "a", "value", json_integer(255));
	edit(doc, "dev", 1, "b", "value", json_integer(-128));
	edit(doc, "dev", 1, "c", "value", json_string("0xffff"));
	edit(doc, "dev", 1, "d", "value", json_false());
	edit(doc, "dev", 1, "e", "value", json_string("00112233"));
	arr = json_object_get(find_field(find_rec(doc, "dev", 1), "arr"),
			      "value");
	json_array_set_new(arr, 2, json_integer(4294967295));
	assert_int_equal(encode_doc(doc, NULL, &out, &err), 0);
	assert_int_equal(out.len, b.len);
	for (size_t i = 0; i < b.len; i++)
		diffs += b.p[i] != out.p[i];
	/* a, b, c (2), d, e (4), arr[2] (4): 13 bytes at most changed. */
	assert_true(diffs > 0 && diffs <= 13);

	assert_int_equal(parse_buf(&out, NULL, &s, &err), 0);
	assert_int_equal(mig_path_resolve(s, "dev[1].a", &rec, &n, &err), 0);
	assert_int_equal(n->u, 255);
	assert_int_equal(mig_path_resolve(s, "dev[1].b", &rec, &n, &err), 0);
	assert_int_equal(n->i, -128);
	assert_int_equal(mig_path_resolve(s, "dev[1].c", &rec, &n, &err), 0);
	assert_int_equal(n->u, 0xffff);
	assert_int_equal(mig_path_resolve(s, "dev[1].arr[2]", &rec, &n, &err),
			 0);
	assert_int_equal(n->u, 0xffffffffu);
	assert_int_equal(mig_path_resolve(s, "dev[0].a", &rec, &n, &err), 0);
	assert_int_equal(n->u, 0x7f);	/* the other instance is untouched */
	mig_stream_free(s);
	buf_free(&out);
	json_decref(doc);
	buf_free(&b);
}

/* Encoding @doc fails with EINVAL, a message containing @msg and @path. */
static void assert_refused(const json_t *doc, const char *path,
			   const char *msg)
{
	struct buf out;
	struct mig_error err;

	assert_int_equal(encode_doc(doc, NULL, &out, &err), -MIG_EINVAL);
	assert_int_equal(err.code, MIG_EINVAL);
	assert_int_equal(err.offset, MIG_NO_OFFSET);
	if (strcmp(err.path, path) || !strstr(err.msg, msg))
		fail_msg("got path '%s' msg '%s', want '%s' and '%s'", err.path,
			 err.msg, path, msg);
}

static void test_edit_refused(void **state)
{
	static const struct {
		const char *field;
		const char *key;
		const char *json;	/* the new value */
		const char *path;
		const char *msg;
	} cases[] = {
		{ "a", "value", "256", "record 5: dev[1].a",
		  "256 is out of range for uint8 (0 to 255)" },
		{ "a", "value", "-1", "record 5: dev[1].a",
		  "-1 is out of range for uint8" },
		{ "b", "value", "128", "record 5: dev[1].b",
		  "128 is out of range for int8 (-128 to 127)" },
		{ "b", "value", "-129", "record 5: dev[1].b",
		  "-129 is out of range for int8" },
		{ "b", "value", "\"0x100\"", "record 5: dev[1].b",
		  "0x100 does not fit int8 (8 bits)" },
		{ "c", "value", "65536", "record 5: dev[1].c",
		  "out of range for uint16 (0 to 65535)" },
		{ "c", "value", "\"abc\"", "record 5: dev[1].c",
		  "'abc' is not a number for uint16" },
		{ "c", "value", "true", "record 5: dev[1].c",
		  "expected an integer for uint16, found true" },
		{ "c", "value", "1.5", "record 5: dev[1].c",
		  "found a real number" },
		{ "d", "value", "\"yes\"", "record 5: dev[1].d",
		  "expected true or false for bool" },
		{ "d", "value", "256", "record 5: dev[1].d",
		  "256 is out of range for bool" },
		{ "e", "value", "\"0011\"", "record 5: dev[1].e",
		  "2 bytes of hex for a buffer of 4 bytes" },
		{ "e", "value", "\"zz112233\"", "record 5: dev[1].e",
		  "is not 4 bytes of hex" },
		{ "e", "value", "5", "record 5: dev[1].e",
		  "expected a string of hex digits for buffer" },
		{ "a", "size", "2", "record 5: dev[1].a",
		  "size 2 does not match uint8 (1 byte" },
		{ "arr", "value", "[1, 2]", "record 5: dev[1].arr",
		  "\"value\" has 2 entries, \"array_len\" says 3" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = { 0 };
		json_error_t jerr;
		json_t *doc, *v;

		make_stream(&b);
		doc = dump_doc(&b, NULL, NULL, 0);
		v = json_loads(cases[i].json, JSON_DECODE_ANY, &jerr);
		assert_non_null(v);
		edit(doc, "dev", 1, cases[i].field, cases[i].key, v);
		assert_refused(doc, cases[i].path, cases[i].msg);
		json_decref(doc);
		buf_free(&b);
	}
}

/* Paths inside structs, lists, arrays and subsections name them all. */
static void test_edit_nested_paths(void **state)
{
	struct buf b = { 0 };
	json_t *doc, *rec, *x;

	(void)state;
	make_stream(&b);
	doc = dump_doc(&b, NULL, NULL, 0);
	rec = find_rec(doc, "dev", 0);
	x = json_array_get(json_object_get(find_field(rec, "s"), "fields"), 0);
	json_object_set_new(x, "value", json_string("0x10000000000000000"));
	assert_refused(doc, "record 4: dev.s.x", "is not a number for uint64");
	json_object_set_new(x, "value", json_string("0xffffffffffffffff"));

	x = json_array_get(json_object_get(json_array_get(json_object_get(
		find_field(rec, "q"), "elements"), 1), "fields"), 0);
	json_object_set_new(x, "value", json_integer(70000));
	assert_refused(doc, "record 4: dev.q[1].v", "out of range for uint16");
	json_object_set_new(x, "value", json_integer(9));

	x = json_array_get(json_object_get(json_array_get(json_object_get(
		rec, "subsections"), 0), "fields"), 0);
	json_object_set_new(x, "value", json_integer(-2147483649LL));
	assert_refused(doc, "record 4: dev{dev/sub}.y",
		       "out of range for int32 (-2147483648 to 2147483647)");
	json_decref(doc);
	buf_free(&b);
}

static void test_malformed_documents(void **state)
{
	struct buf b = { 0 }, out;
	struct mig_error err;
	json_t *doc, *r0;

	(void)state;
	make_stream(&b);
	doc = dump_doc(&b, NULL, NULL, 0);

	json_object_set_new(doc, "migstream_lossless", json_integer(2));
	assert_int_equal(encode_doc(doc, NULL, &out, &err), -MIG_EUNSUP);
	json_object_del(doc, "migstream_lossless");
	assert_int_equal(encode_doc(doc, NULL, &out, &err), -MIG_EINVAL);
	assert_non_null(strstr(err.msg, "not a lossless document"));
	json_object_set_new(doc, "migstream_lossless", json_integer(1));

	r0 = json_array_get(json_object_get(doc, "records"), 0);
	json_object_set_new(r0, "record", json_string("middle"));
	assert_refused(doc, "record 0", "unknown record 'middle'");
	json_object_set_new(r0, "record", json_string("start"));

	json_object_set_new(json_array_get(json_object_get(r0, "ram"), 1),
			    "type", json_string("teleport"));
	assert_refused(doc, "record 0: ram.ram[1]",
		       "unknown RAM record type 'teleport'");
	json_object_set_new(json_array_get(json_object_get(r0, "ram"), 1),
			    "type", json_string("eos"));

	/* A page run whose data is one page short. */
	json_object_set_new(json_array_get(json_object_get(json_array_get(
		json_object_get(doc, "records"), 1), "ram"), 1), "base64",
		json_string("AAAA"));
	assert_refused(doc, "record 1: ram.ram[1]",
		       "\"base64\" holds 3 bytes, 8192 are needed");
	json_decref(doc);
	buf_free(&b);
}

/* A packaged blob: its length comes from what is inside. */
static void test_packaged_length(void **state)
{
	struct buf b = { 0 }, blob = { 0 }, out;
	struct mig_error err;
	struct mig_stream *s = NULL;
	json_t *doc, *pk, *inner;
	uint8_t len[4];

	(void)state;
	put_header(&b);
	put_cmd(&b, MIG_CMD_OPEN_RETURN_PATH, 0, NULL);
	put_cmd(&blob, MIG_CMD_POSTCOPY_LISTEN, 0, NULL);
	put_full(&blob, 7, "thing", 0, 1);
	buf_put(&blob, "\xab\xcd", 2);
	put_footer(&blob, 7);
	put_cmd(&blob, MIG_CMD_POSTCOPY_RUN, 0, NULL);
	len[0] = 0;
	len[1] = 0;
	len[2] = (uint8_t)(blob.len >> 8);
	len[3] = (uint8_t)blob.len;
	put_cmd(&b, MIG_CMD_PACKAGED, 4, len);
	buf_put(&b, blob.p, blob.len);
	put_eof(&b);

	doc = dump_doc(&b, NULL, NULL, 0);
	assert_int_equal(encode_doc(doc, NULL, &out, &err), 0);
	assert_same(&b, &out);
	buf_free(&out);

	pk = json_array_get(json_object_get(doc, "records"), 1);
	assert_string_equal(json_string_value(json_object_get(pk, "command")),
			    "packaged");
	inner = json_array_get(json_object_get(pk, "records"), 1);
	assert_string_equal(json_string_value(json_object_get(inner, "kind")),
			    "undecoded");
	/* Three more bytes in the undecoded section: the blob grows. */
	json_object_set_new(inner, "hex", json_string("abcd010203"));
	assert_int_equal(encode_doc(doc, NULL, &out, &err), 0);
	assert_int_equal(out.len, b.len + 3);
	/* header, OPEN_RETURN_PATH (5), PACKAGED's be32 at 5 bytes in */
	assert_int_equal(out.p[8 + 5 + 5 + 3], (blob.len + 3) & 0xff);
	assert_int_equal(parse_buf(&out, NULL, &s, &err), 0);
	mig_stream_free(s);
	buf_free(&out);
	json_decref(doc);
	buf_free(&blob);
	buf_free(&b);
}

/* Bytes of the vmdesc JSON make_stream() writes. */
static size_t vmdesc_len(void)
{
	json_t *vd = json_q(VMDESC);
	char *text = json_dumps(vd, JSON_COMPACT);
	size_t n = strlen(text);

	free(text);
	json_decref(vd);
	return n;
}

/* A stream cut short: what was read, then the rest as bytes. */
static void test_truncated(void **state)
{
	struct buf b = { 0 }, cut = { 0 }, out;
	struct mig_error err;
	json_t *doc, *rest;

	(void)state;
	make_stream(&b);
	/* Cut inside the legacy section (30 bytes before EOF and vmdesc). */
	buf_put(&cut, b.p, b.len - vmdesc_len() - 6 - 20);
	doc = dump_doc(&cut, NULL, NULL, -MIG_ETRUNC);
	assert_true(json_is_false(json_object_get(doc, "complete")));
	assert_non_null(strstr(json_string_value(json_object_get(doc, "error")),
			       "truncated"));
	rest = json_object_get(doc, "rest");
	assert_true(json_is_object(rest));
	assert_non_null(json_object_get(rest, "hex"));
	assert_true(json_is_null(json_object_get(doc, "vmdesc")));
	assert_int_equal(encode_doc(doc, NULL, &out, &err), 0);
	assert_same(&cut, &out);
	buf_free(&out);
	json_decref(doc);
	buf_free(&cut);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Values                                                              */

static void enc_ok(const char *type, size_t size, const char *json,
		   const char *hex)
{
	struct mig_error err;
	json_error_t jerr;
	json_t *v = json_loads(json, JSON_DECODE_ANY, &jerr);
	uint8_t out[256];
	char got[600];
	size_t n;

	assert_non_null(v);
	if (mig_encode_value(type, size, v, out, &n, &err))
		fail_msg("%s %s: %s", type, json, err.msg);
	for (size_t i = 0; i < n; i++)
		snprintf(got + 2 * i, 3, "%02x", out[i]);
	got[2 * n] = '\0';
	assert_string_equal(got, hex);
	json_decref(v);
}

static void enc_bad(const char *type, size_t size, const char *json,
		    const char *msg)
{
	struct mig_error err;
	json_error_t jerr;
	json_t *v = json_loads(json, JSON_DECODE_ANY, &jerr);
	uint8_t out[256];
	size_t n;

	assert_non_null(v);
	mig_error_clear(&err);
	assert_int_equal(mig_encode_value(type, size, v, out, &n, &err),
			 -MIG_EINVAL);
	if (!strstr(err.msg, msg))
		fail_msg("%s %s: '%s' lacks '%s'", type, json, err.msg, msg);
	json_decref(v);
}

static void test_values(void **state)
{
	(void)state;
	enc_ok("int8", 1, "-128", "80");
	enc_ok("int8", 1, "127", "7f");
	enc_ok("int8", 1, "\"0xff\"", "ff");
	enc_ok("int8", 1, "\"-1\"", "ff");
	enc_bad("int8", 1, "-129", "out of range for int8 (-128 to 127)");
	enc_bad("int8", 1, "128", "out of range for int8");
	enc_ok("uint16", 2, "65535", "ffff");
	enc_bad("uint16", 2, "65536", "out of range for uint16 (0 to 65535)");
	enc_bad("uint16", 2, "-1", "out of range for uint16");
	enc_ok("int32", 4, "-2147483648", "80000000");
	enc_ok("int64", 8, "-9223372036854775808", "8000000000000000");
	enc_ok("uint64", 8, "\"0xffffffffffffffff\"", "ffffffffffffffff");
	enc_ok("uint64", 8, "\"18446744073709551615\"", "ffffffffffffffff");
	enc_bad("uint64", 8, "\"18446744073709551616\"", "is not a number");
	enc_ok("timer", 8, "\"0xffffffffffffffff\"", "ffffffffffffffff");
	enc_ok("uint32 equal", 4, "7", "00000007");
	enc_ok("int32 le", 4, "-2", "fffffffe");
	enc_bad("uint32", 4, "\"12abc\"", "is not a number");
	enc_bad("uint32", 4, "\"0x\"", "is not a number");
	enc_bad("uint32", 4, "[1]", "found an array");
	enc_bad("uint32", 2, "1", "size 2 does not match uint32 (4 bytes)");
	enc_ok("bool", 1, "true", "01");
	enc_ok("bool", 1, "false", "00");
	enc_ok("bool", 1, "2", "02");
	enc_bad("bool", 1, "-1", "out of range for bool");
	enc_bad("bool", 1, "\"true\"", "expected true or false");
	enc_ok("buffer", 3, "\"0A0b0c\"", "0a0b0c");
	enc_ok("buffer", 3, "\"0x0a0b0c\"", "0a0b0c");
	enc_ok("pci config", 2, "\"beef\"", "beef");
	enc_bad("buffer", 3, "\"0a0b\"", "2 bytes of hex for a buffer of 3 bytes");
	enc_bad("buffer", 2, "\"xyzw\"", "is not 2 bytes of hex");
	enc_ok("nullptr", 1, "null", "30");
	enc_bad("nullptr", 1, "0", "has the value null");
	enc_ok("capability", 0, "\"x-ignore-shared\"",
	       "0f782d69676e6f72652d736861726564");
	enc_bad("struct", 0, "1", "has fields, not a value");
}

/* ------------------------------------------------------------------ */
/* Paths and set                                                       */

static void resolve_ok(const struct mig_stream *s, const char *path,
		       const char *canon, uint64_t u)
{
	const struct mig_record *rec;
	const struct mig_node *n;
	struct mig_error err;
	char buf[256];

	if (mig_path_resolve(s, path, &rec, &n, &err))
		fail_msg("%s: %s: %s", path, err.path, err.msg);
	assert_string_equal(mig_path_format(s, rec, n, buf, sizeof(buf)),
			    canon);
	if (u != UINT64_MAX)
		assert_int_equal(n->u, u);
}

static void resolve_bad(const struct mig_stream *s, const char *path,
			const char *msg)
{
	const struct mig_record *rec;
	const struct mig_node *n;
	struct mig_error err;

	mig_error_clear(&err);
	assert_int_equal(mig_path_resolve(s, path, &rec, &n, &err),
			 -MIG_EINVAL);
	assert_string_equal(err.path, path);
	if (!strstr(err.msg, msg))
		fail_msg("%s: '%s' lacks '%s'", path, err.msg, msg);
}

static void test_paths(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s = NULL;
	struct mig_error err;

	(void)state;
	make_stream(&b);
	assert_int_equal(parse_buf(&b, NULL, &s, &err), 0);
	resolve_ok(s, "dev[0].a", "dev[0].a", 0x7f);
	resolve_ok(s, "dev[1].a", "dev[1].a", 1);
	resolve_ok(s, "dev[1].arr[2]", "dev[1].arr[2]", 102);
	resolve_ok(s, "dev[0].s.x", "dev[0].s.x", 0x1122334455667788ull);
	resolve_ok(s, "dev[0].q[1].v", "dev[0].q[1].v", 8);
	resolve_ok(s, "dev[0].y", "dev[0]{dev/sub}.y", UINT64_MAX);
	resolve_ok(s, "dev[0]{dev/sub}.y", "dev[0]{dev/sub}.y", UINT64_MAX);
	resolve_ok(s, "legacy.data", "legacy.data", UINT64_MAX);
	resolve_bad(s, "dev.a", "has several instances (0, 1");
	resolve_bad(s, "dev[2].a", "has no instance 2");
	resolve_bad(s, "nosuch.a", "no device section");
	resolve_bad(s, "dev[0].zz", "no field 'zz'");
	resolve_bad(s, "dev[0].arr[3]", "no element 3: 'arr' has 3 (0 to 2)");
	resolve_bad(s, "dev[0].a[0]", "'a' is not an array");
	resolve_bad(s, "dev[0].a.b", "it has no fields");
	resolve_bad(s, "dev[0].arr.x", "give an element first");
	resolve_bad(s, "dev[0]{dev/other}.y", "no subsection 'dev/other'");
	resolve_bad(s, "dev[0]", "names a whole section");
	mig_stream_free(s);
	buf_free(&b);
}

static void test_set(void **state)
{
	struct buf b = { 0 }, out = { 0 };
	struct mig_stream *s = NULL, *s2 = NULL;
	struct mig_patch p[3];
	const struct mig_record *rec;
	const struct mig_node *n;
	struct mig_reader *r = NULL;
	struct mig_writer *w = NULL;
	struct mig_error err;
	const uint8_t *data;
	size_t len;

	(void)state;
	make_stream(&b);
	assert_int_equal(parse_buf(&b, NULL, &s, &err), 0);
	assert_int_equal(mig_path_resolve(s, "dev[1].c", &rec, &n, &err), 0);
	assert_int_equal(mig_set_prepare(n, "0xbeef", &p[0], &err), 0);
	assert_int_equal(mig_path_resolve(s, "dev[0].b", &rec, &n, &err), 0);
	assert_int_equal(mig_set_prepare(n, "-100", &p[1], &err), 0);
	assert_int_equal(mig_path_resolve(s, "legacy.data", &rec, &n, &err), 0);
	assert_int_equal(mig_set_prepare(n, "0a0b0c0d0e", &p[2], &err), 0);

	/* Refused: wrong width, wrong type, a struct, an array. */
	mig_patch_release(&p[2]);
	mig_error_clear(&err);
	assert_int_equal(mig_set_prepare(n, "0a0b", &p[2], &err), -MIG_EINVAL);
	assert_int_equal(mig_path_resolve(s, "dev[0].d", &rec, &n, &err), 0);
	mig_error_clear(&err);
	assert_int_equal(mig_set_prepare(n, "maybe", &p[2], &err), -MIG_EINVAL);
	assert_int_equal(mig_path_resolve(s, "dev[0].s", &rec, &n, &err), 0);
	mig_error_clear(&err);
	assert_int_equal(mig_set_prepare(n, "1", &p[2], &err), -MIG_EINVAL);
	assert_int_equal(mig_path_resolve(s, "dev[0].arr", &rec, &n, &err), 0);
	mig_error_clear(&err);
	assert_int_equal(mig_set_prepare(n, "1", &p[2], &err), -MIG_EINVAL);
	assert_non_null(strstr(err.msg, "set one element"));
	assert_int_equal(mig_path_resolve(s, "dev[0].a", &rec, &n, &err), 0);
	mig_error_clear(&err);
	assert_int_equal(mig_set_prepare(n, "256", &p[2], &err), -MIG_EINVAL);
	assert_non_null(strstr(err.msg, "out of range for uint8"));
	/* p[2] was left released by the failures: prepare it again. */
	assert_int_equal(mig_path_resolve(s, "legacy.data", &rec, &n, &err), 0);
	assert_int_equal(mig_set_prepare(n, "0a0b0c0d0e", &p[2], &err), 0);

	assert_int_equal(mig_reader_from_mem(&r, b.p, b.len, "t", &err), 0);
	assert_int_equal(mig_writer_mem(&w, &err), 0);
	assert_int_equal(mig_set_write(r, 0, p, 3, w, &err), 0);
	data = mig_writer_mem_data(w, &len);
	buf_put(&out, data, len);
	mig_writer_abort(w);
	mig_reader_free(r);
	assert_int_equal(out.len, b.len);

	assert_int_equal(parse_buf(&out, NULL, &s2, &err), 0);
	assert_int_equal(mig_path_resolve(s2, "dev[1].c", &rec, &n, &err), 0);
	assert_int_equal(n->u, 0xbeef);
	assert_int_equal(mig_path_resolve(s2, "dev[0].b", &rec, &n, &err), 0);
	assert_int_equal(n->i, -100);
	assert_int_equal(mig_path_resolve(s2, "legacy.data", &rec, &n, &err), 0);
	assert_memory_equal(n->bytes, "\x0a\x0b\x0c\x0d\x0e", 5);
	for (size_t i = 0; i < 3; i++)
		mig_patch_release(&p[i]);
	mig_stream_free(s2);
	mig_stream_free(s);
	buf_free(&out);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* The writer                                                          */

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void assert_content(const char *path, const char *want)
{
	char buf[64] = { 0 };
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	assert_int_equal(fread(buf, 1, sizeof(buf) - 1, f), strlen(want));
	fclose(f);
	assert_string_equal(buf, want);
}

static void test_writer_atomic(void **state)
{
	char dir[] = "/tmp/test_writer.XXXXXX";
	char path[256];
	struct mig_writer *w = NULL;
	struct mig_error err;
	bool named;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.mig", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs("old", f);
	fclose(f);

	/* Abandoned: the target keeps its bytes, no temporary file stays.
	 * On Linux (O_TMPFILE in /tmp) the file never has a name, so not
	 * even SIGKILL could leave it behind; it reads back by its path. */
	assert_int_equal(mig_writer_open(&w, path, &err), 0);
	assert_non_null(mig_writer_temp_path(w));
	named = mig_writer_temp_named(w);
	if (named) {
		/* A file system without O_TMPFILE: the named fallback. */
		print_message("no O_TMPFILE in %s: named temporary file\n", dir);
		assert_int_equal(strncmp(mig_writer_temp_path(w), dir,
					 strlen(dir)), 0);
	} else {
		assert_int_equal(strncmp(mig_writer_temp_path(w),
					 "/proc/self/fd/", 14), 0);
	}
	assert_int_equal(mig_writer_write(w, "new bytes", 9, &err), 0);
	assert_int_equal(mig_writer_flush(w, &err), 0);
	assert_int_equal(count_entries(dir), named ? 2 : 1);
	assert_content(mig_writer_temp_path(w), "new bytes");
	assert_content(path, "old");
	mig_writer_abort(w);
	assert_int_equal(count_entries(dir), 1);
	assert_content(path, "old");

	/* Committed: replaced whole. */
	assert_int_equal(mig_writer_open(&w, path, &err), 0);
	assert_int_equal(mig_writer_write(w, "new bytes", 9, &err), 0);
	assert_int_equal(mig_writer_offset(w), 9);
	assert_int_equal(mig_writer_commit(w, &err), 0);
	assert_int_equal(count_entries(dir), 1);
	assert_content(path, "new bytes");

	/* Committed where no file was: linked straight to its name. */
	unlink(path);
	assert_int_equal(mig_writer_open(&w, path, &err), 0);
	assert_int_equal(mig_writer_write(w, "fresh", 5, &err), 0);
	assert_int_equal(count_entries(dir), named ? 1 : 0);
	assert_int_equal(mig_writer_commit(w, &err), 0);
	assert_int_equal(count_entries(dir), 1);
	assert_content(path, "fresh");

	/* A directory that does not exist: an error naming the target. */
	mig_error_clear(&err);
	assert_int_equal(mig_writer_open(&w, "/nonexistent/dir/out", &err),
			 -MIG_EIO);
	assert_non_null(strstr(err.msg, "/nonexistent/dir/out"));
	assert_true(mig_same_file(path, path));
	assert_false(mig_same_file(path, dir));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_inline),
		cmocka_unit_test(test_roundtrip_text),
		cmocka_unit_test(test_roundtrip_side_file),
		cmocka_unit_test(test_side_file_raw),
		cmocka_unit_test(test_edit_in_range),
		cmocka_unit_test(test_edit_refused),
		cmocka_unit_test(test_edit_nested_paths),
		cmocka_unit_test(test_malformed_documents),
		cmocka_unit_test(test_packaged_length),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_writer_atomic),
	};

	return cmocka_run_group_tests_name("encode", tests, NULL, NULL);
}
