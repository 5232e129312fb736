/* SPDX-License-Identifier: MIT */
/*
 * Downgrade planning (rewrite.h): validate's findings turned into cuts.
 *
 * A round writes the preview of the stream as planned so far (no guest
 * RAM: small), validates it against the target, and maps every reject
 * finding back to the input: a subsection node to cut, a command to drop,
 * a section whose version to lower, footers or configuration to change.
 * Validate reports one failure per section (like QEMU, it stops there), so
 * a section with two unknown subsections takes two rounds.  A finding
 * that comes back after its action, or that no action answers, is a
 * blocker.  Sections named by the caller are dropped before the first
 * round.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migstream/check.h"
#include "migstream/rewrite.h"
#include "migstream/schema.h"

/* Rounds of preview and validate before giving up. */
#define ROUNDS_MAX 32
/* Descriptions one section may use, in a schema. */
#define SECTION_VMSDS_MAX 8

/* A finding acted on: the same one again is a blocker. */
struct done {
	char check[40];
	uint64_t off;		/* input offset, MIG_NO_OFFSET: global */
};

/* A section whose version the plan lowered. */
struct lowered {
	const struct mig_record *rec;
	uint32_t from, to;
};

struct dg {
	const struct mig_stream *s;
	struct mig_reader *r;
	const struct mig_downgrade_opts *o;
	const struct mig_offmap *map;	/* offsets of @s -> reported */
	struct mig_downgrade *d;
	struct mig_error *err;
	struct done *done;		/* findings acted on */
	size_t ndone;
	struct done *blocked;		/* findings made blockers */
	size_t nblocked;
	struct lowered *low;
	size_t nlow;
	const char *qemu;		/* target version, "5.2" */
	const struct mig_offmap *pmap;	/* preview -> @s, this round */
};

static int nomem(struct dg *c)
{
	return mig_error_set(c->err, MIG_ENOMEM, MIG_NO_OFFSET,
			     "out of memory");
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* Offset @off of the stream validated this round, as an offset of @s. */
static uint64_t pin(const struct mig_offmap *pmap, uint64_t off)
{
	return pmap ? mig_offmap_input(pmap, off) : off;
}

/* The offset of @off of @s as reported. */
static uint64_t shown(const struct dg *c, uint64_t off)
{
	if (off == MIG_NO_OFFSET || !c->map)
		return off;
	return mig_offmap_input(c->map, off);
}

static const char *target_name(const struct dg *c)
{
	return c->o->target->name ? c->o->target->name : "the target";
}

/* The innermost record that holds input offset @off. */
static const struct mig_record *rec_at(const struct mig_stream *s,
				       uint64_t off)
{
	const struct mig_record *found = NULL;

	for (const struct mig_record *rec = s->records; rec; rec = rec->next) {
		if (rec->offset > off)
			break;
		if (off - rec->offset < rec->size ||
		    (rec->size == 0 && off == rec->offset))
			found = rec;
	}
	return found;
}

/* The node of @kind at exactly @off in @n, the deepest one. */
static const struct mig_node *node_at(const struct mig_node *n, uint64_t off,
				      enum mig_node_kind kind)
{
	const struct mig_node *best = NULL;

	if (!n || off < n->offset ||
	    off - n->offset >= n->size + (n->size == 0))
		return NULL;
	if (n->kind == kind && n->offset == off)
		best = n;
	for (const struct mig_node *ch = n->child; ch; ch = ch->next) {
		const struct mig_node *f = node_at(ch, off, kind);

		if (f)
			return f;
	}
	return best;
}

/* The leaf (a node without children) that holds @off. */
static const struct mig_node *leaf_at(const struct mig_node *n, uint64_t off)
{
	if (!n || off < n->offset || off - n->offset >= n->size)
		return NULL;
	if (!n->child)
		return n;
	for (const struct mig_node *ch = n->child; ch; ch = ch->next) {
		const struct mig_node *f = leaf_at(ch, off);

		if (f)
			return f;
	}
	return NULL;
}

static bool in_set(const struct done *v, size_t n, const char *check,
		   uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].off == off && !strcmp(v[i].check, check))
			return true;
	return false;
}

static int add_to_set(struct dg *c, struct done **v, size_t *n,
		      const char *check, uint64_t off)
{
	struct done *nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return nomem(c);
	*v = nv;
	snprintf(nv[*n].check, sizeof(nv[*n].check), "%s", check);
	nv[*n].off = off;
	(*n)++;
	return 0;
}

static const struct lowered *lowered_of(const struct dg *c,
					const struct mig_record *rec)
{
	for (size_t i = 0; i < c->nlow; i++)
		if (c->low[i].rec == rec)
			return &c->low[i];
	return NULL;
}

static int add_item(struct dg *c, enum mig_dg_kind kind, bool loses,
		    const struct mig_record *rec, const struct mig_node *node,
		    uint64_t off, uint64_t size, char *what, char *loss,
		    char *reason)
{
	struct mig_downgrade *d = c->d;
	struct mig_dg_item *v, *it;
	char path[MIG_PATH_MAX];

	v = realloc(d->items, (d->nitems + 1) * sizeof(*v));
	if (!v)
		goto out_nomem;
	/* Kept at once: realloc may have moved (and freed) the old list. */
	d->items = v;
	if (!what)
		goto out_nomem;
	it = &v[d->nitems];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->loses_state = loses;
	it->offset = shown(c, off);
	it->size = size;
	it->what = what;
	it->loss = loss;
	it->reason = reason;
	d->nitems++;
	if (rec) {
		it->section = xstrdup(rec->name);
		it->section_id = rec->section_id;
		it->instance = rec->instance;
		if (rec->name && !it->section)
			return nomem(c);
	}
	if (rec && node) {
		mig_path_format(c->s, rec, node, path, sizeof(path));
		if (!(it->path = strdup(path)))
			return nomem(c);
	} else if (rec && rec->name) {
		if (!(it->path = strdup(rec->name)))
			return nomem(c);
	}
	return 0;
out_nomem:
	free(what);
	free(loss);
	free(reason);
	return nomem(c);
}

static int add_blocker(struct dg *c, const char *check,
		       const struct mig_record *rec, uint64_t off,
		       const char *path, char *message, const char *qemu,
		       char *remedy)
{
	struct mig_downgrade *d = c->d;
	struct mig_dg_blocker *v, *b;

	v = realloc(d->blockers, (d->nblockers + 1) * sizeof(*v));
	if (v)
		d->blockers = v;	/* realloc may have freed the old list */
	if (!v || !message) {
		free(message);
		free(remedy);
		return nomem(c);
	}
	b = &v[d->nblockers++];
	memset(b, 0, sizeof(*b));
	b->message = message;
	b->remedy = remedy;
	b->offset = shown(c, off);
	b->check = xstrdup(check);
	b->section = rec ? xstrdup(rec->name) : NULL;
	b->instance = rec ? rec->instance : 0;
	b->path = xstrdup(path ? path : rec ? rec->name : NULL);
	b->qemu = xstrdup(qemu);
	return 0;
}

/* The QEMU lines of a finding, joined. */
static char *qemu_lines(const struct mig_finding *f)
{
	size_t n = 0;
	char *s;

	for (size_t i = 0; i < f->nqemu; i++)
		n += strlen(f->qemu[i]) + 1;
	if (!n)
		return NULL;
	s = malloc(n);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < f->nqemu; i++) {
		if (i)
			strcat(s, "\n");
		strcat(s, f->qemu[i]);
	}
	return s;
}

/*
 * @text with the stream offsets validate wrote in it ("at 0x1a3f", as it
 * words them) turned from the preview's into the input's.  malloc'd.
 */
static char *map_text(const struct dg *c, const struct mig_offmap *pmap,
		      const char *text)
{
	size_t n = text ? strlen(text) : 0, k = 0;
	char *out;

	if (!text)
		return NULL;
	out = malloc(n * 2 + 64);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		bool after_at = i >= 3 && (text[i - 3] == 'a' ||
					   text[i - 3] == 'A') &&
				text[i - 2] == 't' && text[i - 1] == ' ' &&
				(i == 3 || text[i - 4] == ' ' ||
				 text[i - 4] == '(');
		char *end;
		unsigned long long v;

		if (after_at && text[i] == '0' && text[i + 1] == 'x' &&
		    k + 24 < n * 2 + 64) {
			v = strtoull(text + i + 2, &end, 16);
			if (end > text + i + 2) {
				k += (size_t)sprintf(out + k, "0x%" PRIx64,
						     shown(c, pin(pmap, v)));
				i = (size_t)(end - text);
				continue;
			}
		}
		if (k + 1 >= n * 2 + 64)
			break;
		out[k++] = text[i++];
	}
	out[k] = '\0';
	return out;
}

/* The finding, as a blocker. */
static int block(struct dg *c, const struct mig_finding *f,
		 const struct mig_record *rec, uint64_t off, const char *pre,
		 const char *remedy)
{
	const struct lowered *l = rec ? lowered_of(c, rec) : NULL;
	char *q = qemu_lines(f);
	char *msg, *rem;
	int ret;

	char *fm = map_text(c, c->pmap, f->message);
	char *fc = map_text(c, c->pmap, remedy ? remedy : f->cause);

	if (l && !pre)
		msg = fmt("after lowering section '%s' from version %" PRIu32 " to %" PRIu32 ": %s",
			  rec->name, l->from, l->to, fm ? fm : "");
	else
		msg = fmt("%s%s", pre ? pre : "", fm ? fm : "");
	rem = fmt("%s", fc ? fc : "");
	free(fm);
	free(fc);
	ret = add_blocker(c, f->check->id, rec, off, f->path, msg, q, rem);
	free(q);
	return ret;
}

/* ------------------------------------------------------------------ */
/* What the guest loses                                                */

/* Curated words for state we know; everything else gets the generic. */
static const struct {
	const char *name;
	const char *loss;
} known_loss[] = {
	{ "ps2kbd/command_reply_queue",
	  "which bytes in the PS/2 keyboard queue are replies to a command "
	  "(cwptr); the queued bytes stay, and are delivered in order like "
	  "key data" },
	{ "ps2mouse/command_reply_queue",
	  "which bytes in the PS/2 mouse queue are replies to a command "
	  "(cwptr); the queued bytes stay, and are delivered in order like "
	  "mouse data" },
	{ "esp.mig_version_id",
	  "the ESP state version number, which only tells a newer QEMU how "
	  "the ESP fields that follow are laid out" },
};

static const char *curated(const char *name)
{
	for (size_t i = 0; i < sizeof(known_loss) / sizeof(known_loss[0]); i++)
		if (!strcmp(known_loss[i].name, name))
			return known_loss[i].loss;
	return NULL;
}

/* "a, b, c and 3 more" of the fields directly in @n. */
static void field_list(const struct mig_node *n, char *buf, size_t len)
{
	size_t k = 0, shown_n = 0, total = 0;

	buf[0] = '\0';
	for (const struct mig_node *ch = n->child; ch; ch = ch->next)
		if (ch->kind == MIG_NODE_FIELD)
			total++;
	for (const struct mig_node *ch = n->child; ch && k < len;
	     ch = ch->next) {
		if (ch->kind != MIG_NODE_FIELD || !ch->name)
			continue;
		if (shown_n == 4) {
			snprintf(buf + k, len - k, " and %zu more", total - 4);
			return;
		}
		k += (size_t)snprintf(buf + k, len - k, "%s%s",
				      shown_n ? ", " : "", ch->name);
		shown_n++;
	}
}

static char *subsection_loss(const struct dg *c, const struct mig_node *n)
{
	const char *cur = curated(n->name);
	char fields[160];

	if (cur)
		return fmt("%s", cur);
	field_list(n, fields, sizeof(fields));
	return fmt("the state subsection '%s' carries%s%s%s; QEMU %s keeps what its own device model has for it (its defaults after reset)",
		   n->name, fields[0] ? " (" : "", fields,
		   fields[0] ? ")" : "", c->qemu);
}

/* ------------------------------------------------------------------ */
/* Actions                                                             */

static const char *finding_reason(const struct mig_finding *f)
{
	return f->message ? f->message : f->check->reason;
}

/*
 * Is there a subsection header at @p of the @n bytes at @b: 0x05, a
 * printable name of 1 to 255 bytes with a '/' in it, a version below 256
 * (QEMU keeps it in 8 bits)?  What validate's reading of opaque virtio
 * state goes by too.
 */
static bool sub_header_at(const uint8_t *b, size_t n, size_t p,
			  char name[256])
{
	size_t len;
	bool slash = false;

	if (n - p < 7 || b[p] != MIG_REC_SUBSECTION)
		return false;
	len = b[p + 1];
	if (!len || n - p - 2 < len + 4)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (b[p + 2 + i] < 0x20 || b[p + 2 + i] > 0x7e)
			return false;
		slash |= b[p + 2 + i] == '/';
	}
	if (!slash || b[p + 2 + len] || b[p + 3 + len] || b[p + 4 + len])
		return false;
	if (name) {
		memcpy(name, b + p + 2, len);
		name[len] = '\0';
	}
	return true;
}

/*
 * The subsection at @off inside opaque leaf @leaf (the state a device
 * saves with its own code): from its header up to the next subsection
 * header, or to the end of the field.  0 when no header is at @off.  A
 * wrong guess cannot slip through: the next round validates the result.
 */
static uint64_t opaque_sub_size(const struct mig_node *leaf, uint64_t off,
				char name[256])
{
	size_t at, p;

	if (!leaf->bytes || off < leaf->offset ||
	    off - leaf->offset >= leaf->nbytes)
		return 0;
	at = (size_t)(off - leaf->offset);
	if (!sub_header_at(leaf->bytes, leaf->nbytes, at, name))
		return 0;
	for (p = at + 7 + strlen(name); p < leaf->nbytes; p++)
		if (sub_header_at(leaf->bytes, leaf->nbytes, p, NULL))
			break;
	return p - at;
}

/* An unknown subsection inside an opaque field. */
static int cut_opaque(struct dg *c, const struct mig_finding *f,
		      const struct mig_record *rec,
		      const struct mig_node *leaf, uint64_t off, uint64_t size,
		      const char *name)
{
	char path[MIG_PATH_MAX + 260];
	int ret;

	ret = mig_rewrite_cut_range(c->d->rw, rec, leaf, off, size, c->err);
	if (ret == -MIG_EUNSUP) {
		char *why = fmt("the vmdesc cannot describe the stream without it: %s",
				c->err->msg);

		mig_error_clear(c->err);
		return add_blocker(c, f->check->id, rec, off, f->path, why,
				   NULL,
				   fmt("Drop the vmdesc with --no-vmdesc (QEMU does not need it to load)."));
	}
	if (ret)
		return ret;
	ret = add_item(c, MIG_DG_SUBSECTION, true, rec, leaf, off, size,
		       fmt("subsection '%s' (%" PRIu64 " bytes) inside the opaque field '%s' of section '%s'",
			   name, size, leaf->name ? leaf->name : "?",
			   rec->name),
		       curated(name) ? fmt("%s", curated(name))
				     : fmt("the state subsection '%s' carries; QEMU %s keeps what its own device model has for it (its defaults after reset)",
					   name, c->qemu),
		       fmt("%s: %s", f->check->id, finding_reason(f)));
	if (ret)
		return ret;
	/* The path names the subsection, inside the field. */
	snprintf(path, sizeof(path), "%s{%s}",
		 c->d->items[c->d->nitems - 1].path, name);
	free(c->d->items[c->d->nitems - 1].path);
	c->d->items[c->d->nitems - 1].path = strdup(path);
	return c->d->items[c->d->nitems - 1].path ? 0 : nomem(c);
}

static int cut_subsection(struct dg *c, const struct mig_finding *f,
			  uint64_t off)
{
	const struct mig_record *rec = rec_at(c->s, off);
	const struct mig_node *n = rec ? node_at(rec->tree, off,
						 MIG_NODE_SUBSECTION)
				       : NULL;
	int ret;

	if (!n) {
		const struct mig_node *leaf = rec ? leaf_at(rec->tree, off)
						  : NULL;
		char name[256];
		uint64_t size = leaf ? opaque_sub_size(leaf, off, name) : 0;

		if (size)
			return cut_opaque(c, f, rec, leaf, off, size, name);
		return block(c, f, rec, off, NULL,
			     leaf ? "The subsection lies inside an opaque field, and no subsection header starts there, so its extent is not known; drop the whole section with --drop-section if its state can go."
				  : "The subsection is not in the decoded state of the section (no vmdesc, or a layout not decoded); drop the whole section with --drop-section if its state can go.");
	}
	ret = mig_rewrite_cut(c->d->rw, rec, n, c->err);
	if (ret == -MIG_EUNSUP) {
		char *why = fmt("the vmdesc cannot describe the stream without it: %s",
				c->err->msg);

		mig_error_clear(c->err);
		return add_blocker(c, f->check->id, rec, off, f->path, why,
				   NULL,
				   fmt("Drop the vmdesc with --no-vmdesc (QEMU does not need it to load)."));
	}
	if (ret)
		return ret;
	return add_item(c, MIG_DG_SUBSECTION, true, rec, n, n->offset, n->size,
			fmt("subsection '%s' (version %" PRIu32 ", %" PRIu64 " bytes) of section '%s'",
			    n->name, n->version, n->size, rec->name),
			subsection_loss(c, n),
			fmt("%s: %s", f->check->id, finding_reason(f)));
}

static const char *cmd_loss(uint16_t cmd)
{
	switch (cmd) {
	case MIG_CMD_SWITCHOVER_START:
		return "nothing: it only tells a QEMU 10.0 or later destination that the source is about to stop (switchover); older QEMU has no use for it";
	case MIG_CMD_ENABLE_COLO:
		return "COLO fault tolerance is not set up on the destination";
	case MIG_CMD_POSTCOPY_RESUME:
	case MIG_CMD_RECV_BITMAP:
		return "the resumption of a paused postcopy migration";
	default:
		return "what the command would have told the destination";
	}
}

static int drop_command(struct dg *c, const struct mig_finding *f,
			uint64_t off)
{
	const struct mig_record *rec = rec_at(c->s, off);
	const char *name;
	int ret;

	if (!rec || rec->type != MIG_REC_COMMAND || rec->offset != off)
		return block(c, f, NULL, off, NULL, NULL);
	name = mig_cmd_name(rec->cmd);
	ret = mig_rewrite_drop(c->d->rw, rec, c->err);
	if (ret)
		return ret;
	return add_item(c, MIG_DG_COMMAND, false, NULL, NULL, rec->offset,
			rec->size,
			fmt("command '%s' (0x%x, %" PRIu64 " bytes)",
			    name ? name : "?", rec->cmd, rec->size),
			fmt("%s", cmd_loss(rec->cmd)),
			fmt("%s: %s", f->check->id, finding_reason(f)));
}

/* The description a section uses in @sc at @version (NULL: any). */
static const struct mig_svmsd *section_vmsd(const struct mig_schema *sc,
					    const struct mig_record *rec,
					    bool exact, uint32_t version)
{
	const struct mig_svmsd *v[SECTION_VMSDS_MAX];
	size_t n = mig_schema_section_vmsds(sc, rec->name, v,
					    SECTION_VMSDS_MAX);
	const struct mig_svmsd *any = NULL;

	if (n > SECTION_VMSDS_MAX)
		n = SECTION_VMSDS_MAX;
	for (size_t i = 0; i < n; i++) {
		if (rec->vmsd && v[i]->name && strcmp(v[i]->name, rec->vmsd))
			continue;
		if (exact && v[i]->version != version)
			continue;
		if (!any)
			any = v[i];
	}
	return any;
}

/* The top-level field of @rec named @name, or NULL. */
static const struct mig_node *top_field(const struct mig_record *rec,
					const char *name)
{
	for (const struct mig_node *n = rec->tree ? rec->tree->child : NULL; n;
	     n = n->next)
		if (n->kind == MIG_NODE_FIELD && n->name &&
		    !strcmp(n->name, name))
			return n;
	return NULL;
}

/*
 * Lowers section @rec to the target's version when a schema shows which
 * fields that version lacks; a blocker otherwise.
 */
static int lower_version(struct dg *c, const struct mig_finding *f,
			 const struct mig_record *rec)
{
	const struct mig_svmsd *tv = section_vmsd(c->o->target, rec, false, 0);
	const struct mig_svmsd *src = NULL;
	const struct mig_schema *src_schema = NULL;
	struct lowered *low;
	uint32_t to;
	size_t ncut = 0;
	int ret;

	if (!tv)
		return block(c, f, rec, rec->offset, NULL, NULL);
	to = tv->version;
	if (rec->version < to || (tv->has_minimum &&
				  rec->version < tv->minimum_version))
		return block(c, f, rec, rec->offset, NULL,
			     "The stream's version of this section is older than the target reads; a rewrite cannot make up the fields it lacks.");
	if (rec->type != MIG_REC_FULL || !rec->tree)
		return block(c, f, rec, rec->offset, NULL,
			     "Lowering a version needs the section's fields decoded (a vmdesc or a schema describing it); drop it with --drop-section if its state can go.");
	for (size_t i = 0; i < c->o->nschemas && !src; i++) {
		src = section_vmsd(c->o->schemas[i], rec, true, rec->version);
		if (src)
			src_schema = c->o->schemas[i];
	}
	if (!src) {
		char *msg = fmt("section '%s' is version %" PRIu32 "; %s reads '%s' up to version %" PRIu32 ", and no schema at hand describes version %" PRIu32 ", so which fields version %" PRIu32 " lacks is not known",
				rec->name, rec->version, target_name(c),
				tv->name, to, rec->version, to);

		return add_blocker(c, f->check->id, rec, rec->offset, f->path,
				   msg, NULL,
				   fmt("Load the stream into a QEMU that reads version %" PRIu32 ", give the schema of the source's QEMU, or drop the section with --drop-section %s.",
				       rec->version, rec->name));
	}
	low = realloc(c->low, (c->nlow + 1) * sizeof(*low));
	if (!low)
		return nomem(c);
	c->low = low;
	low[c->nlow].rec = rec;
	low[c->nlow].from = rec->version;
	low[c->nlow].to = to;
	c->nlow++;
	for (size_t i = 0; i < src->nfields; i++) {
		const struct mig_sfield *sf = &src->fields[i];
		const char *nm = sf->uname ? sf->uname : sf->name;
		const struct mig_node *n;
		const char *cur;

		/* A field with a test exists by the test, not the version. */
		if (sf->version <= to || sf->exists || !nm)
			continue;
		n = top_field(rec, nm);
		if (!n)
			continue;
		ret = mig_rewrite_cut(c->d->rw, rec, n, c->err);
		if (ret)
			return ret;
		cur = curated(nm);
		ret = add_item(c, MIG_DG_FIELD, true, rec, n, n->offset,
			       n->size,
			       fmt("field '%s' (%" PRIu64 " bytes) of section '%s', added in version %" PRIu32,
				   nm, n->size, rec->name, sf->version),
			       cur ? fmt("%s", cur)
				   : fmt("the value of '%s', which version %" PRIu32 " of '%s' does not have (QEMU %s keeps its own)",
					 nm, to, tv->name, c->qemu),
			       fmt("%s: %s", f->check->id, finding_reason(f)));
		if (ret)
			return ret;
		ncut++;
	}
	ret = mig_rewrite_set_version(c->d->rw, rec, to, c->err);
	if (ret)
		return ret;
	return add_item(c, MIG_DG_VERSION, false, rec, NULL, rec->offset, 0,
			fmt("section '%s' lowered from version %" PRIu32 " to %" PRIu32 " (%zu field%s cut; fields by version from %s)",
			    rec->name, rec->version, to, ncut,
			    ncut == 1 ? "" : "s",
			    src_schema->name ? src_schema->name : "a schema"),
			NULL, fmt("%s: %s", f->check->id, finding_reason(f)));
}

static int set_footers(struct dg *c, const struct mig_finding *f, bool on)
{
	int ret = mig_rewrite_set_footers(c->d->rw, on, c->err);

	if (ret)
		return ret;
	return add_item(c, MIG_DG_FOOTERS, false, NULL, NULL, MIG_NO_OFFSET, 0,
			fmt("section footers %s every section (%s with machine type %s expects %s)",
			    on ? "added to" : "removed from", target_name(c),
			    c->d->machine ? c->d->machine : "?",
			    on ? "them" : "none"),
			NULL, fmt("%s: %s", f->check->id, finding_reason(f)));
}

static int set_config(struct dg *c, const struct mig_finding *f, bool on)
{
	int ret;

	if (on && !c->o->machine)
		return block(c, f, NULL, MIG_NO_OFFSET, NULL,
			     "The stream has no configuration record and does not say its machine type: give the target's with --machine so one can be added.");
	ret = mig_rewrite_set_config(c->d->rw, on ? c->o->machine : NULL,
				     c->err);
	if (ret)
		return ret;
	return add_item(c, MIG_DG_CONFIG, false, NULL, NULL,
			c->s->has_config ? c->s->config_offset : MIG_NO_OFFSET,
			0,
			on ? fmt("configuration record added, naming machine type '%s'",
				 c->o->machine)
			   : fmt("configuration record removed (%s with machine type %s expects none)",
				 target_name(c),
				 c->d->machine ? c->d->machine : "?"),
			NULL, fmt("%s: %s", f->check->id, finding_reason(f)));
}

static int act_on(struct dg *c, const struct mig_finding *f, const char *id,
		  const struct mig_record *rec, uint64_t off);

/* One reject finding of a round; @off is its offset in @c->s. */
static int act(struct dg *c, const struct mig_finding *f, uint64_t off)
{
	const char *id = f->check->id;
	const struct mig_record *rec = off != MIG_NO_OFFSET ? rec_at(c->s, off)
							     : NULL;
	size_t nblockers = c->d->nblockers;
	int ret;

	if (in_set(c->blocked, c->nblocked, id, off))
		return 0;
	if (in_set(c->done, c->ndone, id, off))
		ret = block(c, f, rec, off,
			    "still refused after the plan acted on it: ", NULL);
	else
		ret = act_on(c, f, id, rec, off);
	if (ret)
		return ret;
	if (c->d->nblockers > nblockers)
		return add_to_set(c, &c->blocked, &c->nblocked, id, off);
	return add_to_set(c, &c->done, &c->ndone, id, off);
}

static int act_on(struct dg *c, const struct mig_finding *f, const char *id,
		  const struct mig_record *rec, uint64_t off)
{
	if (!strcmp(id, "unknown-subsection") ||
	    !strcmp(id, "subsection-version"))
		return cut_subsection(c, f, off);
	if (!strcmp(id, "unknown-command"))
		return drop_command(c, f, off);
	if (!strcmp(id, "section-version") && rec &&
	    (rec->type == MIG_REC_FULL || rec->type == MIG_REC_START))
		return lower_version(c, f, rec);
	if (!strcmp(id, "footer-missing"))
		return set_footers(c, f, true);
	if (!strcmp(id, "footer-unexpected"))
		return set_footers(c, f, false);
	if (!strcmp(id, "configuration-missing"))
		return set_config(c, f, true);
	if (!strcmp(id, "configuration-unexpected"))
		return set_config(c, f, false);
	if (!strcmp(id, "unknown-section") && rec) {
		char *rem = fmt("QEMU %s has no such device (or not with this id string and instance); if the guest can do without it, drop it with --drop-section %s.",
				c->qemu, rec->name);
		int ret = block(c, f, rec, off, NULL, rem ? rem : "");

		free(rem);
		return ret;
	}
	if (!strcmp(id, "no-such-machine"))
		return block(c, f, NULL, off, NULL,
			     "The machine type fixes the guest's hardware (its ABI): a rewrite cannot change it.  Start the source with a machine type the target has (an older versioned one) and migrate again.");
	return block(c, f, rec, off, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* Rounds                                                              */

void mig_downgrade_opts_init(struct mig_downgrade_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->footers = -1;
	o->configuration = -1;
}

static void init_vopts(const struct mig_downgrade_opts *o,
		       struct mig_validate_opts *v)
{
	mig_validate_opts_init(v);
	v->machine = o->machine;
	v->footers = o->footers;
	v->configuration = o->configuration;
	v->caps = o->caps;
	v->ncaps = o->ncaps;
}

/* Validates the preview of the plan so far: *@rep, *@map. */
static int round_report(struct dg *c, struct mig_report **rep,
			struct mig_offmap **map, uint64_t *size)
{
	struct mig_parse_opts popts = { 0 };
	struct mig_validate_opts vo;
	struct mig_writer *w = NULL;
	struct mig_reader *pr = NULL;
	struct mig_stream *ps = NULL;
	const uint8_t *buf;
	size_t len;
	int ret;

	*rep = NULL;
	*map = NULL;
	ret = mig_writer_mem(&w, c->err);
	if (!ret)
		ret = mig_rewrite_preview(c->d->rw, c->r, w, map, c->err);
	if (ret)
		goto out;
	buf = mig_writer_mem_data(w, &len);
	*size = len;
	ret = mig_reader_from_mem(&pr, buf, len, "preview", c->err);
	if (ret)
		goto out;
	if (c->o->parse)
		popts = *c->o->parse;
	popts.caps = c->o->caps;
	popts.ncaps = c->o->ncaps;
	popts.on_page = NULL;
	popts.on_progress = NULL;
	ret = mig_stream_read(pr, &popts, &ps, c->err);
	if (ret) {
		mig_error_push_path(c->err,
				    "the rewritten stream does not read back");
		goto out;
	}
	init_vopts(c->o, &vo);
	ret = mig_validate(pr, ps, 0, NULL, c->o->target, &vo, rep, c->err);
out:
	mig_stream_free(ps);
	mig_reader_free(pr);
	mig_writer_abort(w);
	if (ret) {
		mig_offmap_free(*map);
		*map = NULL;
	}
	return ret;
}

static bool section_matches(const struct mig_record *rec, const char *spec)
{
	const char *br = strchr(spec, '[');
	size_t len = br ? (size_t)(br - spec) : strlen(spec);
	const char *last;

	if (!rec->name)
		return false;
	last = strrchr(rec->name, '/');
	last = last ? last + 1 : rec->name;
	if (!((strlen(rec->name) == len && !strncmp(rec->name, spec, len)) ||
	      (strlen(last) == len && !strncmp(last, spec, len))))
		return false;
	if (br) {
		char *end;
		unsigned long inst = strtoul(br + 1, &end, 10);

		if (end == br + 1 || strcmp(end, "]") || inst != rec->instance)
			return false;
	}
	return true;
}

/* --drop-section: every record of every section named. */
static int drop_sections(struct dg *c)
{
	for (size_t i = 0; i < c->o->ndrop; i++) {
		const char *spec = c->o->drop[i];
		bool any = false;

		for (const struct mig_record *rec = c->s->records; rec;
		     rec = rec->next) {
			uint64_t size = 0;
			int ret;

			if (rec->type != MIG_REC_FULL &&
			    rec->type != MIG_REC_START)
				continue;
			if (!section_matches(rec, spec))
				continue;
			if (rec->kind == MIG_SEC_RAM)
				return mig_error_set(c->err, MIG_EINVAL,
						     shown(c, rec->offset),
						     "--drop-section %s: guest RAM cannot be dropped",
						     spec);
			any = true;
			for (const struct mig_record *x = rec; x; x = x->next) {
				bool section = x->type == MIG_REC_START ||
					       x->type == MIG_REC_PART ||
					       x->type == MIG_REC_END ||
					       x->type == MIG_REC_FULL;

				if (x != rec && (x->type == MIG_REC_START ||
						 x->type == MIG_REC_FULL) &&
				    x->section_id == rec->section_id)
					break;
				if (!section ||
				    x->section_id != rec->section_id ||
				    mig_rewrite_dropped(c->d->rw, x))
					continue;
				ret = mig_rewrite_drop(c->d->rw, x, c->err);
				if (ret)
					return ret;
				size += x->payload_size;
				if (rec->type == MIG_REC_FULL)
					break;
			}
			ret = add_item(c, MIG_DG_SECTION, true, rec, NULL,
				       rec->offset, size,
				       fmt("section '%s' (instance %" PRIu32 ", version %" PRIu32 ", %" PRIu64 " bytes of state)",
					   rec->name, rec->instance,
					   rec->version, size),
				       fmt("all state of device '%s' instance %" PRIu32 ": QEMU %s starts it as after a reset, which the guest's driver may not expect",
					   rec->name, rec->instance, c->qemu),
				       fmt("--drop-section %s", spec));
			if (ret)
				return ret;
		}
		if (!any)
			return mig_error_set(c->err, MIG_EINVAL, MIG_NO_OFFSET,
					     "--drop-section %s: the stream has no such section",
					     spec);
	}
	return 0;
}

static int add_risk(struct dg *c, const struct mig_finding *f, uint64_t off)
{
	struct mig_downgrade *d = c->d;
	struct mig_dg_risk *v = realloc(d->risks, (d->nrisks + 1) * sizeof(*v));

	if (!v)
		return nomem(c);
	d->risks = v;
	v[d->nrisks].check = xstrdup(f->check->id);
	v[d->nrisks].offset = shown(c, off);
	v[d->nrisks].path = xstrdup(f->path);
	v[d->nrisks].message = map_text(c, c->pmap, f->message);
	d->nrisks++;
	return 0;
}

static int cmp_items(const void *a, const void *b)
{
	const struct mig_dg_item *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

int mig_downgrade_plan(const struct mig_stream *s, struct mig_reader *r,
		       const struct mig_downgrade_opts *o,
		       const struct mig_offmap *map, struct mig_downgrade **out,
		       struct mig_error *err)
{
	struct mig_error local;
	struct dg c = {
		.s = s,
		.r = r,
		.o = o,
		.map = map,
		.err = err ? err : &local,
	};
	struct mig_report *rep = NULL;
	struct mig_offmap *pmap = NULL;
	struct mig_downgrade *d;
	uint64_t psize = 0;
	int ret;

	*out = NULL;
	mig_error_clear(c.err);
	if (!o || !o->target)
		return mig_error_set(c.err, MIG_EINVAL, MIG_NO_OFFSET,
				     "downgrade needs a target schema");
	d = calloc(1, sizeof(*d));
	if (!d)
		return nomem(&c);
	c.d = d;
	c.qemu = o->target->qemu ? o->target->qemu : "?";
	d->target = xstrdup(o->target->name);
	d->machine = xstrdup(o->machine ? o->machine : s->machine);
	d->in_size = s->end - (s->wrapper ? s->wrapper->stream_offset : 0);
	d->out_size = MIG_NO_OFFSET;
	ret = mig_rewrite_new(s, r, &d->rw, c.err);
	if (!ret && o->no_vmdesc)
		ret = mig_rewrite_set_vmdesc(d->rw, false, c.err);
	if (!ret)
		ret = drop_sections(&c);
	while (!ret && d->rounds < ROUNDS_MAX) {
		size_t before = d->nitems;

		mig_report_free(rep);
		mig_offmap_free(pmap);
		c.pmap = NULL;
		/*
		 * The first round checks the input itself: what only its
		 * RAM shows (compressed pages, RAM flags) is then seen too.
		 * Later rounds check previews of the plan.
		 */
		if (d->rounds == 0) {
			struct mig_validate_opts vo;

			init_vopts(o, &vo);
			ret = mig_validate(r, s, 0, NULL, o->target, &vo, &rep,
					   c.err);
		} else {
			ret = round_report(&c, &rep, &pmap, &psize);
		}
		if (ret)
			break;
		c.pmap = pmap;
		d->rounds++;
		for (size_t i = 0; i < rep->nfindings && !ret; i++) {
			const struct mig_finding *f = &rep->findings[i];

			if (f->check->severity != MIG_SEV_REJECT)
				continue;
			ret = act(&c, f, pin(pmap, f->offset));
		}
		if (d->nitems == before)
			break;
	}
	/* Every reject left that no blocker names yet is one. */
	for (size_t i = 0; !ret && rep && i < rep->nfindings; i++) {
		const struct mig_finding *f = &rep->findings[i];
		uint64_t off = pin(pmap, f->offset);

		if (f->check->severity == MIG_SEV_RISK)
			ret = add_risk(&c, f, off);
		else if (f->check->severity == MIG_SEV_REJECT &&
			 !in_set(c.blocked, c.nblocked, f->check->id, off))
			ret = block(&c, f, off != MIG_NO_OFFSET ? rec_at(s, off)
								 : NULL,
				    off, "not resolved in the rounds allowed: ",
				    NULL);
	}
	if (!ret && !mig_rewrite_empty(d->rw) && s->has_vmdesc) {
		if (o->no_vmdesc)
			ret = add_item(&c, MIG_DG_VMDESC, false, NULL, NULL,
				       s->vmdesc_offset, 5 + s->vmdesc_size,
				       fmt("vmdesc dropped (--no-vmdesc), %" PRIu64 " bytes",
					   5 + s->vmdesc_size),
				       NULL, fmt("--no-vmdesc"));
		else if (mig_rewrite_vmdesc_changed(d->rw))
			ret = add_item(&c, MIG_DG_VMDESC, false, NULL, NULL,
				       s->vmdesc_offset, 0,
				       fmt("vmdesc rewritten to describe the new stream"),
				       NULL, NULL);
	}
	if (!ret) {
		/* Report in stream order; stream-wide changes last. */
		if (d->nitems)
			qsort(d->items, d->nitems, sizeof(*d->items),
			      cmp_items);
		d->changed = !mig_rewrite_empty(d->rw);
		if (!d->changed)
			d->out_size = d->in_size;
	}
	mig_report_free(rep);
	mig_offmap_free(pmap);
	free(c.done);
	free(c.blocked);
	free(c.low);
	if (ret) {
		mig_downgrade_free(d);
		return ret;
	}
	*out = d;
	return 0;
}

void mig_downgrade_free(struct mig_downgrade *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nitems; i++) {
		free(d->items[i].section);
		free(d->items[i].path);
		free(d->items[i].what);
		free(d->items[i].loss);
		free(d->items[i].reason);
	}
	for (size_t i = 0; i < d->nblockers; i++) {
		free(d->blockers[i].check);
		free(d->blockers[i].section);
		free(d->blockers[i].path);
		free(d->blockers[i].message);
		free(d->blockers[i].qemu);
		free(d->blockers[i].remedy);
	}
	for (size_t i = 0; i < d->nrisks; i++) {
		free(d->risks[i].check);
		free(d->risks[i].path);
		free(d->risks[i].message);
	}
	free(d->items);
	free(d->blockers);
	free(d->risks);
	mig_rewrite_free(d->rw);
	free(d->target);
	free(d->machine);
	free(d);
}

/* ------------------------------------------------------------------ */
/* Pipes: what to do before the device state is seen                  */

/* The first QEMU release that knows each command. */
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

/* Capabilities the configuration record may carry, and since when. */
static const struct {
	const char *name;
	const char *since;
} cap_since[] = {
	{ "x-ignore-shared", "4.0" },
	{ "mapped-ram", "9.0" },
};

int mig_downgrade_head(const struct mig_downgrade_opts *o,
		       const struct mig_pipe_head *h, struct mig_pipe_policy *p,
		       struct mig_error *err)
{
	const char *machine = o->machine ? o->machine : h->machine;
	const struct mig_schema *t = o->target;
	const struct mig_smachine *m;

	p->footers = -1;
	p->config = -1;
	p->machine = NULL;
	p->drop_cmds = 0;
	if (!machine)
		return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				     "the stream has no configuration record naming its machine type: give the target's with --machine");
	m = mig_schema_machine(t, machine);
	if (!m)
		return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				     "%s has no machine type '%s': the machine type fixes the guest's hardware, a rewrite cannot change it",
				     t->name ? t->name : "the target", machine);
	for (size_t i = 0; i < h->ncaps; i++) {
		bool known = false;

		for (size_t k = 0;
		     k < sizeof(cap_since) / sizeof(cap_since[0]); k++)
			if (!strcmp(cap_since[k].name, h->caps[i]))
				known = !t->qemu ||
					mig_version_cmp(t->qemu,
							cap_since[k].since) >=
						0;
		if (!known)
			return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
					     "%s has no migration capability '%s' (the configuration record lists it); a rewrite cannot take it out of the RAM layout",
					     t->name ? t->name : "the target",
					     h->caps[i]);
	}
	p->footers = o->footers >= 0 ? o->footers : m->footers;
	if (!(o->configuration >= 0 ? o->configuration : m->configuration))
		p->config = 0;
	else if (!h->has_config) {
		p->config = 1;
		p->machine = machine;
	}
	for (int id = 1; id < MIG_CMD_MAX; id++)
		if (cmd_since[id] && t->qemu &&
		    mig_version_cmp(t->qemu, cmd_since[id]) < 0)
			p->drop_cmds |= 1u << id;
	return 0;
}

int mig_downgrade_verify(const struct mig_stream *s, struct mig_reader *r,
			 const struct mig_downgrade_opts *o, bool *loads,
			 char *why, size_t why_len, struct mig_error *err)
{
	struct mig_validate_opts vo;
	struct mig_report *rep = NULL;
	int ret;

	*loads = false;
	if (why_len)
		why[0] = '\0';
	init_vopts(o, &vo);
	ret = mig_validate(r, s, 0, NULL, o->target, &vo, &rep, err);
	if (ret)
		return ret;
	*loads = rep->loads;
	if (!rep->loads && rep->first && why_len)
		snprintf(why, why_len, "%s: %s", rep->first->check->id,
			 rep->first->message ? rep->first->message : "");
	mig_report_free(rep);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The report                                                          */

static const char *const kind_names[] = {
	[MIG_DG_SECTION] = "section",
	[MIG_DG_SUBSECTION] = "subsection",
	[MIG_DG_FIELD] = "field",
	[MIG_DG_COMMAND] = "command",
	[MIG_DG_VERSION] = "version",
	[MIG_DG_FOOTERS] = "footers",
	[MIG_DG_CONFIG] = "configuration",
	[MIG_DG_VMDESC] = "vmdesc",
};

/* Sets @key to @v, a string or null; @v is borrowed. */
static bool set_str(json_t *o, const char *key, const char *v)
{
	return !json_object_set_new(o, key, v ? json_string(v) : json_null());
}

static json_t *u64_json(uint64_t v)
{
	char buf[24];

	if (v == MIG_NO_OFFSET)
		return json_null();
	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
}

json_t *mig_downgrade_json(const struct mig_downgrade *d, const char *in,
			   const char *out, bool dry_run)
{
	json_t *root = json_object();
	json_t *dropped = json_array(), *changes = json_array();
	json_t *blockers = json_array(), *risks = json_array();
	bool ok = root && dropped && changes && blockers && risks;
	const char *verdict;

	if (!ok)
		goto out_fail;
	if (d->nblockers)
		verdict = "refused";
	else if (!d->changed)
		verdict = "unchanged";
	else
		verdict = "rewritten";
	/* json_object_set_new steals the new values' references. */
	ok &= !json_object_set_new(root, "migstream_downgrade",
				   json_integer(MIG_DOWNGRADE_FORMAT_VERSION));
	ok &= set_str(root, "stream", in);
	ok &= set_str(root, "target", d->target);
	ok &= set_str(root, "machine", d->machine);
	ok &= set_str(root, "verdict", verdict);
	ok &= !json_object_set_new(root, "dry_run", json_boolean(dry_run));
	ok &= set_str(root, "output", d->nblockers || dry_run ? NULL : out);
	for (size_t i = 0; i < d->nitems && ok; i++) {
		const struct mig_dg_item *it = &d->items[i];
		json_t *j = json_object();

		ok &= j && set_str(j, "kind", kind_names[it->kind]);
		ok &= j && !json_object_set_new(j, "offset",
						u64_json(it->offset));
		if (it->loses_state) {
			ok &= j && !json_object_set_new(j, "size",
							u64_json(it->size));
			ok &= j && set_str(j, "section", it->section);
			ok &= j && !json_object_set_new(j, "instance",
						json_integer(it->instance));
			ok &= j && set_str(j, "path", it->path);
		}
		ok &= j && set_str(j, "what", it->what);
		if (it->loses_state)
			ok &= j && set_str(j, "loss", it->loss);
		else if (it->kind == MIG_DG_COMMAND)
			ok &= j && set_str(j, "effect", it->loss);
		ok &= j && set_str(j, "reason", it->reason);
		ok &= j && !json_array_append_new(it->loses_state ? dropped
								  : changes,
						  j);
	}
	for (size_t i = 0; i < d->nblockers && ok; i++) {
		const struct mig_dg_blocker *b = &d->blockers[i];
		json_t *j = json_object();

		ok &= j && set_str(j, "check", b->check);
		ok &= j && !json_object_set_new(j, "offset",
						u64_json(b->offset));
		ok &= j && set_str(j, "section", b->section);
		ok &= j && set_str(j, "path", b->path);
		ok &= j && set_str(j, "message", b->message);
		ok &= j && set_str(j, "qemu", b->qemu);
		ok &= j && set_str(j, "remedy", b->remedy && *b->remedy ? b->remedy : NULL);
		ok &= j && !json_array_append_new(blockers, j);
	}
	for (size_t i = 0; i < d->nrisks && ok; i++) {
		const struct mig_dg_risk *k = &d->risks[i];
		json_t *j = json_object();

		ok &= j && set_str(j, "check", k->check);
		ok &= j && !json_object_set_new(j, "offset", u64_json(k->offset));
		ok &= j && set_str(j, "path", k->path);
		ok &= j && set_str(j, "message", k->message);
		ok &= j && !json_array_append_new(risks, j);
	}
	ok &= !json_object_set_new(root, "dropped", dropped);
	ok &= !json_object_set_new(root, "changes", changes);
	ok &= !json_object_set_new(root, "blockers", blockers);
	ok &= !json_object_set_new(root, "risks", risks);
	dropped = changes = blockers = risks = NULL;
	ok &= !json_object_set_new(root, "input_bytes", u64_json(d->in_size));
	ok &= !json_object_set_new(root, "output_bytes", u64_json(d->out_size));
	ok &= !json_object_set_new(root, "rounds", json_integer(d->rounds));
	if (ok)
		return root;
out_fail:
	json_decref(dropped);
	json_decref(changes);
	json_decref(blockers);
	json_decref(risks);
	json_decref(root);
	return NULL;
}
