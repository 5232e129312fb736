/* SPDX-License-Identifier: MIT */
/*
 * The schema corpus test: every real stream in testdata/streams/MANIFEST
 * that has a vmdesc decodes to the same tree (names, types, values, offsets
 * and sizes of every node) when its vmdesc is ignored, and when it is cut
 * off the stream, and the shipped schema of its QEMU version describes the
 * device sections instead; every stream without a vmdesc decodes every
 * device section with that schema and with the schema migstream chooses
 * by itself.  Run from the repository root; schemas come from
 * $MIGSTREAM_TEST_SCHEMAS (default "schemas").
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "migstream/migstream.h"
#include "migstream/schema.h"

#define MANIFEST "testdata/streams/MANIFEST"
#define MAX_CASES 256

struct corpus_case {
	char path[512];
	char base[256];
	char qemu[16];
	uint64_t size;
	bool has_vmdesc;
	uint64_t vmdesc_off;
	char expect[32];
};

static struct corpus_case cases[MAX_CASES];
static size_t ncases;
static const char *schema_dir = "schemas";
static struct mig_schema *schemas[8];
static char schema_names[8][32];
static size_t nschemas;

static int load_manifest(void)
{
	FILE *f = fopen(MANIFEST, "r");
	char line[2048];

	if (!f) {
		fprintf(stderr, "cannot open %s: %s (run from the repository root)\n",
			MANIFEST, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) && ncases < MAX_CASES) {
		struct corpus_case *c = &cases[ncases];
		char *field[8], *save = NULL, *tok, *dot;
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		for (tok = strtok_r(line, "\t", &save); tok && n < 8;
		     tok = strtok_r(NULL, "\t", &save))
			field[n++] = tok;
		if (n != 7)
			continue;
		snprintf(c->path, sizeof(c->path), "testdata/streams/%s",
			 field[0]);
		snprintf(c->base, sizeof(c->base), "%s",
			 strrchr(field[0], '/') ? strrchr(field[0], '/') + 1
						: field[0]);
		dot = strstr(c->base, ".mig");
		if (dot)
			*dot = '\0';
		/* qemu-X.Y/... */
		if (sscanf(field[0], "qemu-%15[^/]", c->qemu) != 1)
			continue;
		c->size = strtoull(field[2], NULL, 10);
		c->has_vmdesc = field[3][0] == '1';
		c->vmdesc_off = strcmp(field[4], "-") ? strtoull(field[4], NULL, 10)
						       : 0;
		snprintf(c->expect, sizeof(c->expect), "%s", field[6]);
		ncases++;
	}
	fclose(f);
	return 0;
}

static const struct mig_schema *schema_for(const char *qemu)
{
	char name[32];

	snprintf(name, sizeof(name), "qemu-%s", qemu);
	for (size_t i = 0; i < nschemas; i++)
		if (!strcmp(schema_names[i], name))
			return schemas[i];
	return NULL;
}

/* The stream's bytes (decompressed for .mig.gz), malloc'd. */
static uint8_t *load_bytes(const char *path, size_t *len)
{
	size_t n = strlen(path), cap = 1 << 20, got = 0;
	bool gz = n > 3 && !strcmp(path + n - 3, ".gz");
	char cmd[1100];
	uint8_t *buf = malloc(cap);
	FILE *f;

	snprintf(cmd, sizeof(cmd), "gzip -dc '%s'", path);
	f = gz ? popen(cmd, "r") : fopen(path, "rb");
	if (!f || !buf) {
		free(buf);
		if (f)
			gz ? pclose(f) : fclose(f);
		return NULL;
	}
	for (;;) {
		size_t k;

		if (got == cap) {
			uint8_t *p = realloc(buf, cap * 2);

			if (!p)
				break;
			buf = p;
			cap *= 2;
		}
		k = fread(buf + got, 1, cap - got, f);
		if (!k)
			break;
		got += k;
	}
	gz ? pclose(f) : fclose(f);
	*len = got;
	return buf;
}

/* Reads the first @len bytes of @path (all of it when @len is 0). */
static struct mig_stream *parse(const char *path, uint64_t len,
				const struct mig_parse_opts *opts, int *ret,
				struct mig_error *err)
{
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	size_t n = 0;
	uint8_t *bytes = load_bytes(path, &n);

	if (!bytes)
		return NULL;
	*ret = mig_reader_from_mem(&r, bytes, len && len < n ? len : n, path,
				   err);
	if (!*ret)
		*ret = mig_stream_read(r, opts, &s, err);
	mig_reader_free(r);
	free(bytes);
	return s;
}

/* Reports the first difference between two record lists. */
static void diff_records(const char *what, json_t *a, json_t *b)
{
	size_t i;
	json_t *ra;

	json_array_foreach(a, i, ra) {
		json_t *rb = json_array_get(b, i);

		if (!json_equal(ra, rb)) {
			char *sa = json_dumps(ra, JSON_COMPACT | JSON_SORT_KEYS);
			char *sb = rb ? json_dumps(rb, JSON_COMPACT | JSON_SORT_KEYS)
				      : strdup("(none)");
			size_t k = 0;

			while (sa && sb && sa[k] && sa[k] == sb[k])
				k++;
			fail_msg("%s: record %zu ('%s') differs at character %zu:\n  vmdesc: ...%.300s\n  schema: ...%.300s",
				 what, i,
				 json_string_value(json_object_get(ra, "name")),
				 k, sa ? sa + (k > 80 ? k - 80 : 0) : "?",
				 sb ? sb + (k > 80 ? k - 80 : 0) : "?");
			free(sa);
			free(sb);
		}
	}
	if (json_array_size(a) != json_array_size(b))
		fail_msg("%s: %zu records with the vmdesc, %zu with the schema",
			 what, json_array_size(a), json_array_size(b));
}

/* The records without the "schema" key (which says who decoded). */
static json_t *records_of(struct mig_stream *s)
{
	json_t *d = mig_dump_json(s, MIG_DUMP_OFFSETS);
	json_t *recs = json_incref(json_object_get(d, "records"));
	size_t i;
	json_t *r;

	json_decref(d);
	json_array_foreach(recs, i, r)
		json_object_del(r, "schema");
	return recs;
}

static void check_roundtrip(void **state)
{
	const struct corpus_case *c = *state;
	const struct mig_schema *sch = schema_for(c->qemu);
	const struct mig_schema *list[1] = { sch };
	struct mig_parse_opts opts = {
		.schemas = list,
		.nschemas = 1,
		.schema_forced = true,
		.ignore_vmdesc = true,
	};
	struct mig_error err;
	struct mig_stream *a, *b, *cut;
	json_t *ja, *jb, *jc;
	char msg[1024];
	size_t by_schema = 0;
	int ra, rb, rc;

	if (!sch)
		fail_msg("no shipped schema qemu-%s in %s", c->qemu, schema_dir);
	mig_error_clear(&err);
	a = parse(c->path, 0, NULL, &ra, &err);
	assert_non_null(a);
	assert_int_equal(ra, 0);
	mig_error_clear(&err);
	b = parse(c->path, 0, &opts, &rb, &err);
	assert_non_null(b);
	if (rb)
		fail_msg("%s", mig_error_format(&err, c->path, msg, sizeof(msg)));
	for (const struct mig_record *r = b->records; r; r = r->next) {
		if (r->type != MIG_REC_FULL)
			continue;
		if (!r->schema)
			fail_msg("%s: section '%s' (id %" PRIu32 ") at 0x%" PRIx64 " not decoded with the schema: %s",
				 c->base, r->name, r->section_id, r->offset,
				 r->undecoded ? r->undecoded : "?");
		by_schema++;
	}
	assert_true(by_schema > 0);
	ja = records_of(a);
	jb = records_of(b);
	diff_records(c->base, ja, jb);

	/* The same with the vmdesc really cut off (the stream ends at EOF). */
	opts.ignore_vmdesc = false;
	mig_error_clear(&err);
	cut = parse(c->path, c->vmdesc_off, &opts, &rc, &err);
	assert_non_null(cut);
	if (rc)
		fail_msg("cut: %s", mig_error_format(&err, c->path, msg, sizeof(msg)));
	assert_false(cut->has_vmdesc);
	jc = records_of(cut);
	diff_records(c->base, ja, jc);
	json_decref(ja);
	json_decref(jb);
	json_decref(jc);
	mig_stream_free(a);
	mig_stream_free(b);
	mig_stream_free(cut);
}

static void check_full_decode(const struct corpus_case *c,
			      const struct mig_parse_opts *opts,
			      const char *how)
{
	struct mig_error err;
	struct mig_stream *s;
	char msg[1024];
	size_t n = 0;
	int ret;

	mig_error_clear(&err);
	s = parse(c->path, 0, opts, &ret, &err);
	assert_non_null(s);
	if (ret)
		fail_msg("%s: %s", how, mig_error_format(&err, c->path, msg,
							 sizeof(msg)));
	for (const struct mig_record *r = s->records; r; r = r->next) {
		if (r->type != MIG_REC_FULL)
			continue;
		if (r->kind != MIG_SEC_VMSTATE && r->kind != MIG_SEC_LEGACY)
			fail_msg("%s: %s: section '%s' (id %" PRIu32 ") at 0x%" PRIx64 " undecoded: %s",
				 c->base, how, r->name, r->section_id, r->offset,
				 r->undecoded ? r->undecoded : "?");
		n++;
	}
	assert_true(n > 0);
	if (opts->nschemas > 1)
		print_message("  %s: chose %s (%s)\n", c->base,
			      s->schema ? s->schema : "none",
			      s->schema_why ? s->schema_why : "");
	mig_stream_free(s);
}

static void check_novmdesc(void **state)
{
	const struct corpus_case *c = *state;
	const struct mig_schema *sch = schema_for(c->qemu);
	const struct mig_schema *one[1] = { sch };
	struct mig_parse_opts forced = {
		.schemas = one,
		.nschemas = 1,
		.schema_forced = true,
	};
	struct mig_parse_opts chosen = {
		.schemas = (const struct mig_schema *const *)schemas,
		.nschemas = nschemas,
	};

	assert_non_null(sch);
	check_full_decode(c, &forced, "its own QEMU's schema");
	check_full_decode(c, &chosen, "the schema migstream chooses");
}

/*
 * schema diff against the real loads in testdata/crossload.json: for every
 * am53c974 (esp) stream loaded into every version, a load QEMU refused is a
 * reject, a load it accepted is none.
 */
static void check_esp_crossload(void **state)
{
	json_error_t jerr;
	json_t *cl = json_load_file("testdata/crossload.json", 0, &jerr);
	size_t i, checked = 0;
	json_t *r;

	(void)state;
	assert_non_null(cl);
	json_array_foreach(json_object_get(cl, "results"), i, r) {
		const char *set = json_string_value(json_object_get(r, "set"));
		const char *from = json_string_value(json_object_get(r, "source_version"));
		const char *to = json_string_value(json_object_get(r, "target"));
		const char *machine = json_string_value(json_object_get(r, "machine"));
		const char *result = json_string_value(json_object_get(r, "result"));
		struct mig_sdiff_opts o = {
			.machine = machine,
			.vmsd = "pciespscsi",
		};
		const struct mig_schema *a, *b;
		struct mig_error err;
		json_t *out = NULL, *f;
		bool reject = false;
		size_t n = 0, k;

		if (!set || strcmp(set, "esp") || json_is_true(json_object_get(r, "mutated")))
			continue;
		a = schema_for(from);
		b = schema_for(to);
		assert_non_null(a);
		assert_non_null(b);
		mig_error_clear(&err);
		assert_int_equal(mig_schema_diff(a, b, &o, &out, &n, &err), 0);
		json_array_foreach(json_object_get(out, "findings"), k, f)
			reject |= !strcmp(json_string_value(json_object_get(f, "severity")),
					  "reject");
		if (reject != !strcmp(result, "rejected"))
			fail_msg("esp %s -> %s (%s): QEMU %s it, schema diff %s",
				 from, to, machine, result,
				 reject ? "rejects it" : "finds no reject");
		json_decref(out);
		checked++;
	}
	assert_int_equal(checked, 9);
	json_decref(cl);
}

/* schema diff runs between every pair of shipped schemas, both ways. */
static void check_diff_pairs(void **state)
{
	(void)state;
	for (size_t i = 0; i < nschemas; i++)
		for (size_t k = 0; k < nschemas; k++) {
			struct mig_sdiff_opts o = { 0 };
			struct mig_error err;
			json_t *out = NULL;
			size_t n = 0;

			mig_error_clear(&err);
			assert_int_equal(mig_schema_diff(schemas[i], schemas[k],
							 &o, &out, &n, &err), 0);
			/* A schema against itself: nothing. */
			if (i == k)
				assert_int_equal(n, 0);
			else
				assert_true(n > 0);
			json_decref(out);
		}
}

static int load_schemas(void)
{
	static const char *const versions[] = { "5.2", "7.2", "10.0" };
	const char *env = getenv("MIGSTREAM_TEST_SCHEMAS");

	if (env)
		schema_dir = env;
	for (size_t i = 0; i < 3; i++) {
		char path[600];
		struct mig_error err;
		char msg[1024];

		snprintf(path, sizeof(path), "%s/qemu-%s/x86_64.json",
			 schema_dir, versions[i]);
		mig_error_clear(&err);
		if (mig_schema_load(path, &schemas[nschemas], &err)) {
			fprintf(stderr, "%s\n",
				mig_error_format(&err, NULL, msg, sizeof(msg)));
			return -1;
		}
		snprintf(schema_names[nschemas], sizeof(schema_names[0]),
			 "qemu-%s", versions[i]);
		nschemas++;
	}
	return 0;
}

int main(void)
{
	static char names[MAX_CASES][300];
	struct CMUnitTest *tests;
	size_t n = 0;
	int rc;

	if (load_manifest() || !ncases || load_schemas())
		return 2;
	tests = calloc(ncases + 2, sizeof(*tests));
	if (!tests)
		return 2;
	for (size_t i = 0; i < ncases; i++) {
		struct corpus_case *c = &cases[i];

		if (strcmp(c->expect, "complete"))
			continue;
		if (c->has_vmdesc) {
			snprintf(names[n], sizeof(names[n]),
				 "vmdesc = schema %s", c->base);
			tests[n] = (struct CMUnitTest){ names[n], check_roundtrip,
							NULL, NULL, c };
		} else {
			snprintf(names[n], sizeof(names[n]),
				 "no vmdesc, schema %s", c->base);
			tests[n] = (struct CMUnitTest){ names[n], check_novmdesc,
							NULL, NULL, c };
		}
		n++;
	}
	tests[n++] = (struct CMUnitTest){ "esp: schema diff = crossload.json",
					  check_esp_crossload, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "schema diff between shipped schemas",
					  check_diff_pairs, NULL, NULL, NULL };
	rc = _cmocka_run_group_tests("schema-corpus", tests, n, NULL, NULL);
	free(tests);
	for (size_t i = 0; i < nschemas; i++)
		mig_schema_free(schemas[i]);
	return rc;
}
