/* SPDX-License-Identifier: MIT */
/* migstream: the command table and what every command shares. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_prog = "migstream";

static const struct cmd cmds[] = {
	{ "info", cmd_info, "summarise a stream on one screen",
	  "[--json] [--quiet] [--offset N] STREAM" },
	{ "dump", cmd_dump, "print the whole stream as JSON",
	  "[--format tree|analyze] [--offsets] [--offset N] STREAM" },
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

int cli_help(const char *name)
{
	const struct cmd *c = find_cmd(name);

	if (!c)
		return EXIT_ERROR;
	printf("usage: %s %s %s\n\n%s.\n\nSee %s-%s(1) for the options.\n",
	       cli_prog, c->name, c->usage, c->summary, cli_prog, c->name);
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
		in->caps[in->ncaps++] = arg;
		return 1;
	case OPT_INPUT_QUIET:
		in->quiet = true;
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
	struct mig_error err;
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 256];
	int ret;

	if (!in)
		in = &defaults;
	*s = NULL;
	mig_error_clear(&err);
	ret = mig_reader_open(&r, path, &err);
	if (!ret && in->offset)
		ret = mig_rd_skip(r, in->offset, &err);
	if (!ret) {
		ret = mig_stream_read(r, &in->parse, s, &err);
		mig_reader_free(r);
	} else {
		mig_reader_free(r);
	}
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
		if (argc == 2) {
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
	return c->fn(argc - 1, argv + 1);
}
