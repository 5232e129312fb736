/* SPDX-License-Identifier: MIT */
/*
 * Validate: would QEMU X.Y load this stream?  The stream is read against the
 * target's schema (schema.h) the way the target's loader reads it
 * (migration/savevm.c and vmstate.c): machine type and capabilities at
 * startup, then the configuration record, footers, every section with the
 * target's description of it (versions, fields, _TEST conditions,
 * subsections at any depth, inside opaque virtio state too), commands and
 * RAM records.
 *
 * What can go wrong is a table of named checks, like dtc's checks.c: each
 * has an id, a severity and a one-line reason.  A finding is one check that
 * fired at one place: where (offset, section, path), what the target QEMU
 * itself would print, and a sentence of cause and remedy.
 *
 *   reject  the target refuses the stream
 *   risk    it loads, but state may be wrong or lost, or the outcome
 *           depends on something the stream and schema do not tell
 *   info    worth knowing (what the target must be started with)
 *
 * The stream is parsed once (mig_stream_read); every target is then checked
 * against that parse, re-reading only the device sections (small) through a
 * seekable reader.  Guest RAM is never read again.
 */
#ifndef MIGSTREAM_CHECK_H
#define MIGSTREAM_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "migstream/error.h"
#include "migstream/reader.h"
#include "migstream/schema.h"
#include "migstream/stream.h"

/* Version of the `validate --json` document shape ("migstream_validate"). */
#define MIG_VALIDATE_FORMAT_VERSION 1

enum mig_severity {
	MIG_SEV_INFO,
	MIG_SEV_RISK,
	MIG_SEV_REJECT,
};

/* One row of the check table. */
struct mig_check {
	const char *id;			/* "unknown-subsection" */
	enum mig_severity severity;
	const char *reason;		/* one line, lower case, no full stop */
};

/* The check table, in the order findings of one place are reported. */
const struct mig_check *mig_checks(size_t *n);
/* The check named @id, or NULL. */
const struct mig_check *mig_check_find(const char *id);
/* "reject", "risk", "info". */
const char *mig_severity_name(enum mig_severity sev);

/* Most lines of QEMU output kept for one finding. */
#define MIG_QEMU_LINES 4

struct mig_finding {
	const struct mig_check *check;
	/* Absolute input offset, or MIG_NO_OFFSET (startup checks). */
	uint64_t offset;
	/* The section it is in (NULL for stream-wide findings). */
	char *section;
	uint32_t section_id;
	uint32_t instance;
	/* Where inside the section, in diff.h's path syntax
	 * ("ps2kbd{ps2kbd/command_reply_queue}"); NULL when none. */
	char *path;
	/* What is wrong here, one line. */
	char *message;
	/*
	 * What the target QEMU prints (error_report lines, without the
	 * program name), in order; none when it prints nothing (risk, info)
	 * or when it is not known.  A startup or QMP refusal is what QEMU
	 * prints there ("unsupported machine type", a QMP error).
	 */
	char *qemu[MIG_QEMU_LINES];
	size_t nqemu;
	/* Cause and remedy, plain sentences. */
	char *cause;
};

/* The answer for one stream and one target. */
struct mig_report {
	char *stream;		/* name of the input */
	char *target;		/* schema name, "qemu-7.2" */
	char *qemu;		/* its QEMU version, "7.2" */
	char *machine;		/* machine type checked, NULL when unknown */
	bool loads;		/* no reject finding */
	size_t counts[3];	/* findings by enum mig_severity */
	/* Findings in the order the target meets them: startup first, then
	 * stream order. */
	struct mig_finding *findings;
	size_t nfindings;
	/* The first reject finding (what the target stops at), or NULL. */
	const struct mig_finding *first;
};

/* How the target is started, where it differs from its machine type. */
struct mig_validate_opts {
	/* -machine: the target's machine type (name or alias); NULL: the
	 * one the stream's configuration record names. */
	const char *machine;
	/*
	 * -global migration.send-section-footer / send-configuration and
	 * -machine suppress-vmdesc on the target: -1 the machine type's
	 * default, 0 off, 1 on.  (vmdesc: 1 expects a vmdesc trailer.)
	 */
	int footers;
	int configuration;
	int vmdesc;
	/* Capabilities the source had on that the stream does not record
	 * (as mig_parse_opts.caps); the target needs them too. */
	const char *const *caps;
	size_t ncaps;
};

/* Defaults: everything as the target's machine type says. */
void mig_validate_opts_init(struct mig_validate_opts *o);

/*
 * Checks @s, the result of mig_stream_read() on this input, against target
 * schema @t.  @parse_ret and @parse_err are what mig_stream_read()
 * returned: a stream error becomes a finding (truncation, a malformed
 * record) at the place the target meets it.  @r is a seekable reader of
 * the same input (mig_rd_seekable); it is used to read device sections
 * again with the target's descriptions, and left at an unspecified
 * offset.  With @r NULL, sections are checked by name and version only
 * (a risk finding says so).
 *
 * On success *@out is the report (mig_report_free).  Errors: -MIG_ENOMEM,
 * -MIG_EIO (the input could not be read again), -MIG_EINVAL (no @s or @t).
 */
int mig_validate(struct mig_reader *r, const struct mig_stream *s,
		 int parse_ret, const struct mig_error *parse_err,
		 const struct mig_schema *t, const struct mig_validate_opts *o,
		 struct mig_report **out, struct mig_error *err);
void mig_report_free(struct mig_report *rep);

/*
 * The report as JSON (man/migstream-validate.1 documents the shape).  NULL
 * only when out of memory.
 */
json_t *mig_report_json(const struct mig_report *rep);

#endif
