/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM beyond the record framing: migration capabilities that change
 * how RAM is framed, the XBZRLE delta encoding (FORMAT.md 4.5), and the
 * page image: guest memory as a stream leaves it, kept as one digest per
 * page, or written out as one sparse file per RAM block, or both.
 *
 * A page image is fed by the parser's page callback (struct
 * mig_parse_opts.on_page = mig_ram_image_on_page, .ctx = the image) and
 * replays page records in stream order, so the last write wins: PAGE and
 * COMPRESS_PAGE records set a page, ZERO records fill it, XBZRLE deltas
 * are applied to the page's current content, mapped-ram pages and holes
 * are taken from the bitmap.  A page the stream never writes reads as
 * zero, which is what a fresh destination holds (for a block left out by
 * x-ignore-shared, the shared memory itself is not in the stream).
 *
 * Memory: 16 bytes per guest page for digests alone (the digest, and
 * where the page's current content can be read again for a later XBZRLE
 * delta), 1 bit per page for files, 8 bytes and 1 bit for both; never the
 * pages themselves.
 */
#ifndef MIGSTREAM_RAM_H
#define MIGSTREAM_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migstream/error.h"
#include "migstream/stream.h"

/*
 * True when @name is a QEMU migration capability (as `migrate-set-
 * capabilities` names it).  Of these, x-ignore-shared, postcopy-ram and
 * mapped-ram change how the stream is framed; the parser takes the
 * others without effect.
 */
bool mig_cap_known(const char *name);

/* The known capability names, NULL-terminated, for usage messages. */
extern const char *const mig_cap_names[];

/*
 * Checks the XBZRLE delta of @len bytes at @enc for a page of @page_size
 * bytes exactly as QEMU's loader does: runs "zrun nzrun bytes" with run
 * lengths in ULEB128 of at most two bytes (14 bits), only the first zero
 * run may be empty, data runs are never empty, no run may end past the
 * page or the delta.  @offset is the input offset of enc[0], for the
 * message.  Returns 0 or -MIG_ERAM with the offset of the offending byte.
 */
int mig_xbzrle_check(const uint8_t *enc, size_t len, size_t page_size,
		     uint64_t offset, struct mig_error *err);

/*
 * Applies the delta (as mig_xbzrle_check() accepts it) to the @page_size
 * bytes at @page: the data runs are copied in, the zero runs skip bytes
 * that stay as they are.  On -MIG_ERAM @page may be partly changed.
 */
int mig_xbzrle_apply(uint8_t *page, size_t page_size, const uint8_t *enc,
		     size_t len, uint64_t offset, struct mig_error *err);

enum mig_image_flags {
	MIG_IMAGE_DIGESTS = 1 << 0,	/* an XXH3-64 digest per page */
	MIG_IMAGE_FILES = 1 << 1,	/* a sparse file per RAM block */
};

/*
 * Most guest pages one image covers, all blocks with pages together, by
 * their lengths in the block list (1 TiB of 4 KiB pages).  Its tables
 * are sparse: memory follows the pages the stream sends.
 */
#define MIG_IMAGE_PAGES_MAX (1ull << 28)

struct mig_ram_image;

/*
 * A new, empty page image.  With MIG_IMAGE_FILES, @dir is the folder the
 * block files go into (in its subfolder "ram", created if missing); they
 * are written under temporary names until mig_ram_image_commit().  Errors:
 * -MIG_EINVAL (no flag, or no @dir for files), -MIG_EIO (the folder
 * cannot be made), -MIG_ENOMEM.
 */
int mig_ram_image_new(struct mig_ram_image **out, unsigned flags,
		      const char *dir, struct mig_error *err);

/*
 * The page callback (struct mig_parse_opts.on_page) with @ctx the image.
 * Returns 0 or, after filling page->err: -MIG_ENOMEM, -MIG_ELIMIT (more
 * than MIG_IMAGE_PAGES_MAX pages), -MIG_ERAM (pages of two sizes, an
 * XBZRLE delta that does not fit), -MIG_EIO (a block file cannot be
 * written), -MIG_EUNSUP (digests only: an XBZRLE delta for a page whose
 * content came from a pipe and is gone; read the stream from a file).
 */
int mig_ram_image_on_page(void *ctx, const struct mig_page *page);

/*
 * After a successful parse of @s: writes what is still buffered and gives
 * every block of @s its file (blocks whose pages never came too), sized
 * to the block's length, and its file name: "ram/" and the block name
 * with '/' and any byte that is not printable ASCII, '\' or a leading '.'
 * replaced by '_'; a name taken by an earlier block gets "~2", "~3", ...
 * Errors: -MIG_EIO, -MIG_ENOMEM.
 */
int mig_ram_image_finish(struct mig_ram_image *img,
			 const struct mig_stream *s, struct mig_error *err);

/* Page size of the image (0 before the first page). */
uint64_t mig_ram_image_page_size(const struct mig_ram_image *img);

/*
 * Pages of block @block (its index in the stream's ram_blocks) the image
 * covers: the block length in pages after mig_ram_image_finish().
 */
uint64_t mig_ram_image_pages(const struct mig_ram_image *img, size_t block);

/*
 * Digest (MIG_IMAGE_DIGESTS) of page @page of block @block: false when
 * every byte of the page is zero (or it was never written), else true and
 * the XXH3-64 digest of its bytes in *@digest.
 */
bool mig_ram_image_digest(const struct mig_ram_image *img, size_t block,
			  uint64_t page, uint64_t *digest);

/*
 * The file of block @block relative to the folder ("ram/pc.ram"), after
 * mig_ram_image_finish(); NULL without MIG_IMAGE_FILES.
 */
const char *mig_ram_image_file(const struct mig_ram_image *img,
			       size_t block);

/*
 * Gives the block files their names.  Unless @overwrite, fails with
 * -MIG_EIO before renaming anything when one of the names exists.  On
 * error no file is left under a temporary name.  Errors: -MIG_EIO,
 * -MIG_EINVAL (not finished).
 */
int mig_ram_image_commit(struct mig_ram_image *img, bool overwrite,
			 struct mig_error *err);

/* Frees @img and removes block files not committed. */
void mig_ram_image_free(struct mig_ram_image *img);

#endif
