/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for stream.c: whole streams made with builder.h, read with
 * mig_stream_read() from memory (and once through a pipe).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder.h"

/* Device "dev" (instances 0 and 1), version 1: be32 a, u8 b. */
#define DEV_ENTRY(inst) \
	"{'name': 'dev', 'instance_id': " #inst ", 'vmsd_name': 'dev', " \
	"'version': 1, 'fields': [{'name': 'a', 'type': 'uint32', 'size': 4}," \
	" {'name': 'b', 'type': 'uint8', 'size': 1}]}"
#define STD_VMDESC \
	"{'page_size': 4096, 'devices': [" DEV_ENTRY(0) ", " DEV_ENTRY(1) "]}"

static void put_dev_payload(struct buf *b, uint32_t a, uint8_t v)
{
	buf_be32(b, a);
	buf_u8(b, v);
}

/* EOF and the trailer made from @vmdesc_q (single-quoted JSON). */
static void put_end(struct buf *b, const char *vmdesc_q)
{
	json_t *j;

	put_eof(b);
	if (!vmdesc_q)
		return;
	j = json_q(vmdesc_q);
	assert_non_null(j);
	put_vmdesc(b, j);
	json_decref(j);
}

/* A FULL "dev" section with its payload and footer. */
static void put_dev(struct buf *b, uint32_t id, uint32_t inst, uint32_t a,
		    uint8_t v)
{
	put_full(b, id, "dev", inst, 1);
	put_dev_payload(b, a, v);
	put_footer(b, id);
}

static int parse(const struct buf *b, struct mig_stream **s,
		 struct mig_error *err)
{
	*s = NULL;
	return parse_buf(b, NULL, s, err);
}

/* The error is @code at @off (and @msg, @path when not NULL). */
static void assert_err(int ret, const struct mig_error *err, int code,
		       uint64_t off, const char *path, const char *msg)
{
	assert_int_equal(ret, -code);
	assert_int_equal(err->code, code);
	assert_int_equal(err->offset, off);
	if (path)
		assert_string_equal(err->path, path);
	if (msg)
		assert_string_equal(err->msg, msg);
}

/* The parse failed with that error and left an incomplete stream. */
static void assert_fails(int ret, const struct mig_stream *s,
			 const struct mig_error *err, int code, uint64_t off,
			 const char *path, const char *msg)
{
	assert_err(ret, err, code, off, path, msg);
	assert_non_null(s);
	assert_false(s->complete);
}

/*
 * Parses @b, expecting @code at @off.  Frees @b and the stream before
 * asserting, so a failing check leaks nothing.
 */
static void expect_error(struct buf *b, int code, uint64_t off,
			 const char *path, const char *msg)
{
	struct mig_stream *s;
	struct mig_error err;
	int ret = parse(b, &s, &err);
	bool got = s != NULL;
	bool complete = s && s->complete;

	mig_stream_free(s);
	buf_free(b);
	assert_true(got);
	assert_false(complete);
	assert_err(ret, &err, code, off, path, msg);
}

/* ------------------------------------------------------------------ */
/* header, configuration                                               */

static void minimal_stream(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;

	(void)state;
	put_header(&b);
	put_eof(&b);
	assert_int_equal(parse(&b, &s, &err), 0);
	assert_int_equal(err.code, 0);
	assert_true(s->complete);
	assert_string_equal(s->name, "test.mig");
	assert_int_equal(s->file_version, 3);
	assert_int_equal(s->size, 9);
	assert_int_equal(s->end, 9);
	assert_false(s->has_config);
	assert_false(s->has_vmdesc);
	assert_null(s->vmdesc);
	assert_int_equal(s->page_size, 4096);
	assert_int_equal(s->nrecords, 1);
	assert_int_equal(s->records->type, MIG_REC_EOF);
	assert_int_equal(s->records->offset, 8);
	assert_int_equal(s->records->size, 1);
	assert_ptr_equal(s->last, s->records);
	mig_stream_free(s);
	buf_free(&b);
}

static void configuration_machine_only(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;

	(void)state;
	put_header(&b);
	put_config(&b, "pc-q35-7.2");
	put_eof(&b);
	assert_int_equal(parse(&b, &s, &err), 0);
	assert_true(s->has_config);
	assert_int_equal(s->config_offset, 8);
	assert_string_equal(s->machine, "pc-q35-7.2");
	assert_int_equal(s->ncaps, 0);
	assert_false(s->has_uuid);
	assert_false(s->has_page_bits);
	assert_int_equal(s->records->offset, 8 + 5 + 10);
	mig_stream_free(s);
	buf_free(&b);
}

static void configuration_subsections(void **state)
{
	static const char *const caps[] = { "x-ignore-shared", "mapped-ram" };
	static const uint8_t uuid[16] = {
		0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
		0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
	};
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;

	(void)state;
	put_header(&b);
	put_config(&b, "virt-7.2");
	put_cfg_page_bits(&b, 13);
	put_cfg_caps(&b, 2, caps);
	put_cfg_uuid(&b, uuid);
	put_eof(&b);
	assert_int_equal(parse(&b, &s, &err), 0);
	assert_true(s->has_page_bits);
	assert_int_equal(s->page_bits, 13);
	assert_int_equal(s->page_size, 8192);
	assert_int_equal(s->ncaps, 2);
	assert_string_equal(s->caps[0], "x-ignore-shared");
	assert_string_equal(s->caps[1], "mapped-ram");
	assert_true(s->has_uuid);
	assert_memory_equal(s->uuid, uuid, 16);
	assert_int_equal(s->records->type, MIG_REC_EOF);
	mig_stream_free(s);
	buf_free(&b);
}

static void configuration_machine_name_of_length_zero(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	buf_u8(&b, MIG_REC_CONFIG);
	buf_be32(&b, 0);
	put_eof(&b);
	expect_error(&b, MIG_ECONFIG, 9, "configuration",
		     "machine type name of 0 bytes (expected 1 to 255)");
}

static void configuration_machine_name_too_long(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	buf_u8(&b, MIG_REC_CONFIG);
	buf_be32(&b, 256);
	buf_fill(&b, 'm', 256);
	put_eof(&b);
	expect_error(&b, MIG_ECONFIG, 9, "configuration",
		     "machine type name of 256 bytes (expected 1 to 255)");
}

static void configuration_machine_name_not_printable(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	put_config(&b, "pc\x01q35");
	put_eof(&b);
	expect_error(&b, MIG_ECONFIG, 13, "configuration",
		     "machine type name is not printable text");
}

static void configuration_unknown_subsection(void **state)
{
	struct buf b = { 0 };
	size_t at;

	(void)state;
	put_header(&b);
	put_config(&b, "pc");
	at = b.len;
	put_subsection(&b, "configuration/shiny", 1);
	buf_be32(&b, 0);
	put_eof(&b);
	expect_error(&b, MIG_ECONFIG, at, "configuration",
		     "unknown subsection 'configuration/shiny'");
}

static void configuration_page_bits_out_of_range(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	put_config(&b, "pc");
	put_cfg_page_bits(&b, 9);
	put_eof(&b);
	expect_error(&b, MIG_ECONFIG, b.len - 5, "configuration",
		     "target page bits 9 out of range 10..16");
}

static void configuration_too_many_capabilities(void **state)
{
	struct buf b = { 0 };
	size_t at;

	(void)state;
	put_header(&b);
	put_config(&b, "pc");
	put_subsection(&b, "configuration/capabilities", 1);
	at = b.len;
	buf_be32(&b, 65);
	put_eof(&b);
	expect_error(&b, MIG_ECONFIG, at, "configuration",
		     "65 capabilities (at most 64)");
}

static void configuration_not_after_the_header(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	put_cmd(&b, MIG_CMD_OPEN_RETURN_PATH, 0, NULL);
	put_config(&b, "pc");
	put_eof(&b);
	expect_error(&b, MIG_ERECORD, 13, "",
		     "configuration record (0x07) not right after the header");
}

static void bad_magic(void **state)
{
	struct buf b = { 0 };

	(void)state;
	buf_be32(&b, 0x51455645);
	buf_be32(&b, 3);
	put_eof(&b);
	expect_error(&b, MIG_EMAGIC, 0, "",
		     "not a migration stream (magic 0x51455645, expected 0x5145564d \"QEVM\")");
}

static void version_2_is_obsolete(void **state)
{
	struct buf b = { 0 };

	(void)state;
	buf_be32(&b, MIG_FILE_MAGIC);
	buf_be32(&b, 2);
	put_eof(&b);
	expect_error(&b, MIG_EVERSION, 4, "",
		     "stream version 2 is obsolete (QEMU reads only version 3)");
}

static void version_4_is_unsupported(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;
	int ret;

	(void)state;
	buf_be32(&b, MIG_FILE_MAGIC);
	buf_be32(&b, 4);
	put_eof(&b);
	ret = parse(&b, &s, &err);
	assert_fails(ret, s, &err, MIG_EVERSION, 4, "",
		     "unsupported stream version 4 (expected 3)");
	assert_int_equal(s->file_version, 4);
	mig_stream_free(s);
	buf_free(&b);
}

static void header_cut_short(void **state)
{
	struct buf b = { 0 };

	(void)state;
	buf_be32(&b, MIG_FILE_MAGIC);
	buf_be16(&b, 0);
	expect_error(&b, MIG_ETRUNC, 4, "", "truncated (need 4 bytes, have 2)");
	put_header(&b);
	expect_error(&b, MIG_ETRUNC, 8, "", NULL);
}

/* ------------------------------------------------------------------ */
/* records                                                             */

static void unknown_record_types(void **state)
{
	static const uint8_t types[] = { 0x09, 0x05, 0x06, 0x7e, 0xff };

	(void)state;
	for (size_t i = 0; i < sizeof(types); i++) {
		struct buf b = { 0 };
		char msg[64];

		put_header(&b);
		put_cmd(&b, MIG_CMD_PING, 4, "\0\0\0\1");
		buf_u8(&b, types[i]);
		buf_fill(&b, 0, 8);
		snprintf(msg, sizeof(msg), "unknown record type 0x%02x",
			 types[i]);
		expect_error(&b, MIG_ERECORD, 17, "", msg);
	}
}

static void section_with_an_empty_name(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	put_full(&b, 3, "", 0, 1);
	put_footer(&b, 3);
	put_eof(&b);
	expect_error(&b, MIG_ESECTION, 13, "",
		     "section id 3 has an empty name");
}

static void section_with_a_name_not_printable(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	put_full(&b, 3, "de\x80v", 0, 1);
	put_footer(&b, 3);
	put_eof(&b);
	/* At the 0x80: after the length byte at 13 and "de". */
	expect_error(&b, MIG_ESECTION, 16, "",
		     "section id 3 has a name that is not printable text");
}

static void part_for_an_unknown_section(void **state)
{
	struct buf b = { 0 };
	size_t at;

	(void)state;
	put_header(&b);
	at = b.len;
	put_part(&b, MIG_REC_PART, 9);
	put_footer(&b, 9);
	put_eof(&b);
	expect_error(&b, MIG_ESECTION, at + 1, "",
		     "PART record for unknown section id 9");
}

static void end_for_an_unknown_section(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	put_part(&b, MIG_REC_END, 0x10203);
	put_eof(&b);
	expect_error(&b, MIG_ESECTION, 9, "",
		     "END record for unknown section id 66051");
}

static void start_of_the_same_id_twice(void **state)
{
	struct buf b = { 0 };
	size_t at;

	(void)state;
	put_header(&b);
	put_start(&b, 5, "dirty-bitmap", 0, 1);
	buf_u8(&b, 0x01);
	put_footer(&b, 5);
	at = b.len;
	put_start(&b, 5, "other", 0, 1);
	buf_u8(&b, 0x01);
	put_footer(&b, 5);
	put_eof(&b);
	expect_error(&b, MIG_ESECTION, at, "",
		     "section id 5 started twice ('dirty-bitmap', then 'other')");
}

static void stream_without_eof(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	put_cmd(&b, MIG_CMD_OPEN_RETURN_PATH, 0, NULL);
	expect_error(&b, MIG_ETRUNC, 13, "",
		     "truncated: the stream ends before its EOF record");
}

/* ------------------------------------------------------------------ */
/* sections, footers, vmdesc                                           */

static void full_section_decoded_with_the_vmdesc(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;
	struct mig_record *rec;
	size_t vmdesc_at;

	(void)state;
	put_header(&b);
	put_dev(&b, 3, 0, 0xdeadbeef, 7);
	vmdesc_at = b.len + 1;		/* after the EOF byte */
	put_end(&b, STD_VMDESC);
	assert_int_equal(parse(&b, &s, &err), 0);
	assert_true(s->complete);
	assert_true(s->footers);
	assert_int_equal(s->nrecords, 2);
	rec = s->records;
	assert_int_equal(rec->type, MIG_REC_FULL);
	assert_int_equal(rec->offset, 8);
	assert_int_equal(rec->section_id, 3);
	assert_string_equal(rec->name, "dev");
	assert_int_equal(rec->instance, 0);
	assert_int_equal(rec->version, 1);
	assert_int_equal(rec->kind, MIG_SEC_VMSTATE);
	assert_string_equal(rec->vmsd, "dev");
	assert_int_equal(rec->payload_offset, 8 + 17);
	assert_int_equal(rec->payload_size, 5);
	assert_true(rec->has_footer);
	assert_int_equal(rec->size, 17 + 5 + 5);
	assert_null(rec->undecoded);
	assert_non_null(rec->tree);
	assert_int_equal(rec->tree->offset, 8 + 17);
	assert_int_equal(rec->tree->size, 5);
	assert_int_equal(child_named(rec->tree, "a")->u, 0xdeadbeef);
	assert_int_equal(child_named(rec->tree, "b")->u, 7);
	assert_int_equal(child_named(rec->tree, "b")->offset, 8 + 17 + 4);
	assert_int_equal(rec->next->type, MIG_REC_EOF);
	assert_int_equal(rec->next->offset, vmdesc_at - 1);
	assert_true(s->has_vmdesc);
	assert_int_equal(s->vmdesc_offset, vmdesc_at);
	assert_int_equal(s->vmdesc_size, b.len - vmdesc_at - 5);
	assert_non_null(json_object_get(s->vmdesc, "devices"));
	assert_int_equal(s->end, b.len);
	mig_stream_free(s);
	buf_free(&b);
}

static void footers_absent_are_detected(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;

	(void)state;
	put_header(&b);
	put_full(&b, 3, "dev", 0, 1);
	put_dev_payload(&b, 1, 2);
	put_full(&b, 4, "dev", 1, 1);
	put_dev_payload(&b, 3, 4);
	put_end(&b, STD_VMDESC);
	assert_int_equal(parse(&b, &s, &err), 0);
	assert_false(s->footers);
	assert_false(s->records->has_footer);
	assert_int_equal(s->records->size, 17 + 5);
	assert_int_equal(child_named(nth_record(s, 1)->tree, "a")->u, 3);
	assert_int_equal(nth_record(s, 1)->instance, 1);
	mig_stream_free(s);
	buf_free(&b);
}

static void footer_missing_after_footers_were_seen(void **state)
{
	struct buf b = { 0 };
	size_t at;

	(void)state;
	put_header(&b);
	put_dev(&b, 3, 0, 1, 2);
	put_full(&b, 4, "dev", 1, 1);
	put_dev_payload(&b, 3, 4);
	at = b.len;
	put_end(&b, STD_VMDESC);
	expect_error(&b, MIG_EFOOTER, at, "",
		     "missing section footer for 'dev' (found byte 0x00)");
}

static void footer_with_another_id(void **state)
{
	struct buf b = { 0 };
	size_t at;

	(void)state;
	put_header(&b);
	put_full(&b, 3, "dev", 0, 1);
	put_dev_payload(&b, 1, 2);
	at = b.len;
	put_footer(&b, 4);
	put_end(&b, STD_VMDESC);
	/* At the id in the footer. */
	expect_error(&b, MIG_EFOOTER, at + 1, "",
		     "mismatched section id in footer for 'dev': read 0x4, expected 0x3");
}

static void section_not_in_the_vmdesc_is_undecoded(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;
	struct mig_record *rec;

	(void)state;
	put_header(&b);
	put_full(&b, 7, "other", 0, 1);
	buf_put(&b, "\x01\x02\x03\x7e\x00\x00\x00\x07\x99", 9);
	put_footer(&b, 7);
	put_dev(&b, 3, 0, 5, 6);
	put_end(&b, STD_VMDESC);
	assert_int_equal(parse(&b, &s, &err), 0);
	rec = s->records;
	assert_int_equal(rec->kind, MIG_SEC_UNDECODED);
	assert_string_equal(rec->undecoded, "not described by the vmdesc");
	assert_null(rec->tree);
	assert_null(rec->vmsd);
	/* The fake footer inside is followed by 0x99: not a record. */
	assert_int_equal(rec->payload_offset, 8 + 19);
	assert_int_equal(rec->payload_size, 9);
	assert_true(rec->has_footer);
	assert_int_equal(nth_record(s, 1)->kind, MIG_SEC_VMSTATE);
	assert_int_equal(child_named(nth_record(s, 1)->tree, "a")->u, 5);
	mig_stream_free(s);
	buf_free(&b);
}

static void stream_without_vmdesc_skips_every_section(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;
	struct mig_record *rec;

	(void)state;
	put_header(&b);
	put_config(&b, "pc");
	put_full(&b, 1, "a", 0, 1);
	buf_put(&b, "\x7e\x00\x00\x00\x02\x04", 6);	/* another id's footer */
	put_footer(&b, 1);
	put_full(&b, 2, "bb", 0, 3);
	put_footer(&b, 2);				/* empty payload */
	put_full(&b, 3, "ccc", 2, 1);
	buf_fill(&b, 0x7e, 3);
	put_footer(&b, 3);
	put_eof(&b);
	assert_int_equal(parse(&b, &s, &err), 0);
	assert_true(s->complete);
	assert_false(s->has_vmdesc);
	assert_int_equal(s->nrecords, 4);
	for (size_t i = 0; i < 3; i++) {
		rec = nth_record(s, i);
		assert_int_equal(rec->kind, MIG_SEC_UNDECODED);
		assert_string_equal(rec->undecoded, "no vmdesc to describe it");
		assert_true(rec->has_footer);
	}
	assert_int_equal(nth_record(s, 0)->payload_size, 6);
	assert_int_equal(nth_record(s, 1)->payload_size, 0);
	assert_int_equal(nth_record(s, 2)->payload_size, 3);
	assert_int_equal(nth_record(s, 2)->instance, 2);
	assert_int_equal(nth_record(s, 3)->type, MIG_REC_EOF);
	mig_stream_free(s);
	buf_free(&b);
}

static void undecoded_section_without_a_footer(void **state)
{
	struct buf b = { 0 };
	size_t at;

	(void)state;
	put_header(&b);
	put_full(&b, 1, "a", 0, 1);
	at = b.len;
	buf_fill(&b, 0x55, 4);
	put_eof(&b);
	expect_error(&b, MIG_ETRUNC, at, "",
		     "truncated: no footer of section 'a' (id 1) before the end of the stream (its layout is unknown: no vmdesc to describe it)");
}

static void undecoded_section_when_footers_are_off(void **state)
{
	struct buf b = { 0 };
	size_t at;

	(void)state;
	put_header(&b);
	put_full(&b, 3, "dev", 0, 1);
	put_dev_payload(&b, 1, 2);		/* no footer */
	put_full(&b, 4, "other", 0, 1);
	at = b.len;
	buf_fill(&b, 0x55, 4);
	put_end(&b, STD_VMDESC);
	expect_error(&b, MIG_EUNSUP, at, "",
		     "section 'other' (id 4): not described by the vmdesc, and the stream has no section footers to find its end");
}

static void legacy_section(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;
	struct mig_record *rec;

	(void)state;
	put_header(&b);
	put_full(&b, 30, "slirp", 0, 4);
	buf_put(&b, "\x01\x02\x03", 3);
	put_footer(&b, 30);
	put_end(&b, "{'devices': [{'name': 'slirp', 'instance_id': 0, 'size': 3,"
		    " 'fields': [{'name': 'data', 'size': 3, 'type': 'buffer'}]}]}");
	assert_int_equal(parse(&b, &s, &err), 0);
	rec = s->records;
	assert_int_equal(rec->kind, MIG_SEC_LEGACY);
	assert_null(rec->vmsd);
	assert_memory_equal(child_named(rec->tree, "data")->bytes, "\x01\x02\x03",
			    3);
	mig_stream_free(s);
	buf_free(&b);
}

static void vmdesc_version_differs_from_the_section(void **state)
{
	struct buf b = { 0 };
	size_t at;

	(void)state;
	put_header(&b);
	put_dev(&b, 3, 0, 1, 2);
	at = b.len;
	put_full(&b, 4, "dev", 1, 2);
	put_dev_payload(&b, 1, 2);
	put_footer(&b, 4);
	put_end(&b, STD_VMDESC);
	expect_error(&b, MIG_EVMDESC, at, "",
		     "section 'dev' (id 4): version 2, the vmdesc says 1");
}

static void decode_error_carries_the_section_path(void **state)
{
	struct buf b = { 0 };
	size_t at;

	(void)state;
	put_header(&b);
	put_full(&b, 3, "dev", 0, 1);
	put_dev_payload(&b, 1, 2);
	at = b.len;
	put_footer(&b, 3);
	put_end(&b, "{'devices': [{'name': 'dev', 'instance_id': 0, 'version': 1,"
		    " 'fields': [{'name': 'a', 'type': 'uint32', 'size': 4},"
		    "  {'name': 'b', 'type': 'uint8', 'size': 1}],"
		    " 'subsections': [{'vmsd_name': 'dev/s', 'version': 1, 'fields': []}]}]}");
	expect_error(&b, MIG_EDECODE, at, "section 'dev' (id 3) subsection 'dev/s'",
		     "expected subsection marker 0x05, found 0x7e");
}

static void gtree_section_is_skipped_to_its_footer(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;
	struct mig_record *rec;

	(void)state;
	put_header(&b);
	put_full(&b, 3, "tree", 0, 1);
	buf_u8(&b, 9);
	buf_be32(&b, 1);
	buf_put(&b, "\x01\x02\x03\x00", 4);
	put_footer(&b, 3);
	put_end(&b, "{'devices': [{'name': 'tree', 'instance_id': 0, 'version': 1,"
		    " 'fields': [{'name': 'x', 'type': 'uint8', 'size': 1},"
		    "  {'name': 'g', 'type': 'gtree', 'size': 4}]}]}");
	assert_int_equal(parse(&b, &s, &err), 0);
	assert_int_equal(err.code, 0);
	rec = s->records;
	assert_int_equal(rec->kind, MIG_SEC_UNDECODED);
	assert_string_equal(rec->undecoded,
			    "gtree fields cannot be framed from a vmdesc yet");
	assert_null(rec->tree);
	assert_int_equal(rec->payload_size, 9);
	assert_true(rec->has_footer);
	mig_stream_free(s);
	buf_free(&b);
}

static void iterative_section_other_than_ram_is_undecoded(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;

	(void)state;
	put_header(&b);
	put_start(&b, 5, "dirty-bitmap", 0, 1);
	buf_u8(&b, 0x01);
	put_footer(&b, 5);
	put_part(&b, MIG_REC_END, 5);
	buf_u8(&b, 0x01);
	put_footer(&b, 5);
	put_eof(&b);
	assert_int_equal(parse(&b, &s, &err), 0);
	assert_int_equal(s->records->kind, MIG_SEC_UNDECODED);
	assert_string_equal(s->records->undecoded,
			    "iterative section of a kind not decoded yet");
	assert_int_equal(nth_record(s, 1)->type, MIG_REC_END);
	assert_string_equal(nth_record(s, 1)->name, "dirty-bitmap");
	assert_int_equal(nth_record(s, 1)->version, 1);
	assert_int_equal(nth_record(s, 1)->payload_size, 1);
	mig_stream_free(s);
	buf_free(&b);
}

static void trailing_junk_after_the_vmdesc(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;
	size_t at;
	int ret;

	(void)state;
	put_header(&b);
	put_end(&b, "{'devices': []}");
	at = b.len;
	buf_u8(&b, 0);
	ret = parse(&b, &s, &err);
	assert_fails(ret, s, &err, MIG_EVMDESC, at, "",
		     "unexpected bytes after the vmdesc");
	assert_true(s->has_vmdesc);
	mig_stream_free(s);
	buf_free(&b);
}

static void byte_after_eof_is_not_a_vmdesc(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	put_eof(&b);
	buf_u8(&b, MIG_REC_SUBSECTION);
	expect_error(&b, MIG_EVMDESC, 9, "",
		     "expected a vmdesc record (0x06) after EOF, found 0x05");
}

static void vmdesc_with_invalid_json(void **state)
{
	const char *json = "{\"devices\": [1 2]}";
	struct buf b = { 0 };
	size_t at;

	(void)state;
	put_header(&b);
	put_eof(&b);
	buf_u8(&b, MIG_REC_VMDESC);
	buf_be32(&b, (uint32_t)strlen(json));
	at = b.len;
	buf_put(&b, json, strlen(json));
	/* At the unexpected "2". */
	expect_error(&b, MIG_EVMDESC, at + (size_t)(strchr(json, '2') - json),
		     "", NULL);
}

static void vmdesc_without_devices(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	put_end(&b, "{'page_size': 4096}");
	expect_error(&b, MIG_EVMDESC, 8 + 1 + 5, "",
		     "vmdesc: no \"devices\" array");
}

static void vmdesc_page_size_not_a_power_of_two(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	put_end(&b, "{'page_size': 3000, 'devices': []}");
	expect_error(&b, MIG_EVMDESC, 8 + 1 + 5, "",
		     "vmdesc page size 3000 is not a power of two between 1024 and 65536");
}

/* Configuration (4 KiB pages), RAM of @npages pages, FULL dev. */
static void put_page_size_stream(struct buf *b, size_t npages)
{
	put_header(b);
	put_config(b, "virt");
	put_cfg_page_bits(b, 12);
	put_start(b, 2, "ram", 0, 4);
	put_ram_mem_size(b, 4096 * npages);
	put_ram_block(b, "pc.ram", 4096 * npages);
	put_ram_eos(b);
	put_footer(b, 2);
	put_part(b, MIG_REC_PART, 2);
	for (size_t i = 0; i < npages; i++)
		put_ram_page(b, 4096 * i, i ? NULL : "pc.ram", 1, 4096);
	put_ram_eos(b);
	put_footer(b, 2);
	put_dev(b, 3, 0, 1, 2);
}

/*
 * Regression: when the input size was known at the header (a file,
 * memory, or a small pipe) the vmdesc was read before the configuration,
 * the page size check never ran and the configuration silently overrode
 * the vmdesc; through a large pipe the same bytes failed.  Both must
 * fail alike (see pipe_page_size_mismatch_is_evmdesc).
 */
static void vmdesc_page_size_differs_from_configuration(void **state)
{
	struct buf b = { 0 };
	size_t json_at;

	(void)state;
	put_page_size_stream(&b, 300);
	json_at = b.len + 1 + 5;	/* after EOF, 0x06 and the length */
	put_end(&b, "{'page_size': 8192, 'devices': [" DEV_ENTRY(0) "]}");
	expect_error(&b, MIG_EVMDESC, json_at, "",
		     "vmdesc page size 8192 differs from the 4096 the stream was read with");
}

/* ------------------------------------------------------------------ */
/* RAM sections                                                        */

/* header, configuration with x-ignore-shared, START/PART/END of "ram". */
static void put_ram_stream(struct buf *b)
{
	static const char *const caps[] = { "x-ignore-shared" };

	put_header(b);
	put_config(b, "pc");
	put_cfg_caps(b, 1, caps);
	put_start(b, 2, "ram", 0, 4);
	put_ram_mem_size(b, 3 * 4096);
	put_ram_block(b, "pc.ram", 2 * 4096);
	buf_be64(b, 0);
	put_ram_block(b, "mem", 4096);
	buf_be64(b, 0x100000);
	put_ram_eos(b);
	put_footer(b, 2);
	put_part(b, MIG_REC_PART, 2);
	put_ram_page(b, 0, "pc.ram", 0xaa, 4096);
	put_ram_zero(b, 4096, NULL);
	put_ram_word(b, 0, T_RAM_FLUSH);
	put_ram_eos(b);
	put_footer(b, 2);
	put_part(b, MIG_REC_END, 2);
	put_ram_eos(b);
	put_footer(b, 2);
}

static void ram_sections_are_counted(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;
	struct mig_record *start, *part, *end;

	(void)state;
	put_ram_stream(&b);
	put_eof(&b);
	assert_int_equal(parse(&b, &s, &err), 0);
	assert_int_equal(s->nram_blocks, 2);
	assert_string_equal(s->ram_blocks[1].name, "mem");
	assert_int_equal(s->ram_blocks[0].pages, 1);
	assert_int_equal(s->ram_blocks[0].zero, 1);
	start = s->records;
	part = start->next;
	end = part->next;
	assert_int_equal(start->kind, MIG_SEC_RAM);
	assert_int_equal(start->ram.nblocks, 2);
	assert_int_equal(part->kind, MIG_SEC_RAM);
	assert_string_equal(part->name, "ram");
	assert_int_equal(part->version, 4);
	assert_int_equal(part->ram.pages, 1);
	assert_int_equal(part->ram.zero, 1);
	assert_int_equal(part->ram.flushes, 1);
	assert_int_equal(part->ram.page_bytes, 4096);
	assert_true(part->has_footer);
	assert_int_equal(part->payload_size, 8 + 7 + 4096 + 9 + 8 + 8);
	assert_int_equal(end->kind, MIG_SEC_RAM);
	assert_int_equal(end->ram.pages, 0);
	assert_int_equal(end->size, 5 + 8 + 5);
	mig_stream_free(s);
	buf_free(&b);
}

static void ram_error_carries_the_section_path(void **state)
{
	struct buf b = { 0 };
	size_t at;

	(void)state;
	put_ram_stream(&b);
	put_part(&b, MIG_REC_PART, 2);
	at = b.len;
	put_ram_zero(&b, 0, "nope");
	put_ram_eos(&b);
	put_footer(&b, 2);
	put_eof(&b);
	expect_error(&b, MIG_ERAM, at + 8, "section 'ram' (id 2)",
		     "unknown RAM block 'nope' (not in the block list)");
}

static void ram_chunk_at_the_end_of_the_input(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_ram_stream(&b);
	put_part(&b, MIG_REC_PART, 2);
	put_ram_eos(&b);
	expect_error(&b, MIG_ETRUNC, b.len, "",
		     "truncated: the stream ends after the payload of section 'ram' (id 2), before its footer or the next record");
}

static void ram_section_version_3(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	put_start(&b, 2, "ram", 0, 3);
	put_ram_mem_size(&b, 0);
	put_ram_eos(&b);
	put_footer(&b, 2);
	put_eof(&b);
	expect_error(&b, MIG_ERAM, 8, "",
		     "RAM section version 3 (only version 4 exists)");
}

static void ram_sent_as_a_full_section(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	put_full(&b, 2, "ram", 0, 4);
	put_ram_eos(&b);
	put_footer(&b, 2);
	put_eof(&b);
	expect_error(&b, MIG_ERAM, 8, "", "RAM sent as a FULL section");
}

static void ram_uses_the_vmdesc_page_size(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;

	(void)state;
	put_header(&b);
	put_start(&b, 2, "ram", 0, 4);
	put_ram_mem_size(&b, 16384);
	put_ram_block(&b, "pc.ram", 16384);
	put_ram_page(&b, 8192, "pc.ram", 1, 8192);
	put_ram_eos(&b);
	put_footer(&b, 2);
	put_end(&b, "{'page_size': 8192, 'devices': []}");
	assert_int_equal(parse(&b, &s, &err), 0);
	assert_int_equal(s->page_size, 8192);
	assert_int_equal(s->records->ram.page_bytes, 8192);
	mig_stream_free(s);
	buf_free(&b);
}

/*
 * Regression: a file or memory input larger than max_tail (a cap meant
 * for pipes, 256 MiB by default) failed at offset 8 with -MIG_ELIMIT
 * "more than 268435456 bytes remain": every guest with more RAM than
 * that.  Here max_tail is 4096 and the stream 9 KiB.
 */
static void file_larger_than_max_tail_is_read(void **state)
{
	struct mig_parse_opts opts = { .max_tail = 4096 };
	struct buf b = { 0 };
	struct mig_stream *s = NULL;
	struct mig_error err;
	bool complete;
	int ret;

	(void)state;
	put_ram_stream(&b);
	put_part(&b, MIG_REC_PART, 2);
	put_ram_page(&b, 4096, "pc.ram", 0xbb, 4096);
	put_ram_eos(&b);
	put_footer(&b, 2);
	put_end(&b, "{'page_size': 4096, 'devices': []}");
	assert_true(b.len > 2 * opts.max_tail);
	ret = parse_buf(&b, &opts, &s, &err);
	complete = s && s->complete;
	mig_stream_free(s);
	buf_free(&b);
	assert_string_equal(err.msg, "");
	assert_int_equal(ret, 0);
	assert_true(complete);
}

/* ------------------------------------------------------------------ */
/* commands                                                            */

static void every_command_is_read(void **state)
{
	static const struct {
		uint16_t cmd, len;
		const char *data;
	} cmds[] = {
		{ MIG_CMD_OPEN_RETURN_PATH, 0, "" },
		{ MIG_CMD_PING, 4, "\x00\x00\x00\x01" },
		{ MIG_CMD_POSTCOPY_ADVISE, 16,
		  "\0\0\0\0\0\0\x10\0\0\0\0\0\0\0\x10\0" },
		{ MIG_CMD_POSTCOPY_ADVISE, 0, "" },
		{ MIG_CMD_POSTCOPY_LISTEN, 0, "" },
		{ MIG_CMD_POSTCOPY_RUN, 0, "" },
		{ MIG_CMD_POSTCOPY_RAM_DISCARD, 9, "\x00\x06pc.ram\x00" },
		{ MIG_CMD_ENABLE_COLO, 0, "" },
		{ MIG_CMD_POSTCOPY_RESUME, 0, "" },
		{ MIG_CMD_RECV_BITMAP, 7, "\x06pc.ram" },
		{ MIG_CMD_SWITCHOVER_START, 0, "" },
	};
	const size_t n = sizeof(cmds) / sizeof(cmds[0]);
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;
	size_t at[sizeof(cmds) / sizeof(cmds[0])];

	(void)state;
	put_header(&b);
	for (size_t i = 0; i < n; i++) {
		at[i] = b.len;
		put_cmd(&b, cmds[i].cmd, cmds[i].len, cmds[i].data);
	}
	put_eof(&b);
	assert_int_equal(parse(&b, &s, &err), 0);
	assert_int_equal(s->nrecords, n + 1);
	for (size_t i = 0; i < n; i++) {
		struct mig_record *rec = nth_record(s, i);

		assert_int_equal(rec->type, MIG_REC_COMMAND);
		assert_int_equal(rec->offset, at[i]);
		assert_int_equal(rec->size, 5 + cmds[i].len);
		assert_int_equal(rec->cmd, cmds[i].cmd);
		assert_int_equal(rec->cmd_len, cmds[i].len);
		assert_non_null(rec->cmd_data);
		assert_memory_equal(rec->cmd_data, cmds[i].data, cmds[i].len);
	}
	mig_stream_free(s);
	buf_free(&b);
}

static void command_with_a_wrong_fixed_length(void **state)
{
	(void)state;
	for (int cmd = 1; cmd < MIG_CMD_MAX; cmd++) {
		int fixed = mig_cmd_fixed_len(cmd);
		struct buf b = { 0 };
		char msg[128];

		if (fixed < 0)
			continue;
		put_header(&b);
		put_cmd(&b, (uint16_t)cmd, (uint16_t)(fixed + 1),
			"\0\0\0\0\0\0\0\0");
		put_eof(&b);
		snprintf(msg, sizeof(msg),
			 "command '%s' has length %d, expected %d",
			 mig_cmd_name(cmd), fixed + 1, fixed);
		/* At the be16 length. */
		expect_error(&b, MIG_ECMD, 8 + 3, "", msg);
	}
}

static void postcopy_advise_of_8_bytes(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	put_cmd(&b, MIG_CMD_POSTCOPY_ADVISE, 8, "\0\0\0\0\0\0\x10\0");
	put_eof(&b);
	expect_error(&b, MIG_ECMD, 8 + 3, "",
		     "command 'postcopy-advise' has length 8, expected 0 or 16");
}

static void unknown_command_ids(void **state)
{
	static const uint16_t ids[] = { 0, MIG_CMD_MAX, 0xffff };

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct buf b = { 0 };
		char msg[64];

		put_header(&b);
		put_cmd(&b, MIG_CMD_PING, 4, "\0\0\0\2");
		put_cmd(&b, ids[i], 0, NULL);
		put_eof(&b);
		snprintf(msg, sizeof(msg), "unknown command 0x%x (length 0x0)",
			 ids[i]);
		/* At the be16 command id. */
		expect_error(&b, MIG_ECMD, 17 + 1, "", msg);
	}
}

static void command_arguments_cut_short(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	buf_u8(&b, MIG_REC_COMMAND);
	buf_be16(&b, MIG_CMD_PING);
	buf_be16(&b, 4);
	buf_be16(&b, 0);
	expect_error(&b, MIG_ETRUNC, 13, "", "truncated (need 4 bytes, have 2)");
}

/* LISTEN, FULL dev, PING, RUN: the device state of a postcopy switch. */
static void put_blob(struct buf *blob)
{
	put_cmd(blob, MIG_CMD_POSTCOPY_LISTEN, 0, NULL);
	put_dev(blob, 3, 0, 0x77, 1);
	put_cmd(blob, MIG_CMD_PING, 4, "\0\0\0\3");
	put_cmd(blob, MIG_CMD_POSTCOPY_RUN, 0, NULL);
}

static void put_packaged(struct buf *b, const struct buf *blob)
{
	uint8_t len[4] = {
		(uint8_t)(blob->len >> 24), (uint8_t)(blob->len >> 16),
		(uint8_t)(blob->len >> 8), (uint8_t)blob->len,
	};

	put_cmd(b, MIG_CMD_PACKAGED, 4, len);
	buf_put(b, blob->p, blob->len);
}

static void packaged_blob_is_read_recursively(void **state)
{
	static const uint16_t want[] = {
		MIG_CMD_PING, MIG_CMD_PACKAGED, MIG_CMD_POSTCOPY_LISTEN, 0,
		MIG_CMD_PING, MIG_CMD_POSTCOPY_RUN, MIG_CMD_PING,
	};
	struct buf b = { 0 }, blob = { 0 };
	struct mig_stream *s;
	struct mig_error err;
	struct mig_record *pk, *full;

	(void)state;
	put_blob(&blob);
	put_header(&b);
	put_cmd(&b, MIG_CMD_PING, 4, "\0\0\0\2");
	put_packaged(&b, &blob);
	put_cmd(&b, MIG_CMD_PING, 4, "\0\0\0\4");
	put_end(&b, STD_VMDESC);
	assert_int_equal(parse(&b, &s, &err), 0);
	assert_int_equal(s->nrecords, 8);
	for (size_t i = 0; i < 7; i++) {
		struct mig_record *rec = nth_record(s, i);

		if (i == 3) {
			assert_int_equal(rec->type, MIG_REC_FULL);
			continue;
		}
		assert_int_equal(rec->type, MIG_REC_COMMAND);
		assert_int_equal(rec->cmd, want[i]);
	}
	pk = nth_record(s, 1);
	assert_int_equal(pk->offset, 17);
	assert_int_equal(pk->size, 9 + blob.len);
	full = nth_record(s, 3);
	assert_int_equal(full->offset, 17 + 9 + 5);
	assert_int_equal(full->kind, MIG_SEC_VMSTATE);
	assert_int_equal(child_named(full->tree, "a")->u, 0x77);
	assert_int_equal(nth_record(s, 6)->offset, 17 + 9 + blob.len);
	mig_stream_free(s);
	buf_free(&b);
	buf_free(&blob);
}

static void packaged_inside_a_packaged_blob(void **state)
{
	struct buf b = { 0 }, inner = { 0 }, outer = { 0 };

	(void)state;
	put_cmd(&inner, MIG_CMD_POSTCOPY_RUN, 0, NULL);
	put_cmd(&outer, MIG_CMD_POSTCOPY_LISTEN, 0, NULL);
	put_packaged(&outer, &inner);
	put_header(&b);
	put_packaged(&b, &outer);
	put_eof(&b);
	expect_error(&b, MIG_ECMD, 8 + 9 + 5, "",
		     "packaged command inside a packaged blob");
	buf_free(&inner);
	buf_free(&outer);
}

static void packaged_blob_longer_than_the_input(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	put_cmd(&b, MIG_CMD_PACKAGED, 4, "\0\0\1\0");
	put_cmd(&b, MIG_CMD_POSTCOPY_LISTEN, 0, NULL);
	expect_error(&b, MIG_ETRUNC, b.len, "",
		     "truncated inside a packaged blob");
}

static void eof_inside_a_packaged_blob(void **state)
{
	struct buf b = { 0 }, blob = { 0 };

	(void)state;
	put_cmd(&blob, MIG_CMD_POSTCOPY_LISTEN, 0, NULL);
	put_eof(&blob);
	put_header(&b);
	put_packaged(&b, &blob);
	put_eof(&b);
	expect_error(&b, MIG_ERECORD, 8 + 9 + 5, "",
		     "EOF record inside a packaged blob");
	buf_free(&blob);
}

static void record_overrunning_its_packaged_blob(void **state)
{
	struct buf b = { 0 };

	(void)state;
	put_header(&b);
	put_cmd(&b, MIG_CMD_PACKAGED, 4, "\0\0\0\3");	/* LISTEN is 5 */
	put_cmd(&b, MIG_CMD_POSTCOPY_LISTEN, 0, NULL);
	put_eof(&b);
	expect_error(&b, MIG_ECMD, 8 + 9 + 5, "",
		     "record overruns its packaged blob by 2 bytes");
}

/* ------------------------------------------------------------------ */
/* truncation, pipes, misc                                             */

/*
 * A stream with every kind of record and @npages RAM pages of 1 KiB (to
 * keep it short).  *@eof_end is the length of the prefix that ends right
 * after EOF: a valid stream without a vmdesc.
 */
static void put_everything(struct buf *b, size_t npages, size_t *eof_end)
{
	static const char *const caps[] = { "x-ignore-shared" };
	static const uint8_t uuid[16] = { 1, 2, 3, 4 };
	json_t *vmdesc = json_q("{'page_size': 1024, 'devices': [" DEV_ENTRY(0) "]}");

	assert_non_null(vmdesc);
	put_header(b);
	put_config(b, "pc");
	put_cfg_page_bits(b, 10);
	put_cfg_caps(b, 1, caps);
	put_cfg_uuid(b, uuid);
	put_cmd(b, MIG_CMD_PING, 4, "\0\0\0\1");
	put_start(b, 2, "ram", 0, 4);
	put_ram_mem_size(b, 1024 * (npages + 1));
	put_ram_block(b, "pc.ram", 1024 * (npages + 1));
	buf_be64(b, 0);
	put_ram_eos(b);
	put_footer(b, 2);
	put_part(b, MIG_REC_PART, 2);
	put_ram_page(b, 1024, "pc.ram", 0x5a, 1024);
	put_ram_zero(b, 0, NULL);
	for (size_t i = 1; i < npages; i++)
		put_ram_page(b, 1024 * (i + 1), NULL, (uint8_t)i, 1024);
	put_ram_eos(b);
	put_footer(b, 2);
	put_cmd(b, MIG_CMD_SWITCHOVER_START, 0, NULL);
	put_part(b, MIG_REC_END, 2);
	put_ram_eos(b);
	put_footer(b, 2);
	put_dev(b, 3, 0, 0x01020304, 5);
	put_full(b, 4, "opaque", 0, 1);
	buf_put(b, "\x10\x20\x30", 3);
	put_footer(b, 4);
	put_eof(b);
	*eof_end = b->len;
	put_vmdesc(b, vmdesc);
	json_decref(vmdesc);
}

static void every_prefix_fails_cleanly(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;
	size_t eof_end;
	int ret;

	(void)state;
	put_everything(&b, 1, &eof_end);
	for (size_t n = 0; n < b.len; n++) {
		struct buf cut = { b.p, n, n };

		ret = parse(&cut, &s, &err);
		assert_non_null(s);
		if (n == eof_end) {
			/* No vmdesc: still a valid stream. */
			assert_int_equal(ret, 0);
			assert_true(s->complete);
			assert_int_equal(nth_record(s, 5)->kind,
					 MIG_SEC_UNDECODED);
		} else {
			if (ret == 0)
				fail_msg("prefix of %zu bytes parsed", n);
			assert_true(ret < 0);
			assert_int_equal(err.code, -ret);
			assert_false(s->complete);
			assert_true(s->end <= n);
			assert_true(err.offset <= n ||
				    err.offset == MIG_NO_OFFSET);
		}
		mig_stream_free(s);
	}
	assert_int_equal(parse(&b, &s, &err), 0);
	assert_true(s->complete);
	assert_int_equal(s->page_size, 1024);
	assert_int_equal(nth_record(s, 5)->kind, MIG_SEC_VMSTATE);
	assert_int_equal(s->end, b.len);
	mig_stream_free(s);
	buf_free(&b);
}

struct writer {
	pthread_t thread;
	int fd;
	const struct buf *b;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	size_t off = 0;

	while (off < w->b->len) {
		size_t n = w->b->len - off < 333 ? w->b->len - off : 333;
		ssize_t k = write(w->fd, w->b->p + off, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)k;
	}
	close(w->fd);
	return NULL;
}

/* Parses @b from a pipe fed by a writer thread. */
static int parse_pipe(const struct buf *b, struct mig_stream **s,
		      struct mig_error *err)
{
	struct writer w = { .b = b };
	struct mig_reader *r = NULL;
	int fds[2];
	int ret;

	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(fds), 0);
	w.fd = fds[1];
	assert_int_equal(pthread_create(&w.thread, NULL, writer_main, &w), 0);
	assert_int_equal(mig_reader_from_fd(&r, fds[0], "pipe", NULL), 0);
	*s = NULL;
	ret = mig_stream_read(r, NULL, s, err);
	mig_reader_free(r);
	close(fds[0]);
	pthread_join(w.thread, NULL);
	return ret;
}

/*
 * More than the pipe reader's first 1 MiB window: the size is not known
 * when the header is read, so the vmdesc is found only at the first
 * device section, as for any live pipe.
 */
#define PIPE_PAGES 1200

static void pipe_stream_reads_like_memory(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;
	size_t eof_end;

	(void)state;
	put_everything(&b, PIPE_PAGES, &eof_end);
	assert_true(b.len > (1u << 20));
	assert_int_equal(parse_pipe(&b, &s, &err), 0);
	assert_true(s->complete);
	assert_string_equal(s->name, "pipe");
	assert_int_equal(s->size, b.len);
	assert_int_equal(s->end, b.len);
	assert_int_equal(s->nrecords, 8);
	assert_int_equal(s->page_size, 1024);
	assert_int_equal(s->ram_blocks[0].pages, PIPE_PAGES);
	assert_int_equal(nth_record(s, 2)->ram.page_bytes, 1024 * PIPE_PAGES);
	assert_int_equal(nth_record(s, 5)->kind, MIG_SEC_VMSTATE);
	assert_int_equal(child_named(nth_record(s, 5)->tree, "a")->u,
			 0x01020304);
	assert_int_equal(nth_record(s, 6)->kind, MIG_SEC_UNDECODED);
	assert_int_equal(nth_record(s, 6)->payload_size, 3);
	assert_true(s->has_vmdesc);
	assert_int_equal(s->vmdesc_offset, eof_end);
	mig_stream_free(s);
	buf_free(&b);
}

static void pipe_page_size_mismatch_is_evmdesc(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;
	size_t json_at;
	int ret;

	(void)state;
	put_page_size_stream(&b, 300);		/* 1.2 MiB */
	json_at = b.len + 1 + 5;
	put_end(&b, "{'page_size': 8192, 'devices': [" DEV_ENTRY(0) "]}");
	ret = parse_pipe(&b, &s, &err);
	assert_fails(ret, s, &err, MIG_EVMDESC, json_at, "",
		     "vmdesc page size 8192 differs from the 4096 the stream was read with");
	mig_stream_free(s);
	buf_free(&b);
}

/*
 * Regression: a FULL section whose id an earlier section used took the
 * earlier section's name, and was decoded with that name's vmdesc entry.
 * QEMU identifies FULL sections by idstr and instance, not by id.
 */
static void full_section_reusing_an_id_keeps_its_name(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;
	struct mig_record *rec;
	char name[64];
	bool decoded_a;
	int ret;

	(void)state;
	put_header(&b);
	put_full(&b, 3, "other", 0, 1);
	buf_u8(&b, 0x42);
	put_footer(&b, 3);
	put_dev(&b, 3, 0, 9, 8);
	put_end(&b, "{'devices': [" DEV_ENTRY(0) ", {'name': 'other', "
		    "'instance_id': 0, 'version': 1, 'vmsd_name': 'other', "
		    "'fields': [{'name': 'z', 'type': 'uint8', 'size': 1}]}]}");
	ret = parse(&b, &s, &err);
	rec = nth_record(s, 1);
	snprintf(name, sizeof(name), "%s", rec ? rec->name : "(none)");
	decoded_a = rec && rec->tree && child_named(rec->tree, "a");
	mig_stream_free(s);
	buf_free(&b);
	assert_string_equal(name, "dev");
	assert_int_equal(ret, 0);
	assert_true(decoded_a);
}

static void capability_option_shapes_the_block_list(void **state)
{
	static const char *const caps[] = { "x-ignore-shared" };
	struct mig_parse_opts opts = { .caps = caps, .ncaps = 1 };
	struct buf b = { 0 };
	struct mig_stream *s = NULL;
	struct mig_error err;

	(void)state;
	/* No configuration record: only the caller knows the capability. */
	put_header(&b);
	put_start(&b, 2, "ram", 0, 4);
	put_ram_mem_size(&b, 4096);
	put_ram_block(&b, "pc.bios", 4096);
	buf_be64(&b, 0xfffc0000);
	put_ram_eos(&b);
	put_footer(&b, 2);
	put_eof(&b);
	assert_int_equal(parse_buf(&b, &opts, &s, &err), 0);
	assert_true(s->ram_blocks[0].has_addr);
	assert_int_equal(s->ram_blocks[0].addr, 0xfffc0000);
	mig_stream_free(s);
	buf_free(&b);
}

static void unknown_capability_option(void **state)
{
	static const char *const caps[] = { "return-path", "warp-drive" };
	struct mig_parse_opts opts = { .caps = caps, .ncaps = 2 };
	struct buf b = { 0 };
	struct mig_stream *s = NULL;
	struct mig_error err;
	int ret;

	(void)state;
	put_header(&b);
	put_eof(&b);
	ret = parse_buf(&b, &opts, &s, &err);
	assert_fails(ret, s, &err, MIG_EINVAL, MIG_NO_OFFSET, "",
		     "unknown migration capability 'warp-drive'");
	mig_stream_free(s);
	buf_free(&b);
}

static void postcopy_advise_announces_block_page_sizes(void **state)
{
	static const uint8_t advise[16] = {
		0, 0, 0, 0, 0, 0x20, 0x10, 0,	/* 2 MiB | 4 KiB */
		0, 0, 0, 0, 0, 0, 0x10, 0,	/* target page 4 KiB */
	};
	struct buf b = { 0 };
	struct mig_stream *s = NULL;
	struct mig_error err;

	(void)state;
	put_header(&b);
	put_cmd(&b, MIG_CMD_POSTCOPY_ADVISE, 16, advise);
	put_start(&b, 2, "ram", 0, 4);
	put_ram_mem_size(&b, 3 * 4096);
	put_ram_block(&b, "pc.ram", 2 * 4096);
	buf_be64(&b, 2u << 20);			/* a huge-page block */
	put_ram_block(&b, "pc.rom", 4096);	/* a normal one */
	put_ram_eos(&b);
	put_footer(&b, 2);
	put_eof(&b);
	assert_int_equal(parse_buf(&b, NULL, &s, &err), 0);
	assert_int_equal(s->nram_blocks, 2);
	assert_int_equal(s->ram_blocks[0].page_size, 2u << 20);
	assert_int_equal(s->ram_blocks[1].page_size, 0);
	mig_stream_free(s);
	buf_free(&b);
}

static void read_without_an_error_record(void **state)
{
	struct buf b = { 0 };
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;

	(void)state;
	put_header(&b);
	put_full(&b, 3, "", 0, 1);
	assert_int_equal(mig_reader_from_mem(&r, b.p, b.len, NULL, NULL), 0);
	assert_int_equal(mig_stream_read(r, NULL, &s, NULL), -MIG_ESECTION);
	assert_non_null(s);
	assert_false(s->complete);
	assert_string_equal(s->name, "-");
	mig_stream_free(s);
	mig_stream_free(NULL);
	mig_reader_free(r);
	buf_free(&b);
}

static void error_record_is_cleared_first(void **state)
{
	struct buf b = { 0 };
	struct mig_stream *s;
	struct mig_error err;

	(void)state;
	mig_error_clear(&err);
	mig_error_set(&err, MIG_EIO, 1, "stale");
	put_header(&b);
	put_eof(&b);
	assert_int_equal(parse_buf(&b, NULL, &s, &err), 0);
	assert_int_equal(err.code, 0);
	mig_stream_free(s);
	buf_free(&b);
}

static void record_and_command_names(void **state)
{
	(void)state;
	assert_string_equal(mig_rec_type_name(MIG_REC_EOF), "EOF");
	assert_string_equal(mig_rec_type_name(MIG_REC_START), "START");
	assert_string_equal(mig_rec_type_name(MIG_REC_PART), "PART");
	assert_string_equal(mig_rec_type_name(MIG_REC_END), "END");
	assert_string_equal(mig_rec_type_name(MIG_REC_FULL), "FULL");
	assert_string_equal(mig_rec_type_name(MIG_REC_SUBSECTION), "SUBSECTION");
	assert_string_equal(mig_rec_type_name(MIG_REC_VMDESC), "VMDESCRIPTION");
	assert_string_equal(mig_rec_type_name(MIG_REC_CONFIG), "CONFIGURATION");
	assert_string_equal(mig_rec_type_name(MIG_REC_COMMAND), "COMMAND");
	assert_string_equal(mig_rec_type_name(MIG_REC_FOOTER), "FOOTER");
	assert_null(mig_rec_type_name(9));
	assert_null(mig_rec_type_name(-1));
	assert_null(mig_rec_type_name(0x7d));

	assert_null(mig_cmd_name(MIG_CMD_INVALID));
	assert_string_equal(mig_cmd_name(MIG_CMD_OPEN_RETURN_PATH),
			    "open-return-path");
	assert_string_equal(mig_cmd_name(MIG_CMD_PACKAGED), "packaged");
	assert_string_equal(mig_cmd_name(MIG_CMD_SWITCHOVER_START),
			    "switchover-start");
	assert_null(mig_cmd_name(MIG_CMD_MAX));
	assert_null(mig_cmd_name(-3));

	assert_int_equal(mig_cmd_fixed_len(MIG_CMD_PING), 4);
	assert_int_equal(mig_cmd_fixed_len(MIG_CMD_PACKAGED), 4);
	assert_int_equal(mig_cmd_fixed_len(MIG_CMD_POSTCOPY_RUN), 0);
	assert_int_equal(mig_cmd_fixed_len(MIG_CMD_POSTCOPY_ADVISE), -1);
	assert_int_equal(mig_cmd_fixed_len(MIG_CMD_POSTCOPY_RAM_DISCARD), -1);
	assert_int_equal(mig_cmd_fixed_len(MIG_CMD_RECV_BITMAP), -1);
	assert_int_equal(mig_cmd_fixed_len(MIG_CMD_INVALID), -1);
	assert_int_equal(mig_cmd_fixed_len(MIG_CMD_MAX), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal_stream),
		cmocka_unit_test(configuration_machine_only),
		cmocka_unit_test(configuration_subsections),
		cmocka_unit_test(configuration_machine_name_of_length_zero),
		cmocka_unit_test(configuration_machine_name_too_long),
		cmocka_unit_test(configuration_machine_name_not_printable),
		cmocka_unit_test(configuration_unknown_subsection),
		cmocka_unit_test(configuration_page_bits_out_of_range),
		cmocka_unit_test(configuration_too_many_capabilities),
		cmocka_unit_test(configuration_not_after_the_header),
		cmocka_unit_test(bad_magic),
		cmocka_unit_test(version_2_is_obsolete),
		cmocka_unit_test(version_4_is_unsupported),
		cmocka_unit_test(header_cut_short),
		cmocka_unit_test(unknown_record_types),
		cmocka_unit_test(section_with_an_empty_name),
		cmocka_unit_test(section_with_a_name_not_printable),
		cmocka_unit_test(part_for_an_unknown_section),
		cmocka_unit_test(end_for_an_unknown_section),
		cmocka_unit_test(start_of_the_same_id_twice),
		cmocka_unit_test(stream_without_eof),
		cmocka_unit_test(full_section_decoded_with_the_vmdesc),
		cmocka_unit_test(footers_absent_are_detected),
		cmocka_unit_test(footer_missing_after_footers_were_seen),
		cmocka_unit_test(footer_with_another_id),
		cmocka_unit_test(section_not_in_the_vmdesc_is_undecoded),
		cmocka_unit_test(stream_without_vmdesc_skips_every_section),
		cmocka_unit_test(undecoded_section_without_a_footer),
		cmocka_unit_test(undecoded_section_when_footers_are_off),
		cmocka_unit_test(legacy_section),
		cmocka_unit_test(vmdesc_version_differs_from_the_section),
		cmocka_unit_test(decode_error_carries_the_section_path),
		cmocka_unit_test(gtree_section_is_skipped_to_its_footer),
		cmocka_unit_test(iterative_section_other_than_ram_is_undecoded),
		cmocka_unit_test(trailing_junk_after_the_vmdesc),
		cmocka_unit_test(byte_after_eof_is_not_a_vmdesc),
		cmocka_unit_test(vmdesc_with_invalid_json),
		cmocka_unit_test(vmdesc_without_devices),
		cmocka_unit_test(vmdesc_page_size_not_a_power_of_two),
		cmocka_unit_test(vmdesc_page_size_differs_from_configuration),
		cmocka_unit_test(ram_sections_are_counted),
		cmocka_unit_test(ram_error_carries_the_section_path),
		cmocka_unit_test(ram_chunk_at_the_end_of_the_input),
		cmocka_unit_test(ram_section_version_3),
		cmocka_unit_test(ram_sent_as_a_full_section),
		cmocka_unit_test(ram_uses_the_vmdesc_page_size),
		cmocka_unit_test(file_larger_than_max_tail_is_read),
		cmocka_unit_test(every_command_is_read),
		cmocka_unit_test(command_with_a_wrong_fixed_length),
		cmocka_unit_test(postcopy_advise_of_8_bytes),
		cmocka_unit_test(unknown_command_ids),
		cmocka_unit_test(command_arguments_cut_short),
		cmocka_unit_test(packaged_blob_is_read_recursively),
		cmocka_unit_test(packaged_inside_a_packaged_blob),
		cmocka_unit_test(packaged_blob_longer_than_the_input),
		cmocka_unit_test(eof_inside_a_packaged_blob),
		cmocka_unit_test(record_overrunning_its_packaged_blob),
		cmocka_unit_test(every_prefix_fails_cleanly),
		cmocka_unit_test(pipe_stream_reads_like_memory),
		cmocka_unit_test(pipe_page_size_mismatch_is_evmdesc),
		cmocka_unit_test(full_section_reusing_an_id_keeps_its_name),
		cmocka_unit_test(capability_option_shapes_the_block_list),
		cmocka_unit_test(unknown_capability_option),
		cmocka_unit_test(postcopy_advise_announces_block_page_sizes),
		cmocka_unit_test(read_without_an_error_record),
		cmocka_unit_test(error_record_is_cleared_first),
		cmocka_unit_test(record_and_command_names),
	};

	return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
