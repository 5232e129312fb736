/* SPDX-License-Identifier: MIT */
/*
 * What the libFuzzer harnesses in tests/fuzz/ share.  Each harness is one
 * file that defines LLVMFuzzerTestOneInput(); it links either with
 * libFuzzer (clang -fsanitize=fuzzer, `make fuzz`) or with replay.c (any
 * compiler, `make check`), which runs it over files named on the command
 * line, so a crash file reproduces without clang.
 *
 * A harness never prints and never exits: every library error is an
 * ordinary outcome.  A harness aborts only when the library breaks a
 * promise its header makes (an oracle), so that libFuzzer reports it.
 */
#ifndef MIGSTREAM_FUZZ_H
#define MIGSTREAM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "migstream/migstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: called once before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An oracle failed: say which before aborting (stderr is libFuzzer's). */
static inline void fuzz_fail(const char *what)
{
	fprintf(stderr, "migstream fuzz oracle: %s\n", what);
	abort();
}

/* Serialises @j (as the commands print it) and drops it; NULL is fine. */
static inline void fuzz_sink_json(json_t *j)
{
	char *text;

	if (!j)
		return;
	text = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	free(text);
	json_decref(j);
}

/* Formats @err the way the commands do, to run the formatting code. */
static inline void fuzz_sink_error(const struct mig_error *err)
{
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 256];

	mig_error_format(err, "fuzz.mig", msg, sizeof(msg));
	/* Messages go to terminals: one line, no control bytes from the
	 * input (escape sequences, newlines). */
	for (const char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, "message: %s\n", msg);
			fuzz_fail("control byte in an error message");
		}
}

#endif
