/* SPDX-License-Identifier: MIT */
/* dump --ram pages|hash and dump --extract DIR: see dump_ram.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dump_ram.h"

/* One page record, as spooled in stream order. */
struct spooled {
	uint64_t section;	/* offset of its START/PART/END record */
	uint64_t addr;
	uint64_t offset;
	uint32_t block;
	uint16_t len;		/* xbzrle: delta bytes */
	uint8_t record;		/* enum mig_page_record */
	uint8_t fill;		/* zero: fill byte */
};

static const char *const record_names[] = {
	[MIG_PREC_PAGE] = "page",
	[MIG_PREC_ZERO] = "zero",
	[MIG_PREC_XBZRLE] = "xbzrle",
	[MIG_PREC_COMPRESS] = "compressed",
	[MIG_PREC_MAPPED] = "mapped",
};

/* The files --extract writes besides the block files. */
static const char *const extract_files[] = { "state.json", "desc.json" };

bool dump_ram_mode(const char *arg, enum dump_ram_mode *mode)
{
	if (!strcmp(arg, "summary"))
		*mode = DUMP_RAM_SUMMARY;
	else if (!strcmp(arg, "pages"))
		*mode = DUMP_RAM_PAGES;
	else if (!strcmp(arg, "hash"))
		*mode = DUMP_RAM_HASH;
	else
		return false;
	return true;
}

static int on_page(void *ctx, const struct mig_page *pg)
{
	struct dump_ram *d = ctx;

	/* The holes of a mapped-ram bitmap are no records: not listed. */
	if (d->spool &&
	    !(pg->record == MIG_PREC_MAPPED && pg->kind == MIG_PAGE_FILL)) {
		struct spooled e = {
			.section = pg->section,
			.addr = pg->addr,
			.offset = pg->offset,
			.block = (uint32_t)pg->block_index,
			.len = pg->kind == MIG_PAGE_XBZRLE ? (uint16_t)pg->len
							   : 0,
			.record = (uint8_t)pg->record,
			.fill = pg->fill,
		};

		if (fwrite(&e, sizeof(e), 1, d->spool) != 1)
			return mig_error_set(pg->err, MIG_EIO, pg->offset,
					     "cannot write the page list to a temporary file: %s",
					     strerror(errno));
	}
	return d->img ? mig_ram_image_on_page(d->img, pg) : 0;
}

/* A temporary file nobody else can see (unlinked at once). */
static FILE *spool_file(void)
{
	const char *tmpdir = getenv("TMPDIR");
	char path[4096];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/migstream-pages-XXXXXX",
		 tmpdir && *tmpdir ? tmpdir : "/tmp");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return NULL;
	unlink(path);
	f = fdopen(fd, "w+");
	if (!f)
		close(fd);
	return f;
}

static bool exists(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

int dump_ram_prepare(struct dump_ram *d, struct cli_input *in)
{
	unsigned flags = 0;
	struct mig_error err;
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 64];

	if (d->extract) {
		struct stat st;

		if (mkdir(d->extract, 0777) == 0) {
			d->made_dir = true;
		} else if (errno != EEXIST) {
			cli_warn("dump: cannot make the folder '%s': %s",
				 d->extract, strerror(errno));
			return EXIT_ERROR;
		}
		if (stat(d->extract, &st) || !S_ISDIR(st.st_mode)) {
			cli_warn("dump: '%s' is not a folder", d->extract);
			return EXIT_ERROR;
		}
		for (size_t i = 0; !d->force && i < 2; i++)
			if (exists(d->extract, extract_files[i])) {
				cli_warn("dump: '%s/%s' exists (--force overwrites it)",
					 d->extract, extract_files[i]);
				return EXIT_ERROR;
			}
		flags |= MIG_IMAGE_FILES;
	}
	if (d->mode == DUMP_RAM_HASH)
		flags |= MIG_IMAGE_DIGESTS;
	if (d->mode == DUMP_RAM_PAGES) {
		d->spool = spool_file();
		if (!d->spool) {
			cli_warn("dump: cannot make a temporary file for the page list: %s",
				 strerror(errno));
			return EXIT_ERROR;
		}
	}
	if (flags) {
		mig_error_clear(&err);
		if (mig_ram_image_new(&d->img, flags, d->extract, &err)) {
			cli_warn("dump: %s", mig_error_format(&err, NULL, msg,
							      sizeof(msg)));
			return cli_exit_for(err.code);
		}
	}
	if (d->spool || d->img) {
		in->parse.on_page = on_page;
		in->parse.ctx = d;
	}
	return EXIT_YES;
}

void dump_ram_free(struct dump_ram *d)
{
	if (d->spool)
		fclose(d->spool);
	d->spool = NULL;
	mig_ram_image_free(d->img);
	d->img = NULL;
	/* A folder made for a result that never came goes again. */
	if (d->made_dir && !d->written)
		rmdir(d->extract);
}

/* ------------------------------------------------------------------ */
/* The writer: what json_dumpf(JSON_INDENT(4) | JSON_PRESERVE_ORDER)   */
/* prints, with the page list and the digests streamed in.             */

struct writer {
	FILE *f;
	struct dump_ram *d;
	const struct mig_stream *s;
	const json_t *records;	/* the document's "records" array */
	const json_t *blocks;	/* its "ram_blocks" array */
	struct spooled next;	/* the next spooled page, if have_next */
	bool have_next;
	bool spool_bad;
};

enum place { PLAIN, IN_RECORDS, IN_BLOCKS };

static void put_indent(FILE *f, int n)
{
	fprintf(f, "%*s", n, "");
}

static void put_scalar(FILE *f, const json_t *j)
{
	char *t = json_dumps(j, JSON_ENCODE_ANY);

	if (t)
		fputs(t, f);
	else
		fputs("null", f);
	free(t);
}

/* A block name as a JSON string; bytes that are not ASCII as \u00XX. */
static void put_name(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void put_u64(FILE *f, uint64_t v)
{
	if (v <= INT64_MAX)
		fprintf(f, "%" PRIu64, v);
	else
		fprintf(f, "\"0x%" PRIx64 "\"", v);
}

static void next_spooled(struct writer *w)
{
	w->have_next = fread(&w->next, sizeof(w->next), 1, w->d->spool) == 1;
	if (!w->have_next && ferror(w->d->spool))
		w->spool_bad = true;
}

/* "pages": the spooled records of the RAM section record @rec. */
static void put_pages(struct writer *w, const struct mig_record *rec,
		      int ind)
{
	bool first = true;

	fputs("\"pages\": [", w->f);
	while (w->have_next && w->next.section == rec->offset) {
		const struct spooled *e = &w->next;

		fputs(first ? "\n" : ",\n", w->f);
		first = false;
		put_indent(w->f, ind + 4);
		fputs("{\"block\": ", w->f);
		put_name(w->f, e->block < w->s->nram_blocks
				       ? w->s->ram_blocks[e->block].name : "");
		fputs(", \"addr\": ", w->f);
		put_u64(w->f, e->addr);
		fprintf(w->f, ", \"kind\": \"%s\"",
			e->record < sizeof(record_names) / sizeof(*record_names)
				? record_names[e->record] : "unknown");
		if (e->record == MIG_PREC_ZERO && e->fill)
			fprintf(w->f, ", \"fill\": %u", e->fill);
		if (e->record == MIG_PREC_XBZRLE)
			fprintf(w->f, ", \"delta\": %u", e->len);
		fputs(", \"offset\": ", w->f);
		put_u64(w->f, e->offset);
		fputc('}', w->f);
		next_spooled(w);
	}
	if (!first) {
		fputc('\n', w->f);
		put_indent(w->f, ind);
	}
	fputc(']', w->f);
}

/* "digests": one per page of block @bi, "zero" or 16 hex digits. */
static void put_digests(struct writer *w, size_t bi, int ind)
{
	uint64_t n = mig_ram_image_pages(w->d->img, bi);

	fputs("\"digests\": [", w->f);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t dig;

		fputs(i ? ",\n" : "\n", w->f);
		put_indent(w->f, ind + 4);
		if (mig_ram_image_digest(w->d->img, bi, i, &dig))
			fprintf(w->f, "\"%016" PRIx64 "\"", dig);
		else
			fputs("\"zero\"", w->f);
	}
	if (n) {
		fputc('\n', w->f);
		put_indent(w->f, ind);
	}
	fputc(']', w->f);
}

static void put_value(struct writer *w, const json_t *j, int ind,
		      enum place where, size_t index,
		      const struct mig_record *rec);

static void put_object(struct writer *w, const json_t *j, int ind,
		       enum place where, size_t index,
		       const struct mig_record *rec)
{
	bool pages = where == IN_RECORDS && w->d->spool && rec &&
		     rec->kind == MIG_SEC_RAM;
	bool digests = where == IN_BLOCKS && w->d->mode == DUMP_RAM_HASH;
	const char *key;
	const json_t *v;
	bool first = true;

	if (!json_object_size(j) && !pages && !digests) {
		fputs("{}", w->f);
		return;
	}
	fputc('{', w->f);
	json_object_foreach((json_t *)j, key, v) {
		json_t *k = json_string(key);

		fputs(first ? "\n" : ",\n", w->f);
		first = false;
		put_indent(w->f, ind + 4);
		put_scalar(w->f, k);
		json_decref(k);
		fputs(": ", w->f);
		put_value(w, v, ind + 4, PLAIN, 0, NULL);
	}
	if (pages || digests) {
		fputs(first ? "\n" : ",\n", w->f);
		put_indent(w->f, ind + 4);
		if (pages)
			put_pages(w, rec, ind + 4);
		else
			put_digests(w, index, ind + 4);
	}
	fputc('\n', w->f);
	put_indent(w->f, ind);
	fputc('}', w->f);
}

static void put_value(struct writer *w, const json_t *j, int ind,
		      enum place where, size_t index,
		      const struct mig_record *rec)
{
	const struct mig_record *r = w->s->records;
	enum place inner = j == w->records ? IN_RECORDS
			 : j == w->blocks ? IN_BLOCKS : PLAIN;
	size_t i;
	const json_t *v;

	if (json_is_object(j)) {
		put_object(w, j, ind, where, index, rec);
		return;
	}
	if (!json_is_array(j)) {
		put_scalar(w->f, j);
		return;
	}
	if (!json_array_size(j)) {
		fputs("[]", w->f);
		return;
	}
	fputc('[', w->f);
	json_array_foreach(j, i, v) {
		fputs(i ? ",\n" : "\n", w->f);
		put_indent(w->f, ind + 4);
		/* "records" lists s->records one to one, in order. */
		put_value(w, v, ind + 4, inner, i,
			  inner == IN_RECORDS ? r : NULL);
		if (inner == IN_RECORDS && r)
			r = r->next;
	}
	fputc('\n', w->f);
	put_indent(w->f, ind);
	fputc(']', w->f);
}

/* Writes @doc to @f; EXIT_YES, or EXIT_ERROR after a message. */
static int write_doc(FILE *f, const char *what, struct dump_ram *d,
		     const struct mig_stream *s, const json_t *doc)
{
	struct writer w = {
		.f = f,
		.d = d,
		.s = s,
		.records = json_object_get(doc, "records"),
		.blocks = json_object_get(doc, "ram_blocks"),
	};

	if (d->spool) {
		if (fflush(d->spool) || fseek(d->spool, 0, SEEK_SET))
			w.spool_bad = true;
		else
			next_spooled(&w);
	}
	put_value(&w, doc, 0, PLAIN, 0, NULL);
	fputc('\n', f);
	if (w.spool_bad) {
		cli_warn("dump: cannot read back the page list: %s",
			 strerror(errno));
		return EXIT_ERROR;
	}
	if (fflush(f) || ferror(f)) {
		cli_warn("dump: cannot write %s: %s", what, strerror(errno));
		return EXIT_ERROR;
	}
	return EXIT_YES;
}

/* ------------------------------------------------------------------ */
/* --extract                                                           */

/* Creates DIR/.NAME.PID.tmp for writing; its path in @path. */
static FILE *create_tmp(const char *dir, const char *name, char *path,
			size_t n)
{
	FILE *f;
	int fd;

	snprintf(path, n, "%s/.%s.%ld.tmp", dir, name, (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(path);
	}
	return f;
}

static int write_extract(struct dump_ram *d, const struct mig_stream *s,
			 json_t *doc)
{
	char tmp[2][4096], path[4096];
	bool made[2] = { false, false };
	struct mig_error err;
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 64];
	json_t *blocks = json_object_get(doc, "ram_blocks");
	int rc = EXIT_ERROR;
	FILE *f;

	/* Where each block went, in the document. */
	for (size_t i = 0; i < json_array_size(blocks); i++) {
		const char *file = mig_ram_image_file(d->img, i);

		if (file)
			json_object_set_new(json_array_get(blocks, i), "file",
					    json_string(file));
	}

	f = create_tmp(d->extract, extract_files[0], tmp[0], sizeof(tmp[0]));
	if (!f) {
		cli_warn("dump: cannot create '%s': %s", tmp[0],
			 strerror(errno));
		goto out_unlink;
	}
	made[0] = true;
	rc = write_doc(f, tmp[0], d, s, doc);
	if (fclose(f) && rc == EXIT_YES) {
		cli_warn("dump: cannot write '%s': %s", tmp[0],
			 strerror(errno));
		rc = EXIT_ERROR;
	}
	if (rc)
		goto out_unlink;

	if (s->vmdesc) {
		rc = EXIT_ERROR;
		f = create_tmp(d->extract, extract_files[1], tmp[1],
			       sizeof(tmp[1]));
		if (!f) {
			cli_warn("dump: cannot create '%s': %s", tmp[1],
				 strerror(errno));
			goto out_unlink;
		}
		made[1] = true;
		if (json_dumpf(s->vmdesc, f,
			       JSON_INDENT(4) | JSON_PRESERVE_ORDER) ||
		    fputc('\n', f) == EOF) {
			fclose(f);
			cli_warn("dump: cannot write '%s': %s", tmp[1],
				 strerror(errno));
			goto out_unlink;
		}
		if (fclose(f)) {
			cli_warn("dump: cannot write '%s': %s", tmp[1],
				 strerror(errno));
			goto out_unlink;
		}
	}

	/* Nothing is renamed unless everything can be. */
	rc = EXIT_ERROR;
	for (size_t i = 0; !d->force && i < 2; i++)
		if (exists(d->extract, extract_files[i])) {
			cli_warn("dump: '%s/%s' exists (--force overwrites it)",
				 d->extract, extract_files[i]);
			goto out_unlink;
		}
	mig_error_clear(&err);
	if (mig_ram_image_commit(d->img, d->force, &err)) {
		cli_warn("dump: %s%s",
			 mig_error_format(&err, NULL, msg, sizeof(msg)),
			 err.code == MIG_EIO && strstr(err.msg, "exists")
				 ? " (--force overwrites it)" : "");
		goto out_unlink;
	}
	for (size_t i = 0; i < 2; i++) {
		if (!made[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->extract,
			 extract_files[i]);
		if (rename(tmp[i], path)) {
			cli_warn("dump: cannot rename '%s' to '%s': %s",
				 tmp[i], path, strerror(errno));
			goto out_unlink;
		}
		made[i] = false;
	}
	d->written = true;
	rc = EXIT_YES;
out_unlink:
	for (size_t i = 0; i < 2; i++)
		if (made[i])
			unlink(tmp[i]);
	return rc;
}

int dump_ram_output(struct dump_ram *d, struct mig_stream *s, int rc)
{
	struct mig_error err;
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 64];
	json_t *doc;
	int prc;

	/* An invalid stream leaves DIR as it was. */
	if (d->extract && rc != EXIT_YES)
		return rc;
	if (d->img) {
		mig_error_clear(&err);
		if (mig_ram_image_finish(d->img, s, &err)) {
			cli_warn("dump: %s", mig_error_format(&err, s->name, msg,
							      sizeof(msg)));
			return cli_exit_for(err.code);
		}
	}
	doc = mig_dump_json(s, d->flags);
	if (!doc) {
		cli_warn("out of memory");
		return EXIT_ERROR;
	}
	if (d->extract)
		prc = write_extract(d, s, doc);
	else
		prc = write_doc(stdout, "the output", d, s, doc);
	json_decref(doc);
	return prc ? prc : rc;
}
