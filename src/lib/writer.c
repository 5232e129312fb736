/* SPDX-License-Identifier: MIT */
/*
 * Atomic output.  A file writer writes a new temporary file next to its
 * target (same directory, so rename() cannot cross file systems), and only
 * mig_writer_commit() makes it the target: flush, fsync, rename, fsync of
 * the directory.  Until then the target is untouched, and on any failure
 * the temporary file is removed, so no partial output is ever left under
 * the target's name.  Inputs are never opened for writing here.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "migstream/encode.h"

/* Bytes buffered before a write(2); larger writes go straight through.
 * 128 KiB: see COPY_CHUNK in encode.c (bench/README.md). */
#define WBUF_SIZE (128u << 10)

enum wkind {
	W_FILE,
	W_STDOUT,
	W_MEM,
};

struct mig_writer {
	enum wkind kind;
	int fd;
	char *target;		/* W_FILE: final name */
	char *tmp;		/* W_FILE: temporary file */
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint64_t off;		/* bytes accepted so far */
};

static int io_error(struct mig_writer *w, struct mig_error *err,
		    const char *what)
{
	int e = errno;

	return mig_error_set(err, MIG_EIO, MIG_NO_OFFSET, "%s '%s': %s", what,
			     w->kind == W_FILE ? w->target : "-",
			     strerror(e));
}

static void free_writer(struct mig_writer *w)
{
	if (!w)
		return;
	if (w->kind == W_FILE && w->fd >= 0)
		close(w->fd);
	free(w->target);
	free(w->tmp);
	free(w->buf);
	free(w);
}

/* "dir/.name.XXXXXX" for target "dir/name". */
static char *temp_template(const char *target)
{
	const char *slash = strrchr(target, '/');
	size_t dirlen = slash ? (size_t)(slash - target) + 1 : 0;
	const char *base = target + dirlen;
	size_t n = dirlen + 1 + strlen(base) + 8;
	char *t = malloc(n);

	if (!t)
		return NULL;
	memcpy(t, target, dirlen);
	t[dirlen] = '.';
	strcpy(t + dirlen + 1, base);
	strcat(t, ".XXXXXX");
	return t;
}

/*
 * Creates the file named by template @t, whose last six characters are
 * replaced.  Unlike mkstemp(3) the file gets mode 0666 less the umask, as
 * any output would, without touching the process's umask.
 */
static int create_temp(char *t)
{
	static const char chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char *x = t + strlen(t) - 6;
	struct timespec ts;
	uint64_t seed;

	clock_gettime(CLOCK_REALTIME, &ts);
	seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
	       ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)t;
	for (int tries = 0; tries < 1000; tries++) {
		int fd;

		for (int i = 0; i < 6; i++) {
			/* xorshift64: enough to avoid collisions; O_EXCL
			 * makes it safe. */
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			x[i] = chars[seed % (sizeof(chars) - 1)];
		}
		fd = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

int mig_writer_open(struct mig_writer **out, const char *path,
		    struct mig_error *err)
{
	struct mig_writer *w;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	w->fd = -1;
	w->buf = malloc(WBUF_SIZE);
	if (!w->buf)
		goto out_nomem;
	w->cap = WBUF_SIZE;
	if (!strcmp(path, "-")) {
		w->kind = W_STDOUT;
		w->fd = STDOUT_FILENO;
		*out = w;
		return 0;
	}
	w->kind = W_FILE;
	w->target = strdup(path);
	w->tmp = temp_template(path);
	if (!w->target || !w->tmp)
		goto out_nomem;
	if (!path[0] || path[strlen(path) - 1] == '/') {
		free_writer(w);
		return mig_error_set(err, MIG_EIO, MIG_NO_OFFSET,
				     "cannot write '%s': not a file name", path);
	}
	w->fd = create_temp(w->tmp);
	if (w->fd < 0) {
		int ret = mig_error_set(err, MIG_EIO, MIG_NO_OFFSET,
					"cannot create a temporary file next to '%s': %s",
					path, strerror(errno));

		free_writer(w);
		return ret;
	}
	*out = w;
	return 0;
out_nomem:
	free_writer(w);
	return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET, "out of memory");
}

int mig_writer_mem(struct mig_writer **out, struct mig_error *err)
{
	struct mig_writer *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w)
		return mig_error_set(err, MIG_ENOMEM, MIG_NO_OFFSET,
				     "out of memory");
	w->kind = W_MEM;
	w->fd = -1;
	*out = w;
	return 0;
}

static int write_all(struct mig_writer *w, const uint8_t *p, size_t n,
		     struct mig_error *err)
{
	while (n) {
		ssize_t k = write(w->fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return io_error(w, err, "cannot write");
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int mig_writer_flush(struct mig_writer *w, struct mig_error *err)
{
	int ret;

	if (w->kind == W_MEM || !w->len)
		return 0;
	ret = write_all(w, w->buf, w->len, err);
	w->len = 0;
	return ret;
}

int mig_writer_write(struct mig_writer *w, const void *p, size_t n,
		     struct mig_error *err)
{
	int ret;

	if (!n)
		return 0;
	if (w->kind == W_MEM) {
		if (n > w->cap - w->len) {
			size_t ncap = w->cap ? w->cap : 4096;
			uint8_t *b;

			while (n > ncap - w->len) {
				if (ncap > SIZE_MAX / 2)
					return mig_error_set(err, MIG_ENOMEM,
							     MIG_NO_OFFSET,
							     "out of memory");
				ncap *= 2;
			}
			b = realloc(w->buf, ncap);
			if (!b)
				return mig_error_set(err, MIG_ENOMEM,
						     MIG_NO_OFFSET,
						     "out of memory");
			w->buf = b;
			w->cap = ncap;
		}
		memcpy(w->buf + w->len, p, n);
		w->len += n;
		w->off += n;
		return 0;
	}
	if (n > w->cap - w->len) {
		ret = mig_writer_flush(w, err);
		if (ret)
			return ret;
	}
	if (n >= w->cap) {
		ret = write_all(w, p, n, err);
	} else {
		memcpy(w->buf + w->len, p, n);
		w->len += n;
		ret = 0;
	}
	if (!ret)
		w->off += n;
	return ret;
}

uint64_t mig_writer_offset(const struct mig_writer *w)
{
	return w->off;
}

const char *mig_writer_temp_path(const struct mig_writer *w)
{
	return w->kind == W_FILE ? w->tmp : NULL;
}

const uint8_t *mig_writer_mem_data(const struct mig_writer *w, size_t *len)
{
	*len = w->kind == W_MEM ? w->len : 0;
	return w->kind == W_MEM ? w->buf : NULL;
}

/* fsync of the directory that holds @path, so the rename is durable. */
static int sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	int fd, ret;

	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		if ((size_t)(slash - path) >= sizeof(dir))
			return 0;
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

int mig_writer_commit(struct mig_writer *w, struct mig_error *err)
{
	int ret;

	if (!w)
		return 0;
	ret = mig_writer_flush(w, err);
	if (ret)
		goto out_abort;
	if (w->kind == W_STDOUT) {
		free_writer(w);
		return 0;
	}
	if (w->kind == W_MEM) {
		free_writer(w);
		return 0;
	}
	if (fsync(w->fd) < 0) {
		ret = io_error(w, err, "cannot sync");
		goto out_abort;
	}
	if (close(w->fd) < 0) {
		w->fd = -1;
		ret = io_error(w, err, "cannot close");
		goto out_abort;
	}
	w->fd = -1;
	if (rename(w->tmp, w->target) < 0) {
		ret = io_error(w, err, "cannot rename the output to");
		goto out_abort;
	}
	/* The data is safe; a directory that cannot be synced is not worth
	 * failing (and deleting) the finished output for. */
	sync_dir(w->target);
	free_writer(w);
	return 0;
out_abort:
	mig_writer_abort(w);
	return ret;
}

void mig_writer_abort(struct mig_writer *w)
{
	if (!w)
		return;
	if (w->kind == W_FILE) {
		if (w->fd >= 0)
			close(w->fd);
		w->fd = -1;
		unlink(w->tmp);
	}
	free_writer(w);
}

bool mig_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!a || !b || !strcmp(a, "-") || !strcmp(b, "-"))
		return false;
	if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
