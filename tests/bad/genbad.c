/* SPDX-License-Identifier: MIT */
/*
 * genbad: writes broken variants of real QEMU migration streams, for
 * testdata/bad/ (the idea of dtc's tests/trees.S: hand-made bad inputs from
 * a program, so they can be regenerated and reviewed).
 *
 *   genbad SRC_STREAM... OUTDIR
 *
 * Every SRC_STREAM is walked here, without the migstream library: this file
 * knows the byte layout itself (header, configuration, START/PART/END/FULL
 * sections with footers, RAM records, commands, EOF, vmdesc), so the tests
 * that use its output are an independent check of the library.
 *
 * From each source a compact base is built first: the same stream without
 * its RAM PART sections (the guest pages), which is still a valid stream.
 * A source with a vmdesc gives the variants that need one (device sections
 * decoded field by field, vmdesc damage, truncation at every record
 * boundary); a source without one gives the rest.  Each variant is written
 * to OUTDIR/NAME.mig, and OUTDIR/MANIFEST gets one line per variant:
 *
 *   NAME<TAB>EXIT<TAB>OFFSET<TAB>SUBSTRING
 *
 * EXIT is what `migstream info` must return; for a broken stream, OFFSET
 * ("0x..." as the tool prints it) is where the error must be reported and
 * SUBSTRING a piece of its message.  A valid variant has "-" in both.
 *
 * The expected offset is decided here, from the bytes, never copied from
 * the tool's output:
 *   - a value that is wrong: the first byte of the smallest wire item that
 *     holds it (the id of a footer, the length of a command); a bad byte
 *     inside a name: that byte;
 *   - a stream cut inside an item the reader can frame: the first byte of
 *     that item (a cut be32, str8, page, vmdesc JSON);
 *   - a stream cut between records: the end of the input, where the next
 *     record should start, and a message that says the stream ends there
 *     (ENDS), not that some item was cut;
 *   - a stream cut inside a device section no description frames (there is
 *     no vmdesc in a cut stream): the start of its payload, the part that
 *     cannot be delimited.
 *
 * The output depends only on the input bytes: no time, no randomness, no
 * paths, so the files can be committed and checked for staleness.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
	REC_EOF = 0x00,
	REC_START = 0x01,
	REC_PART = 0x02,
	REC_END = 0x03,
	REC_FULL = 0x04,
	REC_SUBSECTION = 0x05,
	REC_VMDESC = 0x06,
	REC_CONFIG = 0x07,
	REC_COMMAND = 0x08,
	REC_FOOTER = 0x7e,
};

enum {
	RAM_ZERO = 0x02,
	RAM_MEM_SIZE = 0x04,
	RAM_PAGE = 0x08,
	RAM_EOS = 0x10,
	RAM_CONTINUE = 0x20,
	RAM_MULTIFD_FLUSH = 0x200,
};

#define FILE_MAGIC 0x5145564du
#define CMD_MAX 12		/* first command id QEMU 10.0 does not know */
#define MAX_RECS 128
#define MAX_BLOCKS 64
#define NO_OFF SIZE_MAX
/* What the message of a stream cut between two records says. */
#define ENDS "truncated: the stream ends"

/* One top-level record of a walked stream; offsets are absolute. */
struct rec {
	int type;
	size_t off;		/* record type byte */
	size_t end;		/* first byte after the record (and its footer) */

	/* sections */
	uint32_t id;
	char name[256];
	size_t id_off;
	size_t name_off;	/* str8 length byte (START, FULL) */
	size_t inst_off;
	size_t ver_off;
	size_t pay;		/* payload */
	size_t foot;		/* footer, or end of payload without footers */
	bool ram;

	/* RAM payloads: the first records, by kind */
	size_t ram_first;	/* first record word */
	size_t ram_eos;		/* the EOS word */
	size_t blk_name;	/* first block list entry: its str8 name */
	size_t blk_len;		/*   and its be64 length */
	size_t rec0, rec0_end;	/* first and second page records */
	size_t rec1, rec1_end;
	size_t page, page_end;	/* first PAGE record that names its block */
	size_t page_data;	/*   and its page data */

	/* commands */
	uint16_t cmd;
	uint16_t cmd_len;
};

struct block {
	char name[256];
	uint64_t len;
};

struct walk {
	const char *what;	/* for messages */
	const uint8_t *d;
	size_t len;
	size_t cfg;		/* configuration record, NO_OFF when none */
	size_t cfg_end;
	bool ignore_shared;
	uint64_t page_size;
	struct rec recs[MAX_RECS];
	size_t nrecs;
	struct block blocks[MAX_BLOCKS];
	size_t nblocks;
	long last_block;
	size_t eof;		/* the EOF byte */
	bool vmdesc;
	size_t vmd;		/* the 0x06 byte */
	size_t json;		/* first byte of the JSON */
	uint32_t json_len;
};

/* A growable byte buffer. */
struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static const char *outdir;
static struct buf manifest;
static char (*names)[128];
static size_t nnames;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						     noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "genbad: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static void put(struct buf *b, const void *p, size_t n)
{
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 4096;

		while (n > cap - b->len)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put_u8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put_be16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(b, x, sizeof(x));
}

static void put_be32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 8), (uint8_t)v };

	put(b, x, sizeof(x));
}

static void put_be64(struct buf *b, uint64_t v)
{
	put_be32(b, (uint32_t)(v >> 32));
	put_be32(b, (uint32_t)v);
}

static void put_str(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* A copy of @n bytes of @d. */
static struct buf copy_of(const uint8_t *d, size_t n)
{
	struct buf b = { 0 };

	put(&b, d, n);
	return b;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static void set_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void set_be64(uint8_t *p, uint64_t v)
{
	set_be32(p, (uint32_t)(v >> 32));
	set_be32(p + 4, (uint32_t)v);
}

/* ---- walking a stream ---- */

static void need(const struct walk *w, size_t pos, size_t n)
{
	if (n > w->len || pos > w->len - n)
		die("%s: offset 0x%zx: stream ends inside a %zu-byte item",
		    w->what, pos, n);
}

static uint8_t rd_u8(const struct walk *w, size_t *pos)
{
	need(w, *pos, 1);
	return w->d[(*pos)++];
}

static uint16_t rd_be16(const struct walk *w, size_t *pos)
{
	uint16_t v;

	need(w, *pos, 2);
	v = (uint16_t)(w->d[*pos] << 8 | w->d[*pos + 1]);
	*pos += 2;
	return v;
}

static uint32_t rd_be32(const struct walk *w, size_t *pos)
{
	uint32_t v;

	need(w, *pos, 4);
	v = get_be32(w->d + *pos);
	*pos += 4;
	return v;
}

static uint64_t rd_be64(const struct walk *w, size_t *pos)
{
	uint64_t v;

	need(w, *pos, 8);
	v = get_be64(w->d + *pos);
	*pos += 8;
	return v;
}

static void rd_str8(const struct walk *w, size_t *pos, char dst[256])
{
	size_t n = rd_u8(w, pos);

	need(w, *pos, n);
	memcpy(dst, w->d + *pos, n);
	dst[n] = '\0';
	*pos += n;
}

static bool printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
	return true;
}

static struct rec *find_sec(struct walk *w, uint32_t id)
{
	for (size_t i = 0; i < w->nrecs; i++)
		if ((w->recs[i].type == REC_START ||
		     w->recs[i].type == REC_FULL) && w->recs[i].id == id)
			return &w->recs[i];
	return NULL;
}

static long find_block(const struct walk *w, const char *name)
{
	for (size_t i = 0; i < w->nblocks; i++)
		if (!strcmp(w->blocks[i].name, name))
			return (long)i;
	return -1;
}

static void walk_config(struct walk *w, size_t *pos)
{
	char name[256];
	uint32_t len;

	w->cfg = *pos;
	rd_u8(w, pos);
	len = rd_be32(w, pos);
	need(w, *pos, len);
	*pos += len;
	while (*pos < w->len && w->d[*pos] == REC_SUBSECTION) {
		size_t at = *pos;

		(*pos)++;
		rd_str8(w, pos, name);
		rd_be32(w, pos);
		if (!strcmp(name, "configuration/target-page-bits")) {
			uint32_t bits = rd_be32(w, pos);

			if (bits < 10 || bits > 16)
				die("%s: offset 0x%zx: page bits %u",
				    w->what, at, bits);
			w->page_size = 1ull << bits;
		} else if (!strcmp(name, "configuration/capabilities")) {
			uint32_t n = rd_be32(w, pos);

			for (uint32_t i = 0; i < n; i++) {
				char cap[256];

				rd_str8(w, pos, cap);
				if (!strcmp(cap, "x-ignore-shared"))
					w->ignore_shared = true;
				else if (!strcmp(cap, "mapped-ram"))
					die("%s: mapped-ram streams are not supported",
					    w->what);
			}
		} else if (!strcmp(name, "configuration/uuid")) {
			need(w, *pos, 16);
			*pos += 16;
		} else {
			die("%s: offset 0x%zx: unknown configuration subsection '%s'",
			    w->what, at, name);
		}
	}
	w->cfg_end = *pos;
}

/* The str8 block name of a page record, or the previous block. */
static void ram_block(struct walk *w, size_t at, unsigned flags,
		      uint64_t addr, size_t *pos)
{
	char name[256];

	if (!(flags & RAM_CONTINUE)) {
		rd_str8(w, pos, name);
		w->last_block = find_block(w, name);
		if (w->last_block < 0)
			die("%s: offset 0x%zx: unknown RAM block '%s'",
			    w->what, at, name);
	} else if (w->last_block < 0) {
		die("%s: offset 0x%zx: CONTINUE without a block", w->what, at);
	}
	if (addr >= w->blocks[w->last_block].len)
		die("%s: offset 0x%zx: page outside its block", w->what, at);
}

/* A RAM payload (FORMAT.md section 4), up to and including EOS. */
static void walk_ram(struct walk *w, struct rec *r, size_t *pos)
{
	size_t nrec = 0;

	r->ram_first = *pos;
	for (;;) {
		size_t at = *pos;
		uint64_t word = rd_be64(w, pos);
		unsigned flags = (unsigned)(word & (w->page_size - 1));
		uint64_t addr = word & ~(w->page_size - 1);

		switch (flags & ~RAM_CONTINUE) {
		case RAM_MEM_SIZE: {
			uint64_t left = addr;

			while (left) {
				struct block *b;

				if (w->nblocks == MAX_BLOCKS)
					die("%s: too many RAM blocks", w->what);
				b = &w->blocks[w->nblocks++];
				if (r->blk_name == NO_OFF)
					r->blk_name = *pos;
				rd_str8(w, pos, b->name);
				if (r->blk_len == NO_OFF)
					r->blk_len = *pos;
				b->len = rd_be64(w, pos);
				if (w->ignore_shared)
					rd_be64(w, pos);
				if (!b->len || b->len > left)
					die("%s: offset 0x%zx: bad block list",
					    w->what, at);
				left -= b->len;
			}
			break;
		}
		case RAM_ZERO:
			ram_block(w, at, flags, addr, pos);
			rd_u8(w, pos);
			break;
		case RAM_PAGE:
			ram_block(w, at, flags, addr, pos);
			if (r->page == NO_OFF && !(flags & RAM_CONTINUE)) {
				r->page = at;
				r->page_data = *pos;
				r->page_end = *pos + w->page_size;
			}
			need(w, *pos, w->page_size);
			*pos += w->page_size;
			break;
		case RAM_EOS:
			if (word != RAM_EOS)
				die("%s: offset 0x%zx: EOS with bits",
				    w->what, at);
			r->ram_eos = at;
			return;
		case RAM_MULTIFD_FLUSH:
			break;
		default:
			die("%s: offset 0x%zx: RAM flags 0x%x not handled",
			    w->what, at, flags);
		}
		if ((flags & ~RAM_CONTINUE) == RAM_ZERO ||
		    (flags & ~RAM_CONTINUE) == RAM_PAGE) {
			if (nrec == 0) {
				r->rec0 = at;
				r->rec0_end = *pos;
			} else if (nrec == 1) {
				r->rec1 = at;
				r->rec1_end = *pos;
			}
			nrec++;
		}
	}
}

/* Could a top-level record start at @p?  Used to find a device's footer. */
static bool plausible(struct walk *w, size_t p)
{
	size_t n;

	if (p >= w->len)
		return false;
	switch (w->d[p]) {
	case REC_EOF:
		if (p + 1 == w->len)
			return true;
		return w->len - p >= 6 && w->d[p + 1] == REC_VMDESC &&
		       get_be32(w->d + p + 2) == w->len - p - 6;
	case REC_START:
	case REC_FULL:
		if (w->len - p < 6)
			return false;
		n = w->d[p + 5];
		return n && w->len - p - 6 >= n + 8 &&
		       printable(w->d + p + 6, n);
	case REC_PART:
	case REC_END:
		return w->len - p >= 5 && find_sec(w, get_be32(w->d + p + 1));
	case REC_COMMAND:
		return w->len - p >= 5 && w->d[p + 1] == 0 &&
		       w->d[p + 2] > 0 && w->d[p + 2] < CMD_MAX &&
		       (size_t)(w->d[p + 3] << 8 | w->d[p + 4]) <=
			       w->len - p - 5;
	default:
		return false;
	}
}

/*
 * A device payload: its layout is not known here, so its end is the first
 * footer with its id that is followed by something that starts a record.
 * The sources are complete streams, and the walk must end exactly at the
 * end of the input, which confirms every choice made here.
 */
static void walk_device(struct walk *w, struct rec *r, size_t *pos)
{
	for (size_t f = *pos; w->len - f >= 5; f++) {
		if (w->d[f] != REC_FOOTER || get_be32(w->d + f + 1) != r->id)
			continue;
		if (!plausible(w, f + 5))
			continue;
		*pos = f;
		return;
	}
	die("%s: offset 0x%zx: no footer for section '%s'", w->what, *pos,
	    r->name);
}

static void walk_section(struct walk *w, struct rec *r, size_t *pos)
{
	r->id_off = *pos;
	r->id = rd_be32(w, pos);
	if (r->type == REC_START || r->type == REC_FULL) {
		uint32_t inst;

		if (find_sec(w, r->id))
			die("%s: offset 0x%zx: section id %u seen twice",
			    w->what, r->off, r->id);
		r->name_off = *pos;
		rd_str8(w, pos, r->name);
		if (!r->name[0] ||
		    !printable((const uint8_t *)r->name, strlen(r->name)))
			die("%s: offset 0x%zx: bad section name", w->what,
			    r->off);
		r->inst_off = *pos;
		inst = rd_be32(w, pos);
		r->ver_off = *pos;
		rd_be32(w, pos);
		r->ram = !strcmp(r->name, "ram") && inst == 0;
	} else {
		const struct rec *s = find_sec(w, r->id);

		if (!s)
			die("%s: offset 0x%zx: unknown section id %u",
			    w->what, r->off, r->id);
		memcpy(r->name, s->name, sizeof(r->name));
		r->ram = s->ram;
	}
	r->pay = *pos;
	if (r->ram)
		walk_ram(w, r, pos);
	else if (w->cfg == NO_OFF)
		die("%s: device sections without footers are not supported",
		    w->what);
	else
		walk_device(w, r, pos);
	r->foot = *pos;
	/* Footers are sent exactly when the configuration is (FORMAT 1.5). */
	if (w->cfg != NO_OFF) {
		if (rd_u8(w, pos) != REC_FOOTER || rd_be32(w, pos) != r->id)
			die("%s: offset 0x%zx: bad footer for '%s'", w->what,
			    r->foot, r->name);
	}
}

/* Top-level records, up to and including EOF. */
static void walk_records(struct walk *w, size_t *pos)
{
	for (;;) {
		struct rec *r;

		if (w->nrecs == MAX_RECS)
			die("%s: more than %d records", w->what, MAX_RECS);
		r = &w->recs[w->nrecs];
		memset(r, 0, sizeof(*r));
		r->ram_first = r->ram_eos = r->blk_name = r->blk_len = NO_OFF;
		r->rec0 = r->rec1 = r->page = NO_OFF;
		r->off = *pos;
		r->type = rd_u8(w, pos);
		switch (r->type) {
		case REC_START:
		case REC_PART:
		case REC_END:
		case REC_FULL:
			walk_section(w, r, pos);
			break;
		case REC_COMMAND:
			r->cmd = rd_be16(w, pos);
			r->cmd_len = rd_be16(w, pos);
			/* PACKAGED nests a stream; no source has one. */
			if (r->cmd == 0 || r->cmd >= CMD_MAX || r->cmd == 7)
				die("%s: offset 0x%zx: command %u not handled",
				    w->what, r->off, r->cmd);
			need(w, *pos, r->cmd_len);
			*pos += r->cmd_len;
			break;
		case REC_EOF:
			r->end = *pos;
			w->eof = r->off;
			w->nrecs++;
			return;
		default:
			die("%s: offset 0x%zx: record type 0x%02x", w->what,
			    r->off, r->type);
		}
		r->end = *pos;
		w->nrecs++;
	}
}

/* Walks the whole stream: @d must be a complete, valid stream. */
static void walk(struct walk *w, const char *what, const uint8_t *d,
		 size_t len)
{
	size_t pos = 0;

	memset(w, 0, sizeof(*w));
	w->what = what;
	w->d = d;
	w->len = len;
	w->cfg = NO_OFF;
	w->page_size = 4096;
	w->last_block = -1;
	if (rd_be32(w, &pos) != FILE_MAGIC || rd_be32(w, &pos) != 3)
		die("%s: not a version 3 migration stream", what);
	if (pos < len && d[pos] == REC_CONFIG)
		walk_config(w, &pos);
	walk_records(w, &pos);
	if (pos == len)
		return;
	w->vmd = pos;
	if (rd_u8(w, &pos) != REC_VMDESC)
		die("%s: offset 0x%zx: no vmdesc after EOF", what, w->vmd);
	w->json_len = rd_be32(w, &pos);
	w->json = pos;
	if (w->json_len != len - pos || d[pos] != '{')
		die("%s: offset 0x%zx: the vmdesc does not end the stream",
		    what, w->vmd);
	w->vmdesc = true;
}

/* ---- finding things ---- */

static size_t find_bytes(const uint8_t *d, size_t from, size_t to,
			 const void *pat, size_t n)
{
	for (size_t i = from; i + n <= to; i++)
		if (!memcmp(d + i, pat, n))
			return i;
	return NO_OFF;
}

/* Offset of the first @s in @w's stream at or after @from. */
static size_t find_str(const struct walk *w, size_t from, const char *s)
{
	return find_bytes(w->d, from, w->len, s, strlen(s));
}

static const struct rec *sec_named(const struct walk *w, int type,
				   const char *name)
{
	for (size_t i = 0; i < w->nrecs; i++)
		if (w->recs[i].type == type && !strcmp(w->recs[i].name, name))
			return &w->recs[i];
	die("%s: no section '%s' of type 0x%02x", w->what, name, type);
}

static const struct rec *first_of(const struct walk *w, int type, int nth)
{
	for (size_t i = 0; i < w->nrecs; i++)
		if (w->recs[i].type == type && nth-- == 0)
			return &w->recs[i];
	die("%s: no record of type 0x%02x", w->what, type);
}

/* ---- writing variants ---- */

static void write_file(const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (!f)
		die("%s: %s", path, strerror(errno));
	if ((n && fwrite(p, 1, n, f) != n) || fclose(f))
		die("%s: write failed", path);
}

/*
 * Writes @b as NAME.mig with its expectation: exit status @rc and, when
 * @rc is not 0, the error at offset @off with @msg in its message.
 */
static void emit(const char *name, const struct buf *b, int rc, size_t off,
		 const char *msg)
{
	char file[160];
	char line[512];

	snprintf(file, sizeof(file), "%s.mig", name);
	for (size_t i = 0; i < nnames; i++)
		if (!strcmp(names[i], file))
			die("variant '%s' written twice", file);
	names = xrealloc(names, (nnames + 1) * sizeof(*names));
	snprintf(names[nnames++], sizeof(*names), "%s", file);
	write_file(file, b->p, b->len);
	if (rc)
		snprintf(line, sizeof(line), "%s\t%d\t0x%zx\t%s\n", file, rc,
			 off, msg);
	else
		snprintf(line, sizeof(line), "%s\t0\t-\t-\n", file);
	put_str(&manifest, line);
}

/* The first @n bytes of @w's stream. */
static void emit_cut(const struct walk *w, const char *name, size_t n,
		     int rc, size_t off, const char *msg)
{
	struct buf b = copy_of(w->d, n);

	emit(name, &b, rc, off, msg);
	buf_free(&b);
}

/* @w's stream with @del bytes at @at replaced by @n bytes of @ins. */
static struct buf spliced(const struct walk *w, size_t at, size_t del,
			  const void *ins, size_t n)
{
	struct buf b = { 0 };

	put(&b, w->d, at);
	put(&b, ins, n);
	put(&b, w->d + at + del, w->len - at - del);
	return b;
}

static void emit_splice(const struct walk *w, const char *name, size_t at,
			size_t del, const void *ins, size_t n, int rc,
			size_t off, const char *msg)
{
	struct buf b = spliced(w, at, del, ins, n);

	emit(name, &b, rc, off, msg);
	buf_free(&b);
}

/* Lower-case record kind and a file-name-safe section name. */
static void rec_label(const struct rec *r, char *dst, size_t cap)
{
	static const char *const kinds[] = {
		[REC_START] = "start", [REC_PART] = "part",
		[REC_END] = "end", [REC_FULL] = "full",
	};
	size_t n;

	if (r->type == REC_COMMAND) {
		snprintf(dst, cap, "cmd-%u", r->cmd);
		return;
	}
	n = (size_t)snprintf(dst, cap, "%s-", kinds[r->type]);

	for (const char *s = r->name; *s && n + 1 < cap; s++)
		dst[n++] = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			   (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ?
			   *s : '-';
	dst[n] = '\0';
}

/*
 * The compact base: @w's stream without its RAM PART sections.  What is
 * left (RAM START with the block list, RAM END, device sections, EOF,
 * vmdesc) is still a valid stream.
 */
static struct buf compact(const struct walk *w)
{
	struct buf b = { 0 };

	put(&b, w->d, w->recs[0].off);
	for (size_t i = 0; i < w->nrecs; i++) {
		const struct rec *r = &w->recs[i];

		if (r->type == REC_PART && r->ram)
			continue;
		put(&b, w->d + r->off, r->end - r->off);
	}
	put(&b, w->d + w->recs[w->nrecs - 1].end,
	    w->len - w->recs[w->nrecs - 1].end);
	return b;
}

/* ---- the variants ---- */

/*
 * Cuts of the base @w: at every record boundary (before and after each
 * footer) and inside every kind of item.
 */
static void gen_truncations(const struct walk *w)
{
	const struct rec *start = first_of(w, REC_START, 0);
	const struct rec *end = first_of(w, REC_END, 0);
	const struct rec *full = first_of(w, REC_FULL, 0);
	char name[128], label[96];

	emit_cut(w, "trunc-empty", 0, 1, 0, "truncated");
	emit_cut(w, "trunc-mid-magic", 2, 1, 0, "truncated");
	emit_cut(w, "trunc-mid-version", 6, 1, 4, "truncated");
	emit_cut(w, "trunc-after-header", 8, 1, 8, ENDS);
	emit_cut(w, "trunc-mid-config-len", w->cfg + 3, 1, w->cfg + 1,
		 "truncated");
	emit_cut(w, "trunc-mid-config-name", w->cfg + 5 + 4, 1, w->cfg + 5,
		 "truncated");
	emit_cut(w, "trunc-after-config", w->cfg_end, 1, w->cfg_end, ENDS);

	/* Every record boundary: before the footer and after the record. */
	for (size_t i = 0; i < w->nrecs; i++) {
		const struct rec *r = &w->recs[i];

		if (r->type == REC_EOF)
			break;
		rec_label(r, label, sizeof(label));
		if (r->type != REC_COMMAND) {
			snprintf(name, sizeof(name),
				 "trunc-%02zu-%s-before-footer", i, label);
			if (r->ram)
				emit_cut(w, name, r->foot, 1, r->foot, ENDS);
			else
				emit_cut(w, name, r->foot, 1, r->pay,
					 "truncated");
		}
		snprintf(name, sizeof(name), "trunc-%02zu-%s-after", i, label);
		emit_cut(w, name, r->end, 1, r->end, ENDS);
	}
	/* A stream that ends at EOF is complete: the vmdesc is optional. */
	emit_cut(w, "trunc-after-eof", w->eof + 1, 0, 0, NULL);

	/* Inside a section header. */
	emit_cut(w, "trunc-start-mid-id", start->id_off + 2, 1, start->id_off,
		 "truncated");
	emit_cut(w, "trunc-start-mid-name", start->name_off + 2, 1,
		 start->name_off, "truncated");
	emit_cut(w, "trunc-start-mid-instance", start->inst_off + 1, 1,
		 start->inst_off, "truncated");
	emit_cut(w, "trunc-start-mid-version", start->ver_off + 3, 1,
		 start->ver_off, "truncated");
	emit_cut(w, "trunc-end-mid-id", end->id_off + 1, 1, end->id_off,
		 "truncated");
	emit_cut(w, "trunc-full-mid-id", full->id_off + 3, 1, full->id_off,
		 "truncated");
	emit_cut(w, "trunc-full-mid-name", full->name_off + 4, 1,
		 full->name_off, "truncated");
	emit_cut(w, "trunc-full-mid-instance", full->inst_off + 2, 1,
		 full->inst_off, "truncated");
	emit_cut(w, "trunc-full-mid-version", full->ver_off + 1, 1,
		 full->ver_off, "truncated");

	/* Inside RAM records: the block list and EOS of START and END. */
	emit_cut(w, "trunc-ram-mid-mem-size", start->ram_first + 5, 1,
		 start->ram_first, "truncated");
	emit_cut(w, "trunc-ram-mid-block-name", start->blk_name + 3, 1,
		 start->blk_name, "truncated");
	emit_cut(w, "trunc-ram-mid-block-length", start->blk_len + 4, 1,
		 start->blk_len, "truncated");
	emit_cut(w, "trunc-ram-mid-eos", start->ram_eos + 1, 1,
		 start->ram_eos, "truncated");
	emit_cut(w, "trunc-ram-end-mid-eos", end->ram_eos + 7, 1,
		 end->ram_eos, "truncated");

	/* Inside footers. */
	emit_cut(w, "trunc-start-mid-footer", start->foot + 2, 1,
		 start->foot + 1, "truncated");
	emit_cut(w, "trunc-end-mid-footer", end->foot + 4, 1, end->foot + 1,
		 "truncated");
	/* A device section: without a vmdesc its payload cannot be framed. */
	emit_cut(w, "trunc-full-mid-field", full->pay + 3, 1, full->pay,
		 "truncated");
	emit_cut(w, "trunc-full-mid-footer", full->foot + 3, 1, full->pay,
		 "truncated");

	/* Inside the vmdesc trailer. */
	if (w->vmdesc) {
		emit_cut(w, "trunc-vmdesc-after-marker", w->vmd + 1, 1,
			 w->vmd + 1, "truncated");
		emit_cut(w, "trunc-vmdesc-mid-length", w->vmd + 3, 1,
			 w->vmd + 1, "truncated");
		emit_cut(w, "trunc-vmdesc-mid-json", w->json + 100, 1,
			 w->json, "truncated");
	}
}

/* Variants that need the vmdesc: device sections are decoded with it. */
static void gen_vmdesc(const struct walk *w)
{
	static const char irq_count[] =
		"{\"name\": \"irq_count\", \"array_len\": 8, \"type\": \"int32\", \"size\": 4}]}";
	const struct rec *port92 = sec_named(w, REC_FULL, "port92");
	const struct rec *pcibus = sec_named(w, REC_FULL, "PCIBUS");
	const struct rec *fwcfg = sec_named(w, REC_FULL, "fw_cfg");
	struct buf b;
	size_t at;
	uint8_t x[8];

	/* The footer of a decoded device: another id, or none at all. */
	b = copy_of(w->d, w->len);
	set_be32(b.p + port92->foot + 1, port92->id + 1);
	emit("footer-id-mismatch", &b, 1, port92->foot + 1,
	     "mismatched section id in footer for 'port92'");
	buf_free(&b);
	emit_splice(w, "footer-missing", port92->foot, 5, NULL, 0, 1,
		    port92->foot, "missing section footer for 'port92'");

	/* The configuration's machine name claims 64 KiB (present here). */
	if (w->len - w->cfg < 0x10000 + 5)
		die("%s: too short for the 64 KiB machine name", w->what);
	b = copy_of(w->d, w->len);
	set_be32(b.p + w->cfg + 1, 0x10000);
	emit("config-name-len-65536", &b, 1, w->cfg + 1, "machine type name");
	buf_free(&b);

	/* A byte that is not UTF-8, inside a JSON string. */
	at = find_str(w, w->json, "\"cpu_ticks_offset\"");
	if (at == NO_OFF)
		die("%s: no \"cpu_ticks_offset\" in the vmdesc", w->what);
	b = copy_of(w->d, w->len);
	b.p[at + 3] = 0xff;
	emit("vmdesc-bad-utf8", &b, 1, at + 3, "vmdesc");
	buf_free(&b);

	/* A syntax error: ';' where ':' belongs. */
	at = find_str(w, w->json, "\"page_size\":");
	if (at == NO_OFF)
		die("%s: no \"page_size\" in the vmdesc", w->what);
	at += strlen("\"page_size\"");
	b = copy_of(w->d, w->len);
	b.p[at] = ';';
	emit("vmdesc-bad-json", &b, 1, at, "vmdesc");
	buf_free(&b);

	/* The length claims one byte more than the file holds. */
	b = copy_of(w->d, w->len);
	set_be32(b.p + w->vmd + 1, w->json_len + 1);
	emit("vmdesc-len-oversized", &b, 1, w->json, "truncated");
	buf_free(&b);

	/* Bytes after the vmdesc. */
	b = copy_of(w->d, w->len);
	put_str(&b, "junk");
	emit("vmdesc-trailing-junk", &b, 1, w->len, "after the vmdesc");
	buf_free(&b);

	/*
	 * The description and the stream disagree: PCIBUS's last field,
	 * irq_count, is an array of 8 int32 with no subsection after it; with
	 * array_len 9 the decoder reads one element too many and expects the
	 * footer 4 bytes after the real one.
	 */
	at = find_str(w, w->json, "\"name\": \"PCIBUS\"");
	if (at != NO_OFF)
		at = find_str(w, at, irq_count);
	if (at == NO_OFF)
		die("%s: PCIBUS irq_count[8] not found in the vmdesc", w->what);
	b = copy_of(w->d, w->len);
	b.p[at + strlen("{\"name\": \"irq_count\", \"array_len\": ")] = '9';
	emit("vmdesc-array-len-bumped", &b, 1, pcibus->foot + 4,
	     "missing section footer for 'PCIBUS'");
	buf_free(&b);

	/* A subsection whose name in the payload differs from the vmdesc. */
	x[0] = REC_SUBSECTION;
	x[1] = 10;
	at = find_bytes(w->d, fwcfg->pay, fwcfg->foot, x, 2);
	if (at == NO_OFF || memcmp(w->d + at + 2, "fw_cfg/dma", 10))
		die("%s: subsection fw_cfg/dma not found", w->what);
	b = copy_of(w->d, w->len);
	b.p[at + 11] = 'b';
	emit("subsection-name-changed", &b, 1, at + 1, "fw_cfg/dmb");
	buf_free(&b);
}

/*
 * The mini PART: the first two page records of the source's first RAM
 * PART and its first PAGE record that names its block, then EOS and the
 * footer.  Real bytes, few of them.
 */
static void mini_part(const struct walk *src, struct buf *b)
{
	const struct rec *part = first_of(src, REC_PART, 0);
	const uint8_t *d = src->d;

	if (!part->ram || part->rec0 == NO_OFF || part->rec1 == NO_OFF ||
	    part->page == NO_OFF)
		die("%s: the first PART has no page records to reuse",
		    src->what);
	if ((d[part->rec0 + 7] & 0x3f) != RAM_ZERO ||
	    (d[part->rec1 + 7] & 0x3f) != (RAM_ZERO | RAM_CONTINUE))
		die("%s: the first PART does not start with ZERO, ZERO|CONTINUE",
		    src->what);
	put_u8(b, REC_PART);
	put_be32(b, part->id);
	put(b, d + part->rec0, part->rec0_end - part->rec0);
	put(b, d + part->rec1, part->rec1_end - part->rec1);
	put(b, d + part->page, part->page_end - part->page);
	put_be64(b, RAM_EOS);
	put_u8(b, REC_FOOTER);
	put_be32(b, part->id);
}

/* Sets @c to the head of a command: 0x08, be16 @id, be16 @len. */
static void cmd(struct buf *c, uint16_t id, uint16_t len)
{
	c->len = 0;
	put_u8(c, REC_COMMAND);
	put_be16(c, id);
	put_be16(c, len);
}

/* Variants that need no vmdesc: framing, commands, RAM records. */
static void gen_framing(const struct walk *src, const struct walk *w)
{
	const struct rec *start = first_of(w, REC_START, 0);
	const struct rec *end = first_of(w, REC_END, 0);
	const struct rec *full = first_of(w, REC_FULL, 0);
	const struct rec *full2 = first_of(w, REC_FULL, 1);
	const struct rec *part;
	struct buf b, c = { 0 }, mini = { 0 };
	struct walk wr;
	uint8_t x[32];
	size_t n;

	/* Header. */
	b = copy_of(w->d, w->len);
	b.p[3] = 'N';
	emit("magic-bad", &b, 1, 0, "not a migration stream");
	set_be32(b.p, FILE_MAGIC);
	set_be32(b.p + 4, 2);
	emit("version-2", &b, 1, 4, "obsolete");
	set_be32(b.p + 4, 4);
	emit("version-4", &b, 1, 4, "unsupported stream version 4");
	buf_free(&b);

	/* Configuration. */
	b = copy_of(w->d, w->len);
	set_be32(b.p + w->cfg + 1, 0);
	emit("config-name-len-0", &b, 1, w->cfg + 1, "machine type name");
	buf_free(&b);

	/* Record type bytes that do not belong at top level. */
	b = copy_of(w->d, w->len);
	b.p[full->off] = 0x09;
	emit("record-type-09", &b, 1, full->off, "unknown record type 0x09");
	b.p[full->off] = REC_SUBSECTION;
	emit("record-type-05", &b, 1, full->off, "0x05");
	buf_free(&b);
	x[0] = REC_FOOTER;
	set_be32(x + 1, end->id);
	emit_splice(w, "record-type-7e", end->end, 0, x, 5, 1, end->end,
		    "0x7e");
	/* The same after a device section that cannot be decoded. */
	b = copy_of(w->d, w->len);
	b.p[full2->off] = 0x09;
	emit("record-type-09-after-undecoded", &b, 1, full2->off,
	     "unknown record type 0x09");
	buf_free(&b);

	/* Footers of the RAM sections. */
	b = copy_of(w->d, w->len);
	set_be32(b.p + start->foot + 1, start->id + 1);
	emit("footer-id-mismatch-ram", &b, 1, start->foot + 1,
	     "mismatched section id in footer for 'ram'");
	buf_free(&b);
	emit_splice(w, "footer-missing-ram-end", end->foot, 5, NULL, 0, 1,
		    end->foot, "missing section footer for 'ram'");

	/* A PART for a section that was never started. */
	n = 0;
	x[n++] = REC_PART;
	set_be32(x + n, 99);
	n += 4;
	set_be64(x + n, RAM_EOS);
	n += 8;
	x[n++] = REC_FOOTER;
	set_be32(x + n, 99);
	n += 4;
	emit_splice(w, "part-unknown-id", start->end, 0, x, n, 1,
		    start->end + 1, "unknown section id 99");

	/* Section names: empty, with a control byte, longer than the rest. */
	emit_splice(w, "idstr-empty", full->name_off, 1 + strlen(full->name),
		    "", 1, 1, full->name_off, "empty name");
	b = copy_of(w->d, w->len);
	b.p[full->name_off + 1 + 2] = 0x01;
	emit("idstr-nonprintable", &b, 1, full->name_off + 1 + 2,
	     "not printable");
	buf_free(&b);
	b = copy_of(w->d, full->name_off + 1 + 100);
	b.p[full->name_off] = 0xff;
	emit("idstr-len-past-end", &b, 1, full->name_off, "truncated");
	buf_free(&b);

	/* Commands, after the RAM START section. */
	cmd(&c, 11, 0);			/* switchover-start */
	emit_splice(w, "cmd-switchover-start", start->end, 0, c.p, c.len, 0,
		    0, NULL);
	cmd(&c, 12, 0);
	emit_splice(w, "cmd-unknown-0c", start->end, 0, c.p, c.len, 1,
		    start->end + 1, "unknown command 0xc");
	cmd(&c, 2, 2);			/* ping with 2 bytes */
	put_be16(&c, 1);
	emit_splice(w, "cmd-ping-len-2", start->end, 0, c.p, c.len, 1,
		    start->end + 3, "'ping' has length 2");
	cmd(&c, 2, 4);			/* ping, cut inside its 4 bytes */
	put_be16(&c, 0);
	b = copy_of(w->d, start->end);
	put(&b, c.p, c.len);
	emit("trunc-cmd-mid-data", &b, 1, start->end + 5, "truncated");
	b.len = start->end + 2;
	emit("trunc-cmd-mid-id", &b, 1, start->end + 1, "truncated");
	buf_free(&b);
	buf_free(&c);

	/* RAM page records: a small PART made of real records. */
	mini_part(src, &mini);
	b = spliced(w, start->end, 0, mini.p, mini.len);
	buf_free(&mini);
	emit("base-novmdesc-part", &b, 0, 0, NULL);
	walk(&wr, "base with a PART", b.p, b.len);
	part = first_of(&wr, REC_PART, 0);

	emit_cut(&wr, "trunc-ram-mid-page-word", part->page + 4, 1,
		 part->page, "truncated");
	emit_cut(&wr, "trunc-ram-mid-page-data", part->page_data + 100, 1,
		 part->page_data, "truncated");
	emit_cut(&wr, "trunc-ram-before-zero-fill", part->rec0_end - 1, 1,
		 part->rec0_end - 1, "truncated");
	emit_cut(&wr, "trunc-ram-mid-zero-name", part->rec0 + 8 + 3, 1,
		 part->rec0 + 8, "truncated");

	{
		struct buf v = copy_of(wr.d, wr.len);

		/* ZERO|PAGE|CONTINUE: no such combination. */
		v.p[part->rec1 + 7] = RAM_ZERO | RAM_PAGE | RAM_CONTINUE;
		emit("ram-flags-unknown", &v, 1, part->rec1,
		     "unknown combination of migration flags: 0x2a");
		memcpy(v.p, wr.d, wr.len);
		/* "pc.ram" -> "pc.rax" */
		if (v.p[part->rec0 + 8] != 6 ||
		    memcmp(v.p + part->rec0 + 9, "pc.ram", 6))
			die("%s: the first page record is not in pc.ram",
			    src->what);
		v.p[part->rec0 + 9 + 5] = 'x';
		emit("ram-block-unknown", &v, 1, part->rec0 + 8, "'pc.rax'");
		memcpy(v.p, wr.d, wr.len);
		/* The first page past the end of pc.ram. */
		set_be64(v.p + part->rec1,
			 wr.blocks[find_block(&wr, "pc.ram")].len |
				 RAM_ZERO | RAM_CONTINUE);
		emit("ram-offset-outside-block", &v, 1, part->rec1,
		     "outside RAM block 'pc.ram'");
		buf_free(&v);
	}
	/* ZERO|CONTINUE as the first page record: no block named yet. */
	set_be64(x, RAM_ZERO | RAM_CONTINUE);
	x[8] = 0;
	emit_splice(&wr, "ram-continue-no-block", part->rec0,
		    part->rec0_end - part->rec0, x, 9, 1, part->rec0,
		    "no block was named before");
	buf_free(&b);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		die("%s: %s", path, strerror(errno));
	for (;;) {
		size_t got;

		if (n == cap) {
			cap = cap ? cap * 2 : 1 << 20;
			p = xrealloc(p, cap);
		}
		got = fread(p + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		die("%s: read failed", path);
	fclose(f);
	*len = n;
	return p;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

int main(int argc, char **argv)
{
	bool with = false, without = false;

	if (argc < 3) {
		fprintf(stderr, "usage: genbad SRC_STREAM... OUTDIR\n");
		return 2;
	}
	outdir = argv[argc - 1];
	if (mkdir(outdir, 0777) && errno != EEXIST)
		die("%s: %s", outdir, strerror(errno));
	put_str(&manifest,
		"# Broken variants of real streams, written by tests/bad/genbad.c\n"
		"# (do not edit; tests/bad/run.sh says how to regenerate).  NAME,\n"
		"# exit status of `migstream info`, offset of the error and a\n"
		"# piece of its message.\n");
	for (int i = 1; i < argc - 1; i++) {
		struct walk src, w;
		struct buf base;
		uint8_t *d;
		size_t len;
		char line[512];

		d = read_file(argv[i], &len);
		walk(&src, base_name(argv[i]), d, len);
		if (src.cfg == NO_OFF)
			die("%s: a source needs a configuration record",
			    src.what);
		base = compact(&src);
		walk(&w, "compact base", base.p, base.len);
		snprintf(line, sizeof(line), "# from %s%s\n",
			 base_name(argv[i]),
			 src.vmdesc ? "" : " (no vmdesc)");
		put_str(&manifest, line);
		if (src.vmdesc) {
			if (with)
				die("two sources with a vmdesc");
			with = true;
			emit("base", &base, 0, 0, NULL);
			gen_truncations(&w);
			gen_vmdesc(&w);
		} else {
			if (without)
				die("two sources without a vmdesc");
			without = true;
			emit("base-novmdesc", &base, 0, 0, NULL);
			gen_framing(&src, &w);
		}
		buf_free(&base);
		free(d);
	}
	write_file("MANIFEST", manifest.p, manifest.len);
	buf_free(&manifest);
	free(names);
	return 0;
}
