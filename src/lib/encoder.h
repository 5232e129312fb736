/* SPDX-License-Identifier: MIT */
/*
 * Internal: the pieces of the encoder lossless.c uses to check, while it
 * builds a document, that what it wrote encodes back to the input bytes.
 */
#ifndef MIGSTREAM_LIB_ENCODER_H
#define MIGSTREAM_LIB_ENCODER_H

#include "migstream/encode.h"

/*
 * Encodes one record object @rec of a lossless document (a section,
 * command or EOF; no side-file data) to @w, with the document's
 * @page_size and @footers.  Errors as mig_encode().
 */
int encode_record(const json_t *rec, uint64_t page_size, bool footers,
		  struct mig_writer *w, struct mig_error *err);

/* Encodes the "configuration" object @conf to @w.  As mig_encode(). */
int encode_config(const json_t *conf, struct mig_writer *w,
		  struct mig_error *err);

#endif
