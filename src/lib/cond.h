/* SPDX-License-Identifier: MIT */
/* Conditions, internal: compiling from a positioned JSON value. */
#ifndef MIGSTREAM_COND_H
#define MIGSTREAM_COND_H

#include "migstream/schema.h"
#include "jsonpos.h"

/*
 * Compiles @v; errors name @file and the line and column of the bad part
 * (-MIG_EINVAL), or -MIG_ENOMEM.
 */
int cond_compile(const struct jp_value *v, const char *file,
		 struct mig_cond **out, struct mig_error *err);

/* Sets a "FILE:LINE:COLUMN: MSG" error; returns -MIG_EINVAL. */
int cond_pos_error(struct mig_error *err, const char *file,
		   struct jp_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A new integer literal (conditions built by code, e.g. the importer). */
struct mig_cond *cond_new_int(int64_t v);

#endif
