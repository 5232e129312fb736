/* SPDX-License-Identifier: MIT */
/*
 * The stream parser: record framing only.  Each section payload goes to the
 * decoder that knows its layout (ram.c for "ram", the vmdesc decoder for
 * device sections); a payload nobody can frame is skipped to its footer and
 * marked undecoded, never guessed at.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migstream/stream.h"
#include "migstream/vmdesc.h"
#include "ram.h"
#include "sselect.h"

/* Default cap on the stream tail a pipe reader buffers. */
#define TAIL_MAX (256ull << 20)
/* Caps on the configuration record. */
#define MACHINE_NAME_MAX 255
#define CAPS_MAX 64

struct section {
	uint32_t id;
	char *name;
	uint32_t instance;
	uint32_t version;
	bool ram;
};

struct pctx {
	struct mig_reader *r;
	struct mig_stream *s;
	struct mig_error *err;
	uint64_t max_tail;
	struct ram_state ram;
	bool footers_known;
	bool tail_scanned;
	bool vmdesc_located;
	uint64_t vmdesc_marker;
	uint64_t vmdesc_len;
	struct section *secs;
	size_t nsecs;
	size_t secs_cap;
	/* Open-addressed index of secs by id: 1 + the entry's position, 0
	 * for a free slot; a stream may hold a section per 20 bytes. */
	size_t *sec_slots;
	size_t nslots;		/* a power of two, at least twice nsecs */
	int depth;		/* PACKAGED nesting */
	size_t nodes;		/* in the decoded sections so far */
	bool ignore_vmdesc;
	struct sel sel;		/* schemas for sections without a vmdesc */
};

static const char *const rec_names[] = {
	[MIG_REC_EOF] = "EOF",
	[MIG_REC_START] = "START",
	[MIG_REC_PART] = "PART",
	[MIG_REC_END] = "END",
	[MIG_REC_FULL] = "FULL",
	[MIG_REC_SUBSECTION] = "SUBSECTION",
	[MIG_REC_VMDESC] = "VMDESCRIPTION",
	[MIG_REC_CONFIG] = "CONFIGURATION",
	[MIG_REC_COMMAND] = "COMMAND",
};

const char *mig_rec_type_name(int type)
{
	if (type == MIG_REC_FOOTER)
		return "FOOTER";
	if (type < 0 || (size_t)type >= sizeof(rec_names) / sizeof(rec_names[0]))
		return NULL;
	return rec_names[type];
}

static const struct {
	const char *name;
	int len;		/* fixed argument length, -1 when it varies */
} cmds[MIG_CMD_MAX] = {
	[MIG_CMD_INVALID] = { "invalid", -1 },
	[MIG_CMD_OPEN_RETURN_PATH] = { "open-return-path", 0 },
	[MIG_CMD_PING] = { "ping", 4 },
	[MIG_CMD_POSTCOPY_ADVISE] = { "postcopy-advise", -1 },
	[MIG_CMD_POSTCOPY_LISTEN] = { "postcopy-listen", 0 },
	[MIG_CMD_POSTCOPY_RUN] = { "postcopy-run", 0 },
	[MIG_CMD_POSTCOPY_RAM_DISCARD] = { "postcopy-ram-discard", -1 },
	[MIG_CMD_PACKAGED] = { "packaged", 4 },
	[MIG_CMD_ENABLE_COLO] = { "enable-colo", 0 },
	[MIG_CMD_POSTCOPY_RESUME] = { "postcopy-resume", 0 },
	[MIG_CMD_RECV_BITMAP] = { "recv-bitmap", -1 },
	[MIG_CMD_SWITCHOVER_START] = { "switchover-start", 0 },
};

const char *mig_cmd_name(int cmd)
{
	if (cmd <= MIG_CMD_INVALID || cmd >= MIG_CMD_MAX)
		return NULL;
	return cmds[cmd].name;
}

int mig_cmd_fixed_len(int cmd)
{
	if (cmd <= MIG_CMD_INVALID || cmd >= MIG_CMD_MAX)
		return -1;
	return cmds[cmd].len;
}

static void free_record(struct mig_record *rec)
{
	free(rec->name);
	free(rec->vmsd);
	free(rec->undecoded);
	free(rec->schema);
	free(rec->cmd_data);
	mig_node_free(rec->tree);
	free(rec);
}

void mig_stream_free(struct mig_stream *s)
{
	struct mig_record *rec, *next;

	if (!s)
		return;
	for (rec = s->records; rec; rec = next) {
		next = rec->next;
		free_record(rec);
	}
	for (size_t i = 0; i < s->ncaps; i++)
		free(s->caps[i]);
	free(s->caps);
	free(s->machine);
	free(s->ram_blocks);
	json_decref(s->vmdesc);
	free(s->schema);
	free(s->schema_why);
	mig_wrapper_free(s->wrapper);
	free(s->name);
	free(s);
}

static int nomem(struct pctx *c)
{
	return mig_error_set(c->err, MIG_ENOMEM, mig_rd_offset(c->r),
			     "out of memory");
}

static struct mig_record *add_record(struct pctx *c, enum mig_rec_type type,
				     uint64_t offset)
{
	struct mig_record *rec = calloc(1, sizeof(*rec));

	if (!rec) {
		nomem(c);
		return NULL;
	}
	rec->type = type;
	rec->offset = offset;
	if (c->s->last)
		c->s->last->next = rec;
	else
		c->s->records = rec;
	c->s->last = rec;
	c->s->nrecords++;
	return rec;
}

static size_t slot_of(uint32_t id, size_t nslots)
{
	return (size_t)(id * UINT32_C(0x9e3779b1)) & (nslots - 1);
}

static struct section *find_section(struct pctx *c, uint32_t id)
{
	if (!c->nslots)
		return NULL;
	for (size_t i = slot_of(id, c->nslots);; i = (i + 1) & (c->nslots - 1)) {
		size_t k = c->sec_slots[i];

		if (!k)
			return NULL;
		if (c->secs[k - 1].id == id)
			return &c->secs[k - 1];
	}
}

/* A new entry for section @id (not yet known), zeroed but for its id. */
static struct section *add_section(struct pctx *c, uint32_t id)
{
	struct section *sec;

	if (c->nsecs == c->secs_cap) {
		size_t cap = c->secs_cap ? 2 * c->secs_cap : 16;

		sec = realloc(c->secs, cap * sizeof(*sec));
		if (!sec)
			return NULL;
		c->secs = sec;
		c->secs_cap = cap;
	}
	if (2 * (c->nsecs + 1) > c->nslots) {
		size_t n = c->nslots ? 2 * c->nslots : 64;
		size_t *slots = calloc(n, sizeof(*slots));

		if (!slots)
			return NULL;
		for (size_t k = 0; k < c->nsecs; k++) {
			size_t i = slot_of(c->secs[k].id, n);

			while (slots[i])
				i = (i + 1) & (n - 1);
			slots[i] = k + 1;
		}
		free(c->sec_slots);
		c->sec_slots = slots;
		c->nslots = n;
	}
	sec = &c->secs[c->nsecs];
	memset(sec, 0, sizeof(*sec));
	sec->id = id;
	{
		size_t i = slot_of(id, c->nslots);

		while (c->sec_slots[i])
			i = (i + 1) & (c->nslots - 1);
		c->sec_slots[i] = ++c->nsecs;
	}
	return sec;
}

/* Index of the first byte of @s outside printable ASCII. */
static size_t first_unprintable(const char *s)
{
	size_t i = 0;

	while (s[i] && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] <= 0x7e)
		i++;
	return i;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static int check_page_size(struct pctx *c, uint64_t ps, uint64_t off,
			   const char *what)
{
	if (ps < 1024 || ps > 65536 || (ps & (ps - 1)))
		return mig_error_set(c->err, MIG_EVMDESC, off,
				     "%s page size %" PRIu64 " is not a power of two between 1024 and 65536",
				     what, ps);
	return 0;
}

/*
 * Finds and parses the trailing vmdesc.  Files are mapped, so this costs
 * nothing; a pipe buffers its remaining bytes (the device sections and
 * the vmdesc, which are small) up to max_tail.
 */
static int scan_tail(struct pctx *c)
{
	const uint8_t *tail;
	size_t len;
	uint64_t base = mig_rd_offset(c->r);
	json_t *ps;
	int ret;

	if (c->tail_scanned)
		return 0;
	c->tail_scanned = true;
	ret = mig_rd_rest(c->r, c->max_tail, &tail, &len, c->err);
	if (ret)
		return ret;
	if (!mig_vmdesc_locate(tail, len, base, &c->vmdesc_marker,
			       &c->vmdesc_len))
		return 0;
	c->vmdesc_located = true;
	ret = mig_vmdesc_parse(tail + (c->vmdesc_marker - base) + 5,
			       (size_t)c->vmdesc_len, c->vmdesc_marker + 5,
			       &c->s->vmdesc, c->err);
	if (ret)
		return ret;
	ps = json_object_get(c->s->vmdesc, "page_size");
	if (json_is_integer(ps)) {
		uint64_t v = (uint64_t)json_integer_value(ps);

		ret = check_page_size(c, v, c->vmdesc_marker + 5, "vmdesc");
		if (ret)
			return ret;
		/* A pipe reaches the vmdesc after RAM was read with the
		 * default page size: it must have been the right one. */
		if ((c->s->has_page_bits || c->s->nram_blocks) &&
		    v != c->s->page_size)
			return mig_error_set(c->err, MIG_EVMDESC,
					     c->vmdesc_marker + 5,
					     "vmdesc page size %" PRIu64 " differs from the %" PRIu64 " the stream was read with",
					     v, c->s->page_size);
		c->s->page_size = v;
	}
	return 0;
}

static int read_config(struct pctx *c)
{
	struct mig_stream *s = c->s;
	uint64_t at = mig_rd_offset(c->r);
	uint32_t len;
	uint8_t type;
	int ret;

	s->has_config = true;
	s->config_offset = at;
	ret = mig_rd_u8(c->r, &type, c->err);
	if (!ret)
		ret = mig_rd_be32(c->r, &len, c->err);
	if (ret)
		return ret;
	if (len == 0 || len > MACHINE_NAME_MAX)
		return mig_error_set(c->err, MIG_ECONFIG, at + 1,
				     "machine type name of %" PRIu32 " bytes (expected 1 to %d)",
				     len, MACHINE_NAME_MAX);
	s->machine = calloc(1, len + 1);
	if (!s->machine)
		return nomem(c);
	ret = mig_rd_bytes(c->r, s->machine, len, c->err);
	if (ret)
		return ret;
	if (strlen(s->machine) != len || !printable(s->machine))
		return mig_error_set(c->err, MIG_ECONFIG, at + 5,
				     "machine type name is not printable text");

	for (;;) {
		const uint8_t *p;
		uint64_t sub_at = mig_rd_offset(c->r);
		char name[256];
		uint32_t version;

		/* The record ends where no subsection follows; a stream cut
		 * here is reported by the record loop. */
		if (mig_rd_at_end(c->r))
			return 0;
		ret = mig_rd_peek(c->r, 1, &p, c->err);
		if (ret)
			return ret;
		if (p[0] != MIG_REC_SUBSECTION)
			return 0;
		ret = mig_rd_skip(c->r, 1, c->err);
		if (!ret)
			ret = mig_rd_str8(c->r, name, c->err);
		/* A NUL would cut the name short (QEMU writes none). */
		if (!ret && strlen(name) != mig_rd_offset(c->r) - sub_at - 2)
			return mig_error_set(c->err, MIG_ECONFIG,
					     sub_at + 2 + strlen(name),
					     "subsection name '%s' goes on after a NUL byte",
					     name);
		if (!ret)
			ret = mig_rd_be32(c->r, &version, c->err);
		if (ret)
			return ret;
		if (!strcmp(name, "configuration/target-page-bits")) {
			ret = mig_rd_be32(c->r, &s->page_bits, c->err);
			if (ret)
				return ret;
			if (s->page_bits < 10 || s->page_bits > 16)
				return mig_error_set(c->err, MIG_ECONFIG,
						     mig_rd_offset(c->r) - 4,
						     "target page bits %" PRIu32 " out of range 10..16",
						     s->page_bits);
			s->has_page_bits = true;
			s->page_size = 1ull << s->page_bits;
		} else if (!strcmp(name, "configuration/capabilities")) {
			uint32_t n;

			ret = mig_rd_be32(c->r, &n, c->err);
			if (ret)
				return ret;
			if (n > CAPS_MAX)
				return mig_error_set(c->err, MIG_ECONFIG,
						     mig_rd_offset(c->r) - 4,
						     "%" PRIu32 " capabilities (at most %d)",
						     n, CAPS_MAX);
			for (uint32_t i = 0; i < n; i++) {
				uint64_t cap_at = mig_rd_offset(c->r);
				char cap[256];
				char **caps;

				ret = mig_rd_str8(c->r, cap, c->err);
				if (ret)
					return ret;
				/* A NUL byte is not printable text either. */
				if (!printable(cap) ||
				    strlen(cap) != mig_rd_offset(c->r) - cap_at - 1)
					return mig_error_set(c->err, MIG_ECONFIG,
							     cap_at + 1 + first_unprintable(cap),
							     "capability name is not printable text");
				caps = realloc(s->caps,
					       (s->ncaps + 1) * sizeof(*caps));
				if (!caps)
					return nomem(c);
				s->caps = caps;
				if (!(s->caps[s->ncaps] = strdup(cap)))
					return nomem(c);
				s->ncaps++;
				if (!strcmp(cap, "x-ignore-shared"))
					c->ram.ignore_shared = true;
				else if (!strcmp(cap, "mapped-ram"))
					c->ram.mapped_ram = true;
			}
		} else if (!strcmp(name, "configuration/uuid")) {
			ret = mig_rd_bytes(c->r, s->uuid, 16, c->err);
			if (ret)
				return ret;
			s->has_uuid = true;
		} else {
			return mig_error_set(c->err, MIG_ECONFIG, sub_at,
					     "unknown subsection '%s'",
					     name);
		}
	}
}

/* Could a record start at @p (@n bytes visible)?  Used by the footer scan. */
static bool plausible_record(struct pctx *c, const uint8_t *p, size_t n,
			     uint64_t off)
{
	size_t len;

	if (!n)
		return false;
	switch (p[0]) {
	case MIG_REC_EOF:
		if (n == 1)
			return true;
		return c->vmdesc_located && off + 1 == c->vmdesc_marker;
	case MIG_REC_START:
	case MIG_REC_FULL:
		if (n < 6)
			return false;
		len = p[5];
		if (!len || n < 6 + len + 8)
			return false;
		for (size_t i = 0; i < len; i++)
			if (p[6 + i] < 0x20 || p[6 + i] > 0x7e)
				return false;
		return true;
	case MIG_REC_PART:
	case MIG_REC_END:
		return n >= 5 &&
		       find_section(c, (uint32_t)p[1] << 24 |
					       (uint32_t)p[2] << 16 |
					       (uint32_t)p[3] << 8 | p[4]);
	case MIG_REC_COMMAND:
		return n >= 5 && p[1] == 0 && p[2] > 0 && p[2] < MIG_CMD_MAX;
	default:
		return false;
	}
}

/*
 * A payload whose layout is unknown: find its end as the first footer with
 * this section's id that is followed by something that can be a record.
 */
static int skip_to_footer(struct pctx *c, struct mig_record *rec,
			  const char *why)
{
	const uint8_t *p;
	size_t len, first = SIZE_MAX;
	uint64_t base = mig_rd_offset(c->r);
	int ret;

	rec->kind = MIG_SEC_UNDECODED;
	if (!(rec->undecoded = strdup(why)))
		return nomem(c);
	if (c->footers_known && !c->s->footers)
		return mig_error_set(c->err, MIG_EUNSUP, base,
				     "section '%s' (id %" PRIu32 "): %s, and the stream has no section footers to find its end",
				     rec->name, rec->section_id, why);
	ret = mig_rd_rest(c->r, c->max_tail, &p, &len, c->err);
	if (ret)
		return ret;
	for (size_t i = 0; i + 5 <= len; i++) {
		uint32_t id;

		if (p[i] != MIG_REC_FOOTER)
			continue;
		id = (uint32_t)p[i + 1] << 24 | (uint32_t)p[i + 2] << 16 |
		     (uint32_t)p[i + 3] << 8 | p[i + 4];
		if (id != rec->section_id)
			continue;
		if (first == SIZE_MAX)
			first = i;
		if (plausible_record(c, p + i + 5, len - i - 5,
				     base + i + 5))
			return mig_rd_skip(c->r, i, c->err);
	}
	/*
	 * No footer is followed by a well-formed record: the stream is
	 * damaged after this section.  Take the first footer, so the error
	 * is reported where the damage is, by the code that reads it.
	 */
	if (first != SIZE_MAX)
		return mig_rd_skip(c->r, first, c->err);
	return mig_error_set(c->err, MIG_ETRUNC, base,
			     "truncated: no footer of section '%s' (id %" PRIu32 ") before the end of the stream (its layout is unknown: %s)",
			     rec->name, rec->section_id, why);
}

static int read_footer(struct pctx *c, struct mig_record *rec)
{
	const uint8_t *p;
	uint64_t at = mig_rd_offset(c->r);
	uint32_t id;
	int ret;

	if (c->footers_known && !c->s->footers)
		return 0;
	if (mig_rd_at_end(c->r))
		return mig_error_set(c->err, MIG_ETRUNC, at,
				     "truncated: the stream ends after the payload of section '%s' (id %" PRIu32 "), before its footer or the next record",
				     rec->name, rec->section_id);
	ret = mig_rd_peek(c->r, 1, &p, c->err);
	if (ret)
		return ret;
	if (p[0] != MIG_REC_FOOTER) {
		if (!c->footers_known) {
			c->footers_known = true;
			c->s->footers = false;
			return 0;
		}
		return mig_error_set(c->err, MIG_EFOOTER, at,
				     "missing section footer for '%s' (found byte 0x%02x)",
				     rec->name, p[0]);
	}
	ret = mig_rd_skip(c->r, 1, c->err);
	if (!ret)
		ret = mig_rd_be32(c->r, &id, c->err);
	if (ret)
		return ret;
	if (id != rec->section_id)
		return mig_error_set(c->err, MIG_EFOOTER, at + 1,
				     "mismatched section id in footer for '%s': read 0x%" PRIx32 ", expected 0x%" PRIx32,
				     rec->name, id, rec->section_id);
	c->footers_known = true;
	c->s->footers = true;
	rec->has_footer = true;
	return 0;
}

/*
 * Can the section end at @off, the cursor?  Its footer follows (when the
 * stream has footers), or a record can start there (when it has none).
 */
static bool section_end_ok(void *ctx, uint64_t off)
{
	struct pctx *c = ctx;
	struct mig_record *rec = c->s->last;
	const uint8_t *p;
	size_t len;

	if (off != mig_rd_offset(c->r) ||
	    mig_rd_rest(c->r, c->max_tail, &p, &len, NULL))
		return false;
	if (!c->footers_known || c->s->footers) {
		if (len >= 5 && p[0] == MIG_REC_FOOTER &&
		    ((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
		     (uint32_t)p[3] << 8 | p[4]) == rec->section_id &&
		    plausible_record(c, p + 5, len - 5, off + 5))
			return true;
		if (c->footers_known)
			return false;
	}
	return plausible_record(c, p, len, off);
}

/* The first offset from @from (the cursor) where the section can end. */
static uint64_t section_next_end(void *ctx, uint64_t from)
{
	struct pctx *c = ctx;
	const uint8_t *p;
	size_t len;

	if (from != mig_rd_offset(c->r) ||
	    mig_rd_rest(c->r, c->max_tail, &p, &len, NULL) ||
	    (c->footers_known && !c->s->footers))
		return UINT64_MAX;
	for (size_t i = 0; i + 5 <= len; i++)
		if (p[i] == MIG_REC_FOOTER &&
		    ((uint32_t)p[i + 1] << 24 | (uint32_t)p[i + 2] << 16 |
		     (uint32_t)p[i + 3] << 8 | p[i + 4]) ==
			    c->s->last->section_id &&
		    plausible_record(c, p + i + 5, len - i - 5, from + i + 5))
			return from + i;
	return UINT64_MAX;
}

/* No vmdesc entry: decode with a schema when the caller gave some. */
static int schema_or_skip(struct pctx *c, struct mig_record *rec,
			  const char *why)
{
	struct sel_ends ends = { section_end_ok, section_next_end, c };
	char reason[MIG_MSG_MAX];
	int ret;

	if (!c->sel.n)
		return skip_to_footer(c, rec, why);
	ret = sel_decode(&c->sel, c->r, c->s, rec, &ends, reason,
			 sizeof(reason), c->err);
	if (ret <= 0)
		return ret;
	return skip_to_footer(c, rec, reason);
}

/*
 * Every FULL record can decode to a tree of up to a quarter million nodes
 * from a few bytes (elements that take no bytes), and FULL records may
 * repeat: the trees of one stream are capped together.
 */
static int count_nodes(struct pctx *c, const struct mig_record *rec)
{
	if (!rec->tree)
		return 0;
	c->nodes += mig_node_count(rec->tree);
	if (c->nodes > MIG_STREAM_NODES_MAX)
		return mig_error_set(c->err, MIG_ELIMIT, rec->offset,
				     "section '%s' (id %" PRIu32 "): the decoded sections hold more than %u nodes",
				     rec->name, rec->section_id,
				     MIG_STREAM_NODES_MAX);
	return 0;
}

static int decode_device(struct pctx *c, struct mig_record *rec)
{
	char path[MIG_PATH_MAX];
	const json_t *dev;
	uint64_t at = mig_rd_offset(c->r);
	json_t *ver;
	int ret;

	ret = scan_tail(c);
	if (ret)
		return ret;
	if (!c->s->vmdesc || c->ignore_vmdesc)
		return schema_or_skip(c, rec, "no vmdesc to describe it");
	dev = mig_vmdesc_device(c->s->vmdesc, rec->name, rec->instance);
	if (!dev)
		return schema_or_skip(c, rec, "not described by the vmdesc");
	ver = json_object_get(dev, "version");
	if (json_is_integer(ver) &&
	    json_integer_value(ver) != (json_int_t)rec->version)
		return mig_error_set(c->err, MIG_EVMDESC, rec->offset,
				     "section '%s' (id %" PRIu32 "): version %" PRIu32 ", the vmdesc says %" JSON_INTEGER_FORMAT,
				     rec->name, rec->section_id, rec->version,
				     json_integer_value(ver));
	snprintf(path, sizeof(path), "section '%s' (id %" PRIu32 ")",
		 rec->name, rec->section_id);
	rec->kind = mig_vmdesc_is_legacy(dev) ? MIG_SEC_LEGACY : MIG_SEC_VMSTATE;
	if (json_is_string(json_object_get(dev, "vmsd_name")) &&
	    !(rec->vmsd = strdup(json_string_value(
		      json_object_get(dev, "vmsd_name")))))
		return nomem(c);
	ret = mig_vmdesc_decode(c->r, dev, path, &rec->tree, c->err);
	if (ret == -MIG_EUNSUP) {
		/* Framing we cannot follow yet (e.g. a gtree): go back and
		 * find the end by the footer, keeping the reason, instead of
		 * failing the whole stream. */
		char why[MIG_MSG_MAX];

		snprintf(why, sizeof(why), "%s", c->err->msg);
		mig_error_clear(c->err);
		/* The nodes built before the stop count toward the stream's
		 * cap: a few bytes of section could otherwise make a quarter
		 * million nodes, again and again. */
		ret = count_nodes(c, rec);
		mig_node_free(rec->tree);
		rec->tree = NULL;
		if (ret)
			return ret;
		ret = mig_rd_rewind(c->r, at, c->err);
		if (!ret)
			ret = skip_to_footer(c, rec, why);
	}
	return ret;
}

static int read_records(struct pctx *c, uint64_t limit);

static int read_section(struct pctx *c, struct mig_record *rec)
{
	struct section *sec;
	char name[256];
	int ret;

	ret = mig_rd_be32(c->r, &rec->section_id, c->err);
	if (ret)
		return ret;
	if (rec->type == MIG_REC_START || rec->type == MIG_REC_FULL) {
		uint64_t name_at = mig_rd_offset(c->r);

		ret = mig_rd_str8(c->r, name, c->err);
		if (ret)
			return ret;
		if (mig_rd_offset(c->r) == name_at + 1)
			return mig_error_set(c->err, MIG_ESECTION, name_at,
					     "section id %" PRIu32 " has an empty name",
					     rec->section_id);
		/* A NUL byte is not printable text either (and would cut
		 * the name short). */
		if (!printable(name) ||
		    strlen(name) != mig_rd_offset(c->r) - name_at - 1)
			return mig_error_set(c->err, MIG_ESECTION,
					     name_at + 1 + first_unprintable(name),
					     "section id %" PRIu32 " has a name that is not printable text",
					     rec->section_id);
		ret = mig_rd_be32(c->r, &rec->instance, c->err);
		if (!ret)
			ret = mig_rd_be32(c->r, &rec->version, c->err);
		if (ret)
			return ret;
		sec = find_section(c, rec->section_id);
		if (sec && rec->type == MIG_REC_START)
			return mig_error_set(c->err, MIG_ESECTION, rec->offset,
					     "section id %" PRIu32 " started twice ('%s', then '%s')",
					     rec->section_id, sec->name, name);
		if (!sec) {
			sec = add_section(c, rec->section_id);
			if (!sec || !(sec->name = strdup(name)))
				return nomem(c);
		}
		if (strcmp(sec->name, name)) {
			/* A FULL section may reuse an id: it is named by
			 * its own header, not by the earlier section. */
			char *n = strdup(name);

			if (!n)
				return nomem(c);
			free(sec->name);
			sec->name = n;
		}
		sec->id = rec->section_id;
		sec->instance = rec->instance;
		sec->version = rec->version;
		sec->ram = !strcmp(name, "ram") && rec->instance == 0;
	} else {
		sec = find_section(c, rec->section_id);
		if (!sec)
			return mig_error_set(c->err, MIG_ESECTION, rec->offset + 1,
					     "%s record for unknown section id %" PRIu32,
					     mig_rec_type_name(rec->type),
					     rec->section_id);
		rec->instance = sec->instance;
		rec->version = sec->version;
	}
	if (!(rec->name = strdup(sec->name)))
		return nomem(c);

	rec->payload_offset = mig_rd_offset(c->r);
	if (sec->ram) {
		rec->kind = MIG_SEC_RAM;
		if (rec->version != 4)
			return mig_error_set(c->err, MIG_ERAM, rec->offset,
					     "RAM section version %" PRIu32 " (only version 4 exists)",
					     rec->version);
		if (rec->type == MIG_REC_FULL)
			return mig_error_set(c->err, MIG_ERAM, rec->offset,
					     "RAM sent as a FULL section");
		ret = ram_read_chunk(c->r, c->s, &c->ram, rec, c->err);
		if (ret)
			mig_error_push_path(c->err, "section 'ram' (id %" PRIu32 ")",
					    rec->section_id);
	} else if (rec->type == MIG_REC_FULL) {
		ret = decode_device(c, rec);
		if (!ret)
			ret = count_nodes(c, rec);
	} else {
		ret = skip_to_footer(c, rec,
				     "iterative section of a kind not decoded yet");
	}
	if (ret)
		return ret;
	rec->payload_size = mig_rd_offset(c->r) - rec->payload_offset;
	ret = read_footer(c, rec);
	rec->size = mig_rd_offset(c->r) - rec->offset;
	return ret;
}

static int read_command(struct pctx *c, struct mig_record *rec)
{
	int fixed;
	int ret;

	ret = mig_rd_be16(c->r, &rec->cmd, c->err);
	if (!ret)
		ret = mig_rd_be16(c->r, &rec->cmd_len, c->err);
	if (ret)
		return ret;
	if (!mig_cmd_name(rec->cmd))
		return mig_error_set(c->err, MIG_ECMD, rec->offset + 1,
				     "unknown command 0x%x (length 0x%x)",
				     rec->cmd, rec->cmd_len);
	fixed = mig_cmd_fixed_len(rec->cmd);
	if (fixed >= 0 && rec->cmd_len != fixed)
		return mig_error_set(c->err, MIG_ECMD, rec->offset + 3,
				     "command '%s' has length %u, expected %d",
				     mig_cmd_name(rec->cmd), rec->cmd_len,
				     fixed);
	if (rec->cmd == MIG_CMD_POSTCOPY_ADVISE && rec->cmd_len != 0 &&
	    rec->cmd_len != 16)
		return mig_error_set(c->err, MIG_ECMD, rec->offset + 3,
				     "command 'postcopy-advise' has length %u, expected 0 or 16",
				     rec->cmd_len);
	rec->cmd_data = malloc(rec->cmd_len ? rec->cmd_len : 1);
	if (!rec->cmd_data)
		return nomem(c);
	ret = mig_rd_bytes(c->r, rec->cmd_data, rec->cmd_len, c->err);
	if (ret) {
		/* Cut short: no data to show (not uninitialised bytes). */
		free(rec->cmd_data);
		rec->cmd_data = NULL;
		return ret;
	}
	rec->size = mig_rd_offset(c->r) - rec->offset;
	/* Postcopy: RAM block lists may now carry page sizes. */
	if (rec->cmd == MIG_CMD_POSTCOPY_ADVISE)
		ram_postcopy_advise(&c->ram, rec->cmd_data, rec->cmd_len);
	if (rec->cmd == MIG_CMD_PACKAGED) {
		const uint8_t *d = rec->cmd_data;
		uint64_t blob = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
				(uint32_t)d[2] << 8 | d[3];

		if (c->depth)
			return mig_error_set(c->err, MIG_ECMD, rec->offset,
					     "packaged command inside a packaged blob");
		c->depth++;
		ret = read_records(c, mig_rd_offset(c->r) + blob);
		c->depth--;
		rec->size = mig_rd_offset(c->r) - rec->offset;
	}
	return ret;
}

static int read_trailer(struct pctx *c)
{
	struct mig_stream *s = c->s;
	uint64_t at = mig_rd_offset(c->r);
	const uint8_t *p;
	uint32_t len;
	uint8_t type;
	int ret;

	if (mig_rd_at_end(c->r)) {
		if (c->vmdesc_located)
			return mig_error_set(c->err, MIG_EVMDESC, at,
					     "stream ends at EOF, but a vmdesc was found at 0x%" PRIx64,
					     c->vmdesc_marker);
		return 0;
	}
	ret = mig_rd_u8(c->r, &type, c->err);
	if (ret)
		return ret;
	if (type != MIG_REC_VMDESC)
		return mig_error_set(c->err, MIG_EVMDESC, at,
				     "expected a vmdesc record (0x06) after EOF, found 0x%02x",
				     type);
	ret = mig_rd_be32(c->r, &len, c->err);
	if (ret)
		return ret;
	if (c->vmdesc_located && c->vmdesc_marker != at)
		return mig_error_set(c->err, MIG_EVMDESC, at,
				     "vmdesc record here, but the trailer found at the end starts at 0x%" PRIx64,
				     c->vmdesc_marker);
	if (!c->vmdesc_located) {
		/* Not scanned yet (a stream without device sections), or the
		 * trailer does not end the input. */
		if (len > MIG_VMDESC_MAX)
			return mig_error_set(c->err, MIG_ELIMIT, at + 1,
					     "vmdesc of %" PRIu32 " bytes exceeds the limit of %u",
					     len, MIG_VMDESC_MAX);
		ret = mig_rd_peek(c->r, len, &p, c->err);
		if (ret)
			return ret;
		ret = mig_vmdesc_parse(p, len, at + 5, &s->vmdesc, c->err);
		if (ret)
			return ret;
	}
	ret = mig_rd_skip(c->r, len, c->err);
	if (ret)
		return ret;
	s->has_vmdesc = true;
	s->vmdesc_offset = at;
	s->vmdesc_size = len;
	if (!mig_rd_at_end(c->r))
		return mig_error_set(c->err, MIG_EVMDESC, mig_rd_offset(c->r),
				     "unexpected bytes after the vmdesc");
	return 0;
}

/*
 * Reads records until EOF (top level) or until @limit (a packaged blob,
 * which ends with POSTCOPY_RUN and has no EOF).
 */
static int read_records(struct pctx *c, uint64_t limit)
{
	for (;;) {
		uint64_t at = mig_rd_offset(c->r);
		struct mig_record *rec;
		uint8_t type;
		int ret;

		if (c->depth && at == limit)
			return 0;
		if (c->depth && at > limit)
			return mig_error_set(c->err, MIG_ECMD, at,
					     "record overruns its packaged blob by %" PRIu64 " bytes",
					     at - limit);
		if (mig_rd_at_end(c->r))
			return mig_error_set(c->err, MIG_ETRUNC, at,
					     c->depth ? "truncated inside a packaged blob"
						      : "truncated: the stream ends before its EOF record");
		ret = mig_rd_u8(c->r, &type, c->err);
		if (ret)
			return ret;
		switch (type) {
		case MIG_REC_START:
		case MIG_REC_PART:
		case MIG_REC_END:
		case MIG_REC_FULL:
			rec = add_record(c, type, at);
			if (!rec)
				return -MIG_ENOMEM;
			ret = read_section(c, rec);
			break;
		case MIG_REC_COMMAND:
			rec = add_record(c, type, at);
			if (!rec)
				return -MIG_ENOMEM;
			ret = read_command(c, rec);
			break;
		case MIG_REC_EOF:
			if (c->depth)
				return mig_error_set(c->err, MIG_ERECORD, at,
						     "EOF record inside a packaged blob");
			rec = add_record(c, type, at);
			if (!rec)
				return -MIG_ENOMEM;
			rec->size = 1;
			return read_trailer(c);
		case MIG_REC_CONFIG:
			return mig_error_set(c->err, MIG_ERECORD, at,
					     "configuration record (0x07) not right after the header");
		default:
			return mig_error_set(c->err, MIG_ERECORD, at,
					     "unknown record type 0x%02x", type);
		}
		if (ret)
			return ret;
	}
}

static int read_stream(struct pctx *c)
{
	struct mig_stream *s = c->s;
	const uint64_t start = mig_rd_offset(c->r);
	const uint8_t *p;
	uint32_t magic, version;
	int ret;

	ret = mig_rd_be32(c->r, &magic, c->err);
	if (ret)
		return ret;
	if (magic != MIG_FILE_MAGIC)
		return mig_error_set(c->err, MIG_EMAGIC, start,
				     "not a migration stream (magic 0x%08" PRIx32 ", expected 0x%08x \"QEVM\")",
				     magic, MIG_FILE_MAGIC);
	ret = mig_rd_be32(c->r, &version, c->err);
	if (ret)
		return ret;
	s->file_version = version;
	if (version == MIG_FILE_VERSION_COMPAT)
		return mig_error_set(c->err, MIG_EVERSION, start + 4,
				     "stream version 2 is obsolete (QEMU reads only version 3)");
	if (version != MIG_FILE_VERSION)
		return mig_error_set(c->err, MIG_EVERSION, start + 4,
				     "unsupported stream version %" PRIu32 " (expected 3)",
				     version);
	if (mig_rd_at_end(c->r))
		return mig_error_set(c->err, MIG_ETRUNC, start + 8,
				     "truncated: the stream ends after its header");
	ret = mig_rd_peek(c->r, 1, &p, c->err);
	if (ret)
		return ret;
	if (p[0] == MIG_REC_CONFIG) {
		ret = read_config(c);
		if (ret) {
			mig_error_push_path(c->err, "configuration");
			return ret;
		}
	}
	/* Files: find the vmdesc now, so its page size is known for RAM
	 * (and checked against the configuration's). */
	if (mig_rd_size(c->r) != MIG_NO_OFFSET) {
		ret = scan_tail(c);
		if (ret)
			return ret;
	}
	return read_records(c, 0);
}

/* The reader's progress tick, passed on with the section being read. */
struct progress_hook {
	const struct mig_parse_opts *opts;
	struct mig_reader *r;
	const struct mig_stream *s;
};

static void progress_tick(void *ctx, uint64_t offset)
{
	const struct progress_hook *h = ctx;
	struct mig_progress p = {
		.offset = offset,
		.section = h->s->last ? h->s->last->name : NULL,
	};

	mig_rd_input_pos(h->r, &p.in_bytes, &p.in_size);
	h->opts->on_progress(h->opts->progress_ctx, &p);
}

int mig_stream_read(struct mig_reader *r, const struct mig_parse_opts *opts,
		    struct mig_stream **out, struct mig_error *err)
{
	struct progress_hook hook = { opts, r, NULL };
	struct mig_error local;
	struct pctx c = {
		.r = r,
		.err = err ? err : &local,
		.max_tail = opts && opts->max_tail ? opts->max_tail : TAIL_MAX,
		.ram = {
			.last = -1,
			.on_page = opts ? opts->on_page : NULL,
			.ctx = opts ? opts->ctx : NULL,
		},
	};
	struct mig_stream *s;
	int ret;

	mig_error_clear(c.err);
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return mig_error_set(c.err, MIG_ENOMEM, 0, "out of memory");
	s->name = strdup(mig_reader_name(r));
	if (!s->name) {
		free(s);
		return mig_error_set(c.err, MIG_ENOMEM, 0, "out of memory");
	}
	s->size = mig_rd_size(r);
	s->page_size = 4096;
	c.s = s;
	if (mig_reader_wrapper(r) &&
	    !(s->wrapper = mig_wrapper_dup(mig_reader_wrapper(r)))) {
		mig_stream_free(s);
		return mig_error_set(c.err, MIG_ENOMEM, 0, "out of memory");
	}
	hook.s = s;
	if (opts && opts->on_progress)
		mig_rd_set_progress(r, opts->progress_step, progress_tick,
				    &hook);

	c.ignore_vmdesc = opts && opts->ignore_vmdesc;
	sel_init(&c.sel, opts);
	ret = ram_take_caps(&c.ram, opts ? opts->caps : NULL,
			    opts ? opts->ncaps : 0, c.err);
	if (!ret)
		ret = read_stream(&c);
	if (sel_finish(&c.sel, s) && !ret)
		ret = mig_error_set(c.err, MIG_ENOMEM, mig_rd_offset(r),
				    "out of memory");
	ram_state_release(&c.ram);
	if (opts && opts->on_progress)
		mig_rd_set_progress(r, 0, NULL, NULL);
	s->end = mig_rd_offset(r);
	if (s->size == MIG_NO_OFFSET && !ret)
		s->size = s->end;
	s->complete = ret == 0;
	for (size_t i = 0; i < c.nsecs; i++)
		free(c.secs[i].name);
	free(c.secs);
	free(c.sec_slots);
	*out = s;
	return ret;
}
