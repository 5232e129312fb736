/* SPDX-License-Identifier: MIT */
/*
 * The encoder: a lossless document (lossless.c, migstream-encode(1)) back
 * to stream bytes.  Every key the wire needs is checked before it is
 * written (types, ranges, lengths), and the first problem is reported
 * with the path of what was being written, so an edited document either
 * becomes a well-formed stream or an error that names the field.
 *
 * Lengths the wire carries but the document leaves implicit are computed
 * here: the MEM_SIZE total (the sum of the block lengths), command
 * lengths, the PACKAGED blob length (from its encoded records), the
 * vmdesc length.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "encoder.h"
#include "migstream/input.h"
#include "migstream/vmdesc.h"

/* Section payloads may nest structs and subsections this deep. */
#define ENC_DEPTH_MAX (4 * MIG_DEPTH_MAX)
/* Largest PACKAGED blob QEMU accepts (be32 length). */
#define PACKAGED_MAX 0xffffffffu
/* Side file bytes copied per step. */
/* 128 KiB: measured 2-3x faster than 1 MiB writes into the page cache
 * on the bench machine (the buffer stays in L2; bench/README.md). */
#define COPY_CHUNK (128u << 10)

/* RAM record flags (FORMAT.md 4.1). */
#define F_ZERO 0x02u
#define F_MEM_SIZE 0x04u
#define F_PAGE 0x08u
#define F_EOS 0x10u
#define F_CONTINUE 0x20u
#define F_XBZRLE 0x40u
#define F_COMPRESS 0x100u
#define F_FLUSH 0x200u

struct enc {
	struct mig_writer *w;
	struct mig_error *err;
	uint64_t page_size;
	bool footers;
	const json_t *ram_file;		/* the document's "ram_file" */
	const char *ram_path;		/* caller's override */
	const char *doc_dir;
	struct mig_reader *ram;		/* opened on first use */
	bool in_packaged;		/* encoding a PACKAGED blob */
	char path[MIG_PATH_MAX];	/* where we are, for messages */
	size_t plen;
};

/* ------------------------------------------------------------------ */
/* Errors and the path                                                 */

static int fail(struct enc *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct enc *e, int code, const char *fmt, ...)
{
	char msg[MIG_MSG_MAX];
	va_list ap;

	if (!e->err || e->err->code)
		return -code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mig_error_set(e->err, code, MIG_NO_OFFSET, "%s", msg);
	snprintf(e->err->path, sizeof(e->err->path), "%s", e->path);
	return -code;
}

/* A callee's error (writer, reader, value) gets the current path. */
static int with_path(struct enc *e, int ret)
{
	if (ret && e->err && e->err->code && !e->err->path[0])
		snprintf(e->err->path, sizeof(e->err->path), "%s", e->path);
	return ret;
}

/* Appends to the path; returns the length to restore with path_pop. */
static size_t path_push(struct enc *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static size_t path_push(struct enc *e, const char *fmt, ...)
{
	size_t old = e->plen;
	va_list ap;
	int n;

	if (e->plen < sizeof(e->path) - 1) {
		va_start(ap, fmt);
		n = vsnprintf(e->path + e->plen, sizeof(e->path) - e->plen,
			      fmt, ap);
		va_end(ap);
		if (n > 0)
			e->plen += (size_t)n < sizeof(e->path) - e->plen
				? (size_t)n : sizeof(e->path) - e->plen - 1;
	}
	return old;
}

static void path_pop(struct enc *e, size_t old)
{
	e->plen = old;
	e->path[old] = '\0';
}

static const char *jtype(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "something else";
}

/* ------------------------------------------------------------------ */
/* Text to numbers and bytes                                           */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * "0x..." (any number of digits, value up to 64 bits) or decimal digits
 * with an optional minus sign.  Sets *@neg for a negative decimal, whose
 * magnitude goes to *@v.  False when the text is neither.
 */
static bool parse_int_text(const char *s, uint64_t *v, bool *neg, bool *hex)
{
	uint64_t x = 0;

	*neg = false;
	*hex = false;
	if ((s[0] == '0') && (s[1] == 'x' || s[1] == 'X')) {
		const char *p = s + 2;

		*hex = true;
		if (!*p)
			return false;
		for (; *p; p++) {
			int d = hexval((unsigned char)*p);

			if (d < 0 || x >> 60)
				return false;
			x = x << 4 | (uint64_t)d;
		}
		*v = x;
		return true;
	}
	if (*s == '-') {
		*neg = true;
		s++;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	return true;
}

/* Decodes hex text of exactly 2 * @n digits into @out. */
static bool hex_decode(const char *s, size_t slen, uint8_t *out, size_t n)
{
	if (slen != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval((unsigned char)s[2 * i]);
		int lo = hexval((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 with padding; *@out is malloc'd.  False when malformed. */
static bool b64_decode(const char *s, size_t slen, uint8_t **out, size_t *n)
{
	size_t pad = 0, len;
	uint8_t *p;
	size_t k = 0;

	if (slen % 4)
		return false;
	if (slen && s[slen - 1] == '=')
		pad++;
	if (slen > 1 && s[slen - 2] == '=')
		pad++;
	len = slen / 4 * 3 - pad;
	p = malloc(len ? len : 1);
	if (!p)
		return false;
	for (size_t i = 0; i < slen; i += 4) {
		int v[4];
		uint32_t x;

		for (int j = 0; j < 4; j++) {
			bool is_pad = s[i + j] == '=' && i + 4 == slen &&
				      j >= 4 - (int)pad;

			v[j] = is_pad ? 0 : b64val((unsigned char)s[i + j]);
			if (v[j] < 0) {
				free(p);
				return false;
			}
		}
		x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		for (int j = 0; j < 3 && k < len; j++)
			p[k++] = (uint8_t)(x >> (16 - 8 * j));
	}
	*out = p;
	*n = len;
	return true;
}

/* ------------------------------------------------------------------ */
/* Values                                                              */

struct int_type {
	const char *name;
	unsigned width;
	bool is_signed;
};

static const struct int_type int_types[] = {
	{ "int8", 1, true },		{ "int16", 2, true },
	{ "int32", 4, true },		{ "int64", 8, true },
	{ "uint8", 1, false },		{ "uint16", 2, false },
	{ "uint32", 4, false },		{ "uint64", 8, false },
	{ "int32 equal", 4, true },	{ "int32 le", 4, true },
	{ "int64 equal", 8, true },	{ "uint8 equal", 1, false },
	{ "uint16 equal", 2, false },	{ "uint32 equal", 4, false },
	{ "timer", 8, false },
};

static const struct int_type *find_int_type(const char *type)
{
	for (size_t i = 0; i < sizeof(int_types) / sizeof(int_types[0]); i++)
		if (!strcmp(int_types[i].name, type))
			return &int_types[i];
	return NULL;
}

static bool is_body_type(const char *type)
{
	return !strcmp(type, "struct") || !strcmp(type, "tmp") ||
	       !strcmp(type, "vstruct");
}

static bool is_list_type(const char *type)
{
	return !strcmp(type, "qtailq") || !strcmp(type, "qlist");
}

static void put_be(uint8_t *out, uint64_t v, unsigned width)
{
	for (unsigned i = 0; i < width; i++)
		out[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

static int value_error(struct mig_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int value_error(struct mig_error *err, const char *fmt, ...)
{
	char msg[MIG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return mig_error_set(err, MIG_EINVAL, MIG_NO_OFFSET, "%s", msg);
}

static int encode_int(const struct int_type *it, const json_t *v,
		      uint8_t *out, struct mig_error *err)
{
	const unsigned bits = 8 * it->width;
	const uint64_t umax = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
	const int64_t smax = (int64_t)(umax >> 1);
	const int64_t smin = -smax - 1;
	uint64_t u;
	bool neg = false, hex = false;

	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);

		neg = x < 0;
		u = neg ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
	} else if (json_is_string(v)) {
		if (!parse_int_text(json_string_value(v), &u, &neg, &hex))
			return value_error(err, "'%s' is not a number for %s (decimal, or 0x and hex digits)",
					   json_string_value(v), it->name);
	} else {
		return value_error(err, "expected an integer for %s, found %s",
				   it->name, jtype(v));
	}
	if (hex) {
		/* The bit pattern: any value the width holds. */
		if (u > umax)
			return value_error(err, "0x%" PRIx64 " does not fit %s (%u bits)",
					   u, it->name, bits);
	} else if (it->is_signed) {
		if (neg ? u > (uint64_t)smax + 1 : u > (uint64_t)smax)
			return value_error(err, "%s%" PRIu64 " is out of range for %s (%" PRId64 " to %" PRId64 ")",
					   neg ? "-" : "", u, it->name, smin,
					   smax);
		if (neg)
			u = (uint64_t)0 - u;
		u &= umax;
	} else {
		if (neg && u)
			return value_error(err, "-%" PRIu64 " is out of range for %s (0 to %" PRIu64 ")",
					   u, it->name, umax);
		if (u > umax)
			return value_error(err, "%" PRIu64 " is out of range for %s (0 to %" PRIu64 ")",
					   u, it->name, umax);
	}
	put_be(out, u, it->width);
	return 0;
}

int mig_encode_value(const char *type, size_t size, const json_t *v,
		     uint8_t *out, size_t *outlen, struct mig_error *err)
{
	const struct int_type *it = find_int_type(type);

	*outlen = size;
	if (is_body_type(type) || is_list_type(type) || !strcmp(type, "gtree"))
		return value_error(err, "a %s has fields, not a value", type);
	if (it) {
		if (size != it->width)
			return value_error(err, "size %zu does not match %s (%u bytes)",
					   size, type, it->width);
		return encode_int(it, v, out, err);
	}
	if (!strcmp(type, "bool")) {
		if (size != 1)
			return value_error(err, "size %zu does not match bool (1 byte)",
					   size);
		if (json_is_boolean(v)) {
			out[0] = json_is_true(v);
			return 0;
		}
		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= 255) {
			/* QEMU reads any non-zero byte as true; keep it. */
			out[0] = (uint8_t)json_integer_value(v);
			return 0;
		}
		if (json_is_integer(v))
			return value_error(err, "%" JSON_INTEGER_FORMAT " is out of range for bool (true, false, or a byte 0 to 255)",
					   json_integer_value(v));
		return value_error(err, "expected true or false for bool, found %s",
				   jtype(v));
	}
	if (!strcmp(type, "nullptr")) {
		if (!json_is_null(v))
			return value_error(err, "a null pointer marker has the value null, found %s",
					   jtype(v));
		if (size != 1)
			return value_error(err, "size %zu does not match a null pointer marker (1 byte)",
					   size);
		out[0] = 0x30;
		return 0;
	}
	if (!strcmp(type, "capability")) {
		size_t n;

		if (!json_is_string(v))
			return value_error(err, "expected a string for capability, found %s",
					   jtype(v));
		n = json_string_length(v);
		if (n > 255)
			return value_error(err, "capability name of %zu bytes (at most 255)",
					   n);
		out[0] = (uint8_t)n;
		memcpy(out + 1, json_string_value(v), n);
		*outlen = n + 1;
		return 0;
	}
	/* Buffers and every type migstream does not interpret: raw bytes. */
	if (!json_is_string(v))
		return value_error(err, "expected a string of hex digits for %s, found %s",
				   type, jtype(v));
	{
		const char *s = json_string_value(v);
		size_t slen = json_string_length(v);

		if (slen == 2 * size + 2 && s[0] == '0' &&
		    (s[1] == 'x' || s[1] == 'X')) {
			s += 2;
			slen -= 2;
		}
		if (slen % 2 == 0 && slen != 2 * size) {
			bool digits = true;

			for (size_t i = 0; i < slen && digits; i++)
				digits = hexval((unsigned char)s[i]) >= 0;
			if (digits)
				return value_error(err, "%zu bytes of hex for a %s of %zu bytes (the size cannot change)",
						   slen / 2, type, size);
		}
		if (!hex_decode(s, slen, out, size))
			return value_error(err, "'%.40s%s' is not %zu bytes of hex for %s",
					   s, slen > 40 ? "..." : "", size,
					   type);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reading the document                                                */

static int put(struct enc *e, const void *p, size_t n)
{
	return with_path(e, mig_writer_write(e->w, p, n, e->err));
}

static int put_u8(struct enc *e, uint8_t v)
{
	return put(e, &v, 1);
}

static int put_be16(struct enc *e, uint16_t v)
{
	uint8_t b[2];

	put_be(b, v, 2);
	return put(e, b, 2);
}

static int put_be32(struct enc *e, uint32_t v)
{
	uint8_t b[4];

	put_be(b, v, 4);
	return put(e, b, 4);
}

static int put_be64(struct enc *e, uint64_t v)
{
	uint8_t b[8];

	put_be(b, v, 8);
	return put(e, b, 8);
}

/*
 * An unsigned integer key: a JSON integer >= 0 or "0x..." text, at most
 * @max.  Returns 1 when the key is absent and not @required.
 */
static int get_uint(struct enc *e, const json_t *o, const char *key,
		    bool required, uint64_t max, uint64_t *v)
{
	const json_t *j = json_object_get(o, key);
	uint64_t u;
	bool neg = false, hex;

	if (!j) {
		if (required)
			return fail(e, MIG_EINVAL, "\"%s\" is missing", key);
		return 1;
	}
	if (json_is_integer(j)) {
		if (json_integer_value(j) < 0)
			return fail(e, MIG_EINVAL, "\"%s\" is negative", key);
		u = (uint64_t)json_integer_value(j);
	} else if (!json_is_string(j) ||
		   !parse_int_text(json_string_value(j), &u, &neg, &hex) ||
		   neg) {
		return fail(e, MIG_EINVAL, "\"%s\" is %s, not a non-negative integer",
			    key, jtype(j));
	}
	if (u > max)
		return fail(e, MIG_EINVAL, "\"%s\" is %" PRIu64 ", at most %" PRIu64 " fits",
			    key, u, max);
	*v = u;
	return 0;
}

static int get_string(struct enc *e, const json_t *o, const char *key,
		      bool required, const char **s, size_t *len)
{
	const json_t *j = json_object_get(o, key);

	if (!j) {
		if (required)
			return fail(e, MIG_EINVAL, "\"%s\" is missing", key);
		return 1;
	}
	if (!json_is_string(j))
		return fail(e, MIG_EINVAL, "\"%s\" is %s, not a string", key,
			    jtype(j));
	*s = json_string_value(j);
	*len = json_string_length(j);
	return 0;
}

static int get_bool(struct enc *e, const json_t *o, const char *key,
		    bool dflt, bool *v)
{
	const json_t *j = json_object_get(o, key);

	if (!j) {
		*v = dflt;
		return 0;
	}
	if (!json_is_boolean(j))
		return fail(e, MIG_EINVAL, "\"%s\" is %s, not true or false",
			    key, jtype(j));
	*v = json_is_true(j);
	return 0;
}

static int get_array(struct enc *e, const json_t *o, const char *key,
		     bool required, const json_t **a)
{
	const json_t *j = json_object_get(o, key);

	*a = NULL;
	if (!j) {
		if (required)
			return fail(e, MIG_EINVAL, "\"%s\" is missing", key);
		return 1;
	}
	if (!json_is_array(j))
		return fail(e, MIG_EINVAL, "\"%s\" is %s, not an array", key,
			    jtype(j));
	*a = j;
	return 0;
}

/* str8: a name of 1..255 bytes. */
static int put_str8(struct enc *e, const json_t *o, const char *key)
{
	const char *s;
	size_t n;
	int ret = get_string(e, o, key, true, &s, &n);

	if (ret)
		return ret;
	if (n == 0 || n > 255)
		return fail(e, MIG_EINVAL, "\"%s\" has %zu bytes (1 to 255 fit)",
			    key, n);
	ret = put_u8(e, (uint8_t)n);
	return ret ? ret : put(e, s, n);
}

/* ------------------------------------------------------------------ */
/* Raw bytes: "hex", "base64", or "file_offset" + "length"             */

/* The side file is raw page data: never unwrapped, whatever it starts with. */
static const struct mig_input_opts side_opts = { .raw = true };

/* XXH64 of the file at @path, read forward in steps. */
static int hash_file(struct enc *e, const char *path, XXH64_hash_t *out)
{
	struct mig_reader *r = NULL;
	XXH64_state_t *st = XXH64_createState();
	int ret;

	if (!st || XXH64_reset(st, 0) != XXH_OK) {
		XXH64_freeState(st);
		return fail(e, MIG_ENOMEM, "out of memory");
	}
	ret = with_path(e, mig_reader_open_input(&r, path, &side_opts,
						  e->err));
	while (!ret && !mig_rd_at_end(r)) {
		const uint8_t *p;
		size_t n;

		n = mig_rd_size(r) - mig_rd_offset(r) > COPY_CHUNK
			? COPY_CHUNK
			: (size_t)(mig_rd_size(r) - mig_rd_offset(r));
		ret = with_path(e, mig_rd_peek(r, n, &p, e->err));
		if (!ret)
			XXH64_update(st, p, n);
		if (!ret)
			ret = with_path(e, mig_rd_skip(r, n, e->err));
	}
	*out = XXH64_digest(st);
	XXH64_freeState(st);
	mig_reader_free(r);
	return ret;
}

/* Opens the side file on first use and checks it is the right one. */
static int open_ram_file(struct enc *e)
{
	const char *path = e->ram_path;
	char alt[4096];
	uint64_t want_size;
	const char *want_hash = NULL;
	XXH64_hash_t hash = 0;
	int ret;

	if (e->ram)
		return 0;
	if (!json_is_object(e->ram_file))
		return fail(e, MIG_EINVAL, "data is in a side file (\"file_offset\"), but the document has no \"ram_file\"");
	if (!path) {
		const json_t *jp = json_object_get(e->ram_file, "path");

		if (!json_is_string(jp))
			return fail(e, MIG_EINVAL, "\"ram_file\" has no \"path\"");
		path = json_string_value(jp);
		if (path[0] != '/' && access(path, F_OK) != 0 && e->doc_dir &&
		    (size_t)snprintf(alt, sizeof(alt), "%s/%s", e->doc_dir,
				     path) < sizeof(alt) &&
		    access(alt, F_OK) == 0)
			path = alt;
	}
	ret = mig_reader_open_input(&e->ram, path, &side_opts, e->err);
	if (ret) {
		if (e->err && e->err->code == MIG_EIO)
			e->err->code = MIG_EINVAL;
		mig_error_push_path(e->err, "side file '%s'", path);
		return -MIG_EINVAL;
	}
	if (mig_rd_size(e->ram) == MIG_NO_OFFSET) {
		mig_reader_free(e->ram);
		e->ram = NULL;
		return fail(e, MIG_EINVAL, "side file '%s' is not a regular file",
			    path);
	}
	ret = get_uint(e, e->ram_file, "size", true, UINT64_MAX, &want_size);
	if (ret)
		return ret;
	if (mig_rd_size(e->ram) != want_size)
		return fail(e, MIG_EINVAL, "side file '%s' has %" PRIu64 " bytes, the document was made with one of %" PRIu64,
			    path, mig_rd_size(e->ram), want_size);
	if (json_is_string(json_object_get(e->ram_file, "xxh64")))
		want_hash = json_string_value(json_object_get(e->ram_file,
							      "xxh64"));
	if (want_hash) {
		char got[17];

		/* A reader of its own, read forward once, so the pages it
		 * passed are given back: the copy reads the file again. */
		ret = hash_file(e, path, &hash);
		if (ret)
			return ret;
		snprintf(got, sizeof(got), "%016llx", (unsigned long long)hash);
		if (strcmp(got, want_hash))
			return fail(e, MIG_EINVAL, "side file '%s' is not the one the document was made with (XXH64 %s, expected %s)",
				    path, got, want_hash);
	}
	return 0;
}

/* Copies @len bytes at @off of the side file to the output. */
static int copy_ram(struct enc *e, uint64_t off, uint64_t len)
{
	int ret = open_ram_file(e);

	if (ret)
		return ret;
	if (off > mig_rd_size(e->ram) || len > mig_rd_size(e->ram) - off)
		return fail(e, MIG_EINVAL, "\"file_offset\" 0x%" PRIx64 " + %" PRIu64 " bytes is past the end of the side file (%" PRIu64 " bytes)",
			    off, len, mig_rd_size(e->ram));
	ret = with_path(e, mig_rd_seek(e->ram, off, e->err));
	while (!ret && len) {
		size_t step = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
		const uint8_t *p;

		ret = with_path(e, mig_rd_peek(e->ram, step, &p, e->err));
		if (!ret)
			ret = put(e, p, step);
		if (!ret)
			ret = with_path(e, mig_rd_skip(e->ram, step, e->err));
		len -= step;
	}
	return ret;
}

/*
 * Writes the raw bytes object @o holds.  @want is the length the context
 * requires, or UINT64_MAX for any (then *@got, if not NULL, says how
 * many were written).  @max caps any length.
 */
static int put_blob(struct enc *e, const json_t *o, uint64_t want,
		    uint64_t max, uint64_t *got)
{
	const json_t *hex = json_object_get(o, "hex");
	const json_t *b64 = json_object_get(o, "base64");
	const json_t *fo = json_object_get(o, "file_offset");
	uint64_t n;
	int ret;

	if (!!hex + !!b64 + !!fo != 1)
		return fail(e, MIG_EINVAL, "give the bytes as exactly one of \"hex\", \"base64\" or \"file_offset\"");
	if (hex) {
		const char *s;
		size_t slen;
		uint8_t *buf;

		if (!json_is_string(hex))
			return fail(e, MIG_EINVAL, "\"hex\" is %s, not a string",
				    jtype(hex));
		s = json_string_value(hex);
		slen = json_string_length(hex);
		if (slen % 2)
			return fail(e, MIG_EINVAL, "\"hex\" has an odd number of digits (%zu)",
				    slen);
		n = slen / 2;
		if (want != UINT64_MAX && n != want)
			return fail(e, MIG_EINVAL, "\"hex\" holds %" PRIu64 " bytes, %" PRIu64 " are needed",
				    n, want);
		if (n > max)
			return fail(e, MIG_EINVAL, "\"hex\" holds %" PRIu64 " bytes, at most %" PRIu64 " fit",
				    n, max);
		buf = malloc(n ? (size_t)n : 1);
		if (!buf)
			return fail(e, MIG_ENOMEM, "out of memory");
		if (!hex_decode(s, slen, buf, (size_t)n)) {
			free(buf);
			return fail(e, MIG_EINVAL, "\"hex\" holds something other than hex digits");
		}
		ret = put(e, buf, (size_t)n);
		free(buf);
	} else if (b64) {
		uint8_t *buf = NULL;
		size_t len;

		if (!json_is_string(b64))
			return fail(e, MIG_EINVAL, "\"base64\" is %s, not a string",
				    jtype(b64));
		if (!b64_decode(json_string_value(b64), json_string_length(b64),
				&buf, &len))
			return fail(e, MIG_EINVAL, "\"base64\" is not valid base64");
		n = len;
		if (want != UINT64_MAX && n != want) {
			free(buf);
			return fail(e, MIG_EINVAL, "\"base64\" holds %" PRIu64 " bytes, %" PRIu64 " are needed",
				    n, want);
		}
		if (n > max) {
			free(buf);
			return fail(e, MIG_EINVAL, "\"base64\" holds %" PRIu64 " bytes, at most %" PRIu64 " fit",
				    n, max);
		}
		ret = put(e, buf, len);
		free(buf);
	} else {
		uint64_t off;

		ret = get_uint(e, o, "file_offset", true, UINT64_MAX, &off);
		if (ret)
			return ret;
		ret = get_uint(e, o, "length", want == UINT64_MAX, UINT64_MAX,
			       &n);
		if (ret < 0)
			return ret;
		if (ret == 1)
			n = want;
		if (want != UINT64_MAX && n != want)
			return fail(e, MIG_EINVAL, "\"length\" is %" PRIu64 ", %" PRIu64 " bytes are needed",
				    n, want);
		if (n > max)
			return fail(e, MIG_EINVAL, "\"length\" is %" PRIu64 ", at most %" PRIu64 " fit",
				    n, max);
		ret = copy_ram(e, off, n);
	}
	if (!ret && got)
		*got = n;
	return ret;
}

/*
 * The bytes of a blob when they must be known before they are written
 * (command data): hex or base64 only, up to @max bytes.
 */
static int get_small_blob(struct enc *e, const json_t *o, size_t max,
			  uint8_t **out, size_t *n)
{
	struct mig_writer *mem, *saved = e->w;
	const uint8_t *p;
	uint64_t got;
	int ret;

	ret = mig_writer_mem(&mem, e->err);
	if (ret)
		return with_path(e, ret);
	e->w = mem;
	ret = put_blob(e, o, UINT64_MAX, max, &got);
	e->w = saved;
	if (!ret) {
		p = mig_writer_mem_data(mem, n);
		*out = malloc(*n ? *n : 1);
		if (!*out)
			ret = fail(e, MIG_ENOMEM, "out of memory");
		else if (*n)
			memcpy(*out, p, *n);
	}
	mig_writer_abort(mem);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Device state                                                        */

static int enc_body(struct enc *e, const json_t *o, int depth);

static int enc_leaf(struct enc *e, const char *type, uint64_t size,
		    const json_t *v)
{
	uint8_t small[256];
	uint8_t *buf = small;
	size_t outlen;
	int ret;

	/* Only a hex string long enough can fill a large field: anything
	 * else is refused by mig_encode_value() before it writes a byte, so
	 * a hostile "size" does not make us allocate. */
	if (size > 256 && strcmp(type, "capability") && json_is_string(v) &&
	    json_string_length(v) >= 2 * size) {
		buf = malloc((size_t)size);
		if (!buf)
			return fail(e, MIG_ENOMEM, "out of memory");
	}
	ret = with_path(e, mig_encode_value(type, (size_t)size, v, buf,
					    &outlen, e->err));
	if (!ret)
		ret = put(e, buf, outlen);
	if (buf != small)
		free(buf);
	return ret;
}

/* qtailq / qlist: 0x01 and an element, for each element; then 0x00. */
static int enc_list(struct enc *e, const json_t *els, int depth)
{
	const json_t *el;
	size_t i;
	int ret;

	if (!json_is_array(els))
		return fail(e, MIG_EINVAL, "\"elements\" is missing or not an array");
	json_array_foreach(els, i, el) {
		size_t old = path_push(e, "[%zu]", i);

		ret = put_u8(e, 1);
		if (!ret)
			ret = enc_body(e, el, depth + 1);
		if (ret)
			return ret;
		path_pop(e, old);
	}
	return put_u8(e, 0);
}

/* One element of an array field (or the field itself when not an array). */
static int enc_elem(struct enc *e, const char *type, uint64_t size,
		    const json_t *el, bool in_array, int depth)
{
	if (is_body_type(type))
		return enc_body(e, el, depth + 1);
	if (is_list_type(type))
		return enc_list(e, json_object_get(el, "elements"), depth);
	if (!strcmp(type, "gtree"))
		return fail(e, MIG_EUNSUP, "gtree fields cannot be encoded from fields (keep the section raw)");
	if (in_array)
		return enc_leaf(e, type, size, el);
	if (!json_object_get(el, "value"))
		return fail(e, MIG_EINVAL, "\"value\" is missing");
	return enc_leaf(e, type, size, json_object_get(el, "value"));
}

static int enc_field(struct enc *e, const json_t *f, int depth)
{
	const char *name, *type = "unknown";
	size_t nlen, tlen, old;
	uint64_t size = 0, alen = 0, index;
	bool structured;
	int has_alen, ret;

	if (!json_is_object(f))
		return fail(e, MIG_EINVAL, "a field is %s, not an object",
			    jtype(f));
	ret = get_string(e, f, "name", true, &name, &nlen);
	if (ret)
		return ret;
	old = path_push(e, ".%s", name);
	if (get_uint(e, f, "index", false, INT64_MAX, &index) == 0)
		path_push(e, "[%" PRIu64 "]", index);
	ret = get_string(e, f, "type", false, &type, &tlen);
	if (ret < 0)
		return ret;
	structured = is_body_type(type) || is_list_type(type);
	if (!structured) {
		ret = get_uint(e, f, "size", true, UINT32_MAX, &size);
		if (ret)
			return ret;
	}
	has_alen = get_uint(e, f, "array_len", false, UINT32_MAX, &alen);
	if (has_alen < 0)
		return has_alen;
	if (has_alen == 0) {
		const char *key = structured ? "elements" : "value";
		const json_t *arr;
		const json_t *el;
		size_t i;

		ret = get_array(e, f, key, true, &arr);
		if (ret)
			return ret;
		if (json_array_size(arr) != alen)
			return fail(e, MIG_EINVAL, "\"%s\" has %zu entries, \"array_len\" says %" PRIu64 " (the length cannot change)",
				    key, json_array_size(arr), alen);
		json_array_foreach(arr, i, el) {
			size_t o2 = path_push(e, "[%zu]", i);

			ret = enc_elem(e, type, size, el, true, depth);
			if (ret)
				return ret;
			path_pop(e, o2);
		}
	} else {
		ret = enc_elem(e, type, size, f, false, depth);
		if (ret)
			return ret;
	}
	path_pop(e, old);
	return 0;
}

static int enc_subsection(struct enc *e, const json_t *sub, int depth)
{
	const char *name;
	size_t nlen, old;
	uint64_t version;
	int ret;

	if (!json_is_object(sub))
		return fail(e, MIG_EINVAL, "a subsection is %s, not an object",
			    jtype(sub));
	ret = get_string(e, sub, "name", true, &name, &nlen);
	if (ret)
		return ret;
	old = path_push(e, "{%s}", name);
	ret = get_uint(e, sub, "version", true, UINT32_MAX, &version);
	if (!ret)
		ret = put_u8(e, MIG_REC_SUBSECTION);
	if (!ret)
		ret = put_str8(e, sub, "name");
	if (!ret)
		ret = put_be32(e, (uint32_t)version);
	if (!ret)
		ret = enc_body(e, sub, depth + 1);
	if (ret)
		return ret;
	path_pop(e, old);
	return 0;
}

/* The fields of a description, then its subsections. */
static int enc_body(struct enc *e, const json_t *o, int depth)
{
	const json_t *fields, *subs, *x;
	size_t i;
	int ret;

	if (depth > ENC_DEPTH_MAX)
		return fail(e, MIG_EINVAL, "nested deeper than %d levels",
			    ENC_DEPTH_MAX);
	if (!json_is_object(o))
		return fail(e, MIG_EINVAL, "expected an object with \"fields\", found %s",
			    jtype(o));
	ret = get_array(e, o, "fields", false, &fields);
	if (ret < 0)
		return ret;
	ret = get_array(e, o, "subsections", false, &subs);
	if (ret < 0)
		return ret;
	json_array_foreach(fields, i, x) {
		ret = enc_field(e, x, depth);
		if (ret)
			return ret;
	}
	json_array_foreach(subs, i, x) {
		ret = enc_subsection(e, x, depth);
		if (ret)
			return ret;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* RAM records                                                         */

static int ram_word(struct enc *e, uint64_t addr, unsigned flags)
{
	if (addr & (e->page_size - 1))
		return fail(e, MIG_EINVAL, "\"addr\" 0x%" PRIx64 " is not a multiple of the page size 0x%" PRIx64,
			    addr, e->page_size);
	return put_be64(e, addr | flags);
}

/*
 * A mapped-ram block header, then (when the block has pages in the file)
 * the bytes up to the end of its page array.  The offsets are written as
 * given; the read-back of the output checks that they line up.
 */
static int enc_mapped(struct enc *e, const json_t *mr)
{
	uint64_t version, ps, boff, poff;
	int ret;

	if (!json_is_object(mr))
		return fail(e, MIG_EINVAL, "\"mapped_ram\" is %s, not an object",
			    jtype(mr));
	ret = get_uint(e, mr, "version", true, UINT32_MAX, &version);
	if (!ret)
		ret = get_uint(e, mr, "page_size", true, UINT64_MAX, &ps);
	if (!ret)
		ret = get_uint(e, mr, "bitmap_offset", true, UINT64_MAX, &boff);
	if (!ret)
		ret = get_uint(e, mr, "pages_offset", true, UINT64_MAX, &poff);
	if (!ret)
		ret = put_be32(e, (uint32_t)version);
	if (!ret)
		ret = put_be64(e, ps);
	if (!ret)
		ret = put_be64(e, boff);
	if (!ret)
		ret = put_be64(e, poff);
	if (!ret && (json_object_get(mr, "hex") || json_object_get(mr, "base64") ||
		     json_object_get(mr, "file_offset")))
		ret = put_blob(e, mr, UINT64_MAX, UINT64_MAX, NULL);
	return ret;
}

static int enc_mem_size(struct enc *e, const json_t *r)
{
	const json_t *blocks, *b;
	uint64_t total = 0;
	size_t i;
	int ret;

	ret = get_array(e, r, "blocks", true, &blocks);
	if (ret)
		return ret;
	json_array_foreach(blocks, i, b) {
		uint64_t len;
		size_t old = path_push(e, ".blocks[%zu]", i);

		if (!json_is_object(b))
			return fail(e, MIG_EINVAL, "a block is %s, not an object",
				    jtype(b));
		ret = get_uint(e, b, "length", true, UINT64_MAX, &len);
		if (ret)
			return ret;
		if (len == 0 || len & (e->page_size - 1))
			return fail(e, MIG_EINVAL, "\"length\" 0x%" PRIx64 " is not a non-zero multiple of the page size",
				    len);
		if (len > UINT64_MAX - total)
			return fail(e, MIG_EINVAL, "the block lengths add up to more than 64 bits");
		total += len;
		path_pop(e, old);
	}
	if (!total)
		return fail(e, MIG_EINVAL, "\"blocks\" is empty");
	ret = ram_word(e, total, F_MEM_SIZE);
	json_array_foreach(blocks, i, b) {
		size_t old = path_push(e, ".blocks[%zu]", i);
		uint64_t len, v;

		if (!ret)
			ret = put_str8(e, b, "name");
		if (!ret)
			ret = get_uint(e, b, "length", true, UINT64_MAX, &len);
		if (!ret)
			ret = put_be64(e, len);
		/* Postcopy page size, then x-ignore-shared address. */
		if (!ret && get_uint(e, b, "page_size", false, UINT64_MAX,
				     &v) == 0)
			ret = put_be64(e, v);
		if (!ret && get_uint(e, b, "addr", false, UINT64_MAX, &v) == 0)
			ret = put_be64(e, v);
		if (!ret && json_object_get(b, "mapped_ram"))
			ret = enc_mapped(e, json_object_get(b, "mapped_ram"));
		if (!ret && e->err && e->err->code)
			ret = -e->err->code;
		if (ret)
			return ret;
		path_pop(e, old);
	}
	return 0;
}

/* ZERO and PAGE runs: @count records at consecutive pages. */
static int enc_pages(struct enc *e, const json_t *r, unsigned flag)
{
	const json_t *block = json_object_get(r, "block");
	uint64_t addr, count = 1, fill = 0;
	int ret;

	ret = get_uint(e, r, "addr", true, UINT64_MAX, &addr);
	if (ret)
		return ret;
	ret = get_uint(e, r, "count", false, UINT32_MAX, &count);
	if (ret < 0)
		return ret;
	if (!count)
		return fail(e, MIG_EINVAL, "\"count\" is 0");
	if ((count - 1) > (UINT64_MAX - addr) / e->page_size)
		return fail(e, MIG_EINVAL, "the run of %" PRIu64 " pages at 0x%" PRIx64 " passes 2^64",
			    count, addr);
	if (flag == F_ZERO) {
		ret = get_uint(e, r, "fill", false, 255, &fill);
		if (ret < 0)
			return ret;
	}
	if (block && !json_is_string(block))
		return fail(e, MIG_EINVAL, "\"block\" is %s, not a string",
			    jtype(block));
	if (flag == F_PAGE && count > 1) {
		/* The data of a run is contiguous; write it page by page
		 * between the record words. */
		struct mig_writer *mem = NULL, *saved = e->w;
		const uint8_t *data;
		size_t len;

		if (count > SIZE_MAX / e->page_size)
			return fail(e, MIG_EINVAL, "\"count\" is too large");
		if (json_object_get(r, "file_offset")) {
			uint64_t off;

			ret = get_uint(e, r, "file_offset", true, UINT64_MAX,
				       &off);
			if (ret)
				return ret;
			for (uint64_t i = 0; i < count && !ret; i++) {
				ret = ram_word(e, addr + i * e->page_size,
					       flag | (i || !block ? F_CONTINUE : 0));
				if (!ret && !i && block)
					ret = put_str8(e, r, "block");
				if (!ret)
					ret = copy_ram(e, off + i * e->page_size,
						       e->page_size);
			}
			return ret;
		}
		ret = with_path(e, mig_writer_mem(&mem, e->err));
		if (ret)
			return ret;
		e->w = mem;
		ret = put_blob(e, r, count * e->page_size, UINT64_MAX, NULL);
		e->w = saved;
		data = mig_writer_mem_data(mem, &len);
		for (uint64_t i = 0; i < count && !ret; i++) {
			ret = ram_word(e, addr + i * e->page_size,
				       flag | (i || !block ? F_CONTINUE : 0));
			if (!ret && !i && block)
				ret = put_str8(e, r, "block");
			if (!ret)
				ret = put(e, data + i * e->page_size,
					  (size_t)e->page_size);
		}
		mig_writer_abort(mem);
		return ret;
	}
	for (uint64_t i = 0; i < count; i++) {
		ret = ram_word(e, addr + i * e->page_size,
			       flag | (i || !block ? F_CONTINUE : 0));
		if (!ret && !i && block)
			ret = put_str8(e, r, "block");
		if (!ret)
			ret = flag == F_ZERO
				? put_u8(e, (uint8_t)fill)
				: put_blob(e, r, e->page_size, UINT64_MAX,
					   NULL);
		if (ret)
			return ret;
	}
	return 0;
}

/* XBZRLE and COMPRESS_PAGE: one record, its encoded bytes as a blob. */
static int enc_coded(struct enc *e, const json_t *r, unsigned flag)
{
	const json_t *block = json_object_get(r, "block");
	struct mig_writer *mem = NULL, *saved = e->w;
	const uint8_t *data;
	uint64_t addr;
	size_t len;
	int ret;

	ret = get_uint(e, r, "addr", true, UINT64_MAX, &addr);
	if (ret)
		return ret;
	if (block && !json_is_string(block))
		return fail(e, MIG_EINVAL, "\"block\" is %s, not a string",
			    jtype(block));
	ret = with_path(e, mig_writer_mem(&mem, e->err));
	if (ret)
		return ret;
	e->w = mem;
	ret = put_blob(e, r, UINT64_MAX,
		       flag == F_XBZRLE ? e->page_size : UINT32_MAX, NULL);
	e->w = saved;
	data = mig_writer_mem_data(mem, &len);
	if (!ret)
		ret = ram_word(e, addr, flag | (block ? 0 : F_CONTINUE));
	if (!ret && block)
		ret = put_str8(e, r, "block");
	if (!ret && flag == F_XBZRLE) {
		ret = put_u8(e, 1);
		if (!ret)
			ret = put_be16(e, (uint16_t)len);
	} else if (!ret) {
		ret = put_be32(e, (uint32_t)len);
	}
	if (!ret)
		ret = put(e, data, len);
	mig_writer_abort(mem);
	return ret;
}

static int enc_ram(struct enc *e, const json_t *rec)
{
	const json_t *recs, *r;
	size_t i;
	int ret;

	ret = get_array(e, rec, "ram", true, &recs);
	if (ret)
		return ret;
	json_array_foreach(recs, i, r) {
		const char *type;
		size_t tlen, old = path_push(e, ".ram[%zu]", i);

		if (!json_is_object(r))
			return fail(e, MIG_EINVAL, "a RAM record is %s, not an object",
				    jtype(r));
		ret = get_string(e, r, "type", true, &type, &tlen);
		if (ret)
			return ret;
		if (!strcmp(type, "mem_size"))
			ret = enc_mem_size(e, r);
		else if (!strcmp(type, "zero"))
			ret = enc_pages(e, r, F_ZERO);
		else if (!strcmp(type, "page"))
			ret = enc_pages(e, r, F_PAGE);
		else if (!strcmp(type, "xbzrle"))
			ret = enc_coded(e, r, F_XBZRLE);
		else if (!strcmp(type, "compressed"))
			ret = enc_coded(e, r, F_COMPRESS);
		else if (!strcmp(type, "flush"))
			ret = ram_word(e, 0, F_FLUSH);
		else if (!strcmp(type, "eos"))
			ret = ram_word(e, 0, F_EOS);
		else
			ret = fail(e, MIG_EINVAL, "unknown RAM record type '%s' (mem_size, zero, page, xbzrle, compressed, flush, eos)",
				   type);
		if (ret)
			return ret;
		path_pop(e, old);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Records                                                             */

static int enc_records(struct enc *e, const json_t *recs, bool nested);

static int rec_type(const char *s)
{
	static const struct {
		const char *name;
		int type;
	} types[] = {
		{ "start", MIG_REC_START },	{ "part", MIG_REC_PART },
		{ "end", MIG_REC_END },		{ "full", MIG_REC_FULL },
		{ "command", MIG_REC_COMMAND },	{ "eof", MIG_REC_EOF },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(types[i].name, s))
			return types[i].type;
	return -1;
}

static int enc_section(struct enc *e, const json_t *rec, int type)
{
	const char *kind, *name = NULL;
	size_t klen, nlen = 0;
	uint64_t id, instance = 0, version = 0;
	bool footer;
	int ret;

	ret = get_uint(e, rec, "section_id", true, UINT32_MAX, &id);
	if (ret)
		return ret;
	if (get_string(e, rec, "name", false, &name, &nlen) < 0)
		return -MIG_EINVAL;
	if (get_uint(e, rec, "instance", false, UINT32_MAX, &instance) < 0)
		return -MIG_EINVAL;
	if (name) {
		/* From here on the path is the field path of `set`. */
		path_push(e, ": %s", name);
		if (instance)
			path_push(e, "[%" PRIu64 "]", instance);
	}
	ret = put_u8(e, (uint8_t)type);
	if (!ret)
		ret = put_be32(e, (uint32_t)id);
	if (ret)
		return ret;
	if (type == MIG_REC_START || type == MIG_REC_FULL) {
		ret = put_str8(e, rec, "name");
		if (!ret)
			ret = get_uint(e, rec, "instance", true, UINT32_MAX,
				       &instance);
		if (!ret)
			ret = get_uint(e, rec, "version", true, UINT32_MAX,
				       &version);
		if (!ret)
			ret = put_be32(e, (uint32_t)instance);
		if (!ret)
			ret = put_be32(e, (uint32_t)version);
		if (ret)
			return ret;
	}
	ret = get_string(e, rec, "kind", true, &kind, &klen);
	if (ret)
		return ret;
	if (!strcmp(kind, "vmstate") || !strcmp(kind, "legacy"))
		ret = enc_body(e, rec, 0);
	else if (!strcmp(kind, "ram"))
		ret = enc_ram(e, rec);
	else if (!strcmp(kind, "undecoded") || !strcmp(kind, "raw"))
		ret = put_blob(e, rec, UINT64_MAX, UINT64_MAX, NULL);
	else
		ret = fail(e, MIG_EINVAL, "unknown section kind '%s' (vmstate, legacy, ram, undecoded, raw)",
			   kind);
	if (!ret)
		ret = get_bool(e, rec, "footer", e->footers, &footer);
	if (!ret && footer) {
		ret = put_u8(e, MIG_REC_FOOTER);
		if (!ret)
			ret = put_be32(e, (uint32_t)id);
	}
	return ret;
}

static int enc_command(struct enc *e, const json_t *rec)
{
	uint64_t id;
	int ret;

	ret = get_uint(e, rec, "id", true, UINT16_MAX, &id);
	if (ret)
		return ret;
	if (id == MIG_CMD_PACKAGED && json_object_get(rec, "records")) {
		struct mig_writer *mem = NULL, *saved = e->w;
		const json_t *recs;
		const uint8_t *blob;
		size_t len;

		if (e->in_packaged)
			return fail(e, MIG_EINVAL, "a packaged command inside a packaged blob (QEMU refuses it)");

		ret = get_array(e, rec, "records", true, &recs);
		if (ret)
			return ret;
		ret = with_path(e, mig_writer_mem(&mem, e->err));
		if (ret)
			return ret;
		e->w = mem;
		e->in_packaged = true;
		ret = enc_records(e, recs, true);
		e->in_packaged = false;
		e->w = saved;
		blob = mig_writer_mem_data(mem, &len);
		if (!ret && len > PACKAGED_MAX)
			ret = fail(e, MIG_EINVAL, "packaged blob of %zu bytes (at most %u)",
				   len, PACKAGED_MAX);
		if (!ret)
			ret = put_u8(e, MIG_REC_COMMAND);
		if (!ret)
			ret = put_be16(e, (uint16_t)id);
		if (!ret)
			ret = put_be16(e, 4);
		if (!ret)
			ret = put_be32(e, (uint32_t)len);
		if (!ret)
			ret = put(e, blob, len);
		mig_writer_abort(mem);
		return ret;
	} else {
		uint8_t *data = NULL;
		size_t n = 0;

		if (json_object_get(rec, "hex") || json_object_get(rec, "base64")) {
			ret = get_small_blob(e, rec, UINT16_MAX, &data, &n);
			if (ret)
				return ret;
		}
		ret = put_u8(e, MIG_REC_COMMAND);
		if (!ret)
			ret = put_be16(e, (uint16_t)id);
		if (!ret)
			ret = put_be16(e, (uint16_t)n);
		if (!ret)
			ret = put(e, data, n);
		free(data);
		return ret;
	}
}

static int enc_records(struct enc *e, const json_t *recs, bool nested)
{
	const json_t *rec;
	size_t i;
	int ret;

	json_array_foreach(recs, i, rec) {
		const char *name;
		size_t nlen, old = path_push(e, nested ? " packaged record %zu"
						       : "record %zu", i);
		int type;

		if (!json_is_object(rec))
			return fail(e, MIG_EINVAL, "a record is %s, not an object",
				    jtype(rec));
		ret = get_string(e, rec, "record", true, &name, &nlen);
		if (ret)
			return ret;
		type = rec_type(name);
		switch (type) {
		case MIG_REC_START:
		case MIG_REC_PART:
		case MIG_REC_END:
		case MIG_REC_FULL:
			ret = enc_section(e, rec, type);
			break;
		case MIG_REC_COMMAND:
			ret = enc_command(e, rec);
			break;
		case MIG_REC_EOF:
			ret = put_u8(e, MIG_REC_EOF);
			break;
		default:
			ret = fail(e, MIG_EINVAL, "unknown record '%s' (start, part, end, full, command, eof)",
				   name);
		}
		if (ret)
			return ret;
		path_pop(e, old);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Configuration, vmdesc, the document                                 */

static int enc_config(struct enc *e, const json_t *conf)
{
	const json_t *subs, *sub;
	const char *machine;
	size_t mlen, i;
	int ret;

	if (json_object_get(conf, "hex"))
		return put_blob(e, conf, UINT64_MAX, UINT64_MAX, NULL);
	ret = get_string(e, conf, "machine", true, &machine, &mlen);
	if (ret)
		return ret;
	if (!mlen || mlen > 255)
		return fail(e, MIG_EINVAL, "\"machine\" has %zu bytes (1 to 255 fit)",
			    mlen);
	ret = put_u8(e, MIG_REC_CONFIG);
	if (!ret)
		ret = put_be32(e, (uint32_t)mlen);
	if (!ret)
		ret = put(e, machine, mlen);
	if (ret)
		return ret;
	ret = get_array(e, conf, "subsections", false, &subs);
	if (ret < 0)
		return ret;
	json_array_foreach(subs, i, sub) {
		const char *name;
		size_t nlen, old;
		uint64_t version, v;

		if (!json_is_object(sub))
			return fail(e, MIG_EINVAL, "a subsection is %s, not an object",
				    jtype(sub));
		ret = get_string(e, sub, "name", true, &name, &nlen);
		if (ret)
			return ret;
		old = path_push(e, "{%s}", name);
		ret = get_uint(e, sub, "version", true, UINT32_MAX, &version);
		if (!ret)
			ret = put_u8(e, MIG_REC_SUBSECTION);
		if (!ret)
			ret = put_str8(e, sub, "name");
		if (!ret)
			ret = put_be32(e, (uint32_t)version);
		if (ret)
			return ret;
		if (!strcmp(name, "configuration/target-page-bits")) {
			ret = get_uint(e, sub, "target_page_bits", true,
				       UINT32_MAX, &v);
			if (!ret)
				ret = put_be32(e, (uint32_t)v);
		} else if (!strcmp(name, "configuration/capabilities")) {
			const json_t *caps, *cap;
			size_t k;

			ret = get_array(e, sub, "capabilities", true, &caps);
			if (!ret)
				ret = put_be32(e, (uint32_t)json_array_size(caps));
			json_array_foreach(caps, k, cap) {
				size_t n;

				if (ret)
					break;
				if (!json_is_string(cap) ||
				    !(n = json_string_length(cap)) || n > 255) {
					ret = fail(e, MIG_EINVAL, "capability %zu is not a name of 1 to 255 bytes",
						   k);
					break;
				}
				ret = put_u8(e, (uint8_t)n);
				if (!ret)
					ret = put(e, json_string_value(cap), n);
			}
		} else if (!strcmp(name, "configuration/uuid")) {
			const json_t *u = json_object_get(sub, "uuid");
			uint8_t b[16];

			if (!json_is_string(u) ||
			    !hex_decode(json_string_value(u),
					json_string_length(u), b, 16))
				ret = fail(e, MIG_EINVAL, "\"uuid\" is not 32 hex digits");
			else
				ret = put(e, b, 16);
		} else {
			ret = put_blob(e, sub, UINT64_MAX, UINT64_MAX, NULL);
		}
		if (ret)
			return ret;
		path_pop(e, old);
	}
	return 0;
}

static int enc_vmdesc(struct enc *e, const json_t *vd)
{
	const json_t *text = json_object_get(vd, "text");
	struct mig_writer *mem = NULL, *saved = e->w;
	const uint8_t *p;
	size_t len;
	int ret;

	if (!json_is_object(vd))
		return fail(e, MIG_EINVAL, "\"vmdesc\" is %s, not an object or null",
			    jtype(vd));
	if (text) {
		if (!json_is_string(text))
			return fail(e, MIG_EINVAL, "\"text\" is %s, not a string",
				    jtype(text));
		len = json_string_length(text);
		if (len > UINT32_MAX)
			return fail(e, MIG_EINVAL, "vmdesc of %zu bytes (at most 2^32-1)",
				    len);
		ret = put_u8(e, MIG_REC_VMDESC);
		if (!ret)
			ret = put_be32(e, (uint32_t)len);
		return ret ? ret : put(e, json_string_value(text), len);
	}
	ret = with_path(e, mig_writer_mem(&mem, e->err));
	if (ret)
		return ret;
	e->w = mem;
	ret = put_blob(e, vd, UINT64_MAX, UINT32_MAX, NULL);
	e->w = saved;
	p = mig_writer_mem_data(mem, &len);
	if (!ret)
		ret = put_u8(e, MIG_REC_VMDESC);
	if (!ret)
		ret = put_be32(e, (uint32_t)len);
	if (!ret)
		ret = put(e, p, len);
	mig_writer_abort(mem);
	return ret;
}

int mig_encode(const json_t *doc, const struct mig_encode_opts *opts,
	       struct mig_writer *w, struct mig_error *err)
{
	struct mig_error local;
	struct enc e = {
		.w = w,
		.err = err ? err : &local,
		.ram_path = opts ? opts->ram_path : NULL,
		.doc_dir = opts ? opts->doc_dir : NULL,
	};
	const json_t *conf, *recs, *vd, *rest;
	uint64_t fmt, ps, version = MIG_FILE_VERSION;
	int ret;

	mig_error_clear(e.err);
	if (!json_is_object(doc))
		return fail(&e, MIG_EINVAL, "the document is not a JSON object");
	ret = get_uint(&e, doc, "migstream_lossless", false, UINT32_MAX, &fmt);
	if (ret == 1)
		return fail(&e, MIG_EINVAL, "not a lossless document (no \"migstream_lossless\" key; make it with `migstream dump --lossless`)");
	if (ret)
		return ret;
	if (fmt != MIG_LOSSLESS_FORMAT_VERSION)
		return fail(&e, MIG_EUNSUP, "lossless document version %" PRIu64 " (this build reads version %d)",
			    fmt, MIG_LOSSLESS_FORMAT_VERSION);
	ret = get_uint(&e, doc, "page_size", true, 65536, &ps);
	if (ret)
		return ret;
	if (ps < 1024 || (ps & (ps - 1)))
		return fail(&e, MIG_EINVAL, "\"page_size\" %" PRIu64 " is not a power of two from 1024 to 65536",
			    ps);
	e.page_size = ps;
	ret = get_bool(&e, doc, "footers", true, &e.footers);
	if (ret)
		return ret;
	e.ram_file = json_object_get(doc, "ram_file");
	ret = get_uint(&e, doc, "file_version", false, UINT32_MAX, &version);
	if (ret < 0)
		return ret;
	ret = put_be32(&e, MIG_FILE_MAGIC);
	if (!ret)
		ret = put_be32(&e, (uint32_t)version);
	if (ret)
		goto out;

	conf = json_object_get(doc, "configuration");
	if (conf && !json_is_null(conf)) {
		size_t old = path_push(&e, "configuration");

		if (!json_is_object(conf)) {
			ret = fail(&e, MIG_EINVAL, "\"configuration\" is %s, not an object or null",
				   jtype(conf));
			goto out;
		}
		ret = enc_config(&e, conf);
		if (ret)
			goto out;
		path_pop(&e, old);
	}
	ret = get_array(&e, doc, "records", true, &recs);
	if (!ret)
		ret = enc_records(&e, recs, false);
	if (ret)
		goto out;
	vd = json_object_get(doc, "vmdesc");
	if (vd && !json_is_null(vd)) {
		size_t old = path_push(&e, "vmdesc");

		ret = enc_vmdesc(&e, vd);
		if (ret)
			goto out;
		path_pop(&e, old);
	}
	rest = json_object_get(doc, "rest");
	if (rest && !json_is_null(rest)) {
		size_t old = path_push(&e, "rest");

		if (!json_is_object(rest))
			ret = fail(&e, MIG_EINVAL, "\"rest\" is %s, not an object or null",
				   jtype(rest));
		else
			ret = put_blob(&e, rest, UINT64_MAX, UINT64_MAX, NULL);
		if (ret)
			goto out;
		path_pop(&e, old);
	}
out:
	mig_reader_free(e.ram);
	return ret;
}

int encode_record(const json_t *rec, uint64_t page_size, bool footers,
		  struct mig_writer *w, struct mig_error *err)
{
	struct mig_error local;
	struct enc e = {
		.w = w,
		.err = err ? err : &local,
		.page_size = page_size,
		.footers = footers,
	};
	json_t *one = json_array();
	int ret;

	mig_error_clear(e.err);
	if (!one)
		return fail(&e, MIG_ENOMEM, "out of memory");
	json_array_append(one, (json_t *)rec);	/* borrowed: takes a ref */
	ret = enc_records(&e, one, false);
	json_decref(one);
	mig_reader_free(e.ram);
	return ret;
}

int encode_config(const json_t *conf, struct mig_writer *w,
		  struct mig_error *err)
{
	struct mig_error local;
	struct enc e = {
		.w = w,
		.err = err ? err : &local,
		.page_size = 4096,
	};

	mig_error_clear(e.err);
	return enc_config(&e, conf);
}
