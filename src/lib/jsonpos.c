/* SPDX-License-Identifier: MIT */
/*
 * JSON with positions: a recursive-descent reader (RFC 8259) that records
 * the line and column of every value and key.  Strict: no comments, no
 * trailing commas, no duplicate keys, nothing after the top-level value.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpos.h"

struct jp {
	const char *p;
	const char *end;
	const char *start;
	uint32_t line;
	const char *line_start;
	struct jp_error *e;
	int depth;
	bool nomem;
};

static struct jp_pos here(const struct jp *j)
{
	struct jp_pos pos = {
		.line = j->line,
		.col = (uint32_t)(j->p - j->line_start) + 1,
		.off = (size_t)(j->p - j->start),
	};

	return pos;
}

static int fail(struct jp *j, const char *fmt, const char *arg)
{
	if (j->e) {
		j->e->pos = here(j);
		snprintf(j->e->msg, sizeof(j->e->msg), fmt, arg ? arg : "");
	}
	return -1;
}

static void skip_ws(struct jp *j)
{
	while (j->p < j->end) {
		char c = *j->p;

		if (c == '\n') {
			j->line++;
			j->line_start = j->p + 1;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			return;
		}
		j->p++;
	}
}

static struct jp_value *new_value(struct jp *j, enum jp_type t,
				  struct jp_pos pos)
{
	struct jp_value *v = calloc(1, sizeof(*v));

	if (!v) {
		j->nomem = true;
		return NULL;
	}
	v->type = t;
	v->pos = pos;
	return v;
}

void jp_free(struct jp_value *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		jp_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->kpos);
	free(v->s);
	free(v);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int read_hex4(struct jp *j, unsigned *out)
{
	unsigned v = 0;

	if (j->end - j->p < 4)
		return fail(j, "truncated \\u escape%s", NULL);
	for (int i = 0; i < 4; i++) {
		int h = hexval(j->p[i]);

		if (h < 0)
			return fail(j, "bad \\u escape%s", NULL);
		v = v << 4 | (unsigned)h;
	}
	j->p += 4;
	*out = v;
	return 0;
}

static size_t put_utf8(char *d, unsigned cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | cp >> 6);
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | cp >> 12);
		d[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | cp >> 18);
	d[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	d[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Length of the UTF-8 sequence at @p (at most @n bytes), 0 when it is
 * not well formed: overlong forms, surrogates and code points above
 * U+10FFFF are refused, as jansson refuses them, so that every string
 * we accept can be handed to jansson again.
 */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned cp, min;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2, cp = p[0] & 0x1f, min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3, cp = p[0] & 0x0f, min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4, cp = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
		return 0;
	return len;
}

/* Reads a string at j->p (the opening quote) into a new buffer. */
static int read_string(struct jp *j, char **out, size_t *outlen)
{
	const char *q;
	char *buf, *d;

	j->p++;
	/* The decoded string is never longer than its source text. */
	for (q = j->p; q < j->end && *q != '"'; q++)
		if (*q == '\\' && q + 1 < j->end)
			q++;
	buf = malloc((size_t)(q - j->p) + 1);
	if (!buf) {
		j->nomem = true;
		return -2;
	}
	d = buf;
	for (;;) {
		unsigned char c;

		if (j->p >= j->end) {
			free(buf);
			return fail(j, "unterminated string%s", NULL);
		}
		c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			break;
		}
		if (c < 0x20) {
			free(buf);
			return fail(j, "control character in a string%s", NULL);
		}
		if (c >= 0x80) {
			size_t len = utf8_seq((const unsigned char *)j->p,
					      (size_t)(j->end - j->p));

			if (!len) {
				free(buf);
				return fail(j, "string is not UTF-8%s", NULL);
			}
			memcpy(d, j->p, len);
			d += len;
			j->p += len;
			continue;
		}
		if (c != '\\') {
			*d++ = (char)c;
			j->p++;
			continue;
		}
		j->p++;
		if (j->p >= j->end) {
			free(buf);
			return fail(j, "unterminated string%s", NULL);
		}
		switch (*j->p++) {
		case '"': *d++ = '"'; break;
		case '\\': *d++ = '\\'; break;
		case '/': *d++ = '/'; break;
		case 'b': *d++ = '\b'; break;
		case 'f': *d++ = '\f'; break;
		case 'n': *d++ = '\n'; break;
		case 'r': *d++ = '\r'; break;
		case 't': *d++ = '\t'; break;
		case 'u': {
			unsigned cp, lo;

			if (read_hex4(j, &cp)) {
				free(buf);
				return -1;
			}
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (j->end - j->p < 6 || j->p[0] != '\\' ||
				    j->p[1] != 'u') {
					free(buf);
					return fail(j, "lone surrogate in \\u escape%s",
						    NULL);
				}
				j->p += 2;
				if (read_hex4(j, &lo)) {
					free(buf);
					return -1;
				}
				if (lo < 0xdc00 || lo >= 0xe000) {
					free(buf);
					return fail(j, "bad surrogate pair%s", NULL);
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				free(buf);
				return fail(j, "lone surrogate in \\u escape%s",
					    NULL);
			}
			if (cp == 0) {
				free(buf);
				return fail(j, "NUL character in a string%s",
					    NULL);
			}
			/* 6 source bytes always cover up to 3 UTF-8 bytes;
			 * a pair (12 bytes) covers 4. */
			d += put_utf8(d, cp);
			break;
		}
		default:
			j->p--;
			free(buf);
			return fail(j, "bad escape in a string%s", NULL);
		}
	}
	*d = '\0';
	*out = buf;
	*outlen = (size_t)(d - buf);
	return 0;
}

static int parse_value(struct jp *j, struct jp_value **out);

static int parse_number(struct jp *j, struct jp_value **out)
{
	struct jp_pos pos = here(j);
	const char *s = j->p;
	char buf[64];
	bool real = false;
	struct jp_value *v;
	size_t n;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return fail(j, "bad number%s", NULL);
	if (*j->p == '0') {
		j->p++;
	} else {
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && *j->p == '.') {
		real = true;
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return fail(j, "bad number%s", NULL);
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		real = true;
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return fail(j, "bad number%s", NULL);
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	n = (size_t)(j->p - s);
	if (n >= sizeof(buf)) {
		j->p = s;
		return fail(j, "number too long%s", NULL);
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	v = new_value(j, JP_INT, pos);
	if (!v)
		return -2;
	if (!real) {
		errno = 0;
		v->i = strtoll(buf, NULL, 10);
		if (errno == ERANGE)
			real = true;
	}
	if (real) {
		v->type = JP_REAL;
		v->d = strtod(buf, NULL);
	}
	*out = v;
	return 0;
}

static int grow(struct jp *j, struct jp_value *v, size_t *cap, bool obj)
{
	size_t ncap = *cap ? *cap * 2 : 4;
	struct jp_value **items;

	if (v->n < *cap)
		return 0;
	items = realloc(v->items, ncap * sizeof(*items));
	if (!items)
		goto nomem;
	v->items = items;
	if (obj) {
		char **keys = realloc(v->keys, ncap * sizeof(*keys));
		struct jp_pos *kpos;

		if (!keys)
			goto nomem;
		v->keys = keys;
		kpos = realloc(v->kpos, ncap * sizeof(*kpos));
		if (!kpos)
			goto nomem;
		v->kpos = kpos;
	}
	*cap = ncap;
	return 0;
nomem:
	j->nomem = true;
	return -2;
}

static int parse_array(struct jp *j, struct jp_value *v)
{
	size_t cap = 0;
	int ret;

	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		struct jp_value *item = NULL;

		ret = grow(j, v, &cap, false);
		if (ret)
			return ret;
		ret = parse_value(j, &item);
		/* Kept also on failure, so that jp_free() frees it. */
		v->items[v->n++] = item;
		if (ret)
			return ret;
		skip_ws(j);
		if (j->p >= j->end)
			return fail(j, "unterminated array%s", NULL);
		if (*j->p == ']') {
			j->p++;
			return 0;
		}
		if (*j->p != ',')
			return fail(j, "expected ',' or ']' in an array%s", NULL);
		j->p++;
	}
}

/*
 * The keys of a large object, hashed (open addressing, 1 + the key's
 * index, 0 free): comparing each key with every earlier one is quadratic,
 * and a schema's object may hold many thousands of keys.  Small objects
 * are searched directly.
 */
#define KEYSET_FROM 16

struct keyset {
	size_t *slot;
	size_t cap;		/* a power of two, over twice the keys */
};

static size_t key_hash(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * UINT64_C(0x100000001b3);
	return (size_t)h;
}

/* Puts key @i of @v in @ks, which has room. */
static void keyset_put(struct keyset *ks, const struct jp_value *v, size_t i)
{
	size_t k = key_hash(v->keys[i]) & (ks->cap - 1);

	while (ks->slot[k])
		k = (k + 1) & (ks->cap - 1);
	ks->slot[k] = i + 1;
}

/* Whether @key is among the keys of @v; false, with *@nomem, when the
 * set cannot grow. */
static bool key_seen(struct keyset *ks, const struct jp_value *v,
		     const char *key, bool *nomem)
{
	if (v->n < KEYSET_FROM) {
		for (size_t i = 0; i < v->n; i++)
			if (!strcmp(v->keys[i], key))
				return true;
		return false;
	}
	if (2 * (v->n + 1) > ks->cap) {
		size_t cap = ks->cap ? 2 * ks->cap : 4 * KEYSET_FROM;
		size_t *slot = calloc(cap, sizeof(*slot));

		if (!slot) {
			*nomem = true;
			return false;
		}
		free(ks->slot);
		ks->slot = slot;
		ks->cap = cap;
		for (size_t i = 0; i < v->n; i++)
			keyset_put(ks, v, i);
	}
	for (size_t k = key_hash(key) & (ks->cap - 1); ks->slot[k];
	     k = (k + 1) & (ks->cap - 1))
		if (!strcmp(v->keys[ks->slot[k] - 1], key))
			return true;
	return false;
}

static int parse_members(struct jp *j, struct jp_value *v,
			 struct keyset *ks);

static int parse_object(struct jp *j, struct jp_value *v)
{
	struct keyset ks = { 0 };
	int ret = parse_members(j, v, &ks);

	free(ks.slot);
	return ret;
}

static int parse_members(struct jp *j, struct jp_value *v,
			 struct keyset *ks)
{
	size_t cap = 0;
	int ret;

	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return 0;
	}
	for (;;) {
		struct jp_value *item = NULL;
		struct jp_pos kpos;
		char *key = NULL;
		size_t klen;

		skip_ws(j);
		if (j->p >= j->end || *j->p != '"')
			return fail(j, "expected a string key in an object%s",
				    NULL);
		kpos = here(j);
		ret = read_string(j, &key, &klen);
		if (ret)
			return ret;
		if (key_seen(ks, v, key, &j->nomem)) {
			j->p = j->start + kpos.off;
			j->line = kpos.line;
			j->line_start = j->p - (kpos.col - 1);
			ret = fail(j, "duplicate key '%s'", key);
			free(key);
			return ret;
		}
		if (j->nomem) {
			free(key);
			return -2;
		}
		ret = grow(j, v, &cap, true);
		if (ret) {
			free(key);
			return ret;
		}
		v->keys[v->n] = key;
		v->kpos[v->n] = kpos;
		v->items[v->n] = NULL;
		v->n++;
		if (ks->cap)
			keyset_put(ks, v, v->n - 1);
		skip_ws(j);
		if (j->p >= j->end || *j->p != ':')
			return fail(j, "expected ':' after an object key%s", NULL);
		j->p++;
		ret = parse_value(j, &item);
		v->items[v->n - 1] = item;
		if (ret)
			return ret;
		skip_ws(j);
		if (j->p >= j->end)
			return fail(j, "unterminated object%s", NULL);
		if (*j->p == '}') {
			j->p++;
			return 0;
		}
		if (*j->p != ',')
			return fail(j, "expected ',' or '}' in an object%s", NULL);
		j->p++;
	}
}

static bool literal(struct jp *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n))
		return false;
	j->p += n;
	return true;
}

static int parse_value(struct jp *j, struct jp_value **out)
{
	struct jp_value *v;
	struct jp_pos pos;
	int ret = 0;

	skip_ws(j);
	pos = here(j);
	if (j->p >= j->end)
		return fail(j, "unexpected end of the text%s", NULL);
	switch (*j->p) {
	case '{':
	case '[':
		if (j->depth >= JP_DEPTH_MAX)
			return fail(j, "nesting deeper than the limit%s", NULL);
		v = new_value(j, *j->p == '{' ? JP_OBJECT : JP_ARRAY, pos);
		if (!v)
			return -2;
		*out = v;
		j->depth++;
		ret = v->type == JP_OBJECT ? parse_object(j, v)
					   : parse_array(j, v);
		j->depth--;
		return ret;
	case '"':
		v = new_value(j, JP_STRING, pos);
		if (!v)
			return -2;
		*out = v;
		return read_string(j, &v->s, &v->slen);
	case 't':
	case 'f':
		v = new_value(j, JP_BOOL, pos);
		if (!v)
			return -2;
		*out = v;
		v->b = *j->p == 't';
		if (!literal(j, v->b ? "true" : "false"))
			return fail(j, "bad literal%s", NULL);
		return 0;
	case 'n':
		v = new_value(j, JP_NULL, pos);
		if (!v)
			return -2;
		*out = v;
		if (!literal(j, "null"))
			return fail(j, "bad literal%s", NULL);
		return 0;
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return parse_number(j, out);
		return fail(j, "unexpected character%s", NULL);
	}
}

int jp_parse(const char *text, size_t len, struct jp_value **out,
	     struct jp_error *e)
{
	struct jp j = {
		.p = text,
		.end = text + len,
		.start = text,
		.line = 1,
		.line_start = text,
		.e = e,
	};
	struct jp_value *v = NULL;
	int ret;

	*out = NULL;
	/* A UTF-8 byte order mark is allowed and ignored. */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		j.p += 3;
	ret = parse_value(&j, &v);
	if (!ret) {
		skip_ws(&j);
		if (j.p != j.end)
			ret = fail(&j, "text after the JSON value%s", NULL);
	}
	if (ret || j.nomem) {
		jp_free(v);
		if (j.nomem && e) {
			e->pos = here(&j);
			snprintf(e->msg, sizeof(e->msg), "out of memory");
		}
		return j.nomem ? -2 : -1;
	}
	*out = v;
	return 0;
}

const struct jp_value *jp_get(const struct jp_value *o, const char *key)
{
	if (!o || o->type != JP_OBJECT)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->keys[i], key))
			return o->items[i];
	return NULL;
}

struct jp_pos jp_key_pos(const struct jp_value *o, const char *key)
{
	if (o && o->type == JP_OBJECT)
		for (size_t i = 0; i < o->n; i++)
			if (!strcmp(o->keys[i], key))
				return o->kpos[i];
	return o ? o->pos : (struct jp_pos){ 1, 1, 0 };
}

const char *jp_type_name(enum jp_type t)
{
	switch (t) {
	case JP_NULL:
		return "null";
	case JP_BOOL:
		return "a boolean";
	case JP_INT:
		return "an integer";
	case JP_REAL:
		return "a number";
	case JP_STRING:
		return "a string";
	case JP_ARRAY:
		return "an array";
	case JP_OBJECT:
		return "an object";
	}
	return "a value";
}

json_t *jp_to_json(const struct jp_value *v)
{
	json_t *j = NULL;

	switch (v->type) {
	case JP_NULL:
		return json_null();
	case JP_BOOL:
		return json_boolean(v->b);
	case JP_INT:
		return json_integer(v->i);
	case JP_REAL:
		return json_real(v->d);
	case JP_STRING:
		return json_stringn(v->s, v->slen);
	case JP_ARRAY:
		j = json_array();
		for (size_t i = 0; j && i < v->n; i++) {
			json_t *k = jp_to_json(v->items[i]);

			/* json_array_append_new steals k, also on failure. */
			if (!k || json_array_append_new(j, k)) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	case JP_OBJECT:
		j = json_object();
		for (size_t i = 0; j && i < v->n; i++) {
			json_t *k = jp_to_json(v->items[i]);

			if (!k || json_object_set_new(j, v->keys[i], k)) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	}
	return NULL;
}
