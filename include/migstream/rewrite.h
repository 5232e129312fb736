/* SPDX-License-Identifier: MIT */
/*
 * Rewriting a stream: cuts and small replacements over a parsed stream,
 * written out with everything else copied byte for byte (RAM above all),
 * and the trailing vmdesc changed to describe the result exactly.
 *
 * A struct mig_rewrite is a plan of edits over one input, made from its
 * model (struct mig_stream, stream.h) and decided by the caller (downgrade
 * plans one from validate's findings, see downgrade.h):
 *
 *   - cut a subsection, a field, an array element, or a byte range inside
 *     an opaque field (mig_rewrite_cut, mig_rewrite_cut_range);
 *   - drop a whole record: a command, a device section, the chunks of an
 *     iterative section (mig_rewrite_drop);
 *   - change a section's version (mig_rewrite_set_version);
 *   - add or remove every section footer (mig_rewrite_set_footers);
 *   - remove the configuration record, or add one naming a machine type
 *     (mig_rewrite_set_config);
 *   - drop the vmdesc (mig_rewrite_set_vmdesc).
 *
 * Every cut is mirrored in the vmdesc: a cut subsection or field loses its
 * entry, a section dropped loses its device entry, the "size" of every
 * enclosing struct shrinks by what was cut inside it, an array's
 * "array_len" counts what is left, a lowered version is written in the
 * device's "version".  The vmdesc is edited as text: what no cut touched
 * is copied as it was (QEMU's separators, key order, duplicate keys), and
 * a stream with no edit at all is written back byte-identical.
 *
 * Edits never overlap.  An edit inside something already removed is
 * dropped; removing something drops the edits inside it.  A PACKAGED
 * command (postcopy) whose blob changes size gets its new length.
 *
 * The output: mig_rewrite_write() copies the input through a writer
 * (encode.h) with the edits applied, in one forward pass over a seekable
 * reader; mig_rewrite_preview() writes the same bytes without the RAM
 * chunks that follow the block list (a small, complete stream to check
 * before the real output is written) and keeps a map from its offsets
 * back to the input's.  mig_rewrite_pipe() runs a whole rewrite on a pipe:
 * bytes go out as they come in, device state is held until its vmdesc
 * has arrived and the caller has planned the cuts.
 *
 * Errors (negative): -MIG_EINVAL for a node or record not in the stream,
 * an edit that overlaps another, a stream not read to its end;
 * -MIG_EUNSUP when the vmdesc cannot describe the result (a cut inside
 * one element of an array the vmdesc describes once); -MIG_ENOMEM; and
 * those of the reader and the writer (-MIG_EIO, -MIG_ETRUNC).
 */
#ifndef MIGSTREAM_REWRITE_H
#define MIGSTREAM_REWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "migstream/encode.h"
#include "migstream/error.h"
#include "migstream/reader.h"
#include "migstream/state.h"
#include "migstream/stream.h"

struct mig_rewrite;

/*
 * A new, empty plan over @s, which mig_stream_read() read to its end from
 * @r (the same input, seekable or memory: the vmdesc text is read from it
 * again).  @s and @r must outlive the plan.
 */
int mig_rewrite_new(const struct mig_stream *s, struct mig_reader *r,
		    struct mig_rewrite **out, struct mig_error *err);
void mig_rewrite_free(struct mig_rewrite *rw);

/* The stream the plan is over. */
const struct mig_stream *mig_rewrite_stream(const struct mig_rewrite *rw);

/*
 * Cuts @node of the tree of section record @rec: a MIG_NODE_SUBSECTION
 * (with its 0x05 header), a MIG_NODE_FIELD (all its elements), or a
 * MIG_NODE_ELEMENT (one element of an array or of a list).
 */
int mig_rewrite_cut(struct mig_rewrite *rw, const struct mig_record *rec,
		    const struct mig_node *node, struct mig_error *err);

/*
 * Cuts @len bytes at absolute input offset @off, which must lie inside the
 * leaf @node (an opaque field, such as a "virtio" buffer, whose vmdesc
 * "size" then shrinks by @len).
 */
int mig_rewrite_cut_range(struct mig_rewrite *rw, const struct mig_record *rec,
			  const struct mig_node *node, uint64_t off,
			  uint64_t len, struct mig_error *err);

/*
 * Drops record @rec whole: a COMMAND, a FULL section (its vmdesc entry
 * goes too), or one START, PART or END chunk (drop all of a section's).
 */
int mig_rewrite_drop(struct mig_rewrite *rw, const struct mig_record *rec,
		     struct mig_error *err);

/* Writes @version in the header of section record @rec (START or FULL). */
int mig_rewrite_set_version(struct mig_rewrite *rw,
			    const struct mig_record *rec, uint32_t version,
			    struct mig_error *err);

/* Gives every section a footer (@on) or takes every footer away. */
int mig_rewrite_set_footers(struct mig_rewrite *rw, bool on,
			    struct mig_error *err);

/*
 * @machine NULL removes the configuration record (and the vmdesc's
 * "configuration" entry); otherwise a stream without one gets a
 * configuration record naming @machine right after the header.  A
 * stream that has one keeps it (-MIG_EINVAL when it names another
 * machine type: that is not a rewrite).
 */
int mig_rewrite_set_config(struct mig_rewrite *rw, const char *machine,
			   struct mig_error *err);

/* @keep false: the output ends at EOF, without a vmdesc. */
int mig_rewrite_set_vmdesc(struct mig_rewrite *rw, bool keep,
			   struct mig_error *err);

/* True when the plan changes nothing: the output is the input. */
bool mig_rewrite_empty(const struct mig_rewrite *rw);

/* What the plan does to whole records, for callers and checks. */
bool mig_rewrite_dropped(const struct mig_rewrite *rw,
			 const struct mig_record *rec);
/* 1 footers added, 0 removed, -1 left as they are. */
int mig_rewrite_footers(const struct mig_rewrite *rw);
/* 1 configuration added, 0 removed, -1 left as it is. */
int mig_rewrite_config(const struct mig_rewrite *rw);

/* True when the output's vmdesc differs from the input's (or is gone). */
bool mig_rewrite_vmdesc_changed(struct mig_rewrite *rw);

/*
 * The new vmdesc JSON text (malloc'd, *@len bytes, no NUL counted), or
 * *@out NULL when the output has none.  Unchanged when nothing touched it.
 */
int mig_rewrite_vmdesc_text(struct mig_rewrite *rw, char **out, size_t *len,
			    struct mig_error *err);

/* ------------------------------------------------------------------ */
/* Output                                                              */

/*
 * Writes the rewritten stream to @w: the input from its header to its end,
 * read from @r (the reader the plan was made with; it must be seekable),
 * edits applied.  The reader's cursor ends at the input's end.  Memory
 * stays small whatever the input's size: bytes are copied in chunks and
 * the pages of a mapped input are given back as the copy moves on.
 */
int mig_rewrite_write(struct mig_rewrite *rw, struct mig_reader *r,
		      struct mig_writer *w, struct mig_error *err);

/*
 * The same to file descriptor @out_fd (a regular file, written from its
 * current position), from input offset @from on: the stream's start for
 * the whole output, or any offset up to mig_rewrite_first_change() when
 * the output before it is already there (a copy of the input).  What the
 * plan leaves as it was is copied from @in_fd, the input as a plain file
 * whose offsets are the stream's (no compression), with
 * copy_file_range(2), so the bytes need not pass through this process;
 * where the kernel cannot do that, they are copied from @r.  *@written
 * gets the bytes written.  -MIG_EIO with strerror, -MIG_EINVAL for a
 * @from past the first change.
 */
int mig_rewrite_write_fd(struct mig_rewrite *rw, struct mig_reader *r,
			 int in_fd, int out_fd, uint64_t from,
			 uint64_t *written, struct mig_error *err);

/*
 * Input offset of the first byte the output differs at (the output is the
 * input up to there), or MIG_NO_OFFSET when the plan changes nothing.
 */
uint64_t mig_rewrite_first_change(struct mig_rewrite *rw);

/* Input offsets where the stream starts and ends. */
uint64_t mig_rewrite_start(const struct mig_rewrite *rw);
uint64_t mig_rewrite_end(const struct mig_rewrite *rw);

/*
 * A map from offsets of a rewritten output (or a preview) back to the
 * input's.  Bytes the plan added map to the input offset they were added
 * at.
 */
struct mig_offmap;
uint64_t mig_offmap_input(const struct mig_offmap *m, uint64_t out_off);
/* Offset in the output of input offset @in_off (of the first byte after
 * it that survives, when it was cut). */
uint64_t mig_offmap_output(const struct mig_offmap *m, uint64_t in_off);
void mig_offmap_free(struct mig_offmap *m);

/*
 * The preview: what mig_rewrite_write() would write, less the RAM chunks
 * (the "ram" section's PART and END records; its START, with the block
 * list, stays), to @w (a memory writer, typically).  *@map (may be NULL)
 * gets the offset map.  Small for any guest size: device state, commands
 * and the vmdesc.
 */
int mig_rewrite_preview(struct mig_rewrite *rw, struct mig_reader *r,
			struct mig_writer *w, struct mig_offmap **map,
			struct mig_error *err);

/* ------------------------------------------------------------------ */
/* Pipes                                                               */

/*
 * What the pipe rewrite asks the caller, once the header and the
 * configuration record have been read, before anything is written.
 */
struct mig_pipe_head {
	bool has_config;
	const char *machine;		/* NULL without configuration */
	const char *const *caps;	/* configuration capabilities */
	size_t ncaps;
};

/* What to do with the records that stream through. */
struct mig_pipe_policy {
	int footers;		/* 1 add, 0 remove, -1 leave */
	int config;		/* 1 add (with .machine), 0 remove, -1 leave */
	const char *machine;	/* for .config 1 */
	/* Commands to drop, bit N for command id N (mig_cmd_id). */
	uint32_t drop_cmds;
};

struct mig_pipe_ops {
	int (*head)(void *ctx, const struct mig_pipe_head *h,
		    struct mig_pipe_policy *p, struct mig_error *err);
	/*
	 * The held rest has arrived.  @s is the stream as far as a plan
	 * needs it (header, configuration, the RAM block list, the commands
	 * seen, then everything held: device sections, EOF, vmdesc), read
	 * from @r (memory, a copy of those pieces back to back); @map turns
	 * offsets in it into the input's (mig_offmap_input).  The callback
	 * returns a plan over @s in *@rw (mig_rewrite_new(@s, @r, ...)),
	 * which must agree with the policy for what already went out: the
	 * same commands dropped, the same footers and configuration.
	 */
	int (*tail)(void *ctx, const struct mig_stream *s, struct mig_reader *r,
		    const struct mig_offmap *map, struct mig_rewrite **rw,
		    struct mig_error *err);
	void *ctx;
	/* Most bytes held (0: 256 MiB); more fail with -MIG_ELIMIT. */
	uint64_t max_hold;
	/*
	 * How to read the stream (capabilities, schemas for device sections
	 * without a vmdesc); NULL: defaults.  Its page and progress callbacks
	 * are not used.
	 */
	const struct mig_parse_opts *parse;
};

/*
 * Rewrites the stream read from @in (a pipe, or any reader) to @w as it
 * arrives.  Header, configuration, the RAM section's chunks and commands
 * are written as soon as they are read (under the head policy); from the
 * first record that needs the vmdesc to be understood (a device section,
 * an iterative section other than RAM, a PACKAGED command, or EOF) the
 * rest is held in memory, given to @ops->tail, and written with its plan
 * applied.  Memory is what is held plus a window of the input.  Errors:
 * those of the reader, the parser and the writer; -MIG_EUNSUP for
 * mapped-ram (a file format, not a stream) or a plan that contradicts
 * what was already written; -MIG_ELIMIT when the rest exceeds max_hold.
 * On error the output holds what was written so far (a pipe cannot take
 * it back).
 */
int mig_rewrite_pipe(struct mig_reader *in, struct mig_writer *w,
		     const struct mig_pipe_ops *ops, struct mig_error *err);

#endif

/* ------------------------------------------------------------------ */
/* Downgrade (downgrade.c)                                             */

/*
 * A downgrade plans a rewrite from validate's findings (check.h) until
 * the target would load the stream, or until only what cannot be
 * rewritten is left:
 *
 *   finding                         what the plan does
 *   unknown-subsection              cuts the subsection (at any depth)
 *   subsection-version              cuts the subsection
 *   unknown-command                 drops the command
 *   section-version (too new)       lowers the section's version and cuts
 *                                   the fields the lower version lacks,
 *                                   when a schema shows which they are
 *   footer-missing/-unexpected      adds or removes every footer
 *   configuration-unexpected        removes the configuration record
 *   configuration-missing           adds one (needs the machine type)
 *   anything else that refuses      a blocker, unless the section is
 *                                   dropped (mig_downgrade_opts.drop)
 *
 * Each round writes a preview of the rewritten stream (mig_rewrite_
 * preview: no guest RAM, so it is small), validates it, and acts on the
 * findings; a finding that comes back after it was acted on is a blocker.
 * The result lists every piece of state dropped (section, subsection or
 * field, its size, what the guest loses), every change to the framing,
 * the blockers, and the risks validate still reports.
 */
struct mig_schema;

struct mig_downgrade_opts {
	const struct mig_schema *target;	/* the target QEMU's schema */
	/*
	 * Every schema at hand (the target's may be among them): the
	 * source's descriptions say which fields a lower version lacks.
	 */
	const struct mig_schema *const *schemas;
	size_t nschemas;
	const char *machine;	/* the target's machine; NULL: the stream's */
	/*
	 * Sections to drop whole, each as its id string, the last part of
	 * it ("pciespscsi"), or either with "[INSTANCE]" for one instance.
	 */
	const char *const *drop;
	size_t ndrop;
	bool no_vmdesc;		/* write no vmdesc */
	/*
	 * The target's -global migration.send-section-footer and
	 * migration.send-configuration: -1 as its machine type says, 0 off,
	 * 1 on.
	 */
	int footers;
	int configuration;
	/* Capabilities the source had that the stream does not record. */
	const char *const *caps;
	size_t ncaps;
	/*
	 * How the previews of the plan are read (schemas for device sections
	 * without a vmdesc, as mig_parse_opts); NULL: defaults.  The
	 * capabilities above are used whatever it says.
	 */
	const struct mig_parse_opts *parse;
};

/* Defaults: no schemas, no drops, footers and configuration as the
 * target's machine type says. */
void mig_downgrade_opts_init(struct mig_downgrade_opts *o);

enum mig_dg_kind {
	MIG_DG_SECTION,		/* a section dropped (--drop-section) */
	MIG_DG_SUBSECTION,	/* a subsection cut */
	MIG_DG_FIELD,		/* a field cut (a lower section version) */
	MIG_DG_COMMAND,		/* a command dropped */
	MIG_DG_VERSION,		/* a section's version lowered */
	MIG_DG_FOOTERS,		/* footers added or removed */
	MIG_DG_CONFIG,		/* configuration added or removed */
	MIG_DG_VMDESC,		/* vmdesc rewritten or dropped */
};

/* One thing the plan does.  Offsets are the input's. */
struct mig_dg_item {
	enum mig_dg_kind kind;
	bool loses_state;	/* guest state goes (section, sub, field) */
	uint64_t offset;	/* MIG_NO_OFFSET for stream-wide changes */
	uint64_t size;		/* bytes removed (0: framing changes) */
	char *section;		/* NULL for stream-wide changes */
	uint32_t section_id;
	uint32_t instance;
	char *path;		/* diff.h path syntax, or NULL */
	char *what;		/* one line: what is cut or changed */
	char *loss;		/* what the guest loses, or NULL */
	char *reason;		/* the finding (check id, message) answered */
};

/* Something the target refuses that the plan cannot change. */
struct mig_dg_blocker {
	char *check;		/* validate's check id */
	uint64_t offset;
	char *section;		/* NULL for stream-wide refusals */
	uint32_t instance;
	char *path;
	char *message;
	char *qemu;		/* what the target prints (lines), or NULL */
	char *remedy;		/* what would help */
};

/* A risk validate still sees in the result (loads, but check it). */
struct mig_dg_risk {
	char *check;
	uint64_t offset;	/* of the input */
	char *path;
	char *message;
};

struct mig_downgrade {
	char *target;		/* "qemu-5.2" */
	char *machine;		/* the target machine type, or NULL */
	struct mig_rewrite *rw;	/* the plan (owned) */
	struct mig_dg_item *items;
	size_t nitems;
	struct mig_dg_blocker *blockers;
	size_t nblockers;
	struct mig_dg_risk *risks;
	size_t nrisks;
	bool changed;		/* the output differs from the input */
	unsigned rounds;	/* validate rounds run */
	uint64_t in_size;	/* bytes of the input stream */
	uint64_t out_size;	/* output bytes (MIG_NO_OFFSET: unknown) */
};

/*
 * Plans the downgrade of @s (read to its end from @r, which must be
 * seekable or memory) for @o->target.  @map, when not NULL, turns offsets
 * of @s into the offsets reported (a pipe's held copy, see
 * mig_rewrite_pipe).  On success *@out is the plan: it may have blockers
 * (then the stream must not be written) or nothing to do.  Errors:
 * -MIG_EINVAL (no target, a --drop section the stream lacks: the message
 * names it), -MIG_ENOMEM, and those of the rewrite and of validate.
 */
int mig_downgrade_plan(const struct mig_stream *s, struct mig_reader *r,
		       const struct mig_downgrade_opts *o,
		       const struct mig_offmap *map, struct mig_downgrade **out,
		       struct mig_error *err);
void mig_downgrade_free(struct mig_downgrade *d);

/*
 * For mig_rewrite_pipe: what to do with footers, the configuration record
 * and commands before the rest of the stream is seen, from the target's
 * machine type and the commands the target knows.  -MIG_EINVAL with the
 * reason when the head alone shows the target cannot load the stream (its
 * machine type or a capability is unknown to it): nothing has been
 * written then.
 */
int mig_downgrade_head(const struct mig_downgrade_opts *o,
		       const struct mig_pipe_head *h, struct mig_pipe_policy *p,
		       struct mig_error *err);

/*
 * Validates the output @s (read from @r) against the target as the plan
 * was made: *@loads false when the target would refuse it (the first
 * reason in @why).  Errors of validate.
 */
int mig_downgrade_verify(const struct mig_stream *s, struct mig_reader *r,
			 const struct mig_downgrade_opts *o, bool *loads,
			 char *why, size_t why_len, struct mig_error *err);

/* Version of the `downgrade --json` document ("migstream_downgrade"). */
#define MIG_DOWNGRADE_FORMAT_VERSION 1

/*
 * The plan as the JSON document `downgrade --json` prints (man/migstream-
 * downgrade.1), for input @in and output @out (NULL: none written).
 * NULL when out of memory.
 */
json_t *mig_downgrade_json(const struct mig_downgrade *d, const char *in,
			   const char *out, bool dry_run);
