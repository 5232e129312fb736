/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for validate (check.c, check_load.c, check_virtio.c): every
 * check of the table fires on a small stream built here against a small
 * target schema, with its offset, path and the words QEMU prints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "builder.h"
#include "migstream/check.h"
#include "migstream/schema.h"

/*
 * The target: QEMU "7.2" with machine types pc-test-1.0 (footers,
 * configuration, vmdesc) and old-test (neither), and descriptions:
 *   dev     v1: u32 a, u32 b when field 'a' is 1 (a _TEST)
 *   old     v3 (minimum 2): u8 x
 *   nest    v1: struct s (inner), u8 tail
 *   inner   v1: u16 y; subsection inner/a (u8 z)
 *   eq      v1: int32 equal n
 *   unk     v1: u8 p, u8 q when unknown
 *   vnet    "virtio-net" v11: virtio
 *   cpu     v1 learned from streams (origin vmdesc): u8 c
 */
static const char *const schema_text =
	"{'migstream_schema': 1, 'name': 'qemu-7.2', 'qemu': '7.2',"
	" 'target': 'x86_64', 'vmdesc_index_last': true,"
	" 'machines': ["
	"  {'name': 'pc-test-1.0', 'default': true, 'footers': true,"
	"   'configuration': true, 'vmdesc': true},"
	"  {'name': 'pc-test-0.9', 'deprecated': true, 'footers': true,"
	"   'configuration': true, 'vmdesc': true},"
	"  {'name': 'old-test', 'footers': false, 'configuration': false,"
	"   'vmdesc': false}],"
	" 'vmsds': ["
	"  {'id': 'dev', 'version': 1, 'minimum_version': 1, 'sections': ['dev'],"
	"   'fields': [{'name': 'a', 'type': 'uint32'},"
	"              {'name': 'b', 'type': 'uint32',"
	"               'exists': {'eq': [{'field': 'a'}, 1]}}]},"
	"  {'id': 'old', 'version': 3, 'minimum_version': 2, 'sections': ['old'],"
	"   'fields': [{'name': 'x', 'type': 'uint8'}]},"
	"  {'id': 'nest', 'version': 1, 'sections': ['nest'],"
	"   'fields': [{'name': 's', 'type': 'struct', 'vmsd': 'inner'},"
	"              {'name': 'tail', 'type': 'uint8'}]},"
	"  {'id': 'inner', 'version': 1, 'fields': [{'name': 'y', 'type': 'uint16'}],"
	"   'subsections': [{'vmsd': 'inner/a'}]},"
	"  {'id': 'inner/a', 'version': 1, 'fields': [{'name': 'z', 'type': 'uint8'}]},"
	"  {'id': 'eq', 'version': 1, 'sections': ['eq'],"
	"   'fields': [{'name': 'n', 'type': 'int32 equal'}]},"
	"  {'id': 'unk', 'version': 1, 'sections': ['unk'],"
	"   'fields': [{'name': 'p', 'type': 'uint8'},"
	"              {'name': 'q', 'type': 'uint8', 'exists': {'unknown': 'a test'}}]},"
	"  {'id': 'virtio-net', 'version': 11, 'minimum_version': 11,"
	"   'sections': ['virtio-net'],"
	"   'fields': [{'name': 'virtio', 'type': 'virtio'}]},"
	"  {'id': 'cpu', 'version': 1, 'origin': 'vmdesc', 'sections': ['cpu'],"
	"   'fields': [{'name': 'c', 'type': 'uint8'}]}"
	" ]}";

static struct mig_schema *load_schema(const char *qemu)
{
	char *t = strdup(schema_text), *v;
	struct mig_schema *s = NULL;
	struct mig_error err;

	assert_non_null(t);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	/* Another version: same descriptions, another "qemu". */
	if (qemu && (v = strstr(t, "\"qemu\": \"7.2\""))) {
		char *n = NULL;

		assert_true(asprintf(&n, "%.*s\"qemu\": \"%s\"%s", (int)(v - t), t,
				     qemu, v + strlen("\"qemu\": \"7.2\"")) > 0);
		free(t);
		t = n;
	}
	mig_error_clear(&err);
	if (mig_schema_load_mem(t, strlen(t), "test.json", &s, &err))
		fail_msg("schema: %s", err.msg);
	free(t);
	return s;
}

/* Parses @b and validates it against @t with @o (NULL: defaults). */
static struct mig_report *validate(const struct buf *b,
				   const struct mig_schema *t,
				   const struct mig_validate_opts *o)
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
	if (mig_validate(r, s, pret, &perr, t, o, &rep, &err))
		fail_msg("validate: %s", err.msg);
	mig_stream_free(s);
	mig_reader_free(r);
	return rep;
}

/* The first finding of check @id, or NULL. */
static const struct mig_finding *find(const struct mig_report *rep,
				      const char *id)
{
	for (size_t i = 0; i < rep->nfindings; i++)
		if (!strcmp(rep->findings[i].check->id, id))
			return &rep->findings[i];
	return NULL;
}

static bool says(const struct mig_finding *f, const char *line)
{
	for (size_t i = 0; f && i < f->nqemu; i++)
		if (!strcmp(f->qemu[i], line))
			return true;
	return false;
}

/* Header and configuration for machine pc-test-1.0. */
static void start(struct buf *b)
{
	put_header(b);
	put_config(b, "pc-test-1.0");
}

/* One FULL section "dev" (a = @a, then b when a is 1) with its footer. */
static size_t put_dev(struct buf *b, uint32_t id, uint32_t version,
		      uint32_t a, bool with_b)
{
	size_t at = b->len;

	put_full(b, id, "dev", 0, version);
	buf_be32(b, a);
	if (with_b)
		buf_be32(b, 7);
	put_footer(b, id);
	return at;
}

static void test_table(void **state)
{
	size_t n;
	const struct mig_check *c = mig_checks(&n);

	(void)state;
	assert_true(n > 20);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(c[i].reason);

		assert_ptr_equal(mig_check_find(c[i].id), &c[i]);
		assert_true(c[i].reason[0] >= 'a' && c[i].reason[0] <= 'z');
		assert_true(len > 10 && c[i].reason[len - 1] != '.');
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(c[i].id, c[k].id);
	}
	assert_null(mig_check_find("no-such-check"));
	assert_string_equal(mig_severity_name(MIG_SEV_REJECT), "reject");
	assert_string_equal(mig_check_find("equal-field") ?
			    mig_severity_name(mig_check_find("equal-field")->severity) : "",
			    "risk");
}

static void test_loads(void **state)
{
	struct mig_schema *t = load_schema(NULL);
	struct buf b = { 0 };
	struct mig_report *rep;

	(void)state;
	start(&b);
	put_dev(&b, 1, 1, 1, true);	/* a == 1: b is there */
	put_dev(&b, 2, 1, 0, false);	/* a == 0: b is not */
	put_eof(&b);
	rep = validate(&b, t, NULL);
	assert_true(rep->loads);
	assert_int_equal(rep->counts[MIG_SEV_REJECT], 0);
	assert_null(rep->first);
	assert_string_equal(rep->machine, "pc-test-1.0");
	assert_string_equal(rep->qemu, "7.2");
	/* No vmdesc, and the machine type expects one: a warning. */
	assert_non_null(find(rep, "vmdesc-missing"));
	assert_true(says(find(rep, "vmdesc-missing"),
			 "Expected vmdescription section, but got 0"));
	mig_report_free(rep);
	buf_free(&b);
	mig_schema_free(t);
}

static void test_unknown_section(void **state)
{
	struct mig_schema *t = load_schema(NULL);
	struct buf b = { 0 };
	struct mig_report *rep;
	size_t at;

	(void)state;
	start(&b);
	at = b.len;
	put_full(&b, 3, "gadget", 2, 1);
	buf_u8(&b, 0);
	put_footer(&b, 3);
	put_eof(&b);
	rep = validate(&b, t, NULL);
	assert_false(rep->loads);
	assert_non_null(rep->first);
	assert_string_equal(rep->first->check->id, "unknown-section");
	assert_int_equal(rep->first->offset, at);
	assert_string_equal(rep->first->section, "gadget");
	assert_int_equal(rep->first->instance, 2);
	assert_true(says(rep->first,
			 "Unknown savevm section or instance 'gadget' 2. Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices"));
	assert_true(says(rep->first, "load of migration failed: Invalid argument"));
	mig_report_free(rep);
	buf_free(&b);
	mig_schema_free(t);
}

static void test_section_version(void **state)
{
	struct mig_schema *t = load_schema(NULL);
	struct buf b = { 0 };
	struct mig_report *rep;
	size_t at;

	(void)state;
	start(&b);
	at = put_dev(&b, 1, 2, 0, false);
	put_eof(&b);
	rep = validate(&b, t, NULL);
	assert_string_equal(rep->first->check->id, "section-version");
	assert_int_equal(rep->first->offset, at);
	assert_true(says(rep->first, "savevm: unsupported version 2 for 'dev' v1"));
	mig_report_free(rep);
	buf_free(&b);

	start(&b);
	put_full(&b, 1, "old", 0, 1);
	buf_u8(&b, 0);
	put_footer(&b, 1);
	put_eof(&b);
	rep = validate(&b, t, NULL);
	assert_string_equal(rep->first->check->id, "section-version");
	/* Two spaces, as QEMU 5.2 to 10.0 print it. */
	assert_true(says(rep->first,
			 "old: incoming version_id 1 is too old for local minimum version_id  2"));
	assert_true(says(rep->first,
			 "error while loading state for instance 0x0 of device 'old'"));
	mig_report_free(rep);
	buf_free(&b);
	mig_schema_free(t);
}

/* nest: struct s (inner: u16 y, subsections), u8 tail. */
static void put_nest(struct buf *b, const char *sub)
{
	put_full(b, 4, "nest", 0, 1);
	buf_be16(b, 1);
	if (sub) {
		put_subsection(b, sub, 1);
		buf_u8(b, 9);
	}
	buf_u8(b, 2);
	put_footer(b, 4);
}

static void test_unknown_subsection(void **state)
{
	struct mig_schema *t = load_schema(NULL);
	struct buf b = { 0 };
	struct mig_report *rep;
	size_t at;

	(void)state;
	start(&b);
	put_nest(&b, "inner/a");	/* known, at depth 1 */
	put_eof(&b);
	rep = validate(&b, t, NULL);
	assert_true(rep->loads);
	mig_report_free(rep);
	buf_free(&b);

	start(&b);
	at = b.len + 1 + 4 + 1 + 4 + 4 + 4 + 2;
	put_nest(&b, "inner/b");
	put_eof(&b);
	rep = validate(&b, t, NULL);
	assert_false(rep->loads);
	assert_string_equal(rep->first->check->id, "unknown-subsection");
	assert_int_equal(rep->first->offset, at);
	assert_string_equal(rep->first->path, "nest.s{inner/b}");
	/* QEMU names the struct field it was in, then the section. */
	assert_int_equal(rep->first->nqemu, 3);
	assert_string_equal(rep->first->qemu[0], "Failed to load nest:s");
	assert_string_equal(rep->first->qemu[1],
			    "error while loading state for instance 0x0 of device 'nest'");
	assert_string_equal(rep->first->qemu[2],
			    "load of migration failed: No such file or directory");
	mig_report_free(rep);
	buf_free(&b);
	mig_schema_free(t);
}

static void test_field_layout(void **state)
{
	struct mig_schema *t = load_schema(NULL);
	struct buf b = { 0 };
	struct mig_report *rep;
	size_t at;

	(void)state;
	start(&b);
	/* a == 1 makes the target read b, which the stream lacks. */
	at = put_dev(&b, 1, 1, 1, false);
	put_eof(&b);
	rep = validate(&b, t, NULL);
	assert_string_equal(rep->first->check->id, "field-layout");
	/* Where the target reads on past the section's data: its footer,
	 * which QEMU takes for field b. */
	assert_int_equal(rep->first->offset, at + 1 + 4 + 1 + 3 + 4 + 4 + 4);
	assert_string_equal(rep->first->path, "dev");
	assert_true(says(rep->first, "Missing section footer for dev"));
	mig_report_free(rep);
	buf_free(&b);
	mig_schema_free(t);
}

static void test_conditions_and_equal(void **state)
{
	struct mig_schema *t = load_schema(NULL);
	struct buf b = { 0 };
	struct mig_report *rep;
	const struct mig_finding *f;

	(void)state;
	start(&b);
	put_full(&b, 5, "unk", 0, 1);
	buf_u8(&b, 1);
	buf_u8(&b, 2);			/* q: only "present" fits */
	put_footer(&b, 5);
	put_full(&b, 6, "eq", 0, 1);
	buf_be32(&b, 4);
	put_footer(&b, 6);
	put_eof(&b);
	rep = validate(&b, t, NULL);
	assert_true(rep->loads);
	f = find(rep, "unknown-condition");
	assert_non_null(f);
	assert_string_equal(f->section, "unk");
	assert_non_null(strstr(f->message, "unk.q"));
	assert_non_null(strstr(f->message, "taken as true"));
	f = find(rep, "equal-field");
	assert_non_null(f);
	assert_string_equal(f->path, "eq.n");
	assert_non_null(strstr(f->message, "eq.n = 0x4"));
	mig_report_free(rep);
	buf_free(&b);
	mig_schema_free(t);
}

static void test_machine(void **state)
{
	struct mig_schema *t = load_schema(NULL);
	struct mig_schema *t52 = load_schema("5.2");
	struct mig_validate_opts o;
	struct buf b = { 0 };
	struct mig_report *rep;

	(void)state;
	put_header(&b);
	put_config(&b, "pc-test-2.0");
	put_eof(&b);
	rep = validate(&b, t, NULL);
	assert_string_equal(rep->first->check->id, "no-such-machine");
	assert_int_equal(rep->first->offset, MIG_NO_OFFSET);
	assert_true(says(rep->first, "unsupported machine type"));
	assert_non_null(strstr(rep->first->cause, "pc-test-1.0"));
	mig_report_free(rep);
	rep = validate(&b, t52, NULL);
	assert_true(says(rep->first, "-machine pc-test-2.0: unsupported machine type"));
	mig_report_free(rep);
	buf_free(&b);

	start(&b);
	put_eof(&b);
	mig_validate_opts_init(&o);
	o.machine = "pc-test-0.9";
	rep = validate(&b, t, &o);
	assert_string_equal(rep->first->check->id, "machine-mismatch");
	assert_int_equal(rep->first->offset, 8);
	assert_true(says(rep->first,
			 "Machine type received is 'pc-test-1.0' and local is 'pc-test-0.9'"));
	assert_non_null(find(rep, "machine-deprecated"));
	mig_report_free(rep);
	buf_free(&b);
	mig_schema_free(t);
	mig_schema_free(t52);
}

static void test_configuration_and_footers(void **state)
{
	struct mig_schema *t = load_schema(NULL);
	struct mig_validate_opts o;
	struct buf b = { 0 };
	struct mig_report *rep;

	(void)state;
	/* No configuration record, footers on. */
	put_header(&b);
	put_dev(&b, 1, 1, 0, false);
	put_eof(&b);
	mig_validate_opts_init(&o);
	o.machine = "pc-test-1.0";
	rep = validate(&b, t, &o);
	assert_string_equal(rep->first->check->id, "configuration-missing");
	assert_true(says(rep->first, "Configuration section missing"));
	mig_report_free(rep);
	o.configuration = 0;
	rep = validate(&b, t, &o);
	assert_true(rep->loads);
	mig_report_free(rep);
	/* The old machine type expects neither. */
	o.machine = "old-test";
	o.configuration = -1;
	rep = validate(&b, t, &o);
	assert_string_equal(rep->first->check->id, "footer-unexpected");
	assert_true(says(rep->first, "Unknown savevm section type 126"));
	mig_report_free(rep);
	buf_free(&b);

	/* Footers off in the stream, on in the target (a vmdesc tells the
	 * parser where the section ends). */
	start(&b);
	put_full(&b, 1, "dev", 0, 1);
	buf_be32(&b, 0);
	put_eof(&b);
	{
		json_t *vd = json_q("{'page_size': 4096, 'devices': [{'name': 'dev',"
				    " 'instance_id': 0, 'vmsd_name': 'dev', 'version': 1,"
				    " 'fields': [{'name': 'a', 'type': 'uint32', 'size': 4}]}]}");

		put_vmdesc(&b, vd);
		json_decref(vd);
	}
	rep = validate(&b, t, NULL);
	assert_string_equal(rep->first->check->id, "footer-missing");
	assert_true(says(rep->first, "Missing section footer for dev"));
	mig_report_free(rep);
	mig_validate_opts_init(&o);
	o.footers = 0;
	rep = validate(&b, t, &o);
	assert_true(rep->loads);
	mig_report_free(rep);
	buf_free(&b);
	mig_schema_free(t);
}

static void test_commands_and_caps(void **state)
{
	struct mig_schema *t = load_schema(NULL);
	struct mig_schema *t10 = load_schema("10.0");
	static const char *const caps[] = { "mapped-ram" };
	struct buf b = { 0 };
	struct mig_report *rep;
	size_t at;

	(void)state;
	start(&b);
	at = b.len;
	put_cmd(&b, MIG_CMD_SWITCHOVER_START, 0, NULL);
	put_eof(&b);
	rep = validate(&b, t, NULL);
	assert_string_equal(rep->first->check->id, "unknown-command");
	assert_int_equal(rep->first->offset, at);
	assert_true(says(rep->first, "MIG_CMD 0xb unknown (len 0x0)"));
	mig_report_free(rep);
	rep = validate(&b, t10, NULL);
	assert_true(rep->loads);
	mig_report_free(rep);
	buf_free(&b);

	put_header(&b);
	put_config(&b, "pc-test-1.0");
	put_cfg_caps(&b, 1, caps);
	put_eof(&b);
	rep = validate(&b, t, NULL);
	assert_string_equal(rep->first->check->id, "capability-unknown");
	assert_true(says(rep->first,
			 "migrate-set-capabilities: Parameter 'capability' does not accept value 'mapped-ram'"));
	mig_report_free(rep);
	rep = validate(&b, t10, NULL);
	assert_true(rep->loads);
	assert_non_null(find(rep, "capability-needed"));
	mig_report_free(rep);
	buf_free(&b);
	mig_schema_free(t);
	mig_schema_free(t10);
}

static void test_truncated(void **state)
{
	struct mig_schema *t = load_schema(NULL);
	struct buf b = { 0 };
	struct mig_report *rep;

	(void)state;
	start(&b);
	put_dev(&b, 1, 1, 0, false);
	put_full(&b, 2, "nest", 0, 1);
	buf_u8(&b, 0);			/* half of inner.y */
	rep = validate(&b, t, NULL);
	assert_false(rep->loads);
	assert_string_equal(rep->first->check->id, "truncated");
	assert_string_equal(rep->first->section, "nest");
	assert_true(says(rep->first, "Failed to load inner:y"));
	assert_true(says(rep->first, "Failed to load nest:s"));
	assert_true(says(rep->first, "load of migration failed: Input/output error"));
	mig_report_free(rep);
	buf_free(&b);
	mig_schema_free(t);
}

/* A virtio-pci state: config space without capabilities, no queues. */
static void put_virtio(struct buf *b, const char *sub)
{
	put_full(b, 7, "0000:00:03.0/virtio-net", 0, 11);
	buf_be32(b, 2);			/* PCIDevice version_id */
	buf_fill(b, 0, 256);		/* config space: no capability list */
	buf_fill(b, 0, 16);		/* irq_state */
	buf_u8(b, 0);			/* status */
	buf_u8(b, 0);			/* isr */
	buf_be16(b, 0);			/* queue_sel */
	buf_be32(b, 0);			/* guest features */
	buf_be32(b, 2);			/* config_len */
	buf_be16(b, 0);
	buf_be32(b, 0);			/* no queues */
	put_subsection(b, "virtio/64bit_features", 1);
	buf_be64(b, 1);
	if (sub) {
		put_subsection(b, sub, 1);
		buf_u8(b, 1);
	}
	put_footer(b, 7);
}

static void test_virtio(void **state)
{
	struct mig_schema *t = load_schema(NULL);
	struct buf b = { 0 };
	struct mig_report *rep;

	(void)state;
	start(&b);
	put_virtio(&b, "virtio/broken");
	put_eof(&b);
	rep = validate(&b, t, NULL);
	assert_true(rep->loads);
	mig_report_free(rep);
	buf_free(&b);

	start(&b);
	put_virtio(&b, "virtio/x-new");
	put_eof(&b);
	rep = validate(&b, t, NULL);
	assert_false(rep->loads);
	assert_string_equal(rep->first->check->id, "unknown-subsection");
	assert_string_equal(rep->first->path,
			    "0000:00:03.0/virtio-net.virtio{virtio/x-new}");
	assert_string_equal(rep->first->qemu[0], "Failed to load virtio-net:virtio");
	mig_report_free(rep);
	buf_free(&b);

	/* A device subsection QEMU 7.2 has and 5.2 has not (the names
	 * read off the binaries). */
	start(&b);
	put_virtio(&b, "virtio/started");
	put_eof(&b);
	rep = validate(&b, t, NULL);
	assert_true(rep->loads);
	mig_report_free(rep);
	buf_free(&b);
	mig_schema_free(t);
}

/* A section whose description the schema learned from streams only: the
 * names of the subsections the binary has decide. */
static void test_learned_description(void **state)
{
	struct mig_schema *t = load_schema(NULL);
	struct buf b = { 0 };
	struct mig_report *rep;
	json_t *vmdesc;

	(void)state;
	vmdesc = json_q("{'page_size': 4096, 'devices': [{'name': 'cpu',"
			" 'instance_id': 0, 'vmsd_name': 'cpu', 'version': 1,"
			" 'fields': [{'name': 'c', 'type': 'uint8', 'size': 1}],"
			" 'subsections': [{'vmsd_name': 'cpu/tsc_khz', 'version': 1,"
			" 'fields': [{'name': 'tsc_khz', 'type': 'int64', 'size': 8}]}]}]}");
	start(&b);
	put_full(&b, 8, "cpu", 0, 1);
	buf_u8(&b, 3);
	put_subsection(&b, "cpu/tsc_khz", 1);
	buf_be64(&b, 1000000);
	put_footer(&b, 8);
	put_eof(&b);
	put_vmdesc(&b, vmdesc);
	rep = validate(&b, t, NULL);
	assert_true(rep->loads);
	assert_non_null(find(rep, "opaque-read"));
	mig_report_free(rep);
	buf_free(&b);
	json_decref(vmdesc);

	start(&b);
	put_full(&b, 8, "cpu", 0, 1);
	buf_u8(&b, 3);
	put_subsection(&b, "cpu/no_such_thing", 1);
	buf_u8(&b, 0);
	put_footer(&b, 8);
	put_eof(&b);
	rep = validate(&b, t, NULL);
	assert_false(rep->loads);
	assert_string_equal(rep->first->check->id, "unknown-subsection");
	mig_report_free(rep);
	buf_free(&b);
	mig_schema_free(t);
}

static void test_json(void **state)
{
	struct mig_schema *t = load_schema(NULL);
	struct buf b = { 0 };
	struct mig_report *rep;
	json_t *j, *f;
	size_t at;

	(void)state;
	start(&b);
	at = put_dev(&b, 1, 2, 0, false);
	put_eof(&b);
	rep = validate(&b, t, NULL);
	j = mig_report_json(rep);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "migstream_validate")),
			 MIG_VALIDATE_FORMAT_VERSION);
	assert_string_equal(json_string_value(json_object_get(j, "verdict")), "refuses");
	assert_string_equal(json_string_value(json_object_get(j, "target")), "qemu-7.2");
	f = json_object_get(j, "first");
	assert_string_equal(json_string_value(json_object_get(f, "check")),
			    "section-version");
	assert_string_equal(json_string_value(json_object_get(f, "severity")), "reject");
	assert_int_equal(json_integer_value(json_object_get(f, "offset")), at);
	assert_true(json_is_array(json_object_get(f, "qemu")));
	assert_int_equal(json_array_size(json_object_get(j, "findings")),
			 rep->nfindings);
	json_decref(j);
	mig_report_free(rep);
	buf_free(&b);
	mig_schema_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_loads),
		cmocka_unit_test(test_unknown_section),
		cmocka_unit_test(test_section_version),
		cmocka_unit_test(test_unknown_subsection),
		cmocka_unit_test(test_field_layout),
		cmocka_unit_test(test_conditions_and_equal),
		cmocka_unit_test(test_machine),
		cmocka_unit_test(test_configuration_and_footers),
		cmocka_unit_test(test_commands_and_caps),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_virtio),
		cmocka_unit_test(test_learned_description),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests_name("check", tests, NULL, NULL);
}
