/* SPDX-License-Identifier: MIT */
/*
 * A small JSON reader that remembers where every value and every object key
 * starts (line and column, both from 1), so that the schema loader can say
 * "x86_64.json:120:17: unknown key 'sise'" about a well-formed file, which
 * jansson cannot.  Internal to the library.
 */
#ifndef MIGSTREAM_JSONPOS_H
#define MIGSTREAM_JSONPOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Deepest nesting accepted. */
#define JP_DEPTH_MAX 200

enum jp_type {
	JP_NULL,
	JP_BOOL,
	JP_INT,		/* an integer that fits int64_t */
	JP_REAL,	/* any other number */
	JP_STRING,
	JP_ARRAY,
	JP_OBJECT,
};

struct jp_pos {
	uint32_t line;
	uint32_t col;
	size_t off;		/* byte offset in the text */
};

struct jp_value {
	enum jp_type type;
	struct jp_pos pos;
	bool b;
	int64_t i;
	double d;
	char *s;		/* JP_STRING: UTF-8, NUL-terminated */
	size_t slen;
	/* JP_ARRAY: items; JP_OBJECT: member values, keys and key positions */
	struct jp_value **items;
	char **keys;
	struct jp_pos *kpos;
	size_t n;
};

struct jp_error {
	struct jp_pos pos;
	char msg[200];
};

/*
 * Parses @len bytes at @text.  Duplicate keys in one object are an error
 * (reported at the second key).  Returns 0, -1 on a syntax error (with
 * @e filled) or -2 when out of memory.
 */
int jp_parse(const char *text, size_t len, struct jp_value **out,
	     struct jp_error *e);
void jp_free(struct jp_value *v);

/* Member @key of object @o, or NULL (also when @o is not an object). */
const struct jp_value *jp_get(const struct jp_value *o, const char *key);
/* Position of member @key of object @o (the object's own when absent). */
struct jp_pos jp_key_pos(const struct jp_value *o, const char *key);
/* Name of a type for messages ("an object", "a string", ...). */
const char *jp_type_name(enum jp_type t);
/* The same value as a jansson tree (NULL when out of memory). */
json_t *jp_to_json(const struct jp_value *v);

#endif
