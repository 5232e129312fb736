/* SPDX-License-Identifier: MIT */
/*
 * sweep: a deterministic mutation sweep of the migstream commands.
 *
 *   sweep [-n N] [-i FIRST] [-s SEED] [-t SECONDS] [-m MIB] [-k] [-v]
 *         MIGSTREAM WORKDIR STREAM...
 *
 * Makes N mutations of the STREAMs (round robin) and runs every command
 * `MIGSTREAM help` lists on each: info (text or --json), dump (tree with
 * offsets and RAM digests, pages or analyze; and lossless), diff against
 * the original,
 * encode of the lossless document, set of a field, validate and
 * downgrade once they exist.  A STREAM ending in ".json" is a schema
 * (migstream-schema(5)): its mutations go through `schema check`, `show`
 * and `diff` against the original.  Each run must
 *
 *   - end by itself within -t seconds (default 10; then it is killed),
 *     under an address-space limit of -m MiB (default 512; 0: none, for
 *     sanitizer builds, which reserve terabytes of shadow memory);
 *   - exit with 0, 1 or 2, and print a message on standard error when
 *     it is not 0 (diff says "they differ" and validate "it would not
 *     load", exit 1, on standard output);
 *   - leave no output file and no temporary file behind when it fails
 *     (encode, set, downgrade), and, when `dump --lossless` and `encode`
 *     both succeed, give the mutated bytes back.
 *
 * The mutations know the stream's layout (found with libmigstream on the
 * original): bit flips and interesting bytes in headers and device state,
 * truncations at and around record boundaries, length and count fields
 * set to 0, 1, their maximum or past what remains, records duplicated,
 * swapped and deleted, bytes inserted, the vmdesc JSON edited (sizes,
 * array lengths, types, deep nesting, entries dropped or doubled) with
 * its trailer fixed, the lossless document edited the same way before
 * `encode`, and some results wrapped in gzip.  Mutation I of a given seed
 * is always the same bytes.
 *
 * A failing mutation is kept as WORKDIR/fail-I.mig (with -k every one is
 * kept); -i I starts at mutation I (the same sources, the same -s), to
 * make one again.  Prints one line per failure and, last, "N passed, N failed"
 * (one per command run).  Exit 0 when nothing failed, 1 otherwise, 2 on
 * a usage or setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "migstream/migstream.h"
#include "migstream/encode.h"

/* ------------------------------------------------------------------ */
/* Small tools                                                         */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void die(const char *what)
{
	fprintf(stderr, "sweep: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void reserve(struct buf *b, size_t n)
{
	if (n <= b->cap - b->len)
		return;
	while (n > b->cap - b->len)
		b->cap = b->cap ? 2 * b->cap : 4096;
	b->p = realloc(b->p, b->cap);
	if (!b->p)
		die("realloc");
}

static void put(struct buf *b, const void *p, size_t n)
{
	reserve(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void set_bytes(struct buf *b, const void *p, size_t n)
{
	b->len = 0;
	put(b, p, n);
}

/* splitmix64: the only source of randomness, seeded per mutation. */
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); 0 when n is 0. */
static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return false;
	if (fwrite(p, 1, n, f) != n) {
		fclose(f);
		return false;
	}
	return fclose(f) == 0;
}

static bool read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	b->len = 0;
	if (!f)
		return false;
	do {
		reserve(b, 65536);
		n = fread(b->p + b->len, 1, 65536, f);
		b->len += n;
	} while (n);
	fclose(f);
	return true;
}

/* ------------------------------------------------------------------ */
/* What a source stream looks like                                     */

/* A field the mutations may set: @width bytes, big-endian, at @off. */
struct field {
	uint64_t off;
	unsigned width;
};

/* A byte range: a record, or a header worth flipping bits in. */
struct range {
	uint64_t off, len;
};

struct source {
	char *path;
	bool schema;	  /* a schema file (migstream-schema(5)) */
	struct buf bytes; /* the bare stream (unwrapped) */
	bool complete;
	struct field *fields;
	size_t nfields;
	struct range *recs; /* records, in order */
	size_t nrecs;
	struct range *hot; /* headers, device state, the vmdesc */
	size_t nhot;
	bool has_vmdesc;
	uint64_t vmdesc_off; /* of the 0x06 byte */
	char set_path[1024]; /* a field for `set`, or "" */
	char set_value[8];
	struct buf lossless; /* its `dump --lossless` document */
};

static void add_field(struct source *src, uint64_t off, unsigned width)
{
	if (off + width > src->bytes.len)
		return;
	src->fields =
		realloc(src->fields, (src->nfields + 1) * sizeof(*src->fields));
	if (!src->fields)
		die("realloc");
	src->fields[src->nfields].off = off;
	src->fields[src->nfields++].width = width;
}

static void add_range(struct range **v, size_t *n, uint64_t off, uint64_t len)
{
	*v = realloc(*v, (*n + 1) * sizeof(**v));
	if (!*v)
		die("realloc");
	(*v)[*n].off = off;
	(*v)[(*n)++].len = len;
}

/* Page records: their header word and length fields. */
static int on_page(void *ctx, const struct mig_page *pg)
{
	struct source *src = ctx;

	/* Enough pages to find every kind; RAM is mostly alike. */
	if (src->nfields > 4096)
		return 0;
	add_field(src, pg->offset, 8);
	if (pg->record == MIG_PREC_COMPRESS)
		add_field(src, pg->data_offset, 4);
	else if (pg->record == MIG_PREC_XBZRLE)
		add_field(src, pg->data_offset - 2, 2);
	return 0;
}

/* Subsection markers and name lengths, and the first leaf for `set`. */
static void walk_tree(struct source *src, const struct mig_stream *s,
		      const struct mig_record *rec, const struct mig_node *n)
{
	for (; n; n = n->next) {
		if (n->kind == MIG_NODE_SUBSECTION) {
			add_field(src, n->offset, 1);
			add_field(src, n->offset + 1, 1);
		}
		if (!n->child && !src->set_path[0] &&
		    (n->vkind == MIG_VAL_UINT || n->vkind == MIG_VAL_BOOL)) {
			mig_path_format(s, rec, n, src->set_path,
					sizeof(src->set_path));
			snprintf(src->set_value, sizeof(src->set_value), "%s",
				 n->vkind == MIG_VAL_BOOL ? "true" : "0x1");
		}
		if (n->child)
			walk_tree(src, s, rec, n->child);
	}
}

static void free_source(struct source *src)
{
	free(src->path);
	free(src->bytes.p);
	free(src->fields);
	free(src->recs);
	free(src->hot);
	free(src->lossless.p);
	memset(src, 0, sizeof(*src));
}

static bool load_source(struct source *src, const char *path)
{
	struct mig_parse_opts popts = { .on_page = on_page, .ctx = src };
	struct mig_lossless_opts lo = { 0 };
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	struct mig_error err;
	const uint8_t *p;
	json_t *doc = NULL;
	char msg[1024];
	size_t len;
	int ret;

	memset(src, 0, sizeof(*src));
	src->path = strdup(path);
	if (strlen(path) > 5 && !strcmp(path + strlen(path) - 5, ".json")) {
		/* A schema: its JSON is what gets mutated. */
		src->schema = true;
		return read_file(path, &src->bytes) && src->bytes.len;
	}
	mig_error_clear(&err);
	ret = mig_reader_open(&r, path, &err);
	if (!ret)
		ret = mig_rd_rest(r, 1u << 30, &p, &len, &err);
	if (ret) {
		fprintf(stderr, "sweep: %s\n",
			mig_error_format(&err, path, msg, sizeof(msg)));
		mig_reader_free(r);
		return false;
	}
	put(&src->bytes, p, len);
	mig_reader_free(r);

	r = NULL;
	if (mig_reader_from_mem(&r, src->bytes.p, src->bytes.len, path, NULL))
		return false;
	ret = mig_stream_read(r, &popts, &s, NULL);
	mig_reader_free(r);
	if (!s)
		return false;
	src->complete = ret == 0;

	/* The header, the configuration record. */
	add_range(&src->hot, &src->nhot, 0,
		  s->records ? s->records->offset : src->bytes.len);
	add_field(src, 4, 4);
	if (s->has_config)
		add_field(src, s->config_offset + 1, 4);
	for (const struct mig_record *rec = s->records; rec; rec = rec->next) {
		add_range(&src->recs, &src->nrecs, rec->offset,
			  rec->type == MIG_REC_EOF ?
				  src->bytes.len - rec->offset :
				  rec->size);
		switch (rec->type) {
		case MIG_REC_START:
		case MIG_REC_FULL:
			add_field(src, rec->offset + 1, 4);
			add_field(src, rec->offset + 5, 1);
			add_field(src, rec->offset + 6 + strlen(rec->name), 4);
			add_field(src, rec->offset + 10 + strlen(rec->name), 4);
			/* fall through */
		case MIG_REC_PART:
		case MIG_REC_END:
			if (rec->type != MIG_REC_START &&
			    rec->type != MIG_REC_FULL)
				add_field(src, rec->offset + 1, 4);
			if (rec->has_footer)
				add_field(src, rec->offset + rec->size - 4, 4);
			if (rec->kind == MIG_SEC_RAM) {
				add_field(src, rec->payload_offset, 8);
				add_range(&src->hot, &src->nhot, rec->offset,
					  rec->size < 256 ? rec->size : 256);
			} else {
				add_range(&src->hot, &src->nhot, rec->offset,
					  rec->size);
			}
			if (rec->tree)
				walk_tree(src, s, rec, rec->tree->child);
			break;
		case MIG_REC_COMMAND:
			add_field(src, rec->offset + 1, 2);
			add_field(src, rec->offset + 3, 2);
			if (rec->cmd == MIG_CMD_PACKAGED)
				add_field(src, rec->offset + 5, 4);
			add_range(&src->hot, &src->nhot, rec->offset,
				  rec->size < 64 ? rec->size : 64);
			break;
		default:
			break;
		}
	}
	for (size_t i = 0; i < s->nram_blocks; i++) {
		const struct mig_ram_block *b = &s->ram_blocks[i];

		add_field(src, b->offset, 1);
		add_field(src, b->offset + 1 + strlen(b->name), 8);
	}
	if (s->has_vmdesc) {
		src->has_vmdesc = true;
		src->vmdesc_off = s->vmdesc_offset;
		add_field(src, s->vmdesc_offset + 1, 4);
		add_range(&src->hot, &src->nhot, s->vmdesc_offset,
			  src->bytes.len - s->vmdesc_offset);
	}
	mig_stream_free(s);

	/* The lossless document, for the encode mutations. */
	r = NULL;
	if (!mig_reader_from_mem(&r, src->bytes.p, src->bytes.len, path,
				 NULL) &&
	    !mig_lossless_dump(r, &lo, &doc, NULL)) {
		char *text =
			json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

		if (text)
			put(&src->lossless, text, strlen(text));
		free(text);
	}
	json_decref(doc);
	mig_reader_free(r);
	return true;
}

/* ------------------------------------------------------------------ */
/* Mutations                                                           */

static const uint64_t interesting[] = {
	0,
	1,
	2,
	0x7f,
	0x80,
	0xff,
	0x100,
	0x7fff,
	0x8000,
	0xffff,
	0x7fffffff,
	0x80000000u,
	0xffffffffu,
	0x100000000ull,
	0x7fffffffffffffffull,
	0x8000000000000000ull,
	UINT64_MAX,
};

static void put_be(uint8_t *p, unsigned width, uint64_t v)
{
	for (unsigned i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, unsigned width)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < width; i++)
		v = v << 8 | p[i];
	return v;
}

/* An offset in a hot range (headers, device state) or anywhere. */
static uint64_t pick_offset(const struct source *src, size_t len)
{
	if (src->nhot && rnd() & 1) {
		const struct range *h = &src->hot[below(src->nhot)];

		if (h->len && h->off < len)
			return h->off + below(h->len < len - h->off ?
						      h->len :
						      len - h->off);
	}
	return below(len);
}

static const char *mut_bits(const struct source *src, struct buf *b)
{
	unsigned n = 1 + (unsigned)below(8);

	for (unsigned i = 0; i < n && b->len; i++) {
		uint64_t at = pick_offset(src, b->len);

		b->p[at] ^= (uint8_t)(1u << below(8));
	}
	return "bit flips";
}

static const char *mut_byte(const struct source *src, struct buf *b)
{
	static const uint8_t v[] = { 0x00, 0x01, 0x05, 0x06, 0x07, 0x08,
				     0x30, 0x7e, 0x7f, 0x80, 0xfe, 0xff };
	unsigned n = 1 + (unsigned)below(4);

	for (unsigned i = 0; i < n && b->len; i++)
		b->p[pick_offset(src, b->len)] = v[below(sizeof(v))];
	return "interesting bytes";
}

static const char *mut_truncate(const struct source *src, struct buf *b)
{
	uint64_t at;

	if (src->nrecs && rnd() & 1) {
		at = src->recs[below(src->nrecs)].off + below(8);
		if (rnd() & 1 && at >= 4)
			at -= below(8);
	} else {
		at = below(b->len + 1);
	}
	if (at < b->len)
		b->len = (size_t)at;
	return "truncation";
}

static const char *mut_length(const struct source *src, struct buf *b)
{
	const struct field *f;
	uint64_t v, old, mask;

	if (!src->nfields)
		return mut_bits(src, b);
	f = &src->fields[below(src->nfields)];
	if (f->off + f->width > b->len)
		return mut_bits(src, b);
	mask = f->width == 8 ? UINT64_MAX : (1ull << (8 * f->width)) - 1;
	old = get_be(b->p + f->off, f->width);
	switch (below(5)) {
	case 0:
		v = interesting[below(sizeof(interesting) /
				      sizeof(interesting[0]))];
		break;
	case 1:
		v = old + 1;
		break;
	case 2:
		v = old - 1;
		break;
	case 3:
		/* Just past what remains. */
		v = b->len - f->off + below(16);
		break;
	default:
		v = old ^ (1ull << below(8 * f->width));
		break;
	}
	put_be(b->p + f->off, f->width, v & mask);
	return "length or count field";
}

/* Records: duplicated, swapped with the next, deleted. */
static const char *mut_records(const struct source *src, struct buf *b)
{
	struct buf out = { 0 };
	size_t i;
	const struct range *a, *c;
	unsigned how = (unsigned)below(3);

	if (src->nrecs < 2)
		return mut_truncate(src, b);
	i = below(src->nrecs - 1);
	a = &src->recs[i];
	c = &src->recs[i + 1];
	if (c->off + c->len > b->len || a->off + a->len != c->off)
		return mut_bits(src, b);
	put(&out, b->p, (size_t)a->off);
	switch (how) {
	case 0:
		put(&out, b->p + a->off, (size_t)a->len);
		put(&out, b->p + a->off, (size_t)a->len);
		put(&out, b->p + c->off, b->len - (size_t)c->off);
		break;
	case 1:
		put(&out, b->p + c->off, (size_t)c->len);
		put(&out, b->p + a->off, (size_t)a->len);
		put(&out, b->p + c->off + c->len,
		    b->len - (size_t)(c->off + c->len));
		break;
	default:
		put(&out, b->p + c->off, b->len - (size_t)c->off);
		break;
	}
	free(b->p);
	*b = out;
	return how == 0 ? "record duplicated" :
	       how == 1 ? "records swapped" :
			  "record deleted";
}

static const char *mut_insert(const struct source *src, struct buf *b)
{
	struct buf out = { 0 };
	uint64_t at = pick_offset(src, b->len + 1);
	unsigned n = 1 + (unsigned)below(16);

	if (at > b->len)
		at = b->len;
	put(&out, b->p, (size_t)at);
	for (unsigned i = 0; i < n; i++) {
		uint8_t x = (uint8_t)rnd();

		put(&out, &x, 1);
	}
	put(&out, b->p + at, b->len - (size_t)at);
	free(b->p);
	*b = out;
	return "bytes inserted";
}

/* ---- JSON (vmdesc, lossless document) ---- */

/* A random value inside @j (depth first), or @j itself. */
static json_t *pick_json(json_t *j, int depth)
{
	size_t n;

	if (depth > 40 || !below(4))
		return j;
	if (json_is_array(j) && (n = json_array_size(j)))
		return pick_json(json_array_get(j, below(n)), depth + 1);
	if (json_is_object(j) && (n = json_object_size(j))) {
		void *it = json_object_iter(j);

		for (uint64_t k = below(n); k && it; k--)
			it = json_object_iter_next(j, it);
		if (it)
			return pick_json(json_object_iter_value(it), depth + 1);
	}
	return j;
}

static const char *const types[] = {
	"uint8",      "uint16",	 "uint32", "uint64",	    "int8",
	"int32",      "int64",	 "bool",   "buffer",	    "struct",
	"tmp",	      "vstruct", "qtailq", "qlist",	    "gtree",
	"capability", "nullptr", "timer",  "unused_buffer", "bitmap",
	"nosuchtype", "",
};

/* Changes one value somewhere in @root. */
static void mutate_json(json_t *root)
{
	json_t *j = pick_json(root, 0);
	size_t n;

	if (json_is_integer(j)) {
		static const json_int_t v[] = {
			0,	   -1,	      1,     0x7fffffff, 0x100000000ll,
			INT64_MAX, INT64_MIN, 65536, 4097
		};

		json_integer_set(j, v[below(sizeof(v) / sizeof(v[0]))]);
	} else if (json_is_string(j)) {
		if (rnd() & 1)
			json_string_set(
				j,
				types[below(sizeof(types) / sizeof(types[0]))]);
		else
			json_string_set(j, rnd() & 1 ? "0x" : "zz");
	} else if (json_is_array(j) && (n = json_array_size(j))) {
		switch (below(4)) {
		case 0:
			json_array_remove(j, below(n));
			break;
		case 1:
			json_array_append_new(
				j, json_deep_copy(json_array_get(j, below(n))));
			break;
		case 2:
			json_array_clear(j);
			break;
		default: {
			/* Deep nesting: the array inside itself, many times. */
			json_t *inner = json_deep_copy(j);

			for (int k = 0; k < 200 && inner; k++) {
				json_t *o = json_object();

				json_object_set_new(o, "name",
						    json_string("n"));
				json_object_set_new(o, "type",
						    json_string("struct"));
				json_object_set_new(o, "size", json_integer(0));
				json_object_set_new(o, "struct", json_object());
				json_object_set_new(json_object_get(o,
								    "struct"),
						    "fields", inner);
				inner = json_array();
				json_array_append_new(inner, o);
			}
			if (inner)
				json_array_append_new(
					j, json_array_get(inner, 0) ?
						   json_incref(json_array_get(
							   inner, 0)) :
						   json_null());
			json_decref(inner);
			break;
		}
		}
	} else if (json_is_object(j) && (n = json_object_size(j))) {
		void *it = json_object_iter(j);

		for (uint64_t k = below(n); k && it; k--)
			it = json_object_iter_next(j, it);
		if (!it)
			return;
		if (rnd() & 1)
			json_object_del(j, json_object_iter_key(it));
		else
			json_object_iter_set_new(j, it,
						 rnd() & 1 ? json_null() :
							     json_integer(-1));
	}
}

static const char *mut_vmdesc(const struct source *src, struct buf *b)
{
	json_error_t jerr;
	json_t *vd;
	char *text;
	uint64_t at = src->vmdesc_off;
	unsigned n = 1 + (unsigned)below(3);

	if (!src->has_vmdesc || at + 5 > b->len)
		return mut_length(src, b);
	vd = json_loadb((const char *)b->p + at + 5, b->len - at - 5, 0, &jerr);
	if (!vd)
		return mut_bits(src, b);
	for (unsigned i = 0; i < n; i++)
		mutate_json(vd);
	text = json_dumps(vd, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(vd);
	if (!text)
		return mut_bits(src, b);
	b->len = (size_t)at + 1;
	reserve(b, 4);
	put_be(b->p + b->len, 4, strlen(text));
	b->len += 4;
	put(b, text, strlen(text));
	free(text);
	return "vmdesc JSON edited";
}

/* The source's lossless document with a few values changed. */
static bool mut_lossless(const struct source *src, struct buf *doc)
{
	json_error_t jerr;
	json_t *j;
	char *text;
	unsigned n = 1 + (unsigned)below(3);

	if (!src->lossless.len)
		return false;
	j = json_loadb((const char *)src->lossless.p, src->lossless.len, 0,
		       &jerr);
	if (!j)
		return false;
	for (unsigned i = 0; i < n; i++)
		mutate_json(j);
	text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!text)
		return false;
	set_bytes(doc, text, strlen(text));
	free(text);
	return true;
}

/* A schema with a few values changed, or cut short, or bytes flipped. */
static const char *mut_schema(const struct source *src, struct buf *b)
{
	json_error_t jerr;
	json_t *j;
	char *text;
	unsigned n = 1 + (unsigned)below(4);

	switch (below(4)) {
	case 0:
		return mut_truncate(src, b);
	case 1:
		return mut_bits(src, b);
	default:
		break;
	}
	j = json_loadb((const char *)b->p, b->len, 0, &jerr);
	if (!j)
		return mut_bits(src, b);
	for (unsigned i = 0; i < n; i++)
		mutate_json(j);
	text = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!text)
		return mut_bits(src, b);
	set_bytes(b, text, strlen(text));
	free(text);
	return "schema JSON edited";
}

/* Wraps @b in gzip (sometimes cut short), for the unwrapping layer. */
static void gzip_wrap(struct buf *b)
{
	struct buf out = { 0 };
	z_stream z;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return;
	reserve(&out, deflateBound(&z, b->len) + 64);
	z.next_in = b->p;
	z.avail_in = (uInt)b->len;
	z.next_out = out.p;
	z.avail_out = (uInt)out.cap;
	if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
		out.len = z.total_out;
		if (!below(4))
			out.len = below(out.len + 1);
		free(b->p);
		*b = out;
	} else {
		free(out.p);
	}
	deflateEnd(&z);
}

typedef const char *(*mutator)(const struct source *, struct buf *);

static const mutator mutators[] = {
	mut_bits,   mut_byte,	 mut_truncate, mut_length,
	mut_length, mut_records, mut_insert,   mut_vmdesc,
};

/* ------------------------------------------------------------------ */
/* Running the commands                                                */

static const char *bin;
static const char *work;
static unsigned timeout_s = 10;
static unsigned mem_mib = 512;
static bool verbose;
static unsigned long passed, failed;

struct result {
	bool signaled;
	int sig;
	int rc;
	bool timed_out;
	size_t err_len;
	size_t out_len;
	char err_first[256];
};

/* Runs argv with stdout to @out (or /dev/null); a result to check. */
static void run(char *const argv[], const char *out, struct result *res)
{
	char errpath[4096];
	struct timespec t0, t;
	pid_t pid;
	int status = 0;
	FILE *f;

	snprintf(errpath, sizeof(errpath), "%s/stderr", work);
	memset(res, 0, sizeof(*res));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int fd;

		setpgid(0, 0);
		if (mem_mib) {
			struct rlimit rl = { (rlim_t)mem_mib << 20,
					     (rlim_t)mem_mib << 20 };

			setrlimit(RLIMIT_AS, &rl);
		}
		fd = open("/dev/null", O_RDONLY);
		dup2(fd, 0);
		fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC,
			  0666);
		dup2(fd, 1);
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	for (unsigned us = 100;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			die("waitpid");
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= (time_t)timeout_s) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			res->timed_out = true;
			break;
		}
		usleep(us);
		if (us < 5000)
			us *= 2;
	}
	if (WIFSIGNALED(status)) {
		res->signaled = true;
		res->sig = WTERMSIG(status);
	} else {
		res->rc = WEXITSTATUS(status);
	}
	if (out) {
		struct stat st;

		if (!stat(out, &st))
			res->out_len = (size_t)st.st_size;
	}
	f = fopen(errpath, "r");
	if (f) {
		if (fgets(res->err_first, sizeof(res->err_first), f))
			res->err_first[strcspn(res->err_first, "\n")] = '\0';
		fseek(f, 0, SEEK_END);
		res->err_len = (size_t)ftell(f);
		fclose(f);
	}
}

/* Files left in @dir other than @keep (a temporary or partial output). */
static bool leftovers(const char *dir, const char *keep, char *what, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool any = false;

	if (!d)
		return false;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' &&
		    (!e->d_name[1] || !strcmp(e->d_name, "..")))
			continue;
		if (keep && !strcmp(e->d_name, keep))
			continue;
		snprintf(what, len, "%s", e->d_name);
		any = true;
	}
	closedir(d);
	return any;
}

static void clear_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[4096];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
}

/* Checks one run; @writes: the output folder a failure must leave empty. */
static bool check(unsigned long i, const char *what, char *const argv[],
		  const struct result *res, const char *outdir)
{
	char why[512] = "", left[256];

	if (res->timed_out)
		snprintf(why, sizeof(why), "no end after %u s", timeout_s);
	else if (res->signaled)
		snprintf(why, sizeof(why), "killed by signal %d (%s)", res->sig,
			 strsignal(res->sig));
	else if (res->rc > 2)
		snprintf(why, sizeof(why), "exit %d", res->rc);
	else if (res->rc && !res->err_len &&
		 !(res->rc == 1 && res->out_len &&
		   (!strcmp(argv[1], "diff") || !strcmp(argv[1], "validate"))))
		snprintf(why, sizeof(why), "exit %d without a message",
			 res->rc);
	else if (res->rc && outdir &&
		 leftovers(outdir, NULL, left, sizeof(left)))
		snprintf(why, sizeof(why),
			 "exit %d, but '%s' is left in the output folder",
			 res->rc, left);
	if (!why[0]) {
		passed++;
		if (verbose)
			printf("ok %lu %s: exit %d\n", i, what, res->rc);
		return true;
	}
	failed++;
	printf("FAIL: mutation %lu (%s): migstream", i, what);
	for (int k = 1; argv[k]; k++)
		printf(" %s", argv[k]);
	printf(": %s\n", why);
	if (res->err_first[0])
		printf("    %s\n", res->err_first);
	return false;
}

/* ------------------------------------------------------------------ */

/* The schema commands on a mutated schema, and validate with it. */
static void run_schema(unsigned long i, const struct source *src, struct buf *m,
		       const char *spath)
{
	const char *what = mut_schema(src, m);
	struct result res;
	char *a1[] = { (char *)bin, "schema", "check", (char *)spath, NULL };
	char *a2[] = { (char *)bin, "schema", "show", (char *)spath, NULL };
	char *a3[] = { (char *)bin, "schema",	   "diff",
		       src->path,   (char *)spath, NULL };
	char **a = i % 3 == 0 ? a1 : i % 3 == 1 ? a2 : a3;

	if (!write_file(spath, m->p, m->len))
		die(spath);
	run(a, NULL, &res);
	if (!check(i, what, a, &res, NULL)) {
		char kp[4096];

		snprintf(kp, sizeof(kp), "%s/fail-%lu.json", work, i);
		write_file(kp, m->p, m->len);
		printf("    kept as %s (from %s)\n", kp, src->path);
	}
}

static bool has_cmd(const char *help, const char *name)
{
	char pat[64];

	snprintf(pat, sizeof(pat), "\n  %s ", name);
	return strstr(help, pat) != NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sweep [-n N] [-i FIRST] [-s SEED] [-t SECONDS] [-m MIB] [-k] [-v] MIGSTREAM WORKDIR STREAM...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long n = 1000, seed = 1, first = 0;
	bool keep = false;
	struct source *srcs;
	int nsrc = 0, c;
	char help[8192] = "\n";
	char mpath[4096], opath[4096], dpath[4096], outdir[4096], orig[4096],
		setarg[1200];
	struct buf m = { 0 }, doc = { 0 }, back = { 0 };
	struct result res;
	FILE *hp;
	bool c_info, c_dump, c_diff, c_encode, c_set, c_validate, c_downgrade,
		c_schema;
	char spath[4096];

	while ((c = getopt(argc, argv, "n:s:t:m:i:kv")) != -1) {
		switch (c) {
		case 'i':
			first = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			n = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoul(optarg, NULL, 0);
			break;
		case 't':
			timeout_s = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'm':
			mem_mib = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'k':
			keep = true;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 3)
		usage();
	bin = argv[optind];
	work = argv[optind + 1];
	signal(SIGPIPE, SIG_IGN);
	/* Failures show as they happen, also in a log file. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* Which commands exist: `migstream help` lists them. */
	snprintf(mpath, sizeof(mpath), "%s help", bin);
	hp = popen(mpath, "r");
	if (!hp)
		die("popen");
	fread(help + 1, 1, sizeof(help) - 2, hp);
	pclose(hp);
	c_info = has_cmd(help, "info");
	c_dump = has_cmd(help, "dump");
	c_diff = has_cmd(help, "diff");
	c_encode = has_cmd(help, "encode");
	c_set = has_cmd(help, "set");
	c_validate = has_cmd(help, "validate");
	c_downgrade = has_cmd(help, "downgrade");
	c_schema = has_cmd(help, "schema");
	printf("sweep: commands:%s%s%s%s%s%s%s%s; %lu mutations, seed %lu, %u s and %u MiB per run\n",
	       c_info ? " info" : "", c_dump ? " dump" : "",
	       c_diff ? " diff" : "", c_encode ? " encode" : "",
	       c_set ? " set" : "", c_validate ? " validate" : "",
	       c_downgrade ? " downgrade" : "", c_schema ? " schema" : "", n,
	       seed, timeout_s, mem_mib);

	srcs = calloc((size_t)argc, sizeof(*srcs));
	if (!srcs)
		die("calloc");
	for (int i = optind + 2; i < argc; i++)
		if (load_source(&srcs[nsrc], argv[i]))
			nsrc++;
		else
			free_source(&srcs[nsrc]);
	if (!nsrc) {
		fprintf(stderr, "sweep: no stream to mutate\n");
		return 2;
	}
	if (mkdir(work, 0777) && errno != EEXIST)
		die(work);
	snprintf(outdir, sizeof(outdir), "%s/out", work);
	if (mkdir(outdir, 0777) && errno != EEXIST)
		die(outdir);
	snprintf(mpath, sizeof(mpath), "%s/m.mig", work);
	snprintf(opath, sizeof(opath), "%s/out.mig", outdir);
	snprintf(dpath, sizeof(dpath), "%s/doc.json", work);
	snprintf(spath, sizeof(spath), "%s/schema.json", work);

	for (unsigned long i = first; i < n; i++) {
		const struct source *src = &srcs[i % (unsigned long)nsrc];
		unsigned long before = failed;
		const char *what;
		bool wrapped = false;

		rnd_state = seed * 0x100000001b3ull + i;
		set_bytes(&m, src->bytes.p, src->bytes.len);
		if (src->schema) {
			if (c_schema)
				run_schema(i, src, &m, spath);
			continue;
		}
		what = mutators[below(sizeof(mutators) / sizeof(mutators[0]))](
			src, &m);
		if (!below(20)) {
			gzip_wrap(&m);
			wrapped = true;
		}
		if (!write_file(mpath, m.p, m.len))
			die(mpath);
		snprintf(orig, sizeof(orig), "%s", src->path);

		/* Formats that share a parse take turns. */
		if (c_info) {
			char *a1[] = { (char *)bin, "info", mpath, NULL };
			char *a2[] = { (char *)bin, "info", "--json", mpath,
				       NULL };

			run(i & 1 ? a2 : a1, NULL, &res);
			check(i, what, i & 1 ? a2 : a1, &res, NULL);
		}
		if (c_dump) {
			char *a1[] = { (char *)bin, "dump", "--offsets",
				       "--ram",	    "hash", mpath,
				       NULL };
			char *a2[] = { (char *)bin, "dump", "--format",
				       "analyze",   mpath,  NULL };
			char *a3[] = { (char *)bin, "dump", "--lossless", mpath,
				       NULL };
			char *a5[] = { (char *)bin, "dump", "--ram",
				       "pages",	    mpath,  NULL };
			char **a = i % 3 == 0 ? a1 : i % 3 == 1 ? a2 : a5;

			run(a, NULL, &res);
			check(i, what, a, &res, NULL);
			run(a3, dpath, &res);
			/* A document comes with exit 0 and 1 (stream cut). */
			if (check(i, what, a3, &res, NULL) && c_encode &&
			    res.rc <= 1) {
				char *a4[] = { (char *)bin, "encode", "-o",
					       opath,	    dpath,    NULL };

				clear_dir(outdir);
				run(a4, NULL, &res);
				check(i, what, a4, &res, outdir);
				if (!res.rc && !res.signaled && !wrapped &&
				    read_file(opath, &back) &&
				    (back.len != m.len ||
				     memcmp(back.p, m.p, m.len))) {
					failed++;
					printf("FAIL: mutation %lu (%s): encode of dump --lossless does not give the bytes back\n",
					       i, what);
				}
			}
		}
		if (c_diff) {
			char *a[] = { (char *)bin, "diff", orig, mpath, NULL };

			/* "They differ" is said on standard output. */
			run(a, dpath, &res);
			check(i, what, a, &res, NULL);
		}
		if (c_encode && mut_lossless(src, &doc)) {
			char *a[] = { (char *)bin, "encode", "-o",
				      opath,	   dpath,    NULL };

			if (!write_file(dpath, doc.p, doc.len))
				die(dpath);
			clear_dir(outdir);
			run(a, NULL, &res);
			check(i, "lossless document edited", a, &res, outdir);
		}
		if (c_set && src->set_path[0]) {
			char *a[] = { (char *)bin, "set", "--quiet", "-o",
				      opath,	   mpath, setarg,    NULL };

			snprintf(setarg, sizeof(setarg), "%s=%s", src->set_path,
				 src->set_value);
			clear_dir(outdir);
			run(a, NULL, &res);
			check(i, what, a, &res, outdir);
		}
		if (c_validate) {
			char *a[] = { (char *)bin, "validate", "--target",
				      "qemu-7.2",  mpath,      NULL };

			/* "It would not load" is said on standard output. */
			run(a, dpath, &res);
			check(i, what, a, &res, NULL);
		}
		if (c_downgrade) {
			char *a[] = { (char *)bin, "downgrade", "--target",
				      "qemu-7.2",  "-o",	opath,
				      mpath,	   NULL };

			clear_dir(outdir);
			run(a, NULL, &res);
			check(i, what, a, &res, outdir);
		}
		if (failed != before || keep) {
			char kp[4096];

			snprintf(kp, sizeof(kp), "%s/%s-%lu.mig", work,
				 failed != before ? "fail" : "m", i);
			write_file(kp, m.p, m.len);
			if (failed != before)
				printf("    kept as %s (from %s)\n", kp,
				       src->path);
		}
	}
	clear_dir(outdir);
	rmdir(outdir);
	unlink(mpath);
	unlink(dpath);
	unlink(spath);
	snprintf(mpath, sizeof(mpath), "%s/stderr", work);
	unlink(mpath);
	free(m.p);
	free(doc.p);
	free(back.p);
	for (int k = 0; k < nsrc; k++)
		free_source(&srcs[k]);
	free(srcs);
	printf("%lu passed, %lu failed\n", passed, failed);
	return failed ? 1 : 0;
}
