/* SPDX-License-Identifier: MIT */
/* migstream: the command table and what every command shares. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_prog = "migstream";

static const struct cmd cmds[] = {
	{ "info", cmd_info, "summarise a stream on one screen",
	  "[--json] [--quiet] [--offset N] [--cap NAME]... STREAM" },
	{ "dump", cmd_dump, "print the whole stream as JSON",
	  "[--format tree|analyze] [--offsets] [--ram summary|pages|hash] [--extract DIR [--force]] [--lossless [--ram-file FILE]] [--offset N] [--cap NAME]... STREAM" },
	{ "validate", cmd_validate, "would QEMU X.Y load this stream? every reason, in QEMU's words",
	  "--target qemu-X.Y... [--machine M[,suppress-vmdesc=on]] [--global PROP=on|off]... [--json] [--verbose] [--quiet] [--offset N] [--cap NAME]... [--schema NAME|FILE|none] STREAM... | --list-checks" },
	{ "diff", cmd_diff, "compare two streams: state field by field, RAM page by page",
	  "[--json | --stat] [--ram off|stat|ranges] [--section PATTERN]... [--ignore PATTERN]... [--color auto|always|never] [--quiet] [--offset N] [--cap NAME]... A B" },
	{ "encode", cmd_encode, "turn a lossless JSON document back into a stream",
	  "[--ram-file FILE] -o OUT JSON" },
	{ "downgrade", cmd_downgrade, "rewrite a stream so an older QEMU loads it, or say why not",
	  "--target qemu-X.Y [--machine M] [--global PROP=on|off]... [--drop-section NAME]... [--no-vmdesc] [--dry-run] [--json] [--max-hold BYTES] [--quiet] [--offset N] [--cap NAME]... [--schema NAME|FILE|none] IN (-o OUT | OUT)" },
	{ "set", cmd_set, "change fields of a stream in place",
	  "[--quiet] [--offset N] [--cap NAME]... -o OUT STREAM PATH=VALUE..." },
	{ "schema", cmd_schema, "make, show and compare device schemas",
	  "import --dump-vmstate FILE [--machine-help FILE] [--stream FILE]... [--curation FILE] [--name NAME] [--qemu X.Y] [--qemu-version TEXT] [--target T] [--basenames] [--notes] [-o OUT] | show [--json] SCHEMA [VMSD] | diff [--json] [--machine M] [--reverse] [--vmsd NAME] A B | check SCHEMA" },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage(const char *name)
{
	const struct cmd *c = find_cmd(name);

	fprintf(stderr, "usage: %s %s %s\n", cli_prog, name, c ? c->usage : "");
	fprintf(stderr, "Try '%s %s --help' for more.\n", cli_prog, name);
	return EXIT_ERROR;
}

int cli_operands(const char *name, int argc, char **argv, int want)
{
	int have = argc - optind;

	if (have < want)
		cli_warn("%s: missing STREAM operand", name);
	else
		cli_warn("%s: unexpected operand '%s'", name,
			 argv[optind + want]);
	return cli_usage(name);
}

int cli_help(const char *name)
{
	const struct cmd *c = find_cmd(name);

	if (!c)
		return EXIT_ERROR;
	printf("usage: %s %s %s\n\n%s %s: %s\nSee %s-%s(1) for the options.\n",
	       cli_prog, c->name, c->usage, cli_prog, c->name, c->summary,
	       cli_prog, c->name);
	return EXIT_YES;
}

int cli_exit_for(int code)
{
	if (code < 0)
		code = -code;
	switch (code) {
	case MIG_OK:
		return EXIT_YES;
	case MIG_EIO:
	case MIG_ENOMEM:
	case MIG_EINVAL:
	case MIG_EUNSUP:
		return EXIT_ERROR;
	default:
		return EXIT_NO;
	}
}

int cli_input_option(struct cli_input *in, int c, const char *arg)
{
	char *end;

	switch (c) {
	case OPT_INPUT_OFFSET:
		errno = 0;
		in->offset = strtoull(arg, &end, 0);
		if (errno || end == arg || *end || arg[0] == '-') {
			cli_warn("bad --offset '%s' (a byte count, decimal or 0x hex)",
				 arg);
			return -1;
		}
		return 1;
	case OPT_INPUT_CAP:
		if (in->ncaps >= CLI_MAX_CAPS) {
			cli_warn("at most %d --cap options", CLI_MAX_CAPS);
			return -1;
		}
		if (!mig_cap_known(arg)) {
			cli_warn("unknown migration capability '%s' (QEMU's names, such as x-ignore-shared, postcopy-ram, mapped-ram)",
				 arg);
			return -1;
		}
		in->caps[in->ncaps++] = arg;
		return 1;
	case OPT_INPUT_QUIET:
		in->quiet = true;
		return 1;
	case OPT_INPUT_SCHEMA:
		in->schema = arg;
		return 1;
	default:
		return 0;
	}
}

int cli_read_stream(const char *path, const struct cli_input *in,
		    struct mig_stream **s)
{
	static const struct cli_input defaults;
	struct mig_reader *r = NULL;
	struct mig_input_opts iopts = { 0 };
	struct mig_parse_opts popts;
	struct mig_schema **schemas = NULL;
	size_t nschemas = 0;
	struct cli_progress prog;
	struct mig_error err;
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 256];
	int ret;

	if (!in)
		in = &defaults;
	*s = NULL;
	mig_error_clear(&err);
	/* The reader skips --offset and removes compression and libvirt
	 * headers (input.h), so every command reads wrapped inputs. */
	iopts.offset = in->offset;
	/* Schemas describe device sections a vmdesc does not (--schema). */
	ret = cli_load_schemas(in->schema, &schemas, &nschemas);
	if (ret)
		return ret;
	ret = mig_reader_open_input(&r, path, &iopts, &err);
	if (!ret) {
		popts = in->parse;
		popts.caps = in->caps;
		popts.ncaps = in->ncaps;
		popts.schemas = (const struct mig_schema *const *)schemas;
		popts.nschemas = nschemas;
		popts.schema_forced = in->schema != NULL;
		if (!popts.on_progress && cli_progress_start(&prog, in->quiet)) {
			popts.on_progress = cli_progress_update;
			popts.progress_ctx = &prog;
		}
		ret = mig_stream_read(r, &popts, s, &err);
		if (popts.on_progress == cli_progress_update)
			cli_progress_end(&prog);
		mig_reader_free(r);
	}
	cli_free_schemas(schemas, nschemas);
	if (ret) {
		fprintf(stderr, "%s\n",
			mig_error_format(&err, path, msg, sizeof(msg)));
		return cli_exit_for(ret);
	}
	return EXIT_YES;
}

int cli_print_json(json_t *j)
{
	if (!j) {
		cli_warn("out of memory");
		return EXIT_ERROR;
	}
	if (json_dumpf(j, stdout, JSON_INDENT(4) | JSON_PRESERVE_ORDER) ||
	    fputc('\n', stdout) == EOF || fflush(stdout)) {
		cli_warn("cannot write the output: %s", strerror(errno));
		return EXIT_ERROR;
	}
	return EXIT_YES;
}

static void print_help(FILE *f)
{
	fprintf(f, "usage: %s [--version] [--help] COMMAND [ARGS]\n\n", cli_prog);
	fprintf(f, "Read, check, compare and convert QEMU migration streams.\n\n");
	fprintf(f, "commands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n'%s help COMMAND' or '%s COMMAND --help' shows a command's usage.\n",
		cli_prog, cli_prog);
	fprintf(f, "Exit status: 0 yes/fine, 1 no/invalid, 2 usage or I/O error.\n");
}

int main(int argc, char **argv)
{
	static char progname[64];
	const struct cmd *c;

	if (argc < 2) {
		print_help(stderr);
		return EXIT_ERROR;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_help(stdout);
		return EXIT_YES;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("migstream %s\n", MIGSTREAM_VERSION);
		return EXIT_YES;
	}
	if (!strcmp(argv[1], "help")) {
		if (argc == 2 || !strcmp(argv[2], "help")) {
			print_help(stdout);
			return EXIT_YES;
		}
		if (!find_cmd(argv[2])) {
			cli_warn("unknown command '%s'", argv[2]);
			return EXIT_ERROR;
		}
		return cli_help(argv[2]);
	}
	c = find_cmd(argv[1]);
	if (!c) {
		cli_warn("unknown command '%s' (see '%s help')", argv[1],
			 cli_prog);
		return EXIT_ERROR;
	}
	/* getopt names the program by argv[0] in its messages: make them
	 * read "migstream: info: unrecognized option ...". */
	snprintf(progname, sizeof(progname), "%s: %s", cli_prog, c->name);
	argv[1] = progname;
	return c->fn(argc - 1, argv + 1);
}
