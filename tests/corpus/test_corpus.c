/* SPDX-License-Identifier: MIT */
/*
 * The corpus test: every real QEMU stream listed in
 * testdata/streams/MANIFEST is read to its last byte (or fails exactly as
 * the manifest says), with every footer matched, the vmdesc where the
 * manifest puts it, the same tree from a pipe as from the file, and
 * `dump --format analyze` equal to what QEMU's analyze-migration.py printed
 * (testdata/analyze/).  Run from the repository root.
 */
#include <errno.h>
#include <inttypes.h>
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

#include "migstream/migstream.h"

#define MANIFEST "testdata/streams/MANIFEST"
#define MAX_CASES 256

struct corpus_case {
	char path[512];		/* relative to the repository root, or for a
				 * .mig.gz its content in a temporary file */
	char base[256];		/* file name without .mig */
	uint64_t size;
	bool has_vmdesc;
	uint64_t vmdesc_off;
	char expect[32];	/* complete, truncated, issue3 */
};

static struct corpus_case cases[MAX_CASES];
static size_t ncases;

/* Temporary files holding the content of .mig.gz streams. */
static char tmp_paths[MAX_CASES][64];
static size_t ntmp;

static void remove_tmp(void)
{
	for (size_t i = 0; i < ntmp; i++)
		unlink(tmp_paths[i]);
}

/*
 * A .mig.gz stream (the mapped-ram one: holes make it large) is read from
 * its decompressed content, so that the file checks see a regular file as
 * QEMU wrote it.  Returns -1 when it cannot be made.
 */
static int gunzip_case(struct corpus_case *c)
{
	char cmd[1200];
	char *path;
	int fd;

	if (ntmp >= MAX_CASES)
		return -1;
	path = tmp_paths[ntmp];
	snprintf(path, sizeof(tmp_paths[0]), "/tmp/migstream-corpus-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	ntmp++;
	snprintf(cmd, sizeof(cmd), "gzip -dc '%s' > '%s'", c->path, path);
	if (system(cmd) != 0)
		return -1;
	snprintf(c->path, sizeof(c->path), "%s", path);
	return 0;
}

static int load_manifest(void)
{
	FILE *f = fopen(MANIFEST, "r");
	char line[2048];

	if (!f) {
		fprintf(stderr, "cannot open %s: %s (run from the repository root)\n",
			MANIFEST, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) && ncases < MAX_CASES) {
		struct corpus_case *c = &cases[ncases];
		char *field[8];
		int n = 0;
		char *save = NULL, *tok;
		char *dot;

		line[strcspn(line, "\n")] = '\0';
		for (tok = strtok_r(line, "\t", &save); tok && n < 8;
		     tok = strtok_r(NULL, "\t", &save))
			field[n++] = tok;
		if (n != 7)
			continue;
		snprintf(c->path, sizeof(c->path), "testdata/streams/%s",
			 field[0]);
		snprintf(c->base, sizeof(c->base), "%s",
			 strrchr(field[0], '/') ? strrchr(field[0], '/') + 1
						: field[0]);
		dot = strstr(c->base, ".mig");
		if (dot)
			*dot = '\0';
		c->size = strtoull(field[2], NULL, 10);
		c->has_vmdesc = field[3][0] == '1';
		c->vmdesc_off = strcmp(field[4], "-") ? strtoull(field[4], NULL, 10)
						       : 0;
		snprintf(c->expect, sizeof(c->expect), "%s", field[6]);
		if (strstr(field[0], ".mig.gz") && gunzip_case(c)) {
			fprintf(stderr, "cannot decompress %s\n", field[0]);
			fclose(f);
			return -1;
		}
		ncases++;
	}
	fclose(f);
	return 0;
}

static struct mig_stream *read_file(const char *path, int *ret,
				    struct mig_error *err)
{
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;

	*ret = mig_reader_open(&r, path, err);
	if (*ret)
		return NULL;
	*ret = mig_stream_read(r, NULL, &s, err);
	mig_reader_free(r);
	return s;
}

/* Reads @path through a pipe fed by a child process. */
static struct mig_stream *read_pipe(const char *path, int *ret,
				    struct mig_error *err)
{
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	int fds[2];
	pid_t pid;
	int status;

	if (pipe(fds))
		return NULL;
	pid = fork();
	if (pid == 0) {
		FILE *in = fopen(path, "rb");
		char buf[65536];
		size_t n;

		close(fds[0]);
		if (!in)
			_exit(1);
		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			if (write(fds[1], buf, n) != (ssize_t)n)
				_exit(1);
		_exit(0);
	}
	close(fds[1]);
	*ret = mig_reader_from_fd(&r, fds[0], path, err);
	if (!*ret)
		*ret = mig_stream_read(r, NULL, &s, err);
	mig_reader_free(r);
	close(fds[0]);
	waitpid(pid, &status, 0);
	return s;
}

static json_t *load_gz_json(const char *path)
{
	char cmd[1024];
	json_error_t jerr;
	json_t *j;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "gzip -dc '%s'", path);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	j = json_loadf(p, 0, &jerr);
	pclose(p);
	return j;
}

static void check_stream(void **state)
{
	const struct corpus_case *c = *state;
	struct mig_error err;
	struct mig_stream *s;
	char msg[1024];
	int ret;
	size_t sections = 0, footers = 0;

	mig_error_clear(&err);
	s = read_file(c->path, &ret, &err);
	assert_non_null(s);
	if (!strcmp(c->expect, "truncated")) {
		assert_int_equal(ret, -MIG_ETRUNC);
		assert_false(s->complete);
		/* It stops exactly where the bytes stop. */
		assert_int_equal(err.offset, c->size);
		mig_stream_free(s);
		return;
	}
	if (ret)
		fail_msg("%s", mig_error_format(&err, c->path, msg, sizeof(msg)));
	assert_true(s->complete);
	assert_int_equal(s->end, c->size);
	assert_int_equal(s->size, c->size);
	assert_int_equal(s->has_vmdesc, c->has_vmdesc);
	if (c->has_vmdesc)
		assert_int_equal(s->vmdesc_offset, c->vmdesc_off);
	for (const struct mig_record *r = s->records; r; r = r->next) {
		if (r->type == MIG_REC_COMMAND || r->type == MIG_REC_EOF)
			continue;
		sections++;
		footers += r->has_footer;
		/* A vmdesc describes every device section it came with. */
		if (c->has_vmdesc && r->type == MIG_REC_FULL)
			assert_true(r->kind == MIG_SEC_VMSTATE ||
				    r->kind == MIG_SEC_LEGACY);
	}
	assert_true(sections > 0);
	if (strstr(c->base, "nofooter")) {
		assert_false(s->footers);
		assert_int_equal(footers, 0);
	} else {
		assert_true(s->footers);
		assert_int_equal(footers, sections);
	}
	mig_stream_free(s);
}

/*
 * The same tree whether the bytes come from a file or a pipe.  Mapped-ram
 * streams too: their bitmaps and page arrays lie ahead of the block list
 * that points at them, so a pipe reaches them by reading forward.
 */
static void check_pipe(void **state)
{
	const struct corpus_case *c = *state;
	struct mig_error err;
	struct mig_stream *a, *b;
	json_t *ja, *jb;
	int ra, rb;

	mig_error_clear(&err);
	a = read_file(c->path, &ra, &err);
	mig_error_clear(&err);
	b = read_pipe(c->path, &rb, &err);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(ra, rb);
	ja = mig_dump_json(a, MIG_DUMP_OFFSETS);
	jb = mig_dump_json(b, MIG_DUMP_OFFSETS);
	if (!ra)
		assert_true(json_equal(ja, jb));
	json_decref(ja);
	json_decref(jb);
	mig_stream_free(a);
	mig_stream_free(b);
}

static void check_analyze(void **state)
{
	const struct corpus_case *c = *state;
	char path[600];
	struct mig_error err;
	struct mig_stream *s;
	json_t *want, *got;
	int ret;

	snprintf(path, sizeof(path), "testdata/analyze/%s.json.gz", c->base);
	if (access(path, R_OK))
		skip();
	want = load_gz_json(path);
	assert_non_null(want);
	mig_error_clear(&err);
	s = read_file(c->path, &ret, &err);
	assert_int_equal(ret, 0);
	got = mig_dump_analyze(s);
	if (!json_equal(want, got)) {
		const char *key;
		json_t *v;

		json_object_foreach(want, key, v)
			if (!json_equal(v, json_object_get(got, key)))
				fail_msg("%s: section '%s' differs from analyze-migration.py",
					 c->base, key);
		fail_msg("%s: differs from analyze-migration.py", c->base);
	}
	json_decref(want);
	json_decref(got);
	mig_stream_free(s);
}

int main(void)
{
	struct CMUnitTest *tests;
	size_t n = 0;
	static char names[MAX_CASES * 3][300];
	int rc;

	atexit(remove_tmp);
	if (load_manifest() || !ncases)
		return 2;
	tests = calloc(ncases * 3, sizeof(*tests));
	if (!tests)
		return 2;
	for (size_t i = 0; i < ncases; i++) {
		struct corpus_case *c = &cases[i];

		/* Streams that need RAM features of a later issue. */
		if (!strcmp(c->expect, "issue3"))
			continue;
		snprintf(names[n], sizeof(names[n]), "read %s", c->base);
		tests[n] = (struct CMUnitTest){ names[n], check_stream, NULL,
						NULL, c };
		n++;
		if (!strcmp(c->expect, "complete")) {
			snprintf(names[n], sizeof(names[n]), "pipe %s", c->base);
			tests[n] = (struct CMUnitTest){ names[n], check_pipe,
							NULL, NULL, c };
			n++;
			snprintf(names[n], sizeof(names[n]), "analyze %s",
				 c->base);
			tests[n] = (struct CMUnitTest){ names[n], check_analyze,
							NULL, NULL, c };
			n++;
		}
	}
	rc = _cmocka_run_group_tests("corpus", tests, n, NULL, NULL);
	free(tests);
	return rc;
}
