/* SPDX-License-Identifier: MIT */
/*
 * fuzz_validate: `validate` and `downgrade` on a fuzzed stream, with the
 * schemas of schemas/ (or of $MIGSTREAM_FUZZ_SCHEMAS), loaded once.  The
 * stream is parsed with the schemas (as every command does: they decode
 * what the vmdesc does not describe) and validated against every target;
 * each report is serialised and every finding must keep its message.
 * When the stream was read to its end it is downgraded to each target: a
 * plan without blockers is written to memory, and what it wrote must read
 * back as a stream the target loads (migstream-downgrade(1)'s promise).
 */
#include "migstream/check.h"
#include "migstream/encode.h"
#include "migstream/rewrite.h"
#include "migstream/schema.h"
#include "fuzz.h"

#define SCHEMAS_MAX 8

static struct mig_schema *schemas[SCHEMAS_MAX];
static size_t nschemas;

static void free_schemas(void)
{
	for (size_t i = 0; i < nschemas; i++)
		mig_schema_free(schemas[i]);
	nschemas = 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("MIGSTREAM_FUZZ_SCHEMAS");
	const char *dirs[1];
	struct mig_error err;
	char **names = NULL;
	size_t n = 0;

	(void)argc;
	(void)argv;
	dirs[0] = dir && *dir ? dir : "schemas";
	mig_error_clear(&err);
	if (mig_schema_list(NULL, dirs, 1, &names, &n, &err) || !n) {
		fprintf(stderr,
			"fuzz_validate: no schemas in '%s' (run from the top of the tree, or set MIGSTREAM_FUZZ_SCHEMAS)\n",
			dirs[0]);
		abort();
	}
	for (size_t i = 0; i < n; i++) {
		if (nschemas < SCHEMAS_MAX &&
		    !mig_schema_open(names[i], NULL, dirs, 1,
				     &schemas[nschemas], &err))
			nschemas++;
		free(names[i]);
	}
	free(names);
	atexit(free_schemas);
	return 0;
}

/* Downgrades @s to @t; checks that a written plan loads there. */
static void downgrade(const struct mig_stream *s, struct mig_reader *r,
		      const struct mig_schema *t)
{
	struct mig_downgrade_opts o;
	struct mig_downgrade *d = NULL;
	struct mig_writer *w = NULL;
	struct mig_reader *back = NULL;
	struct mig_stream *bs = NULL;
	struct mig_error err;
	const uint8_t *out;
	char why[512] = "";
	bool loads = false;
	size_t len;

	mig_downgrade_opts_init(&o);
	o.target = t;
	o.schemas = (const struct mig_schema *const *)schemas;
	o.nschemas = nschemas;
	mig_error_clear(&err);
	if (mig_downgrade_plan(s, r, &o, NULL, &d, &err)) {
		fuzz_sink_error(&err);
		return;
	}
	fuzz_sink_json(mig_downgrade_json(d, "in.mig", "out.mig", false));
	if (d->nblockers || !d->changed)
		goto out_free_plan;
	if (mig_writer_mem(&w, &err))
		goto out_free_plan;
	if (mig_rewrite_write(d->rw, r, w, &err)) {
		fuzz_sink_error(&err);
		goto out_abort;
	}
	out = mig_writer_mem_data(w, &len);
	if (mig_reader_from_mem(&back, out, len, "out.mig", &err))
		goto out_abort;
	if (mig_stream_read(back, NULL, &bs, &err)) {
		fprintf(stderr, "%s: ", t->name);
		fuzz_sink_error(&err);
		fuzz_fail(
			"downgrade: the output of a plan without blockers does not read back");
	}
	mig_error_clear(&err);
	if (!mig_downgrade_verify(bs, back, &o, &loads, why, sizeof(why),
				  &err) &&
	    !loads) {
		fprintf(stderr, "%s: %s\n", t->name, why);
		fuzz_fail(
			"downgrade: the target would refuse the output of a plan without blockers");
	}
	mig_stream_free(bs);
	mig_reader_free(back);
out_abort:
	mig_writer_abort(w);
out_free_plan:
	mig_downgrade_free(d);
}

/*
 * Every finding has a message, and the JSON of the report keeps it (a
 * text that is not UTF-8 would be dropped there: the command printing
 * the report then had none to print).
 */
static void check_report(const struct mig_report *rep)
{
	json_t *j = mig_report_json(rep);
	json_t *fs = json_object_get(j, "findings"), *f;
	size_t i;

	for (i = 0; i < rep->nfindings; i++)
		if (!rep->findings[i].message)
			fuzz_fail("validate: a finding without a message");
	json_array_foreach(fs, i, f)
		if (!json_is_string(json_object_get(f, "message")))
			fuzz_fail(
				"validate: a finding's message is lost in its JSON");
	fuzz_sink_json(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mig_parse_opts popts = { 0 };
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	struct mig_error perr, err;
	int ret;

	if (!nschemas)
		LLVMFuzzerInitialize(NULL, NULL);
	mig_error_clear(&perr);
	if (mig_reader_from_mem(&r, data, size, "fuzz.mig", &perr))
		return 0;
	popts.schemas = (const struct mig_schema *const *)schemas;
	popts.nschemas = nschemas;
	ret = mig_stream_read(r, &popts, &s, &perr);
	if (ret)
		fuzz_sink_error(&perr);
	if (!s)
		goto out_free_reader;
	for (size_t i = 0; i < nschemas; i++) {
		struct mig_validate_opts vo;
		struct mig_report *rep = NULL;

		mig_validate_opts_init(&vo);
		mig_error_clear(&err);
		if (mig_validate(r, s, ret, &perr, schemas[i], &vo, &rep,
				 &err)) {
			fuzz_sink_error(&err);
			continue;
		}
		check_report(rep);
		mig_report_free(rep);
	}
	if (!ret)
		for (size_t i = 0; i < nschemas; i++)
			downgrade(s, r, schemas[i]);
	mig_stream_free(s);
out_free_reader:
	mig_reader_free(r);
	return 0;
}
