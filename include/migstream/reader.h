/* SPDX-License-Identifier: MIT */
/*
 * The reader: the only code that touches input bytes.
 *
 * A reader is a cursor over a file (mapped whole when it is a regular
 * file), a pipe (read through a growing window) or a memory buffer.  Every
 * read checks that the bytes exist before it returns them and advances only
 * on success, so a failed read leaves the cursor where it was.  Offsets are
 * absolute positions in the input, for messages; for a wrapped input, see
 * input.h (positions in the file, or in the decompressed data).
 *
 * Errors (negative): -MIG_ETRUNC when the input ends first (the message
 * says how many bytes were needed and how many were left), -MIG_EIO when
 * the operating system fails, -MIG_ENOMEM, -MIG_ELIMIT when a request
 * exceeds MIG_RD_WINDOW_MAX on a pipe.
 */
#ifndef MIGSTREAM_READER_H
#define MIGSTREAM_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migstream/error.h"
#include "migstream/input.h"

/* Largest single peek/read a pipe reader buffers (bytes). */
#define MIG_RD_WINDOW_MAX (256u << 20)

struct mig_reader;

/*
 * Opens @path, or standard input when @path is "-", and removes what wraps
 * the stream (mig_reader_unwrap, with no offset).
 */
int mig_reader_open(struct mig_reader **out, const char *path,
		    struct mig_error *err);
/*
 * The same with @opts (NULL: defaults): the offset where the input starts,
 * or raw bytes.  Errors of mig_reader_unwrap; on error *@out is NULL.
 */
int mig_reader_open_input(struct mig_reader **out, const char *path,
			  const struct mig_input_opts *opts,
			  struct mig_error *err);
/*
 * Skips @opts->offset bytes of *@r, then, unless @opts->raw, finds what
 * wraps the stream by its magic (input.h) and replaces *@r by a reader of
 * the bare stream; mig_reader_free(*@r) frees every layer.  *@r stays a
 * reader to free also on error.  Errors: -MIG_ETRUNC (an offset past the
 * end, a truncated libvirt header), -MIG_EVERSION, -MIG_EMAGIC, -MIG_ELIMIT
 * and -MIG_EUNSUP (libvirt header), -MIG_ENOMEM, -MIG_EIO, -MIG_EINVAL
 * (already unwrapped).
 */
int mig_reader_unwrap(struct mig_reader **r, const struct mig_input_opts *opts,
		      struct mig_error *err);
/* What was removed around the stream, or NULL for a bare one at 0. */
const struct mig_wrapper *mig_reader_wrapper(const struct mig_reader *r);
/* Reads @fd (not closed by mig_reader_free); @name is used in messages. */
int mig_reader_from_fd(struct mig_reader **out, int fd, const char *name,
		       struct mig_error *err);
/* Reads @len bytes at @buf, which must outlive the reader (not copied). */
int mig_reader_from_mem(struct mig_reader **out, const void *buf, size_t len,
			const char *name, struct mig_error *err);
void mig_reader_free(struct mig_reader *r);

const char *mig_reader_name(const struct mig_reader *r);
/* Absolute offset of the next byte to be read. */
uint64_t mig_rd_offset(const struct mig_reader *r);
/* Total input size when known (file, memory), else MIG_NO_OFFSET. */
uint64_t mig_rd_size(const struct mig_reader *r);
/* True when no byte is left (may read from a pipe to find out). */
bool mig_rd_at_end(struct mig_reader *r);
/*
 * Bytes taken so far from the file or pipe under every layer, and its size
 * (MIG_NO_OFFSET when unknown): the progress of a compressed input.
 */
void mig_rd_input_pos(const struct mig_reader *r, uint64_t *pos,
		      uint64_t *size);
/*
 * Calls @fn(@ctx, offset) whenever the cursor has moved @step bytes (0: 4
 * MiB) since the last call; the check is one comparison per read.  @fn
 * NULL stops the calls.
 */
void mig_rd_set_progress(struct mig_reader *r, uint64_t step,
			 void (*fn)(void *ctx, uint64_t offset), void *ctx);
/* True when every byte of the input can be reached again (file, memory). */
bool mig_rd_seekable(const struct mig_reader *r);
/*
 * Makes a pipe or decompressed reader seekable from its cursor on: the
 * rest of the input goes into an unnamed temporary file in $TMPDIR (or
 * /tmp), zero pages left as holes, which is then mapped.  Offsets do not
 * change; bytes before the cursor are gone for good.  No-op when already
 * seekable.  Errors: -MIG_EIO (temporary file), -MIG_ENOMEM, and those of
 * reading the rest of the input.
 */
int mig_rd_make_seekable(struct mig_reader *r, struct mig_error *err);

int mig_rd_u8(struct mig_reader *r, uint8_t *v, struct mig_error *err);
int mig_rd_be16(struct mig_reader *r, uint16_t *v, struct mig_error *err);
int mig_rd_be32(struct mig_reader *r, uint32_t *v, struct mig_error *err);
int mig_rd_be64(struct mig_reader *r, uint64_t *v, struct mig_error *err);
int mig_rd_bytes(struct mig_reader *r, void *dst, size_t n,
		 struct mig_error *err);
/*
 * Advances @n bytes without looking at them.  The one read that can move
 * the cursor when it fails: a pipe skipping past its window drops bytes as
 * it goes (holding them all would defeat bounded memory), so after
 * -MIG_ETRUNC the cursor is at the end of the input.
 */
int mig_rd_skip(struct mig_reader *r, uint64_t n, struct mig_error *err);
/* Reads a u8 length and that many bytes into @dst (NUL-terminated, 256). */
int mig_rd_str8(struct mig_reader *r, char dst[256], struct mig_error *err);

/*
 * Makes @n bytes visible at *@p without advancing.  The pointer stays valid
 * until the next call on @r.
 */
int mig_rd_peek(struct mig_reader *r, size_t n, const uint8_t **p,
		struct mig_error *err);

/*
 * Makes every remaining byte visible at *@p, *@len, without advancing.
 * Free for mapped files and memory, whatever their size; a pipe reader
 * buffers the rest, at most @cap bytes (-MIG_ELIMIT when more remain).
 */
int mig_rd_rest(struct mig_reader *r, uint64_t cap, const uint8_t **p,
		size_t *len, struct mig_error *err);

/*
 * Moves the cursor to absolute @offset.  A mapped file or a memory buffer
 * can go anywhere up to its end; a pipe goes forward (reading and dropping
 * the bytes between) or back inside its buffered window only.  For
 * whole-window readers, consumers that look at earlier bytes (mapped-ram,
 * page images) save mig_rd_offset() and seek back to it.  Errors:
 * -MIG_ETRUNC when @offset is past the end, -MIG_EUNSUP when a pipe would
 * have to go back, and those of mig_rd_skip().
 */
int mig_rd_seek(struct mig_reader *r, uint64_t offset, struct mig_error *err);

/*
 * Moves the cursor back to absolute @offset, which must still be inside the
 * buffered window (always true for mapped files and memory; for a pipe,
 * after mig_rd_rest).  -MIG_EINVAL otherwise.
 */
int mig_rd_rewind(struct mig_reader *r, uint64_t offset,
		  struct mig_error *err);

#endif
