/* SPDX-License-Identifier: MIT */
/*
 * migstream diff: two streams compared.  The text and --stat outputs are
 * rendered from the same JSON document that --json prints, so the three
 * cannot disagree.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "migstream/diff.h"

/* Most --section and --ignore patterns. */
#define MAX_PATTERNS 64

enum {
	OPT_JSON = 0x2000,
	OPT_STAT,
	OPT_RAM,
	OPT_SECTION,
	OPT_IGNORE,
	OPT_COLOR,
};

/* Escape sequences, all empty without colour. */
struct style {
	const char *bold, *a, *b, *off;
};

/* Integers above INT64_MAX are "0x..." strings in the document. */
static uint64_t u64_of(const json_t *j)
{
	if (json_is_string(j))
		return strtoull(json_string_value(j), NULL, 16);
	return (uint64_t)json_integer_value(j);
}

static const char *str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* A stream-level value: text, yes/no, a list, or "none". */
static void print_item_value(const json_t *v)
{
	size_t i;
	const json_t *e;

	if (json_is_string(v)) {
		printf("%s", json_string_value(v));
	} else if (json_is_boolean(v)) {
		printf("%s", json_is_true(v) ? "yes" : "no");
	} else if (json_is_integer(v)) {
		printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else if (json_is_array(v) && json_array_size(v)) {
		json_array_foreach(v, i, e)
			printf("%s%s", i ? ", " : "", json_string_value(e));
	} else {
		printf("none");
	}
}

static void print_entry(const json_t *d, const struct style *st)
{
	const char *change = str_of(d, "change");
	const char *path = str_of(d, "path");

	printf("  %s: ", path);
	if (!strcmp(change, "changed")) {
		printf("%s%s%s", st->a, str_of(d, "a_text"), st->off);
		if (json_object_get(d, "a_type"))
			printf(" (%s)", str_of(d, "a_type"));
		printf(" -> %s%s%s", st->b, str_of(d, "b_text"), st->off);
		if (json_object_get(d, "b_type"))
			printf(" (%s)", str_of(d, "b_type"));
	} else if (!strcmp(change, "type")) {
		printf("type %s%s%s -> %s%s%s, value %s",
		       st->a, str_of(d, "a_type"), st->off,
		       st->b, str_of(d, "b_type"), st->off,
		       str_of(d, "a_text"));
	} else if (!strcmp(change, "version")) {
		printf("%s version %s%" JSON_INTEGER_FORMAT "%s -> %s%" JSON_INTEGER_FORMAT "%s",
		       str_of(d, "what"),
		       st->a, json_integer_value(json_object_get(d, "a")), st->off,
		       st->b, json_integer_value(json_object_get(d, "b")), st->off);
	} else if (!strcmp(change, "only_a") || !strcmp(change, "only_b")) {
		bool in_a = !strcmp(change, "only_a");

		printf("%sonly in %s%s (%s)", in_a ? st->a : st->b,
		       in_a ? "A" : "B", st->off, str_of(d, "text"));
	} else if (!strcmp(change, "renamed")) {
		printf("renamed %s%s%s -> %s%s%s (%s)", st->a, str_of(d, "a_name"),
		       st->off, st->b, str_of(d, "b_name"), st->off,
		       str_of(d, "vmsd"));
	} else if (!strcmp(change, "bytes") && json_object_get(d, "first")) {
		uint64_t la = u64_of(json_object_get(d, "a_length"));
		uint64_t lb = u64_of(json_object_get(d, "b_length"));

		printf("bytes 0x%" PRIx64 "-0x%" PRIx64 " differ (%" PRIu64 " of %" PRIu64 "): %s%s%s -> %s%s%s",
		       u64_of(json_object_get(d, "first")),
		       u64_of(json_object_get(d, "last")),
		       u64_of(json_object_get(d, "count")), la > lb ? la : lb,
		       st->a, str_of(d, "a_text"), st->off,
		       st->b, str_of(d, "b_text"), st->off);
		if (la != lb)
			printf(", length %s%" PRIu64 "%s -> %s%" PRIu64 "%s",
			       st->a, la, st->off, st->b, lb, st->off);
		if (json_object_get(d, "a_field"))
			printf(", in A's %s", str_of(d, "a_field"));
		if (json_object_get(d, "b_field"))
			printf(", in B's %s", str_of(d, "b_field"));
	} else if (!strcmp(change, "bytes")) {
		printf("%s, length %s%" PRIu64 "%s -> %s%" PRIu64 "%s",
		       str_of(d, "text"),
		       st->a, u64_of(json_object_get(d, "a_length")), st->off,
		       st->b, u64_of(json_object_get(d, "b_length")), st->off);
	} else {
		printf("not compared: %s", str_of(d, "text"));
	}
	printf("\n");
}

static void print_section(const json_t *se, bool stat, const struct style *st)
{
	const char *status = str_of(se, "status");
	const char *name = str_of(se, "section");
	uint64_t n = u64_of(json_object_get(se, "count"));
	const json_t *d;
	size_t i;

	if (strcmp(status, "changed")) {
		bool in_a = !strcmp(status, "only_a");

		if (stat)
			printf(" %-40s %sonly in %s%s\n", name,
			       in_a ? st->a : st->b, in_a ? "A" : "B", st->off);
		else
			printf("%ssection %s%s: %sonly in %s%s (version %" JSON_INTEGER_FORMAT ", %s)\n",
			       st->bold, name, st->off, in_a ? st->a : st->b,
			       in_a ? "A" : "B", st->off,
			       json_integer_value(json_object_get(se, in_a ? "a_version"
									 : "b_version")),
			       str_of(se, "kind"));
		return;
	}
	if (stat) {
		printf(" %-40s %" PRIu64 " %s\n", name, n,
		       plural(n, "difference", "differences"));
		return;
	}
	printf("%ssection %s%s: %" PRIu64 " %s", st->bold, name, st->off, n,
	       plural(n, "difference", "differences"));
	if (json_object_get(se, "note"))
		printf(" (%s)", str_of(se, "note"));
	printf("\n");
	json_array_foreach(json_object_get(se, "differences"), i, d)
		print_entry(d, st);
}

static void print_block(const json_t *b, bool stat, const struct style *st)
{
	const char *status = str_of(b, "status");
	const char *name = str_of(b, "block");
	uint64_t la = u64_of(json_object_get(b, "a_length"));
	uint64_t lb = u64_of(json_object_get(b, "b_length"));
	uint64_t diff = u64_of(json_object_get(b, "differing_pages"));
	uint64_t nr = u64_of(json_object_get(b, "range_count"));
	uint64_t listed = 0;
	const json_t *r;
	size_t i;

	if (strcmp(status, "changed")) {
		bool in_a = !strcmp(status, "only_a");

		if (stat)
			printf(" ram %-36s %sonly in %s%s\n", name,
			       in_a ? st->a : st->b, in_a ? "A" : "B", st->off);
		else
			printf("%sram %s%s: %sonly in %s%s (length 0x%" PRIx64 ")\n",
			       st->bold, name, st->off, in_a ? st->a : st->b,
			       in_a ? "A" : "B", st->off, in_a ? la : lb);
		return;
	}
	if (stat) {
		printf(" ram %-36s %" PRIu64 " %s, %" PRIu64 " %s", name, diff,
		       plural(diff, "page", "pages"), nr,
		       plural(nr, "range", "ranges"));
		if (la != lb)
			printf(", length 0x%" PRIx64 " -> 0x%" PRIx64, la, lb);
		printf("\n");
		return;
	}
	printf("%sram %s%s: %" PRIu64 " of %" PRIu64 " %s %s", st->bold,
	       name, st->off, diff, u64_of(json_object_get(b, "pages")),
	       plural(u64_of(json_object_get(b, "pages")), "page", "pages"),
	       plural(diff, "differs", "differ"));
	if (diff)
		printf(" in %" PRIu64 " %s", nr, plural(nr, "range", "ranges"));
	if (la != lb)
		printf(", length %s0x%" PRIx64 "%s -> %s0x%" PRIx64 "%s",
		       st->a, la, st->off, st->b, lb, st->off);
	if (json_object_get(b, "unknown_pages"))
		printf(", %" PRIu64 " of them in records this version cannot read",
		       u64_of(json_object_get(b, "unknown_pages")));
	printf("\n");
	json_array_foreach(json_object_get(b, "ranges"), i, r) {
		uint64_t start = u64_of(json_object_get(r, "start"));
		uint64_t len = u64_of(json_object_get(r, "length"));
		uint64_t pages = u64_of(json_object_get(r, "pages"));

		printf("  0x%08" PRIx64 "-0x%08" PRIx64 "  %" PRIu64 " %s\n",
		       start, start + len - 1, pages,
		       plural(pages, "page", "pages"));
		listed++;
	}
	if (json_object_get(b, "ranges") && listed < nr)
		printf("  ... %" PRIu64 " more ranges not listed\n", nr - listed);
}

static void print_summary(const json_t *doc, const struct style *st)
{
	const json_t *s = json_object_get(doc, "summary");
	const json_t *ram = json_object_get(doc, "ram");
	uint64_t n = u64_of(json_object_get(s, "differences"));
	uint64_t fields = u64_of(json_object_get(s, "fields"));

	printf("%s%" PRIu64 " %s%s: %" PRIu64 " in the stream, %" PRIu64 " sections changed (%" PRIu64 " %s), %" PRIu64 " only in A, %" PRIu64 " only in B, ",
	       st->bold, n, plural(n, "difference", "differences"), st->off,
	       u64_of(json_object_get(s, "stream")),
	       u64_of(json_object_get(s, "sections_changed")), fields,
	       plural(fields, "field", "fields"),
	       u64_of(json_object_get(s, "sections_only_a")),
	       u64_of(json_object_get(s, "sections_only_b")));
	if (json_is_object(ram)) {
		uint64_t pages = u64_of(json_object_get(s, "ram_pages"));
		uint64_t ranges = u64_of(json_object_get(s, "ram_ranges"));
		uint64_t blocks = u64_of(json_object_get(s, "ram_blocks"));

		printf("%" PRIu64 " RAM %s in %" PRIu64 " %s (%" PRIu64 " %s)\n",
		       pages, plural(pages, "page", "pages"), ranges,
		       plural(ranges, "range", "ranges"), blocks,
		       plural(blocks, "block", "blocks"));
	} else {
		printf("RAM not compared\n");
	}
}

static void print_text(const json_t *doc, bool stat, const struct style *st)
{
	const json_t *items = json_object_get(doc, "stream");
	const json_t *ram = json_object_get(doc, "ram");
	const json_t *e;
	size_t i;

	if (!stat) {
		if (mig_diff_same(doc))
			return;
		printf("%s--- A %s%s\n", st->a, str_of(json_object_get(doc, "a"),
							"file"), st->off);
		printf("%s+++ B %s%s\n", st->b, str_of(json_object_get(doc, "b"),
							"file"), st->off);
	}
	if (json_array_size(items)) {
		if (stat)
			printf(" %-40s %zu %s\n", "stream", json_array_size(items),
			       plural(json_array_size(items), "difference",
				      "differences"));
		else
			printf("%sstream%s: %zu %s\n", st->bold, st->off,
			       json_array_size(items),
			       plural(json_array_size(items), "difference",
				      "differences"));
	}
	json_array_foreach(items, i, e) {
		if (stat)
			break;
		printf("  %s: %s", str_of(e, "item"), st->a);
		print_item_value(json_object_get(e, "a"));
		printf("%s -> %s", st->off, st->b);
		print_item_value(json_object_get(e, "b"));
		printf("%s\n", st->off);
	}
	json_array_foreach(json_object_get(doc, "sections"), i, e)
		print_section(e, stat, st);
	if (json_is_object(ram)) {
		if (json_object_get(ram, "note"))
			printf("%sram%s: %s\n", st->bold, st->off,
			       str_of(ram, "note"));
		json_array_foreach(json_object_get(ram, "blocks"), i, e)
			print_block(e, stat, st);
	}
	print_summary(doc, st);
}

/*
 * Reads one input for the comparison, as cli_read_stream() reads one for
 * the other commands (offset, unwrapping, capabilities, progress line);
 * prints the error, if any.  Every read error is EXIT_ERROR here: nothing
 * can be compared.
 */
static int read_side(const char *path, const struct cli_input *in,
		     const struct mig_diff_opts *opts,
		     struct mig_diff_side **side)
{
	struct mig_input_opts iopts = { .offset = in->offset };
	struct mig_parse_opts popts = in->parse;
	struct mig_diff_opts o = *opts;
	struct mig_reader *r = NULL;
	struct cli_progress prog;
	struct mig_error err;
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 256];
	int ret;

	mig_error_clear(&err);
	ret = mig_reader_open_input(&r, path, &iopts, &err);
	if (!ret) {
		popts.caps = in->caps;
		popts.ncaps = in->ncaps;
		if (!popts.on_progress && cli_progress_start(&prog, in->quiet)) {
			popts.on_progress = cli_progress_update;
			popts.progress_ctx = &prog;
		}
		o.parse = &popts;
		ret = mig_diff_read(r, &o, side, &err);
		if (popts.on_progress == cli_progress_update)
			cli_progress_end(&prog);
	}
	mig_reader_free(r);
	if (ret) {
		fprintf(stderr, "%s\n", mig_error_format(&err, path, msg,
							 sizeof(msg)));
		return EXIT_ERROR;
	}
	return EXIT_YES;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "stat", no_argument, NULL, OPT_STAT },
		{ "ram", required_argument, NULL, OPT_RAM },
		{ "section", required_argument, NULL, OPT_SECTION },
		{ "ignore", required_argument, NULL, OPT_IGNORE },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "help", no_argument, NULL, 'h' },
		CLI_INPUT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	static const struct style plain = { "", "", "", "" };
	static const struct style colour = { "\033[1m", "\033[31m",
					     "\033[32m", "\033[m" };
	const char *sections[MAX_PATTERNS], *ignore[MAX_PATTERNS];
	struct mig_diff_opts o = { .ram = MIG_DIFF_RAM_RANGES };
	struct mig_diff_side *a = NULL, *b = NULL;
	struct cli_input in = { 0 };
	struct mig_error err;
	bool as_json = false;
	int color = -1;		/* auto */
	json_t *doc = NULL;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			as_json = true;
			break;
		case OPT_STAT:
			o.stat = true;
			break;
		case OPT_RAM:
			if (!strcmp(optarg, "off")) {
				o.ram = MIG_DIFF_RAM_OFF;
			} else if (!strcmp(optarg, "stat")) {
				o.ram = MIG_DIFF_RAM_STAT;
			} else if (!strcmp(optarg, "ranges")) {
				o.ram = MIG_DIFF_RAM_RANGES;
			} else {
				cli_warn("diff: unknown --ram '%s' (off, stat or ranges)",
					 optarg);
				return cli_usage("diff");
			}
			break;
		case OPT_SECTION:
		case OPT_IGNORE:
			if ((c == OPT_SECTION ? o.nsections : o.nignore) >=
			    MAX_PATTERNS) {
				cli_warn("diff: at most %d --%s patterns",
					 MAX_PATTERNS,
					 c == OPT_SECTION ? "section" : "ignore");
				return EXIT_ERROR;
			}
			if (c == OPT_SECTION)
				sections[o.nsections++] = optarg;
			else
				ignore[o.nignore++] = optarg;
			break;
		case OPT_COLOR:
			if (!strcmp(optarg, "auto")) {
				color = -1;
			} else if (!strcmp(optarg, "always")) {
				color = 1;
			} else if (!strcmp(optarg, "never")) {
				color = 0;
			} else {
				cli_warn("diff: unknown --color '%s' (auto, always or never)",
					 optarg);
				return cli_usage("diff");
			}
			break;
		case 'h':
			return cli_help("diff");
		default:
			switch (cli_input_option(&in, c, optarg)) {
			case 1:
				break;
			case 0:
				return cli_usage("diff");
			default:
				return EXIT_ERROR;
			}
		}
	}
	if (optind != argc - 2)
		return cli_operands("diff", argc, argv, 2);
	if (!strcmp(argv[optind], "-") && !strcmp(argv[optind + 1], "-")) {
		cli_warn("diff: only one input can be standard input ('-')");
		return cli_usage("diff");
	}
	if (as_json && in.quiet) {
		cli_warn("diff: --json and --quiet exclude each other");
		return cli_usage("diff");
	}
	o.sections = sections;
	o.ignore = ignore;
	/* Only the exit status is wanted: no ranges to collect. */
	if (in.quiet && o.ram == MIG_DIFF_RAM_RANGES)
		o.ram = MIG_DIFF_RAM_STAT;
	if (color < 0)
		color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") &&
			strcmp(getenv("TERM") ? getenv("TERM") : "dumb", "dumb");

	/* One input after the other, each in one pass: two pipes fed
	 * independently of each other cannot block one another. */
	rc = read_side(argv[optind], &in, &o, &a);
	if (rc == EXIT_YES)
		rc = read_side(argv[optind + 1], &in, &o, &b);
	if (rc != EXIT_YES)
		goto out_free;
	mig_error_clear(&err);
	if (mig_diff_compare(a, b, &o, &doc, &err)) {
		cli_warn("diff: %s", err.msg);
		rc = EXIT_ERROR;
		goto out_free;
	}
	rc = mig_diff_same(doc) ? EXIT_YES : EXIT_NO;
	if (in.quiet)
		goto out_free;
	if (as_json) {
		if (cli_print_json(doc) != EXIT_YES)
			rc = EXIT_ERROR;
	} else {
		print_text(doc, o.stat, color ? &colour : &plain);
		if (fflush(stdout) || ferror(stdout)) {
			cli_warn("cannot write the output");
			rc = EXIT_ERROR;
		}
	}
out_free:
	json_decref(doc);
	mig_diff_side_free(a);
	mig_diff_side_free(b);
	return rc;
}
