/* SPDX-License-Identifier: MIT */
/*
 * libvirt save images (`virsh save`, `managedsave`) and the wrapper record.
 *
 * The layout, from libvirt's src/qemu/qemu_saveimage.h: a header of 16
 * magic bytes ("LibvirtQemudSave", or "LibvirtQemudPart" while the save is
 * still being written) and 19 u32 words in the writing host's byte order:
 * version (1 or 2), data_len, was_running, format, cookieOffset and 14
 * unused words.  Then data_len bytes: the domain XML, NUL-terminated; from
 * cookieOffset (when non-zero) the save cookie XML; zeros up to data_len
 * (libvirt leaves 64 KiB of room for edited XML).  Then the migration
 * stream, raw or compressed with the program that the format names.  A
 * version 1 image is always raw.  libvirt itself swaps the words when the
 * version reads above 2, and so does this reader.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unwrap.h"

#define MAGIC_SAVE "LibvirtQemudSave"
#define MAGIC_PART "LibvirtQemudPart"
#define MAGIC_LEN 16
#define VERSION_MAX 2

static const char *const format_names[MIG_LIBVIRT_FORMAT_COUNT] = {
	[MIG_LIBVIRT_RAW] = "raw",	[MIG_LIBVIRT_GZIP] = "gzip",
	[MIG_LIBVIRT_BZIP2] = "bzip2",	[MIG_LIBVIRT_XZ] = "xz",
	[MIG_LIBVIRT_LZOP] = "lzop",	[MIG_LIBVIRT_ZSTD] = "zstd",
	[MIG_LIBVIRT_SPARSE] = "sparse",
};

const char *mig_compression_name(enum mig_compression c)
{
	switch (c) {
	case MIG_COMP_GZIP:
		return "gzip";
	case MIG_COMP_BZIP2:
		return "bzip2";
	case MIG_COMP_XZ:
		return "xz";
	case MIG_COMP_LZOP:
		return "lzop";
	case MIG_COMP_ZSTD:
		return "zstd";
	default:
		return "none";
	}
}

const char *mig_libvirt_format_name(uint32_t format)
{
	return format < MIG_LIBVIRT_FORMAT_COUNT ? format_names[format] : NULL;
}

enum mig_compression mig_libvirt_compression(uint32_t format)
{
	switch (format) {
	case MIG_LIBVIRT_GZIP:
		return MIG_COMP_GZIP;
	case MIG_LIBVIRT_BZIP2:
		return MIG_COMP_BZIP2;
	case MIG_LIBVIRT_XZ:
		return MIG_COMP_XZ;
	case MIG_LIBVIRT_LZOP:
		return MIG_COMP_LZOP;
	case MIG_LIBVIRT_ZSTD:
		return MIG_COMP_ZSTD;
	default:
		return MIG_COMP_NONE;
	}
}

bool libvirt_sniff(const uint8_t *p, size_t n)
{
	return n >= MAGIC_LEN && (!memcmp(p, MAGIC_SAVE, MAGIC_LEN) ||
				  !memcmp(p, MAGIC_PART, MAGIC_LEN));
}

static uint32_t word(const uint8_t *p, bool big)
{
	if (big)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		       (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

/* The host order is little-endian when the first byte of 1 is 1. */
static bool host_big(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *)&one == 0;
}

/* Decodes the five XML entities and numeric ASCII references in place. */
static void unescape(char *s)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&apos;", '\'' }, { "&quot;", '"' },
	};
	char *o = s;

	while (*s) {
		size_t i;

		if (*s != '&') {
			*o++ = *s++;
			continue;
		}
		for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
			size_t l = strlen(ents[i].ent);

			if (!strncmp(s, ents[i].ent, l)) {
				*o++ = ents[i].c;
				s += l;
				break;
			}
		}
		if (i < sizeof(ents) / sizeof(ents[0]))
			continue;
		if (s[1] == '#') {
			char *end;
			unsigned long v = s[2] == 'x'
				? strtoul(s + 3, &end, 16)
				: strtoul(s + 2, &end, 10);

			if (*end == ';' && v > 0 && v < 0x80) {
				*o++ = (char)v;
				s = end + 1;
				continue;
			}
		}
		*o++ = *s++;
	}
	*o = '\0';
}

/* End of the tag that starts at @p ('<'), quotes respected; NULL if none. */
static const char *tag_end(const char *p)
{
	char q = 0;

	for (; *p; p++) {
		if (q) {
			if (*p == q)
				q = 0;
		} else if (*p == '"' || *p == '\'') {
			q = *p;
		} else if (*p == '>') {
			return p;
		}
	}
	return NULL;
}

/*
 * The text of the first element @tag directly under the root element of
 * @xml, whitespace trimmed and entities decoded; NULL when there is none
 * (or no memory).  Enough for libvirt's own domain XML, not a parser.
 */
static char *root_child_text(const char *xml, const char *tag)
{
	size_t tlen = strlen(tag);
	const char *p = xml;
	int depth = 0;

	while ((p = strchr(p, '<'))) {
		const char *end, *name, *text, *stop;
		size_t nlen;
		char *v;

		if (!strncmp(p, "<!--", 4)) {
			p = strstr(p + 4, "-->");
			if (!p)
				return NULL;
			p += 3;
			continue;
		}
		if (!strncmp(p, "<![CDATA[", 9)) {
			p = strstr(p + 9, "]]>");
			if (!p)
				return NULL;
			p += 3;
			continue;
		}
		end = tag_end(p);
		if (!end)
			return NULL;
		if (p[1] == '?' || p[1] == '!') {
			p = end + 1;
			continue;
		}
		if (p[1] == '/') {
			depth--;
			p = end + 1;
			continue;
		}
		name = p + 1;
		nlen = strcspn(name, " \t\r\n/>");
		if (end[-1] == '/') {
			p = end + 1;
			continue;
		}
		if (depth == 1 && nlen == tlen && !strncmp(name, tag, tlen)) {
			text = end + 1;
			stop = strchr(text, '<');
			if (!stop)
				return NULL;
			while (text < stop && strchr(" \t\r\n", *text))
				text++;
			while (stop > text && strchr(" \t\r\n", stop[-1]))
				stop--;
			v = strndup(text, (size_t)(stop - text));
			if (v)
				unescape(v);
			return v;
		}
		depth++;
		p = end + 1;
	}
	return NULL;
}

int libvirt_read(struct mig_reader *r, struct mig_libvirt *lv,
		 struct mig_error *err)
{
	uint8_t hdr[MIG_LIBVIRT_HEADER_SIZE];
	const uint64_t at = mig_rd_offset(r);
	const uint8_t *data;
	bool big = host_big();
	size_t xml_len;
	int ret;

	ret = mig_rd_bytes(r, hdr, sizeof(hdr), err);
	if (ret) {
		mig_error_push_path(err, "libvirt save image header");
		return ret;
	}
	memcpy(lv->magic, hdr, MAGIC_LEN);
	lv->magic[MAGIC_LEN] = '\0';
	lv->complete = !memcmp(hdr, MAGIC_SAVE, MAGIC_LEN);
	lv->offset = at;
	lv->version = word(hdr + 16, big);
	if (lv->version > VERSION_MAX) {
		/* Written on a host of the other byte order. */
		big = !big;
		lv->swapped = true;
		lv->version = word(hdr + 16, big);
	}
	if (lv->version == 0 || lv->version > VERSION_MAX)
		return mig_error_set(err, MIG_EVERSION, at + 16,
				     "libvirt save image version %" PRIu32 " (versions 1 and 2 are known)",
				     lv->version);
	lv->data_len = word(hdr + 20, big);
	lv->was_running = word(hdr + 24, big);
	lv->format = word(hdr + 28, big);
	lv->cookie_offset = word(hdr + 32, big);
	if (lv->version >= 2 && lv->format >= MIG_LIBVIRT_FORMAT_COUNT)
		return mig_error_set(err, MIG_EUNSUP, at + 28,
				     "libvirt save image format %" PRIu32 " is unknown (0 to %d are: raw, gzip, bzip2, xz, lzop, zstd, sparse)",
				     lv->format, MIG_LIBVIRT_FORMAT_COUNT - 1);
	if (lv->data_len == 0)
		return mig_error_set(err, MIG_EMAGIC, at + 20,
				     "libvirt save image header: the domain XML has length 0");
	if (lv->data_len > MIG_LIBVIRT_DATA_MAX)
		return mig_error_set(err, MIG_ELIMIT, at + 20,
				     "libvirt save image header: %" PRIu32 " bytes of domain XML exceed the limit of %u",
				     lv->data_len, MIG_LIBVIRT_DATA_MAX);
	if (lv->cookie_offset >= lv->data_len)
		return mig_error_set(err, MIG_EMAGIC, at + 32,
				     "libvirt save image header: cookie offset %" PRIu32 " is outside the %" PRIu32 " bytes of XML",
				     lv->cookie_offset, lv->data_len);
	ret = mig_rd_peek(r, lv->data_len, &data, err);
	if (ret) {
		mig_error_push_path(err, "libvirt save image domain XML");
		return ret;
	}
	xml_len = lv->cookie_offset ? lv->cookie_offset : lv->data_len;
	lv->xml = strndup((const char *)data, xml_len);
	if (!lv->xml)
		return mig_error_set(err, MIG_ENOMEM, at, "out of memory");
	if (lv->cookie_offset) {
		const char *c = (const char *)data + lv->cookie_offset;
		size_t clen = lv->data_len - lv->cookie_offset;

		if (clen && c[0]) {
			lv->cookie = strndup(c, clen);
			if (!lv->cookie)
				return mig_error_set(err, MIG_ENOMEM, at,
						     "out of memory");
		}
	}
	lv->name = root_child_text(lv->xml, "name");
	lv->uuid = root_child_text(lv->xml, "uuid");
	return mig_rd_skip(r, lv->data_len, err);
}

static void libvirt_free(struct mig_libvirt *lv)
{
	free(lv->xml);
	free(lv->cookie);
	free(lv->name);
	free(lv->uuid);
}

void mig_wrapper_free(struct mig_wrapper *w)
{
	if (!w)
		return;
	libvirt_free(&w->libvirt);
	free(w);
}

static bool dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

struct mig_wrapper *mig_wrapper_dup(const struct mig_wrapper *w)
{
	struct mig_wrapper *c;

	if (!w)
		return NULL;
	c = malloc(sizeof(*c));
	if (!c)
		return NULL;
	*c = *w;
	if (!dup_str(&c->libvirt.xml, w->libvirt.xml) ||
	    !dup_str(&c->libvirt.cookie, w->libvirt.cookie) ||
	    !dup_str(&c->libvirt.name, w->libvirt.name) ||
	    !dup_str(&c->libvirt.uuid, w->libvirt.uuid)) {
		mig_wrapper_free(c);
		return NULL;
	}
	return c;
}

static json_t *u64_json(uint64_t v)
{
	char buf[32];

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
}

/* A string that jansson accepts: invalid UTF-8 is replaced by '?'. */
static json_t *text_json(const char *s)
{
	json_t *j;
	char *copy;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *comp_json(enum mig_compression c)
{
	return c == MIG_COMP_NONE ? json_null()
				  : json_string(mig_compression_name(c));
}

json_t *mig_wrapper_json(const struct mig_wrapper *w, bool xml)
{
	const struct mig_libvirt *lv = &w->libvirt;
	json_t *o = json_object();
	json_t *l;

	if (!o)
		return NULL;
	/* Every *_set_new below steals the new value's reference. */
	json_object_set_new(o, "offset", u64_json(w->offset));
	json_object_set_new(o, "compression", comp_json(w->compression));
	if (w->has_libvirt) {
		const char *fmt = mig_libvirt_format_name(lv->format);

		l = json_object();
		json_object_set_new(l, "magic", text_json(lv->magic));
		json_object_set_new(l, "complete", json_boolean(lv->complete));
		json_object_set_new(l, "version", json_integer(lv->version));
		json_object_set_new(l, "byte_order",
				    json_string(lv->swapped ? "swapped"
							    : "native"));
		json_object_set_new(l, "format",
				    fmt ? json_string(fmt) : json_null());
		json_object_set_new(l, "format_id", json_integer(lv->format));
		json_object_set_new(l, "was_running",
				    json_boolean(lv->was_running != 0));
		json_object_set_new(l, "offset", u64_json(lv->offset));
		json_object_set_new(l, "data_len", json_integer(lv->data_len));
		json_object_set_new(l, "data_offset",
				    u64_json(lv->offset +
					     MIG_LIBVIRT_HEADER_SIZE +
					     lv->data_len));
		json_object_set_new(l, "xml_size",
				    json_integer((json_int_t)strlen(lv->xml)));
		json_object_set_new(l, "name", text_json(lv->name));
		json_object_set_new(l, "uuid", text_json(lv->uuid));
		if (xml) {
			json_object_set_new(l, "xml", text_json(lv->xml));
			json_object_set_new(l, "cookie", text_json(lv->cookie));
		}
		json_object_set_new(o, "libvirt", l);
	}
	json_object_set_new(o, "stream_compression",
			    comp_json(w->stream_compression));
	json_object_set_new(o, "stream_offset", u64_json(w->stream_offset));
	return o;
}
