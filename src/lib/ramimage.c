/* SPDX-License-Identifier: MIT */
/*
 * The page image: guest memory as the stream leaves it, replayed from the
 * page callback.  Per page it keeps a digest and where the page's content
 * can be found again (the input, a compressed record in the input, a fill
 * byte, or a scratch file for pages made by XBZRLE deltas), 16 bytes in
 * all; and/or it writes the pages into one sparse file per block, through
 * a buffer that joins neighbouring pages into one write, keeping a bit per
 * page that says whether the file holds data there (then the files are
 * where content is found again, and a digest costs 8 bytes more).  The
 * tables are sparse (pagetab.h): they take memory for the pages sent,
 * not for the block lengths the stream announces.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>
#include <zlib.h>

#include "migstream/ram.h"
#include "pagetab.h"

/* Largest run of neighbouring pages written at once: 128 KiB, see
 * COPY_CHUNK in encode.c (bench/README.md). */
#define WBUF_MAX (128u << 10)
/* Largest page size (FORMAT.md 4.1: 1 KiB to 64 KiB). */
#define PAGE_MAX 65536u

/*
 * Where a page's current content is: a tag in the top 4 bits and a value
 * below.  SRC_ZERO (all 0) is a page of zeros or never written.
 */
enum { SRC_ZERO, SRC_FILL, SRC_INPUT, SRC_ZLIB, SRC_SCRATCH };
#define SRC(tag, v) ((uint64_t)(tag) << 60 | (v))
#define SRC_TAG(s) ((unsigned)((s) >> 60))
#define SRC_VAL(s) ((uint64_t)((s) & ((UINT64_C(1) << 60) - 1)))

struct img_block {
	uint64_t npages;	/* pages of the block, once a page came */
	struct pagetab dig;	/* DIGESTS: XXH3-64 of the content */
	struct pagetab src;	/* DIGESTS without FILES: SRC(...) */
	/* FILES: a bit per page the file holds data for (not a hole), 64
	 * pages to an entry */
	struct pagetab full;
	int fd;			/* FILES: -1 until the first write */
	char *tmp;		/* FILES: temporary path */
	char *file;		/* FILES: "ram/NAME", after finish */
	char *path;		/* FILES: DIR/ram/NAME, after finish */
};

struct mig_ram_image {
	unsigned flags;
	char *dir;
	char *ramdir;
	bool made_ramdir;
	uint64_t psize;
	uint64_t zero_digest;
	uint64_t fill_digest[256];
	bool fill_known[256];
	struct img_block *blocks;
	size_t nblocks;
	uint64_t pages;		/* pages of the blocks with pages, all blocks */

	/* FILES: a run of neighbouring pages not yet written */
	uint8_t *wb;
	size_t wb_block;
	uint64_t wb_addr;
	size_t wb_len;

	uint8_t *page;		/* a page to work in */
	uint8_t *delta;		/* a copy of an XBZRLE delta */
	int scratch;		/* DIGESTS: XBZRLE results, or -1 */
	uint64_t scratch_end;
	bool finished;
	bool committed;
};

static const uint8_t zero_page[PAGE_MAX];

static bool is_zero(const uint8_t *p, size_t n)
{
	return !memcmp(p, zero_page, n);
}

int mig_ram_image_new(struct mig_ram_image **out, unsigned flags,
		      const char *dir, struct mig_error *err)
{
	struct mig_ram_image *img;

	*out = NULL;
	if (!(flags & (MIG_IMAGE_DIGESTS | MIG_IMAGE_FILES)) ||
	    ((flags & MIG_IMAGE_FILES) && !dir))
		return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				     "page image: no digests and no folder");
	img = calloc(1, sizeof(*img));
	if (!img)
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	img->flags = flags;
	img->scratch = -1;
	if (flags & MIG_IMAGE_FILES) {
		size_t n = strlen(dir) + 5;

		img->dir = strdup(dir);
		img->ramdir = malloc(n);
		img->wb = malloc(WBUF_MAX);
		if (!img->dir || !img->ramdir || !img->wb) {
			mig_ram_image_free(img);
			return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
					     "out of memory");
		}
		snprintf(img->ramdir, n, "%s/ram", dir);
		if (mkdir(img->ramdir, 0777) == 0) {
			img->made_ramdir = true;
		} else if (errno != EEXIST) {
			int e = errno;

			mig_ram_image_free(img);
			return mig_error_set(err, MIG_EIO, MIG_NO_OFFSET,
					     "cannot make the folder '%s/ram': %s",
					     dir, strerror(e));
		}
	}
	*out = img;
	return 0;
}

static void free_block(struct img_block *b)
{
	pagetab_free(&b->dig);
	pagetab_free(&b->src);
	pagetab_free(&b->full);
	if (b->fd >= 0)
		close(b->fd);
	if (b->tmp)
		unlink(b->tmp);
	free(b->tmp);
	free(b->file);
	free(b->path);
}

void mig_ram_image_free(struct mig_ram_image *img)
{
	if (!img)
		return;
	for (size_t i = 0; i < img->nblocks; i++)
		free_block(&img->blocks[i]);
	free(img->blocks);
	if (img->made_ramdir && !img->committed)
		rmdir(img->ramdir);	/* only if nothing else is in it */
	if (img->scratch >= 0)
		close(img->scratch);
	free(img->wb);
	free(img->page);
	free(img->delta);
	free(img->ramdir);
	free(img->dir);
	free(img);
}

uint64_t mig_ram_image_page_size(const struct mig_ram_image *img)
{
	return img->psize;
}

uint64_t mig_ram_image_pages(const struct mig_ram_image *img, size_t block)
{
	return block < img->nblocks ? img->blocks[block].npages : 0;
}

static bool full_get(const struct img_block *b, uint64_t i)
{
	return pagetab_get(&b->full, i / 64) >> (i % 64) & 1;
}

/* Only for a page whose entries on_page() has made (see slots()). */
static void full_set(struct img_block *b, uint64_t i, bool v)
{
	uint64_t *w = pagetab_slot(&b->full, i / 64);

	if (v)
		*w |= UINT64_C(1) << (i % 64);
	else
		*w &= ~(UINT64_C(1) << (i % 64));
}

/* Only for a page whose entries on_page() has made (see slots()). */
static void put(struct pagetab *t, uint64_t i, uint64_t v)
{
	*pagetab_slot(t, i) = v;
}

bool mig_ram_image_digest(const struct mig_ram_image *img, size_t block,
			  uint64_t page, uint64_t *digest)
{
	const struct img_block *b;

	if (block >= img->nblocks)
		return false;
	b = &img->blocks[block];
	if (!(img->flags & MIG_IMAGE_DIGESTS) || page >= b->npages)
		return false;
	/* With files, a page holds data exactly when it is not a hole. */
	if ((img->flags & MIG_IMAGE_FILES)
		    ? !full_get(b, page)
		    : SRC_TAG(pagetab_get(&b->src, page)) == SRC_ZERO)
		return false;
	*digest = pagetab_get(&b->dig, page);
	return true;
}

const char *mig_ram_image_file(const struct mig_ram_image *img,
			       size_t block)
{
	return block < img->nblocks ? img->blocks[block].file : NULL;
}

/* ------------------------------------------------------------------ */
/* Tables                                                              */

/* Block @bi with room for @npages pages (tables grow, never shrink). */
static int get_block(struct mig_ram_image *img, size_t bi, uint64_t npages,
		     struct img_block **out, struct mig_error *err)
{
	struct img_block *b;

	if (bi >= img->nblocks) {
		b = realloc(img->blocks, (bi + 1) * sizeof(*b));
		if (!b)
			return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
					     "out of memory");
		img->blocks = b;
		for (size_t i = img->nblocks; i <= bi; i++) {
			memset(&b[i], 0, sizeof(b[i]));
			b[i].fd = -1;
		}
		img->nblocks = bi + 1;
	}
	b = &img->blocks[bi];
	*out = b;
	if (npages <= b->npages)
		return 0;
	if (npages - b->npages > MIG_IMAGE_PAGES_MAX - img->pages)
		return mig_error_set(err, MIG_ELIMIT, MIG_NO_OFFSET,
				     "page image: more than %llu guest pages",
				     (unsigned long long)MIG_IMAGE_PAGES_MAX);
	img->pages += npages - b->npages;
	b->npages = npages;
	return 0;
}

/*
 * Makes the table entries of page @i of @b, so that nothing can fail
 * for want of memory once the page's content starts to change.
 */
static int slots(const struct mig_ram_image *img, struct img_block *b,
		 uint64_t i, struct mig_error *err, uint64_t at)
{
	bool digests = img->flags & MIG_IMAGE_DIGESTS;
	bool files = img->flags & MIG_IMAGE_FILES;

	if ((digests && !pagetab_slot(&b->dig, i)) ||
	    (digests && !files && !pagetab_slot(&b->src, i)) ||
	    (files && !pagetab_slot(&b->full, i / 64)))
		return mig_error_set(err, MIG_ENOMEM, at,
				     "out of memory for the page tables");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

static int io_error(struct mig_error *err, const char *what,
		    const char *path)
{
	return mig_error_set(err, MIG_EIO, MIG_NO_OFFSET, "%s '%s': %s", what,
			     path, strerror(errno));
}

/*
 * Opens block @b's temporary file, of @length bytes, all holes.  Created
 * with mode 0666 less the umask, as the final file should be.
 */
static int open_file(struct mig_ram_image *img, struct img_block *b,
		     size_t bi, uint64_t length, struct mig_error *err)
{
	size_t n = strlen(img->ramdir) + 64;

	if (b->fd >= 0)
		return 0;
	b->tmp = malloc(n);
	if (!b->tmp)
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	for (unsigned try = 0; b->fd < 0; try++) {
		snprintf(b->tmp, n, "%s/.migstream-%ld-%zu-%u.tmp",
			 img->ramdir, (long)getpid(), bi, try);
		b->fd = open(b->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			     0666);
		if (b->fd < 0 && (errno != EEXIST || try > 1000)) {
			int ret = io_error(err, "cannot create", b->tmp);

			free(b->tmp);
			b->tmp = NULL;
			return ret;
		}
	}
	if (ftruncate(b->fd, (off_t)length))
		return io_error(err, "cannot size", b->tmp);
	return 0;
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t k = pwrite(fd, p, n, (off_t)off);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

static int flush(struct mig_ram_image *img, struct mig_error *err)
{
	struct img_block *b;

	if (!img->wb_len)
		return 0;
	b = &img->blocks[img->wb_block];
	if (pwrite_all(b->fd, img->wb, img->wb_len, img->wb_addr))
		return io_error(err, "cannot write", b->tmp);
	img->wb_len = 0;
	return 0;
}

/* Is page @addr of block @bi in the run not yet written? */
static bool in_run(const struct mig_ram_image *img, size_t bi, uint64_t addr)
{
	return img->wb_len && img->wb_block == bi && addr >= img->wb_addr &&
	       addr - img->wb_addr < img->wb_len;
}

static int file_write(struct mig_ram_image *img, size_t bi, uint64_t addr,
		      const uint8_t *p, struct mig_error *err)
{
	const size_t ps = (size_t)img->psize;
	int ret;

	if (in_run(img, bi, addr)) {
		memcpy(img->wb + (addr - img->wb_addr), p, ps);
		return 0;
	}
	if (!img->wb_len || img->wb_block != bi ||
	    addr != img->wb_addr + img->wb_len ||
	    img->wb_len > WBUF_MAX - ps) {
		ret = flush(img, err);
		if (ret)
			return ret;
		img->wb_block = bi;
		img->wb_addr = addr;
	}
	memcpy(img->wb + img->wb_len, p, ps);
	img->wb_len += ps;
	return 0;
}

/* Makes page @addr of block @bi a hole again. */
static int file_zero(struct mig_ram_image *img, size_t bi, uint64_t addr,
		     struct mig_error *err)
{
	struct img_block *b = &img->blocks[bi];
	int ret;

	if (in_run(img, bi, addr)) {
		ret = flush(img, err);
		if (ret)
			return ret;
	}
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)addr, (off_t)img->psize) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return io_error(err, "cannot punch a hole in", b->tmp);
	if (pwrite_all(b->fd, zero_page, (size_t)img->psize, addr))
		return io_error(err, "cannot write", b->tmp);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Content                                                             */

/* Reads @n bytes at input offset @off into @dst, leaving the cursor. */
static int input_read(struct mig_reader *in, uint64_t off, void *dst,
		      size_t n, struct mig_error *err)
{
	uint64_t cur = mig_rd_offset(in);
	const uint8_t *p;
	int ret;

	ret = mig_rd_seek(in, off, err);
	if (!ret)
		ret = mig_rd_peek(in, n, &p, err);
	if (!ret)
		memcpy(dst, p, n);
	if (mig_rd_seek(in, cur, NULL))
		return mig_error_set(err, MIG_EINVAL, cur,
				     "page image: cannot return to the parse");
	return ret;
}

/* The compressed page whose be32 length is at input offset @off. */
static int input_inflate(struct mig_ram_image *img, struct mig_reader *in,
			 uint64_t off, struct mig_error *err)
{
	uint64_t cur = mig_rd_offset(in);
	const uint8_t *p;
	uLongf out = (uLongf)img->psize;
	uint32_t len = 0;
	int ret;

	ret = mig_rd_seek(in, off, err);
	if (!ret)
		ret = mig_rd_be32(in, &len, err);
	if (!ret)
		ret = mig_rd_peek(in, len, &p, err);
	if (!ret && uncompress(img->page, &out, p, len) != Z_OK)
		ret = mig_error_set(err, MIG_ERAM, off,
				     "page image: the compressed page at 0x%" PRIx64 " no longer inflates",
				     off);
	if (mig_rd_seek(in, cur, NULL))
		return mig_error_set(err, MIG_EINVAL, cur,
				     "page image: cannot return to the parse");
	return ret;
}

/* Puts the current content of page @i of block @bi into img->page. */
static int current(struct mig_ram_image *img, const struct mig_page *pg,
		   struct img_block *b, uint64_t i)
{
	const size_t ps = (size_t)img->psize;
	struct mig_error local;
	uint64_t s;
	int ret = 0;

	if (img->flags & MIG_IMAGE_FILES) {
		if (in_run(img, pg->block_index, pg->addr)) {
			memcpy(img->page, img->wb + (pg->addr - img->wb_addr),
			       ps);
		} else if (!full_get(b, i)) {
			memset(img->page, 0, ps);
		} else if (pread(b->fd, img->page, ps, (off_t)pg->addr) !=
			   (ssize_t)ps) {
			return io_error(pg->err, "cannot read back", b->tmp);
		}
		return 0;
	}
	s = pagetab_get(&b->src, i);
	mig_error_clear(&local);
	switch (SRC_TAG(s)) {
	case SRC_ZERO:
		memset(img->page, 0, ps);
		return 0;
	case SRC_FILL:
		memset(img->page, (int)SRC_VAL(s), ps);
		return 0;
	case SRC_SCRATCH:
		if (pread(img->scratch, img->page, ps, (off_t)SRC_VAL(s)) !=
		    (ssize_t)ps)
			return io_error(pg->err, "cannot read back",
					"scratch file");
		return 0;
	case SRC_INPUT:
		ret = input_read(pg->input, SRC_VAL(s), img->page, ps, &local);
		break;
	case SRC_ZLIB:
		ret = input_inflate(img, pg->input, SRC_VAL(s), &local);
		break;
	}
	if (ret == -MIG_EUNSUP)
		return mig_error_set(pg->err, MIG_EUNSUP, pg->offset,
				     "xbzrle page 0x%" PRIx64 " of RAM block '%s': the content it changes came at 0x%" PRIx64 " from a pipe and is gone; read the stream from a file, or write files (--extract)",
				     pg->addr, pg->block->name, SRC_VAL(s));
	if (ret)
		return mig_error_set(pg->err, -ret, local.offset, "%s",
				     local.msg);
	return 0;
}

/* Keeps an XBZRLE result where a later delta can find it. */
static int keep(struct mig_ram_image *img, struct img_block *b, uint64_t i,
		struct mig_error *err)
{
	uint64_t off;

	if (img->scratch < 0) {
		const char *tmpdir = getenv("TMPDIR");
		char path[4096];

		snprintf(path, sizeof(path), "%s/migstream-scratch-XXXXXX",
			 tmpdir && *tmpdir ? tmpdir : "/tmp");
		img->scratch = mkostemp(path, O_CLOEXEC);
		if (img->scratch < 0)
			return io_error(err, "cannot create", path);
		unlink(path);
	}
	if (SRC_TAG(pagetab_get(&b->src, i)) == SRC_SCRATCH) {
		off = SRC_VAL(pagetab_get(&b->src, i));
	} else {
		off = img->scratch_end;
		img->scratch_end += img->psize;
	}
	if (pwrite_all(img->scratch, img->page, (size_t)img->psize, off))
		return io_error(err, "cannot write", "scratch file");
	put(&b->src, i, SRC(SRC_SCRATCH, off));
	return 0;
}

static uint64_t fill_digest(struct mig_ram_image *img, uint8_t c)
{
	if (!img->fill_known[c]) {
		memset(img->page, c, (size_t)img->psize);
		img->fill_digest[c] = XXH3_64bits(img->page,
						  (size_t)img->psize);
		img->fill_known[c] = true;
	}
	return img->fill_digest[c];
}

static int first_page(struct mig_ram_image *img, const struct mig_page *pg)
{
	if (pg->size < 1024 || pg->size > PAGE_MAX ||
	    (pg->size & (pg->size - 1)))
		return mig_error_set(pg->err, MIG_ERAM, pg->offset,
				     "page image: page size %" PRIu64 " out of range",
				     pg->size);
	img->psize = pg->size;
	img->page = malloc((size_t)pg->size);
	img->delta = malloc((size_t)pg->size);
	if (!img->page || !img->delta)
		return mig_error_set(pg->err, MIG_ENOMEM, pg->offset,
				     "out of memory");
	img->zero_digest = XXH3_64bits(zero_page, (size_t)pg->size);
	return 0;
}

int mig_ram_image_on_page(void *ctx, const struct mig_page *pg)
{
	struct mig_ram_image *img = ctx;
	const size_t bi = pg->block_index;
	const uint8_t *data = NULL;	/* the new content, unless a fill */
	struct img_block *b;
	uint64_t i, npages;
	uint8_t fill = 0;
	int ret;

	if (img->finished)
		return mig_error_set(pg->err, MIG_EINVAL, pg->offset,
				     "page image: a page after the end");
	if (!img->psize) {
		ret = first_page(img, pg);
		if (ret)
			return ret;
	} else if (pg->size != img->psize) {
		return mig_error_set(pg->err, MIG_ERAM, pg->offset,
				     "page image: a page of %" PRIu64 " bytes among pages of %" PRIu64,
				     pg->size, img->psize);
	}
	i = pg->addr / img->psize;
	npages = (pg->block->length + img->psize - 1) / img->psize;
	if (npages <= i)
		npages = i + 1;
	ret = get_block(img, bi, npages, &b, pg->err);
	if (!ret)
		ret = slots(img, b, i, pg->err, pg->offset);
	if (ret)
		return ret;
	if (img->flags & MIG_IMAGE_FILES) {
		ret = open_file(img, b, bi, pg->block->length, pg->err);
		if (ret)
			return ret;
	}

	switch (pg->kind) {
	case MIG_PAGE_DATA:
		if (pg->len != img->psize)
			return mig_error_set(pg->err, MIG_EINVAL, pg->offset,
					     "page image: a page of %zu bytes",
					     pg->len);
		data = pg->data;
		break;
	case MIG_PAGE_FILL:
		fill = pg->fill;
		break;
	case MIG_PAGE_XBZRLE:
		/* The delta may live in the reader's window: copy it first. */
		if (pg->len > img->psize)
			return mig_error_set(pg->err, MIG_ERAM, pg->offset,
					     "page image: an xbzrle delta longer than a page");
		memcpy(img->delta, pg->data, pg->len);
		ret = current(img, pg, b, i);
		if (!ret)
			ret = mig_xbzrle_apply(img->page, (size_t)img->psize,
					       img->delta, pg->len,
					       pg->data_offset, pg->err);
		if (ret)
			return ret;
		data = img->page;
		break;
	default:
		return mig_error_set(pg->err, MIG_EUNSUP, pg->offset,
				     "page image: a page of unknown kind %d",
				     (int)pg->kind);
	}
	if (data && is_zero(data, (size_t)img->psize)) {
		data = NULL;
		fill = 0;
	}

	if (img->flags & MIG_IMAGE_DIGESTS)
		put(&b->dig, i,
		    data ? XXH3_64bits(data, (size_t)img->psize)
			 : fill ? fill_digest(img, fill) : 0);
	/* Where a later delta finds the content (with files: in them). */
	if ((img->flags & MIG_IMAGE_DIGESTS) &&
	    !(img->flags & MIG_IMAGE_FILES)) {
		if (!data)
			put(&b->src, i, fill ? SRC(SRC_FILL, fill)
					     : SRC(SRC_ZERO, 0));
		else if (pg->kind == MIG_PAGE_XBZRLE)
			ret = keep(img, b, i, pg->err);
		else if (pg->record == MIG_PREC_COMPRESS)
			put(&b->src, i, SRC(SRC_ZLIB, pg->data_offset));
		else
			put(&b->src, i, SRC(SRC_INPUT, pg->data_offset));
		if (ret)
			return ret;
	}
	if (img->flags & MIG_IMAGE_FILES) {
		if (!data && !fill) {
			if (full_get(b, i))
				ret = file_zero(img, bi, pg->addr, pg->err);
			full_set(b, i, false);
			return ret;
		}
		if (!data) {
			memset(img->page, fill, (size_t)img->psize);
			data = img->page;
		}
		full_set(b, i, true);
		return file_write(img, bi, pg->addr, data, pg->err);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Finishing                                                           */

/*
 * The file names given so far, with the next "~N" to try after each:
 * hostile streams send thousands of blocks whose names sanitise alike,
 * and rescanning all earlier names for every try made naming cubic.
 * Open addressing over a power-of-two table at most half full.
 */
struct name_entry {
	const char *name;	/* a block's file, NULL if the slot is free */
	unsigned next;		/* first "~N" not known taken, 0 for 2 */
};

struct name_set {
	struct name_entry *e;
	size_t mask;
};

static int name_set_init(struct name_set *ns, size_t n)
{
	size_t cap = 16;

	if (n > SIZE_MAX / 4 / sizeof(*ns->e))
		return -1;
	while (cap / 2 < n)
		cap *= 2;
	ns->e = calloc(cap, sizeof(*ns->e));
	ns->mask = cap - 1;
	return ns->e ? 0 : -1;
}

/* The entry for @name, or the free slot where it belongs. */
static struct name_entry *name_slot(const struct name_set *ns,
				    const char *name)
{
	size_t i = (size_t)XXH3_64bits(name, strlen(name)) & ns->mask;

	while (ns->e[i].name && strcmp(ns->e[i].name, name))
		i = (i + 1) & ns->mask;
	return &ns->e[i];
}

/*
 * "ram/NAME" for block @name, entered in @ns: see mig_ram_image_finish().
 * A name taken gets the first free "~2", "~3"...  Every "~N" below a
 * base's next is taken (names are never given back), so the search for
 * the base's next collision starts there and gives the name a rescan
 * from "~2" would.
 */
static char *file_name(struct name_set *ns, const char *name)
{
	size_t n = strlen(name);
	char *f = malloc(4 + n + 16);
	struct name_entry *base, *e;
	unsigned dup;

	if (!f)
		return NULL;
	memcpy(f, "ram/", 4);
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)name[k];

		f[4 + k] = (c < 0x21 || c > 0x7e || c == '/' || c == '\\' ||
			    (k == 0 && c == '.')) ? '_' : (char)c;
	}
	f[4 + n] = '\0';
	e = name_slot(ns, f);
	if (e->name) {
		/* @base stays put: the table is never resized. */
		base = e;
		for (dup = base->next ? base->next : 2;; dup++) {
			snprintf(f + 4 + n, 16, "~%u", dup);
			e = name_slot(ns, f);
			if (!e->name)
				break;
		}
		base->next = dup + 1;
	}
	e->name = f;
	return f;
}

int mig_ram_image_finish(struct mig_ram_image *img,
			 const struct mig_stream *s, struct mig_error *err)
{
	struct name_set names = { 0 };
	int ret;

	if (!img->psize && s->nram_blocks) {
		struct mig_page pg = { .size = s->page_size, .err = err,
				       .offset = MIG_NO_OFFSET };

		ret = first_page(img, &pg);
		if (ret)
			return ret;
	}
	if (img->flags & MIG_IMAGE_FILES) {
		ret = flush(img, err);
		if (ret)
			return ret;
	}
	if ((img->flags & MIG_IMAGE_FILES) &&
	    name_set_init(&names, s->nram_blocks))
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	for (size_t bi = 0; bi < s->nram_blocks; bi++) {
		const struct mig_ram_block *rb = &s->ram_blocks[bi];
		uint64_t npages = (rb->length + img->psize - 1) / img->psize;
		struct img_block *b;
		size_t n;

		ret = get_block(img, bi, npages, &b, err);
		if (ret)
			goto out;
		if (!(img->flags & MIG_IMAGE_FILES))
			continue;
		ret = open_file(img, b, bi, rb->length, err);
		if (ret)
			goto out;
		if (ftruncate(b->fd, (off_t)rb->length)) {
			ret = io_error(err, "cannot size", b->tmp);
			goto out;
		}
		b->file = file_name(&names, rb->name);
		n = b->file ? strlen(img->dir) + strlen(b->file) + 2 : 0;
		b->path = b->file ? malloc(n) : NULL;
		if (!b->path) {
			ret = mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
					    "out of memory");
			goto out;
		}
		snprintf(b->path, n, "%s/%s", img->dir, b->file);
	}
	img->finished = true;
	ret = 0;
out:
	free(names.e);
	return ret;
}

int mig_ram_image_commit(struct mig_ram_image *img, bool overwrite,
			 struct mig_error *err)
{
	struct stat st;

	if (!img->finished)
		return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET,
				     "page image: commit before finish");
	if (!(img->flags & MIG_IMAGE_FILES))
		return 0;
	for (size_t i = 0; !overwrite && i < img->nblocks; i++) {
		const char *path = img->blocks[i].path;

		if (path && lstat(path, &st) == 0)
			return mig_error_set(err, MIG_EIO, MIG_NO_OFFSET,
					     "'%s' exists; not overwritten",
					     path);
	}
	for (size_t i = 0; i < img->nblocks; i++) {
		struct img_block *b = &img->blocks[i];
		int r;

		if (!b->tmp || !b->path)
			continue;
		r = overwrite ? rename(b->tmp, b->path)
			      : renameat2(AT_FDCWD, b->tmp, AT_FDCWD, b->path,
					  RENAME_NOREPLACE);
		if (r && !overwrite && (errno == EINVAL || errno == ENOSYS)) {
			/* No RENAME_NOREPLACE here: link fails if it exists. */
			r = link(b->tmp, b->path);
			if (!r)
				unlink(b->tmp);
		}
		if (r)
			return io_error(err, "cannot rename to", b->path);
		free(b->tmp);
		b->tmp = NULL;
	}
	img->committed = true;
	return 0;
}
