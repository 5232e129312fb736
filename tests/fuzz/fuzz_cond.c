/* SPDX-License-Identifier: MIT */
/*
 * fuzz_cond: the condition and value expressions of schemas (cond.c).
 * The input is one expression as JSON text.  It is compiled, tested as a
 * condition and evaluated as a value against an environment whose fields,
 * properties and capabilities answer from a hash of their name (known or
 * not, integer or string), then printed as text and as JSON; the JSON
 * compiled again must print the same text.
 */
#include "migstream/schema.h"
#include "fuzz.h"

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* A value for @name: unknown, an integer or a string, by its hash. */
static bool answer(const char *name, struct mig_val *out)
{
	uint32_t h = hash(name);

	switch (h % 4) {
	case 0:
		return false;
	case 1:
		out->kind = MIG_V_STR;
		out->s = h & 16 ? "on" : "pc-q35-7.2";
		return true;
	default:
		out->kind = MIG_V_INT;
		out->i = (int64_t)(h >> 8) - (1 << 23);
		return true;
	}
}

static bool field(void *ctx, const char *path, struct mig_val *out)
{
	(void)ctx;
	return answer(path, out);
}

static bool prop(void *ctx, const char *name, struct mig_val *out)
{
	(void)ctx;
	return answer(name, out);
}

static bool cap(void *ctx, const char *name, struct mig_val *out)
{
	(void)ctx;
	out->kind = MIG_V_INT;
	out->i = hash(name) & 1;
	return true;
}

static const struct mig_cond_env env = {
	.has_version = true,
	.version = 5,
	.machine = "pc-q35-7.2",
	.section = "cpu",
	.has_instance = true,
	.instance = 0,
	.field = field,
	.prop = prop,
	.machine_prop = prop,
	.cap = cap,
};

/* A second environment where nothing is known. */
static const struct mig_cond_env empty;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mig_cond *c = NULL, *again = NULL;
	struct mig_error err;
	struct mig_val v;
	const char *why = NULL;
	char *text, *text2;
	json_t *j;
	int64_t k;

	mig_error_clear(&err);
	if (mig_cond_parse((const char *)data, size, "fuzz.json", &c, &err)) {
		fuzz_sink_error(&err);
		return 0;
	}
	if (mig_cond_test(c, &env, &why) > MIG_TV_UNKNOWN)
		fuzz_fail("cond_test: not a truth value");
	(void)mig_cond_test(c, &empty, &why);
	mig_cond_eval(c, &env, &v);
	if (v.kind == MIG_V_STR && !v.s)
		fuzz_fail("cond_eval: a string value without text");
	mig_cond_eval(c, &empty, &v);
	(void)mig_cond_const_int(c, &k);
	(void)mig_cond_is_unknown(c);
	text = mig_cond_text(c);
	j = mig_cond_json(c);
	/* Whatever compiles can be written as JSON again (jansson refuses
	 * strings that are not UTF-8, so the parser must refuse them too). */
	if (!j && text)
		fuzz_fail("cond_json: a compiled expression has no JSON");
	if (j && text) {
		mig_error_clear(&err);
		if (mig_cond_from_json(j, &again, &err)) {
			fprintf(stderr, "%s\n", text);
			fuzz_fail(
				"cond_json: the JSON of an expression does not compile");
		}
		text2 = mig_cond_text(again);
		if (text2 && strcmp(text, text2)) {
			fprintf(stderr, "%s\n%s\n", text, text2);
			fuzz_fail(
				"cond_json: compiled again, it reads otherwise");
		}
		free(text2);
		mig_cond_free(again);
	}
	json_decref(j);
	free(text);
	mig_cond_free(c);
	return 0;
}
