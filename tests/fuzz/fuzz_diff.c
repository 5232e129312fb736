/* SPDX-License-Identifier: MIT */
/*
 * fuzz_diff: `diff` on two fuzzed streams.  The input is one byte of
 * options, then stream A, the separator below, then stream B (without a
 * separator, B is A).  Each side is read as `diff` reads it, compared,
 * and the result document serialised.  A side compared with itself must
 * be the same, unless it has pages the digests cannot tell apart
 * ("unknown_pages": XBZRLE deltas, migstream/diff.h).
 */
#include "migstream/diff.h"
#include "fuzz.h"

static const char sep[] = "\n--migstream-fuzz-diff--\n";

/* The options byte. */
enum {
	OPT_RAM_STAT = 1 << 0, /* --ram stat (else ranges) */
	OPT_RAM_OFF = 1 << 1,  /* --ram off */
	OPT_STAT = 1 << 2,     /* --stat */
	OPT_SECTIONS = 1 << 3, /* --section 'c*' --section ram */
	OPT_IGNORE = 1 << 4,   /* --ignore '*.env.*' */
};

/* Does the document count pages of unknown content anywhere? */
static bool has_unknown(const json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	bool yes = !text || strstr(text, "\"unknown_pages\"");

	free(text);
	return yes;
}

/*
 * Known: the page digest table of a RAM block is sized by the block's
 * length in the block list, not by the pages that came, so a 100-byte
 * stream can ask for 2 GiB (testdata/bad/found/MANIFEST).  Streams with
 * a block over BLOCK_MAX are compared without RAM here, so that the
 * fuzzer looks elsewhere.
 */
#define BLOCK_MAX (256ull << 20)

static bool huge_block(const uint8_t *p, size_t n)
{
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	bool huge = false;

	if (mig_reader_from_mem(&r, p, n, "fuzz.mig", NULL))
		return true;
	mig_stream_read(r, NULL, &s, NULL);
	for (size_t i = 0; s && i < s->nram_blocks; i++)
		huge = huge || s->ram_blocks[i].length > BLOCK_MAX;
	mig_stream_free(s);
	mig_reader_free(r);
	return huge;
}

static struct mig_diff_side *read_side(const uint8_t *p, size_t n,
				       const struct mig_diff_opts *o)
{
	struct mig_diff_side *side = NULL;
	struct mig_reader *r = NULL;
	struct mig_error err;

	mig_error_clear(&err);
	if (mig_reader_from_mem(&r, p, n, "fuzz.mig", &err))
		return NULL;
	if (mig_diff_read(r, o, &side, &err))
		fuzz_sink_error(&err);
	mig_reader_free(r);
	return side;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sections[] = { "c*", "ram" };
	static const char *const ignore[] = { "*.env.*" };
	struct mig_diff_opts o = { .ram = MIG_DIFF_RAM_RANGES };
	struct mig_diff_side *a, *b = NULL;
	const uint8_t *split, *pa, *pb;
	size_t na, nb;
	struct mig_error err;
	json_t *doc = NULL;
	unsigned opt;

	if (!size)
		return 0;
	opt = data[0];
	pa = data + 1;
	na = size - 1;
	split = memmem(pa, na, sep, sizeof(sep) - 1);
	if (split) {
		pb = split + sizeof(sep) - 1;
		nb = na - (size_t)(pb - pa);
		na = (size_t)(split - pa);
	} else {
		pb = pa;
		nb = na;
	}
	if (opt & OPT_RAM_OFF || huge_block(pa, na) ||
	    (split && huge_block(pb, nb)))
		o.ram = MIG_DIFF_RAM_OFF;
	else if (opt & OPT_RAM_STAT)
		o.ram = MIG_DIFF_RAM_STAT;
	o.stat = opt & OPT_STAT;
	if (opt & OPT_SECTIONS) {
		o.sections = sections;
		o.nsections = 2;
	}
	if (opt & OPT_IGNORE) {
		o.ignore = ignore;
		o.nignore = 1;
	}

	a = read_side(pa, na, &o);
	if (!a)
		return 0;
	mig_error_clear(&err);
	if (!split) {
		if (mig_diff_compare(a, a, &o, &doc, &err))
			fuzz_sink_error(&err);
		else if (!mig_diff_same(doc) && !has_unknown(doc))
			fuzz_fail("diff: a stream differs from itself");
		goto out_put_doc;
	}
	b = read_side(pb, nb, &o);
	if (!b)
		goto out_free_a;
	if (mig_diff_compare(a, b, &o, &doc, &err))
		fuzz_sink_error(&err);
	else
		(void)mig_diff_same(doc);
out_put_doc:
	fuzz_sink_json(doc);
	mig_diff_side_free(b);
out_free_a:
	mig_diff_side_free(a);
	return 0;
}
