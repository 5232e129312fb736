/* SPDX-License-Identifier: MIT */
/*
 * migstream validate: would QEMU X.Y load this stream?  Each STREAM is
 * parsed once and checked against every --target (check.h).  One target:
 * the findings, grouped by section; several: a matrix of stream x target
 * with the first reason of each refusal.  Text is rendered from the same
 * JSON documents --json prints, so the two cannot disagree.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "migstream/check.h"
#include "migstream/schema.h"

#define TARGETS_MAX 16

struct vopts {
	const char *targets[TARGETS_MAX];
	size_t ntargets;
	struct mig_validate_opts vo;
	char machine[256];
	bool json;
	bool verbose;
	struct cli_input in;
};

/* "on"/"off"/"yes"/"no"/"true"/"false": 1, 0, or -1 when none. */
static int onoff(const char *v)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
		return 1;
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
		return 0;
	return -1;
}

/* --global PROP=VALUE, as QEMU's -global, for what changes the load. */
static int parse_global(struct vopts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	int v = eq ? onoff(eq + 1) : -1;

	if (!eq || v < 0) {
		cli_warn("validate: bad --global '%s' (PROP=on|off)", arg);
		return -1;
	}
	if (!strncmp(arg, "migration.send-section-footer=", 30))
		o->vo.footers = v;
	else if (!strncmp(arg, "migration.send-configuration=", 29))
		o->vo.configuration = v;
	else if (!strncmp(arg, "migration.send-switchover-start=", 32))
		;	/* the source's business: the target reads it anyway */
	else {
		cli_warn("validate: --global '%.*s' does not change how QEMU loads a stream (known: migration.send-section-footer, migration.send-configuration)",
			 (int)(eq - arg), arg);
		return -1;
	}
	return 0;
}

/* --machine NAME[,suppress-vmdesc=on|off], as QEMU's -machine. */
static int parse_machine(struct vopts *o, const char *arg)
{
	const char *comma = strchr(arg, ',');
	size_t n = comma ? (size_t)(comma - arg) : strlen(arg);

	if (!n || n >= sizeof(o->machine)) {
		cli_warn("validate: bad --machine '%s'", arg);
		return -1;
	}
	memcpy(o->machine, arg, n);
	o->machine[n] = '\0';
	o->vo.machine = o->machine;
	while (comma) {
		const char *opt = comma + 1;
		const char *next = strchr(opt, ',');
		size_t len = next ? (size_t)(next - opt) : strlen(opt);
		int v;

		if (len > 16 && !strncmp(opt, "suppress-vmdesc=", 16)) {
			char val[8] = "";

			if (len - 16 < sizeof(val))
				memcpy(val, opt + 16, len - 16);
			v = onoff(val);
			if (v < 0) {
				cli_warn("validate: bad --machine option '%.*s'",
					 (int)len, opt);
				return -1;
			}
			o->vo.vmdesc = !v;
		} else {
			cli_warn("validate: --machine option '%.*s' is not one that changes the load (known: suppress-vmdesc)",
				 (int)len, opt);
			return -1;
		}
		comma = next;
	}
	return 0;
}

/* Opens and parses @path, keeping a seekable reader for the checks. */
static int read_stream(const char *path, const struct cli_input *in,
		       struct mig_reader **r, struct mig_stream **s,
		       int *parse_ret, struct mig_error *err)
{
	struct mig_schema **src_schemas = NULL;
	size_t nsrc = 0;
	struct mig_input_opts iopts = { 0 };
	struct mig_parse_opts popts;
	struct cli_progress prog;
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 256];
	int ret;

	*r = NULL;
	*s = NULL;
	mig_error_clear(err);
	iopts.offset = in->offset;
	/* Schemas describe the source's device sections a vmdesc does not
	 * (--schema, as every command reads a stream). */
	if (cli_load_schemas(in->schema, &src_schemas, &nsrc))
		return EXIT_ERROR;
	ret = mig_reader_open_input(r, path, &iopts, err);
	/* A pipe or a compressed file cannot go back to a section: spool it
	 * (sparse, to $TMPDIR) first. */
	if (!ret && !mig_rd_seekable(*r))
		ret = mig_rd_make_seekable(*r, err);
	if (ret) {
		fprintf(stderr, "%s\n", mig_error_format(err, path, msg, sizeof(msg)));
		mig_reader_free(*r);
		*r = NULL;
		cli_free_schemas(src_schemas, nsrc);
		return EXIT_ERROR;
	}
	popts = in->parse;
	popts.caps = in->caps;
	popts.ncaps = in->ncaps;
	popts.schemas = (const struct mig_schema *const *)src_schemas;
	popts.nschemas = nsrc;
	popts.schema_forced = in->schema != NULL;
	if (cli_progress_start(&prog, in->quiet)) {
		popts.on_progress = cli_progress_update;
		popts.progress_ctx = &prog;
	}
	*parse_ret = mig_stream_read(*r, &popts, s, err);
	/* QEMU never reads the vmdesc: when it disagrees with the sections,
	 * read the stream again without it (the schemas describe them). */
	if ((*parse_ret == -MIG_EVMDESC || *parse_ret == -MIG_EDECODE) &&
	    !mig_rd_seek(*r, 0, err)) {
		mig_stream_free(*s);
		*s = NULL;
		mig_error_clear(err);
		popts.ignore_vmdesc = true;
		*parse_ret = mig_stream_read(*r, &popts, s, err);
	}
	if (popts.on_progress == cli_progress_update)
		cli_progress_end(&prog);
	cli_free_schemas(src_schemas, nsrc);
	if (*parse_ret == -MIG_EIO || *parse_ret == -MIG_ENOMEM ||
	    *parse_ret == -MIG_EINVAL || !*s) {
		fprintf(stderr, "%s\n", mig_error_format(err, path, msg, sizeof(msg)));
		return EXIT_ERROR;
	}
	return EXIT_YES;
}

/* ------------------------------------------------------------------ */
/* Text                                                                */

static const char *str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static uint64_t u64_of(const json_t *j)
{
	if (json_is_string(j))
		return strtoull(json_string_value(j), NULL, 16);
	return (uint64_t)json_integer_value(j);
}

/* Prints @text word-wrapped at 78 columns, each line indented @ind. */
static void wrap(const char *text, int ind)
{
	const char *p = text;
	int col = 0;

	if (!p)
		return;
	while (*p) {
		const char *w = p;
		int len;

		while (*w == ' ')
			w++;
		len = 0;
		while (w[len] && w[len] != ' ')
			len++;
		if (!len)
			break;
		if (col && col + 1 + len > 78) {
			putchar('\n');
			col = 0;
		}
		if (!col) {
			printf("%*s", ind, "");
			col = ind;
		} else {
			putchar(' ');
			col++;
		}
		printf("%.*s", len, w);
		col += len;
		p = w + len;
	}
	if (col)
		putchar('\n');
}

static void print_finding(const json_t *f)
{
	const json_t *off = json_object_get(f, "offset");
	const json_t *q = json_object_get(f, "qemu");
	const char *p = str(f, "path");
	const json_t *line;
	size_t i;

	printf("    %-6s %s", str(f, "severity"), str(f, "check"));
	if (!json_is_null(off))
		printf(" at 0x%" PRIx64, u64_of(off));
	if (p)
		printf(", %s", p);
	printf("\n");
	wrap(str(f, "message"), 11);
	json_array_foreach(q, i, line)
		printf("%11sqemu-system-x86_64: %s\n", "", json_string_value(line));
	if (str(f, "cause") && *str(f, "cause"))
		wrap(str(f, "cause"), 11);
}

/* A finding of a section, for grouping. */
struct sec_item {
	const char *section;
	json_int_t id;
	size_t index;		/* in the findings */
	size_t first;		/* of its group, once known */
};

static int by_section(const void *a, const void *b)
{
	const struct sec_item *x = a, *y = b;
	int c;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	c = strcmp(x->section, y->section);
	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int by_first(const void *a, const void *b)
{
	const struct sec_item *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * The findings of @fs not yet @done that name a section, under a heading
 * per section (name and id), sections in the order of their first
 * finding.  Sorted, not searched: a stream may have tens of thousands of
 * sections with a finding each.
 */
static void print_by_section(const json_t *fs, bool *done)
{
	struct sec_item *it = calloc(json_array_size(fs) + 1, sizeof(*it));
	size_t n = 0, i;
	const json_t *f;

	if (!it) {
		cli_warn("out of memory");
		return;
	}
	json_array_foreach(fs, i, f) {
		if (done[i] || !str(f, "section"))
			continue;
		it[n].section = str(f, "section");
		it[n].id = json_integer_value(json_object_get(f, "section_id"));
		it[n].index = i;
		n++;
	}
	qsort(it, n, sizeof(*it), by_section);
	for (size_t a = 0, b; a < n; a = b) {
		for (b = a; b < n && it[b].id == it[a].id &&
			    !strcmp(it[b].section, it[a].section); b++)
			it[b].first = it[a].index;
	}
	qsort(it, n, sizeof(*it), by_first);
	for (size_t k = 0; k < n; k++) {
		f = json_array_get(fs, it[k].index);
		if (!k || it[k].first != it[k - 1].first)
			printf("  section '%s' (id %" JSON_INTEGER_FORMAT
			       ", instance %" JSON_INTEGER_FORMAT ")\n",
			       it[k].section, it[k].id,
			       json_integer_value(json_object_get(f, "instance")));
		print_finding(f);
		done[it[k].index] = true;
	}
	free(it);
}

static void print_report(const json_t *rep)
{
	const json_t *fs = json_object_get(rep, "findings");
	const json_t *counts = json_object_get(rep, "counts");
	const json_t *first = json_object_get(rep, "first");
	const json_t *f;
	size_t i, n = json_array_size(fs);
	bool *done = calloc(n ? n : 1, sizeof(*done));
	const char *last = NULL;

	printf("%s: %s, machine %s: %s (%" JSON_INTEGER_FORMAT " reject, %"
	       JSON_INTEGER_FORMAT " risk, %" JSON_INTEGER_FORMAT " info)\n",
	       str(rep, "stream"), str(rep, "target"),
	       str(rep, "machine") ? str(rep, "machine") : "unknown",
	       str(rep, "verdict"),
	       json_integer_value(json_object_get(counts, "reject")),
	       json_integer_value(json_object_get(counts, "risk")),
	       json_integer_value(json_object_get(counts, "info")));
	if (json_is_object(first)) {
		printf("  stops at: %s", str(first, "check"));
		if (str(first, "section"))
			printf(" in section '%s'", str(first, "section"));
		printf("\n");
	}
	if (!done) {
		cli_warn("out of memory");
		return;
	}
	/* Startup and stream-wide findings, then each section's, in stream
	 * order. */
	json_array_foreach(fs, i, f) {
		const char *head;

		if (str(f, "section"))
			continue;
		head = json_is_null(json_object_get(f, "offset")) ? "startup"
								  : "stream";
		if (!last || strcmp(last, head))
			printf("  %s\n", head);
		last = head;
		print_finding(f);
		done[i] = true;
	}
	print_by_section(fs, done);
	free(done);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* The text of a matrix cell; @nref numbers the refusals. */
static void cell_of(const json_t *r, size_t *nref, char *cell, size_t len)
{
	const json_t *first = r ? json_object_get(r, "first") : NULL;

	if (!r)
		snprintf(cell, len, "error");
	else if (json_is_object(first))
		snprintf(cell, len, "refuses [%zu] %s", ++*nref,
			 str(first, "check"));
	else
		snprintf(cell, len, "loads");
}

/* The matrix: stream x target, then the first reason of each refusal. */
static void print_matrix(json_t *const *reps, size_t nstreams, size_t ntargets)
{
	size_t w = 6, cw = 8, nref = 0;
	char cell[96];

	for (size_t i = 0; i < nstreams * ntargets; i++) {
		if (reps[i] && strlen(base_name(str(reps[i], "stream"))) > w)
			w = strlen(base_name(str(reps[i], "stream")));
		cell_of(reps[i], &nref, cell, sizeof(cell));
		if (strlen(cell) > cw)
			cw = strlen(cell);
	}
	nref = 0;
	printf("%-*s", (int)w, "stream");
	for (size_t t = 0; t < ntargets; t++)
		printf("  %-*s", t + 1 < ntargets ? (int)cw : 0,
		       reps[t] ? str(reps[t], "target") : "?");
	printf("\n");
	for (size_t s = 0; s < nstreams; s++) {
		const json_t *r0 = reps[s * ntargets];

		printf("%-*s", (int)w, r0 ? base_name(str(r0, "stream")) : "?");
		for (size_t t = 0; t < ntargets; t++) {
			cell_of(reps[s * ntargets + t], &nref, cell, sizeof(cell));
			/* No trailing blanks after the last column. */
			if (t + 1 < ntargets)
				printf("  %-*s", (int)cw, cell);
			else
				printf("  %s", cell);
		}
		printf("\n");
	}
	if (!nref)
		return;
	printf("\n");
	nref = 0;
	for (size_t i = 0; i < nstreams * ntargets; i++) {
		const json_t *first = reps[i] ? json_object_get(reps[i], "first")
					      : NULL;
		const json_t *q;
		char head[64];

		if (!json_is_object(first))
			continue;
		q = json_object_get(first, "qemu");
		snprintf(head, sizeof(head), "[%zu] ", ++nref);
		printf("%s%s -> %s: %s", head, base_name(str(reps[i], "stream")),
		       str(reps[i], "target"), str(first, "check"));
		if (str(first, "section"))
			printf(" in section '%s'", str(first, "section"));
		printf("\n");
		wrap(str(first, "message"), 4);
		if (json_array_size(q))
			printf("    qemu-system-x86_64: %s\n",
			       json_string_value(json_array_get(q, 0)));
	}
}

/* The check table: id, severity, reason. */
static int list_checks(void)
{
	size_t n;
	const struct mig_check *c = mig_checks(&n);

	for (size_t i = 0; i < n; i++)
		printf("%-26s %-6s %s\n", c[i].id,
		       mig_severity_name(c[i].severity), c[i].reason);
	if (fflush(stdout)) {
		cli_warn("cannot write the output: %s", strerror(errno));
		return EXIT_ERROR;
	}
	return EXIT_YES;
}

/* ------------------------------------------------------------------ */

int cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "machine", required_argument, NULL, 'm' },
		{ "global", required_argument, NULL, 'g' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "list-checks", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		CLI_INPUT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct vopts o;
	struct mig_schema **schemas[TARGETS_MAX];
	size_t nsch[TARGETS_MAX];
	json_t **reps = NULL;
	json_t *all = NULL;
	size_t nstreams;
	int c, rc = EXIT_YES;

	memset(&o, 0, sizeof(o));
	memset(schemas, 0, sizeof(schemas));
	memset(nsch, 0, sizeof(nsch));
	mig_validate_opts_init(&o.vo);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (o.ntargets >= TARGETS_MAX) {
				cli_warn("validate: at most %d --target options",
					 TARGETS_MAX);
				return EXIT_ERROR;
			}
			o.targets[o.ntargets++] = optarg;
			break;
		case 'm':
			if (parse_machine(&o, optarg))
				return cli_usage("validate");
			break;
		case 'g':
			if (parse_global(&o, optarg))
				return cli_usage("validate");
			break;
		case 'j':
			o.json = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'l':
			return list_checks();
		case 'h':
			return cli_help("validate");
		default:
			switch (cli_input_option(&o.in, c, optarg)) {
			case 1:
				break;
			case 0:
				return cli_usage("validate");
			default:
				return EXIT_ERROR;
			}
		}
	}
	if (!o.ntargets) {
		cli_warn("validate: missing --target (a schema name such as qemu-7.2, or a schema file)");
		return cli_usage("validate");
	}
	if (optind >= argc) {
		cli_warn("validate: missing STREAM operand");
		return cli_usage("validate");
	}
	nstreams = (size_t)(argc - optind);
	o.vo.caps = o.in.caps;
	o.vo.ncaps = o.in.ncaps;

	/* Every argument is checked before any input is opened. */
	for (size_t t = 0; t < o.ntargets; t++) {
		rc = cli_load_schemas(o.targets[t], &schemas[t], &nsch[t]);
		if (rc == EXIT_YES && nsch[t] != 1) {
			cli_warn("validate: --target %s names no schema",
				 o.targets[t]);
			rc = EXIT_ERROR;
		}
		if (rc != EXIT_YES)
			goto out;
	}
	reps = calloc(nstreams * o.ntargets, sizeof(*reps));
	all = json_array();
	if (!reps || !all) {
		cli_warn("out of memory");
		rc = EXIT_ERROR;
		goto out;
	}
	for (size_t s = 0; s < nstreams; s++) {
		const char *path = argv[optind + (int)s];
		struct mig_reader *r = NULL;
		struct mig_stream *st = NULL;
		struct mig_error perr, err;
		int parse_ret = 0;
		int src = read_stream(path, &o.in, &r, &st, &parse_ret, &perr);

		if (src != EXIT_YES) {
			rc = EXIT_ERROR;
			mig_stream_free(st);
			mig_reader_free(r);
			continue;
		}
		for (size_t t = 0; t < o.ntargets; t++) {
			struct mig_report *rep = NULL;
			char m[MIG_PATH_MAX + MIG_MSG_MAX + 256];

			mig_error_clear(&err);
			if (mig_validate(r, st, parse_ret, &perr, schemas[t][0],
					 &o.vo, &rep, &err)) {
				fprintf(stderr, "%s\n",
					mig_error_format(&err, path, m, sizeof(m)));
				rc = EXIT_ERROR;
				continue;
			}
			free(rep->stream);
			rep->stream = strdup(path);
			reps[s * o.ntargets + t] = mig_report_json(rep);
			if (!reps[s * o.ntargets + t] || !rep->stream) {
				cli_warn("out of memory");
				rc = EXIT_ERROR;
			} else {
				json_array_append(all, reps[s * o.ntargets + t]);
			}
			if (!rep->loads && rc == EXIT_YES)
				rc = EXIT_NO;
			mig_report_free(rep);
		}
		mig_stream_free(st);
		mig_reader_free(r);
	}
	if (o.in.quiet)
		goto out;
	if (o.json) {
		int prc = cli_print_json(all);

		if (prc)
			rc = prc;
		goto out;
	}
	if (o.ntargets == 1 || o.verbose) {
		for (size_t i = 0; i < nstreams * o.ntargets; i++) {
			if (!reps[i])
				continue;
			if (i)
				printf("\n");
			print_report(reps[i]);
		}
	}
	if (o.ntargets > 1) {
		if (o.verbose)
			printf("\n");
		print_matrix(reps, nstreams, o.ntargets);
	}
	if (fflush(stdout)) {
		cli_warn("cannot write the output: %s", strerror(errno));
		rc = EXIT_ERROR;
	}
out:
	for (size_t i = 0; reps && i < nstreams * o.ntargets; i++)
		json_decref(reps[i]);
	free(reps);
	json_decref(all);
	for (size_t t = 0; t < o.ntargets; t++)
		cli_free_schemas(schemas[t], nsch[t]);
	return rc;
}
