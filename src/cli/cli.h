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

extern const char *cli_prog;

/* Prints "migstream: MSG" on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "usage: migstream NAME USAGE" and a hint; returns EXIT_ERROR. */
int cli_usage(const char *name);
/* Prints the command's help on stdout; returns EXIT_YES. */
int cli_help(const char *name);

/*
 * Reads the stream at @path ("-" for stdin).  On return *@s holds what was
 * read (NULL only when nothing could be).  Prints the error, if any, and
 * returns the exit status it implies: EXIT_YES, EXIT_NO (the stream is
 * invalid) or EXIT_ERROR (I/O, memory, unsupported).
 */
int cli_read_stream(const char *path, struct mig_stream **s);

/* Exit status for a library error code. */
int cli_exit_for(int code);

/* Writes @j to stdout (indent 4, keys in insertion order, final newline). */
int cli_print_json(json_t *j);

#endif
