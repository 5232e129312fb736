/* SPDX-License-Identifier: MIT */
/*
 * fuzz_schema: the schema loader (schema.c, migstream-schema(5)) on a
 * fuzzed schema file, then what is built on a loaded schema: show (the
 * summary and a few descriptions), the lookups, every condition of every
 * field evaluated, and diff of the schema with itself.
 */
#include "migstream/schema.h"
#include "fuzz.h"

/* Descriptions shown, and fields evaluated, per input. */
#define SHOW_MAX 8
#define FIELDS_MAX 4096

static bool field(void *ctx, const char *path, struct mig_val *out)
{
	(void)ctx;
	out->kind = MIG_V_INT;
	out->i = (int64_t)strlen(path);
	return path[0] != 'u';
}

static const struct mig_cond_env env = {
	.has_version = true,
	.version = 3,
	.machine = "pc-q35-7.2",
	.field = field,
};

static void eval(const struct mig_cond *c)
{
	struct mig_val v;
	char *text;

	if (!c)
		return;
	(void)mig_cond_test(c, &env, NULL);
	mig_cond_eval(c, &env, &v);
	text = mig_cond_text(c);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mig_schema *s = NULL;
	struct mig_error err;
	size_t nf = 0, nfind = 0;
	json_t *doc = NULL;

	mig_error_clear(&err);
	if (mig_schema_load_mem((const char *)data, size, "fuzz.json", &s,
				&err)) {
		fuzz_sink_error(&err);
		return 0;
	}
	fuzz_sink_json(mig_schema_show(s, NULL));
	for (size_t i = 0; i < s->nvmsds; i++) {
		const struct mig_svmsd *v = &s->vmsds[i];
		const struct mig_svmsd *found[4];

		if (i < SHOW_MAX)
			fuzz_sink_json(mig_schema_show(s, v->id));
		if (mig_schema_vmsd(s, v->id) != v)
			fuzz_fail(
				"schema_vmsd: a description is not found by its id");
		for (size_t k = 0; k < v->nsections; k++)
			(void)mig_schema_section_vmsds(s, v->sections[k], found,
						       4);
		for (size_t k = 0; k < v->nfields && nf < FIELDS_MAX;
		     k++, nf++) {
			const struct mig_sfield *f = &v->fields[k];

			eval(f->exists);
			eval(f->size);
			eval(f->count);
			eval(f->saved);
			for (size_t o = 0; o < f->nov; o++) {
				eval(f->ov[o].size);
				eval(f->ov[o].count);
			}
		}
		for (size_t k = 0; k < v->nsubs; k++)
			eval(v->subs[k].needed);
	}
	for (size_t i = 0; i < s->nmachines; i++) {
		if (mig_schema_machine(s, s->machines[i].name) == NULL)
			fuzz_fail(
				"schema_machine: a machine type is not found by its name");
		for (size_t k = 0; k < s->machines[i].nprops; k++)
			eval(s->machines[i].props[k].value);
	}
	mig_error_clear(&err);
	if (mig_schema_diff(s, s, NULL, &doc, &nfind, &err))
		fuzz_sink_error(&err);
	fuzz_sink_json(doc);
	mig_schema_free(s);
	return 0;
}
