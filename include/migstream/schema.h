/* SPDX-License-Identifier: MIT */
/*
 * Schemas: what one QEMU version (for one target) migrates, as a JSON file
 * (man/migstream-schema.5).  A schema lists every vmstate description
 * (VMSD) of that QEMU with its versions, fields, subsections and the
 * conditions under which fields exist; every machine type with what it
 * sends (footers, configuration, vmdesc, switchover-start) and the device
 * properties its compatibility tables set; and the devices (QOM types)
 * that use each description.
 *
 * Conditions are small JSON expressions evaluated in three values: true,
 * false and unknown (what QEMU's -dump-vmstate cannot say is unknown until
 * curated).  The decoder tries both answers of an unknown condition and
 * keeps the layout the section footer (or the next record) confirms.
 *
 * Errors: loading returns -MIG_EINVAL for a schema that is not valid
 * (bad JSON, unknown key, wrong type, unknown description, a cycle of
 * nested descriptions), with "FILE:LINE:COLUMN: what" as the message (the
 * offset is MIG_NO_OFFSET: it is no place in a stream); -MIG_EIO when the
 * file cannot be read; -MIG_ENOMEM.
 */
#ifndef MIGSTREAM_SCHEMA_H
#define MIGSTREAM_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "migstream/error.h"
#include "migstream/reader.h"
#include "migstream/state.h"

/* Version of the schema file format, in its "migstream_schema" key. */
#define MIG_SCHEMA_FORMAT 1

/* ------------------------------------------------------------------ */
/* Conditions and value expressions (cond.c)                          */

enum mig_tv {
	MIG_TV_FALSE = 0,
	MIG_TV_TRUE = 1,
	MIG_TV_UNKNOWN = 2,
};

enum mig_val_kind {
	MIG_V_UNKNOWN,
	MIG_V_INT,		/* also booleans: 0 or 1 */
	MIG_V_STR,
};

struct mig_val {
	enum mig_val_kind kind;
	int64_t i;
	const char *s;		/* MIG_V_STR: borrowed from the expression
				 * or the environment */
	const char *why;	/* MIG_V_UNKNOWN: what was not known */
};

/* A compiled expression: a condition or a value (size, count). */
struct mig_cond;

/*
 * What an expression may look at.  Every callback may be NULL (the value
 * is then unknown).  A callback returns true when it knows the value and
 * fills *@out; false leaves it unknown.
 */
struct mig_cond_env {
	/* "version": the version the description is being read at */
	bool has_version;
	int64_t version;
	/* "machine": machine type name; NULL when unknown */
	const char *machine;
	/* "section": the section's id string; NULL when unknown */
	const char *section;
	bool has_instance;
	int64_t instance;
	/* {"field": PATH}: a field decoded earlier in the same section */
	bool (*field)(void *ctx, const char *path, struct mig_val *out);
	/* {"prop": NAME}: a property of the device being decoded */
	bool (*prop)(void *ctx, const char *name, struct mig_val *out);
	/* {"machine_prop": NAME}: a property of the machine type */
	bool (*machine_prop)(void *ctx, const char *name, struct mig_val *out);
	/* {"cap": NAME}: a migration capability */
	bool (*cap)(void *ctx, const char *name, struct mig_val *out);
	void *ctx;
};

/*
 * Compiles the expression in @len bytes of JSON at @text (@name names it
 * in messages).  -MIG_EINVAL with "NAME:LINE:COLUMN: ..." for bad JSON or
 * a bad expression, -MIG_ENOMEM.
 */
int mig_cond_parse(const char *text, size_t len, const char *name,
		   struct mig_cond **out, struct mig_error *err);
/* Compiles a jansson value (no positions in messages). */
int mig_cond_from_json(const json_t *j, struct mig_cond **out,
		       struct mig_error *err);
void mig_cond_free(struct mig_cond *c);

/* Evaluates @c as a condition.  *@why (may be NULL) says why unknown. */
enum mig_tv mig_cond_test(const struct mig_cond *c,
			  const struct mig_cond_env *env, const char **why);
/* Evaluates @c as a value into *@out. */
void mig_cond_eval(const struct mig_cond *c, const struct mig_cond_env *env,
		   struct mig_val *out);
/* True when @c is an integer (or boolean) literal; its value in *@v. */
bool mig_cond_const_int(const struct mig_cond *c, int64_t *v);
/* True when @c is the literal unknown ({"unknown": ...}). */
bool mig_cond_is_unknown(const struct mig_cond *c);
/* Readable text of @c ("min(version, field 'mig_version_id') >= 5"),
 * malloc'd; NULL when out of memory. */
char *mig_cond_text(const struct mig_cond *c);
/* @c as JSON again (a new reference); NULL when out of memory. */
json_t *mig_cond_json(const struct mig_cond *c);

/* ------------------------------------------------------------------ */
/* The schema model (schema.c)                                        */

struct mig_svmsd;

/* Overrides of a nested description's field for one use of it. */
struct mig_soverride {
	char *field;		/* the nested field's unique name */
	struct mig_cond *size;
	struct mig_cond *count;
	char *type;
};

struct mig_sfield {
	char *name;		/* QEMU's field name ("esp.mig_version_id") */
	char *uname;		/* unique name, as a vmdesc writes it
				 * ("config[0]" when the name repeats) */
	char *type;		/* vmdesc type name; NULL when unknown */
	uint32_t version;	/* the description version that added it */
	struct mig_cond *exists;	/* its _TEST; NULL: none */
	struct mig_cond *size;	/* wire bytes per element; NULL: unknown */
	struct mig_cond *count;	/* elements; NULL: 1 */
	struct mig_cond *saved;	/* value the sender always writes */
	const struct mig_svmsd *vmsd;	/* nested description */
	char *vmsd_id;
	bool has_struct_version;	/* vstruct */
	uint32_t struct_version;
	uint64_t memory_size;	/* -dump-vmstate "size" (in memory); 0 */
	bool indexed;		/* vmdesc lists every element (per stream) */
	bool compress;		/* vmdesc describes an array once */
	struct mig_soverride *ov;
	size_t nov;
	char *note;
	uint32_t line, col;	/* where it is in the schema file */
};

struct mig_ssub {
	const struct mig_svmsd *vmsd;
	char *vmsd_id;
	struct mig_cond *needed;	/* NULL: not known */
};

enum mig_sorigin {
	MIG_ORIGIN_DUMP,	/* from -dump-vmstate */
	MIG_ORIGIN_VMDESC,	/* only seen in vmdescs of real streams */
	MIG_ORIGIN_CURATED,	/* written by hand */
};

struct mig_svmsd {
	char *id;		/* unique key in the schema */
	char *name;		/* QEMU's vmsd name */
	uint32_t version;
	uint32_t minimum_version;
	bool has_minimum;
	struct mig_sfield *fields;
	size_t nfields;
	struct mig_ssub *subs;
	size_t nsubs;
	char **sections;	/* section id strings (last path part) */
	size_t nsections;
	bool legacy;		/* one opaque "data" buffer (not VMState) */
	enum mig_sorigin origin;
	char *note;
	uint32_t line, col;
};

struct mig_sprop {
	char *name;
	struct mig_cond *value;
};

struct mig_smachine {
	char *name;
	char *alias;		/* NULL when none */
	bool is_default;
	bool deprecated;
	bool footers;		/* section footers */
	bool configuration;	/* the configuration record */
	bool vmdesc;		/* the vmdesc trailer */
	bool switchover_start;	/* the SWITCHOVER_START command */
	struct mig_sprop *props;	/* compat properties ("TYPE.prop") */
	size_t nprops;
};

struct mig_sdevice {
	char *type;		/* QOM type */
	const struct mig_svmsd *vmsd;
	char *vmsd_id;
	struct mig_sprop *props;	/* defaults ("pcie") */
	size_t nprops;
};

struct mig_schema {
	char *file;		/* path it was loaded from */
	char *name;		/* "qemu-7.2" */
	char *qemu;		/* "7.2" */
	char *qemu_version;	/* the exact build */
	char *target;		/* "x86_64" */
	/*
	 * How this QEMU's vmdesc lists an array it cannot describe once:
	 * every element with its "index" (true, before 10.0), or all but the
	 * last (false: 10.0 describes runs and the last run is one element).
	 */
	bool vmdesc_index_last;
	json_t *provenance;
	struct mig_smachine *machines;
	size_t nmachines;
	struct mig_sdevice *devices;
	size_t ndevices;
	struct mig_svmsd *vmsds;	/* sorted by id */
	size_t nvmsds;
};

/* Loads the schema file at @path. */
int mig_schema_load(const char *path, struct mig_schema **out,
		    struct mig_error *err);
/* Loads a schema from @len bytes of JSON; @name names it in messages. */
int mig_schema_load_mem(const char *text, size_t len, const char *name,
			struct mig_schema **out, struct mig_error *err);
void mig_schema_free(struct mig_schema *s);

/*
 * Opens a schema by name ("qemu-7.2" is DIR/qemu-7.2/TARGET.json in the
 * first of @dirs that has it; TARGET defaults to x86_64) or by path (any
 * @what containing '/' or ending in ".json").  -MIG_EINVAL when no
 * directory has it (the message lists where it looked).
 */
int mig_schema_open(const char *what, const char *target,
		    const char *const *dirs, size_t ndirs,
		    struct mig_schema **out, struct mig_error *err);

/*
 * Names of the schemas in @dirs for @target ("qemu-5.2", ...), sorted by
 * QEMU version, oldest first, without duplicates (the first directory
 * wins).  *@names is a malloc'd array of malloc'd strings.
 */
int mig_schema_list(const char *target, const char *const *dirs,
		    size_t ndirs, char ***names, size_t *n,
		    struct mig_error *err);

const struct mig_svmsd *mig_schema_vmsd(const struct mig_schema *s,
					const char *id);
/*
 * The top-level descriptions a section with id string @idstr may use (by
 * its last path part): up to @max into @out; returns how many exist.
 */
size_t mig_schema_section_vmsds(const struct mig_schema *s,
				const char *idstr,
				const struct mig_svmsd **out, size_t max);
const struct mig_smachine *mig_schema_machine(const struct mig_schema *s,
					      const char *name);
/* Compares QEMU versions "5.2" < "7.2" < "10.0": <0, 0, >0. */
int mig_version_cmp(const char *a, const char *b);

/* ------------------------------------------------------------------ */
/* Decoding a section with a schema (sdecode.c)                        */

struct mig_sdecode_in {
	const char *idstr;	/* section id string */
	uint32_t instance;
	uint32_t version;	/* from the section header */
	uint32_t section_id;
	const char *machine;	/* NULL when the stream has none */
	const char *const *caps;
	size_t ncaps;
	/*
	 * True when the section may end at @off: its footer follows, or
	 * (without footers) a record can start there.
	 */
	bool (*end_ok)(void *ctx, uint64_t off);
	/* The first offset >= @from where end_ok holds, or UINT64_MAX. */
	uint64_t (*next_end)(void *ctx, uint64_t from);
	void *ctx;
	/* Most layouts tried for one section (0: the default, 256). */
	unsigned max_tries;
};

/* What the schema decoder found. */
enum mig_sdecode_result {
	MIG_SDEC_OK,		/* exactly one layout fits: *@tree */
	MIG_SDEC_NONE,		/* no description or no layout fits */
	MIG_SDEC_SEVERAL,	/* more than one layout fits */
};

struct mig_sdecode_out {
	enum mig_sdecode_result result;
	struct mig_node *tree;	/* MIG_SDEC_OK: the section (caller frees) */
	const struct mig_svmsd *vmsd;
	bool legacy;
	unsigned tries;		/* layouts tried */
	unsigned choices;	/* unknown conditions decided by the footer */
	uint64_t fail_offset;	/* MIG_SDEC_NONE: where the best try failed */
	uint64_t work;		/* steps spent (MIG_SECTION_WORK_MAX) */
	char why[MIG_MSG_MAX];	/* not OK: why, one line */
};

/*
 * Decodes the section payload at @r's cursor with @s.  On MIG_SDEC_OK the
 * cursor is after the payload; otherwise it is back at the start.
 * Returns 0 (the result is in *@out) or -MIG_ENOMEM / -MIG_EIO.
 */
int mig_schema_decode(struct mig_reader *r, const struct mig_schema *s,
		      const struct mig_sdecode_in *in,
		      struct mig_sdecode_out *out, struct mig_error *err);

/* ------------------------------------------------------------------ */
/* Import (simport.c)                                                  */

struct mig_import_opts {
	const char *name;		/* "qemu-7.2" */
	const char *qemu;		/* "7.2" */
	const char *qemu_version;	/* the exact version string */
	const char *target;		/* "x86_64" */
	const char *dump_path;		/* -dump-vmstate output */
	const char *machines_path;	/* -machine help output */
	const char *const *streams;	/* real streams with vmdescs */
	size_t nstreams;
	const char *curation_path;	/* hand-written facts, or NULL */
	bool no_provenance_paths;	/* record base names only */
};

/*
 * Builds a schema from QEMU's outputs.  *@out is the schema JSON (sorted,
 * stable), to be written with json_dumpf.  *@notes (may be NULL) gets a
 * JSON array of remarks (streams that did not match, conflicts).
 */
int mig_schema_import(const struct mig_import_opts *o, json_t **out,
		      json_t **notes, struct mig_error *err);

/* ------------------------------------------------------------------ */
/* Diff and show (sdiff.c)                                             */

struct mig_sdiff_opts {
	const char *machine;	/* NULL: every machine type both know */
	bool reverse;		/* B to A instead of A to B */
	const char *vmsd;	/* only this description (or section) */
};

/*
 * What breaks migration from @a to @b: a JSON object with "findings"
 * (each: severity "reject"/"risk"/"info", kind, section, vmsd, field,
 * message).  *@nfindings counts reject and risk findings.
 */
int mig_schema_diff(const struct mig_schema *a, const struct mig_schema *b,
		    const struct mig_sdiff_opts *o, json_t **out,
		    size_t *nfindings, struct mig_error *err);

/*
 * One description (by id, vmsd name or section name) or, with @vmsd NULL,
 * the schema's summary, as JSON.  NULL when not found.
 */
json_t *mig_schema_show(const struct mig_schema *s, const char *vmsd);

#endif
