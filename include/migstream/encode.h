/* SPDX-License-Identifier: MIT */
/*
 * Writing streams: the lossless JSON document (`dump --lossless`), its
 * encoder back to bytes (`encode`), in-place field edits (`set`), and the
 * atomic output file all three write through.
 *
 * The lossless document ("migstream_lossless": 1, described in
 * migstream-encode(1)) keeps every byte of a stream: what migstream
 * understands as structure (records, section headers, device fields with
 * their types and sizes, RAM records with their block names and flags),
 * the rest as raw bytes.  Guest page data is either inline (base64) or in
 * a side file the document refers to by offset.  Encoding an unedited
 * document gives the original bytes back.
 */
#ifndef MIGSTREAM_ENCODE_H
#define MIGSTREAM_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "migstream/error.h"
#include "migstream/reader.h"
#include "migstream/state.h"
#include "migstream/stream.h"

/* Version of the lossless document, in its "migstream_lossless" key. */
#define MIG_LOSSLESS_FORMAT_VERSION 1

/* Raw byte strings up to this size are hex in the document; longer ones
 * are base64 or in the side file. */
#define MIG_LOSSLESS_HEX_MAX 65536u

/* ------------------------------------------------------------------ */
/* Output files                                                        */

/*
 * A writer: an output file written atomically.  The bytes go to a new
 * temporary file in the target's directory, unnamed (O_TMPFILE) where the
 * file system allows, so that nothing is left even after SIGKILL;
 * mig_writer_commit() flushes it, fsyncs it and gives it the target's
 * name (then fsyncs the directory), so the target is either untouched or
 * complete.  mig_writer_abort() removes the temporary file.  "-" writes to standard
 * output instead (not atomic: a failure leaves what was written).  A
 * memory writer collects the bytes in a growing buffer.
 *
 * Errors: -MIG_EIO (with strerror in the message), -MIG_ENOMEM.
 */
struct mig_writer;

int mig_writer_open(struct mig_writer **out, const char *path,
		    struct mig_error *err);
int mig_writer_mem(struct mig_writer **out, struct mig_error *err);
int mig_writer_write(struct mig_writer *w, const void *p, size_t n,
		     struct mig_error *err);
/* Bytes written so far. */
uint64_t mig_writer_offset(const struct mig_writer *w);
/* Writes the buffered bytes out (files: to the temporary file). */
int mig_writer_flush(struct mig_writer *w, struct mig_error *err);
/*
 * Path of the temporary file of a file writer (NULL for stdout and
 * memory): where the output can be read back before it is committed
 * (/proc/self/fd/N for an unnamed file).
 */
const char *mig_writer_temp_path(const struct mig_writer *w);
/* Whether that path is a name in the target's directory, which a signal
 * handler must remove (false for an unnamed file, stdout and memory). */
bool mig_writer_temp_named(const struct mig_writer *w);
/* The bytes of a memory writer (valid until the writer is freed). */
const uint8_t *mig_writer_mem_data(const struct mig_writer *w, size_t *len);
/* Makes the output final and frees @w (also when it fails). */
int mig_writer_commit(struct mig_writer *w, struct mig_error *err);
/* Drops the output (the target is untouched) and frees @w; NULL is fine. */
void mig_writer_abort(struct mig_writer *w);

/*
 * True when @a and @b name the same existing file (same device and
 * inode), so a command can refuse to write over its own input.
 */
bool mig_same_file(const char *a, const char *b);

/* ------------------------------------------------------------------ */
/* dump --lossless                                                     */

struct mig_lossless_opts {
	/*
	 * Where bulk bytes go (page data, RAM chunks kept raw, long raw
	 * payloads): NULL puts them in the document as base64; otherwise
	 * they are appended to @ram and the document records their offsets
	 * and @ram_path, the size of what was written and its XXH64.
	 */
	struct mig_writer *ram;
	const char *ram_path;
	const struct mig_parse_opts *parse;	/* may be NULL */
};

/*
 * Reads the stream in @r and builds its lossless document in *@out.  The
 * bytes are looked at twice: a pipe or decompressing reader is made
 * seekable first (mig_rd_make_seekable(): a temporary file).
 *
 * A stream that cannot be read to its end still gives a document: what
 * was read before the record that failed is structured, and that record
 * and everything after it are kept as raw bytes under "rest", with
 * "complete" false; the parse error is then returned (and *@out set).
 * A stream whose header is bad gives no document.
 *
 * Errors: those of mig_stream_read(), -MIG_EINVAL, -MIG_EIO and
 * -MIG_ENOMEM (writing the side file).
 */
int mig_lossless_dump(struct mig_reader *r,
		      const struct mig_lossless_opts *opts, json_t **out,
		      struct mig_error *err);

/* ------------------------------------------------------------------ */
/* encode                                                              */

struct mig_encode_opts {
	/* Side file to use instead of the document's "ram_file" path. */
	const char *ram_path;
	/* Directory a relative "ram_file" path is looked up in when it is
	 * not found relative to the current one (the document's own). */
	const char *doc_dir;
};

/*
 * Writes the stream that the lossless document @doc describes to @w.
 * Every value is checked against its field's type and size; the first
 * problem is reported with the path of the field, the record's index and
 * then the field path of `set` ("record 12: cpu.env.regs[0]"), and offset
 * MIG_NO_OFFSET.
 *
 * Errors: -MIG_EINVAL (the document is malformed, a value does not fit
 * its field, the side file is missing or is not the one the document was
 * made with), -MIG_EUNSUP (a document version this build does not know),
 * -MIG_EIO, -MIG_ENOMEM.
 */
int mig_encode(const json_t *doc, const struct mig_encode_opts *opts,
	       struct mig_writer *w, struct mig_error *err);

/*
 * Encodes one leaf value @v (as the lossless document writes it: a
 * number, "0x..." text, true/false, hex text, null) for a field of vmdesc
 * type @type whose elements are @size bytes, into @out (@size bytes;
 * capability strings excepted, see below).  Integers must fit the type
 * (int8 -128..127, uint16 0..65535, ...); "0x" text is the bit pattern
 * and must fit the width; bool takes true, false or a byte value 0..255;
 * any other type takes exactly @size bytes of hex.  A "capability" is a
 * string of up to 255 bytes, written as u8 length and text: @out must
 * have room for 256 bytes and *@outlen says how many were used.
 * -MIG_EINVAL with the reason in @err (no path: the caller adds it).
 */
int mig_encode_value(const char *type, size_t size, const json_t *v,
		     uint8_t *out, size_t *outlen, struct mig_error *err);

/* ------------------------------------------------------------------ */
/* Field paths and set                                                 */

/*
 * A field path names one node of a decoded device section, in the syntax
 * `diff` prints (migstream/diff.h):
 *
 *     path    = section { step }
 *     section = IDSTR [ "[" INSTANCE "]" ]
 *     step    = "." FIELD | "[" N "]" | "{" SUBSECTION "}"
 *
 * e.g. "cpu[0].env.regs[0]", "0000:00:03.0/e1000.mac_reg[12]",
 * "cpu{cpu/async_pf_msr}.env.async_pf_en_msr".  "[INSTANCE]" may be left
 * out when the stream has one instance of IDSTR.  Field names are the
 * vmdesc's (they may contain dots: "env.regs" is one name); "[N]" picks
 * element N of an array, or the entry the vmdesc lists with index N.  A
 * "{SUBSECTION}" step may be left out when the field after it is found in
 * one subsection only ("cpu.env.async_pf_en_msr").
 *
 * On success *@rec and *@node are set.  -MIG_EINVAL when nothing or more
 * than one node matches, with a message that says which step failed.
 */
int mig_path_resolve(const struct mig_stream *s, const char *path,
		     const struct mig_record **rec,
		     const struct mig_node **node, struct mig_error *err);

/* Writes the canonical path of @node in @rec into @buf; returns @buf. */
char *mig_path_format(const struct mig_stream *s, const struct mig_record *rec,
		      const struct mig_node *node, char *buf, size_t len);

/* One in-place change: @len bytes at absolute input offset @offset. */
struct mig_patch {
	uint64_t offset;
	size_t len;
	uint8_t *bytes;		/* owned; mig_patch_release() frees it */
};

void mig_patch_release(struct mig_patch *patch);

/*
 * Prepares setting the field @node to the value written as @text: an
 * integer in decimal (signed types take a minus sign) or 0x hex (the bit
 * pattern), true/false for bool, hex bytes for buffers (exactly as many
 * as the field has, an optional 0x prefix).  Only fixed-size leaves can
 * be set, so the stream keeps its length and its vmdesc stays right.
 * @patch is overwritten (release what it held first); on success it holds
 * the new bytes (free with mig_patch_release()).
 * -MIG_EINVAL with the reason, -MIG_ENOMEM.
 */
int mig_set_prepare(const struct mig_node *node, const char *text,
		    struct mig_patch *patch, struct mig_error *err);

/*
 * Copies input @r from absolute offset @start (where the stream begins)
 * to its end to @w, with the @n patches applied.  @r must be seekable
 * (mig_rd_make_seekable()).  Patches must not overlap.  -MIG_EINVAL, and
 * the errors of the reader and the writer.
 */
int mig_set_write(struct mig_reader *r, uint64_t start,
		  const struct mig_patch *patches, size_t n,
		  struct mig_writer *w, struct mig_error *err);

#endif
