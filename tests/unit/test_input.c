/* SPDX-License-Identifier: MIT */
/*
 * Wrapped inputs (input.h): compressed streams, libvirt save images,
 * --offset, spooling a non-seekable input, and the progress callback.
 *
 * The inputs are real: a QEMU 7.2 stream from testdata/streams compressed
 * here with the same libraries the programs use (and with the lzop
 * program), and the libvirt images in testdata/libvirt that real libvirt
 * wrote.  A wrapped input must give the same tree as the bare stream in it.
 * Run from the repository root.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "migstream/migstream.h"

#define STREAM "testdata/streams/qemu-7.2/v7.2_pc-q35-7.2_plain.mig"
#define LIBVIRT_DIR "testdata/libvirt"
#define LV_NAME "migstream-tiny"
#define LV_UUID "6d1f4c2a-3b5e-4f70-9a81-2c3d4e5f6a7b"

struct bytes {
	uint8_t *p;
	size_t len;
};

static struct bytes load(const char *path)
{
	struct bytes b = { NULL, 0 };
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		fail_msg("cannot open %s: %s (run from the repository root)",
			 path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b.p = malloc((size_t)n + 1);
	assert_non_null(b.p);
	b.len = fread(b.p, 1, (size_t)n, f);
	assert_int_equal(b.len, (size_t)n);
	fclose(f);
	return b;
}

static struct bytes concat(const void *a, size_t alen, const void *b,
			   size_t blen)
{
	struct bytes r = { malloc(alen + blen + 1), alen + blen };

	assert_non_null(r.p);
	memcpy(r.p, a, alen);
	memcpy(r.p + alen, b, blen);
	return r;
}

/* ---- compressors (the libraries behind gzip, xz, zstd, bzip2) ---- */

static struct bytes gzip_mem(const uint8_t *p, size_t n)
{
	z_stream z;
	struct bytes b;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
				      Z_DEFAULT_STRATEGY), Z_OK);
	b.len = deflateBound(&z, n);
	b.p = malloc(b.len);
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	z.next_out = b.p;
	z.avail_out = (uInt)b.len;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	b.len = z.total_out;
	deflateEnd(&z);
	return b;
}

static struct bytes xz_mem(const uint8_t *p, size_t n)
{
	struct bytes b = { malloc(lzma_stream_buffer_bound(n)), 0 };

	assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, p,
						 n, b.p, &b.len,
						 lzma_stream_buffer_bound(n)),
			 LZMA_OK);
	return b;
}

static struct bytes zstd_mem(const uint8_t *p, size_t n)
{
	struct bytes b = { malloc(ZSTD_compressBound(n)), 0 };

	b.len = ZSTD_compress(b.p, ZSTD_compressBound(n), p, n, 3);
	assert_false(ZSTD_isError(b.len));
	return b;
}

static struct bytes bzip2_mem(const uint8_t *p, size_t n)
{
	unsigned int len = (unsigned int)(n + n / 100 + 600);
	struct bytes b = { malloc(len), 0 };

	assert_int_equal(BZ2_bzBuffToBuffCompress((char *)b.p, &len,
						  (char *)p, (unsigned)n, 9,
						  0, 0),
			 BZ_OK);
	b.len = len;
	return b;
}

/* lzop has no library: the real program, through a temporary file. */
static struct bytes lzop_mem(const uint8_t *p, size_t n, bool *ok)
{
	char in[] = "/tmp/test_input.XXXXXX";
	char cmd[256];
	struct bytes b = { NULL, 0 };
	FILE *f;
	int fd = mkstemp(in);
	size_t cap = n + 4096;

	*ok = false;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
	snprintf(cmd, sizeof(cmd), "lzop -c < %s 2>/dev/null", in);
	f = popen(cmd, "r");
	b.p = malloc(cap);
	if (f) {
		b.len = fread(b.p, 1, cap, f);
		*ok = pclose(f) == 0 && b.len > 0;
	}
	unlink(in);
	return b;
}

/* ---- reading ---- */

static struct mig_stream *parse_mem(const void *p, size_t n,
				    const struct mig_input_opts *opts,
				    const struct mig_parse_opts *popts,
				    int *ret, struct mig_error *err)
{
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;

	mig_error_clear(err);
	*ret = mig_reader_from_mem(&r, p, n, "mem", err);
	assert_int_equal(*ret, 0);
	*ret = mig_reader_unwrap(&r, opts, err);
	if (!*ret)
		*ret = mig_stream_read(r, popts, &s, err);
	mig_reader_free(r);
	return s;
}

static struct mig_stream *parse_path(const char *path, int *ret,
				     struct mig_error *err)
{
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;

	mig_error_clear(err);
	*ret = mig_reader_open(&r, path, err);
	if (!*ret)
		*ret = mig_stream_read(r, NULL, &s, err);
	mig_reader_free(r);
	return s;
}

/* Reads @p through a pipe that a child process fills. */
static struct mig_stream *parse_pipe(const void *p, size_t n, int *ret,
				     struct mig_error *err)
{
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	int fds[2], status;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const uint8_t *q = p;

		close(fds[0]);
		while (n) {
			ssize_t k = write(fds[1], q, n > 65536 ? 65536 : n);

			if (k <= 0)
				_exit(1);
			q += k;
			n -= (size_t)k;
		}
		_exit(0);
	}
	close(fds[1]);
	mig_error_clear(err);
	*ret = mig_reader_from_fd(&r, fds[0], "pipe", err);
	if (!*ret)
		*ret = mig_reader_unwrap(&r, NULL, err);
	if (!*ret)
		*ret = mig_stream_read(r, NULL, &s, err);
	mig_reader_free(r);
	close(fds[0]);
	waitpid(pid, &status, 0);
	return s;
}

static void must_parse(int ret, const struct mig_error *err, const char *what)
{
	char msg[1024];

	if (ret)
		fail_msg("%s", mig_error_format(err, what, msg, sizeof(msg)));
}

/* The dump without what names the input: the file, its size, wrapper. */
static json_t *tree(const struct mig_stream *s, unsigned flags)
{
	json_t *j = mig_dump_json(s, flags);

	assert_non_null(j);
	json_object_del(j, "file");
	json_object_del(j, "size");
	json_object_del(j, "wrapper");
	return j;
}

/* Drops every "value" below @j (the structure and offsets stay). */
static void strip_values(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_object(j)) {
		json_object_del(j, "value");
		json_object_foreach(j, key, v)
			strip_values(v);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			strip_values(v);
	}
}

/* Strips the values of the sections named @name, wherever they are. */
static void mask_section(json_t *dump, const char *name)
{
	json_t *rec;
	size_t i;

	json_array_foreach(json_object_get(dump, "records"), i, rec) {
		const json_t *n = json_object_get(rec, "name");

		if (json_is_string(n) && !strcmp(json_string_value(n), name))
			strip_values(rec);
	}
}

static void assert_same_tree(json_t *a, json_t *b, const char *what)
{
	if (!json_equal(a, b)) {
		char *sa = json_dumps(a, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		char *sb = json_dumps(b, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		size_t i = 0;

		while (sa[i] && sa[i] == sb[i])
			i++;
		fail_msg("%s: trees differ at character %zu: ...%.80s... vs ...%.80s...",
			 what, i, sa + (i > 40 ? i - 40 : 0),
			 sb + (i > 40 ? i - 40 : 0));
	}
}

/* ---- plain compressed streams ---- */

struct comp_case {
	const char *name;
	enum mig_compression c;
};

static void check_compressed(void **state)
{
	const struct comp_case *cc = *state;
	struct bytes raw = load(STREAM), z = { NULL, 0 };
	struct mig_stream *bare, *s;
	struct mig_error err;
	json_t *jb, *js;
	bool ok = true;
	int ret;

	switch (cc->c) {
	case MIG_COMP_GZIP:
		z = gzip_mem(raw.p, raw.len);
		break;
	case MIG_COMP_XZ:
		z = xz_mem(raw.p, raw.len);
		break;
	case MIG_COMP_ZSTD:
		z = zstd_mem(raw.p, raw.len);
		break;
	case MIG_COMP_BZIP2:
		z = bzip2_mem(raw.p, raw.len);
		break;
	case MIG_COMP_LZOP:
		z = lzop_mem(raw.p, raw.len, &ok);
		break;
	default:
		fail();
	}
	if (!ok) {
		free(raw.p);
		free(z.p);
		skip();
	}
	bare = parse_mem(raw.p, raw.len, NULL, NULL, &ret, &err);
	must_parse(ret, &err, "bare");
	s = parse_mem(z.p, z.len, NULL, NULL, &ret, &err);
	must_parse(ret, &err, cc->name);
	assert_non_null(s->wrapper);
	assert_int_equal(s->wrapper->compression, cc->c);
	assert_false(s->wrapper->has_libvirt);
	assert_int_equal(s->wrapper->stream_offset, 0);
	assert_string_equal(mig_compression_name(cc->c), cc->name);
	/* Offsets are positions in the decompressed data: all equal. */
	jb = tree(bare, MIG_DUMP_OFFSETS);
	js = tree(s, MIG_DUMP_OFFSETS);
	assert_same_tree(jb, js, cc->name);
	assert_int_equal(s->size, raw.len);
	json_decref(js);
	mig_stream_free(s);

	/* The same through a pipe, in one pass. */
	s = parse_pipe(z.p, z.len, &ret, &err);
	must_parse(ret, &err, cc->name);
	js = tree(s, MIG_DUMP_OFFSETS);
	assert_same_tree(jb, js, cc->name);
	json_decref(js);
	json_decref(jb);
	mig_stream_free(s);
	mig_stream_free(bare);
	free(z.p);
	free(raw.p);
}

/* Two gzip members, as pigz or `cat a.gz b.gz` make, read as one. */
static void gzip_members(void **state)
{
	struct bytes raw = load(STREAM);
	size_t half = raw.len / 2;
	struct bytes a = gzip_mem(raw.p, half);
	struct bytes b = gzip_mem(raw.p + half, raw.len - half);
	struct bytes z = concat(a.p, a.len, b.p, b.len);
	struct bytes padded = concat(z.p, z.len, "\0\0\0\0\0\0\0\0", 8);
	struct mig_stream *s;
	struct mig_error err;
	int ret;

	(void)state;
	s = parse_mem(z.p, z.len, NULL, NULL, &ret, &err);
	must_parse(ret, &err, "two members");
	assert_true(s->complete);
	mig_stream_free(s);
	/* Zero padding after the last member is ignored... */
	s = parse_mem(padded.p, padded.len, NULL, NULL, &ret, &err);
	must_parse(ret, &err, "padded");
	mig_stream_free(s);
	/* ...but other bytes there are an error. */
	padded.p[padded.len - 1] = 'x';
	s = parse_mem(padded.p, padded.len, NULL, NULL, &ret, &err);
	assert_int_equal(ret, -MIG_EDECODE);
	assert_non_null(strstr(err.msg, "after the end of the gzip data"));
	mig_stream_free(s);
	free(a.p);
	free(b.p);
	free(z.p);
	free(padded.p);
	free(raw.p);
}

/* Compressed data cut short: a truncation that says why. */
static void gzip_truncated(void **state)
{
	struct bytes raw = load(STREAM);
	struct bytes z = gzip_mem(raw.p, raw.len);
	struct mig_stream *s;
	struct mig_error err;
	int ret;

	(void)state;
	s = parse_mem(z.p, z.len / 2, NULL, NULL, &ret, &err);
	assert_int_equal(ret, -MIG_ETRUNC);
	assert_non_null(s);
	assert_false(s->complete);
	assert_non_null(strstr(err.msg, "the gzip data ends without its end marker"));
	/* The offset is in the decompressed data, where it stopped. */
	assert_true(err.offset < raw.len);
	assert_true(err.offset > 0);
	mig_stream_free(s);
	free(z.p);
	free(raw.p);
}

static void xz_corrupt(void **state)
{
	struct bytes raw = load(STREAM);
	struct bytes z = xz_mem(raw.p, raw.len);
	struct mig_stream *s;
	struct mig_error err;
	int ret;

	(void)state;
	for (size_t i = z.len / 3; i < z.len / 3 + 64; i++)
		z.p[i] ^= 0x5a;
	s = parse_mem(z.p, z.len, NULL, NULL, &ret, &err);
	assert_int_equal(ret, -MIG_EDECODE);
	assert_non_null(strstr(err.msg, "xz data is corrupt"));
	mig_stream_free(s);
	free(z.p);
	free(raw.p);
}

/* --offset: a stream (or a compressed one) that starts inside a file. */
static void offset_inside(void **state)
{
	struct bytes raw = load(STREAM);
	struct bytes junk = { calloc(1, 1000), 1000 };
	struct bytes in = concat(junk.p, junk.len, raw.p, raw.len);
	struct bytes z = gzip_mem(raw.p, raw.len);
	struct bytes inz = concat(junk.p, junk.len, z.p, z.len);
	struct mig_input_opts o = { .offset = 1000 };
	struct mig_stream *bare, *s;
	struct mig_error err;
	json_t *jb, *js;
	int ret;

	(void)state;
	bare = parse_mem(raw.p, raw.len, NULL, NULL, &ret, &err);
	must_parse(ret, &err, "bare");
	jb = tree(bare, 0);
	s = parse_mem(in.p, in.len, &o, NULL, &ret, &err);
	must_parse(ret, &err, "offset");
	assert_int_equal(s->wrapper->offset, 1000);
	assert_int_equal(s->wrapper->stream_offset, 1000);
	/* The stream lies in the file as it is: file offsets. */
	assert_int_equal(s->vmdesc_offset, bare->vmdesc_offset + 1000);
	js = tree(s, 0);
	json_object_del(js, "vmdesc");
	json_object_del(jb, "vmdesc");
	assert_same_tree(jb, js, "offset");
	json_decref(js);
	mig_stream_free(s);

	s = parse_mem(inz.p, inz.len, &o, NULL, &ret, &err);
	must_parse(ret, &err, "offset + gzip");
	assert_int_equal(s->wrapper->compression, MIG_COMP_GZIP);
	/* Compressed: offsets in the decompressed data. */
	assert_int_equal(s->vmdesc_offset, bare->vmdesc_offset);
	mig_stream_free(s);

	o.offset = in.len + 1;
	s = parse_mem(in.p, in.len, &o, NULL, &ret, &err);
	assert_int_equal(ret, -MIG_ETRUNC);
	assert_null(s);
	assert_non_null(strstr(err.msg, "past the end of the input"));

	/* raw: a gzip magic is taken as bytes, and is no stream. */
	o.offset = 1000;
	o.raw = true;
	s = parse_mem(inz.p, inz.len, &o, NULL, &ret, &err);
	assert_int_equal(ret, -MIG_EMAGIC);
	assert_int_equal(err.offset, 1000);
	mig_stream_free(s);

	json_decref(jb);
	mig_stream_free(bare);
	free(junk.p);
	free(in.p);
	free(z.p);
	free(inz.p);
	free(raw.p);
}

/* ---- libvirt save images ---- */

static const char *const lv_formats[] = { "raw", "gzip", "bzip2", "xz",
					  "lzop" };

/* The bare stream inside the raw image, cut out by its offset. */
static struct mig_stream *bare_of_raw_image(struct bytes *img,
					    uint64_t *stream_off)
{
	struct mig_stream *s;
	struct mig_error err;
	int ret;

	*img = load(LIBVIRT_DIR "/tiny-raw.save");
	s = parse_mem(img->p, img->len, NULL, NULL, &ret, &err);
	must_parse(ret, &err, "tiny-raw.save");
	*stream_off = s->wrapper->stream_offset;
	mig_stream_free(s);
	assert_true(*stream_off < img->len);
	s = parse_mem(img->p + *stream_off, img->len - *stream_off, NULL, NULL,
		      &ret, &err);
	must_parse(ret, &err, "bare stream of tiny-raw.save");
	assert_null(s->wrapper);
	return s;
}

static void check_libvirt_header(const struct mig_wrapper *w,
				 uint32_t format)
{
	const struct mig_libvirt *lv = &w->libvirt;

	assert_true(w->has_libvirt);
	assert_int_equal(w->compression, MIG_COMP_NONE);
	assert_string_equal(lv->magic, "LibvirtQemudSave");
	assert_true(lv->complete);
	assert_int_equal(lv->version, 2);
	assert_int_equal(lv->format, format);
	assert_int_equal(lv->was_running, 0);
	assert_non_null(lv->xml);
	assert_non_null(strstr(lv->xml, "<domain"));
	assert_string_equal(lv->name, LV_NAME);
	assert_string_equal(lv->uuid, LV_UUID);
	/* libvirt leaves 64 KiB of room after the XML and cookie. */
	assert_true(lv->data_len >= strlen(lv->xml) + 65536);
	assert_int_equal(w->stream_compression,
			 mig_libvirt_compression(format));
}

/* Every real image decodes to the bare stream's tree. */
static void libvirt_images(void **state)
{
	struct bytes img;
	uint64_t off;
	struct mig_stream *bare = bare_of_raw_image(&img, &off);
	json_t *jb = tree(bare, MIG_DUMP_OFFSETS);
	json_t *jb_plain = tree(bare, 0);

	(void)state;
	mask_section(jb, "mc146818rtc");
	for (size_t i = 0; i < sizeof(lv_formats) / sizeof(lv_formats[0]);
	     i++) {
		char path[256];
		struct mig_stream *s;
		struct mig_error err;
		json_t *js;
		int ret;

		snprintf(path, sizeof(path), LIBVIRT_DIR "/tiny-%s.save",
			 lv_formats[i]);
		s = parse_path(path, &ret, &err);
		must_parse(ret, &err, path);
		assert_true(s->complete);
		assert_non_null(s->wrapper);
		check_libvirt_header(s->wrapper, (uint32_t)i);
		if (i == 0) {
			/* The same image: the same tree, exactly; offsets
			 * are file offsets, the bare ones from 0. */
			assert_int_equal(s->wrapper->stream_offset, off);
			assert_int_equal(s->vmdesc_offset,
					 bare->vmdesc_offset + off);
			js = tree(s, 0);
			json_object_del(js, "vmdesc");
			json_object_del(jb_plain, "vmdesc");
			assert_same_tree(jb_plain, js, path);
		} else {
			/* Another save of the same never-run guest: the
			 * same records, RAM and offsets; only the clock
			 * (the RTC's values) moved between saves. */
			assert_int_equal(s->wrapper->stream_offset, 0);
			js = tree(s, MIG_DUMP_OFFSETS);
			mask_section(js, "mc146818rtc");
			assert_same_tree(jb, js, path);
		}
		json_decref(js);
		mig_stream_free(s);
	}
	json_decref(jb);
	json_decref(jb_plain);
	mig_stream_free(bare);
	free(img.p);
}

static void put_word(uint8_t *hdr, int i, uint32_t v, bool big)
{
	uint8_t *p = hdr + 16 + 4 * i;

	for (int k = 0; k < 4; k++)
		p[big ? k : 3 - k] = (uint8_t)(v >> (24 - 8 * k));
}

/*
 * An image libvirt 9.0 cannot make (zstd), built from the raw one: its
 * header with format 5, its XML area, the stream compressed by libzstd.
 * The same guest state: the tree must be the bare stream's, exactly.
 */
static void libvirt_zstd(void **state)
{
	struct bytes img;
	uint64_t off;
	struct mig_stream *bare = bare_of_raw_image(&img, &off);
	struct bytes z = zstd_mem(img.p + off, img.len - off);
	struct bytes made = concat(img.p, off, z.p, z.len);
	struct mig_stream *s;
	struct mig_error err;
	json_t *jb, *js;
	int ret;

	(void)state;
	put_word(made.p, 3, MIG_LIBVIRT_ZSTD, false);
	s = parse_mem(made.p, made.len, NULL, NULL, &ret, &err);
	must_parse(ret, &err, "zstd image");
	check_libvirt_header(s->wrapper, MIG_LIBVIRT_ZSTD);
	jb = tree(bare, MIG_DUMP_OFFSETS);
	js = tree(s, MIG_DUMP_OFFSETS);
	assert_same_tree(jb, js, "zstd image");
	json_decref(js);
	mig_stream_free(s);

	/* Through a pipe as well. */
	s = parse_pipe(made.p, made.len, &ret, &err);
	must_parse(ret, &err, "zstd image from a pipe");
	js = tree(s, MIG_DUMP_OFFSETS);
	assert_same_tree(jb, js, "zstd image from a pipe");
	json_decref(js);
	mig_stream_free(s);

	/* The header says xz, the data is zstd. */
	put_word(made.p, 3, MIG_LIBVIRT_XZ, false);
	s = parse_mem(made.p, made.len, NULL, NULL, &ret, &err);
	assert_int_equal(ret, -MIG_EMAGIC);
	assert_int_equal(err.offset, off);
	assert_non_null(strstr(err.msg, "the header says format 'xz'"));
	mig_stream_free(s);

	json_decref(jb);
	mig_stream_free(bare);
	free(z.p);
	free(made.p);
	free(img.p);
}

/* Headers libvirt can also write: other byte order, partial, version 1. */
static void libvirt_header_variants(void **state)
{
	struct bytes img = load(LIBVIRT_DIR "/tiny-raw.save");
	struct mig_stream *s;
	struct mig_error err;
	uint32_t words[5];
	int ret;

	(void)state;
	for (int i = 0; i < 5; i++)
		words[i] = (uint32_t)img.p[16 + 4 * i] |
			   (uint32_t)img.p[17 + 4 * i] << 8 |
			   (uint32_t)img.p[18 + 4 * i] << 16 |
			   (uint32_t)img.p[19 + 4 * i] << 24;

	/* A big-endian host's image. */
	for (int i = 0; i < 5; i++)
		put_word(img.p, i, words[i], true);
	s = parse_mem(img.p, img.len, NULL, NULL, &ret, &err);
	must_parse(ret, &err, "swapped");
	assert_true(s->wrapper->libvirt.swapped);
	assert_int_equal(s->wrapper->libvirt.data_len, words[1]);
	mig_stream_free(s);
	for (int i = 0; i < 5; i++)
		put_word(img.p, i, words[i], false);

	/* A save that did not finish: read, and flagged. */
	memcpy(img.p, "LibvirtQemudPart", 16);
	s = parse_mem(img.p, img.len, NULL, NULL, &ret, &err);
	must_parse(ret, &err, "partial");
	assert_false(s->wrapper->libvirt.complete);
	mig_stream_free(s);
	memcpy(img.p, "LibvirtQemudSave", 16);

	/* Version 1 is always raw, whatever its format word says. */
	put_word(img.p, 0, 1, false);
	put_word(img.p, 3, MIG_LIBVIRT_GZIP, false);
	s = parse_mem(img.p, img.len, NULL, NULL, &ret, &err);
	must_parse(ret, &err, "version 1");
	assert_int_equal(s->wrapper->stream_compression, MIG_COMP_NONE);
	mig_stream_free(s);
	put_word(img.p, 3, 0, false);

	/* Version 3 in either byte order. */
	put_word(img.p, 0, 3, false);
	s = parse_mem(img.p, img.len, NULL, NULL, &ret, &err);
	assert_int_equal(ret, -MIG_EVERSION);
	assert_int_equal(err.offset, 16);
	assert_null(s);
	put_word(img.p, 0, 2, false);

	/* A format this reader does not know. */
	put_word(img.p, 3, 9, false);
	s = parse_mem(img.p, img.len, NULL, NULL, &ret, &err);
	assert_int_equal(ret, -MIG_EUNSUP);
	assert_int_equal(err.offset, 28);
	put_word(img.p, 3, 0, false);

	/* XML longer than the limit, or than the file. */
	put_word(img.p, 1, MIG_LIBVIRT_DATA_MAX + 1, false);
	s = parse_mem(img.p, img.len, NULL, NULL, &ret, &err);
	assert_int_equal(ret, -MIG_ELIMIT);
	assert_int_equal(err.offset, 20);
	put_word(img.p, 1, (uint32_t)img.len, false);
	s = parse_mem(img.p, img.len, NULL, NULL, &ret, &err);
	assert_int_equal(ret, -MIG_ETRUNC);
	assert_int_equal(err.offset, MIG_LIBVIRT_HEADER_SIZE);
	put_word(img.p, 1, words[1], false);

	/* A header cut short. */
	s = parse_mem(img.p, 50, NULL, NULL, &ret, &err);
	assert_int_equal(ret, -MIG_ETRUNC);
	assert_int_equal(err.offset, 0);
	assert_non_null(strstr(err.path, "libvirt save image header"));
	free(img.p);
}

/* ---- seeking a non-seekable input, progress ---- */

static void make_seekable(void **state)
{
	struct bytes raw = load(STREAM);
	struct bytes z = gzip_mem(raw.p, raw.len);
	struct mig_reader *r = NULL;
	struct mig_error err;
	uint8_t a[16], b[16];

	(void)state;
	mig_error_clear(&err);
	assert_int_equal(mig_reader_from_mem(&r, z.p, z.len, "gz", &err), 0);
	assert_int_equal(mig_reader_unwrap(&r, NULL, &err), 0);
	assert_false(mig_rd_seekable(r));
	assert_int_equal(mig_rd_skip(r, 100, &err), 0);
	assert_int_equal(mig_rd_make_seekable(r, &err), 0);
	assert_true(mig_rd_seekable(r));
	assert_int_equal(mig_rd_offset(r), 100);
	assert_int_equal(mig_rd_size(r), raw.len);
	assert_int_equal(mig_rd_seek(r, raw.len - 16, &err), 0);
	assert_int_equal(mig_rd_bytes(r, a, 16, &err), 0);
	assert_memory_equal(a, raw.p + raw.len - 16, 16);
	assert_int_equal(mig_rd_seek(r, 200, &err), 0);
	assert_int_equal(mig_rd_bytes(r, b, 16, &err), 0);
	assert_memory_equal(b, raw.p + 200, 16);
	/* Before the cursor it was made seekable at: gone. */
	assert_int_not_equal(mig_rd_seek(r, 50, &err), 0);
	mig_reader_free(r);
	free(z.p);
	free(raw.p);
}

struct prog_log {
	size_t calls;
	uint64_t last;
	bool ordered;
	bool ram;
	uint64_t in_size;
};

static void on_progress(void *ctx, const struct mig_progress *p)
{
	struct prog_log *l = ctx;

	if (p->offset <= l->last && l->calls)
		l->ordered = false;
	l->last = p->offset;
	l->calls++;
	l->in_size = p->in_size;
	if (p->section && !strcmp(p->section, "ram"))
		l->ram = true;
}

static void progress_calls(void **state)
{
	struct bytes raw = load(STREAM);
	struct bytes z = xz_mem(raw.p, raw.len);
	struct prog_log log = { .ordered = true };
	struct mig_parse_opts po = {
		.on_progress = on_progress,
		.progress_ctx = &log,
		.progress_step = 32 << 10,
	};
	struct mig_stream *s;
	struct mig_error err;
	int ret;

	(void)state;
	s = parse_mem(raw.p, raw.len, NULL, &po, &ret, &err);
	must_parse(ret, &err, "progress");
	/* About one call per step, in order, naming the RAM section. */
	assert_true(log.calls >= raw.len / (32 << 10) - 2);
	assert_true(log.calls <= raw.len / (32 << 10) + 1);
	assert_true(log.ordered);
	assert_true(log.ram);
	assert_int_equal(log.in_size, raw.len);
	mig_stream_free(s);

	/* Compressed: the stream offset runs ahead of the input bytes. */
	memset(&log, 0, sizeof(log));
	log.ordered = true;
	s = parse_mem(z.p, z.len, NULL, &po, &ret, &err);
	must_parse(ret, &err, "progress xz");
	assert_true(log.calls >= raw.len / (32 << 10) - 2);
	assert_true(log.ordered);
	assert_int_equal(log.in_size, z.len);
	mig_stream_free(s);
	free(z.p);
	free(raw.p);
}

static void names(void **state)
{
	(void)state;
	assert_string_equal(mig_libvirt_format_name(0), "raw");
	assert_string_equal(mig_libvirt_format_name(5), "zstd");
	assert_string_equal(mig_libvirt_format_name(6), "sparse");
	assert_null(mig_libvirt_format_name(7));
	assert_int_equal(mig_libvirt_compression(MIG_LIBVIRT_SPARSE),
			 MIG_COMP_NONE);
	assert_int_equal(mig_libvirt_compression(MIG_LIBVIRT_LZOP),
			 MIG_COMP_LZOP);
	assert_string_equal(mig_compression_name(MIG_COMP_NONE), "none");
}

int main(void)
{
	static const struct comp_case cases[] = {
		{ "gzip", MIG_COMP_GZIP }, { "xz", MIG_COMP_XZ },
		{ "zstd", MIG_COMP_ZSTD }, { "bzip2", MIG_COMP_BZIP2 },
		{ "lzop", MIG_COMP_LZOP },
	};
	const struct CMUnitTest tests[] = {
		{ "compressed gzip", check_compressed, NULL, NULL,
		  (void *)&cases[0] },
		{ "compressed xz", check_compressed, NULL, NULL,
		  (void *)&cases[1] },
		{ "compressed zstd", check_compressed, NULL, NULL,
		  (void *)&cases[2] },
		{ "compressed bzip2", check_compressed, NULL, NULL,
		  (void *)&cases[3] },
		{ "compressed lzop", check_compressed, NULL, NULL,
		  (void *)&cases[4] },
		cmocka_unit_test(gzip_members),
		cmocka_unit_test(gzip_truncated),
		cmocka_unit_test(xz_corrupt),
		cmocka_unit_test(offset_inside),
		cmocka_unit_test(libvirt_images),
		cmocka_unit_test(libvirt_zstd),
		cmocka_unit_test(libvirt_header_variants),
		cmocka_unit_test(make_seekable),
		cmocka_unit_test(progress_calls),
		cmocka_unit_test(names),
	};

	return cmocka_run_group_tests_name("input", tests, NULL, NULL);
}
