/* SPDX-License-Identifier: MIT */
/*
 * Test helpers shared by the unit tests: a growable byte buffer with writers
 * for every piece of a migration stream (FORMAT.md sections 1, 4 and 5.5),
 * a vmdesc trailer made from a jansson object, and small conveniences.
 *
 * Header-only on purpose: every tests/unit/test_*.c is linked on its own
 * with libmigstream.a, so everything here is static inline.  The builders
 * abort() when out of memory; they are test code.
 */
#ifndef MIGSTREAM_TESTS_BUILDER_H
#define MIGSTREAM_TESTS_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "migstream/migstream.h"

struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static inline void buf_put(struct buf *b, const void *p, size_t n)
{
	if (n > b->cap - b->len) {
		size_t ncap = b->cap ? b->cap : 256;

		while (n > ncap - b->len)
			ncap *= 2;
		b->p = realloc(b->p, ncap);
		if (!b->p)
			abort();
		b->cap = ncap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static inline void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static inline void buf_u8(struct buf *b, uint8_t v)
{
	buf_put(b, &v, 1);
}

static inline void buf_fill(struct buf *b, uint8_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_u8(b, v);
}

static inline void buf_be16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	buf_put(b, x, sizeof(x));
}

static inline void buf_be32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 8), (uint8_t)v };

	buf_put(b, x, sizeof(x));
}

static inline void buf_be64(struct buf *b, uint64_t v)
{
	buf_be32(b, (uint32_t)(v >> 32));
	buf_be32(b, (uint32_t)v);
}

/* u8 length, then the bytes of @s (no NUL). */
static inline void buf_str8(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	if (n > 255)
		abort();
	buf_u8(b, (uint8_t)n);
	buf_put(b, s, n);
}

/* ---- stream records (FORMAT.md section 1) ---- */

/* "QEVM" and file version 3. */
static inline void put_header(struct buf *b)
{
	buf_be32(b, MIG_FILE_MAGIC);
	buf_be32(b, MIG_FILE_VERSION);
}

/* The CONFIGURATION record without subsections. */
static inline void put_config(struct buf *b, const char *machine)
{
	buf_u8(b, MIG_REC_CONFIG);
	buf_be32(b, (uint32_t)strlen(machine));
	buf_put(b, machine, strlen(machine));
}

/* A subsection header: 0x05, str8 name, be32 version. */
static inline void put_subsection(struct buf *b, const char *name,
				  uint32_t version)
{
	buf_u8(b, MIG_REC_SUBSECTION);
	buf_str8(b, name);
	buf_be32(b, version);
}

static inline void put_cfg_page_bits(struct buf *b, uint32_t bits)
{
	put_subsection(b, "configuration/target-page-bits", 1);
	buf_be32(b, bits);
}

static inline void put_cfg_caps(struct buf *b, size_t n,
				const char *const *caps)
{
	put_subsection(b, "configuration/capabilities", 1);
	buf_be32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		buf_str8(b, caps[i]);
}

static inline void put_cfg_uuid(struct buf *b, const uint8_t uuid[16])
{
	put_subsection(b, "configuration/uuid", 1);
	buf_put(b, uuid, 16);
}

/* START or FULL header; the payload and footer follow. */
static inline void put_sec_head(struct buf *b, uint8_t type, uint32_t id,
				const char *name, uint32_t instance,
				uint32_t version)
{
	buf_u8(b, type);
	buf_be32(b, id);
	buf_str8(b, name);
	buf_be32(b, instance);
	buf_be32(b, version);
}

static inline void put_full(struct buf *b, uint32_t id, const char *name,
			    uint32_t instance, uint32_t version)
{
	put_sec_head(b, MIG_REC_FULL, id, name, instance, version);
}

static inline void put_start(struct buf *b, uint32_t id, const char *name,
			     uint32_t instance, uint32_t version)
{
	put_sec_head(b, MIG_REC_START, id, name, instance, version);
}

/* PART or END header. */
static inline void put_part(struct buf *b, uint8_t type, uint32_t id)
{
	buf_u8(b, type);
	buf_be32(b, id);
}

static inline void put_footer(struct buf *b, uint32_t id)
{
	buf_u8(b, MIG_REC_FOOTER);
	buf_be32(b, id);
}

static inline void put_cmd(struct buf *b, uint16_t cmd, uint16_t len,
			   const void *data)
{
	buf_u8(b, MIG_REC_COMMAND);
	buf_be16(b, cmd);
	buf_be16(b, len);
	buf_put(b, data, len);
}

static inline void put_eof(struct buf *b)
{
	buf_u8(b, MIG_REC_EOF);
}

/* The trailer after EOF: 0x06, be32 length, compact JSON of @vmdesc. */
static inline void put_vmdesc(struct buf *b, const json_t *vmdesc)
{
	char *text = json_dumps(vmdesc, JSON_COMPACT);

	if (!text)
		abort();
	buf_u8(b, MIG_REC_VMDESC);
	buf_be32(b, (uint32_t)strlen(text));
	buf_put(b, text, strlen(text));
	free(text);
}

/* ---- RAM records (FORMAT.md section 4) ---- */

#define T_RAM_ZERO 0x02u
#define T_RAM_MEM_SIZE 0x04u
#define T_RAM_PAGE 0x08u
#define T_RAM_EOS 0x10u
#define T_RAM_CONTINUE 0x20u
#define T_RAM_XBZRLE 0x40u
#define T_RAM_HOOK 0x80u
#define T_RAM_COMPRESS 0x100u
#define T_RAM_FLUSH 0x200u

static inline void put_ram_word(struct buf *b, uint64_t addr, unsigned flags)
{
	buf_be64(b, addr | flags);
}

/* MEM_SIZE record header; the block entries follow. */
static inline void put_ram_mem_size(struct buf *b, uint64_t total)
{
	put_ram_word(b, total, T_RAM_MEM_SIZE);
}

static inline void put_ram_block(struct buf *b, const char *name,
				 uint64_t length)
{
	buf_str8(b, name);
	buf_be64(b, length);
}

/* ZERO record; @block NULL means CONTINUE. */
static inline void put_ram_zero(struct buf *b, uint64_t addr,
				const char *block)
{
	put_ram_word(b, addr, T_RAM_ZERO | (block ? 0 : T_RAM_CONTINUE));
	if (block)
		buf_str8(b, block);
	buf_u8(b, 0);
}

/* PAGE record of @psize bytes of @fill; @block NULL means CONTINUE. */
static inline void put_ram_page(struct buf *b, uint64_t addr,
				const char *block, uint8_t fill, size_t psize)
{
	put_ram_word(b, addr, T_RAM_PAGE | (block ? 0 : T_RAM_CONTINUE));
	if (block)
		buf_str8(b, block);
	buf_fill(b, fill, psize);
}

static inline void put_ram_eos(struct buf *b)
{
	put_ram_word(b, 0, T_RAM_EOS);
}

/* ---- conveniences ---- */

/*
 * JSON from text written with single quotes, so test descriptions read
 * like the vmdesc they stand for.  NULL when the text is not JSON.
 */
static inline json_t *json_q(const char *text)
{
	char *t = strdup(text);
	json_error_t jerr;
	json_t *j;

	if (!t)
		abort();
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(t, 0, &jerr);
	if (!j)
		fprintf(stderr, "json_q: %s: %s\n", jerr.text, t);
	free(t);
	return j;
}

/* Parses @b as a whole stream from memory; the reader is freed again. */
static inline int parse_buf(const struct buf *b,
			    const struct mig_parse_opts *opts,
			    struct mig_stream **s, struct mig_error *err)
{
	struct mig_reader *r = NULL;
	int ret;

	ret = mig_reader_from_mem(&r, b->p, b->len, "test.mig", err);
	if (ret)
		return ret;
	ret = mig_stream_read(r, opts, s, err);
	mig_reader_free(r);
	return ret;
}

/* The @n-th record of @s (0-based), or NULL. */
static inline struct mig_record *nth_record(const struct mig_stream *s,
					    size_t n)
{
	struct mig_record *rec = s->records;

	while (rec && n--)
		rec = rec->next;
	return rec;
}

/* The first child of @n named @name, or NULL. */
static inline struct mig_node *child_named(const struct mig_node *n,
					   const char *name)
{
	for (struct mig_node *k = n->child; k; k = k->next)
		if (k->name && !strcmp(k->name, name))
			return k;
	return NULL;
}

/* The @i-th child of @n (0-based), or NULL. */
static inline struct mig_node *child_at(const struct mig_node *n, size_t i)
{
	struct mig_node *k = n->child;

	while (k && i--)
		k = k->next;
	return k;
}

#endif
