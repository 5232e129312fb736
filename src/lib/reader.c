/* SPDX-License-Identifier: MIT */
/*
 * The bounds-checked reader.  Regular files are mapped whole, so a read is a
 * pointer check; pipes go through a window that grows on demand up to
 * MIG_RD_WINDOW_MAX.  Every read first makes sure its bytes exist, and the
 * comparison is always "n > available", never "pos + n > len", so no sum can
 * overflow.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migstream/reader.h"

/* First window size for pipes; large reads keep syscalls rare. */
#define PIPE_CHUNK (1u << 20)

struct mig_reader {
	char *name;
	int fd;			/* -1 for memory readers */
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
};

static size_t avail(const struct mig_reader *r)
{
	return r->len - r->pos;
}

static int truncated(const struct mig_reader *r, uint64_t need,
		     struct mig_error *err)
{
	return mig_error_set(err, MIG_ETRUNC, r->base + r->pos,
			     "truncated (need %llu byte%s, have %zu)",
			     (unsigned long long)need, need == 1 ? "" : "s",
			     avail(r));
}

/* Pipe only: appends up to @want more bytes to the window. */
static int fill(struct mig_reader *r, size_t want, struct mig_error *err)
{
	size_t have = avail(r);

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
	while (want && !r->eof) {
		ssize_t n = read(r->fd, r->own + r->len, r->cap - r->len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mig_error_set(err, MIG_EIO, r->base + r->len,
					     "read failed: %s",
					     strerror(errno));
		}
		if (n == 0) {
			r->eof = true;
			r->size = r->base + r->len;
			break;
		}
		r->len += (size_t)n;
		want = (size_t)n >= want ? 0 : want - (size_t)n;
	}
	return 0;
}

/* Makes @n bytes available at the cursor. */
static int ensure(struct mig_reader *r, size_t n, struct mig_error *err)
{
	int ret;

	if (n <= avail(r))
		return 0;
	if (r->whole || r->eof)
		return truncated(r, n, err);
	/* Read at least a chunk, so small reads do not mean small syscalls. */
	ret = fill(r, (n - avail(r)) > PIPE_CHUNK ? n - avail(r) : PIPE_CHUNK,
		   err);
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
			}
		}
	}
	*out = r;
	return 0;
}

int mig_reader_open(struct mig_reader **out, const char *path,
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
			int ret = fill(r, PIPE_CHUNK, err);

			if (ret)
				return ret;
			if (!avail(r))
				return mig_error_set(err, MIG_ETRUNC, start,
						     "truncated (need %llu bytes, have %llu)",
						     (unsigned long long)n,
						     (unsigned long long)(n - left));
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
			ret = fill(r, want, err);
			if (ret)
				return ret;
		}
	}
	if (avail(r) > cap)
		return mig_error_set(err, MIG_ELIMIT, mig_rd_offset(r),
				     "more than %llu bytes remain",
				     (unsigned long long)cap);
	*p = r->buf + r->pos;
	*len = avail(r);
	return 0;
}

int mig_rd_rewind(struct mig_reader *r, uint64_t offset,
		  struct mig_error *err)
{
	if (offset < r->base || offset > r->base + r->pos)
		return mig_error_set(err, MIG_EINVAL, offset,
				     "cannot go back to an offset outside the buffered window");
	r->pos = (size_t)(offset - r->base);
	return 0;
}
