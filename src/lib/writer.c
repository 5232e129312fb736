/* SPDX-License-Identifier: MIT */
/*
 * Atomic output.  A file writer writes a new temporary file next to its
 * target (same directory, so rename() cannot cross file systems), and only
 * mig_writer_commit() makes it the target: flush, fsync, rename, fsync of
 * the directory.  Until then the target is untouched, and on any failure
 * the temporary file is removed, so no partial output is ever left under
 * the target's name.  Inputs are never opened for writing here.
 *
 * The temporary file has no name where the file system allows it
 * (open(2) O_TMPFILE, Linux ext4, xfs, btrfs, tmpfs): then even SIGKILL,
 * which no handler sees, leaves nothing behind; the kernel frees the
 * file with its last descriptor.  It is read back through
 * /proc/self/fd/N and given its name at commit: linkat(2) straight to the
 * target when there is none, else to a ".NAME.XXXXXX" that rename(2)
 * moves over the target at once.  Elsewhere (no O_TMPFILE, no /proc) the
 * file is named ".NAME.XXXXXX" from the start, and the CLI removes it on
 * the signals it can catch.
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
	char *tmp;		/* W_FILE: temporary file, or its /proc path */
	bool unnamed;		/* W_FILE: tmp is an O_TMPFILE file */
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

/* Replaces the last six characters of @t by random ones. */
static void randomize(char *t, uint64_t *seed)
{
	static const char chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char *x = t + strlen(t) - 6;

	for (int i = 0; i < 6; i++) {
		/* xorshift64: enough to avoid collisions; O_EXCL or
		 * linkat's EEXIST makes it safe. */
		*seed ^= *seed << 13;
		*seed ^= *seed >> 7;
		*seed ^= *seed << 17;
		x[i] = chars[*seed % (sizeof(chars) - 1)];
	}
}

static uint64_t new_seed(const void *p)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
	       ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)p;
}

/*
 * An unnamed file in the directory of @target (O_TMPFILE), opened for
 * reading and writing, with its /proc path in *@proc; -1 where the file
 * system or the kernel cannot, or /proc is not there to reach it.
 */
static int create_unnamed(const char *target, char **proc)
{
	const char *slash = strrchr(target, '/');
	char dir[PATH_MAX], path[64];
	int fd;

	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == target) {
		strcpy(dir, "/");
	} else {
		if ((size_t)(slash - target) >= sizeof(dir))
			return -1;
		memcpy(dir, target, (size_t)(slash - target));
		dir[slash - target] = '\0';
	}
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
#else
	fd = -1;
#endif
	if (fd < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	*proc = strdup(path);
	if (!*proc || access(path, F_OK) < 0) {
		free(*proc);
		*proc = NULL;
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Creates the file named by template @t, whose last six characters are
 * replaced.  Unlike mkstemp(3) the file gets mode 0666 less the umask, as
 * any output would, without touching the process's umask.
 */
static int create_temp(char *t)
{
	uint64_t seed = new_seed(t);

	for (int tries = 0; tries < 1000; tries++) {
		int fd;

		randomize(t, &seed);
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
	char *proc = NULL;

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
	w->fd = create_unnamed(path, &proc);
	if (w->fd >= 0) {
		free(w->tmp);
		w->tmp = proc;
		w->unnamed = true;
		*out = w;
		return 0;
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

bool mig_writer_temp_named(const struct mig_writer *w)
{
	return w->kind == W_FILE && !w->unnamed;
}

/*
 * Gives the unnamed file of @w the target's name: at once when the target
 * does not exist, else through a temporary name moved over it.
 */
static int link_unnamed(struct mig_writer *w)
{
	char *t;
	uint64_t seed;

	if (linkat(AT_FDCWD, w->tmp, AT_FDCWD, w->target,
		   AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	t = temp_template(w->target);
	if (!t)
		return -1;
	seed = new_seed(t);
	for (int tries = 0; tries < 1000; tries++) {
		randomize(t, &seed);
		if (linkat(AT_FDCWD, w->tmp, AT_FDCWD, t,
			   AT_SYMLINK_FOLLOW) == 0) {
			if (rename(t, w->target) == 0) {
				free(t);
				return 0;
			}
			break;
		}
		if (errno != EEXIST)
			break;
	}
	{
		int e = errno;

		unlink(t);
		free(t);
		errno = e;
	}
	return -1;
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
	if (w->unnamed) {
		/* The descriptor keeps the file alive until it has a name. */
		if (link_unnamed(w) < 0) {
			ret = io_error(w, err, "cannot give the output its name");
			goto out_abort;
		}
		close(w->fd);
		w->fd = -1;
		sync_dir(w->target);
		free_writer(w);
		return 0;
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
		if (!w->unnamed)
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
