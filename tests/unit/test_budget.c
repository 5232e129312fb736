/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the work caps of the two walks of a schema over a
 * section: validate's model of the target's loader (check_load.c) and the
 * schema decoder (sdecode.c).  Fields a condition leaves out and elements
 * that take no bytes read nothing, and unknown conditions multiply the
 * layouts tried, so the input bounds none of it: a hostile schema must be
 * refused with a reason, not walked for minutes.  The tests assert the
 * reasons, never a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "builder.h"
#include "migstream/check.h"
#include "migstream/schema.h"
#include "migstream/vmdesc.h"

/* ------------------------------------------------------------------ */
/* Streams and schemas                                                 */

static void text(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void text(struct buf *b, const char *fmt, ...)
{
	char s[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(s));
	buf_put(b, s, (size_t)n);
}

/*
 * A schema for section "dev": @nunknown uint8 fields c0... whose presence
 * the schema does not know (a layout for each combination), then "big",
 * @count elements of "e".  "e" has @width fields, each an empty struct
 * "g" (present, reads nothing) or, when @left_out, a uint8 of a later
 * version (left out, reads nothing either).  Machine type pc-test-1.0 is
 * there for validate.
 */
static struct mig_schema *make_schema(unsigned nunknown, unsigned count,
				      unsigned width, bool left_out)
{
	struct mig_schema *s = NULL;
	struct mig_error err;
	struct buf b = { 0 };

	text(&b, "{\"migstream_schema\": 1, \"name\": \"qemu-7.2\","
		 " \"qemu\": \"7.2\", \"target\": \"x86_64\",");
	text(&b, " \"machines\": [{\"name\": \"pc-test-1.0\", \"default\": true,"
		 " \"footers\": true, \"configuration\": true, \"vmdesc\": true}],");
	text(&b, " \"vmsds\": [{\"id\": \"dev\", \"version\": 1,"
		 " \"sections\": [\"dev\"], \"fields\": [");
	for (unsigned i = 0; i < nunknown; i++)
		text(&b, "{\"name\": \"c%u\", \"type\": \"uint8\","
			 " \"exists\": {\"unknown\": \"x\"}}, ", i);
	text(&b, "{\"name\": \"big\", \"type\": \"struct\", \"count\": %u,"
		 " \"vmsd\": \"e\"}]},", count);
	text(&b, " {\"id\": \"e\", \"version\": 1, \"fields\": [");
	for (unsigned i = 0; i < width; i++) {
		if (left_out)
			text(&b, "%s{\"name\": \"z%u\", \"type\": \"uint8\","
				 " \"version\": 2}", i ? ", " : "", i);
		else
			text(&b, "%s{\"name\": \"z%u\", \"type\": \"struct\","
				 " \"vmsd\": \"g\"}", i ? ", " : "", i);
	}
	text(&b, "]}, {\"id\": \"g\", \"version\": 1, \"fields\": []}]}");
	mig_error_clear(&err);
	if (mig_schema_load_mem((const char *)b.p, b.len, "budget.json", &s,
				&err))
		fail_msg("schema: %s", err.msg);
	buf_free(&b);
	return s;
}

/*
 * A schema for section "dev": @n uint8 fields s0..., then @m uint8 fields
 * q0... each there when field @ref is 0: every q makes a condition look
 * @ref up among the s fields.
 */
static struct mig_schema *make_lookups(unsigned n, unsigned m,
				       const char *ref)
{
	struct mig_schema *s = NULL;
	struct mig_error err;
	struct buf b = { 0 };

	text(&b, "{\"migstream_schema\": 1, \"name\": \"qemu-7.2\","
		 " \"qemu\": \"7.2\", \"target\": \"x86_64\",");
	text(&b, " \"machines\": [{\"name\": \"pc-test-1.0\", \"default\": true,"
		 " \"footers\": true, \"configuration\": true, \"vmdesc\": true}],");
	text(&b, " \"vmsds\": [{\"id\": \"dev\", \"version\": 1,"
		 " \"sections\": [\"dev\"], \"fields\": [");
	for (unsigned i = 0; i < n; i++)
		text(&b, "%s{\"name\": \"s%u\", \"type\": \"uint8\"}",
		     i ? ", " : "", i);
	for (unsigned i = 0; i < m; i++)
		text(&b, ", {\"name\": \"q%u\", \"type\": \"uint8\","
			 " \"exists\": {\"eq\": [{\"field\": \"%s\"}, 0]}}",
		     i, ref);
	text(&b, "]}]}");
	mig_error_clear(&err);
	if (mig_schema_load_mem((const char *)b.p, b.len, "budget.json", &s,
				&err))
		fail_msg("schema: %s", err.msg);
	buf_free(&b);
	return s;
}

/* A stream of one FULL section "dev" (version 1) carrying @len zeros. */
static struct buf make_stream(size_t len)
{
	struct buf b = { 0 };

	put_header(&b);
	put_config(&b, "pc-test-1.0");
	put_full(&b, 1, "dev", 0, 1);
	buf_fill(&b, 0, len);
	put_footer(&b, 1);
	put_eof(&b);
	return b;
}

/* ------------------------------------------------------------------ */
/* validate's model of the target's loader                            */

static struct mig_report *validate(const struct buf *b,
				   const struct mig_schema *t)
{
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	struct mig_report *rep = NULL;
	struct mig_error err, perr;
	int pret;

	mig_error_clear(&err);
	assert_int_equal(mig_reader_from_mem(&r, b->p, b->len, "t.mig", &err), 0);
	mig_error_clear(&perr);
	pret = mig_stream_read(r, NULL, &s, &perr);
	assert_non_null(s);
	if (mig_validate(r, s, pret, &perr, t, NULL, &rep, &err))
		fail_msg("validate: %s", err.msg);
	mig_stream_free(s);
	mig_reader_free(r);
	return rep;
}

static const struct mig_finding *find(const struct mig_report *rep,
				      const char *id)
{
	for (size_t i = 0; i < rep->nfindings; i++)
		if (!strcmp(rep->findings[i].check->id, id))
			return &rep->findings[i];
	return NULL;
}

/* The one "unchecked" finding of section "dev", which must say @what. */
static void unchecked(const struct mig_report *rep, const char *what)
{
	const struct mig_finding *f = find(rep, "unchecked");

	if (!f)
		fail_msg("no unchecked finding (want '%s')", what);
	assert_string_equal(f->section, "dev");
	if (!strstr(f->message, what))
		fail_msg("'%s' does not say '%s'", f->message, what);
	assert_null(find(rep, "field-layout"));
}

/*
 * Elements that take no bytes: at most MIG_EMPTY_ELEMENTS_MAX, as in the
 * decoders; QEMU would loop over any number of them.
 */
static void test_check_empty_elements(void **state)
{
	struct mig_schema *t;
	struct buf b = make_stream(0);
	struct mig_report *rep;
	const struct mig_finding *f;

	(void)state;
	t = make_schema(0, MIG_EMPTY_ELEMENTS_MAX, 0, false);
	rep = validate(&b, t);
	assert_true(rep->loads);
	assert_null(find(rep, "unchecked"));
	mig_report_free(rep);
	mig_schema_free(t);

	t = make_schema(0, MIG_EMPTY_ELEMENTS_MAX + 1, 0, false);
	rep = validate(&b, t);
	unchecked(rep, "field 'dev.big': array of 4097 elements that take no bytes (at most 4096)");
	f = find(rep, "unchecked");
	assert_string_equal(f->path, "dev.big");
	mig_report_free(rep);
	mig_schema_free(t);
	buf_free(&b);
}

/*
 * One layout looks at most MIG_SECTION_NODES_MAX fields and elements,
 * fields left out by their version included: here 4096 elements of 64
 * such fields, and nothing read.
 */
static void test_check_layout_steps(void **state)
{
	struct mig_schema *t = make_schema(0, 4096, 64, true);
	struct buf b = make_stream(0);
	struct mig_report *rep;

	(void)state;
	rep = validate(&b, t);
	unchecked(rep, "more than 262144 fields and elements in one section");
	mig_report_free(rep);
	mig_schema_free(t);
	buf_free(&b);
}

/*
 * Every layout under the cap of one, but eight of them (three unknown
 * conditions) over the section's total, and none fits (the section has
 * a byte more than any reads): no verdict, the layouts were not all tried.
 */
static void test_check_total_steps(void **state)
{
	struct mig_schema *t = make_schema(3, 4096, 48, true);
	struct buf b = make_stream(4);
	struct mig_report *rep;

	(void)state;
	rep = validate(&b, t);
	unchecked(rep, "'dev': gave up in layout 6 (more than 1048576 steps over the layouts tried: fields, elements and condition lookups)");
	mig_report_free(rep);
	mig_schema_free(t);
	buf_free(&b);
}

/*
 * The stream's budget: sections that each cost a layout's worth of steps
 * (none fits) add up to MIG_STREAM_WORK_MAX; the sections after it are
 * not checked, each saying why, instead of each costing as much again.
 */
static void test_check_stream_steps(void **state)
{
	struct mig_schema *t = make_schema(0, 4096, 63, true);
	size_t n = MIG_STREAM_WORK_MAX / MIG_SECTION_NODES_MAX + 4;
	struct buf b = { 0 };
	struct mig_report *rep;
	size_t capped = 0, first = 0;

	(void)state;
	put_header(&b);
	put_config(&b, "pc-test-1.0");
	for (size_t i = 0; i < n; i++) {
		put_full(&b, 1, "dev", 0, 1);
		buf_fill(&b, 0, 4);
		put_footer(&b, 1);
	}
	put_eof(&b);
	rep = validate(&b, t);
	for (size_t i = 0; i < rep->nfindings; i++) {
		const struct mig_finding *f = &rep->findings[i];

		if (strcmp(f->check->id, "unchecked") ||
		    !strstr(f->message, "checking this stream took more than 8388608 steps"))
			continue;
		if (!capped++)
			first = i;
	}
	/* Some sections were checked, the rest were not, one finding each. */
	assert_true(first > 0);
	assert_true(capped > 0 && capped < n);
	mig_report_free(rep);
	mig_schema_free(t);
	buf_free(&b);
}

/*
 * The same, but the first layout (every condition false) fits: "loads"
 * means some answer loads, so the fit stands when the steps run out
 * looking for another, as when the layouts do (TRIES_MAX).
 */
static void test_check_fit_stands(void **state)
{
	struct mig_schema *t = make_schema(3, 4096, 48, true);
	struct buf b = make_stream(0);
	struct mig_report *rep;

	(void)state;
	rep = validate(&b, t);
	assert_true(rep->loads);
	assert_null(find(rep, "unchecked"));
	assert_non_null(find(rep, "unknown-condition"));
	mig_report_free(rep);
	mig_schema_free(t);
	buf_free(&b);
}

/*
 * Finding the field a condition reads is a step per value compared: the
 * model looks from the newest value back, so each q compares every s
 * before it finds s0.  Forty fit the budget, sixty do not.
 */
static void test_check_lookups(void **state)
{
	struct mig_schema *t = make_lookups(20000, 40, "s0");
	struct buf b = make_stream(20040);
	struct mig_report *rep;

	(void)state;
	rep = validate(&b, t);
	assert_true(rep->loads);
	assert_null(find(rep, "unchecked"));
	mig_report_free(rep);
	mig_schema_free(t);
	buf_free(&b);

	t = make_lookups(20000, 60, "s0");
	b = make_stream(20060);
	rep = validate(&b, t);
	unchecked(rep, "'dev': gave up in layout 1 (more than 1048576 steps");
	mig_report_free(rep);
	mig_schema_free(t);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* The schema decoder                                                  */

/* Reads @b with @sch forced; returns the stream (section "dev" inside). */
static struct mig_stream *decode(const struct buf *b,
				 const struct mig_schema *sch)
{
	const struct mig_schema *list[1] = { sch };
	struct mig_parse_opts opts = { 0 };
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	struct mig_error err;
	int ret;

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

/* Section "dev" of @b is left undecoded, saying @what. */
static void undecoded(const struct buf *b, const struct mig_schema *sch,
		      const char *what)
{
	struct mig_stream *s = decode(b, sch);
	const struct mig_record *rec = dev_rec(s);

	assert_int_equal(rec->kind, MIG_SEC_UNDECODED);
	assert_null(rec->tree);
	if (!rec->undecoded || !strstr(rec->undecoded, what))
		fail_msg("'%s' does not say '%s'", rec->undecoded, what);
	mig_stream_free(s);
}

/*
 * Eight layouts, each under MIG_SECTION_NODES_MAX nodes, none fits: the
 * failed ones count, and the decoder gives up before the last.
 */
static void test_decode_total_steps(void **state)
{
	struct mig_schema *sch = make_schema(3, 4096, 20, false);
	struct buf b = make_stream(4);

	(void)state;
	undecoded(&b, sch, "schema qemu-7.2: gave up at ");
	undecoded(&b, sch, " in layout 7: more than 1048576 steps (nodes, fields and condition lookups) for one section");
	mig_schema_free(sch);
	buf_free(&b);
}

/*
 * The stream's budget: sections of a few bytes that each spend nearly a
 * section's budget (one layout of 2^18 steps that does not fit) add up,
 * and the stream stops with -MIG_ELIMIT once they pass
 * MIG_STREAM_WORK_MAX, instead of going on for every section.
 */
static void test_decode_stream_steps(void **state)
{
	struct mig_schema *sch = make_schema(0, 4096, 63, false);
	const struct mig_schema *list[1] = { sch };
	struct mig_parse_opts opts = { 0 };
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	struct mig_error err;
	struct buf b = { 0 };
	size_t n = MIG_STREAM_WORK_MAX / MIG_SECTION_NODES_MAX + 4;
	int ret;

	(void)state;
	put_header(&b);
	put_config(&b, "pc-test-1.0");
	for (size_t i = 0; i < n; i++) {
		put_full(&b, 1, "dev", 0, 1);
		buf_fill(&b, 0, 4);
		put_footer(&b, 1);
	}
	put_eof(&b);
	opts.schemas = list;
	opts.nschemas = 1;
	opts.schema_forced = true;
	mig_error_clear(&err);
	assert_int_equal(mig_reader_from_mem(&r, b.p, b.len, "s.mig", &err), 0);
	ret = mig_stream_read(r, &opts, &s, &err);
	mig_reader_free(r);
	assert_int_equal(ret, -MIG_ELIMIT);
	if (!strstr(err.msg, "decoding the stream by schema takes more than 8388608 steps"))
		fail_msg("%s", err.msg);
	/* Not at the first sections: each stays within its own budget. */
	assert_true(err.offset > b.len / 4);
	mig_stream_free(s);
	mig_schema_free(sch);
	buf_free(&b);
}

static bool ends_at_zero(void *ctx, uint64_t off)
{
	(void)ctx;
	return off == 0;
}

/*
 * Layouts are tried up to a limit (256 by default; 1 here).  Nine unknown
 * conditions, each over a buffer of 16 << i bytes: the first layout tried
 * (all left out) fits the empty payload, and then the limit stops the
 * search for a second: an untried layout might fit too, so the one found
 * is not kept (the decoder does not guess).
 */
static void test_decode_tries_not_guessed(void **state)
{
	struct mig_schema *sch = NULL;
	struct mig_sdecode_in in = {
		.idstr = "dev", .version = 1, .section_id = 1,
		.end_ok = ends_at_zero, .max_tries = 1,
	};
	struct mig_sdecode_out out;
	struct mig_reader *r = NULL;
	struct mig_error err;
	struct buf t = { 0 };

	(void)state;
	text(&t, "{\"migstream_schema\": 1, \"name\": \"qemu-7.2\","
		 " \"qemu\": \"7.2\", \"target\": \"x86_64\",");
	text(&t, " \"machines\": [{\"name\": \"pc-test-1.0\", \"default\": true,"
		 " \"footers\": true, \"configuration\": true, \"vmdesc\": true}],");
	text(&t, " \"vmsds\": [{\"id\": \"dev\", \"version\": 1,"
		 " \"sections\": [\"dev\"], \"fields\": [");
	for (unsigned i = 0; i < 9; i++)
		text(&t, "%s{\"name\": \"b%u\", \"type\": \"buffer\","
			 " \"size\": %u, \"exists\": {\"unknown\": \"x\"}}",
		     i ? ", " : "", i, 16u << i);
	text(&t, "]}]}");
	mig_error_clear(&err);
	if (mig_schema_load_mem((const char *)t.p, t.len, "tries.json", &sch,
				&err))
		fail_msg("schema: %s", err.msg);
	assert_int_equal(mig_reader_from_mem(&r, "", 0, "p", &err), 0);
	assert_int_equal(mig_schema_decode(r, sch, &in, &out, &err), 0);
	assert_int_equal(out.result, MIG_SDEC_NONE);
	assert_null(out.tree);
	if (!strstr(out.why, "one layout fits, but it gave up after 1 layouts"))
		fail_msg("%s", out.why);
	/* With room for every layout, the one that fits is kept. */
	in.max_tries = 0;
	assert_int_equal(mig_schema_decode(r, sch, &in, &out, &err), 0);
	assert_int_equal(out.result, MIG_SDEC_OK);
	mig_node_free(out.tree);
	mig_reader_free(r);
	mig_schema_free(sch);
	buf_free(&t);
}

/*
 * The first layout fits, the budget runs out looking for a second: an
 * untried one may fit too, and the decoder never guesses between them.
 */
static void test_decode_fit_not_kept(void **state)
{
	struct mig_schema *sch = make_schema(3, 4096, 20, false);
	struct mig_schema *one = make_schema(0, 4096, 20, false);
	struct buf b = make_stream(0);
	struct mig_stream *s;

	(void)state;
	/* Without the unknown conditions, that layout decodes. */
	s = decode(&b, one);
	assert_int_equal(dev_rec(s)->kind, MIG_SEC_VMSTATE);
	mig_stream_free(s);
	undecoded(&b, sch, "gave up at ");
	mig_schema_free(one);
	mig_schema_free(sch);
	buf_free(&b);
}

/* Fields left out build no node, yet each is looked at: they count. */
static void test_decode_fields_left_out(void **state)
{
	struct mig_schema *sch = make_schema(0, 4096, 300, true);
	struct mig_schema *fewer = make_schema(0, 4096, 200, true);
	struct buf b = make_stream(0);
	struct mig_stream *s;

	(void)state;
	s = decode(&b, fewer);
	assert_int_equal(dev_rec(s)->kind, MIG_SEC_VMSTATE);
	mig_stream_free(s);
	undecoded(&b, sch, " in layout 1: more than 1048576 steps");
	mig_schema_free(fewer);
	mig_schema_free(sch);
	buf_free(&b);
}

/*
 * The same for the decoder, which looks from the first field on: each q
 * compares every s before it finds the last.
 */
static void test_decode_lookups(void **state)
{
	struct mig_schema *sch = make_lookups(20000, 40, "s19999");
	struct buf b = make_stream(20040);
	struct mig_stream *s;

	(void)state;
	s = decode(&b, sch);
	assert_int_equal(dev_rec(s)->kind, MIG_SEC_VMSTATE);
	mig_stream_free(s);
	mig_schema_free(sch);
	buf_free(&b);

	sch = make_lookups(20000, 60, "s19999");
	b = make_stream(20060);
	undecoded(&b, sch, " in layout 1: more than 1048576 steps");
	mig_schema_free(sch);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_empty_elements),
		cmocka_unit_test(test_check_layout_steps),
		cmocka_unit_test(test_check_total_steps),
		cmocka_unit_test(test_check_stream_steps),
		cmocka_unit_test(test_check_fit_stands),
		cmocka_unit_test(test_check_lookups),
		cmocka_unit_test(test_decode_total_steps),
		cmocka_unit_test(test_decode_stream_steps),
		cmocka_unit_test(test_decode_tries_not_guessed),
		cmocka_unit_test(test_decode_fit_not_kept),
		cmocka_unit_test(test_decode_fields_left_out),
		cmocka_unit_test(test_decode_lookups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
