/* SPDX-License-Identifier: MIT */
/* Error records: the first failure wins, later ones are dropped. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "migstream/error.h"

/*
 * Messages quote names taken from the input (RAM blocks, subsections,
 * vmdesc fields) and end up on terminals and in JSON: a byte outside
 * printable ASCII there (an escape sequence, a newline, bytes that are
 * not UTF-8, which JSON strings cannot hold) is shown as '?'.
 */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

void mig_error_clear(struct mig_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->offset = MIG_NO_OFFSET;
	err->path[0] = '\0';
	err->msg[0] = '\0';
}

int mig_error_set(struct mig_error *err, int code, uint64_t offset,
		  const char *fmt, ...)
{
	va_list ap;

	if (code == INT_MIN)
		code = MIG_EINVAL;
	if (code < 0)
		code = -code;
	if (!err || err->code)
		return -code;
	err->code = code;
	err->offset = offset;
	err->path[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	printable(err->msg);
	return -code;
}

void mig_error_push_path(struct mig_error *err, const char *fmt, ...)
{
	char head[MIG_PATH_MAX];
	char old[MIG_PATH_MAX];
	va_list ap;

	if (!err || !err->code)
		return;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->path, sizeof(old));
	if (old[0])
		snprintf(err->path, sizeof(err->path), "%s %s", head, old);
	else
		snprintf(err->path, sizeof(err->path), "%s", head);
	printable(err->path);
}

const char *mig_strerror(int code)
{
	static const char *const names[] = {
		[MIG_OK] = "success",
		[MIG_ETRUNC] = "truncated",
		[MIG_EMAGIC] = "not a migration stream",
		[MIG_EVERSION] = "unsupported stream version",
		[MIG_ERECORD] = "unknown record type",
		[MIG_EFOOTER] = "bad section footer",
		[MIG_ESECTION] = "bad section",
		[MIG_ECMD] = "bad command",
		[MIG_ERAM] = "bad RAM record",
		[MIG_EVMDESC] = "bad vmdesc",
		[MIG_EDECODE] = "payload does not match its description",
		[MIG_ECONFIG] = "bad configuration",
		[MIG_ELIMIT] = "limit exceeded",
		[MIG_ENOMEM] = "out of memory",
		[MIG_EIO] = "I/O error",
		[MIG_EINVAL] = "invalid argument",
		[MIG_EUNSUP] = "not supported",
	};

	/* -INT_MIN does not exist: compare before negating. */
	if (code < 0 && code < -(int)(sizeof(names) / sizeof(names[0])))
		return "unknown error";
	if (code < 0)
		code = -code;
	if ((size_t)code >= sizeof(names) / sizeof(names[0]) || !names[code])
		return "unknown error";
	return names[code];
}

char *mig_error_format(const struct mig_error *err, const char *file,
		       char *buf, size_t len)
{
	size_t n = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (file)
		n += snprintf(buf + n, len - n, "%s: ", file);
	if (n < len && err->offset != MIG_NO_OFFSET)
		n += snprintf(buf + n, len - n, "offset 0x%llx: ",
			      (unsigned long long)err->offset);
	if (n < len && err->path[0])
		n += snprintf(buf + n, len - n, "%s: ", err->path);
	if (n < len)
		snprintf(buf + n, len - n, "%s",
			 err->msg[0] ? err->msg : mig_strerror(err->code));
	/* Paths may also be written by their producers directly. */
	printable(buf);
	return buf;
}
