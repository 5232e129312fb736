/* SPDX-License-Identifier: MIT */
/*
 * The lossless document (`dump --lossless`): the parsed stream model, plus
 * the bytes the model does not keep, in a shape the encoder turns back
 * into the same bytes.
 *
 * Structure is given wherever it is certain to encode back exactly, and
 * raw bytes everywhere else:
 *
 *  - device sections decoded from the vmdesc become field trees; each one
 *    is encoded again on the spot and compared with the input, and kept
 *    as raw bytes if the two differ;
 *  - RAM chunks are split into their records (block list with its
 *    x-ignore-shared, postcopy and mapped-ram extras, ZERO and PAGE runs,
 *    XBZRLE, COMPRESS_PAGE, MULTIFD_FLUSH, EOS), each of which encodes
 *    back by construction; a chunk with anything else (an RDMA hook, a
 *    block list whose extras do not add up) is kept raw;
 *  - a record the parser failed in, and everything after it, is "rest".
 *
 * The model is built in one pass, then its bytes are looked at again by
 * offset: a pipe or a compressed input is made seekable first (spooled to
 * a temporary file by the reader).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "encoder.h"
#include "migstream/output.h"

/* RAM record flags (FORMAT.md 4.1). */
#define F_ZERO 0x02u
#define F_MEM_SIZE 0x04u
#define F_PAGE 0x08u
#define F_EOS 0x10u
#define F_CONTINUE 0x20u
#define F_XBZRLE 0x40u
#define F_COMPRESS 0x100u
#define F_FLUSH 0x200u

struct lctx {
	struct mig_reader *r;
	uint64_t start;		/* offset of the stream header */
	const struct mig_stream *s;
	struct mig_error *err;
	struct mig_writer *ram;	/* side file, or NULL for inline data */
	XXH64_state_t *hash;	/* of everything written to @ram */
	bool ignore_shared;
	bool mapped_ram;
};

static int nomem(struct lctx *c)
{
	return mig_error_set(c->err, MIG_ENOMEM, MIG_NO_OFFSET,
			     "out of memory");
}

/*
 * @len input bytes at absolute @off, valid until the next call on the
 * reader (seekable: mig_rd_make_seekable() was called).
 */
static int bytes_at(struct lctx *c, uint64_t off, uint64_t len,
		    const uint8_t **p)
{
	int ret;

	if (len > SIZE_MAX)
		return mig_error_set(c->err, MIG_ELIMIT, off,
				     "%" PRIu64 " bytes do not fit in memory",
				     len);
	ret = mig_rd_seek(c->r, off, c->err);
	if (!ret)
		ret = mig_rd_peek(c->r, (size_t)len, p, c->err);
	return ret;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);
	json_t *j;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	j = json_stringn_nocheck(s, 2 * n);
	free(s);
	return j;
}

static json_t *b64_json(const uint8_t *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = (n + 2) / 3 * 4;
	char *s = malloc(len + 1);
	size_t k = 0;
	json_t *j;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t x = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			x |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			x |= p[i + 2];
		s[k++] = tab[x >> 18 & 63];
		s[k++] = tab[x >> 12 & 63];
		s[k++] = i + 1 < n ? tab[x >> 6 & 63] : '=';
		s[k++] = i + 2 < n ? tab[x & 63] : '=';
	}
	j = json_stringn_nocheck(s, k);
	free(s);
	return j;
}

/* Appends @n bytes to the side file; *@at is where they start in it. */
static int side_write(struct lctx *c, const uint8_t *p, size_t n,
		      uint64_t *at)
{
	*at = mig_writer_offset(c->ram);
	XXH64_update(c->hash, p, n);
	return mig_writer_write(c->ram, p, n, c->err);
}

/*
 * Puts @n raw bytes into @o: "hex" when @hex_ok and short, else in the
 * side file ("file_offset" and "length") or inline ("base64").
 */
static int put_blob(struct lctx *c, json_t *o, const uint8_t *p, size_t n,
		    bool hex_ok)
{
	json_t *j;

	if (hex_ok && n <= MIG_LOSSLESS_HEX_MAX) {
		j = hex_json(p, n);
		if (!j || json_object_set_new(o, "hex", j))
			return nomem(c);
		return 0;
	}
	if (c->ram) {
		uint64_t at;
		int ret = side_write(c, p, n, &at);

		if (ret)
			return ret;
		if (json_object_set_new(o, "file_offset", mig_json_u64(at)) ||
		    json_object_set_new(o, "length", mig_json_u64(n)))
			return nomem(c);
		return 0;
	}
	j = b64_json(p, n);
	if (!j || json_object_set_new(o, "base64", j))
		return nomem(c);
	return 0;
}

/* Sets @key to a copy of the text @s when it is UTF-8; false otherwise. */
static bool set_text(json_t *o, const char *key, const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);

	return j && !json_object_set_new(o, key, j);
}

/* ------------------------------------------------------------------ */
/* Device sections                                                     */

static bool is_body_type(const char *type)
{
	return type && (!strcmp(type, "struct") || !strcmp(type, "tmp") ||
			!strcmp(type, "vstruct"));
}

static bool is_list_type(const char *type)
{
	return type && (!strcmp(type, "qtailq") || !strcmp(type, "qlist"));
}

static json_t *leaf_value(const struct mig_node *n)
{
	switch (n->vkind) {
	case MIG_VAL_UINT:
		return mig_json_u64(n->u);
	case MIG_VAL_INT:
		return json_integer(n->i);
	case MIG_VAL_BOOL:
		/* A byte other than 0 or 1 stays a number, so it survives. */
		if (n->nbytes == 1 && n->bytes[0] > 1)
			return json_integer(n->bytes[0]);
		return json_boolean(n->u);
	case MIG_VAL_STRING:
		return json_stringn((const char *)n->bytes, n->nbytes);
	case MIG_VAL_NULLPTR:
		return json_null();
	case MIG_VAL_BYTES:
		return hex_json(n->bytes, n->nbytes);
	case MIG_VAL_NONE:
		break;
	}
	return NULL;
}

static json_t *body_json(const struct mig_node *n);

/* One element of an array or list field whose type is body or list. */
static json_t *element_json(const struct mig_node *el, const char *type)
{
	json_t *o, *els;

	if (is_body_type(type))
		return body_json(el);
	o = json_object();
	els = json_array();
	if (!o || !els) {
		json_decref(o);
		json_decref(els);
		return NULL;
	}
	json_object_set_new(o, "elements", els);
	for (const struct mig_node *k = el->child; k; k = k->next)
		if (json_array_append_new(els, body_json(k))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static json_t *field_json(const struct mig_node *n)
{
	const char *type = n->type ? n->type : "unknown";
	bool structured = is_body_type(type) || is_list_type(type);
	json_t *o = json_object();
	bool ok;

	if (!o)
		return NULL;
	ok = set_text(o, "name", n->name, strlen(n->name)) &&
	     !json_object_set_new(o, "type", json_string(type));
	if (ok && n->index >= 0 && n->kind == MIG_NODE_FIELD)
		ok = !json_object_set_new(o, "index", json_integer(n->index));
	if (ok && n->vmsd)
		ok = set_text(o, "vmsd", n->vmsd, strlen(n->vmsd));
	if (ok && n->has_version)
		ok = !json_object_set_new(o, "version",
					  json_integer(n->version));
	if (!ok)
		goto out_free;
	/* An array: the vmdesc gave array_len (0 leaves no bytes at all). */
	if (n->array_len || n->size == 0) {
		json_t *vals = json_array();

		if (!vals || json_object_set_new(o, "array_len",
						 json_integer(n->array_len)))
			goto out_free_vals;
		if (!structured) {
			uint64_t size = n->child ? n->child->nbytes : 0;

			if (!strcmp(type, "capability") && n->child)
				size = n->child->size;
			if (json_object_set_new(o, "size", mig_json_u64(size)))
				goto out_free_vals;
		}
		for (const struct mig_node *k = n->child; k; k = k->next) {
			json_t *v = structured ? element_json(k, type)
					       : leaf_value(k);

			if (!v || json_array_append_new(vals, v))
				goto out_free_vals;
		}
		if (json_object_set_new(o, structured ? "elements" : "value",
					vals))
			goto out_free;
		return o;
out_free_vals:
		json_decref(vals);
		goto out_free;
	}
	if (is_list_type(type)) {
		json_t *el = element_json(n, type);
		json_t *els = el ? json_object_get(el, "elements") : NULL;

		ok = els && !json_object_set(o, "elements", els);
		json_decref(el);
	} else if (is_body_type(type)) {
		json_t *b = body_json(n);

		ok = b && !json_object_update(o, b);
		json_decref(b);
	} else {
		json_t *v = leaf_value(n);

		ok = v &&
		     !json_object_set_new(o, "size",
					  mig_json_u64(!strcmp(type, "capability")
						       ? n->size : n->nbytes)) &&
		     !json_object_set_new(o, "value", v);
	}
	if (ok)
		return o;
out_free:
	json_decref(o);
	return NULL;
}

static json_t *subsection_json(const struct mig_node *n)
{
	json_t *o = json_object();
	json_t *b = body_json(n);

	if (!o || !b || !set_text(o, "name", n->name, strlen(n->name)) ||
	    json_object_set_new(o, "version", json_integer(n->version)) ||
	    json_object_update(o, b)) {
		json_decref(o);
		json_decref(b);
		return NULL;
	}
	json_decref(b);
	return o;
}

/* {"fields": [...], "subsections": [...]} of a section, struct, subsection. */
static json_t *body_json(const struct mig_node *n)
{
	json_t *o = json_object();
	json_t *fields = json_array();
	json_t *subs = json_array();

	if (!o || !fields || !subs)
		goto out_free;
	for (const struct mig_node *k = n->child; k; k = k->next) {
		json_t *j = k->kind == MIG_NODE_SUBSECTION ? subsection_json(k)
							   : field_json(k);

		if (!j || json_array_append_new(k->kind == MIG_NODE_SUBSECTION
						? subs : fields, j))
			goto out_free;
	}
	if (json_object_set_new(o, "fields", fields))
		goto out_free_subs;
	if (json_array_size(subs)) {
		if (json_object_set_new(o, "subsections", subs))
			goto out_free_o;
	} else {
		json_decref(subs);
	}
	return o;
out_free:
	json_decref(fields);
out_free_subs:
	json_decref(subs);
out_free_o:
	json_decref(o);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* RAM                                                                 */

/* A run of ZERO or PAGE records at consecutive pages, being collected. */
struct run {
	unsigned kind;		/* F_ZERO, F_PAGE, or 0 for none */
	const char *block;	/* named in the first record, else NULL */
	size_t block_len;
	uint64_t addr;
	uint64_t count;
	uint8_t fill;
	uint64_t file_off;	/* side file: where the run's data starts */
	uint8_t *buf;		/* inline: the run's data */
	size_t len;
	size_t cap;
};

static const struct mig_ram_block *find_block(const struct mig_stream *s,
					      const char *name)
{
	for (size_t i = 0; i < s->nram_blocks; i++)
		if (!strcmp(s->ram_blocks[i].name, name))
			return &s->ram_blocks[i];
	return NULL;
}

/* Starts a record object: type, block (when named) and addr. */
static json_t *ram_obj(const char *type, const char *block, size_t block_len,
		       uint64_t addr)
{
	json_t *o = json_object();

	if (!o || json_object_set_new(o, "type", json_string(type)))
		goto out_free;
	if (block && !set_text(o, "block", block, block_len))
		goto out_free;
	if (json_object_set_new(o, "addr", mig_json_u64(addr)))
		goto out_free;
	return o;
out_free:
	json_decref(o);
	return NULL;
}

/* Appends the run being collected to @list.  0, or -1 (out of memory). */
static int flush_run(struct lctx *c, struct run *run, json_t *list)
{
	json_t *o;
	bool ok;

	if (!run->kind)
		return 0;
	o = ram_obj(run->kind == F_ZERO ? "zero" : "page", run->block,
		    run->block_len, run->addr);
	ok = o != NULL;
	if (ok && run->count > 1)
		ok = !json_object_set_new(o, "count", mig_json_u64(run->count));
	if (ok && run->kind == F_ZERO && run->fill)
		ok = !json_object_set_new(o, "fill", json_integer(run->fill));
	if (ok && run->kind == F_PAGE) {
		if (c->ram) {
			ok = !json_object_set_new(o, "file_offset",
						  mig_json_u64(run->file_off));
		} else {
			json_t *d = b64_json(run->buf, run->len);

			ok = d && !json_object_set_new(o, "base64", d);
		}
	}
	if (!ok || json_array_append_new(list, o)) {
		if (ok)
			o = NULL;
		json_decref(o);
		return -1;
	}
	run->kind = 0;
	run->len = 0;
	return 0;
}

/*
 * A cursor over [its position, @end) of the input: the RAM tokenizer reads
 * the input itself (not a copy), moving forward, so a mapped file gives
 * back the pages it has passed; no read goes past @end.  Failures are not
 * errors here: they mean "keep the chunk raw".
 */
struct cur {
	struct mig_reader *r;
	uint64_t end;
};

static bool cur_has(struct cur *k, uint64_t n)
{
	return n <= k->end - mig_rd_offset(k->r);
}

static bool cur_u8(struct cur *k, uint8_t *v)
{
	return cur_has(k, 1) && !mig_rd_u8(k->r, v, NULL);
}

static bool cur_be16(struct cur *k, uint16_t *v)
{
	return cur_has(k, 2) && !mig_rd_be16(k->r, v, NULL);
}

static bool cur_be32(struct cur *k, uint32_t *v)
{
	return cur_has(k, 4) && !mig_rd_be32(k->r, v, NULL);
}

static bool cur_be64(struct cur *k, uint64_t *v)
{
	return cur_has(k, 8) && !mig_rd_be64(k->r, v, NULL);
}

/* @n bytes at *@p (valid until the next read); the cursor moves past. */
static bool cur_take(struct cur *k, uint64_t n, const uint8_t **p)
{
	return cur_has(k, n) && n <= SIZE_MAX &&
	       !mig_rd_peek(k->r, (size_t)n, p, NULL) &&
	       !mig_rd_skip(k->r, n, NULL);
}

/*
 * Reads a str8 name into @name; false when absent, empty or not printable
 * text (such a chunk or record is kept as raw bytes instead).
 */
static bool cur_name(struct cur *k, char name[256])
{
	const uint8_t *p;
	uint8_t n;

	if (!cur_u8(k, &n) || !n || !cur_take(k, n, &p))
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
	memcpy(name, p, n);
	name[n] = '\0';
	return true;
}

/* Same for a memory reader (the configuration record). */
static bool rd_name(struct mig_reader *rd, char name[256])
{
	if (mig_rd_str8(rd, name, NULL) || !name[0])
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return false;
	return true;
}

/*
 * Puts the @len input bytes at absolute @off into @o, as put_blob() does,
 * but reads them in steps when they go to the side file, so a raw chunk of
 * any size passes through bounded memory.  Leaves the cursor anywhere.
 */
static int put_input(struct lctx *c, json_t *o, uint64_t off, uint64_t len,
		     bool hex_ok)
{
	const uint8_t *p;
	uint64_t first = 0, done = 0;
	int ret;

	if (!c->ram || (hex_ok && len <= MIG_LOSSLESS_HEX_MAX)) {
		ret = bytes_at(c, off, len, &p);
		return ret ? ret : put_blob(c, o, p, (size_t)len, hex_ok);
	}
	first = mig_writer_offset(c->ram);
	ret = mig_rd_seek(c->r, off, c->err);
	while (!ret && done < len) {
		size_t step = len - done < (1u << 20) ? (size_t)(len - done)
						      : (1u << 20);
		uint64_t at;

		ret = mig_rd_peek(c->r, step, &p, c->err);
		if (!ret)
			ret = side_write(c, p, step, &at);
		if (!ret)
			ret = mig_rd_skip(c->r, step, c->err);
		done += step;
	}
	if (ret)
		return ret;
	if (json_object_set_new(o, "file_offset", mig_json_u64(first)) ||
	    json_object_set_new(o, "length", mig_json_u64(len)))
		return nomem(c);
	return 0;
}

/*
 * The mapped-ram header after a block list entry (FORMAT.md 4.9), and the
 * bytes up to the end of the block's page array (its bitmap, padding and
 * pages, at the absolute offsets the header gives), into "mapped_ram" of
 * @bo.  1 when they do not line up (the chunk is kept raw).
 */
static int mapped_block(struct lctx *c, struct cur *k, uint64_t len,
			json_t *bo)
{
	json_t *mr = json_object();
	uint64_t ps, boff, poff, here, end;
	uint32_t version;
	int ret;

	if (!mr || json_object_set_new(bo, "mapped_ram", mr))
		return nomem(c);
	if (!cur_be32(k, &version) || !cur_be64(k, &ps) ||
	    !cur_be64(k, &boff) || !cur_be64(k, &poff))
		return 1;
	if (json_object_set_new(mr, "version", json_integer(version)) ||
	    json_object_set_new(mr, "page_size", mig_json_u64(ps)) ||
	    json_object_set_new(mr, "bitmap_offset", mig_json_u64(boff)) ||
	    json_object_set_new(mr, "pages_offset", mig_json_u64(poff)))
		return nomem(c);
	/* A block x-ignore-shared leaves out has neither. */
	if (!boff && !poff)
		return 0;
	here = mig_rd_offset(k->r);
	if (poff > UINT64_MAX - len)
		return 1;
	end = poff + len;
	if (end < here || !cur_has(k, end - here))
		return 1;
	ret = put_input(c, mr, here, end - here, false);
	if (!ret)
		ret = mig_rd_seek(k->r, end, c->err);
	return ret;
}

/*
 * Splits the RAM chunk that is the payload of @rec (ending with EOS) into
 * records in @list.  Returns 0, 1 when the chunk has something the
 * document cannot give structure to (the caller keeps it raw), or a
 * negative error.
 */
static int ram_records(struct lctx *c, const struct mig_record *rec,
		       json_t *list)
{
	const uint64_t ps = c->s->page_size;
	struct cur k = {
		.r = c->r,
		.end = rec->payload_offset + rec->payload_size,
	};
	struct run run = { 0 };
	char names[2][256];
	int which = 0;
	int ret;

	ret = mig_rd_seek(c->r, rec->payload_offset, c->err);
	if (ret)
		return ret;
	ret = 1;
	for (;;) {
		uint64_t word, addr;
		unsigned flags, base;
		bool cont;
		char *name = names[which];
		json_t *o = NULL;

		if (!cur_be64(&k, &word))
			goto out;
		flags = (unsigned)(word & (ps - 1));
		addr = word & ~(ps - 1);
		base = flags & ~F_CONTINUE;
		cont = flags & F_CONTINUE;
		name[0] = '\0';

		if (base == F_ZERO || base == F_PAGE) {
			const uint8_t *data = NULL;
			uint8_t fill = 0;

			if (!cont && !cur_name(&k, name))
				goto out;
			if (base == F_ZERO ? !cur_u8(&k, &fill)
					   : !cur_take(&k, ps, &data))
				goto out;
			if (!(run.kind == base && cont &&
			      addr == run.addr + run.count * ps &&
			      fill == run.fill)) {
				if (flush_run(c, &run, list))
					goto out_nomem;
				run.kind = base;
				run.block = cont ? NULL : name;
				run.block_len = strlen(name);
				run.addr = addr;
				run.count = 0;
				run.fill = fill;
				run.file_off = c->ram ? mig_writer_offset(c->ram)
						      : 0;
				/* The run keeps pointing at this name. */
				which ^= !cont;
			}
			run.count++;
			if (base == F_PAGE && c->ram) {
				uint64_t at;

				ret = side_write(c, data, (size_t)ps, &at);
				if (ret)
					goto out;
				ret = 1;
			} else if (base == F_PAGE) {
				if ((size_t)ps > run.cap - run.len) {
					size_t ncap = run.cap ? run.cap * 2
							      : 64 * ps;
					uint8_t *b = realloc(run.buf, ncap);

					if (!b)
						goto out_nomem;
					run.buf = b;
					run.cap = ncap;
				}
				memcpy(run.buf + run.len, data, (size_t)ps);
				run.len += (size_t)ps;
			}
			continue;
		}
		if (flush_run(c, &run, list))
			goto out_nomem;
		if (base == F_MEM_SIZE) {
			json_t *blocks;
			uint64_t left = addr;

			if (cont || !left)
				goto out;
			o = json_object();
			blocks = json_array();
			if (!o || !blocks ||
			    json_object_set_new(o, "type",
						json_string("mem_size")) ||
			    json_object_set_new(o, "blocks", blocks))
				goto out_nomem_o;
			while (left) {
				const struct mig_ram_block *b;
				json_t *bo;
				uint64_t len, v;

				if (!cur_name(&k, name) || !cur_be64(&k, &len) ||
				    !len || len > left || len & (ps - 1))
					goto out_o;
				bo = json_object();
				if (!bo || json_array_append_new(blocks, bo) ||
				    !set_text(bo, "name", name, strlen(name)) ||
				    json_object_set_new(bo, "length",
							mig_json_u64(len)))
					goto out_nomem_o;
				b = find_block(c->s, name);
				if (b && b->page_size) {
					if (!cur_be64(&k, &v))
						goto out_o;
					if (json_object_set_new(bo, "page_size",
								mig_json_u64(v)))
						goto out_nomem_o;
				}
				if (c->ignore_shared) {
					if (!cur_be64(&k, &v))
						goto out_o;
					if (json_object_set_new(bo, "addr",
								mig_json_u64(v)))
						goto out_nomem_o;
				}
				if (c->mapped_ram) {
					ret = mapped_block(c, &k, len, bo);
					if (ret)
						goto out_o;
					ret = 1;
				}
				left -= len;
			}
		} else if (base == F_XBZRLE || base == F_COMPRESS) {
			const uint8_t *data;
			uint8_t enc;
			uint16_t len16;
			uint32_t len;

			if (!cont && !cur_name(&k, name))
				goto out;
			if (base == F_XBZRLE) {
				if (!cur_u8(&k, &enc) || enc != 1 ||
				    !cur_be16(&k, &len16) || len16 > ps)
					goto out;
				len = len16;
			} else if (!cur_be32(&k, &len)) {
				goto out;
			}
			if (!cur_take(&k, len, &data))
				goto out;
			o = ram_obj(base == F_XBZRLE ? "xbzrle" : "compressed",
				    cont ? NULL : name, strlen(name), addr);
			if (!o)
				goto out_nomem;
			ret = put_blob(c, o, data, len, len <= 64);
			if (ret)
				goto out_o;
			ret = 1;
		} else if (base == F_FLUSH || base == F_EOS) {
			if (cont || addr)
				goto out;
			o = json_object();
			if (!o || json_object_set_new(o, "type",
						      json_string(base == F_EOS
								  ? "eos"
								  : "flush")))
				goto out_nomem_o;
		} else {
			/* HOOK, FULL, combinations: nothing to give shape to. */
			goto out;
		}
		if (json_array_append_new(list, o)) {
			o = NULL;
			goto out_nomem;
		}
		if (base == F_EOS) {
			/* EOS ends the chunk, exactly at its end. */
			ret = mig_rd_offset(c->r) == k.end ? 0 : 1;
			goto out;
		}
		continue;
out_nomem_o:
		json_decref(o);
		goto out_nomem;
out_o:
		json_decref(o);
		goto out;
	}
out_nomem:
	ret = nomem(c);
out:
	free(run.buf);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Records                                                             */

static const char *rec_key(enum mig_rec_type t)
{
	switch (t) {
	case MIG_REC_START:
		return "start";
	case MIG_REC_PART:
		return "part";
	case MIG_REC_END:
		return "end";
	case MIG_REC_FULL:
		return "full";
	case MIG_REC_COMMAND:
		return "command";
	case MIG_REC_EOF:
		return "eof";
	default:
		return "unknown";
	}
}

/* Keeps a section's payload as raw bytes, saying why. */
static int raw_payload(struct lctx *c, json_t *o, const struct mig_record *rec,
		       const char *kind, const char *why)
{
	if (json_object_set_new(o, "kind", json_string(kind)) ||
	    json_object_set_new(o, "undecoded", json_string(why)))
		return nomem(c);
	return put_input(c, o, rec->payload_offset, rec->payload_size,
			 strcmp(kind, "raw") != 0);
}

/* Does @o encode back to the bytes of @rec? */
static int same_bytes(struct lctx *c, const json_t *o,
		      const struct mig_record *rec, bool *same)
{
	struct mig_writer *w = NULL;
	struct mig_error e2;
	const uint8_t *enc, *orig;
	size_t len;
	int ret;

	*same = false;
	ret = mig_writer_mem(&w, c->err);
	if (ret)
		return ret;
	if (encode_record(o, c->s->page_size, c->s->footers, w, &e2) == 0) {
		enc = mig_writer_mem_data(w, &len);
		ret = bytes_at(c, rec->offset, rec->size, &orig);
		*same = !ret && len == rec->size && !memcmp(enc, orig, len);
	}
	mig_writer_abort(w);
	return ret;
}

static int section_json(struct lctx *c, const struct mig_record *rec,
			json_t *o)
{
	const char *why = NULL;
	json_t *list;
	int ret;

	if (json_object_set_new(o, "section_id",
				json_integer(rec->section_id)) ||
	    !set_text(o, "name", rec->name, strlen(rec->name)) ||
	    json_object_set_new(o, "instance", json_integer(rec->instance)) ||
	    json_object_set_new(o, "version", json_integer(rec->version)))
		return nomem(c);
	if (rec->has_footer != c->s->footers &&
	    json_object_set_new(o, "footer", json_boolean(rec->has_footer)))
		return nomem(c);

	switch (rec->kind) {
	case MIG_SEC_VMSTATE:
	case MIG_SEC_LEGACY: {
		json_t *b;
		bool same;

		if (!rec->tree)
			break;
		b = body_json(rec->tree);
		if (!b) {
			/* A value JSON cannot hold as text (a capability
			 * that is not UTF-8), or out of memory. */
			why = "its fields cannot all be written as JSON text";
			break;
		}
		if (json_object_set_new(o, "kind", json_string(
			    rec->kind == MIG_SEC_LEGACY ? "legacy" : "vmstate")) ||
		    (rec->vmsd && !set_text(o, "vmsd", rec->vmsd,
					    strlen(rec->vmsd))) ||
		    json_object_update(o, b)) {
			json_decref(b);
			return nomem(c);
		}
		json_decref(b);
		ret = same_bytes(c, o, rec, &same);
		if (ret)
			return ret;
		if (same)
			return 0;
		/* Should not happen: a tree that does not give its bytes
		 * back.  Keep the bytes, never a wrong structure. */
		json_object_del(o, "kind");
		json_object_del(o, "vmsd");
		json_object_del(o, "fields");
		json_object_del(o, "subsections");
		why = "its decoded fields do not encode back to the same bytes";
		break;
	}
	case MIG_SEC_RAM: {
		list = json_array();
		if (!list)
			return nomem(c);
		ret = ram_records(c, rec, list);
		if (ret < 0) {
			json_decref(list);
			return ret;
		}
		if (ret == 0) {
			if (json_object_set_new(o, "kind", json_string("ram")) ||
			    json_object_set_new(o, "ram", list))
				return nomem(c);
			return 0;
		}
		json_decref(list);
		return raw_payload(c, o, rec, "raw",
				   "RAM records this version cannot give structure to");
	}
	case MIG_SEC_UNDECODED:
		break;
	}
	return raw_payload(c, o, rec, why ? "raw" : "undecoded",
			   why ? why : rec->undecoded ? rec->undecoded
						       : "not decoded");
}

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/*
 * Appends to @out the records from *@it on that start before @limit,
 * nesting those inside PACKAGED blobs.  Leaves *@it at the first record
 * not taken.
 */
static int records_json(struct lctx *c, const struct mig_record **it,
			uint64_t limit, json_t *out)
{
	int ret;

	while (*it && (*it)->offset < limit) {
		const struct mig_record *rec = *it;
		json_t *o = json_object();

		*it = rec->next;
		if (!o || json_array_append_new(out, o) ||
		    json_object_set_new(o, "record",
					json_string(rec_key(rec->type))))
			return nomem(c);
		switch (rec->type) {
		case MIG_REC_START:
		case MIG_REC_PART:
		case MIG_REC_END:
		case MIG_REC_FULL:
			ret = section_json(c, rec, o);
			if (ret)
				return ret;
			break;
		case MIG_REC_COMMAND: {
			const char *name = mig_cmd_name(rec->cmd);

			if ((name && json_object_set_new(o, "command",
							 json_string(name))) ||
			    json_object_set_new(o, "id", json_integer(rec->cmd)))
				return nomem(c);
			if (rec->cmd == MIG_CMD_PACKAGED && rec->cmd_len == 4) {
				uint64_t blob = rec->offset + 9;
				json_t *nested = json_array();

				if (!nested ||
				    json_object_set_new(o, "records", nested))
					return nomem(c);
				ret = records_json(c, it, blob +
						   be32_at(rec->cmd_data),
						   nested);
				if (ret)
					return ret;
			} else if (rec->cmd_len) {
				ret = put_blob(c, o, rec->cmd_data,
					       rec->cmd_len, true);
				if (ret)
					return ret;
			}
			break;
		}
		default:
			break;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Configuration and the document                                      */

/*
 * The configuration record (@n bytes at @p) as machine and subsections,
 * or NULL when it has something else or does not encode back.
 */
static json_t *config_json(const uint8_t *p, size_t n)
{
	struct mig_reader *rd = NULL;
	struct mig_writer *w = NULL;
	json_t *o = json_object(), *subs = json_array();
	const uint8_t *m, *enc;
	uint32_t len;
	uint8_t type;
	size_t elen;
	bool ok = false;

	if (!o || !subs) {
		json_decref(subs);
		goto out;
	}
	if (mig_reader_from_mem(&rd, p, n, "configuration", NULL) ||
	    mig_rd_u8(rd, &type, NULL) || type != MIG_REC_CONFIG ||
	    mig_rd_be32(rd, &len, NULL) || mig_rd_peek(rd, len, &m, NULL) ||
	    !set_text(o, "machine", (const char *)m, len) ||
	    mig_rd_skip(rd, len, NULL) ||
	    json_object_set_new(o, "subsections", subs)) {
		if (!json_object_get(o, "subsections"))
			json_decref(subs);
		goto out;
	}
	while (!mig_rd_at_end(rd)) {
		char name[256];
		uint32_t version, v;
		json_t *sub = json_object();

		if (!sub || json_array_append_new(subs, sub) ||
		    mig_rd_u8(rd, &type, NULL) ||
		    type != MIG_REC_SUBSECTION || !rd_name(rd, name) ||
		    mig_rd_be32(rd, &version, NULL) ||
		    !set_text(sub, "name", name, strlen(name)) ||
		    json_object_set_new(sub, "version", json_integer(version)))
			goto out;
		if (!strcmp(name, "configuration/target-page-bits")) {
			if (mig_rd_be32(rd, &v, NULL) ||
			    json_object_set_new(sub, "target_page_bits",
						json_integer(v)))
				goto out;
		} else if (!strcmp(name, "configuration/capabilities")) {
			json_t *caps = json_array();

			if (!caps || json_object_set_new(sub, "capabilities",
							 caps) ||
			    mig_rd_be32(rd, &v, NULL) || v > 255)
				goto out;
			for (uint32_t i = 0; i < v; i++) {
				char cap[256];

				if (!rd_name(rd, cap) ||
				    json_array_append_new(caps,
							  json_string(cap)))
					goto out;
			}
		} else if (!strcmp(name, "configuration/uuid")) {
			const uint8_t *u;

			if (mig_rd_peek(rd, 16, &u, NULL) ||
			    json_object_set_new(sub, "uuid", hex_json(u, 16)) ||
			    mig_rd_skip(rd, 16, NULL))
				goto out;
		} else {
			goto out;
		}
	}
	/* Only if it gives the same bytes back. */
	if (mig_writer_mem(&w, NULL) || encode_config(o, w, NULL))
		goto out;
	enc = mig_writer_mem_data(w, &elen);
	ok = elen == n && !memcmp(enc, p, n);
out:
	mig_writer_abort(w);
	mig_reader_free(rd);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Where the structured part of a stream read with an error ends. */
static uint64_t cut_offset(const struct mig_stream *s, uint64_t start)
{
	const struct mig_record *last = s->last;
	uint64_t cut;

	if (!last)
		return s->has_config ? s->config_offset : start + 8;
	cut = last->offset;
	/* A record inside a PACKAGED blob: cut at the command. */
	for (const struct mig_record *r = s->records; r && r != last;
	     r = r->next) {
		if (r->type == MIG_REC_COMMAND && r->cmd == MIG_CMD_PACKAGED &&
		    r->cmd_len == 4 && last->offset > r->offset &&
		    last->offset - (r->offset + 9) < be32_at(r->cmd_data))
			return r->offset;
	}
	return cut;
}

/*
 * "caps": the capabilities the caller gave the parser (--cap), so that
 * encode can read its output back the same way.  Nonzero when out of
 * memory.
 */
static int set_caps(json_t *doc, const struct mig_parse_opts *po)
{
	json_t *a;

	if (!po || !po->ncaps)
		return 0;
	a = json_array();
	if (!a || json_object_set_new(doc, "caps", a))
		return -1;
	for (size_t i = 0; i < po->ncaps; i++)
		if (json_array_append_new(a, json_string(po->caps[i])))
			return -1;
	return 0;
}

int mig_lossless_dump(struct mig_reader *r,
		      const struct mig_lossless_opts *opts, json_t **out,
		      struct mig_error *err)
{
	struct mig_error local, perr;
	struct lctx c = {
		.r = r,
		.err = err ? err : &local,
		.ram = opts ? opts->ram : NULL,
	};
	struct mig_stream *s = NULL;
	const struct mig_record *it;
	json_t *doc = NULL, *recs;
	uint64_t cut, end, conf_end;
	const uint8_t *p;
	int pret, ret;

	*out = NULL;
	mig_error_clear(c.err);
	mig_error_clear(&perr);
	/* A pipe or a decompressed input goes to a temporary file first. */
	ret = mig_rd_make_seekable(r, c.err);
	if (ret)
		return ret;
	c.start = mig_rd_offset(r);
	end = mig_rd_size(r);
	pret = mig_stream_read(r, opts ? opts->parse : NULL, &s, &perr);
	if (!s || s->file_version != MIG_FILE_VERSION) {
		*c.err = perr;
		mig_stream_free(s);
		return pret ? pret : -MIG_EINVAL;
	}
	c.s = s;
	for (size_t i = 0; i < s->ncaps; i++) {
		c.ignore_shared |= !strcmp(s->caps[i], "x-ignore-shared");
		c.mapped_ram |= !strcmp(s->caps[i], "mapped-ram");
	}
	if (c.ram) {
		c.hash = XXH64_createState();
		if (!c.hash || XXH64_reset(c.hash, 0) != XXH_OK) {
			ret = nomem(&c);
			goto out;
		}
	}
	cut = pret ? cut_offset(s, c.start) : end;

	doc = json_object();
	recs = json_array();
	if (!doc || !recs ||
	    json_object_set_new(doc, "migstream_lossless",
				json_integer(MIG_LOSSLESS_FORMAT_VERSION)) ||
	    !set_text(doc, "file", s->name, strlen(s->name)) ||
	    json_object_set_new(doc, "size", mig_json_u64(end - c.start)) ||
	    json_object_set_new(doc, "complete", json_boolean(!pret))) {
		json_decref(recs);
		ret = nomem(&c);
		goto out;
	}
	if (pret) {
		char msg[MIG_PATH_MAX + MIG_MSG_MAX + 64];

		mig_error_format(&perr, NULL, msg, sizeof(msg));
		if (!set_text(doc, "error", msg, strlen(msg))) {
			json_decref(recs);
			ret = nomem(&c);
			goto out;
		}
	}
	if (json_object_set_new(doc, "page_size", mig_json_u64(s->page_size)) ||
	    json_object_set_new(doc, "file_version",
				json_integer(s->file_version)) ||
	    json_object_set_new(doc, "footers", json_boolean(s->footers)) ||
	    set_caps(doc, opts ? opts->parse : NULL) ||
	    json_object_set_new(doc, "ram_file", json_null()) ||
	    json_object_set_new(doc, "configuration", json_null()) ||
	    json_object_set_new(doc, "records", recs) ||
	    json_object_set_new(doc, "vmdesc", json_null()) ||
	    json_object_set_new(doc, "rest", json_null())) {
		ret = nomem(&c);
		goto out;
	}

	/* The configuration: from its 0x07 to the first record. */
	conf_end = s->records ? s->records->offset : cut;
	if (s->has_config && s->config_offset < cut && conf_end <= cut) {
		json_t *conf;

		ret = bytes_at(&c, s->config_offset, conf_end - s->config_offset,
			       &p);
		if (ret)
			goto out;
		conf = config_json(p, (size_t)(conf_end - s->config_offset));
		if (!conf) {
			conf = json_object();
			if (!conf || json_object_set_new(doc, "configuration",
							 conf)) {
				ret = nomem(&c);
				goto out;
			}
			ret = bytes_at(&c, s->config_offset,
				       conf_end - s->config_offset, &p);
			if (!ret)
				ret = put_blob(&c, conf, p,
					       (size_t)(conf_end - s->config_offset),
					       true);
			if (ret)
				goto out;
		} else if (json_object_set_new(doc, "configuration", conf)) {
			ret = nomem(&c);
			goto out;
		}
	}

	it = s->records;
	ret = records_json(&c, &it, cut, recs);
	if (ret)
		goto out;

	if (!pret && s->has_vmdesc) {
		json_t *vd = json_object();

		if (!vd || json_object_set_new(doc, "vmdesc", vd)) {
			ret = nomem(&c);
			goto out;
		}
		ret = bytes_at(&c, s->vmdesc_offset + 5, s->vmdesc_size, &p);
		if (ret)
			goto out;
		if (!set_text(vd, "text", (const char *)p, (size_t)s->vmdesc_size))
			ret = put_blob(&c, vd, p, (size_t)s->vmdesc_size, true);
		if (ret)
			goto out;
	}
	if (pret) {
		json_t *rest = json_object();

		if (!rest || json_object_set_new(doc, "rest", rest) ||
		    json_object_set_new(rest, "offset",
					mig_json_u64(cut - c.start)) ||
		    !set_text(rest, "reason", perr.msg, strlen(perr.msg))) {
			ret = nomem(&c);
			goto out;
		}
		ret = put_input(&c, rest, cut, end - cut, true);
		if (ret)
			goto out;
	}
	if (c.ram) {
		json_t *rf = json_object();
		char h[17];

		snprintf(h, sizeof(h), "%016llx",
			 (unsigned long long)XXH64_digest(c.hash));
		if (!rf || json_object_set_new(doc, "ram_file", rf) ||
		    !set_text(rf, "path", opts->ram_path ? opts->ram_path : "",
			      strlen(opts->ram_path ? opts->ram_path : "")) ||
		    json_object_set_new(rf, "size",
					mig_json_u64(mig_writer_offset(c.ram))) ||
		    json_object_set_new(rf, "xxh64", json_string(h))) {
			ret = nomem(&c);
			goto out;
		}
	}
	ret = 0;
out:
	if (c.hash)
		XXH64_freeState(c.hash);
	mig_stream_free(s);
	if (ret) {
		json_decref(doc);
		return ret;
	}
	if (pret)
		*c.err = perr;
	*out = doc;
	return pret;
}
