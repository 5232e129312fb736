/* SPDX-License-Identifier: MIT */
/*
 * mkseeds: seed corpora for the harnesses in tests/fuzz/, made from real
 * streams (tests/fuzz/seeds.sh says which).
 *
 *   mkseeds OUTDIR STREAM...
 *
 * A real stream is mostly guest RAM, which makes a poor seed: a fuzzer
 * mutating 700 KiB spends its time on page bytes.  So each stream is made
 * small, keeping every kind of record it has:
 *
 *   compact   RAM chunks cut to their first pages (START and the first
 *             PART keep two, END none) and one page of each kind not
 *             kept yet (zero, compressed, XBZRLE), closed with EOS; the
 *             other RAM PARTs dropped; everything else as it was;
 *   mini      the same with at most MINI_DEVICES small device sections,
 *             the vmdesc cut down to the devices left (re-serialised).
 *
 * Each variant is kept only when it parses as the stream it came from
 * does (both read to the end, or neither).  Written, under OUTDIR:
 *
 *   stream/NAME-{compact,mini}.mig    fuzz_stream and fuzz_rewrite
 *   vmdesc/NAME-N.bin                 fuzz_vmdesc: {"devices": [...]}, a
 *                                     NUL, the sections' payloads
 *   encode/NAME-mini.json             fuzz_encode: `dump --lossless`
 *   diff/NAME-{self,pair}.bin         fuzz_diff: options byte, A[, the
 *                                     separator, B = the next stream]
 *
 * A STREAM ending in ".json" is a schema (migstream-schema(5)), named by
 * its folder; from it:
 *
 *   schema/NAME-N.json                fuzz_schema: a few descriptions with
 *                                     every one they nest, their devices
 *                                     and some machine types
 *   cond/NAME-N.json                  fuzz_cond: its distinct expressions
 *
 * The output depends on the input bytes only.  Exit 0, or 2 on an error
 * (a stream that cannot be read at all is skipped with a warning).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "migstream/migstream.h"
#include "migstream/encode.h"

#define PAGES_KEPT 2
#define MINI_DEVICES 8
#define MINI_PAYLOAD_MAX 512
#define VMDESC_GROUP 3
#define VMDESC_SEEDS_MAX 16
#define DIFF_SEP "\n--migstream-fuzz-diff--\n"

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (!n)
		return;
	if (n > b->cap - b->len) {
		size_t ncap = b->cap ? b->cap : 4096;

		while (n > ncap - b->len)
			ncap *= 2;
		b->p = realloc(b->p, ncap);
		if (!b->p) {
			fprintf(stderr, "mkseeds: out of memory\n");
			exit(2);
		}
		b->cap = ncap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put_be32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { v >> 24, v >> 16, v >> 8, v };

	put(b, x, 4);
}

static void put_be64(struct buf *b, uint64_t v)
{
	put_be32(b, (uint32_t)(v >> 32));
	put_be32(b, (uint32_t)v);
}

static void write_file(const char *dir, const char *sub, const char *name,
		       const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (mkdir(path, 0777) && errno != EEXIST) {
		perror(path);
		exit(2);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(2);
	}
}

/* Input offsets and kinds of the page records, per section record. */
struct pages {
	uint64_t *sec, *off;
	uint8_t *rec; /* enum mig_page_record */
	size_t n, cap;
};

static int on_page(void *ctx, const struct mig_page *pg)
{
	struct pages *pp = ctx;

	if (pp->n == pp->cap) {
		pp->cap = pp->cap ? 2 * pp->cap : 1024;
		pp->sec = realloc(pp->sec, pp->cap * sizeof(*pp->sec));
		pp->off = realloc(pp->off, pp->cap * sizeof(*pp->off));
		pp->rec = realloc(pp->rec, pp->cap);
		if (!pp->sec || !pp->off || !pp->rec)
			return -MIG_ENOMEM;
	}
	pp->sec[pp->n] = pg->section;
	pp->rec[pp->n] = (uint8_t)pg->record;
	pp->off[pp->n++] = pg->offset;
	return 0;
}

/*
 * The RAM chunk @r cut down: its bytes up to its first page record, its
 * first @keep page records, and the first record of each kind of page
 * (@seen: kinds already in the output); then EOS and the footer.  False when it has no
 * page record to drop.
 */
static bool cut_chunk(const uint8_t *in, const struct mig_record *r,
		      const struct pages *pp, size_t keep, bool seen[8],
		      struct buf *out)
{
	size_t first = SIZE_MAX, n = 0;

	for (size_t i = 0; i < pp->n; i++)
		if (pp->sec[i] == r->offset) {
			if (first == SIZE_MAX)
				first = i;
			n++;
		}
	if (first == SIZE_MAX || n <= keep)
		return false;
	put(out, in + r->offset, (size_t)(pp->off[first] - r->offset));
	for (size_t i = first, k = 0; i < first + n; i++, k++) {
		uint8_t kind = pp->rec[i] & 7;
		/* The last page ends where the chunk's EOS starts. */
		uint64_t end = i + 1 < first + n ?
				       pp->off[i + 1] :
				       r->payload_offset + r->payload_size - 8;

		if (k >= keep && seen[kind])
			continue;
		seen[kind] = true;
		put(out, in + pp->off[i], (size_t)(end - pp->off[i]));
	}
	put_be64(out, 0x10); /* EOS */
	if (r->has_footer) {
		put(out, "\x7e", 1);
		put_be32(out, r->section_id);
	}
	return true;
}

/* Parses @len bytes at @p: 0 when read to the end. */
static int parse(const uint8_t *p, size_t len, struct pages *pp,
		 struct mig_stream **s)
{
	struct mig_parse_opts o = { .on_page = pp ? on_page : NULL, .ctx = pp };
	struct mig_reader *r = NULL;
	int ret;

	*s = NULL;
	ret = mig_reader_from_mem(&r, p, len, "seed", NULL);
	if (!ret)
		ret = mig_stream_read(r, &o, s, NULL);
	mig_reader_free(r);
	return ret;
}

static bool is_device(const struct mig_record *r)
{
	return r->type == MIG_REC_FULL && r->kind != MIG_SEC_RAM;
}

/* Does RAM chunk @r hold a kind of page not in @seen? */
static bool new_kind(const struct mig_record *r, const struct pages *pp,
		     const bool seen[8])
{
	for (size_t i = 0; i < pp->n; i++)
		if (pp->sec[i] == r->offset && !seen[pp->rec[i] & 7])
			return true;
	return false;
}

/* Is device section @r one the mini variant keeps (index @k of them)? */
static bool mini_keeps(const struct mig_record *r, size_t k)
{
	return k < MINI_DEVICES && r->payload_size <= MINI_PAYLOAD_MAX;
}

/*
 * The compact (or, with @mini, mini) variant of the stream @s read from
 * @in.  @parts: RAM PARTs kept (after START).
 */
static void compact(const uint8_t *in, size_t len, const struct mig_stream *s,
		    const struct pages *pp, bool mini, size_t parts,
		    struct buf *out)
{
	uint64_t skip_until = 0;
	size_t nparts = 0, ndev = 0;
	json_t *keep = json_array();
	bool seen[8] = { false };

	out->len = 0;
	put(out, in, s->records ? (size_t)s->records->offset : len);
	for (const struct mig_record *r = s->records; r; r = r->next) {
		if (r->offset < skip_until)
			continue;
		if (r->type == MIG_REC_EOF) {
			if (!mini || !s->vmdesc) {
				put(out, in + r->offset, len - r->offset);
			} else {
				json_t *vd = json_deep_copy(s->vmdesc);
				char *text;

				json_object_set(vd, "devices", keep);
				text = json_dumps(
					vd, JSON_COMPACT | JSON_PRESERVE_ORDER);
				put(out, "\x00\x06", 2);
				put_be32(out, (uint32_t)strlen(text));
				put(out, text, strlen(text));
				free(text);
				json_decref(vd);
			}
			break;
		}
		if (r->type == MIG_REC_COMMAND && r->cmd == MIG_CMD_PACKAGED)
			skip_until = r->offset + r->size;
		if (is_device(r) && mini) {
			json_t *dev = mig_vmdesc_device(s->vmdesc, r->name,
							r->instance);

			if (!mini_keeps(r, ndev++))
				continue;
			if (dev)
				json_array_append(keep, dev);
		}
		if (r->kind != MIG_SEC_RAM ||
		    (r->type != MIG_REC_START && r->type != MIG_REC_PART &&
		     r->type != MIG_REC_END)) {
			put(out, in + r->offset, (size_t)r->size);
			continue;
		}
		/* A dropped PART may still hold a kind of page not seen. */
		if (r->type == MIG_REC_PART && nparts++ >= parts &&
		    !new_kind(r, pp, seen))
			continue;
		if (!cut_chunk(in, r, pp,
			       r->type == MIG_REC_END || nparts > parts + 1 ?
				       0 :
				       PAGES_KEPT,
			       seen, out))
			put(out, in + r->offset, (size_t)r->size);
	}
	json_decref(keep);
}

/* The lossless document of @len bytes at @p, as compact JSON text. */
static char *lossless(const uint8_t *p, size_t len)
{
	struct mig_lossless_opts lo = { 0 };
	struct mig_reader *r = NULL;
	json_t *doc = NULL;
	char *text = NULL;

	if (!mig_reader_from_mem(&r, p, len, "seed", NULL) &&
	    !mig_lossless_dump(r, &lo, &doc, NULL))
		text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	mig_reader_free(r);
	return text;
}

/* vmdesc seeds: a few device entries and their payloads each. */
static void vmdesc_seeds(const char *dir, const char *name, const uint8_t *in,
			 const struct mig_stream *s)
{
	const struct mig_record *r = s->records;
	size_t nseeds = 0;

	while (r && nseeds < VMDESC_SEEDS_MAX) {
		json_t *doc = json_object(), *devs = json_array();
		struct buf b = { 0 };
		struct buf pay = { 0 };
		char fname[512];
		size_t n = 0;
		char *text;

		for (; r && n < VMDESC_GROUP; r = r->next) {
			json_t *dev;

			if (!is_device(r) || !r->tree)
				continue;
			dev = mig_vmdesc_device(s->vmdesc, r->name,
						r->instance);
			if (!dev)
				continue;
			json_array_append(devs, dev);
			put(&pay, in + r->payload_offset,
			    (size_t)r->payload_size);
			n++;
		}
		if (n) {
			json_object_set_new(
				doc, "page_size",
				json_integer((json_int_t)s->page_size));
			json_object_set(doc, "devices", devs);
			text = json_dumps(doc,
					  JSON_COMPACT | JSON_PRESERVE_ORDER);
			put(&b, text, strlen(text) + 1); /* and the NUL */
			if (pay.len)
				put(&b, pay.p, pay.len);
			snprintf(fname, sizeof(fname), "%s-%zu.bin", name,
				 nseeds++);
			write_file(dir, "vmdesc", fname, b.p, b.len);
			free(text);
		}
		json_decref(devs);
		json_decref(doc);
		free(b.p);
		free(pay.p);
	}
}

/* ------------------------------------------------------------------ */
/* Schemas (migstream-schema(5)): small closed subsets, and expressions */

static bool kept(const json_t *keep, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(keep, i, v)
		if (!strcmp(json_string_value(v), id))
			return true;
	return false;
}

/* Adds to @keep every description id named by a "vmsd" key in @j. */
static void refs(const json_t *j, json_t *keep)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, key, v) {
			if (!strcmp(key, "vmsd") && json_is_string(v) &&
			    !kept(keep, json_string_value(v)))
				json_array_append(keep, v);
			else
				refs(v, keep);
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			refs(v, keep);
	}
}

/* The description with id @id in @vmsds, or NULL. */
static json_t *find_vmsd(const json_t *vmsds, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(vmsds, i, v)
		if (!strcmp(json_string_value(json_object_get(v, "id")), id))
			return v;
	return NULL;
}

/* Every expression under a key that holds one, deduplicated. */
static void exprs(const json_t *j, json_t *out)
{
	static const char *const keys[] = { "exists", "size",	"count",
					    "saved",  "needed", NULL };
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, key, v) {
			bool is_expr = false;

			for (const char *const *k = keys; *k; k++)
				is_expr = is_expr || !strcmp(key, *k);
			if (is_expr &&
			    (json_is_object(v) || json_is_array(v))) {
				char *t = json_dumps(v, JSON_COMPACT |
								JSON_SORT_KEYS);

				if (t && !json_object_get(out, t))
					json_object_set_new(out, t,
							    json_true());
				free(t);
			} else {
				exprs(v, out);
			}
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			exprs(v, out);
	}
}

#define SCHEMA_PICKS 12
#define COND_SEEDS_MAX 200

static void schema_seeds(const char *dir, const char *name, const char *path)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);
	json_t *vmsds = json_object_get(doc, "vmsds");
	json_t *ex = json_object();
	size_t n = json_array_size(vmsds), nc = 0;
	char fname[512];
	const char *key;
	json_t *v;

	if (!doc || !n) {
		fprintf(stderr, "mkseeds: %s: not a schema\n", path);
		json_decref(doc);
		json_decref(ex);
		return;
	}
	for (size_t k = 0; k < SCHEMA_PICKS; k++) {
		json_t *keep = json_array(), *mini = json_deep_copy(doc);
		json_t *vs = json_array(), *devs = json_array();
		json_t *mach = json_array();
		size_t i;
		char *text;

		json_array_append(
			keep,
			json_object_get(json_array_get(vmsds,
						       k * n / SCHEMA_PICKS),
					"id"));
		/* The closure of nested descriptions (ids grow as found). */
		for (i = 0; i < json_array_size(keep); i++)
			refs(find_vmsd(vmsds, json_string_value(
						      json_array_get(keep, i))),
			     keep);
		json_array_foreach(vmsds, i, v)
			if (kept(keep,
				 json_string_value(json_object_get(v, "id"))))
				json_array_append(vs, v);
		json_array_foreach(json_object_get(doc, "devices"), i, v)
			if (json_is_string(json_object_get(v, "vmsd")) &&
			    kept(keep,
				 json_string_value(json_object_get(v, "vmsd"))))
				json_array_append(devs, v);
		json_array_foreach(json_object_get(doc, "machines"), i, v)
			if (i % 16 == k % 16 ||
			    json_is_true(json_object_get(v, "default")))
				json_array_append(mach, v);
		json_object_set_new(mini, "vmsds", vs);
		json_object_set_new(mini, "devices", devs);
		json_object_set_new(mini, "machines", mach);
		json_object_del(mini, "provenance");
		text = json_dumps(mini, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		snprintf(fname, sizeof(fname), "%s-%zu.json", name, k);
		if (text)
			write_file(dir, "schema", fname, text, strlen(text));
		free(text);
		json_decref(mini);
		json_decref(keep);
	}
	exprs(doc, ex);
	json_object_foreach(ex, key, v) {
		if (nc >= COND_SEEDS_MAX)
			break;
		snprintf(fname, sizeof(fname), "%s-%zu.json", name, nc++);
		write_file(dir, "cond", fname, key, strlen(key));
	}
	json_decref(ex);
	json_decref(doc);
}

/* Reads @path whole and removes what wraps it (gzip, ...). */
static bool load(const char *path, struct buf *bare)
{
	struct mig_reader *r = NULL;
	struct mig_error err;
	const uint8_t *p;
	size_t len;
	char msg[1024];
	int ret;

	mig_error_clear(&err);
	ret = mig_reader_open(&r, path, &err);
	if (!ret)
		ret = mig_rd_rest(r, 1u << 30, &p, &len, &err);
	if (ret) {
		fprintf(stderr, "mkseeds: %s\n",
			mig_error_format(&err, path, msg, sizeof(msg)));
		mig_reader_free(r);
		return false;
	}
	bare->len = 0;
	put(bare, p, len);
	mig_reader_free(r);
	return true;
}

int main(int argc, char **argv)
{
	static const char *const suffixes[] = { ".gz", ".mig", NULL };
	struct buf prev = { 0 };
	char prev_name[256] = "";

	if (argc < 3) {
		fprintf(stderr, "usage: mkseeds OUTDIR STREAM...\n");
		return 2;
	}
	if (mkdir(argv[1], 0777) && errno != EEXIST) {
		perror(argv[1]);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *base = strrchr(argv[i], '/');
		struct pages pp = { 0 };
		struct buf in = { 0 }, out = { 0 }, mini = { 0 };
		struct mig_stream *s = NULL, *t = NULL;
		char name[256], fname[512];
		bool mapped = false;
		int want;

		snprintf(name, sizeof(name), "%s", base ? base + 1 : argv[i]);
		if (strlen(name) > 5 &&
		    !strcmp(name + strlen(name) - 5, ".json")) {
			/* A schema: name it by its folder (qemu-7.2). */
			char d[256];
			const char *b2;

			snprintf(d, sizeof(d), "%.*s",
				 base ? (int)(base - argv[i]) : 0, argv[i]);
			b2 = strrchr(d, '/');
			snprintf(name, sizeof(name), "%s", b2 ? b2 + 1 : d);
			schema_seeds(argv[1], name[0] ? name : "schema",
				     argv[i]);
			continue;
		}
		for (const char *const *x = suffixes; *x; x++) {
			size_t n = strlen(name), k = strlen(*x);

			if (n > k && !strcmp(name + n - k, *x))
				name[n - k] = '\0';
		}
		if (!load(argv[i], &in))
			continue;
		want = parse(in.p, in.len, &pp, &s);
		if (!s) {
			fprintf(stderr, "mkseeds: %s: not a stream\n", argv[i]);
			free(in.p);
			continue;
		}
		for (size_t b = 0; b < s->nram_blocks; b++)
			mapped = mapped || s->ram_blocks[b].mapped;
		if (mapped) {
			/* Pages at file offsets: cutting would move them. */
			fprintf(stderr, "mkseeds: %s: mapped-ram, skipped\n",
				argv[i]);
			goto next;
		}
		/* One RAM PART kept; if that does not parse (a page that
		 * continues a block named in a dropped part), none. */
		for (size_t parts = 1;; parts--) {
			compact(in.p, in.len, s, &pp, false, parts, &out);
			if (!!parse(out.p, out.len, NULL, &t) == !!want)
				break;
			mig_stream_free(t);
			t = NULL;
			if (!parts)
				break;
		}
		if (!t) {
			fprintf(stderr, "mkseeds: %s: no compact variant\n",
				argv[i]);
			goto next;
		}
		mig_stream_free(t);
		snprintf(fname, sizeof(fname), "%s-compact.mig", name);
		write_file(argv[1], "stream", fname, out.p, out.len);

		for (size_t parts = 1;; parts--) {
			compact(in.p, in.len, s, &pp, true, parts, &mini);
			if (!!parse(mini.p, mini.len, NULL, &t) == !!want)
				break;
			mig_stream_free(t);
			t = NULL;
			if (!parts)
				break;
		}
		if (t) {
			char *doc = lossless(mini.p, mini.len);

			snprintf(fname, sizeof(fname), "%s-mini.mig", name);
			write_file(argv[1], "stream", fname, mini.p, mini.len);
			if (doc) {
				snprintf(fname, sizeof(fname), "%s-mini.json",
					 name);
				write_file(argv[1], "encode", fname, doc,
					   strlen(doc));
				free(doc);
			}
			mig_stream_free(t);
		} else {
			/* The compact one stands in for it. */
			mini.len = 0;
			put(&mini, out.p, out.len);
		}
		if (s->vmdesc)
			vmdesc_seeds(argv[1], name, in.p, s);

		/* diff: the stream with itself, and with the previous one. */
		{
			struct buf d = { 0 };

			put(&d, "\x00", 1);
			put(&d, mini.p, mini.len);
			snprintf(fname, sizeof(fname), "%s-self.bin", name);
			write_file(argv[1], "diff", fname, d.p, d.len);
			if (prev.len) {
				d.len = 0;
				put(&d, "\x00", 1);
				put(&d, prev.p, prev.len);
				put(&d, DIFF_SEP, sizeof(DIFF_SEP) - 1);
				put(&d, mini.p, mini.len);
				snprintf(fname, sizeof(fname), "%s-%s.bin",
					 prev_name, name);
				write_file(argv[1], "diff", fname, d.p, d.len);
			}
			free(d.p);
			prev.len = 0;
			put(&prev, mini.p, mini.len);
			snprintf(prev_name, sizeof(prev_name), "%s", name);
		}
next:
		mig_stream_free(s);
		free(pp.sec);
		free(pp.off);
		free(pp.rec);
		free(in.p);
		free(out.p);
		free(mini.p);
	}
	free(prev.p);
	return 0;
}
