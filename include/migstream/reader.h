/* SPDX-License-Identifier: MIT */
/*
 * The reader: the only code that touches input bytes.
 *
 * A reader is a cursor over a file (mapped whole when it is a regular
 * file), a pipe (read through a growing window) or a memory buffer.  Every
 * read checks that the bytes exist before it returns them and advances only
 * on success, so a failed read leaves the cursor where it was.  Offsets are
 * absolute positions in the input, for messages.
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

/* Largest single peek/read a pipe reader buffers (bytes). */
#define MIG_RD_WINDOW_MAX (256u << 20)

struct mig_reader;

/* Opens @path, or standard input when @path is "-". */
int mig_reader_open(struct mig_reader **out, const char *path,
		    struct mig_error *err);
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

int mig_rd_u8(struct mig_reader *r, uint8_t *v, struct mig_error *err);
int mig_rd_be16(struct mig_reader *r, uint16_t *v, struct mig_error *err);
int mig_rd_be32(struct mig_reader *r, uint32_t *v, struct mig_error *err);
int mig_rd_be64(struct mig_reader *r, uint64_t *v, struct mig_error *err);
int mig_rd_bytes(struct mig_reader *r, void *dst, size_t n,
		 struct mig_error *err);
/* Advances @n bytes without looking at them. */
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
 * Makes every remaining byte (at most @cap) visible at *@p, *@len, without
 * advancing.  Free for mapped files; a pipe reader buffers the rest.
 * -MIG_ELIMIT when more than @cap bytes remain.
 */
int mig_rd_rest(struct mig_reader *r, uint64_t cap, const uint8_t **p,
		size_t *len, struct mig_error *err);

/*
 * Moves the cursor back to absolute @offset, which must still be inside the
 * buffered window (always true for mapped files and memory; for a pipe,
 * after mig_rd_rest).  -MIG_EINVAL otherwise.
 */
int mig_rd_rewind(struct mig_reader *r, uint64_t offset,
		  struct mig_error *err);

#endif
