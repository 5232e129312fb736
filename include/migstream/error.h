/* SPDX-License-Identifier: MIT */
/*
 * Errors: every library function returns 0 or a negative -MIG_E* code and,
 * when given a struct mig_error, fills it with the first failure: the code,
 * the absolute byte offset in the input, the path inside the stream and a
 * lower-case message without a full stop.  Names quoted from the input
 * are shown with every byte outside printable ASCII (escape sequences,
 * newlines, bytes that are not UTF-8) as '?'.
 */
#ifndef MIGSTREAM_ERROR_H
#define MIGSTREAM_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum mig_errcode {
	MIG_OK = 0,
	MIG_ETRUNC = 1,		/* input ends before the record/field does */
	MIG_EMAGIC = 2,		/* not a migration stream */
	MIG_EVERSION = 3,	/* unsupported file version */
	MIG_ERECORD = 4,	/* unknown record type byte */
	MIG_EFOOTER = 5,	/* section footer missing or with another id */
	MIG_ESECTION = 6,	/* bad section header or unknown section id */
	MIG_ECMD = 7,		/* unknown command or bad command length */
	MIG_ERAM = 8,		/* malformed RAM record */
	MIG_EVMDESC = 9,	/* vmdesc JSON malformed or inconsistent */
	MIG_EDECODE = 10,	/* payload does not match its description */
	MIG_ECONFIG = 11,	/* malformed configuration record */
	MIG_ELIMIT = 12,	/* a documented limit was exceeded */
	MIG_ENOMEM = 13,	/* out of memory */
	MIG_EIO = 14,		/* read or write failed */
	MIG_EINVAL = 15,	/* bad argument from the caller */
	MIG_EUNSUP = 16,	/* valid, but not supported by this version */
};

#define MIG_PATH_MAX 256
#define MIG_MSG_MAX 512

/* Offset value meaning "no position in the input". */
#define MIG_NO_OFFSET UINT64_MAX

struct mig_error {
	int code;		/* positive enum mig_errcode, 0 when unset */
	uint64_t offset;	/* absolute input offset, or MIG_NO_OFFSET */
	char path[MIG_PATH_MAX];	/* "section 'cpu' (id 3) field 'x'" */
	char msg[MIG_MSG_MAX];
};

/* Clears @err (no-op for NULL). */
void mig_error_clear(struct mig_error *err);

/*
 * Records an error unless @err already holds one (the first error wins).
 * Returns -code so callers can write "return mig_error_set(...)".
 */
int mig_error_set(struct mig_error *err, int code, uint64_t offset,
		  const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Prefixes @err's path with "@fmt" (joined with a space), for callers that
 * learn the context after the callee failed.  No-op when @err is NULL or
 * holds no error.
 */
void mig_error_push_path(struct mig_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Short name of an error code ("truncated", "bad magic", ...). */
const char *mig_strerror(int code);

/*
 * Formats "FILE: offset 0xN: PATH: MSG" into @buf (offset and path left out
 * when unknown).  Returns @buf.
 */
char *mig_error_format(const struct mig_error *err, const char *file,
		       char *buf, size_t len);

#endif
