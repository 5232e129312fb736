/* SPDX-License-Identifier: MIT */
/* Unit tests for error.c: struct mig_error, its formatting and names. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "migstream/error.h"

static void clear_resets_every_field(void **state)
{
	struct mig_error err;

	(void)state;
	memset(&err, 0x5a, sizeof(err));
	mig_error_clear(&err);
	assert_int_equal(err.code, 0);
	assert_true(err.offset == MIG_NO_OFFSET);
	assert_string_equal(err.path, "");
	assert_string_equal(err.msg, "");
	mig_error_clear(NULL);	/* no-op, must not crash */
}

static void set_fills_code_offset_and_message(void **state)
{
	struct mig_error err;
	int ret;

	(void)state;
	mig_error_clear(&err);
	ret = mig_error_set(&err, MIG_ERAM, 0x1a3f, "block '%s' of %d", "pc.ram",
			    7);
	assert_int_equal(ret, -MIG_ERAM);
	assert_int_equal(err.code, MIG_ERAM);
	assert_true(err.offset == 0x1a3f);
	assert_string_equal(err.msg, "block 'pc.ram' of 7");
	assert_string_equal(err.path, "");
}

static void set_accepts_a_negative_code(void **state)
{
	struct mig_error err;

	(void)state;
	mig_error_clear(&err);
	assert_int_equal(mig_error_set(&err, -MIG_ETRUNC, 3, "x"), -MIG_ETRUNC);
	assert_int_equal(err.code, MIG_ETRUNC);
}

static void set_with_null_error_returns_the_code(void **state)
{
	(void)state;
	assert_int_equal(mig_error_set(NULL, MIG_ECMD, 0, "ignored"),
			 -MIG_ECMD);
}

static void first_error_wins(void **state)
{
	struct mig_error err;
	int ret;

	(void)state;
	mig_error_clear(&err);
	mig_error_set(&err, MIG_ETRUNC, 10, "first");
	mig_error_push_path(&err, "section 'a'");
	ret = mig_error_set(&err, MIG_EFOOTER, 20, "second");
	/* The return value is the new code, the record keeps the first. */
	assert_int_equal(ret, -MIG_EFOOTER);
	assert_int_equal(err.code, MIG_ETRUNC);
	assert_true(err.offset == 10);
	assert_string_equal(err.msg, "first");
	assert_string_equal(err.path, "section 'a'");
}

static void set_truncates_a_long_message(void **state)
{
	struct mig_error err;
	char big[MIG_MSG_MAX * 2];

	(void)state;
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mig_error_clear(&err);
	mig_error_set(&err, MIG_EIO, 0, "%s", big);
	assert_int_equal(strlen(err.msg), MIG_MSG_MAX - 1);
}

static void push_path_sets_an_empty_path(void **state)
{
	struct mig_error err;

	(void)state;
	mig_error_clear(&err);
	mig_error_set(&err, MIG_EDECODE, 5, "bad");
	mig_error_push_path(&err, "section '%s' (id %d)", "cpu", 3);
	assert_string_equal(err.path, "section 'cpu' (id 3)");
}

static void push_path_prefixes_with_a_space(void **state)
{
	struct mig_error err;

	(void)state;
	mig_error_clear(&err);
	mig_error_set(&err, MIG_EDECODE, 5, "bad");
	mig_error_push_path(&err, "field 'x'");
	mig_error_push_path(&err, "section 'cpu' (id %d)", 3);
	mig_error_push_path(&err, "configuration");
	assert_string_equal(err.path,
			    "configuration section 'cpu' (id 3) field 'x'");
}

static void push_path_without_error_is_a_noop(void **state)
{
	struct mig_error err;

	(void)state;
	mig_error_clear(&err);
	mig_error_push_path(&err, "section 'a'");
	assert_string_equal(err.path, "");
	mig_error_push_path(NULL, "section 'a'");
}

static void push_path_truncates_to_the_path_size(void **state)
{
	struct mig_error err;
	char big[MIG_PATH_MAX];

	(void)state;
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mig_error_clear(&err);
	mig_error_set(&err, MIG_EDECODE, 0, "x");
	mig_error_push_path(&err, "%s", big);
	mig_error_push_path(&err, "%s", big);
	assert_int_equal(strlen(err.path), MIG_PATH_MAX - 1);
}

static void format_with_file_offset_and_path(void **state)
{
	struct mig_error err;
	char buf[256];

	(void)state;
	mig_error_clear(&err);
	mig_error_set(&err, MIG_ETRUNC, 0x1a3f, "truncated (need 8 bytes, have 1)");
	mig_error_push_path(&err, "section 'cpu' (id 3) field 'env.regs[4]'");
	assert_string_equal(mig_error_format(&err, "s.bin", buf, sizeof(buf)),
			    "s.bin: offset 0x1a3f: section 'cpu' (id 3) field 'env.regs[4]': truncated (need 8 bytes, have 1)");
}

static void format_without_file(void **state)
{
	struct mig_error err;
	char buf[128];

	(void)state;
	mig_error_clear(&err);
	mig_error_set(&err, MIG_EMAGIC, 0, "not a migration stream");
	assert_string_equal(mig_error_format(&err, NULL, buf, sizeof(buf)),
			    "offset 0x0: not a migration stream");
}

static void format_without_offset(void **state)
{
	struct mig_error err;
	char buf[128];

	(void)state;
	mig_error_clear(&err);
	mig_error_set(&err, MIG_EIO, MIG_NO_OFFSET, "cannot open: gone");
	assert_string_equal(mig_error_format(&err, "f", buf, sizeof(buf)),
			    "f: cannot open: gone");
}

static void format_without_path(void **state)
{
	struct mig_error err;
	char buf[128];

	(void)state;
	mig_error_clear(&err);
	mig_error_set(&err, MIG_ERECORD, 0x20, "unknown record type 0x09");
	assert_string_equal(mig_error_format(&err, "f", buf, sizeof(buf)),
			    "f: offset 0x20: unknown record type 0x09");
}

static void format_empty_message_uses_strerror(void **state)
{
	struct mig_error err;
	char buf[128];

	(void)state;
	mig_error_clear(&err);
	err.code = MIG_EFOOTER;
	assert_string_equal(mig_error_format(&err, NULL, buf, sizeof(buf)),
			    "bad section footer");
}

static void format_truncates_to_the_buffer(void **state)
{
	struct mig_error err;
	char buf[12];

	(void)state;
	mig_error_clear(&err);
	mig_error_set(&err, MIG_ETRUNC, 0x1234, "truncated");
	mig_error_push_path(&err, "section 'x'");
	mig_error_format(&err, "file.mig", buf, sizeof(buf));
	assert_string_equal(buf, "file.mig: o");
	/* A zero-length buffer is left alone. */
	buf[0] = 'z';
	mig_error_format(&err, "file.mig", buf, 0);
	assert_int_equal(buf[0], 'z');
}

static void strerror_names_every_code(void **state)
{
	static const struct {
		int code;
		const char *name;
	} names[] = {
		{ MIG_OK, "success" },
		{ MIG_ETRUNC, "truncated" },
		{ MIG_EMAGIC, "not a migration stream" },
		{ MIG_EVERSION, "unsupported stream version" },
		{ MIG_ERECORD, "unknown record type" },
		{ MIG_EFOOTER, "bad section footer" },
		{ MIG_ESECTION, "bad section" },
		{ MIG_ECMD, "bad command" },
		{ MIG_ERAM, "bad RAM record" },
		{ MIG_EVMDESC, "bad vmdesc" },
		{ MIG_EDECODE, "payload does not match its description" },
		{ MIG_ECONFIG, "bad configuration" },
		{ MIG_ELIMIT, "limit exceeded" },
		{ MIG_ENOMEM, "out of memory" },
		{ MIG_EIO, "I/O error" },
		{ MIG_EINVAL, "invalid argument" },
		{ MIG_EUNSUP, "not supported" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_string_equal(mig_strerror(names[i].code), names[i].name);
		/* Return values are negative: the same name. */
		assert_string_equal(mig_strerror(-names[i].code),
				    names[i].name);
	}
}

static void strerror_of_an_unknown_code(void **state)
{
	(void)state;
	assert_string_equal(mig_strerror(MIG_EUNSUP + 1), "unknown error");
	assert_string_equal(mig_strerror(-(MIG_EUNSUP + 1)), "unknown error");
	assert_string_equal(mig_strerror(1000), "unknown error");
	assert_string_equal(mig_strerror(INT_MAX), "unknown error");
}

/*
 * Regression: "code = -code" on INT_MIN is signed overflow; with -O2 gcc
 * dropped the range check after it and read names[INT_MIN] (SIGSEGV).
 */
static void strerror_of_int_min(void **state)
{
	(void)state;
	assert_string_equal(mig_strerror(INT_MIN), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clear_resets_every_field),
		cmocka_unit_test(set_fills_code_offset_and_message),
		cmocka_unit_test(set_accepts_a_negative_code),
		cmocka_unit_test(set_with_null_error_returns_the_code),
		cmocka_unit_test(first_error_wins),
		cmocka_unit_test(set_truncates_a_long_message),
		cmocka_unit_test(push_path_sets_an_empty_path),
		cmocka_unit_test(push_path_prefixes_with_a_space),
		cmocka_unit_test(push_path_without_error_is_a_noop),
		cmocka_unit_test(push_path_truncates_to_the_path_size),
		cmocka_unit_test(format_with_file_offset_and_path),
		cmocka_unit_test(format_without_file),
		cmocka_unit_test(format_without_offset),
		cmocka_unit_test(format_without_path),
		cmocka_unit_test(format_empty_message_uses_strerror),
		cmocka_unit_test(format_truncates_to_the_buffer),
		cmocka_unit_test(strerror_names_every_code),
		cmocka_unit_test(strerror_of_an_unknown_code),
		cmocka_unit_test(strerror_of_int_min),
	};

	return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
