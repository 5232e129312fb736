/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for rewrite.c: every kind of cut (subsection at the top and
 * inside a struct, field, array element, range inside an opaque field,
 * command, section, footers, configuration, vmdesc), the vmdesc kept in
 * step (entries gone, struct sizes and array lengths shrunk, versions
 * written), PACKAGED lengths, the preview and its offset map, the pipe
 * rewrite, the errors; and downgrade plans (downgrade.c) made with the
 * schemas of schemas/: a subsection cut, a version lowered and then
 * refused, a section dropped, a machine type refused, nothing to do.
 * The inputs are real streams from testdata/, read from memory; every
 * output is read back with mig_stream_read().
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "migstream/migstream.h"
#include "migstream/rewrite.h"
#include "migstream/schema.h"

#define S72_KBD "testdata/streams/qemu-7.2/v7.2_pc-i440fx-5.2_rom-kbd-queue.mig"
#define S100_Q35 "testdata/streams/qemu-10.0/v10.0_pc-q35-10.0_plain.mig"
#define S100_MIX "testdata/streams/qemu-10.0/v10.0_pc-q35-5.2_mix.mig"
#define S100_POSTCOPY \
	"testdata/streams/qemu-10.0/v10.0_pc-q35-5.2_plain-postcopy.mig"
#define S72_PLAIN "testdata/streams/qemu-7.2/v7.2_pc-q35-7.2_plain.mig"

/* A stream read from memory, with its bytes. */
struct in {
	uint8_t *buf;
	size_t len;
	struct mig_reader *r;
	struct mig_stream *s;
};

static void load_bytes(struct in *in, uint8_t *buf, size_t len)
{
	struct mig_error err;

	in->buf = buf;
	in->len = len;
	assert_int_equal(mig_reader_from_mem(&in->r, buf, len, "mem", &err), 0);
	if (mig_stream_read(in->r, NULL, &in->s, &err))
		fail_msg("parse: %s at 0x%llx", err.msg,
			 (unsigned long long)err.offset);
}

static void load(struct in *in, const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		fail_msg("cannot open %s (run from the top of the tree)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	load_bytes(in, buf, (size_t)n);
}

static void unload(struct in *in)
{
	mig_stream_free(in->s);
	mig_reader_free(in->r);
	free(in->buf);
	memset(in, 0, sizeof(*in));
}

/* Writes the plan into memory and reads the result into @out. */
static void rewrite_to(struct mig_rewrite *rw, struct in *in, struct in *out)
{
	struct mig_writer *w;
	struct mig_error err;
	const uint8_t *p;
	uint8_t *copy;
	size_t n;

	assert_int_equal(mig_writer_mem(&w, &err), 0);
	if (mig_rewrite_write(rw, in->r, w, &err))
		fail_msg("write: %s", err.msg);
	p = mig_writer_mem_data(w, &n);
	copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, p, n);
	mig_writer_abort(w);
	load_bytes(out, copy, n);
}

static struct mig_rewrite *plan(struct in *in)
{
	struct mig_rewrite *rw;
	struct mig_error err;

	assert_int_equal(mig_rewrite_new(in->s, in->r, &rw, &err), 0);
	return rw;
}

static const struct mig_record *section(const struct mig_stream *s,
					const char *name, uint32_t inst)
{
	for (const struct mig_record *r = s->records; r; r = r->next)
		if (r->type == MIG_REC_FULL && r->name && !strcmp(r->name, name) &&
		    r->instance == inst)
			return r;
	return NULL;
}

static const struct mig_node *node(const struct mig_node *n, const char *name,
				   enum mig_node_kind kind)
{
	if (!n)
		return NULL;
	if (n->kind == kind && n->name && !strcmp(n->name, name))
		return n;
	for (const struct mig_node *c = n->child; c; c = c->next) {
		const struct mig_node *f = node(c, name, kind);

		if (f)
			return f;
	}
	return NULL;
}

static json_t *vmdesc_dev(const struct mig_stream *s, const char *name)
{
	json_t *d = mig_vmdesc_device(s->vmdesc, name, 0);

	assert_non_null(d);
	return d;
}

/* The vmdesc text of a stream (its bytes after 00 06 be32). */
static const char *vtext(const struct in *in, size_t *len)
{
	*len = (size_t)in->s->vmdesc_size;
	return (const char *)in->buf + in->s->vmdesc_offset + 5;
}

static void test_empty_plan_is_identity(void **state)
{
	const char *paths[] = { S72_KBD, S100_Q35, S100_MIX, S100_POSTCOPY };

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct in in, out;
		struct mig_rewrite *rw;

		load(&in, paths[i]);
		rw = plan(&in);
		assert_true(mig_rewrite_empty(rw));
		assert_false(mig_rewrite_vmdesc_changed(rw));
		rewrite_to(rw, &in, &out);
		assert_int_equal(out.len, in.len);
		assert_memory_equal(out.buf, in.buf, in.len);
		mig_rewrite_free(rw);
		unload(&out);
		unload(&in);
	}
}

static void test_cut_subsection(void **state)
{
	struct in in, out;
	struct mig_rewrite *rw;
	struct mig_error err;
	const struct mig_record *rec, *rec2;
	const struct mig_node *sub;
	const char *a, *b;
	size_t alen, blen;
	json_t *dev;

	(void)state;
	load(&in, S72_KBD);
	rw = plan(&in);
	rec = section(in.s, "ps2kbd", 0);
	assert_non_null(rec);
	sub = node(rec->tree, "ps2kbd/command_reply_queue", MIG_NODE_SUBSECTION);
	assert_non_null(sub);
	assert_int_equal(sub->size, 36);
	assert_int_equal(mig_rewrite_cut(rw, rec, sub, &err), 0);
	assert_false(mig_rewrite_empty(rw));
	assert_true(mig_rewrite_vmdesc_changed(rw));
	rewrite_to(rw, &in, &out);

	rec2 = section(out.s, "ps2kbd", 0);
	assert_non_null(rec2);
	assert_null(node(rec2->tree, "ps2kbd/command_reply_queue",
			 MIG_NODE_SUBSECTION));
	assert_int_equal(rec2->payload_size, rec->payload_size - 36);
	/* The entry is gone, with its now empty "subsections" list. */
	dev = vmdesc_dev(out.s, "ps2kbd");
	assert_null(json_object_get(dev, "subsections"));
	assert_int_equal(json_array_size(json_object_get(dev, "fields")), 4);
	/* Everything else of the vmdesc text is as it was. */
	a = vtext(&in, &alen);
	b = vtext(&out, &blen);
	assert_true(blen < alen);
	{
		size_t pre = 0;

		while (pre < blen && a[pre] == b[pre])
			pre++;
		assert_memory_equal(a + alen - (blen - pre), b + pre,
				    blen - pre);
	}
	/* Every byte before the cut and after it up to the vmdesc too. */
	assert_memory_equal(out.buf, in.buf, sub->offset);
	assert_memory_equal(out.buf + sub->offset, in.buf + sub->offset + 36,
			    in.s->vmdesc_offset - sub->offset - 36);
	mig_rewrite_free(rw);
	unload(&out);
	unload(&in);
}

static void test_cut_subsection_in_struct(void **state)
{
	struct in in, out;
	struct mig_rewrite *rw;
	struct mig_error err;
	const struct mig_record *rec;
	const struct mig_node *sub;
	json_t *kbd;

	(void)state;
	load(&in, S100_Q35);
	rw = plan(&in);
	rec = section(in.s, "pckbd", 0);
	sub = node(rec->tree, "pckbd/extended_state", MIG_NODE_SUBSECTION);
	assert_non_null(sub);
	assert_int_equal(sub->parent->kind, MIG_NODE_FIELD);
	assert_int_equal(mig_rewrite_cut(rw, rec, sub, &err), 0);
	rewrite_to(rw, &in, &out);
	rec = section(out.s, "pckbd", 0);
	assert_null(node(rec->tree, "pckbd/extended_state",
			 MIG_NODE_SUBSECTION));
	/* The struct around it is 36 bytes shorter in the vmdesc too. */
	kbd = json_array_get(json_object_get(vmdesc_dev(out.s, "pckbd"),
					     "fields"), 0);
	assert_string_equal(json_string_value(json_object_get(kbd, "name")),
			    "kbd");
	assert_int_equal(json_integer_value(json_object_get(kbd, "size")), 4);
	assert_null(json_object_get(json_object_get(kbd, "struct"),
				    "subsections"));
	mig_rewrite_free(rw);
	unload(&out);
	unload(&in);
}

static void test_cut_field_and_version(void **state)
{
	struct in in, out;
	struct mig_rewrite *rw;
	struct mig_error err;
	const struct mig_record *rec;
	const struct mig_node *f;
	json_t *dev;

	(void)state;
	load(&in, S72_KBD);
	rw = plan(&in);
	rec = section(in.s, "ps2kbd", 0);
	f = node(rec->tree, "scancode_set", MIG_NODE_FIELD);
	assert_non_null(f);
	assert_int_equal(mig_rewrite_cut(rw, rec, f, &err), 0);
	assert_int_equal(mig_rewrite_set_version(rw, rec, 2, &err), 0);
	rewrite_to(rw, &in, &out);
	rec = section(out.s, "ps2kbd", 0);
	assert_int_equal(rec->version, 2);
	assert_null(node(rec->tree, "scancode_set", MIG_NODE_FIELD));
	dev = vmdesc_dev(out.s, "ps2kbd");
	assert_int_equal(json_integer_value(json_object_get(dev, "version")), 2);
	assert_int_equal(json_array_size(json_object_get(dev, "fields")), 3);
	mig_rewrite_free(rw);
	unload(&out);
	unload(&in);
}

/* The first top-level field of @sec the vmdesc describes once, of leaves. */
static const struct mig_node *array_field(const struct mig_node *sec)
{
	for (const struct mig_node *n = sec ? sec->child : NULL; n; n = n->next)
		if (n->kind == MIG_NODE_FIELD && n->array_len > 1 && n->child &&
		    !n->child->child)
			return n;
	return NULL;
}

static void test_cut_array_element(void **state)
{
	struct in in, out;
	struct mig_rewrite *rw;
	struct mig_error err;
	const struct mig_record *rec;
	const struct mig_node *arr, *arr2;
	char name[256];
	uint32_t alen;

	(void)state;
	load(&in, S72_KBD);
	rw = plan(&in);
	rec = section(in.s, "ioapic", 0);
	arr = array_field(rec->tree);
	assert_non_null(arr);
	alen = arr->array_len;
	snprintf(name, sizeof(name), "%s", arr->name);
	if (mig_rewrite_cut(rw, rec, arr->last, &err))
		fail_msg("cut %s: %s", name, err.msg);
	rewrite_to(rw, &in, &out);
	rec = section(out.s, "ioapic", 0);
	arr2 = node(rec->tree, name, MIG_NODE_FIELD);
	assert_non_null(arr2);
	assert_int_equal(arr2->array_len, alen - 1);
	assert_int_equal(arr2->nchildren, alen - 1);
	mig_rewrite_free(rw);
	unload(&out);
	unload(&in);
}

static void test_cut_range_in_opaque_field(void **state)
{
	struct in in, out;
	struct mig_rewrite *rw;
	struct mig_error err;
	const struct mig_record *rec;
	const struct mig_node *v, *v2;
	uint8_t expect[64];

	(void)state;
	load(&in, S100_MIX);
	rw = plan(&in);
	rec = section(in.s, "0000:00:02.0/virtio-net", 0);
	v = node(rec->tree, "virtio", MIG_NODE_FIELD);
	assert_non_null(v);
	assert_true(v->size > 64);
	/* Bytes 8..15 of the field go; the vmdesc size follows. */
	memcpy(expect, v->bytes, 8);
	memcpy(expect + 8, v->bytes + 16, 56);
	assert_int_equal(mig_rewrite_cut_range(rw, rec, v, v->offset + 8, 8,
					       &err),
			 0);
	rewrite_to(rw, &in, &out);
	rec = section(out.s, "0000:00:02.0/virtio-net", 0);
	v2 = node(rec->tree, "virtio", MIG_NODE_FIELD);
	assert_int_equal(v2->size, v->size - 8);
	assert_memory_equal(v2->bytes, expect, 64);
	mig_rewrite_free(rw);
	unload(&out);
	unload(&in);
}

static void test_drop_command_and_section(void **state)
{
	struct in in, out;
	struct mig_rewrite *rw;
	struct mig_error err;
	const struct mig_record *cmd = NULL;
	size_t ncmd = 0;

	(void)state;
	load(&in, S100_Q35);
	rw = plan(&in);
	for (const struct mig_record *r = in.s->records; r; r = r->next)
		if (r->type == MIG_REC_COMMAND &&
		    r->cmd == MIG_CMD_SWITCHOVER_START)
			cmd = r;
	assert_non_null(cmd);
	assert_int_equal(mig_rewrite_drop(rw, cmd, &err), 0);
	assert_true(mig_rewrite_dropped(rw, cmd));
	assert_int_equal(mig_rewrite_drop(rw, section(in.s, "port92", 0), &err),
			 0);
	rewrite_to(rw, &in, &out);
	for (const struct mig_record *r = out.s->records; r; r = r->next)
		ncmd += r->type == MIG_REC_COMMAND;
	assert_int_equal(ncmd, 0);
	assert_null(section(out.s, "port92", 0));
	assert_null(mig_vmdesc_device(out.s->vmdesc, "port92", 0));
	assert_int_equal(out.s->nrecords, in.s->nrecords - 2);
	mig_rewrite_free(rw);
	unload(&out);
	unload(&in);
}

static void test_footers_round_trip(void **state)
{
	struct in in, mid, out;
	struct mig_rewrite *rw;
	struct mig_error err;

	(void)state;
	load(&in, S72_KBD);
	assert_true(in.s->footers);
	rw = plan(&in);
	assert_int_equal(mig_rewrite_set_footers(rw, false, &err), 0);
	assert_int_equal(mig_rewrite_footers(rw), 0);
	rewrite_to(rw, &in, &mid);
	mig_rewrite_free(rw);
	assert_false(mid.s->footers);
	assert_int_equal(mid.len, in.len - 5 * (in.s->nrecords - 1));
	rw = plan(&mid);
	assert_int_equal(mig_rewrite_set_footers(rw, true, &err), 0);
	rewrite_to(rw, &mid, &out);
	assert_int_equal(out.len, in.len);
	assert_memory_equal(out.buf, in.buf, in.len);
	mig_rewrite_free(rw);
	unload(&out);
	unload(&mid);
	unload(&in);
}

static void test_config_round_trip(void **state)
{
	struct in in, mid, out;
	struct mig_rewrite *rw;
	struct mig_error err;

	(void)state;
	load(&in, S72_KBD);
	rw = plan(&in);
	/* A stream keeps its own machine type; it cannot get another. */
	assert_int_equal(mig_rewrite_set_config(rw, "pc-q35-5.2", &err),
			 -MIG_EINVAL);
	assert_int_equal(mig_rewrite_set_config(rw, NULL, &err), 0);
	rewrite_to(rw, &in, &mid);
	mig_rewrite_free(rw);
	assert_false(mid.s->has_config);
	rw = plan(&mid);
	assert_int_equal(mig_rewrite_set_config(rw, "pc-i440fx-5.2", &err), 0);
	assert_int_equal(mig_rewrite_config(rw), 1);
	rewrite_to(rw, &mid, &out);
	assert_int_equal(out.len, in.len);
	assert_memory_equal(out.buf, in.buf, in.len);
	mig_rewrite_free(rw);
	unload(&out);
	unload(&mid);
	unload(&in);
}

static void test_config_removal_edits_vmdesc(void **state)
{
	struct in in, out;
	struct mig_rewrite *rw;
	struct mig_error err;

	(void)state;
	/* 10.0 describes the configuration record in its vmdesc. */
	load(&in, S100_Q35);
	assert_non_null(json_object_get(in.s->vmdesc, "configuration"));
	rw = plan(&in);
	assert_int_equal(mig_rewrite_set_config(rw, NULL, &err), 0);
	rewrite_to(rw, &in, &out);
	assert_null(json_object_get(out.s->vmdesc, "configuration"));
	assert_int_equal(json_array_size(json_object_get(out.s->vmdesc,
							 "devices")),
			 json_array_size(json_object_get(in.s->vmdesc,
							 "devices")));
	mig_rewrite_free(rw);
	unload(&out);
	unload(&in);
}

static void test_drop_vmdesc(void **state)
{
	struct in in, out;
	struct mig_rewrite *rw;
	struct mig_error err;

	(void)state;
	load(&in, S72_KBD);
	rw = plan(&in);
	assert_int_equal(mig_rewrite_set_vmdesc(rw, false, &err), 0);
	assert_true(mig_rewrite_vmdesc_changed(rw));
	rewrite_to(rw, &in, &out);
	assert_false(out.s->has_vmdesc);
	assert_int_equal(out.len, in.s->vmdesc_offset);
	assert_memory_equal(out.buf, in.buf, out.len);
	mig_rewrite_free(rw);
	unload(&out);
	unload(&in);
}

static void test_packaged_length(void **state)
{
	struct in in, out;
	struct mig_rewrite *rw;
	struct mig_error err;
	const struct mig_record *pkg = NULL, *port = NULL;
	uint32_t before, after;

	(void)state;
	load(&in, S100_POSTCOPY);
	for (const struct mig_record *r = in.s->records; r; r = r->next) {
		if (r->type == MIG_REC_COMMAND && r->cmd == MIG_CMD_PACKAGED)
			pkg = r;
		if (pkg && r->type == MIG_REC_FULL && !strcmp(r->name, "port92"))
			port = r;
	}
	assert_non_null(pkg);
	assert_non_null(port);
	before = (uint32_t)pkg->cmd_data[0] << 24 | pkg->cmd_data[1] << 16 |
		 pkg->cmd_data[2] << 8 | pkg->cmd_data[3];
	rw = plan(&in);
	assert_int_equal(mig_rewrite_drop(rw, port, &err), 0);
	rewrite_to(rw, &in, &out);
	for (const struct mig_record *r = out.s->records; r; r = r->next)
		if (r->type == MIG_REC_COMMAND && r->cmd == MIG_CMD_PACKAGED)
			pkg = r;
	after = (uint32_t)pkg->cmd_data[0] << 24 | pkg->cmd_data[1] << 16 |
		pkg->cmd_data[2] << 8 | pkg->cmd_data[3];
	assert_int_equal(after, before - port->size);
	mig_rewrite_free(rw);
	unload(&out);
	unload(&in);
}

static void test_errors(void **state)
{
	struct in in, other;
	struct mig_rewrite *rw;
	struct mig_error err;
	const struct mig_record *rec, *cpu;
	const struct mig_node *sub, *f;

	(void)state;
	load(&in, S72_KBD);
	load(&other, S72_PLAIN);
	rw = plan(&in);
	rec = section(in.s, "ps2kbd", 0);
	sub = node(rec->tree, "ps2kbd/command_reply_queue",
		   MIG_NODE_SUBSECTION);
	/* A node of another section, a record of another stream. */
	mig_error_clear(&err);
	assert_int_equal(mig_rewrite_cut(rw, section(in.s, "ps2mouse", 0), sub,
					 &err),
			 -MIG_EINVAL);
	assert_int_equal(err.code, MIG_EINVAL);
	assert_int_equal(mig_rewrite_drop(rw, section(other.s, "port92", 0),
					  &err),
			 -MIG_EINVAL);
	/* A field inside it, then the subsection: the field edit goes. */
	f = node(sub, "parent_obj.queue.cwptr", MIG_NODE_FIELD);
	assert_non_null(f);
	assert_int_equal(mig_rewrite_cut(rw, rec, f, &err), 0);
	assert_int_equal(mig_rewrite_cut(rw, rec, sub, &err), 0);
	/* A range that crosses the end of a field. */
	f = node(rec->tree, "scan_enabled", MIG_NODE_FIELD);
	mig_error_clear(&err);
	assert_int_equal(mig_rewrite_cut_range(rw, rec, f, f->offset + 2, 4,
					       &err),
			 -MIG_EINVAL);
	assert_int_equal(err.offset, f->offset + 2);
	/* A range cut, then one that overlaps it partly. */
	f = node(rec->tree, "queue.data", MIG_NODE_FIELD);
	assert_int_equal(mig_rewrite_cut_range(rw, rec, f, f->offset + 8, 8,
					       &err),
			 0);
	mig_error_clear(&err);
	assert_int_equal(mig_rewrite_cut_range(rw, rec, f, f->offset + 12, 8,
					       &err),
			 -MIG_EINVAL);
	assert_int_equal(err.offset, f->offset + 12);
	/* Inside one element of an array the vmdesc describes once. */
	cpu = section(in.s, "cpu", 0);
	f = node(cpu->tree, "env.fpregs", MIG_NODE_FIELD);
	assert_non_null(f);
	assert_true(f->array_len > 1);
	mig_error_clear(&err);
	assert_int_equal(mig_rewrite_cut(rw, cpu, f->child->child->child, &err),
			 -MIG_EUNSUP);
	/* The EOF record stays. */
	assert_int_equal(mig_rewrite_drop(rw, in.s->last, &err), -MIG_EINVAL);
	mig_rewrite_free(rw);
	unload(&other);
	unload(&in);
}

static void test_preview_and_map(void **state)
{
	struct in in, pv;
	struct mig_rewrite *rw;
	struct mig_error err;
	struct mig_writer *w;
	struct mig_offmap *map;
	const struct mig_record *rec;
	const struct mig_node *sub;
	const uint8_t *p;
	uint8_t *copy;
	size_t n, nram = 0;

	(void)state;
	load(&in, S72_KBD);
	rw = plan(&in);
	rec = section(in.s, "ps2kbd", 0);
	sub = node(rec->tree, "ps2kbd/command_reply_queue",
		   MIG_NODE_SUBSECTION);
	assert_int_equal(mig_rewrite_cut(rw, rec, sub, &err), 0);
	assert_int_equal(mig_writer_mem(&w, &err), 0);
	assert_int_equal(mig_rewrite_preview(rw, in.r, w, &map, &err), 0);
	p = mig_writer_mem_data(w, &n);
	assert_true(n < in.len / 4);
	copy = malloc(n);
	memcpy(copy, p, n);
	mig_writer_abort(w);
	load_bytes(&pv, copy, n);
	/* The RAM block list stays, the pages go. */
	for (const struct mig_record *r = pv.s->records; r; r = r->next)
		nram += r->kind == MIG_SEC_RAM;
	assert_int_equal(nram, 1);
	assert_int_equal(pv.s->nram_blocks, in.s->nram_blocks);
	/* Every section maps back to where it is in the input. */
	for (const struct mig_record *r = pv.s->records; r; r = r->next) {
		const struct mig_record *orig;

		if (r->type != MIG_REC_FULL)
			continue;
		orig = section(in.s, r->name, r->instance);
		assert_non_null(orig);
		assert_int_equal(mig_offmap_input(map, r->offset), orig->offset);
		assert_int_equal(mig_offmap_output(map, orig->offset), r->offset);
	}
	/* Bytes after the cut map past it. */
	rec = section(pv.s, "ps2kbd", 0);
	assert_int_equal(mig_offmap_input(map, rec->offset + rec->size - 5),
			 sub->offset + sub->size);
	mig_offmap_free(map);
	mig_rewrite_free(rw);
	unload(&pv);
	unload(&in);
}

/* The pipe rewrite: the same plan through a real pipe. */
static const char *pipe_cut;	/* subsection to cut in the tail */

static int pipe_head(void *ctx, const struct mig_pipe_head *h,
		     struct mig_pipe_policy *p, struct mig_error *err)
{
	(void)ctx;
	(void)err;
	assert_true(h->has_config);
	assert_string_equal(h->machine, "pc-i440fx-5.2");
	p->footers = 1;
	return 0;
}

static int pipe_tail(void *ctx, const struct mig_stream *s,
		     struct mig_reader *r, const struct mig_offmap *map,
		     struct mig_rewrite **out, struct mig_error *err)
{
	const struct mig_record *rec = section(s, "ps2kbd", 0);
	const struct mig_node *sub;
	int ret;

	(void)ctx;
	/* Offsets of the held copy map to the input's. */
	assert_int_equal(mig_offmap_input(map, rec->offset), 0x8288f);
	ret = mig_rewrite_new(s, r, out, err);
	if (ret)
		return ret;
	sub = node(rec->tree, pipe_cut, MIG_NODE_SUBSECTION);
	assert_non_null(sub);
	return mig_rewrite_cut(*out, rec, sub, err);
}

static void test_pipe(void **state)
{
	struct mig_pipe_ops ops = { .head = pipe_head, .tail = pipe_tail };
	struct in in, file, piped;
	struct mig_rewrite *rw;
	struct mig_reader *pr;
	struct mig_writer *w;
	struct mig_error err;
	const uint8_t *p;
	uint8_t *copy;
	int fds[2], status;
	size_t n;
	pid_t pid;

	(void)state;
	load(&in, S72_KBD);
	assert_int_equal(section(in.s, "ps2kbd", 0)->offset, 0x8288f);
	pipe_cut = "ps2kbd/command_reply_queue";
	/* The file way. */
	rw = plan(&in);
	assert_int_equal(mig_rewrite_cut(rw, section(in.s, "ps2kbd", 0),
					 node(section(in.s, "ps2kbd", 0)->tree,
					      pipe_cut, MIG_NODE_SUBSECTION),
					 &err),
			 0);
	rewrite_to(rw, &in, &file);
	mig_rewrite_free(rw);
	/* The pipe way. */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		size_t off = 0;

		close(fds[0]);
		/* Small writes: the reader must cope with any split. */
		while (off < in.len) {
			size_t k = in.len - off < 4093 ? in.len - off : 4093;
			ssize_t m = write(fds[1], in.buf + off, k);

			if (m <= 0)
				_exit(1);
			off += (size_t)m;
		}
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(mig_reader_from_fd(&pr, fds[0], "pipe", &err), 0);
	assert_int_equal(mig_writer_mem(&w, &err), 0);
	if (mig_rewrite_pipe(pr, w, &ops, &err))
		fail_msg("pipe: %s at 0x%llx", err.msg,
			 (unsigned long long)err.offset);
	mig_reader_free(pr);
	close(fds[0]);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	p = mig_writer_mem_data(w, &n);
	copy = malloc(n);
	memcpy(copy, p, n);
	mig_writer_abort(w);
	load_bytes(&piped, copy, n);
	assert_int_equal(piped.len, file.len);
	assert_memory_equal(piped.buf, file.buf, file.len);
	unload(&piped);
	unload(&file);
	unload(&in);
}

static int plan_nothing(void *ctx, const struct mig_stream *s,
			struct mig_reader *r, const struct mig_offmap *map,
			struct mig_rewrite **out, struct mig_error *err)
{
	const struct mig_record *cmd = NULL;
	int ret;

	(void)ctx;
	(void)map;
	ret = mig_rewrite_new(s, r, out, err);
	for (const struct mig_record *x = s->records; x && !ret; x = x->next)
		if (x->type == MIG_REC_COMMAND)
			cmd = x;
	/* Keeping a command the head policy dropped contradicts it. */
	(void)cmd;
	return ret;
}

static int drop_switchover(void *ctx, const struct mig_pipe_head *h,
			   struct mig_pipe_policy *p, struct mig_error *err)
{
	(void)ctx;
	(void)h;
	(void)err;
	p->drop_cmds = 1u << MIG_CMD_SWITCHOVER_START;
	return 0;
}

static void test_pipe_contradiction(void **state)
{
	struct mig_pipe_ops ops = { .head = drop_switchover,
				    .tail = plan_nothing };
	struct mig_reader *r;
	struct mig_writer *w;
	struct mig_error err;
	struct in in;

	(void)state;
	load(&in, S100_Q35);
	assert_int_equal(mig_reader_from_mem(&r, in.buf, in.len, "mem", &err),
			 0);
	assert_int_equal(mig_writer_mem(&w, &err), 0);
	mig_error_clear(&err);
	assert_int_equal(mig_rewrite_pipe(r, w, &ops, &err), -MIG_EUNSUP);
	assert_non_null(strstr(err.msg, "switchover-start"));
	mig_writer_abort(w);
	mig_reader_free(r);
	unload(&in);
}

/* The kernel's copy into a file gives what mig_rewrite_write() gives. */
static void test_write_fd(void **state)
{
	struct in in, mem;
	struct mig_rewrite *rw;
	struct mig_error err;
	const struct mig_record *rec;
	char tmpl[] = "/tmp/test_rewrite.XXXXXX";
	uint64_t first, written;
	uint8_t *back;
	int in_fd, out_fd;

	(void)state;
	load(&in, S72_KBD);
	rw = plan(&in);
	assert_int_equal(mig_rewrite_first_change(rw), MIG_NO_OFFSET);
	rec = section(in.s, "ps2kbd", 0);
	assert_int_equal(mig_rewrite_cut(rw, rec,
					 node(rec->tree,
					      "ps2kbd/command_reply_queue",
					      MIG_NODE_SUBSECTION),
					 &err),
			 0);
	first = mig_rewrite_first_change(rw);
	assert_int_equal(first, 0x829bf);
	rewrite_to(rw, &in, &mem);
	in_fd = open(S72_KBD, O_RDONLY);
	out_fd = mkstemp(tmpl);
	assert_true(in_fd >= 0 && out_fd >= 0);
	/* The first 0x1000 bytes are there already: write on from there. */
	assert_int_equal(write(out_fd, in.buf, 0x1000), 0x1000);
	mig_error_clear(&err);
	assert_int_equal(mig_rewrite_write_fd(rw, in.r, in_fd, out_fd,
					      first + 1, &written, &err),
			 -MIG_EINVAL);
	assert_int_equal(mig_rewrite_write_fd(rw, in.r, in_fd, out_fd, 0x1000,
					      &written, &err),
			 0);
	assert_int_equal(0x1000 + written, mem.len);
	back = malloc(mem.len);
	assert_int_equal(pread(out_fd, back, mem.len, 0), (ssize_t)mem.len);
	assert_memory_equal(back, mem.buf, mem.len);
	free(back);
	close(in_fd);
	close(out_fd);
	unlink(tmpl);
	mig_rewrite_free(rw);
	unload(&mem);
	unload(&in);
}

/* ---- downgrade plans (downgrade.c), with the schemas of schemas/ ---- */

static struct mig_schema *schemas[3];

static void open_schemas(void)
{
	static const char *const names[] = { "qemu-5.2", "qemu-7.2",
					     "qemu-10.0" };
	static const char *const dirs[] = { "schemas" };
	struct mig_error err;

	for (size_t i = 0; i < 3; i++)
		if (!schemas[i] &&
		    mig_schema_open(names[i], NULL, dirs, 1, &schemas[i], &err))
			fail_msg("schema %s: %s", names[i], err.msg);
}

static struct mig_downgrade *downgrade(struct in *in, int target,
				       const char *const *drop, size_t ndrop)
{
	struct mig_downgrade_opts o;
	struct mig_downgrade *d;
	struct mig_error err;

	open_schemas();
	mig_downgrade_opts_init(&o);
	o.target = schemas[target];
	o.schemas = (const struct mig_schema *const *)schemas;
	o.nschemas = 3;
	o.drop = drop;
	o.ndrop = ndrop;
	if (mig_downgrade_plan(in->s, in->r, &o, NULL, &d, &err))
		fail_msg("plan: %s", err.msg);
	return d;
}

static void test_plan_cuts_unknown_subsection(void **state)
{
	struct in in, out;
	struct mig_downgrade *d;

	(void)state;
	load(&in, S72_KBD);
	d = downgrade(&in, 0, NULL, 0);
	assert_int_equal(d->nblockers, 0);
	assert_true(d->changed);
	assert_int_equal(d->nitems, 2);
	assert_int_equal(d->items[0].kind, MIG_DG_SUBSECTION);
	assert_true(d->items[0].loses_state);
	assert_int_equal(d->items[0].offset, 0x829bf);
	assert_int_equal(d->items[0].size, 36);
	assert_string_equal(d->items[0].path,
			    "ps2kbd{ps2kbd/command_reply_queue}");
	assert_non_null(strstr(d->items[0].reason, "unknown-subsection"));
	assert_int_equal(d->items[1].kind, MIG_DG_VMDESC);
	rewrite_to(d->rw, &in, &out);
	assert_int_equal(out.len, in.len - 36 - 152);
	mig_downgrade_free(d);
	/* Planned again for the result: nothing left to do. */
	d = downgrade(&out, 0, NULL, 0);
	assert_false(d->changed);
	assert_int_equal(d->nitems, 0);
	assert_int_equal(d->nblockers, 0);
	mig_downgrade_free(d);
	unload(&out);
	unload(&in);
}

static void test_plan_lowers_version_then_blocks(void **state)
{
	struct in in;
	struct mig_downgrade *d;
	bool lowered = false, field = false;

	(void)state;
	load(&in, "testdata/streams/qemu-7.2/v7.2_pc-q35-5.2_esp.mig");
	d = downgrade(&in, 0, NULL, 0);
	/* v2 -> v1 drops esp.mig_version_id, which the schema says v2
	 * added; then 5.2 still reads 'esp' another way: a blocker. */
	for (size_t i = 0; i < d->nitems; i++) {
		lowered |= d->items[i].kind == MIG_DG_VERSION;
		field |= d->items[i].kind == MIG_DG_FIELD &&
			 strstr(d->items[i].path, "esp.mig_version_id");
	}
	assert_true(lowered);
	assert_true(field);
	assert_int_equal(d->nblockers, 1);
	assert_string_equal(d->blockers[0].check, "field-layout");
	assert_string_equal(d->blockers[0].section, "0000:00:01.0/pciespscsi");
	assert_non_null(strstr(d->blockers[0].message,
			       "after lowering section '0000:00:01.0/pciespscsi' from version 2 to 1"));
	mig_downgrade_free(d);
	unload(&in);
}

static void test_plan_drop_section(void **state)
{
	static const char *const drop[] = { "pciespscsi" };
	struct in in;
	struct mig_downgrade *d;

	(void)state;
	load(&in, "testdata/streams/qemu-7.2/v7.2_pc-q35-5.2_esp.mig");
	d = downgrade(&in, 0, drop, 1);
	assert_int_equal(d->nblockers, 0);
	assert_int_equal(d->items[0].kind, MIG_DG_SECTION);
	assert_string_equal(d->items[0].section, "0000:00:01.0/pciespscsi");
	assert_int_equal(d->items[0].size,
			 section(in.s, "0000:00:01.0/pciespscsi", 0)->payload_size);
	mig_downgrade_free(d);
	unload(&in);
}

static void test_plan_refuses_machine(void **state)
{
	struct in in;
	struct mig_downgrade *d;
	bool machine = false;

	(void)state;
	load(&in, S100_Q35);
	d = downgrade(&in, 1, NULL, 0);
	for (size_t i = 0; i < d->nblockers; i++)
		machine |= !strcmp(d->blockers[i].check, "no-such-machine");
	assert_true(machine);
	/* The command 7.2 does not know is dropped all the same. */
	assert_int_equal(d->items[0].kind, MIG_DG_COMMAND);
	mig_downgrade_free(d);
	unload(&in);
}

static void test_plan_unchanged(void **state)
{
	struct in in;
	struct mig_downgrade *d;
	json_t *j;

	(void)state;
	load(&in, S100_MIX);
	d = downgrade(&in, 0, NULL, 0);
	assert_false(d->changed);
	assert_int_equal(d->nitems, 0);
	assert_int_equal(d->nblockers, 0);
	assert_int_equal(d->out_size, in.len);
	j = mig_downgrade_json(d, "in.mig", "out.mig", false);
	assert_string_equal(json_string_value(json_object_get(j, "verdict")),
			    "unchanged");
	assert_int_equal(json_array_size(json_object_get(j, "dropped")), 0);
	json_decref(j);
	mig_downgrade_free(d);
	unload(&in);
}

static int teardown_schemas(void **state)
{
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		mig_schema_free(schemas[i]);
		schemas[i] = NULL;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_plan_is_identity),
		cmocka_unit_test(test_cut_subsection),
		cmocka_unit_test(test_cut_subsection_in_struct),
		cmocka_unit_test(test_cut_field_and_version),
		cmocka_unit_test(test_cut_array_element),
		cmocka_unit_test(test_cut_range_in_opaque_field),
		cmocka_unit_test(test_drop_command_and_section),
		cmocka_unit_test(test_footers_round_trip),
		cmocka_unit_test(test_config_round_trip),
		cmocka_unit_test(test_config_removal_edits_vmdesc),
		cmocka_unit_test(test_drop_vmdesc),
		cmocka_unit_test(test_packaged_length),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_preview_and_map),
		cmocka_unit_test(test_pipe),
		cmocka_unit_test(test_pipe_contradiction),
		cmocka_unit_test(test_write_fd),
		cmocka_unit_test(test_plan_cuts_unknown_subsection),
		cmocka_unit_test(test_plan_lowers_version_then_blocks),
		cmocka_unit_test(test_plan_drop_section),
		cmocka_unit_test(test_plan_refuses_machine),
		cmocka_unit_test(test_plan_unchanged),
	};

	return cmocka_run_group_tests_name("rewrite", tests, NULL,
					   teardown_schemas);
}
