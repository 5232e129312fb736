/* SPDX-License-Identifier: MIT */
/*
 * Validate, internal: the model of the target's loader for one device
 * section (check_load.c) and of the opaque virtio state inside it
 * (check_virtio.c).  check.c turns what they find into findings.
 */
#ifndef MIGSTREAM_CHECK_INT_H
#define MIGSTREAM_CHECK_INT_H

#include "migstream/check.h"

/* One device section, as the target's loader would read it. */
struct tl_section {
	struct mig_reader *r;		/* seekable, the whole input */
	const struct mig_schema *s;	/* the target's schema */
	const struct mig_smachine *machine;	/* NULL when unknown */
	const char *machine_name;
	const char *qemu;		/* the target's version, "7.2" */
	const char *idstr;
	uint32_t instance;
	uint32_t version;		/* from the section header */
	uint32_t section_id;
	uint64_t start;			/* payload, as the stream parser found */
	uint64_t end;			/* it: [start, end) */
	const struct mig_node *src;	/* the source's tree, or NULL */
	const char *const *caps;
	size_t ncaps;
};

enum tl_kind {
	TL_FITS,		/* the target's layout ends where the data does */
	TL_END,			/* it ends elsewhere (.end_at) */
	TL_UNKNOWN_SUB,		/* a subsection the target does not know */
	TL_VERSION_NEW,		/* a version above the target's (.got, .want) */
	TL_VERSION_OLD,		/* a version below the target's minimum */
	TL_TRUNC,		/* the input ends inside the layout */
	TL_MARKER,		/* a marker byte the target refuses */
	TL_UNFRAMED,		/* the model cannot frame a field: no answer */
	TL_NO_VMSD,		/* the schema has no description for it */
};

#define TL_DECIDED_MAX 8
#define TL_CHAIN_MAX 6
#define TL_EQUAL_MAX 8
#define TL_NAME_MAX 200

/* An unknown condition the stream's layout decided. */
struct tl_decided {
	char field[TL_NAME_MAX];	/* path of the field or subsection */
	char cond[TL_NAME_MAX];		/* the condition, readably */
	bool answer;
	uint64_t offset;
};

/* A field the target compares with its own value ("... equal"). */
struct tl_equal {
	char path[TL_NAME_MAX];
	char type[24];
	uint64_t offset;
	uint64_t value;
};

struct tl_outcome {
	enum tl_kind kind;
	uint64_t work;			/* steps spent (MIG_SECTION_WORK_MAX) */
	const struct mig_svmsd *vmsd;	/* the description used */
	bool legacy;			/* an opaque legacy section */
	uint64_t offset;		/* where it failed */
	uint64_t end_at;		/* where the layout ended */
	char path[MIG_PATH_MAX];	/* where, in diff.h's path syntax */
	char name[256];			/* subsection or description name */
	char parent[256];		/* the description it is in */
	uint32_t got, want;		/* versions */
	char why[MIG_MSG_MAX];
	/* The fields being read where it failed, innermost first, as QEMU's
	 * "Failed to load VMSD:FIELD" lines name them. */
	char chain[TL_CHAIN_MAX][TL_NAME_MAX];
	unsigned nchain;
	/* The first place the target's layout parts from the source's. */
	bool diverged;
	uint64_t div_offset;
	char div_target[TL_NAME_MAX];
	uint64_t div_target_size;
	char div_source[TL_NAME_MAX];	/* "" when the source wrote nothing */
	uint64_t div_source_size;
	/* Fields read under another name than the source wrote them. */
	unsigned nrenamed;
	char renamed_path[TL_NAME_MAX];
	char renamed_target[TL_NAME_MAX];
	char renamed_source[TL_NAME_MAX];
	uint64_t renamed_offset;
	/* Unknown conditions on this layout. */
	struct tl_decided decided[TL_DECIDED_MAX];
	unsigned ndecided;
	/* Equal fields on this layout. */
	struct tl_equal equal[TL_EQUAL_MAX];
	unsigned nequal;
	/* Fields sized from the source's description (opaque to the
	 * schema), and the first. */
	unsigned nopaque;
	char opaque_first[TL_NAME_MAX];
	/* The target's description of the failing place was learned from
	 * streams only, so its list of subsections may be incomplete. */
	bool partial;
	/* Subsections seen inside opaque virtio state, and where the
	 * virtio layout could not be followed exactly. */
	unsigned virtio_subs;
	char virtio_note[TL_NAME_MAX];
	/* Layouts tried and how many fit. */
	unsigned tries;
	unsigned fits;
};

/*
 * Reads the section @in describes with the target's schema and says how
 * the target's loader fares (*@out).  Returns 0, or -MIG_ENOMEM / -MIG_EIO.
 */
int tl_check_section(const struct tl_section *in, struct tl_outcome *out,
		     struct mig_error *err);

/* ------------------------------------------------------------------ */
/* Shared by check_load.c and check_virtio.c                           */

struct tl;

/* Records a failure of this layout at @off; returns 1 (stop). */
int tl_fail(struct tl *d, enum tl_kind kind, uint64_t off, const char *fmt,
	    ...) __attribute__((format(printf, 4, 5)));
/* The reader and the section. */
struct mig_reader *tl_reader(struct tl *d);
const struct tl_section *tl_in(struct tl *d);
struct tl_outcome *tl_out(struct tl *d);
/* Appends "@fmt" to the current path; tl_path_pop() undoes it. */
void tl_path_push(struct tl *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tl_path_pop(struct tl *d);
const char *tl_path(struct tl *d);
/* Enters field @field of description @vmsd (QEMU's names), for the
 * "Failed to load" lines; tl_field_pop() leaves it. */
void tl_field_push(struct tl *d, const char *vmsd, const char *field);
void tl_field_pop(struct tl *d);
/* Reads into @buf; a short input is TL_TRUNC.  0, 1 (stopped), <0. */
int tl_read(struct tl *d, void *buf, size_t n);
int tl_skip(struct tl *d, uint64_t n);

/*
 * The subsection names each QEMU version's binary has, for descriptions
 * whose schema entry may not list them all (check_names.c, generated by
 * tests/validate/mknames.sh).  A supplement until schemas carry them.
 */
struct check_names {
	const char *qemu;		/* "7.2" */
	const char *const *names;	/* sorted */
	size_t n;
};
extern const char *const check_names_parents[];
extern const struct check_names check_names[];

/*
 * Does QEMU @qemu have subsection @name of @parent?  1 yes, 0 no, -1 the
 * table does not cover @parent or @qemu.
 */
int tl_name_known(const char *qemu, const char *parent, const char *name);
/* How many subsections of @parent QEMU @qemu has by that table; -1 when
 * it does not cover them. */
int tl_names_count(const char *qemu, const char *parent);

/*
 * The opaque "virtio" field at the cursor, of @size bytes when known
 * (UINT64_MAX: up to the section's end): virtio_save()'s layout, with every
 * subsection inside checked against what the target knows.  0, 1 (stopped,
 * failure recorded), <0.
 */
int tl_virtio(struct tl *d, const char *outer_vmsd, uint64_t size);

#endif
