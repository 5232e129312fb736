/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for schema.c, sdecode.c and simport.c: loading schemas and
 * the errors of a bad one (with file, line and column), finding schemas by
 * name, decoding sections with a schema (unknown conditions decided by the
 * footer: one layout, several, none), and importing QEMU's outputs.
 * Run from the repository root (the import test reads testdata/).
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder.h"
#include "migstream/schema.h"
#include "migstream/vmdesc.h"

/* ------------------------------------------------------------------ */
/* Loading                                                             */

static struct mig_schema *load(const char *text)
{
	struct mig_schema *s = NULL;
	struct mig_error err;

	mig_error_clear(&err);
	if (mig_schema_load_mem(text, strlen(text), "s.json", &s, &err))
		fail_msg("%s", err.msg);
	return s;
}

static void load_bad(const char *text, const char *msg)
{
	struct mig_schema *s = NULL;
	struct mig_error err;

	mig_error_clear(&err);
	assert_int_equal(mig_schema_load_mem(text, strlen(text), "s.json", &s,
					     &err), -MIG_EINVAL);
	assert_null(s);
	assert_int_equal(err.code, MIG_EINVAL);
	assert_string_equal(err.msg, msg);
}

static void test_load(void **state)
{
	struct mig_schema *s;
	const struct mig_svmsd *v, *found[4];

	(void)state;
	s = load("{\"migstream_schema\": 1, \"name\": \"t\", \"qemu\": \"7.2\",\n"
		 " \"machines\": [{\"name\": \"pc-q35-7.2\", \"alias\": \"q35\"}],\n"
		 " \"devices\": [{\"type\": \"e1000e\", \"vmsd\": \"dev\",\n"
		 "   \"properties\": {\"pcie\": true}}],\n"
		 " \"vmsds\": [\n"
		 "  {\"id\": \"dev\", \"version\": 2, \"minimum_version\": 1,\n"
		 "   \"sections\": [\"dev\"],\n"
		 "   \"fields\": [{\"name\": \"cfg\", \"type\": \"buffer\", \"size\": 4},\n"
		 "              {\"name\": \"cfg\", \"type\": \"buffer\", \"size\": 8,\n"
		 "               \"exists\": {\"unknown\": \"x\"}},\n"
		 "              {\"name\": \"arr\", \"type\": \"struct\", \"count\": 3,\n"
		 "               \"vmsd\": \"el\"},\n"
		 "              {\"name\": \"arr2\", \"type\": \"struct\", \"count\": 3,\n"
		 "               \"vmsd\": \"el2\"}]},\n"
		 "  {\"id\": \"el\", \"version\": 1, \"fields\": [{\"name\": \"x\", \"type\": \"uint8\"}]},\n"
		 "  {\"id\": \"el2\", \"version\": 1, \"fields\": [{\"name\": \"x\", \"type\": \"uint8\"}],\n"
		 "   \"subsections\": [{\"vmsd\": \"el2/sub\"}]},\n"
		 "  {\"id\": \"el2/sub\", \"version\": 1}]}\n");
	assert_string_equal(s->name, "t");
	assert_true(s->vmdesc_index_last);
	assert_int_equal(s->nvmsds, 4);
	v = mig_schema_vmsd(s, "dev");
	assert_non_null(v);
	/* QEMU's vmdesc names for a repeated name */
	assert_string_equal(v->fields[0].uname, "cfg[0]");
	assert_string_equal(v->fields[1].uname, "cfg[1]");
	/* vmsd_can_compress(): no test, no subsections below */
	assert_true(v->fields[0].compress);
	assert_false(v->fields[1].compress);
	assert_true(v->fields[2].compress);
	assert_false(v->fields[3].compress);
	assert_ptr_equal(s->devices[0].vmsd, v);
	assert_int_equal(mig_schema_section_vmsds(s, "0000:00:02.0/dev", found, 4),
			 1);
	assert_ptr_equal(found[0], v);
	assert_int_equal(mig_schema_section_vmsds(s, "other", found, 4), 0);
	assert_non_null(mig_schema_machine(s, "q35"));
	assert_null(mig_schema_machine(s, "pc-q35-5.2"));
	/* machine defaults */
	assert_true(s->machines[0].footers && s->machines[0].vmdesc);
	assert_false(s->machines[0].switchover_start);
	mig_schema_free(s);
}

static void test_load_errors(void **state)
{
	(void)state;
	load_bad("{\"migstream_schema\": 1,\n \"vmsds\": [}",
		 "s.json:2:12: bad JSON: unexpected character");
	load_bad("[]", "s.json:1:1: a schema must be an object, not an array");
	load_bad("{\"vmsds\": []}",
		 "s.json:1:1: not a migstream schema (no \"migstream_schema\" key)");
	load_bad("{\"migstream_schema\": 2, \"vmsds\": []}",
		 "s.json:1:22: schema format 2 is not supported (this migstream reads format 1)");
	load_bad("{\"migstream_schema\": 1, \"vmsd\": []}",
		 "s.json:1:25: unknown key 'vmsd' in the schema");
	load_bad("{\"migstream_schema\": 1}",
		 "s.json:1:1: missing key 'vmsds'");
	load_bad("{\"migstream_schema\": 1, \"vmsds\": [\n"
		 " {\"id\": \"a\", \"version\": 1, \"fields\": [\n"
		 "   {\"name\": \"x\", \"sise\": 4}]}]}",
		 "s.json:3:18: unknown key 'sise' in a field");
	load_bad("{\"migstream_schema\": 1, \"vmsds\": [\n"
		 " {\"id\": \"a\", \"version\": \"1\"}]}",
		 "s.json:2:25: 'version' must be an integer from 0 to 4294967295");
	load_bad("{\"migstream_schema\": 1, \"vmsds\": [\n"
		 " {\"id\": \"a\", \"version\": 1, \"minimum_version\": 2}]}",
		 "s.json:2:28: minimum_version 2 is above version 1");
	load_bad("{\"migstream_schema\": 1, \"vmsds\": [\n"
		 " {\"id\": \"a\", \"version\": 1},\n"
		 " {\"id\": \"a\", \"version\": 2}]}",
		 "s.json:3:2: description id 'a' used twice");
	load_bad("{\"migstream_schema\": 1, \"vmsds\": [\n"
		 " {\"id\": \"a\", \"version\": 1, \"fields\": [\n"
		 "   {\"name\": \"s\", \"vmsd\": \"nosuch\"}]}]}",
		 "s.json:3:4: field 's' of 'a' refers to unknown description 'nosuch'");
	load_bad("{\"migstream_schema\": 1, \"vmsds\": [\n"
		 " {\"id\": \"a\", \"version\": 1, \"fields\": [\n"
		 "   {\"name\": \"to_b\", \"vmsd\": \"b\"}]},\n"
		 " {\"id\": \"b\", \"version\": 1, \"fields\": [\n"
		 "   {\"name\": \"x\", \"type\": \"uint8\"},\n"
		 "   {\"name\": \"to_a\", \"vmsd\": \"a\"}]}]}",
		 "s.json:6:4: cycle of nested descriptions: 'a' -> 'b' -> 'a'");
	/* A subsection may not contain its parent either. */
	load_bad("{\"migstream_schema\": 1, \"vmsds\": [\n"
		 " {\"id\": \"a\", \"version\": 1, \"subsections\": [{\"vmsd\": \"a\"}]}]}",
		 "s.json:2:2: cycle of nested descriptions: 'a' -> 'a'");
	/* Conditions are compiled, with their own positions. */
	load_bad("{\"migstream_schema\": 1, \"vmsds\": [\n"
		 " {\"id\": \"a\", \"version\": 1, \"fields\": [\n"
		 "   {\"name\": \"x\", \"exists\": {\"lower\": [1, 2]}}]}]}",
		 "s.json:3:29: unknown operator 'lower'");
	load_bad("{\"migstream_schema\": 1, \"vmsds\": [\n"
		 " {\"id\": \"a\", \"version\": 1, \"fields\": [\n"
		 "   {\"name\": \"x\", \"size\": -4}]}]}",
		 "s.json:3:26: 'size' must not be negative");
	load_bad("{\"migstream_schema\": 1, \"vmsds\": [],\n"
		 " \"machines\": [{\"name\": \"m\"}, {\"name\": \"m\"}]}",
		 "s.json:2:30: machine 'm' listed twice");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void test_open_list(void **state)
{
	char dir[] = "/tmp/test_schema.XXXXXX";
	char path[256];
	const char *dirs[2];
	struct mig_schema *s = NULL;
	struct mig_error err;
	char **names = NULL;
	size_t n = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < 3; i++) {
		static const char *const v[] = { "10.0", "5.2", "7.2" };

		snprintf(path, sizeof(path), "%s/qemu-%s", dir, v[i]);
		assert_int_equal(mkdir(path, 0700), 0);
		snprintf(path, sizeof(path), "%s/qemu-%s/x86_64.json", dir, v[i]);
		write_file(path, "{\"migstream_schema\": 1, \"vmsds\": []}");
	}
	dirs[0] = "/nonexistent";
	dirs[1] = dir;
	mig_error_clear(&err);
	assert_int_equal(mig_schema_list(NULL, dirs, 2, &names, &n, &err), 0);
	assert_int_equal(n, 3);
	/* by version, not by name */
	assert_string_equal(names[0], "qemu-5.2");
	assert_string_equal(names[1], "qemu-7.2");
	assert_string_equal(names[2], "qemu-10.0");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	assert_int_equal(mig_schema_open("qemu-7.2", NULL, dirs, 2, &s, &err), 0);
	snprintf(path, sizeof(path), "%s/qemu-7.2/x86_64.json", dir);
	assert_string_equal(s->file, path);
	mig_schema_free(s);
	assert_int_equal(mig_schema_open("qemu-9.9", NULL, dirs, 2, &s, &err),
			 -MIG_EINVAL);
	snprintf(path, sizeof(path),
		 "no schema 'qemu-9.9' for x86_64 (looked in /nonexistent, %s)", dir);
	assert_string_equal(err.msg, path);
	assert_true(mig_version_cmp("5.2", "10.0") < 0);
	assert_true(mig_version_cmp("10.0", "7.2") > 0);
	assert_int_equal(mig_version_cmp("7.2", "7.2"), 0);
	assert_true(mig_version_cmp("4.0.1", "4.0") > 0);
	for (int i = 0; i < 3; i++) {
		static const char *const v[] = { "10.0", "5.2", "7.2" };

		snprintf(path, sizeof(path), "%s/qemu-%s/x86_64.json", dir, v[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/qemu-%s", dir, v[i]);
		rmdir(path);
	}
	rmdir(dir);
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */

/* A stream with one FULL section "dev" (id 1, instance 0) of @version
 * carrying @payload, footers on. */
static struct buf stream_with(uint32_t version, const void *payload,
			      size_t len)
{
	struct buf b = { 0 };

	put_header(&b);
	put_config(&b, "pc-q35-7.2");
	put_full(&b, 1, "0000:00:02.0/dev", 0, version);
	buf_put(&b, payload, len);
	put_footer(&b, 1);
	put_eof(&b);
	return b;
}

/* Reads @b with schema @text forced; returns the "dev" record. */
static struct mig_stream *read_with(const struct buf *b, const char *text,
				    struct mig_schema **schema)
{
	const struct mig_schema *list[1];
	struct mig_parse_opts opts = { 0 };
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	struct mig_error err;
	int ret;

	*schema = load(text);
	list[0] = *schema;
	opts.schemas = list;
	opts.nschemas = 1;
	opts.schema_forced = true;
	mig_error_clear(&err);
	assert_int_equal(mig_reader_from_mem(&r, b->p, b->len, "s.mig", &err), 0);
	ret = mig_stream_read(r, &opts, &s, &err);
	mig_reader_free(r);
	if (ret)
		fail_msg("%s", err.msg);
	assert_true(s->complete);
	return s;
}

static const struct mig_record *dev_rec(const struct mig_stream *s)
{
	for (const struct mig_record *r = s->records; r; r = r->next)
		if (r->type == MIG_REC_FULL)
			return r;
	fail_msg("no FULL record");
	return NULL;
}

static const struct mig_node *child(const struct mig_node *n, size_t i)
{
	const struct mig_node *k = n->child;

	while (k && i--)
		k = k->next;
	assert_non_null(k);
	return k;
}

#define SCHEMA_HEAD "{\"migstream_schema\": 1, \"name\": \"t\", \"vmsds\": ["

static void test_decode_plain(void **state)
{
	static const uint8_t p[] = { 0, 0, 1, 2, 'a', 'b', 'c', 2, 0, 5, 0, 6 };
	struct buf b = stream_with(2, p, sizeof(p));
	struct mig_schema *sch;
	struct mig_stream *s;
	const struct mig_record *r;

	(void)state;
	s = read_with(&b, SCHEMA_HEAD
		      "{\"id\": \"dev\", \"version\": 2, \"sections\": [\"dev\"],"
		      " \"fields\": [{\"name\": \"a\", \"type\": \"uint32\"},"
		      "  {\"name\": \"b\", \"type\": \"buffer\", \"size\": 3},"
		      "  {\"name\": \"new\", \"type\": \"uint8\", \"version\": 3},"
		      "  {\"name\": \"n\", \"type\": \"uint8\"},"
		      "  {\"name\": \"arr\", \"type\": \"uint16\","
		      "   \"count\": {\"field\": \"n\"}}]}]}", &sch);
	r = dev_rec(s);
	assert_int_equal(r->kind, MIG_SEC_VMSTATE);
	assert_string_equal(r->schema, "t");
	assert_string_equal(r->vmsd, "dev");
	assert_int_equal(r->tree->nchildren, 4);	/* "new" is v3 */
	assert_int_equal(child(r->tree, 0)->u, 0x102);
	assert_int_equal(child(r->tree, 1)->nbytes, 3);
	assert_int_equal(child(r->tree, 3)->array_len, 2);
	assert_int_equal(child(child(r->tree, 3), 1)->u, 6);
	assert_int_equal(child(r->tree, 3)->offset + 4, r->payload_offset + r->payload_size);
	mig_stream_free(s);
	mig_schema_free(sch);
	buf_free(&b);
}

/*
 * An array whose elements take no bytes is not bounded by the input: its
 * count is capped (MIG_EMPTY_ELEMENTS_MAX), as in the vmdesc decoder.
 */
static void test_decode_empty_elements(void **state)
{
	static const char *const sch_text = SCHEMA_HEAD
		"{\"id\": \"dev\", \"version\": 1, \"sections\": [\"dev\"],"
		" \"fields\": [{\"name\": \"n\", \"type\": \"uint32\"},"
		"  {\"name\": \"e\", \"type\": \"struct\", \"vmsd\": \"nothing\","
		"   \"count\": {\"field\": \"n\"}}]},"
		"{\"id\": \"nothing\", \"version\": 1, \"fields\": []}]}";
	const struct mig_schema *list[1];
	struct mig_parse_opts opts = { 0 };
	struct mig_schema *sch;
	struct mig_error err;
	struct mig_stream *s;

	(void)state;
	for (int i = 0; i < 2; i++) {
		uint32_t n = i ? MIG_EMPTY_ELEMENTS_MAX + 1 : MIG_EMPTY_ELEMENTS_MAX;
		uint8_t p[4] = { n >> 24, n >> 16 & 0xff, n >> 8 & 0xff, n & 0xff };
		struct buf b = stream_with(1, p, sizeof(p));
		struct mig_reader *r = NULL;
		int ret;

		sch = load(sch_text);
		list[0] = sch;
		opts.schemas = list;
		opts.nschemas = 1;
		opts.schema_forced = true;
		mig_error_clear(&err);
		s = NULL;
		assert_int_equal(mig_reader_from_mem(&r, b.p, b.len, "s.mig", &err), 0);
		ret = mig_stream_read(r, &opts, &s, &err);
		mig_reader_free(r);
		if (!i) {
			assert_int_equal(ret, 0);
			assert_int_equal(child(dev_rec(s)->tree, 1)->array_len,
					 MIG_EMPTY_ELEMENTS_MAX);
		} else {
			/* The section is framed but left undecoded, saying why. */
			const struct mig_record *rec;

			assert_int_equal(ret, 0);
			rec = dev_rec(s);
			assert_int_equal(rec->kind, MIG_SEC_UNDECODED);
			if (!strstr(rec->undecoded, "array of 4097 elements that take no bytes (at most 4096)"))
				fail_msg("%s", rec->undecoded);
		}
		mig_stream_free(s);
		mig_schema_free(sch);
		buf_free(&b);
	}
}

/* An unknown condition: the layout that the footer confirms is kept. */
static void test_decode_alternatives(void **state)
{
	static const char *const sch_text = SCHEMA_HEAD
		"{\"id\": \"dev\", \"version\": 1, \"sections\": [\"dev\"],"
		" \"fields\": [{\"name\": \"x\", \"type\": \"uint16\","
		"   \"exists\": {\"unknown\": \"test\"}},"
		"  {\"name\": \"y\", \"type\": \"uint8\"}]}]}";
	static const uint8_t with_x[] = { 0x12, 0x34, 9 };
	static const uint8_t without_x[] = { 9 };
	struct buf b1 = stream_with(1, with_x, sizeof(with_x));
	struct buf b2 = stream_with(1, without_x, sizeof(without_x));
	struct mig_schema *sch;
	struct mig_stream *s;
	const struct mig_record *r;

	(void)state;
	s = read_with(&b1, sch_text, &sch);
	r = dev_rec(s);
	assert_int_equal(r->kind, MIG_SEC_VMSTATE);
	assert_int_equal(r->tree->nchildren, 2);
	assert_string_equal(child(r->tree, 0)->name, "x");
	assert_int_equal(child(r->tree, 0)->u, 0x1234);
	mig_stream_free(s);
	mig_schema_free(sch);
	s = read_with(&b2, sch_text, &sch);
	r = dev_rec(s);
	assert_int_equal(r->kind, MIG_SEC_VMSTATE);
	assert_int_equal(r->tree->nchildren, 1);
	assert_string_equal(child(r->tree, 0)->name, "y");
	mig_stream_free(s);
	mig_schema_free(sch);
	buf_free(&b1);
	buf_free(&b2);
}

/* Two layouts fit, with different fields: said so, not guessed. */
static void test_decode_several(void **state)
{
	static const uint8_t p[] = { 7 };
	struct buf b = stream_with(1, p, sizeof(p));
	struct mig_schema *sch;
	struct mig_stream *s;
	const struct mig_record *r;

	(void)state;
	s = read_with(&b, SCHEMA_HEAD
		      "{\"id\": \"dev\", \"version\": 1, \"sections\": [\"dev\"],"
		      " \"fields\": [{\"name\": \"p\", \"type\": \"uint8\","
		      "   \"exists\": {\"unknown\": \"t1\"}},"
		      "  {\"name\": \"q\", \"type\": \"uint8\","
		      "   \"exists\": {\"unknown\": \"t2\"}}]}]}", &sch);
	r = dev_rec(s);
	assert_int_equal(r->kind, MIG_SEC_UNDECODED);
	assert_null(r->tree);
	assert_non_null(strstr(r->undecoded, "several layouts of schema t fit"));
	/* The section is still framed by its footer. */
	assert_int_equal(r->payload_size, 1);
	assert_true(r->has_footer);
	mig_stream_free(s);
	mig_schema_free(sch);
	buf_free(&b);
}

/* No layout fits: the reason names the offset of the best try. */
static void test_decode_none(void **state)
{
	static const uint8_t p[] = { 1, 2, 3, 4, 5 };
	struct buf b = stream_with(1, p, sizeof(p));
	struct buf b3 = stream_with(3, p, 4);
	struct mig_schema *sch;
	struct mig_stream *s;
	const struct mig_record *r;
	char want[128];
	static const char *const text = SCHEMA_HEAD
		"{\"id\": \"dev\", \"version\": 2, \"sections\": [\"dev\"],"
		" \"fields\": [{\"name\": \"a\", \"type\": \"uint32\"}]}]}";

	(void)state;
	s = read_with(&b, text, &sch);
	r = dev_rec(s);
	assert_int_equal(r->kind, MIG_SEC_UNDECODED);
	snprintf(want, sizeof(want),
		 "no layout of schema t fits: at 0x%" PRIx64 ": the layout ends at 0x%" PRIx64,
		 r->payload_offset + 4, r->payload_offset + 4);
	assert_non_null(strstr(r->undecoded, want));
	mig_stream_free(s);
	mig_schema_free(sch);
	/* A version the description does not have. */
	s = read_with(&b3, text, &sch);
	r = dev_rec(s);
	assert_int_equal(r->kind, MIG_SEC_UNDECODED);
	assert_non_null(strstr(r->undecoded,
			       "section version 3 is newer than the schema's 'dev' (version 2)"));
	mig_stream_free(s);
	mig_schema_free(sch);
	buf_free(&b);
	buf_free(&b3);
}

/* Subsections by name, conditions on a field the parent wrote, overrides
 * and a field read up to the footer. */
static void test_decode_nested(void **state)
{
	struct buf pl = { 0 };
	struct buf b;
	struct mig_schema *sch;
	struct mig_stream *s;
	const struct mig_record *r;
	const struct mig_node *inner;

	(void)state;
	buf_u8(&pl, 2);			/* inner.ver */
	buf_u8(&pl, 0xaa);		/* inner.z: ver >= 2 */
	buf_put(&pl, "ABCD", 4);	/* inner.data, 4 bytes here */
	put_subsection(&pl, "dev/extra", 1);
	buf_be16(&pl, 0xbeef);
	buf_put(&pl, "tail", 4);	/* blob, up to the footer */
	b = stream_with(1, pl.p, pl.len);
	s = read_with(&b, SCHEMA_HEAD
		      "{\"id\": \"dev\", \"version\": 1, \"sections\": [\"dev\"],"
		      " \"fields\": [{\"name\": \"inner.ver\", \"type\": \"uint8\"},"
		      "  {\"name\": \"inner\", \"type\": \"struct\", \"vmsd\": \"in\","
		      "   \"override\": {\"data\": {\"size\": 4}}},"
		      "  {\"name\": \"blob\", \"type\": \"virtio\"}],"
		      " \"subsections\": [{\"vmsd\": \"dev/extra\"}]},"
		      "{\"id\": \"dev/extra\", \"version\": 1,"
		      " \"fields\": [{\"name\": \"e\", \"type\": \"uint16\"}]},"
		      "{\"id\": \"in\", \"version\": 5,"
		      " \"fields\": [{\"name\": \"z\", \"type\": \"uint8\","
		      "   \"exists\": {\"ge\": [{\"field\": \"ver\", \"default\": 0}, 2]}},"
		      "  {\"name\": \"data\", \"type\": \"buffer\", \"size\": 16}]}]}",
		      &sch);
	r = dev_rec(s);
	/* "blob" runs to the footer and swallows the subsection: the layout
	 * with the subsection is not this schema's (fields come first), so
	 * the blob holds it; what matters is that the footer is respected. */
	assert_int_equal(r->kind, MIG_SEC_VMSTATE);
	inner = child(r->tree, 1);
	assert_string_equal(inner->vmsd, "in");
	assert_int_equal(inner->version, 5);
	assert_int_equal(child(inner, 0)->u, 0xaa);
	assert_int_equal(child(inner, 1)->nbytes, 4);
	assert_int_equal(child(r->tree, 2)->nbytes, 4 + 15 + 2 + 4 - 4);
	mig_stream_free(s);
	mig_schema_free(sch);
	buf_free(&b);
	buf_free(&pl);
}

static void test_decode_subsection(void **state)
{
	struct buf pl = { 0 };
	struct buf b;
	struct mig_schema *sch;
	struct mig_stream *s;
	const struct mig_record *r;
	static const char *const text = SCHEMA_HEAD
		"{\"id\": \"dev\", \"version\": 1, \"sections\": [\"dev\"],"
		" \"fields\": [{\"name\": \"a\", \"type\": \"uint8\"}],"
		" \"subsections\": [{\"vmsd\": \"dev/one\"}, {\"vmsd\": \"dev/two\"}]},"
		"{\"id\": \"dev/one\", \"version\": 2, \"minimum_version\": 1,"
		" \"fields\": [{\"name\": \"x\", \"type\": \"uint8\"},"
		"  {\"name\": \"x2\", \"type\": \"uint8\", \"version\": 2}]},"
		"{\"id\": \"dev/two\", \"version\": 1,"
		" \"fields\": [{\"name\": \"y\", \"type\": \"uint16\"}]}]}";

	(void)state;
	buf_u8(&pl, 1);
	/* in another order than declared: the loader does not mind */
	put_subsection(&pl, "dev/two", 1);
	buf_be16(&pl, 0x1234);
	put_subsection(&pl, "dev/one", 1);	/* version 1: no x2 */
	buf_u8(&pl, 5);
	b = stream_with(1, pl.p, pl.len);
	s = read_with(&b, text, &sch);
	r = dev_rec(s);
	assert_int_equal(r->kind, MIG_SEC_VMSTATE);
	assert_int_equal(r->tree->nchildren, 3);
	assert_int_equal(child(r->tree, 1)->kind, MIG_NODE_SUBSECTION);
	assert_string_equal(child(r->tree, 1)->name, "dev/two");
	assert_int_equal(child(r->tree, 2)->version, 1);
	assert_int_equal(child(r->tree, 2)->nchildren, 1);
	mig_stream_free(s);
	mig_schema_free(sch);
	buf_free(&b);
	buf_free(&pl);

	/* A subsection the schema does not know: no layout fits. */
	pl = (struct buf){ 0 };
	buf_u8(&pl, 1);
	put_subsection(&pl, "dev/three", 1);
	buf_u8(&pl, 0);
	b = stream_with(1, pl.p, pl.len);
	s = read_with(&b, text, &sch);
	r = dev_rec(s);
	assert_int_equal(r->kind, MIG_SEC_UNDECODED);
	assert_non_null(strstr(r->undecoded, "unknown subsection 'dev/three' of 'dev'"));
	mig_stream_free(s);
	mig_schema_free(sch);
	buf_free(&b);
	buf_free(&pl);
}

/* 10.0 describes all but the last element of an indexed array. */
static void test_decode_index_last(void **state)
{
	static const uint8_t p[] = { 1, 2, 3 };
	struct buf b = stream_with(1, p, sizeof(p));
	struct mig_schema *sch;
	struct mig_stream *s;
	const struct mig_record *r;
	static const char *const fmt =
		"{\"migstream_schema\": 1, \"name\": \"t\", \"vmdesc_index_last\": %s,"
		" \"vmsds\": [{\"id\": \"dev\", \"version\": 1, \"sections\": [\"dev\"],"
		" \"fields\": [{\"name\": \"s\", \"type\": \"struct\", \"count\": 3,"
		"   \"vmsd\": \"el\"}]},"
		"{\"id\": \"el\", \"version\": 1, \"fields\": [{\"name\": \"v\","
		"   \"type\": \"uint8\", \"exists\": {\"ge\": [{\"var\": \"version\"}, 1]}}]}]}";
	char text[600];

	(void)state;
	for (int last = 0; last < 2; last++) {
		snprintf(text, sizeof(text), fmt, last ? "true" : "false");
		s = read_with(&b, text, &sch);
		r = dev_rec(s);
		assert_int_equal(r->tree->nchildren, 3);
		assert_int_equal(child(r->tree, 0)->index, 0);
		assert_int_equal(child(r->tree, 1)->index, 1);
		assert_int_equal(child(r->tree, 2)->index, last ? 2 : -1);
		mig_stream_free(s);
		mig_schema_free(sch);
	}
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Import                                                              */

static json_t *find_vmsd(json_t *schema, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(schema, "vmsds"), i, v)
		if (!strcmp(json_string_value(json_object_get(v, "id")), id))
			return v;
	return NULL;
}

static void test_import_small(void **state)
{
	char dir[] = "/tmp/test_import.XXXXXX";
	char dump[128], mach[128], cur[128];
	struct mig_import_opts o = { 0 };
	struct mig_error err;
	json_t *out = NULL, *notes = NULL, *v, *f, *m;
	struct mig_schema *s = NULL;
	char *text;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(dump, sizeof(dump), "%s/dump.json", dir);
	snprintf(mach, sizeof(mach), "%s/machines.txt", dir);
	snprintf(cur, sizeof(cur), "%s/cur.json", dir);
	write_file(dump,
		   "{\"vmschkmachine\": {\"Name\": \"pc-q35-7.2\"},\n"
		   " \"dev-a\": {\"Name\": \"dev-a\", \"version_id\": 2, \"minimum_version_id\": 1,\n"
		   "  \"Description\": {\"name\": \"dev\", \"version_id\": 2, \"minimum_version_id\": 1,\n"
		   "   \"Fields\": [{\"field\": \"x\", \"version_id\": 0, \"field_exists\": true, \"size\": 4},\n"
		   "    {\"field\": \"regs\", \"version_id\": 2, \"field_exists\": false, \"num\": 8, \"size\": 4},\n"
		   "    {\"field\": \"st\", \"version_id\": 0, \"field_exists\": false, \"size\": 100,\n"
		   "     \"Description\": {\"name\": \"inner\", \"version_id\": 1, \"minimum_version_id\": 1,\n"
		   "      \"Fields\": [{\"field\": \"y\", \"version_id\": 0, \"field_exists\": false, \"size\": 1}]}}],\n"
		   "   \"Subsections\": [{\"name\": \"dev/sub\", \"version_id\": 1, \"minimum_version_id\": 1,\n"
		   "     \"Fields\": [{\"field\": \"z\", \"version_id\": 0, \"field_exists\": false, \"size\": 8}]}]}},\n"
		   " \"dev-b\": {\"Name\": \"dev-b\", \"version_id\": 1, \"minimum_version_id\": 1,\n"
		   "  \"Description\": {\"name\": \"dev\", \"version_id\": 1, \"minimum_version_id\": 1,\n"
		   "   \"Fields\": []}}}\n");
	write_file(mach,
		   "Supported machines are:\n"
		   "pc                   Standard PC (alias of pc-i440fx-7.2)\n"
		   "pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)\n"
		   "pc-i440fx-2.3        Standard PC (i440FX + PIIX, 1996) (deprecated)\n"
		   "none                 empty machine\n");
	write_file(cur,
		   "{\"migstream_curation\": 1,\n"
		   " \"machines\": [{\"upto\": \"2.3\", \"set\": {\"footers\": false},\n"
		   "   \"properties\": {\"dev-a.old\": true}}],\n"
		   " \"devices\": [{\"type\": \"dev-a\", \"properties\": {\"old\": false}}],\n"
		   " \"vmsds\": [{\"vmsd\": \"dev\", \"id\": \"dev\",\n"
		   "   \"fields\": {\"x\": {\"exists\": {\"prop\": \"old\"}, \"type\": \"uint32\"}}},\n"
		   "  {\"vmsd\": \"dev\", \"qemu\": [\"5.2\"],\n"
		   "   \"fields\": {\"regs\": {\"type\": \"nosuch\"}}}]}\n");
	o.name = "qemu-7.2";
	o.qemu = "7.2";
	o.qemu_version = "7.2.22";
	o.dump_path = dump;
	o.machines_path = mach;
	o.curation_path = cur;
	o.no_provenance_paths = true;
	mig_error_clear(&err);
	if (mig_schema_import(&o, &out, &notes, &err))
		fail_msg("%s", err.msg);
	/* Two definitions of "dev": the second gets its context in its id. */
	v = find_vmsd(out, "dev");
	assert_non_null(v);
	assert_non_null(find_vmsd(out, "dev@dev-b"));
	assert_non_null(find_vmsd(out, "inner"));
	assert_non_null(find_vmsd(out, "dev/sub"));
	f = json_array_get(json_object_get(v, "fields"), 0);
	assert_string_equal(json_string_value(json_object_get(f, "type")), "uint32");
	assert_string_equal(json_string_value(json_object_get(json_object_get(f, "exists"),
							      "prop")), "old");
	/* in-memory sizes are not wire sizes */
	assert_null(json_object_get(f, "size"));
	assert_int_equal(json_integer_value(json_object_get(f, "memory_size")), 4);
	f = json_array_get(json_object_get(v, "fields"), 1);
	assert_int_equal(json_integer_value(json_object_get(f, "count")), 8);
	assert_int_equal(json_integer_value(json_object_get(f, "version")), 2);
	/* The 5.2-only curation entry did not apply. */
	assert_null(json_object_get(f, "type"));
	/* Machines: the alias, the default, a rule by version. */
	m = json_object_get(out, "machines");
	assert_int_equal(json_array_size(m), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0),
							      "alias")), "pc");
	assert_true(json_is_true(json_object_get(json_array_get(m, 0), "default")));
	assert_true(json_is_true(json_object_get(json_array_get(m, 0), "footers")));
	assert_true(json_is_false(json_object_get(json_array_get(m, 1), "footers")));
	assert_true(json_is_true(json_object_get(json_array_get(m, 1), "deprecated")));
	/* The output is a valid schema, and deterministic. */
	text = json_dumps(out, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	assert_int_equal(mig_schema_load_mem(text, strlen(text), "out.json", &s,
					     &err), 0);
	assert_non_null(mig_schema_machine(s, "pc"));
	mig_schema_free(s);
	{
		json_t *again = NULL;
		char *t2;

		assert_int_equal(mig_schema_import(&o, &again, NULL, &err), 0);
		t2 = json_dumps(again, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		assert_string_equal(text, t2);
		free(t2);
		json_decref(again);
	}
	free(text);
	json_decref(out);
	json_decref(notes);

	/* A bad curation names its place. */
	write_file(cur, "{\"migstream_curation\": 1,\n \"vmsds\": [{\"vmsd\": \"dev\",\n"
		   "   \"fields\": {\"x\": {\"exist\": true}}}]}\n");
	mig_error_clear(&err);
	assert_int_equal(mig_schema_import(&o, &out, NULL, &err), -MIG_EINVAL);
	assert_non_null(strstr(err.msg, "cur.json:3:21: unknown key 'exist' in a curated field"));
	write_file(cur, "{\"migstream_curation\": 1,\n \"vmsds\": [{\"vmsd\": \"dev\",\n"
		   "   \"fields\": {\"x\": {\"exists\": {\"nope\": 1}}}}]}\n");
	mig_error_clear(&err);
	assert_int_equal(mig_schema_import(&o, &out, NULL, &err), -MIG_EINVAL);
	assert_non_null(strstr(err.msg, "cur.json:3:32: unknown operator 'nope'"));
	/* Not -dump-vmstate output. */
	write_file(dump, "{\"x\": 1}");
	mig_error_clear(&err);
	assert_int_equal(mig_schema_import(&o, &out, NULL, &err), -MIG_EINVAL);
	assert_non_null(strstr(err.msg, "not -dump-vmstate output"));
	write_file(dump, "{\"x\": 1,}");
	mig_error_clear(&err);
	assert_int_equal(mig_schema_import(&o, &out, NULL, &err), -MIG_EINVAL);
	assert_non_null(strstr(err.msg, "dump.json:1:"));
	unlink(dump);
	unlink(mach);
	unlink(cur);
	rmdir(dir);
}

/*
 * Import from the real 5.2 dump and one real stream: the descriptions the
 * dump lacks (cpu, timer, ...) are learnt from the vmdesc, wire types and
 * sizes replace in-memory sizes, and the result decodes the stream without
 * its vmdesc.
 */
static void test_import_real(void **state)
{
	static const char *const stream =
		"testdata/streams/qemu-5.2/v5.2_pc-i440fx-5.2_plain.mig";
	char dir[] = "/tmp/test_import.XXXXXX";
	char dump[128], cmd[300];
	const char *streams[1] = { stream };
	struct mig_import_opts o = { 0 };
	struct mig_error err;
	json_t *out = NULL, *v;
	struct mig_schema *s = NULL;
	const struct mig_schema *list[1];
	struct mig_parse_opts opts = { 0 };
	struct mig_reader *r = NULL;
	struct mig_stream *st = NULL;
	char *text;
	size_t n = 0;

	(void)state;
	if (access(stream, R_OK))
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(dump, sizeof(dump), "%s/dump.json", dir);
	snprintf(cmd, sizeof(cmd),
		 "gzip -dc testdata/vmstate/v5.2_pc-i440fx-5.2.vmstate.json.gz > %s",
		 dump);
	assert_int_equal(system(cmd), 0);
	o.name = "t";
	o.qemu = "5.2";
	o.dump_path = dump;
	o.streams = streams;
	o.nstreams = 1;
	mig_error_clear(&err);
	assert_int_equal(mig_schema_import(&o, &out, NULL, &err), 0);
	v = find_vmsd(out, "timer");
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "origin")), "vmdesc");
	assert_int_equal(json_array_size(json_object_get(v, "fields")), 3);
	v = find_vmsd(out, "PCIDevice");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(v, "fields"), 1), "type")), "pci config");
	text = json_dumps(out, JSON_COMPACT);
	assert_int_equal(mig_schema_load_mem(text, strlen(text), "t.json", &s, &err), 0);
	free(text);
	list[0] = s;
	opts.schemas = list;
	opts.nschemas = 1;
	opts.schema_forced = true;
	opts.ignore_vmdesc = true;
	assert_int_equal(mig_reader_open(&r, stream, &err), 0);
	assert_int_equal(mig_stream_read(r, &opts, &st, &err), 0);
	for (const struct mig_record *rec = st->records; rec; rec = rec->next) {
		if (rec->type != MIG_REC_FULL)
			continue;
		if (!rec->schema)
			fail_msg("section '%s' not decoded: %s", rec->name,
				 rec->undecoded);
		n++;
	}
	assert_true(n > 20);
	mig_stream_free(st);
	mig_reader_free(r);
	mig_schema_free(s);
	json_decref(out);
	unlink(dump);
	rmdir(dir);
}

/* ------------------------------------------------------------------ */
/* Diff                                                                */

static struct mig_schema *import_checker(const char *which)
{
	char dump[128];
	struct mig_import_opts o = { 0 };
	struct mig_error err;
	struct mig_schema *s = NULL;
	json_t *out = NULL;
	char *text;

	snprintf(dump, sizeof(dump), "tests/schema/checker/%s.json", which);
	o.name = which;
	o.qemu = "2.2";
	o.dump_path = dump;
	o.machines_path = "tests/schema/checker/machines.txt";
	mig_error_clear(&err);
	if (mig_schema_import(&o, &out, NULL, &err))
		fail_msg("%s", err.msg);
	text = json_dumps(out, JSON_COMPACT);
	assert_int_equal(mig_schema_load_mem(text, strlen(text), which, &s, &err), 0);
	free(text);
	json_decref(out);
	return s;
}

/* Counted (reject, risk) and info findings of @out in section @sec. */
static void findings_in(json_t *out, const char *sec, const char *kind,
			size_t *counted, size_t *info)
{
	size_t i;
	json_t *f;

	*counted = *info = 0;
	json_array_foreach(json_object_get(out, "findings"), i, f) {
		const char *fs = json_string_value(json_object_get(f, "section"));
		const char *fk = json_string_value(json_object_get(f, "kind"));

		if (sec ? !fs || strcmp(fs, sec) : !!fs)
			continue;
		if (kind && strcmp(fk, kind))
			continue;
		if (!strcmp(json_string_value(json_object_get(f, "severity")),
			    "info"))
			(*info)++;
		else
			(*counted)++;
	}
}

/*
 * What vmstate-static-checker reports on QEMU's own sample, rebuilt in
 * tests/schema/checker (see its README): every change is reported, and
 * the two that do not change the wire are information only.
 */
static void test_diff_checker_parity(void **state)
{
	static const struct {
		const char *section;
		const char *kind;
		bool counted;
	} want[] = {
		{ NULL, "device-type-unknown", true },
		{ "bus-sysbus", "section-version", true },
		{ "bus-b", NULL, true },
		{ "multi", "field-removed", true },
		{ "hba", "field-layout", true },
		{ "bridge", "section-version", true },
		{ "card", "section-unknown", true },
		{ "flop", "subsection-unknown", true },
		{ "timer", "field-layout", true },
		{ "clock", "field-added", true },
		{ "nic", "field-renamed", false },
		{ "kbd", "field-unused", false },
	};
	struct mig_schema *a, *b;
	struct mig_sdiff_opts o = { .machine = "pc-i440fx-2.1" };
	struct mig_error err;
	json_t *out = NULL;
	size_t n = 0;

	(void)state;
	a = import_checker("src");
	b = import_checker("dst");
	mig_error_clear(&err);
	assert_int_equal(mig_schema_diff(a, b, &o, &out, &n, &err), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		size_t counted, info;

		findings_in(out, want[i].section, want[i].kind, &counted, &info);
		if (want[i].counted ? !counted : counted || !info)
			fail_msg("%s: %s: expected a %s finding",
				 want[i].section ? want[i].section : "(device)",
				 want[i].kind ? want[i].kind : "any",
				 want[i].counted ? "counted" : "information-only");
	}
	/* Nothing about the devices that did not change their wire. */
	assert_int_equal(n, json_integer_value(json_object_get(out, "counted")));
	assert_true(n >= 10);
	json_decref(out);
	/* The other way round: a version going up is no problem for B -> A
	 * readers of version 1 ... but 'clock' v2 is now written by B. */
	o.reverse = true;
	assert_int_equal(mig_schema_diff(a, b, &o, &out, &n, &err), 0);
	assert_string_equal(json_string_value(json_object_get(out, "from")), "dst");
	json_decref(out);
	/* A schema diffed with itself finds nothing. */
	o.reverse = false;
	assert_int_equal(mig_schema_diff(a, a, &o, &out, &n, &err), 0);
	assert_int_equal(n, 0);
	json_decref(out);
	mig_schema_free(a);
	mig_schema_free(b);
}

/* ------------------------------------------------------------------ */
/* Hostile schemas: deep and wide ones load, or fail, in little time   */

/* A growing text, for schemas too big to write out. */
struct text {
	char *s;
	size_t len, cap;
};

static void add(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!t->s) {
		t->cap = 4096;
		t->s = malloc(t->cap);
		assert_non_null(t->s);
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if (t->len + (size_t)n < t->cap)
			break;
		t->cap = t->cap * 2 + (size_t)n + 64;
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	t->len += (size_t)n;
}

/*
 * A chain of @n descriptions, each holding the next in a struct field
 * (@subsection: in a subsection), one per line from line 2; @loop makes
 * the last hold the first.
 */
static char *chain(size_t n, bool subsection, bool loop)
{
	struct text t = { 0 };

	add(&t, "{\"migstream_schema\": 1, \"vmsds\": [\n");
	for (size_t i = 0; i < n; i++) {
		size_t next = i + 1 < n ? i + 1 : 0;

		add(&t, "{\"id\": \"v%05zu\", \"version\": 1", i);
		if (i + 1 == n && !loop)
			add(&t, "}");
		else if (subsection)
			add(&t, ", \"subsections\": [{\"vmsd\": \"v%05zu\"}]}",
			    next);
		else
			add(&t, ", \"fields\": [{\"name\": \"a\", \"type\": \"struct\", \"vmsd\": \"v%05zu\"}]}",
			    next);
		add(&t, "%s\n", i + 1 < n ? "," : "");
	}
	add(&t, "]}\n");
	return t.s;
}

/* Nesting deeper than the decoders follow is refused, without recursion. */
static void test_load_deep_nesting(void **state)
{
	struct mig_schema *s = NULL;
	struct mig_error err;
	const char *want;
	char *text;

	(void)state;
	/* 64 levels below the top: what a decoder still reads */
	text = chain(MIG_DEPTH_MAX + 1, false, false);
	mig_schema_free(load(text));
	free(text);
	text = chain(MIG_DEPTH_MAX + 2, false, false);
	load_bad(text,
		 "s.json:2:1: description 'v00000' nests descriptions 65 levels deep (at most 64)");
	free(text);
	text = chain(MIG_DEPTH_MAX + 2, true, false);
	load_bad(text,
		 "s.json:2:1: description 'v00000' nests descriptions 65 levels deep (at most 64)");
	free(text);
	/* far deeper than a recursive check could follow on its stack */
	text = chain(20000, false, false);
	load_bad(text,
		 "s.json:2:1: description 'v00000' nests descriptions 19999 levels deep (at most 64)");
	free(text);
	/* a cycle that long is still reported as one, from its start */
	text = chain(20000, false, true);
	mig_error_clear(&err);
	assert_int_equal(mig_schema_load_mem(text, strlen(text), "s.json", &s,
					     &err), -MIG_EINVAL);
	assert_null(s);
	want = "s.json:20001:43: cycle of nested descriptions: 'v00000' -> 'v00001' -> ";
	err.msg[strlen(want)] = '\0';
	assert_string_equal(err.msg, want);
	free(text);
}

/*
 * Each level holding the next twice: a schema of a few kilobytes whose
 * uses of descriptions double with every level.
 */
static void test_load_wide_nesting(void **state)
{
	struct text t = { 0 };
	struct mig_schema *s;
	const struct mig_svmsd *v;
	char id[8];

	(void)state;
	add(&t, "{\"migstream_schema\": 1, \"vmsds\": [\n");
	for (int i = 0; i < MIG_DEPTH_MAX; i++)
		add(&t, "{\"id\": \"w%02d\", \"version\": 1, \"fields\": [\n"
		     " {\"name\": \"a\", \"type\": \"struct\", \"vmsd\": \"w%02d\"},\n"
		     " {\"name\": \"b\", \"type\": \"struct\", \"vmsd\": \"w%02d\"}]},\n",
		    i, i + 1, i + 1);
	add(&t, "{\"id\": \"w%02d\", \"version\": 1, \"fields\": [\n"
	     " {\"name\": \"x\", \"type\": \"uint8\"}]}]}\n", MIG_DEPTH_MAX);
	s = load(t.s);
	/* nothing tested anywhere below: every level is described once */
	for (int i = 0; i < MIG_DEPTH_MAX; i++) {
		snprintf(id, sizeof(id), "w%02d", i);
		v = mig_schema_vmsd(s, id);
		assert_non_null(v);
		assert_true(v->fields[0].compress && v->fields[1].compress);
	}
	mig_schema_free(s);
	free(t.s);
}

/* Repeated field names are numbered in order, each name on its own. */
static void test_load_repeated_names(void **state)
{
	static const char *const names[] = {
		"b", "a", "c", "a", "b", "d", "a", "ab",
	};
	static const char *const want[] = {
		"b[0]", "a[0]", "c", "a[1]", "b[1]", "d", "a[2]", "ab",
	};
	struct text t = { 0 };
	struct mig_schema *s;
	const struct mig_svmsd *v;
	char want_name[32];
	size_t n = 50000;

	(void)state;
	add(&t, "{\"migstream_schema\": 1, \"vmsds\": [\n"
		" {\"id\": \"d\", \"version\": 1, \"fields\": [");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		add(&t, "%s{\"name\": \"%s\", \"type\": \"uint8\"}",
		    i ? ", " : "", names[i]);
	add(&t, "]}]}\n");
	s = load(t.s);
	v = mig_schema_vmsd(s, "d");
	assert_int_equal(v->nfields, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < v->nfields; i++)
		assert_string_equal(v->fields[i].uname, want[i]);
	mig_schema_free(s);

	/* one name @n times over, with another in the middle */
	t.len = 0;
	add(&t, "{\"migstream_schema\": 1, \"vmsds\": [\n"
		" {\"id\": \"d\", \"version\": 1, \"fields\": [");
	for (size_t i = 0; i < n; i++)
		add(&t, "%s{\"name\": \"%s\", \"type\": \"uint8\"}",
		    i ? ", " : "", i == n / 2 ? "other" : "a");
	add(&t, "]}]}\n");
	s = load(t.s);
	v = mig_schema_vmsd(s, "d");
	assert_int_equal(v->nfields, n);
	for (size_t i = 0; i < n; i++) {
		if (i == n / 2) {
			assert_string_equal(v->fields[i].uname, "other");
			continue;
		}
		snprintf(want_name, sizeof(want_name), "a[%zu]",
			 i < n / 2 ? i : i - 1);
		assert_string_equal(v->fields[i].uname, want_name);
	}
	mig_schema_free(s);
	free(t.s);
}

/* Of many machine types, the first one listed again is named. */
static void test_load_many_machines(void **state)
{
	struct text t = { 0 };
	struct mig_schema *s;
	size_t n = 50000, head;

	(void)state;
	add(&t, "{\"migstream_schema\": 1, \"vmsds\": [], \"machines\": [\n");
	for (size_t i = 0; i < n; i++)
		add(&t, "{\"name\": \"m%zu\"},\n", i);
	head = t.len;
	add(&t, "{\"name\": \"last\"}]}\n");
	s = load(t.s);
	assert_int_equal(s->nmachines, n + 1);
	mig_schema_free(s);
	/* 'm7' is listed again before 'm3', which sorts first */
	t.len = head;
	add(&t, "{\"name\": \"m7\"},\n{\"name\": \"m3\"}]}\n");
	load_bad(t.s, "s.json:50002:1: machine 'm7' listed twice");
	free(t.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_open_list),
		cmocka_unit_test(test_decode_plain),
		cmocka_unit_test(test_decode_alternatives),
		cmocka_unit_test(test_decode_several),
		cmocka_unit_test(test_decode_none),
		cmocka_unit_test(test_decode_nested),
		cmocka_unit_test(test_decode_empty_elements),
		cmocka_unit_test(test_decode_subsection),
		cmocka_unit_test(test_decode_index_last),
		cmocka_unit_test(test_import_small),
		cmocka_unit_test(test_import_real),
		cmocka_unit_test(test_diff_checker_parity),
		cmocka_unit_test(test_load_deep_nesting),
		cmocka_unit_test(test_load_wide_nesting),
		cmocka_unit_test(test_load_repeated_names),
		cmocka_unit_test(test_load_many_machines),
	};

	return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
