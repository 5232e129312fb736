/* SPDX-License-Identifier: MIT */
/*
 * migstream downgrade: rewrite a stream so that an older QEMU loads it, or
 * say why it cannot be.  A file is planned whole, written to a temporary
 * file next to the output, read back and validated again, then renamed
 * into place; a pipe is rewritten as it flows (mig_rewrite_pipe), the
 * device state held until its vmdesc arrives.  The report (what state was
 * dropped, what else changed, blockers, risks) goes to standard output,
 * or to standard error when the stream itself goes to standard output.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "migstream/encode.h"
#include "migstream/rewrite.h"
#include "migstream/schema.h"

/* Most --drop-section options. */
#define DROP_MAX 64

enum {
	OPT_TARGET = 0x2000,
	OPT_MACHINE,
	OPT_DROP,
	OPT_NO_VMDESC,
	OPT_DRY_RUN,
	OPT_JSON,
	OPT_MAX_HOLD,
	OPT_GLOBAL,
};

struct dgcli {
	const char *in;
	const char *out;
	struct cli_input input;
	struct mig_downgrade_opts o;
	const char *drop[DROP_MAX];
	bool json;
	bool dry_run;
	bool cut_short;		/* a pipe stopped after output left */
	uint64_t max_hold;
	FILE *report;		/* where the report goes */
	struct mig_downgrade *plan;	/* the plan (pipe: from the tail) */
	struct mig_parse_opts parse;	/* caps and schemas, every parse */
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 256];
};

static void print_err(struct dgcli *c, const struct mig_error *err,
		      const char *file)
{
	fprintf(stderr, "%s\n", mig_error_format(err, file, c->msg,
						 sizeof(c->msg)));
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void print_off(FILE *f, const json_t *o)
{
	const json_t *v = json_object_get(o, "offset");

	if (json_is_integer(v))
		fprintf(f, " at 0x%" PRIx64, (uint64_t)json_integer_value(v));
}

/*
 * Prints @text after @label, wrapped at 76 columns, continuation lines
 * indented as far as the label.
 */
static void para(FILE *f, const char *label, const char *text)
{
	size_t col, ind = strlen(label);
	const char *p = text;

	if (!text || !*text)
		return;
	fputs(label, f);
	col = ind;
	while (*p) {
		const char *w = p;
		size_t n;

		while (*p && *p != ' ' && *p != '\n')
			p++;
		n = (size_t)(p - w);
		if (col > ind && col + 1 + n > 76) {
			fprintf(f, "\n%*s", (int)ind, "");
			col = ind;
		} else if (col > ind) {
			fputc(' ', f);
			col++;
		}
		fwrite(w, 1, n, f);
		col += n;
		if (*p == '\n') {
			fprintf(f, "\n%*s", (int)ind, "");
			col = ind;
		}
		while (*p == ' ' || *p == '\n')
			p++;
	}
	fputc('\n', f);
}

/* The text report, from the same document --json prints. */
static void print_text(FILE *f, const json_t *doc)
{
	const json_t *dropped = json_object_get(doc, "dropped");
	const json_t *changes = json_object_get(doc, "changes");
	const json_t *blockers = json_object_get(doc, "blockers");
	const json_t *risks = json_object_get(doc, "risks");
	const char *verdict = jstr(doc, "verdict");
	const char *out = jstr(doc, "output");
	const json_t *j;
	bool refused;
	size_t i;

	fprintf(f, "%s: %s, machine %s: ", jstr(doc, "stream"),
		jstr(doc, "target"),
		jstr(doc, "machine") ? jstr(doc, "machine") : "unknown");
	if (!strcmp(verdict, "refused"))
		fprintf(f, "refused, %zu blocker%s; %s\n",
			json_array_size(blockers),
			json_array_size(blockers) == 1 ? "" : "s",
			json_is_true(json_object_get(doc, "cut_short"))
				? "the output stream is cut short"
				: "nothing written");
	else if (json_is_true(json_object_get(doc, "dry_run")))
		fprintf(f, "%s (dry run: nothing written)\n",
			!strcmp(verdict, "unchanged") ? "loads as it is"
						      : "would be rewritten");
	else if (!strcmp(verdict, "unchanged") && out && strcmp(out, "-"))
		fprintf(f, "loads as it is; %s is a copy\n", out);
	else if (!strcmp(verdict, "unchanged"))
		fprintf(f, "loads as it is; copied to standard output\n");
	else
		fprintf(f, "rewritten to %s\n",
			out && strcmp(out, "-") ? out : "standard output");
	refused = !strcmp(verdict, "refused");
	if (json_array_size(dropped))
		fprintf(f, "\n%s (%zu):\n",
			refused ? "state the plan would drop" : "state dropped",
			json_array_size(dropped));
	json_array_foreach(dropped, i, j) {
		fprintf(f, "  %s %s", jstr(j, "kind"), jstr(j, "path"));
		print_off(f, j);
		fprintf(f, ", %" JSON_INTEGER_FORMAT " bytes\n",
			json_integer_value(json_object_get(j, "size")));
		para(f, "      loses: ", jstr(j, "loss"));
		para(f, "      why:   ", jstr(j, "reason"));
	}
	if (json_array_size(changes))
		fprintf(f, "\n%s (%zu):\n",
			refused ? "other changes the plan would make"
				: "other changes",
			json_array_size(changes));
	json_array_foreach(changes, i, j) {
		fprintf(f, "  %s", jstr(j, "kind"));
		print_off(f, j);
		fputc('\n', f);
		para(f, "      ", jstr(j, "what"));
		para(f, "      effect: ", jstr(j, "effect"));
		para(f, "      why:    ", jstr(j, "reason"));
	}
	if (json_array_size(blockers))
		fprintf(f, "\nblockers (%zu):\n", json_array_size(blockers));
	json_array_foreach(blockers, i, j) {
		fprintf(f, "  %s", jstr(j, "check"));
		if (jstr(j, "path"))
			fprintf(f, " %s", jstr(j, "path"));
		print_off(f, j);
		fputc('\n', f);
		para(f, "      ", jstr(j, "message"));
		para(f, "      qemu:   ", jstr(j, "qemu"));
		para(f, "      remedy: ", jstr(j, "remedy"));
	}
	if (json_array_size(risks) && strcmp(verdict, "refused")) {
		fprintf(f, "\nrisks %s still sees (%zu; see migstream validate):\n",
			jstr(doc, "target"), json_array_size(risks));
		json_array_foreach(risks, i, j) {
			fprintf(f, "  %s %s", jstr(j, "check"),
				jstr(j, "path") ? jstr(j, "path") : "");
			print_off(f, j);
			fputc('\n', f);
		}
	}
}

static int report(struct dgcli *c, const struct mig_downgrade *d,
		  uint64_t out_size)
{
	json_t *doc;
	int rc = EXIT_YES;

	if (!c->report)
		return EXIT_YES;
	doc = mig_downgrade_json(d, c->in, c->out, c->dry_run);
	if (doc && c->cut_short)
		json_object_set_new(doc, "cut_short", json_true());
	if (doc && out_size != MIG_NO_OFFSET && !d->nblockers && !c->dry_run)
		json_object_set_new(doc, "output_bytes",
				    json_integer((json_int_t)out_size));
	if (!doc) {
		cli_warn("out of memory");
		return EXIT_ERROR;
	}
	if (c->json) {
		if (c->report == stdout) {
			rc = cli_print_json(doc);
		} else if (json_dumpf(doc, c->report,
				      JSON_INDENT(4) | JSON_PRESERVE_ORDER) ||
			   fputc('\n', c->report) == EOF) {
			rc = EXIT_ERROR;
		}
	} else {
		print_text(c->report, doc);
	}
	fflush(c->report);
	json_decref(doc);
	return rc;
}

/* The one line on standard error that goes with a refusal. */
static void refused(const struct dgcli *c, const struct mig_downgrade *d)
{
	const struct mig_dg_blocker *b = &d->blockers[0];

	cli_warn("downgrade: %s: %s refuses it and a rewrite cannot change that: %s%s%s (%zu blocker%s%s)",
		 c->in, c->o.target->name, b->check ? b->check : "",
		 b->path ? " " : "", b->path ? b->path : "", d->nblockers,
		 d->nblockers == 1 ? "" : "s",
		 c->report == stderr ? "" : ", see the report");
}

/* Reads @path back and validates it against the target. */
static int verify(struct dgcli *c, const char *path, const char *shown_as)
{
	struct mig_parse_opts popts = c->parse;
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	struct mig_error err;
	char why[MIG_MSG_MAX];
	bool loads = false;
	int ret;

	mig_error_clear(&err);
	ret = mig_reader_open(&r, path, &err);
	if (!ret)
		ret = mig_stream_read(r, &popts, &s, &err);
	if (!ret)
		ret = mig_downgrade_verify(s, r, &c->o, &loads, why,
					   sizeof(why),
					   &err);
	mig_stream_free(s);
	mig_reader_free(r);
	if (ret) {
		fprintf(stderr, "%s: the output does not read back: %s\n",
			shown_as, mig_error_format(&err, NULL, c->msg,
						   sizeof(c->msg)));
		return EXIT_ERROR;
	}
	if (!loads) {
		fprintf(stderr, "%s: the output would still be refused by %s (%s); nothing written\n",
			shown_as, c->o.target->name, why);
		return EXIT_ERROR;
	}
	return EXIT_YES;
}

/*
 * The copy made while the plan is made.  A plain file to a file: the
 * output is, up to the plan's first change, the input, so a thread copies
 * the input into the writer's temporary file (copy_file_range: the kernel
 * moves the bytes, guest RAM never passes through this process) while the
 * stream is read and planned; then the output is cut back to the first
 * change and written on from there.  The writer then syncs and renames
 * the file as usual.
 */
struct spec {
	pthread_t thread;
	bool running;
	int in_fd, out_fd;
	uint64_t start, end;	/* input bytes to copy */
	atomic_bool stop;
	uint64_t copied;	/* done, from .start on */
	int error;		/* errno of the copy, 0 */
};

static void *spec_copy(void *arg)
{
	struct spec *sp = arg;
	loff_t at = (loff_t)sp->start;

	while ((uint64_t)at < sp->end && !atomic_load(&sp->stop)) {
		uint64_t left = sp->end - (uint64_t)at;
		ssize_t k = copy_file_range(sp->in_fd, &at, sp->out_fd, NULL,
					    left < (64u << 20) ? (size_t)left
							       : (64u << 20),
					    0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			sp->error = k < 0 ? errno : EIO;
			break;
		}
		/* Write-back as the copy goes: the final sync has little
		 * left to wait for. */
		sync_file_range(sp->out_fd,
				(off_t)((uint64_t)at - sp->start - (uint64_t)k),
				k, SYNC_FILE_RANGE_WRITE);
	}
	sp->copied = (uint64_t)at - sp->start;
	return NULL;
}

/* Starts the copy when @r reads a plain file and @w writes one. */
static void spec_start(struct spec *sp, const char *in, struct mig_reader *r,
		       struct mig_writer *w)
{
	const struct mig_wrapper *wr = mig_reader_wrapper(r);
	const char *tmp = mig_writer_temp_path(w);
	struct stat st;

	memset(sp, 0, sizeof(*sp));
	sp->in_fd = sp->out_fd = -1;
	atomic_init(&sp->stop, false);
	if (!tmp || (wr && (wr->compression != MIG_COMP_NONE ||
			    wr->stream_compression != MIG_COMP_NONE)))
		return;
	sp->in_fd = open(in, O_RDONLY | O_CLOEXEC);
	if (sp->in_fd < 0 || fstat(sp->in_fd, &st) || !S_ISREG(st.st_mode))
		goto out_close;
	sp->out_fd = open(tmp, O_WRONLY | O_CLOEXEC);
	if (sp->out_fd < 0)
		goto out_close;
	sp->start = mig_rd_offset(r);
	sp->end = (uint64_t)st.st_size;
	if (sp->start > sp->end)
		goto out_close;
	if (!pthread_create(&sp->thread, NULL, spec_copy, sp)) {
		sp->running = true;
		return;
	}
out_close:
	if (sp->in_fd >= 0)
		close(sp->in_fd);
	if (sp->out_fd >= 0)
		close(sp->out_fd);
	sp->in_fd = sp->out_fd = -1;
}

/* Waits for the copy (stops it first with @cancel). */
static void spec_join(struct spec *sp, bool cancel)
{
	if (!sp->running)
		return;
	if (cancel)
		atomic_store(&sp->stop, true);
	pthread_join(sp->thread, NULL);
	sp->running = false;
}

static void spec_close(struct spec *sp)
{
	spec_join(sp, true);
	if (sp->in_fd >= 0)
		close(sp->in_fd);
	if (sp->out_fd >= 0)
		close(sp->out_fd);
	sp->in_fd = sp->out_fd = -1;
}

/* Writes the plan's output through @w (with @sp's copy when there is one). */
static int write_out(struct dgcli *c, struct mig_downgrade *d,
		     struct mig_reader *r, struct mig_writer *w,
		     struct spec *sp, uint64_t *size, struct mig_error *err)
{
	uint64_t start = mig_rewrite_start(d->rw), first, keep, written = 0;
	int ret;

	if (sp->in_fd < 0) {
		ret = mig_rewrite_write(d->rw, r, w, err);
		if (!ret)
			ret = mig_writer_flush(w, err);
		*size = mig_writer_offset(w);
		return ret;
	}
	spec_join(sp, false);
	first = mig_rewrite_first_change(d->rw);
	if (first == MIG_NO_OFFSET)
		first = mig_rewrite_end(d->rw);
	/* What the copy got right: the input up to the first change. */
	keep = sp->start == start && !sp->error ? sp->copied : 0;
	if (keep > first - start)
		keep = first - start;
	if (ftruncate(sp->out_fd, (off_t)keep) ||
	    lseek(sp->out_fd, (off_t)keep, SEEK_SET) < 0)
		return mig_error_set(err, MIG_EIO, MIG_NO_OFFSET,
				     "cannot write '%s': %s", c->out,
				     strerror(errno));
	ret = mig_rewrite_write_fd(d->rw, r, sp->in_fd, sp->out_fd,
				   start + keep, &written, err);
	*size = keep + written;
	if (close(sp->out_fd) && !ret)
		ret = mig_error_set(err, MIG_EIO, MIG_NO_OFFSET,
				    "cannot write '%s': %s", c->out,
				    strerror(errno));
	sp->out_fd = -1;
	return ret;
}

/* A file input: plan it whole, then write, check and commit. */
static int run_file(struct dgcli *c)
{
	struct mig_input_opts iopts = { .offset = c->input.offset };
	struct mig_parse_opts popts = c->parse;
	struct cli_progress prog;
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	struct mig_downgrade *d = NULL;
	struct mig_writer *w = NULL;
	struct mig_error err;
	struct spec sp = { .in_fd = -1, .out_fd = -1 };
	uint64_t out_size = MIG_NO_OFFSET;
	int ret, rc = EXIT_ERROR;

	mig_error_clear(&err);
	ret = mig_reader_open_input(&r, c->in, &iopts, &err);
	if (!ret)
		ret = mig_rd_make_seekable(r, &err);
	if (ret) {
		print_err(c, &err, c->in);
		rc = cli_exit_for(ret);
		goto out;
	}
	if (!c->dry_run) {
		ret = mig_writer_open(&w, c->out, &err);
		if (ret) {
			print_err(c, &err, NULL);
			goto out;
		}
		cli_guard_output(w);
		spec_start(&sp, c->in, r, w);
	}
	if (cli_progress_start(&prog, c->input.quiet)) {
		popts.on_progress = cli_progress_update;
		popts.progress_ctx = &prog;
	}
	ret = mig_stream_read(r, &popts, &s, &err);
	if (popts.on_progress)
		cli_progress_end(&prog);
	if (ret) {
		print_err(c, &err, c->in);
		cli_warn("downgrade: '%s' cannot be read to its end, so no QEMU loads it and it cannot be rewritten",
			 c->in);
		rc = cli_exit_for(ret);
		goto out_abort;
	}
	ret = mig_downgrade_plan(s, r, &c->o, NULL, &d, &err);
	if (ret) {
		print_err(c, &err, c->in);
		rc = ret == -MIG_EINVAL ? EXIT_ERROR : cli_exit_for(ret);
		goto out_abort;
	}
	if (d->nblockers || c->dry_run) {
		spec_close(&sp);
		mig_writer_abort(w);
		w = NULL;
		cli_guard_done();
		rc = report(c, d, MIG_NO_OFFSET);
		if (!rc && d->nblockers) {
			refused(c, d);
			rc = EXIT_NO;
		}
		goto out;
	}
	ret = write_out(c, d, r, w, &sp, &out_size, &err);
	if (ret) {
		print_err(c, &err, c->out);
		rc = cli_exit_for(ret);
		goto out_abort;
	}
	if (mig_writer_temp_path(w)) {
		rc = verify(c, mig_writer_temp_path(w), c->out);
		if (rc)
			goto out_abort;
	}
	ret = mig_writer_commit(w, &err);
	w = NULL;
	cli_guard_done();
	if (ret) {
		print_err(c, &err, NULL);
		rc = EXIT_ERROR;
		goto out;
	}
	rc = report(c, d, out_size);
	goto out;
out_abort:
	spec_close(&sp);
	mig_writer_abort(w);
	cli_guard_done();
out:
	spec_close(&sp);
	mig_downgrade_free(d);
	mig_stream_free(s);
	mig_reader_free(r);
	return rc;
}

static int pipe_head(void *ctx, const struct mig_pipe_head *h,
		     struct mig_pipe_policy *p, struct mig_error *err)
{
	struct dgcli *c = ctx;

	return mig_downgrade_head(&c->o, h, p, err);
}

static int pipe_tail(void *ctx, const struct mig_stream *s,
		     struct mig_reader *r, const struct mig_offmap *map,
		     struct mig_rewrite **rw, struct mig_error *err)
{
	struct dgcli *c = ctx;
	int ret;

	*rw = NULL;
	ret = mig_downgrade_plan(s, r, &c->o, map, &c->plan, err);
	if (ret)
		return ret;
	if (c->plan->nblockers)
		return mig_error_set(err, MIG_EDECODE, MIG_NO_OFFSET,
				     "%s refuses the stream and the rewrite cannot change that (%zu blocker%s); the output is cut short",
				     c->o.target->name, c->plan->nblockers,
				     c->plan->nblockers == 1 ? "" : "s");
	/* The plan is used by the pipe; the report keeps its lists. */
	*rw = c->plan->rw;
	c->plan->rw = NULL;
	return 0;
}

/* A pipe input: rewrite as it flows. */
static int run_pipe(struct dgcli *c)
{
	struct mig_pipe_ops ops = {
		.head = pipe_head,
		.tail = pipe_tail,
		.ctx = c,
		.max_hold = c->max_hold,
		.parse = &c->parse,
	};
	struct mig_input_opts iopts = { .offset = c->input.offset };
	struct mig_reader *r = NULL;
	struct mig_writer *w = NULL;
	struct mig_error err;
	uint64_t out_size;
	int ret, rc = EXIT_ERROR;

	mig_error_clear(&err);
	ret = mig_reader_open_input(&r, c->in, &iopts, &err);
	if (ret) {
		print_err(c, &err, c->in);
		return cli_exit_for(ret);
	}
	ret = mig_writer_open(&w, c->out, &err);
	if (ret) {
		print_err(c, &err, NULL);
		goto out;
	}
	cli_guard_output(w);
	ret = mig_rewrite_pipe(r, w, &ops, &err);
	if (!ret)
		ret = mig_writer_flush(w, &err);
	if (ret) {
		print_err(c, &err, c->in);
		if (c->plan && c->plan->nblockers) {
			c->cut_short = mig_writer_offset(w) > 0 &&
				       !mig_writer_temp_path(w);
			report(c, c->plan, MIG_NO_OFFSET);
			rc = EXIT_NO;
		} else {
			rc = ret == -MIG_EINVAL ? EXIT_NO : cli_exit_for(ret);
		}
		goto out_abort;
	}
	out_size = mig_writer_offset(w);
	if (mig_writer_temp_path(w)) {
		rc = verify(c, mig_writer_temp_path(w), c->out);
		if (rc)
			goto out_abort;
	}
	ret = mig_writer_commit(w, &err);
	w = NULL;
	cli_guard_done();
	if (ret) {
		print_err(c, &err, NULL);
		goto out;
	}
	rc = c->plan ? report(c, c->plan, out_size) : EXIT_YES;
	goto out;
out_abort:
	mig_writer_abort(w);
	cli_guard_done();
out:
	mig_reader_free(r);
	return rc;
}

/*
 * --global PROP=on|off, as the target's -global: the two properties that
 * change what its loader expects.
 */
static int parse_global(struct mig_downgrade_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	int v = -1;

	if (eq && (!strcmp(eq + 1, "on") || !strcmp(eq + 1, "true") ||
		   !strcmp(eq + 1, "yes")))
		v = 1;
	else if (eq && (!strcmp(eq + 1, "off") || !strcmp(eq + 1, "false") ||
			!strcmp(eq + 1, "no")))
		v = 0;
	if (v < 0) {
		cli_warn("downgrade: bad --global '%s' (PROP=on|off)", arg);
		return -1;
	}
	if (!strncmp(arg, "migration.send-section-footer=", 30)) {
		o->footers = v;
	} else if (!strncmp(arg, "migration.send-configuration=", 29)) {
		o->configuration = v;
	} else {
		cli_warn("downgrade: --global '%.*s' does not change what the target's loader expects (known: migration.send-section-footer, migration.send-configuration)",
			 (int)(eq - arg), arg);
		return -1;
	}
	return 0;
}

int cmd_downgrade(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "machine", required_argument, NULL, OPT_MACHINE },
		{ "drop-section", required_argument, NULL, OPT_DROP },
		{ "no-vmdesc", no_argument, NULL, OPT_NO_VMDESC },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "max-hold", required_argument, NULL, OPT_MAX_HOLD },
		{ "global", required_argument, NULL, OPT_GLOBAL },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		CLI_INPUT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct dgcli c = { 0 };
	struct mig_schema **target = NULL, **all = NULL, **forced = NULL;
	size_t ntarget = 0, nall = 0, nforced = 0;
	const char *target_arg = NULL;
	char *end;
	int opt, rc;

	mig_downgrade_opts_init(&c.o);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_TARGET:
			if (target_arg) {
				cli_warn("downgrade: one --target only (downgrade writes one stream)");
				return cli_usage("downgrade");
			}
			target_arg = optarg;
			break;
		case OPT_MACHINE:
			c.o.machine = optarg;
			break;
		case OPT_DROP:
			if (c.o.ndrop >= DROP_MAX) {
				cli_warn("downgrade: at most %d --drop-section options",
					 DROP_MAX);
				return EXIT_ERROR;
			}
			c.drop[c.o.ndrop++] = optarg;
			break;
		case OPT_NO_VMDESC:
			c.o.no_vmdesc = true;
			break;
		case OPT_DRY_RUN:
			c.dry_run = true;
			break;
		case OPT_JSON:
			c.json = true;
			break;
		case OPT_MAX_HOLD:
			c.max_hold = strtoull(optarg, &end, 0);
			if (end == optarg || *end || optarg[0] == '-' ||
			    !c.max_hold) {
				cli_warn("downgrade: bad --max-hold '%s' (bytes, decimal or 0x hex)",
					 optarg);
				return EXIT_ERROR;
			}
			break;
		case OPT_GLOBAL:
			if (parse_global(&c.o, optarg))
				return EXIT_ERROR;
			break;
		case 'o':
			c.out = optarg;
			break;
		case 'h':
			return cli_help("downgrade");
		default:
			switch (cli_input_option(&c.input, opt, optarg)) {
			case 1:
				break;
			case 0:
				return cli_usage("downgrade");
			default:
				return EXIT_ERROR;
			}
		}
	}
	if (!target_arg) {
		cli_warn("downgrade: no --target (the QEMU to load the result, as qemu-X.Y)");
		return cli_usage("downgrade");
	}
	if (optind >= argc) {
		cli_warn("downgrade: missing IN operand");
		return cli_usage("downgrade");
	}
	c.in = argv[optind++];
	if (optind < argc && !c.out)
		c.out = argv[optind++];
	if (optind < argc) {
		cli_warn("downgrade: unexpected operand '%s'", argv[optind]);
		return cli_usage("downgrade");
	}
	if (!c.out && !c.dry_run) {
		cli_warn("downgrade: no output: give -o OUT (or - for standard output), or --dry-run");
		return cli_usage("downgrade");
	}
	if (c.out && mig_same_file(c.in, c.out)) {
		cli_warn("downgrade: the output '%s' is the input; downgrade never changes its input",
			 c.out);
		return EXIT_ERROR;
	}
	if (c.dry_run && !strcmp(c.in, "-")) {
		cli_warn("downgrade: --dry-run reads a file, not standard input (a pipe's bytes would be gone)");
		return EXIT_ERROR;
	}
	c.o.drop = c.drop;
	c.o.caps = c.input.caps;
	c.o.ncaps = c.input.ncaps;
	c.report = c.out && !strcmp(c.out, "-") ? stderr : stdout;

	rc = cli_load_schemas(target_arg, &target, &ntarget);
	if (rc)
		return rc;
	if (ntarget != 1) {
		cli_warn("downgrade: --target %s names %zu schemas, not one",
			 target_arg, ntarget);
		cli_free_schemas(target, ntarget);
		return EXIT_ERROR;
	}
	/*
	 * Every schema there is: the source's say what a version added, and
	 * they describe device sections a stream without a vmdesc carries
	 * (--schema picks one for that, as for every command).
	 */
	if (cli_load_schemas(NULL, &all, &nall)) {
		all = NULL;
		nall = 0;
	}
	if (c.input.schema &&
	    cli_load_schemas(c.input.schema, &forced, &nforced)) {
		rc = EXIT_ERROR;
		goto out;
	}
	c.o.target = target[0];
	c.o.schemas = (const struct mig_schema *const *)all;
	c.o.nschemas = nall;
	c.parse.caps = c.input.caps;
	c.parse.ncaps = c.input.ncaps;
	c.parse.schemas = c.input.schema
				  ? (const struct mig_schema *const *)forced
				  : c.o.schemas;
	c.parse.nschemas = c.input.schema ? nforced : nall;
	c.parse.schema_forced = c.input.schema != NULL;
	c.o.parse = &c.parse;
	if (!strcmp(c.in, "-"))
		rc = run_pipe(&c);
	else
		rc = run_file(&c);
out:
	mig_downgrade_free(c.plan);
	cli_free_schemas(forced, nforced);
	cli_free_schemas(all, nall);
	cli_free_schemas(target, ntarget);
	return rc;
}
