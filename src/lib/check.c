/* SPDX-License-Identifier: MIT */
/*
 * Validate: the check table and the walk that applies it.  The walk follows
 * what the target does with the stream, in its order: startup (machine
 * type, migrate-set-capabilities), then qemu_loadvm_state() (header,
 * configuration record, sections with their footers, commands, EOF, the
 * vmdesc trailer).  Device sections go to the loader model (check_load.c);
 * everything else is checked here against the target's schema and the
 * facts of its QEMU version the schema does not hold (see "Facts by QEMU
 * version" below).
 *
 * The texts QEMU prints are FORMAT.md section 6, checked against the
 * strings of the Debian 5.2, 7.2 and 10.0 binaries; where QEMU's words
 * depend on where exactly a truncated stream ends, the nearest is given.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migstream/vmdesc.h"
#include "check_int.h"
#include "migstream/output.h"

static const struct mig_check checks[] = {
	/* startup */
	{ "no-such-machine", MIG_SEV_REJECT,
	  "the target has no machine type of this name" },
	{ "capability-unknown", MIG_SEV_REJECT,
	  "the stream needs a migration capability the target does not have" },
	/* the stream, in the order the target reads it */
	{ "bad-header", MIG_SEV_REJECT,
	  "not a migration stream the target reads (magic or file version)" },
	{ "configuration-missing", MIG_SEV_REJECT,
	  "the target expects a configuration record and the stream has none" },
	{ "configuration-unexpected", MIG_SEV_REJECT,
	  "the stream has a configuration record the target does not expect" },
	{ "machine-mismatch", MIG_SEV_REJECT,
	  "the configuration record names another machine type than the target runs" },
	{ "footer-missing", MIG_SEV_REJECT,
	  "the target expects section footers and the stream has none" },
	{ "footer-unexpected", MIG_SEV_REJECT,
	  "the stream has section footers the target does not expect" },
	{ "unknown-section", MIG_SEV_REJECT,
	  "a section for a device the target does not have" },
	{ "section-version", MIG_SEV_REJECT,
	  "a section version above the target's or below its minimum" },
	{ "unknown-subsection", MIG_SEV_REJECT,
	  "a subsection the target does not know, at any depth" },
	{ "subsection-version", MIG_SEV_REJECT,
	  "a subsection or nested description in a version the target does not read" },
	{ "field-layout", MIG_SEV_REJECT,
	  "the target reads the section's fields with another layout than the source wrote" },
	{ "bad-marker", MIG_SEV_REJECT,
	  "a list or pointer marker byte the target refuses" },
	{ "unknown-command", MIG_SEV_REJECT,
	  "a command the target does not know" },
	{ "command-length", MIG_SEV_REJECT,
	  "a command with a length the target refuses" },
	{ "ram-flag-unknown", MIG_SEV_REJECT,
	  "a RAM record kind the target does not know" },
	{ "truncated", MIG_SEV_REJECT,
	  "the stream ends before it is complete" },
	{ "malformed", MIG_SEV_REJECT,
	  "a record the target cannot read" },
	/* risk */
	{ "unchecked", MIG_SEV_RISK,
	  "a section or field the target's schema cannot frame, so it was not checked" },
	{ "unknown-condition", MIG_SEV_RISK,
	  "a field or subsection whose presence the target's schema does not know; the stream's layout decided it" },
	{ "field-names", MIG_SEV_RISK,
	  "the target reads fields under other names than the source wrote them" },
	{ "equal-field", MIG_SEV_RISK,
	  "fields the target compares with its own values; a difference is refused" },
	{ "ram-block-device", MIG_SEV_RISK,
	  "guest RAM blocks named and sized by the device configuration" },
	/* info */
	{ "capability-needed", MIG_SEV_INFO,
	  "the target must enable a migration capability before migrate-incoming" },
	{ "return-path", MIG_SEV_INFO,
	  "the stream uses a return path, so it must arrive over a two-way channel" },
	{ "vmdesc-missing", MIG_SEV_INFO,
	  "the target expects a vmdesc trailer and the stream has none (QEMU warns only)" },
	{ "machine-deprecated", MIG_SEV_INFO,
	  "the target's machine type is deprecated" },
	{ "machine-assumed", MIG_SEV_INFO,
	  "the stream does not name its machine type" },
	{ "uuid", MIG_SEV_INFO,
	  "the stream carries the source's UUID (validate-uuid)" },
	{ "opaque-read", MIG_SEV_INFO,
	  "opaque fields were read with the size the source's description gives" },
};

#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

const struct mig_check *mig_checks(size_t *n)
{
	*n = NCHECKS;
	return checks;
}

const struct mig_check *mig_check_find(const char *id)
{
	for (size_t i = 0; i < NCHECKS; i++)
		if (!strcmp(checks[i].id, id))
			return &checks[i];
	return NULL;
}

const char *mig_severity_name(enum mig_severity sev)
{
	switch (sev) {
	case MIG_SEV_REJECT:
		return "reject";
	case MIG_SEV_RISK:
		return "risk";
	default:
		return "info";
	}
}

void mig_validate_opts_init(struct mig_validate_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->footers = -1;
	o->configuration = -1;
	o->vmdesc = -1;
}

/* ------------------------------------------------------------------ */
/* Facts by QEMU version                                               */
/*
 * What a QEMU version knows that its schema does not say (schema.h has
 * no list of commands, capabilities or RAM record kinds).  "since" is the
 * first release with it, "until" the last (NULL: still there).
 * migration/savevm.h, migration/options.c, migration/ram.c histories;
 * FORMAT.md sections 4.1, 5.5 and 7.
 */

static const struct {
	const char *name;
	const char *since;
	const char *until;
} cap_facts[] = {
	{ "xbzrle", "1.2", NULL },
	{ "compress", "2.4", "9.0" },
	{ "return-path", "2.5", NULL },
	{ "postcopy-ram", "2.6", NULL },
	{ "dirty-bitmaps", "2.12", NULL },
	{ "x-ignore-shared", "4.0", NULL },
	{ "multifd", "4.0", NULL },
	{ "validate-uuid", "4.2", NULL },
	{ "mapped-ram", "9.0", NULL },
};

static const char *const cmd_since[MIG_CMD_MAX] = {
	[MIG_CMD_OPEN_RETURN_PATH] = "2.5",
	[MIG_CMD_PING] = "2.5",
	[MIG_CMD_POSTCOPY_ADVISE] = "2.5",
	[MIG_CMD_POSTCOPY_LISTEN] = "2.5",
	[MIG_CMD_POSTCOPY_RUN] = "2.5",
	[MIG_CMD_POSTCOPY_RAM_DISCARD] = "2.5",
	[MIG_CMD_PACKAGED] = "2.5",
	[MIG_CMD_ENABLE_COLO] = "3.1",
	[MIG_CMD_POSTCOPY_RESUME] = "3.0",
	[MIG_CMD_RECV_BITMAP] = "3.0",
	[MIG_CMD_SWITCHOVER_START] = "10.0",
};

/* QEMU's names of the commands, as its length error prints them. */
static const char *const cmd_qemu_names[MIG_CMD_MAX] = {
	[MIG_CMD_OPEN_RETURN_PATH] = "CMD_OPEN_RETURN_PATH",
	[MIG_CMD_PING] = "CMD_PING",
	[MIG_CMD_POSTCOPY_ADVISE] = "CMD_POSTCOPY_ADVISE",
	[MIG_CMD_POSTCOPY_LISTEN] = "CMD_POSTCOPY_LISTEN",
	[MIG_CMD_POSTCOPY_RUN] = "CMD_POSTCOPY_RUN",
	[MIG_CMD_POSTCOPY_RAM_DISCARD] = "CMD_POSTCOPY_RAM_DISCARD",
	[MIG_CMD_PACKAGED] = "CMD_PACKAGED",
	[MIG_CMD_ENABLE_COLO] = "CMD_ENABLE_COLO",
	[MIG_CMD_POSTCOPY_RESUME] = "CMD_POSTCOPY_RESUME",
	[MIG_CMD_RECV_BITMAP] = "CMD_RECV_BITMAP",
	[MIG_CMD_SWITCHOVER_START] = "CMD_SWITCHOVER_START",
};

#define RAM_FLAG_CONTINUE 0x20u
#define RAM_FLAG_COMPRESS_PAGE 0x100u
#define RAM_FLAG_MULTIFD_FLUSH 0x200u

/* The last release with RAM_SAVE_FLAG_COMPRESS_PAGE, the first with
 * RAM_SAVE_FLAG_MULTIFD_FLUSH. */
#define COMPRESS_UNTIL "9.0"
#define FLUSH_SINCE "8.1"

/* Releases before this print startup and QMP errors the 5.2 way (the
 * exact release of the change is not pinned down; 5.2 and 7.2 differ). */
#define NEW_ERRORS_SINCE "6.0"

/* ------------------------------------------------------------------ */
/* Building the report                                                 */

struct vctx {
	const struct mig_stream *s;
	const struct mig_schema *t;
	const struct mig_validate_opts *o;
	struct mig_reader *r;
	struct mig_report *rep;
	const char *qemu;
	const struct mig_smachine *m;
	const char *machine;	/* the target's, canonical, or NULL */
	bool footers;
	bool configuration;
	bool vmdesc;
	size_t cap;
	bool nomem;
	uint64_t work;		/* steps of every section (MIG_STREAM_WORK_MAX) */
	/* opaque fields read with the source's sizes */
	unsigned nopaque;
	char opaque_first[TL_NAME_MAX];
	uint64_t opaque_offset;
	/* capabilities the stream needs, for conditions */
	const char *caps[32];
	size_t ncaps;
};

static char *vxprintf(struct vctx *c, const char *fmt, va_list ap)
{
	char *p = NULL;

	if (vasprintf(&p, fmt, ap) < 0) {
		c->nomem = true;
		return NULL;
	}
	return p;
}

static bool qemu_at_least(const struct vctx *c, const char *v)
{
	return c->qemu && mig_version_cmp(c->qemu, v) >= 0;
}

static const char *qname(const struct vctx *c)
{
	return c->qemu ? c->qemu : "?";
}

/* A new finding of check @id at @off, in @rec's section when @rec. */
static struct mig_finding *add(struct vctx *c, const char *id, uint64_t off,
			       const struct mig_record *rec)
{
	struct mig_report *rep = c->rep;
	const struct mig_check *k = mig_check_find(id);
	struct mig_finding *f;

	if (!k || c->nomem)
		return NULL;
	if (rep->nfindings == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 16;
		struct mig_finding *p = realloc(rep->findings, nc * sizeof(*p));

		if (!p) {
			c->nomem = true;
			return NULL;
		}
		rep->findings = p;
		c->cap = nc;
	}
	f = &rep->findings[rep->nfindings++];
	memset(f, 0, sizeof(*f));
	f->check = k;
	f->offset = off;
	if (rec && rec->name) {
		f->section = strdup(rec->name);
		if (!f->section)
			c->nomem = true;
		f->section_id = rec->section_id;
		f->instance = rec->instance;
	}
	return f;
}

static void msg(struct vctx *c, struct mig_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void msg(struct vctx *c, struct mig_finding *f, const char *fmt, ...)
{
	va_list ap;

	if (!f)
		return;
	va_start(ap, fmt);
	free(f->message);
	f->message = vxprintf(c, fmt, ap);
	va_end(ap);
}

static void cause(struct vctx *c, struct mig_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cause(struct vctx *c, struct mig_finding *f, const char *fmt, ...)
{
	va_list ap;

	if (!f)
		return;
	va_start(ap, fmt);
	free(f->cause);
	f->cause = vxprintf(c, fmt, ap);
	va_end(ap);
}

/* One more line of what QEMU prints. */
static void qline(struct vctx *c, struct mig_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void qline(struct vctx *c, struct mig_finding *f, const char *fmt, ...)
{
	va_list ap;

	if (!f || f->nqemu >= MIG_QEMU_LINES)
		return;
	va_start(ap, fmt);
	f->qemu[f->nqemu] = vxprintf(c, fmt, ap);
	va_end(ap);
	if (f->qemu[f->nqemu])
		f->nqemu++;
}

static void path(struct vctx *c, struct mig_finding *f, const char *p)
{
	if (!f || !p || !*p)
		return;
	free(f->path);
	f->path = strdup(p);
	if (!f->path)
		c->nomem = true;
}

static void finding_free(struct mig_finding *f)
{
	free(f->section);
	free(f->path);
	free(f->message);
	for (size_t i = 0; i < f->nqemu; i++)
		free(f->qemu[i]);
	free(f->cause);
}

void mig_report_free(struct mig_report *rep)
{
	if (!rep)
		return;
	for (size_t i = 0; i < rep->nfindings; i++)
		finding_free(&rep->findings[i]);
	free(rep->findings);
	free(rep->stream);
	free(rep->target);
	free(rep->qemu);
	free(rep->machine);
	free(rep);
}

/* The line every failed incoming migration ends with. */
static void failed(struct vctx *c, struct mig_finding *f, const char *why)
{
	qline(c, f, "load of migration failed: %s", why);
}

/* "error while loading state for instance 0x0 of device 'x'" */
static void device_line(struct vctx *c, struct mig_finding *f,
			const struct mig_record *rec)
{
	if (rec->type == MIG_REC_START || rec->type == MIG_REC_FULL)
		qline(c, f, "error while loading state for instance 0x%" PRIx32 " of device '%s'",
		      rec->instance, rec->name);
	else
		qline(c, f, "error while loading state section id %" PRIu32 "(%s)",
		      rec->section_id, rec->name);
}

/* QEMU's "Failed to load VMSD:FIELD" lines, innermost first, then the
 * section's. */
static void failed_in(struct vctx *c, struct mig_finding *f,
		      const struct mig_record *rec, const struct tl_outcome *o)
{
	for (unsigned i = 0; i < o->nchain; i++)
		qline(c, f, "Failed to load %s", o->chain[i]);
	device_line(c, f, rec);
}

/* ------------------------------------------------------------------ */
/* Startup: machine type and capabilities                              */

/* The family of a versioned machine type: "pc-q35" of "pc-q35-7.2". */
static size_t family_len(const char *m)
{
	const char *dash = strrchr(m, '-');

	return dash && dash[1] >= '0' && dash[1] <= '9' ? (size_t)(dash - m)
							  : strlen(m);
}

/* The target's newest machine type of @m's family, or NULL. */
static const char *newest_of_family(const struct vctx *c, const char *m)
{
	size_t fl = family_len(m);
	const char *best = NULL;

	for (size_t i = 0; i < c->t->nmachines; i++) {
		const char *n = c->t->machines[i].name;

		if (family_len(n) != fl || strncmp(n, m, fl) || !n[fl])
			continue;
		if (!best || mig_version_cmp(n + fl + 1, best + fl + 1) > 0)
			best = n;
	}
	return best;
}

static void check_machine(struct vctx *c)
{
	const struct mig_validate_opts *o = c->o;
	const char *want = o->machine ? o->machine : c->s->machine;
	struct mig_finding *f;

	if (!want) {
		const struct mig_smachine *d = NULL;

		for (size_t i = 0; i < c->t->nmachines && !d; i++)
			if (c->t->machines[i].is_default)
				d = &c->t->machines[i];
		f = add(c, "machine-assumed", MIG_NO_OFFSET, NULL);
		msg(c, f, "the stream has no configuration record and no --machine was given");
		cause(c, f,
		      "The checks assume the target's machine type sends footers and a configuration record, as %s does; name the machine type the VM runs with --machine for exact answers.",
		      d ? d->name : "the default");
		c->footers = c->configuration = c->vmdesc = true;
		return;
	}
	c->m = mig_schema_machine(c->t, want);
	if (!c->m) {
		const char *newest = newest_of_family(c, want);

		f = add(c, "no-such-machine", MIG_NO_OFFSET, NULL);
		msg(c, f, "QEMU %s has no machine type '%s'", qname(c), want);
		if (qemu_at_least(c, NEW_ERRORS_SINCE))
			qline(c, f, "unsupported machine type");
		else
			qline(c, f, "-machine %s: unsupported machine type", want);
		qline(c, f, "Use -machine help to list supported machines");
		if (newest)
			cause(c, f,
			      "A machine type cannot change during migration, and QEMU %s stops at startup: its newest of this family is %s. Run the source VM on a machine type both QEMU versions have (%s or older) before saving.",
			      qname(c), newest, newest);
		else
			cause(c, f,
			      "A machine type cannot change during migration, and QEMU %s has none of this family. Run the source VM on a machine type the target has.",
			      qname(c));
		c->machine = want;
		c->footers = c->configuration = c->vmdesc = true;
		return;
	}
	c->machine = c->m->name;
	c->footers = c->m->footers;
	c->configuration = c->m->configuration;
	c->vmdesc = c->m->vmdesc;
	if (c->m->deprecated) {
		f = add(c, "machine-deprecated", MIG_NO_OFFSET, NULL);
		msg(c, f, "machine type '%s' is deprecated in QEMU %s",
		    c->m->name, qname(c));
		qline(c, f, "warning: Machine type '%s' is deprecated: machines more than 3 years old are subject to deletion after 6 years",
		      c->m->name);
		cause(c, f,
		      "QEMU %s still loads it but warns; plan a move to a newer machine type.",
		      qname(c));
	}
}

static bool has_cap(const struct vctx *c, const char *name)
{
	for (size_t i = 0; i < c->ncaps; i++)
		if (!strcmp(c->caps[i], name))
			return true;
	return false;
}

static void need_cap(struct vctx *c, const char *name)
{
	if (has_cap(c, name) ||
	    c->ncaps >= sizeof(c->caps) / sizeof(c->caps[0]))
		return;
	c->caps[c->ncaps++] = name;
}

/* Why the stream needs capability @name, one phrase. */
static const char *cap_why(const char *name)
{
	if (!strcmp(name, "mapped-ram") || !strcmp(name, "x-ignore-shared"))
		return "its configuration record lists it";
	if (!strcmp(name, "compress"))
		return "its RAM pages are compressed (COMPRESS_PAGE records)";
	if (!strcmp(name, "postcopy-ram"))
		return "it advises postcopy (POSTCOPY_ADVISE with page sizes)";
	if (!strcmp(name, "xbzrle"))
		return "it has XBZRLE page deltas";
	if (!strcmp(name, "multifd"))
		return "its RAM section has multifd flush records";
	return "the source had it on";
}

static void collect_caps(struct vctx *c)
{
	const struct mig_stream *s = c->s;

	for (size_t i = 0; i < s->ncaps; i++)
		need_cap(c, s->caps[i]);
	for (size_t i = 0; i < c->o->ncaps; i++)
		need_cap(c, c->o->caps[i]);
	for (const struct mig_record *rec = s->records; rec; rec = rec->next) {
		if (rec->type == MIG_REC_COMMAND &&
		    rec->cmd == MIG_CMD_POSTCOPY_ADVISE && rec->cmd_len == 16)
			need_cap(c, "postcopy-ram");
		if (rec->kind == MIG_SEC_RAM && rec->ram.compressed)
			need_cap(c, "compress");
		if (rec->kind == MIG_SEC_RAM && rec->ram.xbzrle)
			need_cap(c, "xbzrle");
		if (rec->kind == MIG_SEC_RAM && rec->ram.flushes)
			need_cap(c, "multifd");
	}
}

static void check_caps(struct vctx *c)
{
	for (size_t i = 0; i < c->ncaps; i++) {
		const char *name = c->caps[i];
		const char *since = NULL, *until = NULL;
		struct mig_finding *f;
		bool known_name = false;

		for (size_t k = 0; k < sizeof(cap_facts) / sizeof(cap_facts[0]); k++)
			if (!strcmp(cap_facts[k].name, name)) {
				since = cap_facts[k].since;
				until = cap_facts[k].until;
				known_name = true;
			}
		if (known_name && c->qemu &&
		    (mig_version_cmp(c->qemu, since) < 0 ||
		     (until && mig_version_cmp(c->qemu, until) > 0))) {
			f = add(c, "capability-unknown", MIG_NO_OFFSET, NULL);
			msg(c, f, "QEMU %s has no migration capability '%s' (%s)",
			    qname(c), name, cap_why(name));
			if (qemu_at_least(c, NEW_ERRORS_SINCE))
				qline(c, f, "migrate-set-capabilities: Parameter 'capability' does not accept value '%s'",
				      name);
			else
				qline(c, f, "migrate-set-capabilities: Invalid parameter '%s'",
				      name);
			if (until)
				cause(c, f,
				      "Capability %s was removed after QEMU %s; the target cannot take this stream. Save the VM again without %s (for compression, use multifd compression with a target that has it).",
				      name, until, name);
			else
				cause(c, f,
				      "Capability %s first appeared in QEMU %s; QEMU %s refuses it before the load starts. Save the VM again without %s.",
				      name, since, qname(c), name);
			continue;
		}
		f = add(c, "capability-needed", MIG_NO_OFFSET, NULL);
		msg(c, f, "the target needs migration capability '%s' (%s)",
		    name, cap_why(name));
		cause(c, f,
		      "Run migrate-set-capabilities with %s on the target after starting it with -incoming defer and before migrate-incoming, or the load fails.",
		      name);
	}
}

/* ------------------------------------------------------------------ */
/* The stream                                                          */

static void check_config(struct vctx *c)
{
	const struct mig_stream *s = c->s;
	struct mig_finding *f;

	if (!s->complete && !s->records && !s->has_config)
		return;		/* nothing was read: the parse error says why */
	if (s->has_config && !c->configuration) {
		f = add(c, "configuration-unexpected", s->config_offset, NULL);
		msg(c, f, "the stream has a configuration record; the target is set to expect none");
		qline(c, f, "Unknown savevm section type 7");
		failed(c, f, "Invalid argument");
		cause(c, f,
		      "The target reads the configuration record as a section and stops. Start it without -global migration.send-configuration=off (its machine type's default sends and expects one).");
		return;
	}
	if (!s->has_config && c->configuration) {
		f = add(c, "configuration-missing", 8, NULL);
		msg(c, f, "the stream has no configuration record; the target expects one");
		qline(c, f, "Configuration section missing");
		failed(c, f, "Invalid argument");
		cause(c, f,
		      "The source was saved with -global migration.send-configuration=off (or a machine type of QEMU 2.3 or older). Start the target with -global migration.send-configuration=off%s.",
		      c->machine ? "" : " and the VM's machine type");
		return;
	}
	if (!s->has_config)
		return;
	if (c->machine && s->machine &&
	    strncmp(s->machine, c->machine, strlen(s->machine))) {
		f = add(c, "machine-mismatch", s->config_offset, NULL);
		msg(c, f, "the stream was saved on machine type '%s'; the target runs '%s'",
		    s->machine, c->machine);
		qline(c, f, "Machine type received is '%s' and local is '%s'",
		      s->machine, c->machine);
		failed(c, f, "Invalid argument");
		cause(c, f,
		      "Start the target with -machine %s: the machine type cannot change during migration.",
		      s->machine);
	}
	if (s->has_uuid) {
		f = add(c, "uuid", s->config_offset, NULL);
		msg(c, f, "the configuration record carries the source's UUID");
		cause(c, f,
		      "With validate-uuid on, the target must run with the same -uuid, or it refuses the stream (\"UUID received is ... and local is ...\").");
	}
}

/* The first section record, and where its footer is (or would be). */
static const struct mig_record *first_section(const struct mig_stream *s)
{
	for (const struct mig_record *r = s->records; r; r = r->next)
		if (r->type == MIG_REC_START || r->type == MIG_REC_FULL ||
		    r->type == MIG_REC_PART || r->type == MIG_REC_END)
			return r;
	return NULL;
}

static void check_footers(struct vctx *c)
{
	const struct mig_record *r = first_section(c->s);
	struct mig_finding *f;
	uint64_t at;

	if (!r || !r->size)
		return;
	at = r->payload_offset + r->payload_size;
	if (c->s->footers && !c->footers) {
		f = add(c, "footer-unexpected", at, r);
		msg(c, f, "section '%s' is followed by a footer; the target is set to expect none",
		    r->name);
		qline(c, f, "Unknown savevm section type 126");
		failed(c, f, "Invalid argument");
		cause(c, f,
		      "The target reads the footer as the next record and stops. Start it without -global migration.send-section-footer=off (its machine type's default expects footers).");
	} else if (!c->s->footers && c->footers) {
		f = add(c, "footer-missing", at, r);
		msg(c, f, "section '%s' has no footer; the target expects one after every section",
		    r->name);
		qline(c, f, "Missing section footer for %s", r->name);
		failed(c, f, "Invalid argument");
		cause(c, f,
		      "The source was saved with -global migration.send-section-footer=off (or a machine type of QEMU 2.3 or older). Start the target with -global migration.send-section-footer=off.");
	}
}

static void check_command(struct vctx *c, const struct mig_record *rec)
{
	const char *since = rec->cmd < MIG_CMD_MAX ? cmd_since[rec->cmd] : NULL;
	const char *name = mig_cmd_name(rec->cmd);
	struct mig_finding *f;

	if (!since || (c->qemu && mig_version_cmp(c->qemu, since) < 0)) {
		f = add(c, "unknown-command", rec->offset, NULL);
		msg(c, f, "command %s (0x%x) is not known to QEMU %s",
		    name ? name : "?", rec->cmd, qname(c));
		qline(c, f, "MIG_CMD 0x%x unknown (len 0x%x)", rec->cmd,
		      rec->cmd_len);
		failed(c, f, "Invalid argument");
		if (rec->cmd == MIG_CMD_SWITCHOVER_START)
			cause(c, f,
			      "QEMU 10.0 and later send SWITCHOVER_START on machine types 10.0 and newer. Save the VM on a 9.2 or older machine type, or with -global migration.send-switchover-start=off on the source.");
		else if (since)
			cause(c, f,
			      "QEMU %s added this command after QEMU %s. Save the VM without the feature that sends it.",
			      since, qname(c));
		else
			cause(c, f,
			      "No QEMU known to migstream sends this command; the stream is damaged or from a newer QEMU.");
		return;
	}
	if (rec->cmd == MIG_CMD_OPEN_RETURN_PATH) {
		f = add(c, "return-path", rec->offset, NULL);
		msg(c, f, "the stream opens a return path (OPEN_RETURN_PATH)");
		cause(c, f,
		      "Commands that answer the source (PING, postcopy) need a two-way channel: load it with tcp:, unix: or exec:, not file:.");
	}
}

/* A block named after a device's qdev path ("0000:00:07.0/vga.vram"). */
static bool device_block(const char *name)
{
	return strncmp(name, "/rom@", 5) && strchr(name, '/');
}

static void check_ram(struct vctx *c)
{
	const struct mig_stream *s = c->s;
	const struct mig_record *comp = NULL, *flush = NULL, *start = NULL;
	struct mig_finding *f;
	char list[400];
	size_t nl = 0, nb = 0;
	const char *first = NULL;
	uint64_t first_off = 0;

	for (const struct mig_record *rec = s->records; rec; rec = rec->next) {
		if (rec->kind != MIG_SEC_RAM)
			continue;
		if (!start && rec->type == MIG_REC_START)
			start = rec;
		if (!comp && rec->ram.compressed)
			comp = rec;
		if (!flush && rec->ram.flushes)
			flush = rec;
	}
	if (comp && c->qemu && mig_version_cmp(c->qemu, COMPRESS_UNTIL) > 0) {
		f = add(c, "ram-flag-unknown", comp->payload_offset, comp);
		msg(c, f, "RAM pages compressed with zlib (COMPRESS_PAGE, flag 0x100) are not known to QEMU %s",
		    qname(c));
		qline(c, f, "Unknown combination of migration flags: 0x%x",
		      RAM_FLAG_COMPRESS_PAGE);
		device_line(c, f, comp);
		failed(c, f, "Invalid argument");
		cause(c, f,
		      "QEMU removed the compress capability after %s. Save the VM again without compress.",
		      COMPRESS_UNTIL);
	}
	if (flush && c->qemu && mig_version_cmp(c->qemu, FLUSH_SINCE) < 0) {
		f = add(c, "ram-flag-unknown", flush->payload_offset, flush);
		msg(c, f, "multifd flush records (flag 0x200) are not known to QEMU %s",
		    qname(c));
		qline(c, f, "Unknown combination of migration flags: 0x%x",
		      RAM_FLAG_MULTIFD_FLUSH);
		device_line(c, f, flush);
		failed(c, f, "Invalid argument");
		cause(c, f,
		      "Sources of QEMU %s and later send them on machine types %s and newer with multifd. Save the VM on an older machine type or with -global migration.multifd-flush-after-each-section=on.",
		      FLUSH_SINCE, FLUSH_SINCE);
	}
	list[0] = '\0';
	for (size_t i = 0; i < s->nram_blocks; i++) {
		const struct mig_ram_block *b = &s->ram_blocks[i];

		if (!device_block(b->name))
			continue;
		if (!nb++) {
			first = b->name;
			first_off = b->offset;
		}
		if (nl < sizeof(list) - 1)
			nl += (size_t)snprintf(list + nl, sizeof(list) - nl,
					       "%s%s (%" PRIu64 " %s)",
					       nb > 1 ? ", " : "", b->name,
					       b->length >= (1u << 20) ? b->length >> 20
								       : b->length >> 10,
					       b->length >= (1u << 20) ? "MiB" : "KiB");
		if (nl > sizeof(list) - 1)
			nl = sizeof(list) - 1;
	}
	if (nb) {
		f = add(c, "ram-block-device", first_off, start);
		path(c, f, first);
		msg(c, f, "%zu RAM block%s belong%s to devices: %s", nb,
		    nb == 1 ? "" : "s", nb == 1 ? "s" : "", list);
		cause(c, f,
		      "The target must create the same blocks: the same devices at the same addresses, with the same memory sizes and option ROM files no larger, or it stops with \"Unknown ramblock\" or a size mismatch.");
	}
}

/* ------------------------------------------------------------------ */
/* Device sections                                                     */

/*
 * Sections a QEMU version loads that no schema can learn: not a qdev
 * device (so not in -dump-vmstate) and never sent by that version (so in
 * no stream of it).  A supplement until schemas carry them; each has no
 * fields.
 */
static const struct {
	const char *name;
	const char *since;
	uint32_t version;
	bool opaque;		/* custom save code: bytes not checked */
} quiet_sections[] = {
	/* audio/audio.c vmstate_audio: an empty description whose .needed
	 * says no; "this vmstate only exists in case an old qemu sends it
	 * to us" (5.2 sends it). */
	{ "audio", "5.2", 1, false },
	/* net/slirp.c: register_savevm_live("slirp", ...) with libslirp's
	 * own state format, for -netdev user (FORMAT.md 2.10). */
	{ "slirp", "2.0", 0, true },
};

/* Iterative sections other than RAM that no schema describes. */
static bool iterative_name(const char *name)
{
	static const char *const names[] = {
		"dirty-bitmap", "block", "spapr/htab", "s390-storage_attributes",
	};
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return true;
	return n >= 5 && !strcmp(name + n - 5, "/vfio");
}

static void section_version(struct vctx *c, const struct mig_record *rec,
			    const struct tl_outcome *o)
{
	struct mig_finding *f = add(c, "section-version", rec->offset, rec);

	path(c, f, o->path);
	if (o->got > o->want) {
		msg(c, f, "section '%s' is version %" PRIu32 "; QEMU %s reads '%s' up to version %" PRIu32,
		    rec->name, o->got, qname(c), o->name, o->want);
		qline(c, f, "savevm: unsupported version %" PRIu32 " for '%s' v%" PRIu32,
		      o->got, rec->name, o->want);
		failed(c, f, "Invalid argument");
		cause(c, f,
		      "The source's QEMU writes this device's state in a newer version than QEMU %s can read, whatever the machine type. Migrate without this device, or to a QEMU that reads version %" PRIu32 ".",
		      qname(c), o->got);
	} else {
		msg(c, f, "section '%s' is version %" PRIu32 "; QEMU %s reads '%s' from version %" PRIu32,
		    rec->name, o->got, qname(c), o->name, o->want);
		qline(c, f, "%s: incoming version_id %" PRIu32 " is too old for local minimum version_id  %" PRIu32,
		      o->name, o->got, o->want);
		failed_in(c, f, rec, o);
		failed(c, f, "Invalid argument");
		cause(c, f,
		      "QEMU %s no longer reads the old version the source wrote. Migrate through an intermediate QEMU that reads version %" PRIu32 " and writes a newer one.",
		      qname(c), o->got);
	}
}

/* What a layout that ends at the wrong place makes QEMU print. */
static void layout_lines(struct vctx *c, struct mig_finding *f,
			 const struct mig_record *rec, const struct tl_outcome *o,
			 uint64_t at)
{
	const uint8_t *p = NULL;
	struct mig_error e;

	mig_error_clear(&e);
	if (at != MIG_NO_OFFSET && c->r && !mig_rd_seek(c->r, at, &e) &&
	    !mig_rd_peek(c->r, 1, &p, &e)) {
		if (!c->footers) {
			qline(c, f, "Unknown savevm section type %u", p[0]);
		} else if (p[0] != MIG_REC_FOOTER) {
			qline(c, f, "Missing section footer for %s", rec->name);
		} else if (!mig_rd_peek(c->r, 5, &p, &e)) {
			uint32_t id = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
				      (uint32_t)p[3] << 8 | p[4];

			qline(c, f, "Mismatched section id in footer for %s - read 0x%" PRIx32 " expected 0x%" PRIx32,
			      rec->name, id, rec->section_id);
		} else {
			qline(c, f, "check_section_footer: Read section footer failed: -5");
		}
		failed(c, f, "Invalid argument");
		return;
	}
	/* The layout runs past the end of the input. */
	failed_in(c, f, rec, o);
	failed(c, f, "Input/output error");
}

static void field_layout(struct vctx *c, const struct mig_record *rec,
			 const struct tl_outcome *o, uint64_t end)
{
	struct mig_finding *f;
	uint64_t at = o->kind == TL_END ? o->end_at : o->offset;

	/* Where the target first reads what the source did not write there:
	 * the first field that parts, else where the data or the layout
	 * ends, whichever is first. */
	f = add(c, "field-layout",
		o->diverged ? o->div_offset
			    : o->kind == TL_END && at > end ? end : at, rec);
	path(c, f, o->diverged ? o->div_target : o->path);
	if (o->kind == TL_END && o->end_at < end)
		msg(c, f, "QEMU %s's layout of '%s' ends at 0x%" PRIx64 ", %" PRIu64 " byte%s before the section's data does",
		    qname(c), o->vmsd ? o->vmsd->name : rec->name, o->end_at,
		    end - o->end_at, end - o->end_at == 1 ? "" : "s");
	else if (o->kind == TL_END)
		msg(c, f, "QEMU %s's layout of '%s' ends at 0x%" PRIx64 ", %" PRIu64 " byte%s after the section's data",
		    qname(c), o->vmsd ? o->vmsd->name : rec->name, o->end_at,
		    o->end_at - end, o->end_at - end == 1 ? "" : "s");
	else
		msg(c, f, "QEMU %s reads past the end of the input in '%s'",
		    qname(c), o->path);
	layout_lines(c, f, rec, o, o->kind == TL_TRUNC ? MIG_NO_OFFSET : at);
	if (o->diverged && o->div_source[0])
		cause(c, f,
		      "At 0x%" PRIx64 " QEMU %s reads '%s' (%" PRIu64 " bytes) where the source wrote '%s' (%" PRIu64 " bytes): the two versions lay out this device's state differently, and the target's reading then misses the section's end. This device's state cannot move between these versions; migrate without it, or see `migstream schema diff`.",
		      o->div_offset, qname(c), o->div_target,
		      o->div_target_size, o->div_source, o->div_source_size);
	else if (o->diverged)
		cause(c, f,
		      "At 0x%" PRIx64 " QEMU %s reads '%s' (%" PRIu64 " bytes), which the source did not write: the two versions lay out this device's state differently. This device's state cannot move between these versions; migrate without it, or see `migstream schema diff`.",
		      o->div_offset, qname(c), o->div_target,
		      o->div_target_size);
	else
		cause(c, f,
		      "QEMU %s lays out this device's state differently from the source's version. This device's state cannot move between these versions; migrate without it, or see `migstream schema diff`.",
		      qname(c));
}

static void unknown_subsection(struct vctx *c, const struct mig_record *rec,
			       const struct tl_outcome *o)
{
	struct mig_finding *f = add(c, "unknown-subsection", o->offset, rec);
	const struct mig_svmsd *pv = NULL;
	bool virtio = strstr(o->path, ".virtio{") != NULL;

	path(c, f, o->path);
	for (size_t i = 0; i < c->t->nvmsds && !pv; i++)
		if (!strcmp(c->t->vmsds[i].name, o->parent))
			pv = &c->t->vmsds[i];
	if (pv) {
		int n = (int)pv->nsubs;

		if (pv->origin == MIG_ORIGIN_VMDESC &&
		    tl_names_count(c->qemu, o->parent) > n)
			n = tl_names_count(c->qemu, o->parent);
		msg(c, f, "subsection '%s' of '%s' is not known to QEMU %s (it knows %d subsection%s of '%s')",
		    o->name, o->parent, qname(c), n, n == 1 ? "" : "s",
		    o->parent);
	}
	else
		msg(c, f, "subsection '%s' of '%s'%s is not known to QEMU %s",
		    o->name, o->parent,
		    virtio ? " (inside the opaque virtio state)" : "",
		    qname(c));
	if (o->partial && f && f->message) {
		char *m = NULL;

		if (asprintf(&m, "%s; its schema learned '%s' from streams only, so that list may be incomplete",
			     f->message, o->parent) < 0)
			c->nomem = true;
		free(f->message);
		f->message = m;
	}
	/* 5.2, 7.2 and 10.0 print nothing of their own: the subsection
	 * loader returns ENOENT. */
	failed_in(c, f, rec, o);
	failed(c, f, "No such file or directory");
	cause(c, f,
	      "The source sent '%s' because the state it carries was in use (its .needed test held); QEMU %s cannot read it. Save the VM in a state where the source does not send it, or strip it with `migstream downgrade --target qemu-%s` if dropping that state is acceptable.",
	      o->name, qname(c), qname(c));
}

static void subsection_version(struct vctx *c, const struct mig_record *rec,
			       const struct tl_outcome *o)
{
	struct mig_finding *f = add(c, "subsection-version", o->offset, rec);

	path(c, f, o->path);
	if (o->kind == TL_VERSION_NEW) {
		msg(c, f, "'%s' is version %" PRIu32 "; QEMU %s reads up to %" PRIu32,
		    o->name, o->got, qname(c), o->want);
		qline(c, f, "%s: incoming version_id %" PRIu32 " is too new for local version_id %" PRIu32,
		      o->name, o->got, o->want);
	} else {
		msg(c, f, "'%s' is version %" PRIu32 "; QEMU %s reads from %" PRIu32,
		    o->name, o->got, qname(c), o->want);
		qline(c, f, "%s: incoming version_id %" PRIu32 " is too old for local minimum version_id  %" PRIu32,
		      o->name, o->got, o->want);
	}
	failed_in(c, f, rec, o);
	failed(c, f, "Invalid argument");
	cause(c, f,
	      "The source's QEMU writes '%s' in a version QEMU %s does not read. Migrate without the device, or to a QEMU that reads version %" PRIu32 ".",
	      o->name, qname(c), o->got);
}

/* Risks and notes of a layout that fits. */
static void section_risks(struct vctx *c, const struct mig_record *rec,
			  const struct tl_outcome *o)
{
	struct mig_finding *f;
	char buf[600];
	size_t n = 0;

	if (o->ndecided) {
		f = add(c, "unknown-condition", o->decided[0].offset, rec);
		path(c, f, o->decided[0].field);
		buf[0] = '\0';
		for (unsigned i = 0; i < o->ndecided && n < sizeof(buf) - 1; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
					      "%s%s (%s) taken as %s",
					      i ? "; " : "", o->decided[i].field,
					      o->decided[i].cond,
					      o->decided[i].answer ? "true" : "false");
		msg(c, f, "%u condition%s of QEMU %s's '%s' %s not known to its schema: %s",
		    o->ndecided, o->ndecided == 1 ? "" : "s", qname(c),
		    o->vmsd ? o->vmsd->name : rec->name,
		    o->ndecided == 1 ? "is" : "are", buf);
		cause(c, f,
		      "Only these answers make the target's layout end where the section does (%u of %u layouts tried fit). If QEMU %s answers otherwise on the target it refuses the stream; curate the condition in the schema to be sure.",
		      o->fits, o->tries, qname(c));
	}
	if (o->nrenamed) {
		f = add(c, "field-names", o->renamed_offset, rec);
		path(c, f, o->renamed_path);
		msg(c, f, "QEMU %s reads %u field%s of '%s' under other names than the source wrote; the first: '%s' where the source wrote '%s'",
		    qname(c), o->nrenamed, o->nrenamed == 1 ? "" : "s",
		    rec->name, o->renamed_target, o->renamed_source);
		cause(c, f,
		      "The layouts match byte for byte, so QEMU loads it; if these are not mere renames, state lands in the wrong fields. Check the device's vmstate history between the two versions.");
	}
	if (o->nequal) {
		n = 0;
		buf[0] = '\0';
		for (unsigned i = 0; i < o->nequal && n < sizeof(buf) - 1; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
					      "%s%s = 0x%" PRIx64, i ? ", " : "",
					      o->equal[i].path, o->equal[i].value);
		f = add(c, "equal-field", o->equal[0].offset, rec);
		path(c, f, o->equal[0].path);
		msg(c, f, "QEMU %s compares %s%u field%s with its own value: %s",
		    qname(c), o->nequal >= TL_EQUAL_MAX ? "at least " : "",
		    o->nequal, o->nequal == 1 ? "" : "s", buf);
		cause(c, f,
		      "A different value on the target (another device configuration or machine type) makes it refuse the stream, printing the two values \"local != received\". Give the target the same configuration.");
	}
	if (o->nopaque) {
		if (!c->nopaque)
			c->opaque_offset = rec->offset;
		if (!c->nopaque)
			snprintf(c->opaque_first, sizeof(c->opaque_first), "%s",
				 o->opaque_first);
		c->nopaque += o->nopaque;
	}
}

static void section_in(const struct vctx *c, const struct mig_record *rec,
		       struct tl_section *in)
{
	*in = (struct tl_section){
		.r = c->r,
		.s = c->t,
		.machine = c->m,
		.machine_name = c->machine,
		.qemu = c->qemu,
		.idstr = rec->name,
		.instance = rec->instance,
		.version = rec->version,
		.section_id = rec->section_id,
		.start = rec->payload_offset,
		.end = rec->payload_offset + rec->payload_size,
		.src = rec->tree,
		.caps = c->caps,
		.ncaps = c->ncaps,
	};
}

static void check_section(struct vctx *c, const struct mig_record *rec)
{
	struct tl_section in;
	struct tl_outcome o;
	struct mig_error e;
	struct mig_finding *f;
	const struct mig_svmsd *cand[1];

	section_in(c, rec, &in);
	if (!mig_schema_section_vmsds(c->t, rec->name, cand, 1)) {
		for (size_t i = 0; i < sizeof(quiet_sections) / sizeof(quiet_sections[0]); i++) {
			if (strcmp(quiet_sections[i].name, rec->name) ||
			    !qemu_at_least(c, quiet_sections[i].since))
				continue;
			if (quiet_sections[i].opaque) {
				f = add(c, "unchecked", rec->offset, rec);
				msg(c, f, "QEMU %s reads section '%s' with its own code, not a vmstate description",
				    qname(c), rec->name);
				cause(c, f,
				      "Its bytes are not checked; its format is that of the library behind it (libslirp for 'slirp').");
			} else if (rec->version > quiet_sections[i].version) {
				struct tl_outcome vo = { .got = rec->version,
							 .want = quiet_sections[i].version };

				snprintf(vo.name, sizeof(vo.name), "%s", rec->name);
				snprintf(vo.path, sizeof(vo.path), "%s", rec->name);
				section_version(c, rec, &vo);
			} else if (rec->payload_size) {
				struct tl_outcome lo = { .kind = TL_END,
							 .end_at = rec->payload_offset,
							 .offset = rec->payload_offset };

				snprintf(lo.path, sizeof(lo.path), "%s", rec->name);
				field_layout(c, rec, &lo, in.end);
			}
			return;
		}
		if (iterative_name(rec->name) || rec->type == MIG_REC_START) {
			f = add(c, "unchecked", rec->offset, rec);
			msg(c, f, "iterative section '%s' is not described by schemas", rec->name);
			cause(c, f,
			      "migstream does not model this section's loader; whether QEMU %s takes it is not checked.",
			      qname(c));
			return;
		}
		f = add(c, "unknown-section", rec->offset, rec);
		msg(c, f, "QEMU %s has no device that saves section '%s'",
		    qname(c), rec->name);
		qline(c, f, "Unknown savevm section or instance '%s' %" PRIu32 ". Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices",
		      rec->name, rec->instance);
		failed(c, f, "Invalid argument");
		cause(c, f,
		      "The source VM has a device (or a device state) QEMU %s does not have. Remove the device from the source VM before saving, or load on a QEMU that has it.",
		      qname(c));
		return;
	}
	if (!c->r || !rec->size) {
		f = add(c, "unchecked", rec->offset, rec);
		msg(c, f, "section '%s' was checked by name only", rec->name);
		cause(c, f, "The input could not be read again (a pipe); its fields were not checked against QEMU %s.",
		      qname(c));
		return;
	}
	if (c->work > MIG_STREAM_WORK_MAX) {
		/* Sections of a few bytes may each cost a section's budget
		 * of steps: past the stream's, the rest go unchecked. */
		f = add(c, "unchecked", rec->offset, rec);
		msg(c, f, "section '%s' was not checked: checking this stream took more than %u steps",
		    rec->name, MIG_STREAM_WORK_MAX);
		cause(c, f, "The sections before it cost all the work migstream allows for one stream; whether QEMU %s takes this one is not checked.",
		      qname(c));
		return;
	}
	mig_error_clear(&e);
	if (tl_check_section(&in, &o, &e)) {
		if (e.code == MIG_ENOMEM)
			c->nomem = true;
		f = add(c, "unchecked", rec->offset, rec);
		msg(c, f, "section '%s' could not be read again: %s", rec->name,
		    e.msg);
		return;
	}
	c->work += o.work;
	switch (o.kind) {
	case TL_FITS:
		section_risks(c, rec, &o);
		break;
	case TL_NO_VMSD:
		break;
	case TL_VERSION_NEW:
	case TL_VERSION_OLD:
		if (o.vmsd && !strcmp(o.name, o.vmsd->name) &&
		    o.offset == rec->payload_offset)
			section_version(c, rec, &o);
		else
			subsection_version(c, rec, &o);
		break;
	case TL_UNKNOWN_SUB:
		unknown_subsection(c, rec, &o);
		break;
	case TL_END:
	case TL_TRUNC:
		field_layout(c, rec, &o, in.end);
		break;
	case TL_MARKER:
		f = add(c, "bad-marker", o.offset, rec);
		path(c, f, o.path);
		msg(c, f, "%s", o.why);
		if (strstr(o.why, "NULL pointer"))
			qline(c, f, "vmstate: get_nullptr expected VMS_NULLPTR_MARKER");
		failed_in(c, f, rec, &o);
		failed(c, f, "Invalid argument");
		cause(c, f,
		      "QEMU %s reads a marker byte here that the source did not write: the layouts differ before this point.",
		      qname(c));
		break;
	case TL_UNFRAMED:
		f = add(c, "unchecked", o.offset, rec);
		path(c, f, o.path);
		msg(c, f, "%s", o.why);
		cause(c, f,
		      "The target's schema cannot frame this section, so whether QEMU %s loads it is not known. Curate the schema to check it.",
		      qname(c));
		break;
	}
}

/* ------------------------------------------------------------------ */
/* A stream the parser could not read to the end                       */

static const struct mig_record *last_record(const struct mig_stream *s)
{
	return s->last;
}

static void parse_error(struct vctx *c, int code, const struct mig_error *pe)
{
	const struct mig_record *rec = last_record(c->s);
	uint64_t off = pe ? pe->offset : MIG_NO_OFFSET;
	const char *pmsg = pe && pe->msg[0] ? pe->msg : mig_strerror(code);
	bool sec = rec && (rec->type == MIG_REC_START || rec->type == MIG_REC_FULL ||
			   rec->type == MIG_REC_PART || rec->type == MIG_REC_END);
	struct mig_finding *f;

	if (code < 0)
		code = -code;
	switch (code) {
	case MIG_EMAGIC:
	case MIG_EVERSION:
		f = add(c, "bad-header", off, NULL);
		msg(c, f, "%s", pmsg);
		if (code == MIG_EMAGIC)
			qline(c, f, "Not a migration stream");
		else if (c->s->file_version == MIG_FILE_VERSION_COMPAT)
			qline(c, f, "SaveVM v2 format is obsolete and don't work anymore");
		else
			qline(c, f, "Unsupported migration stream version");
		failed(c, f, "Invalid argument");
		cause(c, f, "This is not a QEMU migration stream any QEMU 2.x or later reads (is it wrapped in something migstream did not recognise?).");
		return;
	case MIG_ETRUNC:
		f = add(c, "truncated", off, sec ? rec : NULL);
		msg(c, f, "%s", pmsg);
		if (sec && rec->payload_size && off >= rec->payload_offset + rec->payload_size) {
			qline(c, f, "check_section_footer: Read section footer failed: -5");
			failed(c, f, "Invalid argument");
		} else if (sec && rec->kind == MIG_SEC_RAM) {
			qline(c, f, "Unknown combination of migration flags: 0x0");
			device_line(c, f, rec);
			failed(c, f, "Invalid argument");
		} else if (sec && !rec->name) {
			qline(c, f, "Unable to read ID string for section %" PRIu32,
			      rec->section_id);
			failed(c, f, "Invalid argument");
		} else if (sec) {
			/* Where in the target's layout the input ends says
			 * which fields QEMU names. */
			struct tl_section in;
			struct tl_outcome o;
			struct mig_error e;

			section_in(c, rec, &in);
			in.end = c->r ? mig_rd_size(c->r) : MIG_NO_OFFSET;
			mig_error_clear(&e);
			if (c->r && in.end != MIG_NO_OFFSET &&
			    !tl_check_section(&in, &o, &e) && o.kind == TL_TRUNC)
				failed_in(c, f, rec, &o);
			else
				device_line(c, f, rec);
			failed(c, f, "Input/output error");
		} else {
			failed(c, f, "Input/output error");
		}
		cause(c, f,
		      "The stream was cut short: the save did not finish, or the copy is incomplete. Save the VM again; no QEMU loads a partial stream.");
		return;
	case MIG_ERECORD: {
		const uint8_t *p = NULL;
		struct mig_error e;

		f = add(c, "malformed", off, NULL);
		msg(c, f, "%s", pmsg);
		mig_error_clear(&e);
		if (c->r && off != MIG_NO_OFFSET && !mig_rd_seek(c->r, off, &e) &&
		    !mig_rd_peek(c->r, 1, &p, &e))
			qline(c, f, "Unknown savevm section type %u", p[0]);
		failed(c, f, "Invalid argument");
		cause(c, f, "A byte where a record starts is no record type: the stream is damaged here, or an earlier section is longer than its header says.");
		return;
	}
	case MIG_EFOOTER:
		f = add(c, "malformed", off, sec ? rec : NULL);
		msg(c, f, "%s", pmsg);
		if (sec && strstr(pmsg, "mismatched")) {
			const uint8_t *p = NULL;
			struct mig_error e;

			mig_error_clear(&e);
			if (c->r && !mig_rd_seek(c->r, off, &e) &&
			    !mig_rd_peek(c->r, 4, &p, &e))
				qline(c, f, "Mismatched section id in footer for %s - read 0x%" PRIx32 " expected 0x%" PRIx32,
				      rec->name,
				      (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
					      (uint32_t)p[2] << 8 | p[3],
				      rec->section_id);
		} else if (sec) {
			qline(c, f, "Missing section footer for %s", rec->name);
		}
		failed(c, f, "Invalid argument");
		cause(c, f, "The section's footer is damaged, or the section's data is not as long as its layout: the stream was altered after QEMU wrote it.");
		return;
	case MIG_ECMD: {
		const uint8_t *p = NULL;
		struct mig_error e;
		unsigned cmd = 0, len = 0;

		mig_error_clear(&e);
		if (rec && rec->type == MIG_REC_COMMAND && c->r &&
		    !mig_rd_seek(c->r, rec->offset + 1, &e) &&
		    !mig_rd_peek(c->r, 4, &p, &e)) {
			cmd = (unsigned)p[0] << 8 | p[1];
			len = (unsigned)p[2] << 8 | p[3];
		}
		if (strstr(pmsg, "unknown command")) {
			f = add(c, "unknown-command", rec ? rec->offset : off, NULL);
			msg(c, f, "%s", pmsg);
			qline(c, f, "MIG_CMD 0x%x unknown (len 0x%x)", cmd, len);
			failed(c, f, "Invalid argument");
			cause(c, f, "No QEMU known to migstream sends this command; the stream is damaged or from a newer QEMU.");
		} else {
			int fixed = mig_cmd_fixed_len((int)cmd);

			f = add(c, "command-length", rec ? rec->offset : off, NULL);
			msg(c, f, "%s", pmsg);
			if (fixed >= 0 && cmd < MIG_CMD_MAX && cmd_qemu_names[cmd])
				qline(c, f, "%s received with bad length - expecting %d, got %u",
				      cmd_qemu_names[cmd], fixed, len);
			failed(c, f, "Invalid argument");
			cause(c, f, "The command's length field is not what QEMU expects: the stream is damaged.");
		}
		return;
	}
	case MIG_ESECTION:
		f = add(c, "malformed", off, NULL);
		msg(c, f, "%s", pmsg);
		if (strstr(pmsg, "empty name") && rec)
			qline(c, f, "Unable to read ID string for section %" PRIu32,
			      rec->section_id);
		else if (strstr(pmsg, "unknown section id") && rec)
			qline(c, f, "Unknown savevm section %" PRIu32, rec->section_id);
		failed(c, f, "Invalid argument");
		cause(c, f, "A section header is damaged.");
		return;
	case MIG_ERAM:
	case MIG_ECONFIG:
		f = add(c, "malformed", off, sec ? rec : NULL);
		msg(c, f, "%s", pmsg);
		if (sec)
			device_line(c, f, rec);
		failed(c, f, "Invalid argument");
		cause(c, f, "migstream cannot read this record, so neither would QEMU: the stream is damaged or uses a feature migstream does not know.");
		return;
	default:
		/* The vmdesc or its agreement with the payload: QEMU never
		 * reads the vmdesc, so this says nothing about the load. */
		f = add(c, "unchecked", off, sec ? rec : NULL);
		msg(c, f, "migstream stopped reading at 0x%" PRIx64 ": %s",
		    off, pmsg);
		cause(c, f, "The rest of the stream was not checked; QEMU, which does not read the vmdesc, may still load it.");
		return;
	}
}

/* ------------------------------------------------------------------ */
/* The walk                                                            */

static bool startup(const struct mig_finding *f)
{
	return f->offset == MIG_NO_OFFSET;
}

/* Stable: equal offsets keep the order they were found in. */
static void sort_findings(struct mig_report *rep)
{
	for (size_t i = 1; i < rep->nfindings; i++) {
		struct mig_finding t = rep->findings[i];
		size_t j = i;

		while (j > 0 && ((startup(&t) && !startup(&rep->findings[j - 1])) ||
				 (startup(&t) == startup(&rep->findings[j - 1]) &&
				  t.offset < rep->findings[j - 1].offset))) {
			rep->findings[j] = rep->findings[j - 1];
			j--;
		}
		rep->findings[j] = t;
	}
}

static const char *qemu_of(const struct mig_schema *t)
{
	if (t->qemu)
		return t->qemu;
	if (t->name && !strncmp(t->name, "qemu-", 5))
		return t->name + 5;
	return NULL;
}

int mig_validate(struct mig_reader *r, const struct mig_stream *s,
		 int parse_ret, const struct mig_error *parse_err,
		 const struct mig_schema *t, const struct mig_validate_opts *o,
		 struct mig_report **out, struct mig_error *err)
{
	struct mig_validate_opts defaults;
	struct vctx c;
	struct mig_report *rep;
	const struct mig_record *eof = NULL;

	*out = NULL;
	if (!s || !t)
		return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				     "mig_validate needs a stream and a schema");
	if (!o) {
		mig_validate_opts_init(&defaults);
		o = &defaults;
	}
	rep = calloc(1, sizeof(*rep));
	if (!rep)
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET, "out of memory");
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.t = t;
	c.o = o;
	c.r = r && mig_rd_seekable(r) ? r : NULL;
	c.rep = rep;
	c.qemu = qemu_of(t);
	rep->stream = strdup(s->name ? s->name : "-");
	rep->target = strdup(t->name ? t->name : t->file ? t->file : "?");
	rep->qemu = c.qemu ? strdup(c.qemu) : NULL;
	if (!rep->stream || !rep->target || (c.qemu && !rep->qemu))
		c.nomem = true;

	/* Startup. */
	check_machine(&c);
	if (o->footers >= 0)
		c.footers = o->footers;
	if (o->configuration >= 0)
		c.configuration = o->configuration;
	if (o->vmdesc >= 0)
		c.vmdesc = o->vmdesc;
	if (c.machine && !(rep->machine = strdup(c.machine)))
		c.nomem = true;
	collect_caps(&c);
	check_caps(&c);

	/* qemu_loadvm_state(). */
	if (s->file_version == MIG_FILE_VERSION) {
		check_config(&c);
		check_footers(&c);
	}
	for (const struct mig_record *rec = s->records; rec && !c.nomem;
	     rec = rec->next) {
		switch (rec->type) {
		case MIG_REC_COMMAND:
			check_command(&c, rec);
			break;
		case MIG_REC_START:
		case MIG_REC_FULL:
			if (rec->kind != MIG_SEC_RAM && rec->size)
				check_section(&c, rec);
			break;
		case MIG_REC_EOF:
			eof = rec;
			break;
		default:
			break;
		}
	}
	check_ram(&c);
	if (eof && s->complete && !s->has_vmdesc && c.vmdesc) {
		struct mig_finding *f = add(&c, "vmdesc-missing", eof->offset + 1,
					    NULL);

		msg(&c, f, "the stream ends at its EOF record; QEMU %s on machine type %s expects a vmdesc after it",
		    qname(&c), c.machine ? c.machine : "?");
		qline(&c, f, "Expected vmdescription section, but got 0");
		cause(&c, f,
		      "QEMU only warns and loads the stream. The source ran with -machine suppress-vmdesc=on (or used postcopy); start the target the same way to silence it.");
	}
	if (c.nopaque) {
		struct mig_finding *f = add(&c, "opaque-read", c.opaque_offset,
					    NULL);

		path(&c, f, c.opaque_first);
		msg(&c, f, "%u opaque field%s (QEMU's custom encodings) were read with the sizes the stream's own description gives; the first is %s",
		    c.nopaque, c.nopaque == 1 ? "" : "s", c.opaque_first);
		cause(&c, f,
		      "QEMU %s's schema does not say how long these are; the target runs the same device configuration, so it reads what the source wrote.",
		      qname(&c));
	}
	if (parse_ret)
		parse_error(&c, parse_ret, parse_err);

	if (c.nomem) {
		mig_report_free(rep);
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET, "out of memory");
	}
	sort_findings(rep);
	for (size_t i = 0; i < rep->nfindings; i++) {
		const struct mig_finding *f = &rep->findings[i];

		rep->counts[f->check->severity]++;
		if (f->check->severity == MIG_SEV_REJECT && !rep->first)
			rep->first = f;
	}
	rep->loads = !rep->counts[MIG_SEV_REJECT];
	*out = rep;
	return 0;
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */

/*
 * A JSON string of @s, which may hold bytes from the stream (a damaged
 * subsection name): bytes that are not printable ASCII become "\xNN".
 */
static json_t *jstr(const char *s)
{
	json_t *j;
	char *t, *q;

	if (!s)
		return json_null();
	for (q = (char *)s; *q; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
			break;
	if (!*q)
		return json_string(s);
	t = malloc(strlen(s) * 4 + 1);
	if (!t)
		return NULL;
	q = t;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch > 0x7e)
			q += sprintf(q, "\\x%02x", ch);
		else
			*q++ = (char)ch;
	}
	*q = '\0';
	j = json_string(t);
	free(t);
	return j;
}

static json_t *finding_json(const struct mig_finding *f)
{
	json_t *j = json_object(), *q = json_array();

	if (!j || !q) {
		json_decref(j);
		json_decref(q);
		return NULL;
	}
	/* *_set_new steals the new references. */
	json_object_set_new(j, "check", json_string(f->check->id));
	json_object_set_new(j, "severity",
			    json_string(mig_severity_name(f->check->severity)));
	json_object_set_new(j, "offset", f->offset == MIG_NO_OFFSET
						 ? json_null()
						 : mig_json_u64(f->offset));
	if (f->section) {
		json_object_set_new(j, "section", jstr(f->section));
		json_object_set_new(j, "section_id",
				    json_integer(f->section_id));
		json_object_set_new(j, "instance", json_integer(f->instance));
	} else {
		json_object_set_new(j, "section", json_null());
	}
	json_object_set_new(j, "path", jstr(f->path));
	json_object_set_new(j, "message", jstr(f->message ? f->message : ""));
	for (size_t i = 0; i < f->nqemu; i++)
		json_array_append_new(q, jstr(f->qemu[i]));
	json_object_set_new(j, "qemu", q);
	json_object_set_new(j, "cause", jstr(f->cause ? f->cause : ""));
	return j;
}

json_t *mig_report_json(const struct mig_report *rep)
{
	json_t *j = json_object(), *a = json_array(), *n = json_object();
	bool bad = !j || !a || !n;

	if (bad)
		goto fail;
	json_object_set_new(j, "migstream_validate",
			    json_integer(MIG_VALIDATE_FORMAT_VERSION));
	json_object_set_new(j, "stream", jstr(rep->stream));
	json_object_set_new(j, "target", json_string(rep->target));
	json_object_set_new(j, "qemu", rep->qemu ? json_string(rep->qemu)
						 : json_null());
	json_object_set_new(j, "machine", rep->machine
						  ? json_string(rep->machine)
						  : json_null());
	json_object_set_new(j, "verdict",
			    json_string(rep->loads ? "loads" : "refuses"));
	json_object_set_new(j, "first", rep->first ? finding_json(rep->first)
						   : json_null());
	json_object_set_new(n, "reject",
			    json_integer((json_int_t)rep->counts[MIG_SEV_REJECT]));
	json_object_set_new(n, "risk",
			    json_integer((json_int_t)rep->counts[MIG_SEV_RISK]));
	json_object_set_new(n, "info",
			    json_integer((json_int_t)rep->counts[MIG_SEV_INFO]));
	json_object_set_new(j, "counts", n);
	n = NULL;
	for (size_t i = 0; i < rep->nfindings; i++) {
		json_t *f = finding_json(&rep->findings[i]);

		if (!f || json_array_append_new(a, f))
			goto fail;
	}
	json_object_set_new(j, "findings", a);
	return j;
fail:
	json_decref(j);
	json_decref(a);
	json_decref(n);
	return NULL;
}
