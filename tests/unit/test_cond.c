/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for cond.c: every operator of the condition language in the
 * three values, the environment lookups, and compile errors with their
 * line and column (man/migstream-schema.5, CONDITIONS).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "migstream/schema.h"

/* An environment with two fields, two properties and one capability. */
static bool env_field(void *ctx, const char *path, struct mig_val *out)
{
	(void)ctx;
	if (!strcmp(path, "mig_version_id")) {
		out->kind = MIG_V_INT;
		out->i = 6;
		return true;
	}
	if (!strcmp(path, "flags")) {
		out->kind = MIG_V_INT;
		out->i = 0x14;
		return true;
	}
	return false;
}

static bool env_prop(void *ctx, const char *name, struct mig_val *out)
{
	(void)ctx;
	if (!strcmp(name, "pcie")) {
		out->kind = MIG_V_INT;
		out->i = 1;
		return true;
	}
	if (!strcmp(name, "model")) {
		out->kind = MIG_V_STR;
		out->s = "82540EM";
		return true;
	}
	if (!strcmp(name, "vague")) {
		out->kind = MIG_V_UNKNOWN;
		out->why = "vague on purpose";
		return true;
	}
	return false;
}

static bool env_mprop(void *ctx, const char *name, struct mig_val *out)
{
	(void)ctx;
	if (!strcmp(name, "smbus_no_migration_support")) {
		out->kind = MIG_V_INT;
		out->i = 0;
		return true;
	}
	return false;
}

static bool env_cap(void *ctx, const char *name, struct mig_val *out)
{
	(void)ctx;
	out->kind = MIG_V_INT;
	out->i = !strcmp(name, "x-ignore-shared");
	return true;
}

static const struct mig_cond_env env = {
	.has_version = true,
	.version = 7,
	.machine = "pc-q35-5.2",
	.section = "0000:00:01.0/pciespscsi",
	.has_instance = true,
	.instance = 1,
	.field = env_field,
	.prop = env_prop,
	.machine_prop = env_mprop,
	.cap = env_cap,
};

static struct mig_cond *compile(const char *text)
{
	struct mig_cond *c = NULL;
	struct mig_error err;

	mig_error_clear(&err);
	if (mig_cond_parse(text, strlen(text), "t.json", &c, &err))
		fail_msg("%s: %s", text, err.msg);
	return c;
}

static enum mig_tv test_env(const char *text, const struct mig_cond_env *e)
{
	struct mig_cond *c = compile(text);
	enum mig_tv t = mig_cond_test(c, e, NULL);

	mig_cond_free(c);
	return t;
}

static enum mig_tv tv(const char *text)
{
	return test_env(text, &env);
}

static int64_t ival(const char *text)
{
	struct mig_cond *c = compile(text);
	struct mig_val v;

	mig_cond_eval(c, &env, &v);
	mig_cond_free(c);
	if (v.kind != MIG_V_INT)
		fail_msg("%s: not an integer", text);
	return v.i;
}

static bool is_unknown(const char *text)
{
	struct mig_cond *c = compile(text);
	struct mig_val v;

	mig_cond_eval(c, &env, &v);
	mig_cond_free(c);
	return v.kind == MIG_V_UNKNOWN;
}

/* Compiling @text fails with @msg at @line:@col. */
static void bad(const char *text, int line, int col, const char *msg)
{
	struct mig_cond *c = NULL;
	struct mig_error err;
	char want[200];

	mig_error_clear(&err);
	assert_int_equal(mig_cond_parse(text, strlen(text), "t.json", &c, &err),
			 -MIG_EINVAL);
	assert_null(c);
	assert_int_equal(err.code, MIG_EINVAL);
	snprintf(want, sizeof(want), "t.json:%d:%d: %s", line, col, msg);
	assert_string_equal(err.msg, want);
}

static void test_literals(void **state)
{
	(void)state;
	assert_int_equal(tv("true"), MIG_TV_TRUE);
	assert_int_equal(tv("false"), MIG_TV_FALSE);
	assert_int_equal(tv("0"), MIG_TV_FALSE);
	assert_int_equal(tv("42"), MIG_TV_TRUE);
	/* A string is not a truth value. */
	assert_int_equal(tv("\"yes\""), MIG_TV_UNKNOWN);
	assert_int_equal(tv("{\"unknown\": \"not curated\"}"), MIG_TV_UNKNOWN);
	assert_int_equal(ival("-5"), -5);
}

static void test_terms(void **state)
{
	(void)state;
	assert_int_equal(ival("{\"field\": \"mig_version_id\"}"), 6);
	assert_true(is_unknown("{\"field\": \"nosuch\"}"));
	assert_int_equal(ival("{\"field\": \"nosuch\", \"default\": 3}"), 3);
	/* A known value wins over the default. */
	assert_int_equal(ival("{\"field\": \"mig_version_id\", \"default\": 0}"), 6);
	assert_int_equal(tv("{\"prop\": \"pcie\"}"), MIG_TV_TRUE);
	assert_true(is_unknown("{\"prop\": \"vague\"}"));
	assert_int_equal(ival("{\"prop\": \"vague\", \"default\": 9}"), 9);
	assert_true(is_unknown("{\"prop\": \"nosuch\"}"));
	assert_int_equal(tv("{\"machine_prop\": \"smbus_no_migration_support\"}"),
			 MIG_TV_FALSE);
	assert_int_equal(ival("{\"machine_prop\": \"nosuch\", \"default\": 1}"), 1);
	assert_int_equal(tv("{\"cap\": \"x-ignore-shared\"}"), MIG_TV_TRUE);
	assert_int_equal(tv("{\"cap\": \"mapped-ram\"}"), MIG_TV_FALSE);
	assert_int_equal(ival("{\"var\": \"version\"}"), 7);
	assert_int_equal(ival("{\"var\": \"machine_version\"}"), 502);
	assert_int_equal(ival("{\"var\": \"instance\"}"), 1);
	assert_int_equal(tv("{\"eq\": [{\"var\": \"machine\"}, \"pc-q35-5.2\"]}"),
			 MIG_TV_TRUE);
	assert_int_equal(tv("{\"match\": [{\"var\": \"section\"}, \"*/pciespscsi\"]}"),
			 MIG_TV_TRUE);
}

static void test_no_env(void **state)
{
	static const struct mig_cond_env none;

	(void)state;
	/* Nothing known: every term is unknown, literals still decide. */
	assert_int_equal(test_env("{\"var\": \"version\"}", &none), MIG_TV_UNKNOWN);
	assert_int_equal(test_env("{\"field\": \"x\"}", &none), MIG_TV_UNKNOWN);
	assert_int_equal(test_env("{\"prop\": \"x\"}", &none), MIG_TV_UNKNOWN);
	assert_int_equal(test_env("{\"cap\": \"x\"}", &none), MIG_TV_UNKNOWN);
	assert_int_equal(test_env("{\"var\": \"machine_version\"}", &none),
			 MIG_TV_UNKNOWN);
	assert_int_equal(test_env("{\"and\": [{\"field\": \"x\"}, false]}", &none),
			 MIG_TV_FALSE);
	assert_int_equal(test_env("{\"or\": [{\"field\": \"x\"}, true]}", &none),
			 MIG_TV_TRUE);
	assert_int_equal(test_env("{\"field\": \"x\", \"default\": 0}", &none),
			 MIG_TV_FALSE);
}

/* Kleene's truth tables, with U for unknown. */
static void test_logic(void **state)
{
	static const char *const v[] = {
		"false", "true", "{\"unknown\": \"u\"}",
	};
	/* and / or of (a, b) for a, b in F, T, U */
	static const enum mig_tv and_t[3][3] = {
		{ MIG_TV_FALSE, MIG_TV_FALSE, MIG_TV_FALSE },
		{ MIG_TV_FALSE, MIG_TV_TRUE, MIG_TV_UNKNOWN },
		{ MIG_TV_FALSE, MIG_TV_UNKNOWN, MIG_TV_UNKNOWN },
	};
	static const enum mig_tv or_t[3][3] = {
		{ MIG_TV_FALSE, MIG_TV_TRUE, MIG_TV_UNKNOWN },
		{ MIG_TV_TRUE, MIG_TV_TRUE, MIG_TV_TRUE },
		{ MIG_TV_UNKNOWN, MIG_TV_TRUE, MIG_TV_UNKNOWN },
	};
	char buf[200];

	(void)state;
	for (int a = 0; a < 3; a++) {
		for (int b = 0; b < 3; b++) {
			snprintf(buf, sizeof(buf), "{\"and\": [%s, %s]}", v[a], v[b]);
			assert_int_equal(tv(buf), and_t[a][b]);
			snprintf(buf, sizeof(buf), "{\"or\": [%s, %s]}", v[a], v[b]);
			assert_int_equal(tv(buf), or_t[a][b]);
		}
	}
	assert_int_equal(tv("{\"not\": true}"), MIG_TV_FALSE);
	assert_int_equal(tv("{\"not\": 0}"), MIG_TV_TRUE);
	assert_int_equal(tv("{\"not\": {\"unknown\": \"u\"}}"), MIG_TV_UNKNOWN);
	assert_int_equal(tv("{\"and\": [true, true, true]}"), MIG_TV_TRUE);
	assert_int_equal(tv("{\"or\": [false, false, 3]}"), MIG_TV_TRUE);
	/* if: the branch, or the common value when the test is unknown. */
	assert_int_equal(ival("{\"if\": [true, 4096, 256]}"), 4096);
	assert_int_equal(ival("{\"if\": [{\"prop\": \"pcie\"}, 4096, 256]}"), 4096);
	assert_int_equal(ival("{\"if\": [false, 4096, 256]}"), 256);
	assert_true(is_unknown("{\"if\": [{\"unknown\": \"u\"}, 4096, 256]}"));
	assert_int_equal(ival("{\"if\": [{\"unknown\": \"u\"}, 16, 16]}"), 16);
}

static void test_compare(void **state)
{
	(void)state;
	assert_int_equal(tv("{\"eq\": [1, 1]}"), MIG_TV_TRUE);
	assert_int_equal(tv("{\"ne\": [1, 1]}"), MIG_TV_FALSE);
	assert_int_equal(tv("{\"lt\": [1, 2]}"), MIG_TV_TRUE);
	assert_int_equal(tv("{\"le\": [2, 2]}"), MIG_TV_TRUE);
	assert_int_equal(tv("{\"gt\": [2, 2]}"), MIG_TV_FALSE);
	assert_int_equal(tv("{\"ge\": [-1, 2]}"), MIG_TV_FALSE);
	assert_int_equal(tv("{\"eq\": [\"a\", \"a\"]}"), MIG_TV_TRUE);
	assert_int_equal(tv("{\"lt\": [\"a\", \"b\"]}"), MIG_TV_TRUE);
	/* Different kinds are never equal, and cannot be ordered. */
	assert_int_equal(tv("{\"eq\": [\"1\", 1]}"), MIG_TV_FALSE);
	assert_int_equal(tv("{\"ne\": [\"1\", 1]}"), MIG_TV_TRUE);
	assert_int_equal(tv("{\"lt\": [\"1\", 1]}"), MIG_TV_UNKNOWN);
	assert_int_equal(tv("{\"eq\": [{\"unknown\": \"u\"}, 1]}"), MIG_TV_UNKNOWN);
	assert_int_equal(tv("{\"ge\": [{\"field\": \"nosuch\"}, 1]}"),
			 MIG_TV_UNKNOWN);
	assert_int_equal(tv("{\"in\": [{\"prop\": \"model\"}, [\"82540EM\", \"82544GC\"]]}"),
			 MIG_TV_TRUE);
	assert_int_equal(tv("{\"in\": [3, [1, 2]]}"), MIG_TV_FALSE);
	assert_int_equal(tv("{\"in\": [{\"unknown\": \"u\"}, [1]]}"), MIG_TV_UNKNOWN);
	assert_int_equal(tv("{\"match\": [\"pc-i440fx-7.2\", \"pc-q35-*\"]}"),
			 MIG_TV_FALSE);
	assert_int_equal(tv("{\"match\": [1, \"*\"]}"), MIG_TV_UNKNOWN);
	/* The ESP test of QEMU 7.2: MIN(version_id, mig_version_id) >= 5. */
	assert_int_equal(tv("{\"ge\": [{\"min\": [{\"var\": \"version\"}, {\"field\": \"mig_version_id\"}]}, 5]}"),
			 MIG_TV_TRUE);
}

static void test_arith(void **state)
{
	(void)state;
	assert_int_equal(ival("{\"min\": [7, 3, 5]}"), 3);
	assert_int_equal(ival("{\"max\": [7, 3, 5]}"), 7);
	assert_int_equal(ival("{\"add\": [1, 2, 3]}"), 6);
	assert_int_equal(ival("{\"mul\": [16, 5]}"), 80);
	assert_int_equal(ival("{\"sub\": [10, 4]}"), 6);
	assert_int_equal(ival("{\"div\": [81, 8]}"), 10);
	assert_int_equal(ival("{\"band\": [{\"field\": \"flags\"}, 4]}"), 4);
	/* msix state: 16 bytes per vector and a bit per vector, rounded up */
	assert_int_equal(ival("{\"add\": [{\"mul\": [16, 5]}, {\"div\": [{\"add\": [5, 7]}, 8]}]}"),
			 81);
	assert_true(is_unknown("{\"div\": [1, 0]}"));
	assert_true(is_unknown("{\"mul\": [9223372036854775807, 2]}"));
	assert_true(is_unknown("{\"add\": [1, {\"unknown\": \"u\"}]}"));
	assert_true(is_unknown("{\"add\": [1, \"x\"]}"));
}

static void test_errors(void **state)
{
	(void)state;
	bad("{\"nope\": 1}", 1, 2, "unknown operator 'nope'");
	bad("{\"not\": true, \"and\": [true]}", 1, 15,
	    "expression has a second operator 'and' (after 'not')");
	bad("{}", 1, 1, "expression object without an operator");
	bad("{\"eq\": [1]}", 1, 8, "'eq' takes 2 operands, not 1");
	bad("{\"and\": []}", 1, 9, "'and' takes at least one operand");
	bad("{\"and\": 1}", 1, 9, "'and' takes an array of expressions");
	bad("{\"var\": \"colour\"}", 1, 9,
	    "unknown variable 'colour' (version, machine, machine_version, section, instance)");
	bad("{\"field\": 3}", 1, 11, "'field' takes a non-empty string");
	bad("{\"not\": true, \"default\": 1}", 1, 15,
	    "'default' is only for field, prop and machine_prop");
	bad("{\"field\": \"x\", \"default\": {\"var\": \"version\"}}", 1, 27,
	    "'default' takes a literal");
	bad("{\"in\": [1, 2]}", 1, 12, "'in' takes an array of literals");
	bad("{\"in\": [1, [{\"var\": \"version\"}]]}", 1, 13,
	    "'in' takes an array of literals");
	bad("{\"match\": [1, 2]}", 1, 15, "'match' takes a glob string");
	bad("[1]", 1, 1,
	    "an expression is an integer, a boolean, a string or an object with one operator, not an array");
	bad("null", 1, 1,
	    "an expression is an integer, a boolean, a string or an object with one operator, not null");
	/* JSON errors keep their place, on the right line. */
	bad("{\"and\": [true,\n   tru]}", 2, 4, "bad JSON: bad literal");
	bad("{\"a\": 1, \"a\": 2}", 1, 10, "bad JSON: duplicate key 'a'");
	bad("{\"eq\": [1, 2]", 1, 14, "bad JSON: unterminated object");
	/* Strings are UTF-8 (jansson, which writes them back, insists):
	 * a stray byte, an overlong form, a surrogate, a cut sequence. */
	bad("\"lear\xeet\"", 1, 6, "bad JSON: string is not UTF-8");
	bad("\"\xc0\xaf\"", 1, 2, "bad JSON: string is not UTF-8");
	bad("\"\xed\xa0\x80\"", 1, 2, "bad JSON: string is not UTF-8");
	bad("\"ab\xe2\x82\"", 1, 4, "bad JSON: string is not UTF-8");
	bad("\"\xf4\x90\x80\x80\"", 1, 2, "bad JSON: string is not UTF-8");
}

/*
 * Duplicate keys in a large object (the keys are hashed from 16 on): the
 * first repeat is found, at its place, and every key is compared.
 */
static void test_many_keys(void **state)
{
	enum { N = 50000 };
	size_t cap = (size_t)N * 16 + 64, len = 0;
	char *text = malloc(cap);
	int col;

	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "{");
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s\"k%d\": 0",
					i ? ", " : "", i);
	/* A repeat of an early key and of a late one, the early one last. */
	len += (size_t)snprintf(text + len, cap - len, ", \"k%d\": 1", N - 1);
	col = (int)len - 6 - (int)strlen("49999") + 1;
	len += (size_t)snprintf(text + len, cap - len, ", \"k3\": 1}");
	{
		char msg[64];

		snprintf(msg, sizeof(msg), "bad JSON: duplicate key 'k%d'", N - 1);
		bad(text, 1, col, msg);
	}
	free(text);
}

static void test_text_json(void **state)
{
	static const char *const in[] = {
		"{\"ge\": [{\"min\": [{\"var\": \"version\"}, {\"field\": \"mig_version_id\", \"default\": 0}]}, 5]}",
		"{\"and\": [{\"prop\": \"pcie\"}, {\"not\": {\"cap\": \"x-ignore-shared\"}}]}",
		"{\"in\": [{\"var\": \"machine\"}, [\"pc\", \"q35\"]]}",
		/* Text beyond ASCII, raw and escaped, comes back unchanged. */
		"{\"eq\": [{\"var\": \"machine\"}, \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7 \\u00e9\"]}",
	};
	static const char *const text[] = {
		"min(version, field 'mig_version_id' (else 0)) >= 5",
		"prop 'pcie' and not capability 'x-ignore-shared'",
		"machine in [\"pc\", \"q35\"]",
		"machine == \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7 \xc3\xa9\"",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct mig_cond *c = compile(in[i]), *again = NULL;
		char *t = mig_cond_text(c);
		json_t *j = mig_cond_json(c);
		json_t *want = json_loads(in[i], 0, NULL);
		struct mig_error err;

		assert_string_equal(t, text[i]);
		assert_true(json_equal(j, want));
		mig_error_clear(&err);
		assert_int_equal(mig_cond_from_json(j, &again, &err), 0);
		assert_int_equal(mig_cond_test(again, &env, NULL),
				 mig_cond_test(c, &env, NULL));
		free(t);
		json_decref(j);
		json_decref(want);
		mig_cond_free(c);
		mig_cond_free(again);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_terms),
		cmocka_unit_test(test_no_env),
		cmocka_unit_test(test_logic),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_arith),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_text_json),
	};

	return cmocka_run_group_tests_name("cond", tests, NULL, NULL);
}
