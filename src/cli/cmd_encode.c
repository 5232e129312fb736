/* SPDX-License-Identifier: MIT */
/*
 * migstream encode: a lossless document back to a stream; and what
 * `dump --lossless` and `set` share with it: the output guard that
 * removes a temporary file on a signal, and reading an output back before
 * it is committed.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "migstream/encode.h"

/* The temporary file to remove if a signal ends the program. */
static char guard_path[4096];

static void guard_handler(int sig)
{
	if (guard_path[0])
		unlink(guard_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

void cli_guard_output(const struct mig_writer *w)
{
	const char *tmp = w && mig_writer_temp_named(w)
				  ? mig_writer_temp_path(w) : NULL;
	static bool installed;

	if (!tmp || strlen(tmp) >= sizeof(guard_path)) {
		guard_path[0] = '\0';
		return;
	}
	strcpy(guard_path, tmp);
	if (!installed) {
		signal(SIGINT, guard_handler);
		signal(SIGTERM, guard_handler);
		signal(SIGHUP, guard_handler);
		signal(SIGPIPE, guard_handler);
		installed = true;
	}
}

void cli_guard_done(void)
{
	guard_path[0] = '\0';
}

int cli_read_back(struct mig_writer *w, const char *out,
		  const char *const *caps, size_t ncaps, struct mig_stream **s)
{
	struct mig_parse_opts popts = { .caps = caps, .ncaps = ncaps };
	struct mig_reader *r = NULL;
	struct mig_error err;
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 256];
	const char *tmp = mig_writer_temp_path(w);
	int ret;

	*s = NULL;
	mig_error_clear(&err);
	ret = mig_writer_flush(w, &err);
	if (!ret && tmp)
		ret = mig_reader_open(&r, tmp, &err);
	if (!ret && r)
		ret = mig_stream_read(r, &popts, s, &err);
	mig_reader_free(r);
	if (ret) {
		fprintf(stderr, "%s: the output does not read back as a stream: %s\n",
			out, mig_error_format(&err, NULL, msg, sizeof(msg)));
		mig_stream_free(*s);
		*s = NULL;
		return ret == -MIG_EIO || ret == -MIG_ENOMEM ? EXIT_ERROR
							    : EXIT_NO;
	}
	return EXIT_YES;
}

int cli_dump_lossless(const char *path, const struct cli_input *in,
		      const char *ram_file)
{
	struct mig_lossless_opts lo = { 0 };
	struct mig_input_opts iopts = { 0 };
	struct mig_parse_opts popts = in->parse;
	struct mig_writer *ram = NULL;
	struct mig_reader *r = NULL;
	struct mig_error err;
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 256];
	json_t *doc = NULL;
	int ret, rc;

	mig_error_clear(&err);
	if (ram_file && (mig_same_file(ram_file, path) || !strcmp(ram_file, "-"))) {
		cli_warn("dump: --ram-file '%s' %s", ram_file,
			 strcmp(ram_file, "-") ? "is the input"
					       : "must be a file");
		return EXIT_ERROR;
	}
	iopts.offset = in->offset;
	ret = mig_reader_open_input(&r, path, &iopts, &err);
	if (ret) {
		fprintf(stderr, "%s\n",
			mig_error_format(&err, path, msg, sizeof(msg)));
		return cli_exit_for(ret);
	}
	if (ram_file) {
		ret = mig_writer_open(&ram, ram_file, &err);
		if (ret) {
			mig_reader_free(r);
			fprintf(stderr, "%s\n",
				mig_error_format(&err, NULL, msg, sizeof(msg)));
			return EXIT_ERROR;
		}
		cli_guard_output(ram);
	}
	popts.caps = in->caps;
	popts.ncaps = in->ncaps;
	lo.ram = ram;
	lo.ram_path = ram_file;
	lo.parse = &popts;
	ret = mig_lossless_dump(r, &lo, &doc, &err);
	mig_reader_free(r);
	if (!doc) {
		mig_writer_abort(ram);
		cli_guard_done();
		fprintf(stderr, "%s\n",
			mig_error_format(&err, path, msg, sizeof(msg)));
		return cli_exit_for(ret);
	}
	/* The side file first: the document must not name a missing one. */
	if (ram) {
		struct mig_error werr;

		mig_error_clear(&werr);
		if (mig_writer_commit(ram, &werr)) {
			cli_guard_done();
			json_decref(doc);
			fprintf(stderr, "%s\n", mig_error_format(&werr, NULL, msg,
								 sizeof(msg)));
			return EXIT_ERROR;
		}
		cli_guard_done();
	}
	if (ret)
		fprintf(stderr, "%s\n",
			mig_error_format(&err, path, msg, sizeof(msg)));
	rc = cli_print_json(doc);
	json_decref(doc);
	return rc ? rc : cli_exit_for(ret);
}

/* The directory part of @path ("." when none), in @buf. */
static const char *dir_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return ".";
	if (slash == path)
		return "/";
	snprintf(buf, len, "%.*s", (int)(slash - path), path);
	return buf;
}

int cmd_encode(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "ram-file", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mig_encode_opts eo = { 0 };
	const char *out = NULL, *in;
	struct mig_writer *w = NULL;
	struct mig_stream *back = NULL;
	struct mig_error err;
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 256];
	char dir[4096];
	json_error_t jerr;
	FILE *f;
	json_t *doc, *cap;
	const char *caps[CLI_MAX_CAPS];
	size_t ncaps = 0, i;
	bool complete;
	int c, ret, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'r':
			eo.ram_path = optarg;
			break;
		case 'h':
			return cli_help("encode");
		default:
			return cli_usage("encode");
		}
	}
	if (optind != argc - 1) {
		if (optind >= argc)
			cli_warn("encode: missing JSON operand");
		else
			cli_warn("encode: unexpected operand '%s'",
				 argv[optind + 1]);
		return cli_usage("encode");
	}
	in = argv[optind];
	if (!out) {
		cli_warn("encode: no output: give -o OUT (or -o - for standard output)");
		return cli_usage("encode");
	}
	if (mig_same_file(out, in) ||
	    (eo.ram_path && mig_same_file(out, eo.ram_path))) {
		cli_warn("encode: the output '%s' is one of the inputs", out);
		return EXIT_ERROR;
	}

	f = strcmp(in, "-") ? fopen(in, "rb") : stdin;
	if (!f) {
		fprintf(stderr, "%s: cannot open: %s\n", in, strerror(errno));
		return EXIT_ERROR;
	}
	doc = json_loadf(f, JSON_ALLOW_NUL, &jerr);
	if (f != stdin)
		fclose(f);
	if (!doc) {
		fprintf(stderr, "%s: line %d, column %d: %s\n", in, jerr.line,
			jerr.column, jerr.text);
		return EXIT_NO;
	}
	if (!eo.ram_path && strcmp(in, "-"))
		eo.doc_dir = dir_of(in, dir, sizeof(dir));
	complete = json_is_true(json_object_get(doc, "complete"));
	/* The capabilities dump was told about, to read the output back. */
	json_array_foreach(json_object_get(doc, "caps"), i, cap) {
		if (json_is_string(cap) && ncaps < CLI_MAX_CAPS)
			caps[ncaps++] = json_string_value(cap);
	}

	mig_error_clear(&err);
	ret = mig_writer_open(&w, out, &err);
	if (ret) {
		json_decref(doc);
		fprintf(stderr, "%s\n", mig_error_format(&err, NULL, msg,
							 sizeof(msg)));
		return EXIT_ERROR;
	}
	cli_guard_output(w);
	ret = mig_encode(doc, &eo, w, &err);
	if (ret) {
		json_decref(doc);
		mig_writer_abort(w);
		cli_guard_done();
		fprintf(stderr, "%s\n", mig_error_format(&err, in, msg,
							 sizeof(msg)));
		return ret == -MIG_EINVAL ? EXIT_NO : EXIT_ERROR;
	}
	/* A document of a whole stream must give a stream that reads back
	 * whole; one of a broken stream gives the same broken bytes. */
	if (strcmp(out, "-")) {
		if (complete) {
			rc = cli_read_back(w, out, caps, ncaps, &back);
			mig_stream_free(back);
			if (rc) {
				json_decref(doc);
				mig_writer_abort(w);
				cli_guard_done();
				return rc;
			}
		} else {
			cli_warn("encode: '%s' describes an incomplete stream; the output has its bytes as they were, including the part that was not understood",
				 in);
		}
	}
	json_decref(doc);
	ret = mig_writer_commit(w, &err);
	cli_guard_done();
	if (ret) {
		fprintf(stderr, "%s\n", mig_error_format(&err, NULL, msg,
							 sizeof(msg)));
		return EXIT_ERROR;
	}
	return EXIT_YES;
}
