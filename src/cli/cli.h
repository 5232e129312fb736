/* SPDX-License-Identifier: MIT */
/* Shared by the commands: exit codes, reading a stream, printing errors. */
#ifndef MIGSTREAM_CLI_H
#define MIGSTREAM_CLI_H

#include <stdio.h>

#include "migstream/migstream.h"

/* The exit status of every command. */
enum {
	EXIT_YES = 0,		/* success, stream fine, no difference */
	EXIT_NO = 1,		/* the answer is no: invalid, refused, differs */
	EXIT_ERROR = 2,		/* usage, I/O, or unsupported input */
};

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *usage;	/* options and operands, after the name */
};

int cmd_info(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_schema(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_downgrade(int argc, char **argv);

extern const char *cli_prog;

/* Prints "migstream: MSG" on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "usage: migstream NAME USAGE" and a hint; returns EXIT_ERROR. */
int cli_usage(const char *name);
/*
 * For a command that takes exactly @want operands after its options (at
 * argv[optind]...): says which is missing or unexpected, then prints the
 * usage.  Returns EXIT_ERROR.
 */
int cli_operands(const char *name, int argc, char **argv, int want);
/* Prints the command's help on stdout; returns EXIT_YES. */
int cli_help(const char *name);

/*
 * Options every command that reads a stream shares.  Commands list
 * CLI_INPUT_OPTIONS in their getopt_long table and pass every option they
 * do not handle themselves to cli_input_option().
 */
#define CLI_MAX_CAPS 16
struct cli_input {
	uint64_t offset;	/* --offset N: the stream starts at byte N */
	const char *caps[CLI_MAX_CAPS];	/* --cap NAME: capabilities */
	size_t ncaps;
	bool quiet;		/* --quiet: no progress line */
	const char *schema;	/* --schema NAME|FILE|none */
	struct mig_parse_opts parse;	/* page callback etc., set by the command */
};

/* Long option values above any short option character. */
enum {
	OPT_INPUT_OFFSET = 0x1000,
	OPT_INPUT_CAP,
	OPT_INPUT_QUIET,
	OPT_INPUT_SCHEMA,
};

#define CLI_INPUT_OPTIONS                                                    \
	{ "offset", required_argument, NULL, OPT_INPUT_OFFSET },             \
	{ "cap", required_argument, NULL, OPT_INPUT_CAP },                   \
	{ "quiet", no_argument, NULL, OPT_INPUT_QUIET },                     \
	{ "schema", required_argument, NULL, OPT_INPUT_SCHEMA }

/*
 * Handles option @c with @arg if it is one of CLI_INPUT_OPTIONS: returns 1
 * when handled, 0 when not an input option, -1 (after a message) when its
 * argument is bad.
 */
int cli_input_option(struct cli_input *in, int c, const char *arg);

/*
 * Reads the stream at @path ("-" for stdin) as @in says (NULL: defaults).
 * On return *@s holds what was read (NULL only when nothing could be).
 * Prints the error, if any, and returns the exit status it implies:
 * EXIT_YES, EXIT_NO (the stream is invalid) or EXIT_ERROR (I/O, memory,
 * unsupported).
 */
int cli_read_stream(const char *path, const struct cli_input *in,
		    struct mig_stream **s);

/*
 * The progress line (progress.c).  cli_progress_start() says whether one
 * may be shown (standard error is a terminal, not @quiet); pass
 * cli_progress_update as mig_parse_opts.on_progress with @p as its context,
 * and call cli_progress_end() after the parse to clear the line.
 */
struct cli_progress {
	bool on;
	bool shown;
	double start;
	double last;
};
bool cli_progress_start(struct cli_progress *p, bool quiet);
void cli_progress_update(void *ctx, const struct mig_progress *m);
void cli_progress_end(struct cli_progress *p);

/*
 * Schemas (cmd_schema.c).  cli_schema_dirs() lists where schemas are
 * looked for by name.  cli_load_schemas() loads the schema @what names
 * (a name or a file; "none": no schema), or with @what NULL every schema
 * found; prints the error and returns EXIT_ERROR when it cannot.
 */
struct mig_schema;
size_t cli_schema_dirs(const char *const **dirs);
int cli_load_schemas(const char *what, struct mig_schema ***out, size_t *n);
void cli_free_schemas(struct mig_schema **list, size_t n);

/* Exit status for a library error code. */
int cli_exit_for(int code);

/* Writes @j to stdout (indent 4, keys in insertion order, final newline). */
int cli_print_json(json_t *j);

/*
 * Output files (cmd_encode.c).  cli_guard_output() makes a signal remove
 * the writer's temporary file (one at a time); cli_guard_done() forgets
 * it once committed or aborted.  cli_read_back() flushes @w and reads its
 * temporary file as a stream (with capabilities @caps, as --cap) into
 * *@s, printing why when it fails (exit status returned).
 * cli_dump_lossless() is `dump --lossless`.
 */
struct mig_writer;
void cli_guard_output(const struct mig_writer *w);
void cli_guard_done(void);
int cli_read_back(struct mig_writer *w, const char *out,
		  const char *const *caps, size_t ncaps, struct mig_stream **s);
int cli_dump_lossless(const char *path, const struct cli_input *in,
		      const char *ram_file);

#endif
