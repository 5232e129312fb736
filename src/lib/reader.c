/* SPDX-License-Identifier: MIT */
/*
 * The bounds-checked reader.  Regular files are mapped whole, so a read is a
 * pointer check; pipes go through a window that grows on demand up to
 * MIG_RD_WINDOW_MAX.  Every read first makes sure its bytes exist, and the
 * comparison is always "n > available", never "pos + n > len", so no sum can
 * overflow.
 *
 * A wrapped input (input.h) is a chain: the outer reader's window is filled
 * by a decompressor (unwrap.c) that takes its bytes from an inner reader,
 * the file or pipe itself.  Every reader works the same way above that.
 *
 * Mapped files keep their resident set small: the pages the cursor has
 * left behind are given back (MADV_DONTNEED) every DROP_STEP bytes; they
 * are read again from the page cache should anything look back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migstream/reader.h"
#include "unwrap.h"

/* First window size for pipes; large reads keep syscalls rare. */
#define PIPE_CHUNK (1u << 20)
/* Mapped files: how often pages behind the cursor are given back, and how
 * much behind the cursor is kept. */
#define DROP_STEP (8u << 20)
#define DROP_KEEP (2u << 20)
/* Default distance between two progress calls. */
#define PROGRESS_STEP (4u << 20)
/* Largest piece of compressed input handed to a decompressor at once. */
#define DECOMP_CHUNK (1u << 20)

struct mig_reader {
	char *name;
	int fd;			/* -1 for memory readers and layers */
	bool own_fd;
	const uint8_t *buf;	/* window */
	size_t len;		/* valid bytes in the window */
	size_t pos;		/* cursor inside the window */
	uint64_t base;		/* absolute offset of buf[0] */
	bool whole;		/* the window is the whole input */
	bool eof;		/* pipe: no more bytes will come */
	uint8_t *own;		/* pipe window storage */
	size_t cap;
	void *map;
	size_t maplen;
	uint64_t size;		/* total size, or MIG_NO_OFFSET */

	/* A layer: its bytes are decompressed from @inner by @dec. */
	struct mig_reader *inner;
	struct decomp *dec;
	char note[160];		/* why the input ended early, for messages */
	struct mig_wrapper *wrap;	/* outermost reader: what was removed */

	/* Work every few MiB of cursor movement (tick()). */
	uint64_t tick_next;	/* offset of the next tick, or UINT64_MAX */
	size_t dropped;		/* mapped: bytes before this were given back */
	uint64_t prog_step;
	uint64_t prog_next;
	void (*prog_fn)(void *ctx, uint64_t offset);
	void *prog_ctx;
};

static size_t avail(const struct mig_reader *r)
{
	return r->len - r->pos;
}

static int truncated(const struct mig_reader *r, uint64_t need,
		     struct mig_error *err)
{
	return mig_error_set(err, MIG_ETRUNC, r->base + r->pos,
			     "truncated (need %llu byte%s, have %zu)%s%s",
			     (unsigned long long)need, need == 1 ? "" : "s",
			     avail(r), r->note[0] ? ": " : "", r->note);
}

/* Gives back the mapped pages well behind the cursor. */
static void drop_behind(struct mig_reader *r)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t upto;

	if (r->pos <= DROP_KEEP)
		return;
	upto = (r->pos - DROP_KEEP) & ~(page - 1);
	if (upto <= r->dropped)
		return;
	/* Read-only private file pages: they come back from the page
	 * cache if touched again, so pointers into the map stay valid. */
	madvise((uint8_t *)r->map + r->dropped, upto - r->dropped,
		MADV_DONTNEED);
	r->dropped = upto;
}

static void tick_slow(struct mig_reader *r)
{
	uint64_t off = r->base + r->pos;
	uint64_t next = UINT64_MAX;

	if (r->map) {
		drop_behind(r);
		next = off + DROP_STEP;
	}
	if (r->prog_fn) {
		if (off >= r->prog_next) {
			r->prog_next = off + r->prog_step;
			r->prog_fn(r->prog_ctx, off);
		}
		if (r->prog_next < next)
			next = r->prog_next;
	}
	r->tick_next = next;
}

/* Called on every read: one comparison unless a few MiB went by. */
static inline void tick(struct mig_reader *r)
{
	if (r->base + r->pos >= r->tick_next)
		tick_slow(r);
}

/* Appends up to @n bytes at @dst from the source; *@got 0 at its end. */
static int src_read(struct mig_reader *r, uint8_t *dst, size_t n,
		    size_t *got, struct mig_error *err)
{
	ssize_t k;

	if (r->dec)
		return decomp_read(r->dec, r->inner, dst, n, got, r->note,
				   sizeof(r->note), r->base + r->len, err);
	for (;;) {
		k = read(r->fd, dst, n);
		if (k >= 0)
			break;
		if (errno != EINTR)
			return mig_error_set(err, MIG_EIO, r->base + r->len,
					     "read failed: %s",
					     strerror(errno));
	}
	*got = (size_t)k;
	return 0;
}

/* Pipe only: appends up to @want more bytes to the window. */
/*
 * Pipe only: makes room for @room more bytes in the window and reads until
 * at least @need (<= @room) more have arrived or the input ends.  Each read
 * asks for all the free room, but returns as soon as @need is met: a live
 * source that sends a little and waits is not stalled.
 */
static int fill(struct mig_reader *r, size_t need, size_t room,
		struct mig_error *err)
{
	size_t have = avail(r);
	size_t want = room;

	if (r->pos) {
		memmove(r->own, r->own + r->pos, have);
		r->base += r->pos;
		r->pos = 0;
		r->len = have;
		r->buf = r->own;
	}
	if (want > r->cap - r->len) {
		size_t ncap = r->cap ? r->cap : PIPE_CHUNK;
		uint8_t *p;

		while (want > ncap - r->len && ncap < MIG_RD_WINDOW_MAX)
			ncap *= 2;
		if (ncap > MIG_RD_WINDOW_MAX)
			ncap = MIG_RD_WINDOW_MAX;
		if (want > ncap - r->len)
			return mig_error_set(err, MIG_ELIMIT, r->base,
					     "read of %zu bytes exceeds the pipe window of %u bytes",
					     want, MIG_RD_WINDOW_MAX);
		p = realloc(r->own, ncap);
		if (!p)
			return mig_error_set(err, MIG_ENOMEM, r->base,
					     "out of memory");
		r->own = p;
		r->buf = p;
		r->cap = ncap;
	}
	while (need && !r->eof) {
		size_t n;
		int ret = src_read(r, r->own + r->len, r->cap - r->len, &n,
				   err);

		if (ret)
			return ret;
		if (n == 0) {
			r->eof = true;
			r->size = r->base + r->len;
			break;
		}
		r->len += n;
		need = n >= need ? 0 : need - n;
	}
	return 0;
}

/* Makes @n bytes available at the cursor. */
static int ensure(struct mig_reader *r, size_t n, struct mig_error *err)
{
	int ret;

	tick(r);
	if (n <= avail(r))
		return 0;
	if (r->whole || r->eof)
		return truncated(r, n, err);
	/* Read at least a chunk, so small reads do not mean small syscalls. */
	ret = fill(r, n - avail(r),
		   (n - avail(r)) > PIPE_CHUNK ? n - avail(r) : PIPE_CHUNK, err);
	if (ret)
		return ret;
	if (n > avail(r))
		return truncated(r, n, err);
	return 0;
}

static int init(struct mig_reader **out, const char *name,
		struct mig_error *err)
{
	struct mig_reader *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	r->name = strdup(name ? name : "-");
	if (!r->name) {
		free(r);
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	}
	r->fd = -1;
	r->size = MIG_NO_OFFSET;
	r->tick_next = UINT64_MAX;
	*out = r;
	return 0;
}

int mig_reader_from_fd(struct mig_reader **out, int fd, const char *name,
		       struct mig_error *err)
{
	struct mig_reader *r;
	struct stat st;
	int ret;

	ret = init(&r, name, err);
	if (ret)
		return ret;
	r->fd = fd;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		off_t cur = lseek(fd, 0, SEEK_CUR);

		if (cur < 0)
			cur = 0;
		r->size = (uint64_t)st.st_size;
		r->base = (uint64_t)cur;
		r->whole = true;
		if (st.st_size > cur) {
			r->maplen = (size_t)st.st_size;
			r->map = mmap(NULL, r->maplen, PROT_READ, MAP_PRIVATE,
				      fd, 0);
			if (r->map == MAP_FAILED) {
				r->map = NULL;
				r->whole = false;
				r->size = MIG_NO_OFFSET;
			} else {
				madvise(r->map, r->maplen, MADV_SEQUENTIAL);
				/* Offsets stay absolute: the window starts at 0. */
				r->buf = r->map;
				r->len = r->maplen;
				r->pos = (size_t)cur;
				r->base = 0;
				r->tick_next = 0;
			}
		}
	}
	*out = r;
	return 0;
}

static int open_raw(struct mig_reader **out, const char *path,
		    struct mig_error *err)
{
	int fd, ret;

	*out = NULL;
	if (!strcmp(path, "-"))
		return mig_reader_from_fd(out, STDIN_FILENO, "-", err);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mig_error_set(err, MIG_EIO, MIG_NO_OFFSET,
				     "cannot open: %s", strerror(errno));
	ret = mig_reader_from_fd(out, fd, path, err);
	if (ret) {
		close(fd);
		return ret;
	}
	(*out)->own_fd = true;
	return 0;
}

int mig_reader_open_input(struct mig_reader **out, const char *path,
			  const struct mig_input_opts *opts,
			  struct mig_error *err)
{
	int ret = open_raw(out, path, err);

	if (ret)
		return ret;
	ret = mig_reader_unwrap(out, opts, err);
	if (ret) {
		mig_reader_free(*out);
		*out = NULL;
	}
	return ret;
}

int mig_reader_open(struct mig_reader **out, const char *path,
		    struct mig_error *err)
{
	return mig_reader_open_input(out, path, NULL, err);
}

int mig_reader_from_mem(struct mig_reader **out, const void *buf, size_t len,
			const char *name, struct mig_error *err)
{
	struct mig_reader *r;
	int ret;

	ret = init(&r, name, err);
	if (ret)
		return ret;
	r->buf = buf;
	r->len = len;
	r->whole = true;
	r->size = len;
	*out = r;
	return 0;
}

void mig_reader_free(struct mig_reader *r)
{
	if (!r)
		return;
	if (r->map)
		munmap(r->map, r->maplen);
	if (r->own_fd)
		close(r->fd);
	decomp_free(r->dec);
	mig_reader_free(r->inner);
	mig_wrapper_free(r->wrap);
	free(r->own);
	free(r->name);
	free(r);
}

const char *mig_reader_name(const struct mig_reader *r)
{
	return r->name;
}

uint64_t mig_rd_offset(const struct mig_reader *r)
{
	return r->base + r->pos;
}

uint64_t mig_rd_size(const struct mig_reader *r)
{
	return r->size;
}

bool mig_rd_at_end(struct mig_reader *r)
{
	if (avail(r))
		return false;
	if (r->whole || r->eof)
		return true;
	return ensure(r, 1, NULL) != 0;
}

int mig_rd_peek(struct mig_reader *r, size_t n, const uint8_t **p,
		struct mig_error *err)
{
	int ret = ensure(r, n, err);

	if (ret)
		return ret;
	*p = r->buf + r->pos;
	return 0;
}

int mig_rd_bytes(struct mig_reader *r, void *dst, size_t n,
		 struct mig_error *err)
{
	int ret = ensure(r, n, err);

	if (ret)
		return ret;
	if (n)
		memcpy(dst, r->buf + r->pos, n);
	r->pos += n;
	return 0;
}

int mig_rd_u8(struct mig_reader *r, uint8_t *v, struct mig_error *err)
{
	int ret = ensure(r, 1, err);

	if (ret)
		return ret;
	*v = r->buf[r->pos++];
	return 0;
}

int mig_rd_be16(struct mig_reader *r, uint16_t *v, struct mig_error *err)
{
	const uint8_t *p;
	int ret = ensure(r, 2, err);

	if (ret)
		return ret;
	p = r->buf + r->pos;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	r->pos += 2;
	return 0;
}

int mig_rd_be32(struct mig_reader *r, uint32_t *v, struct mig_error *err)
{
	const uint8_t *p;
	int ret = ensure(r, 4, err);

	if (ret)
		return ret;
	p = r->buf + r->pos;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	     (uint32_t)p[2] << 8 | p[3];
	r->pos += 4;
	return 0;
}

int mig_rd_be64(struct mig_reader *r, uint64_t *v, struct mig_error *err)
{
	const uint8_t *p;
	uint64_t x = 0;
	int ret = ensure(r, 8, err);

	if (ret)
		return ret;
	p = r->buf + r->pos;
	for (int i = 0; i < 8; i++)
		x = x << 8 | p[i];
	*v = x;
	r->pos += 8;
	return 0;
}

int mig_rd_skip(struct mig_reader *r, uint64_t n, struct mig_error *err)
{
	uint64_t start = mig_rd_offset(r);
	uint64_t left = n;

	tick(r);
	if (n <= avail(r)) {
		r->pos += (size_t)n;
		return 0;
	}
	if (r->whole || r->eof)
		return truncated(r, n, err);
	/* A pipe: consume in window-sized steps, so memory stays bounded. */
	while (left) {
		size_t step;

		if (!avail(r)) {
			int ret = fill(r, 1, PIPE_CHUNK, err);

			if (ret)
				return ret;
			if (!avail(r))
				return mig_error_set(err, MIG_ETRUNC, start,
						     "truncated (need %llu byte%s, have %llu)%s%s",
						     (unsigned long long)n,
						     n == 1 ? "" : "s",
						     (unsigned long long)(n - left),
						     r->note[0] ? ": " : "", r->note);
		}
		step = left < avail(r) ? (size_t)left : avail(r);
		r->pos += step;
		left -= step;
	}
	return 0;
}

int mig_rd_str8(struct mig_reader *r, char dst[256], struct mig_error *err)
{
	const uint8_t *p;
	size_t n;
	int ret = ensure(r, 1, err);

	if (ret)
		return ret;
	n = r->buf[r->pos];
	ret = ensure(r, 1 + n, err);
	if (ret)
		return ret;
	p = r->buf + r->pos + 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	r->pos += 1 + n;
	return 0;
}

int mig_rd_rest(struct mig_reader *r, uint64_t cap, const uint8_t **p,
		size_t *len, struct mig_error *err)
{
	if (!r->whole) {
		while (!r->eof) {
			size_t want = PIPE_CHUNK;
			int ret;

			if (avail(r) > cap)
				break;
			if (want > cap - avail(r))
				want = (size_t)(cap - avail(r)) + 1;
			ret = fill(r, want, want, err);
			if (ret)
				return ret;
		}
	}
	/* The cap bounds what a pipe buffers; a mapped file costs nothing. */
	if (!r->whole && avail(r) > cap)
		return mig_error_set(err, MIG_ELIMIT, mig_rd_offset(r),
				     "more than %llu bytes remain",
				     (unsigned long long)cap);
	*p = r->buf + r->pos;
	*len = avail(r);
	return 0;
}

/*
 * The cursor went back to @pos: pages given back before it will be read
 * again, so they must be given back again once left behind.
 */
static void moved_back(struct mig_reader *r, size_t pos)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (r->map && pos < r->dropped) {
		r->dropped = pos & ~(page - 1);
		r->tick_next = 0;
	}
}

int mig_rd_seek(struct mig_reader *r, uint64_t offset, struct mig_error *err)
{
	uint64_t cur = mig_rd_offset(r);

	if (offset >= r->base && offset - r->base <= r->len) {
		r->pos = (size_t)(offset - r->base);
		moved_back(r, r->pos);
		return 0;
	}
	if (offset < cur)
		return mig_error_set(err, MIG_EUNSUP, cur,
				     "cannot go back to offset 0x%llx: the input is not seekable (a pipe)",
				     (unsigned long long)offset);
	if (r->whole || r->eof)
		return mig_error_set(err, MIG_ETRUNC, cur,
				     "truncated (offset 0x%llx is past the end of the input at 0x%llx)",
				     (unsigned long long)offset,
				     (unsigned long long)(r->base + r->len));
	return mig_rd_skip(r, offset - cur, err);
}

int mig_rd_rewind(struct mig_reader *r, uint64_t offset,
		  struct mig_error *err)
{
	if (offset < r->base || offset > r->base + r->pos)
		return mig_error_set(err, MIG_EINVAL, offset,
				     "cannot go back to an offset outside the buffered window");
	r->pos = (size_t)(offset - r->base);
	moved_back(r, r->pos);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Wrapped inputs: the layers and what the decompressors need.         */

int rd_window(struct mig_reader *r, size_t max, const uint8_t **p,
	      size_t *n, struct mig_error *err)
{
	int ret;

	tick(r);
	if (!avail(r) && !r->whole && !r->eof) {
		ret = fill(r, 1, PIPE_CHUNK, err);
		if (ret)
			return ret;
	}
	*p = r->buf + r->pos;
	*n = avail(r) < max ? avail(r) : max;
	return 0;
}

void rd_consume(struct mig_reader *r, size_t n)
{
	r->pos += n <= avail(r) ? n : avail(r);
}

/* Up to @max bytes at the cursor, fewer only where the input ends. */
static int sniff(struct mig_reader *r, size_t max, const uint8_t **p,
		 size_t *n, struct mig_error *err)
{
	struct mig_error local;
	int ret;

	mig_error_clear(&local);
	ret = mig_rd_peek(r, max, p, &local);
	if (!ret) {
		*n = max;
		return 0;
	}
	if (ret != -MIG_ETRUNC) {
		if (err && !err->code)
			*err = local;
		return ret;
	}
	*p = r->buf + r->pos;
	*n = avail(r);
	return 0;
}

/* Makes *@rp the decompressed view of itself. */
static int push_layer(struct mig_reader **rp, enum mig_compression c,
		      struct mig_error *err)
{
	struct mig_reader *o;
	int ret;

	ret = init(&o, (*rp)->name, err);
	if (ret)
		return ret;
	ret = decomp_new(&o->dec, c, err);
	if (ret) {
		mig_reader_free(o);
		return ret;
	}
	o->inner = *rp;
	/* The inner reader's work moves out: progress is the outer's. */
	o->prog_fn = o->inner->prog_fn;
	o->prog_ctx = o->inner->prog_ctx;
	o->prog_step = o->inner->prog_step;
	o->inner->prog_fn = NULL;
	o->prog_next = 0;
	o->tick_next = o->prog_fn ? 0 : UINT64_MAX;
	*rp = o;
	return 0;
}

static int unwrap_layers(struct mig_reader **rp, struct mig_wrapper *w,
			 struct mig_error *err)
{
	const uint8_t *p;
	size_t n;
	int ret;

	for (int depth = 0; depth < MIG_WRAP_DEPTH_MAX; depth++) {
		enum mig_compression c;

		ret = sniff(*rp, 16, &p, &n, err);
		if (ret)
			return ret;
		c = decomp_sniff(p, n);
		if (c != MIG_COMP_NONE && w->compression == MIG_COMP_NONE &&
		    !w->has_libvirt) {
			w->compression = c;
			ret = push_layer(rp, c, err);
			if (ret)
				return ret;
			continue;
		}
		if (!libvirt_sniff(p, n) || w->has_libvirt)
			return 0;
		w->has_libvirt = true;
		ret = libvirt_read(*rp, &w->libvirt, err);
		if (ret)
			return ret;
		c = w->libvirt.version >= 2
			? mig_libvirt_compression(w->libvirt.format)
			: MIG_COMP_NONE;
		if (c == MIG_COMP_NONE)
			return 0;
		ret = sniff(*rp, 16, &p, &n, err);
		if (ret)
			return ret;
		if (decomp_sniff(p, n) != c)
			return mig_error_set(err, MIG_EMAGIC, mig_rd_offset(*rp),
					     "libvirt save image: the header says format '%s', but the data after the domain XML is not %s data (it starts %02x %02x %02x %02x)",
					     mig_libvirt_format_name(w->libvirt.format),
					     mig_compression_name(c),
					     n > 0 ? p[0] : 0, n > 1 ? p[1] : 0,
					     n > 2 ? p[2] : 0, n > 3 ? p[3] : 0);
		w->stream_compression = c;
		return push_layer(rp, c, err);
	}
	return 0;
}

int mig_reader_unwrap(struct mig_reader **rp, const struct mig_input_opts *opts,
		      struct mig_error *err)
{
	struct mig_wrapper *w;
	uint64_t size = mig_rd_size(*rp);
	int ret;

	if ((*rp)->wrap)
		return mig_error_set(err, MIG_EINVAL, mig_rd_offset(*rp),
				     "the input was already unwrapped");
	w = calloc(1, sizeof(*w));
	if (!w)
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	if (opts && opts->offset) {
		if (size != MIG_NO_OFFSET && opts->offset > size) {
			ret = mig_error_set(err, MIG_ETRUNC, size,
					    "--offset %llu is past the end of the input (%llu bytes)",
					    (unsigned long long)opts->offset,
					    (unsigned long long)size);
			goto out_free_wrapper;
		}
		w->offset = opts->offset;
		ret = mig_rd_skip(*rp, opts->offset, err);
		if (ret)
			goto out_free_wrapper;
	}
	if (!opts || !opts->raw) {
		ret = unwrap_layers(rp, w, err);
		if (ret)
			goto out_free_wrapper;
	}
	w->stream_offset = mig_rd_offset(*rp);
	if (!w->offset && !w->has_libvirt && w->compression == MIG_COMP_NONE) {
		mig_wrapper_free(w);
		return 0;
	}
	(*rp)->wrap = w;
	return 0;

out_free_wrapper:
	mig_wrapper_free(w);
	return ret;
}

const struct mig_wrapper *mig_reader_wrapper(const struct mig_reader *r)
{
	return r->wrap;
}

void mig_rd_input_pos(const struct mig_reader *r, uint64_t *pos,
		      uint64_t *size)
{
	while (r->inner)
		r = r->inner;
	*pos = r->base + r->pos;
	*size = r->size;
}

void mig_rd_set_progress(struct mig_reader *r, uint64_t step,
			 void (*fn)(void *ctx, uint64_t offset), void *ctx)
{
	r->prog_fn = fn;
	r->prog_ctx = ctx;
	r->prog_step = step ? step : PROGRESS_STEP;
	r->prog_next = mig_rd_offset(r) + r->prog_step;
	if (fn && r->prog_next < r->tick_next)
		r->tick_next = r->prog_next;
}

bool mig_rd_seekable(const struct mig_reader *r)
{
	return r->whole;
}

/* Writes @n bytes at file offset @off, leaving all-zero pages as holes. */
static int write_sparse(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	static const uint8_t zero[4096];
	size_t i = 0;

	while (i < n) {
		size_t run = i;

		/* Skip zero blocks, then write up to the next one. */
		while (i < n && !memcmp(p + i, zero,
					n - i < sizeof(zero) ? n - i
							     : sizeof(zero)))
			i += n - i < sizeof(zero) ? n - i : sizeof(zero);
		run = i;
		while (i < n && memcmp(p + i, zero,
				       n - i < sizeof(zero) ? n - i
							    : sizeof(zero)))
			i += n - i < sizeof(zero) ? n - i : sizeof(zero);
		while (run < i) {
			ssize_t k = pwrite(fd, p + run, i - run,
					   (off_t)(off + run));

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return -1;
			run += (size_t)k;
		}
	}
	return 0;
}

static int spool_file(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* File systems without O_TMPFILE: a named file, unlinked at once. */
	snprintf(path, sizeof(path), "%s/migstream-spool.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

int mig_rd_make_seekable(struct mig_reader *r, struct mig_error *err)
{
	const uint64_t start = mig_rd_offset(r);
	uint64_t total = 0;
	uint8_t *chunk = NULL;
	void *map;
	int fd, ret;

	if (r->whole)
		return 0;
	fd = spool_file();
	if (fd < 0)
		return mig_error_set(err, MIG_EIO, start,
				     "cannot create a temporary file to make the input seekable: %s",
				     strerror(errno));
	/* What the window holds from the cursor on, then the rest. */
	if (avail(r) && write_sparse(fd, r->buf + r->pos, avail(r), 0)) {
		ret = mig_error_set(err, MIG_EIO, start,
				    "cannot write the temporary file: %s",
				    strerror(errno));
		goto out_close;
	}
	total = avail(r);
	chunk = malloc(PIPE_CHUNK);
	if (!chunk) {
		ret = mig_error_set(err, MIG_ENOMEM, start, "out of memory");
		goto out_close;
	}
	while (!r->eof) {
		size_t n;

		ret = src_read(r, chunk, PIPE_CHUNK, &n, err);
		if (ret)
			goto out_free_chunk;
		if (!n)
			break;
		if (write_sparse(fd, chunk, n, total)) {
			ret = mig_error_set(err, MIG_EIO, start + total,
					    "cannot write the temporary file: %s",
					    strerror(errno));
			goto out_free_chunk;
		}
		total += n;
	}
	if (ftruncate(fd, (off_t)total)) {
		ret = mig_error_set(err, MIG_EIO, start + total,
				    "cannot size the temporary file: %s",
				    strerror(errno));
		goto out_free_chunk;
	}
	map = NULL;
	if (total) {
		map = mmap(NULL, (size_t)total, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			ret = mig_error_set(err, MIG_EIO, start,
					    "cannot map the temporary file: %s",
					    strerror(errno));
			goto out_free_chunk;
		}
		madvise(map, (size_t)total, MADV_SEQUENTIAL);
	}
	free(chunk);
	close(fd);
	free(r->own);
	r->own = NULL;
	r->cap = 0;
	r->map = map;
	r->maplen = (size_t)total;
	r->buf = map;
	r->len = (size_t)total;
	r->pos = 0;
	r->base = start;
	r->dropped = 0;
	r->whole = true;
	r->eof = true;
	r->size = start + total;
	r->tick_next = 0;
	return 0;

out_free_chunk:
	free(chunk);
out_close:
	close(fd);
	return ret;
}
