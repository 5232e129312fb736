/* SPDX-License-Identifier: MIT */
/*
 * fuzz_stream: the read pipeline of `info` and `dump` on one input.  The
 * input is unwrapped as a file would be (compression, libvirt header),
 * parsed with a page consumer that looks at every byte it is handed (as
 * `dump --ram` and `diff` do: XBZRLE deltas applied, digests kept), and
 * then the info, dump (with offsets) and analyze documents are built and
 * serialised, also for a stream that stopped at an error.
 */
#include "fuzz.h"

/* Largest RAM block given to the page image (see on_page). */
#define BLOCK_MAX (256ull << 20)

struct pages {
	struct mig_ram_image *img; /* dump --ram hash's consumer */
	uint8_t *page;		   /* an XBZRLE delta is applied to it */
	size_t cap;
	uint64_t sum; /* so that no read is optimised out */
};

static int on_page(void *ctx, const struct mig_page *pg)
{
	struct pages *p = ctx;

	switch (pg->kind) {
	case MIG_PAGE_DATA:
		/* Every byte the library says is there. */
		for (size_t i = 0; i < pg->len; i++)
			p->sum += pg->data[i];
		break;
	case MIG_PAGE_XBZRLE:
		if (p->cap < pg->size) {
			uint8_t *n = realloc(p->page, (size_t)pg->size);

			if (!n)
				return -MIG_ENOMEM;
			p->page = n;
			p->cap = (size_t)pg->size;
		}
		memset(p->page, 0, (size_t)pg->size);
		/* The parser checked the delta: applying it cannot fail. */
		if (mig_xbzrle_apply(p->page, (size_t)pg->size, pg->data,
				     pg->len, pg->data_offset, NULL))
			fuzz_fail("a checked XBZRLE delta does not apply");
		break;
	default:
		break;
	}
	/*
	 * Known: the image sizes its digest table by the block's length
	 * from the block list, not by the pages that came (a 100-byte
	 * stream can ask for 2 GiB; testdata/bad/found/MANIFEST).  Larger
	 * blocks are left out here, so that the fuzzer looks elsewhere.
	 */
	if (pg->block->length > BLOCK_MAX)
		return 0;
	return p->img ? mig_ram_image_on_page(p->img, pg) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mig_input_opts iopts = { 0 };
	struct mig_parse_opts popts = { 0 };
	struct pages pages = { 0 };
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	struct mig_error err;
	int ret;

	mig_error_clear(&err);
	if (mig_reader_from_mem(&r, data, size, "fuzz.mig", &err))
		return 0;
	ret = mig_reader_unwrap(&r, &iopts, &err);
	if (ret) {
		fuzz_sink_error(&err);
		goto out_free_reader;
	}
	mig_error_clear(&err);
	if (mig_ram_image_new(&pages.img, MIG_IMAGE_DIGESTS, NULL, &err))
		goto out_free_reader;
	popts.on_page = on_page;
	popts.ctx = &pages;
	ret = mig_stream_read(r, &popts, &s, &err);
	if (ret)
		fuzz_sink_error(&err);
	if (!s)
		goto out_free_image;
	if (!ret) {
		mig_error_clear(&err);
		if (mig_ram_image_finish(pages.img, s, &err))
			fuzz_sink_error(&err);
	}
	fuzz_sink_json(mig_info_json(s));
	fuzz_sink_json(mig_dump_json(s, MIG_DUMP_OFFSETS));
	fuzz_sink_json(mig_dump_json(s, 0));
	fuzz_sink_json(mig_dump_analyze(s));
	mig_stream_free(s);
out_free_image:
	mig_ram_image_free(pages.img);
	free(pages.page);
out_free_reader:
	mig_reader_free(r);
	return 0;
}
