/* SPDX-License-Identifier: MIT */
/* migstream set: change fixed-size fields of a stream in place. */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "migstream/encode.h"

/* Most PATH=VALUE operands of one call. */
#define SET_MAX 256

struct change {
	char *path;		/* as given, '=' replaced by NUL */
	const char *value;
	char canon[MIG_PATH_MAX];
	const struct mig_node *node;
	struct mig_patch patch;
};

/* A value for people: unsigned in hex, signed in decimal, bytes in hex. */
static void fmt_value(const struct mig_node *n, const uint8_t *b, char *buf,
		      size_t len)
{
	uint64_t u = 0;
	size_t k = 0;

	for (size_t i = 0; i < n->nbytes && i < 8; i++)
		u = u << 8 | b[i];
	switch (n->vkind) {
	case MIG_VAL_UINT:
		snprintf(buf, len, "0x%0*" PRIx64, (int)(2 * n->nbytes), u);
		return;
	case MIG_VAL_INT: {
		unsigned shift = 64 - 8 * (unsigned)n->nbytes;

		snprintf(buf, len, "%" PRId64,
			 shift < 64 && shift ? (int64_t)(u << shift) >> shift
					     : (int64_t)u);
		return;
	}
	case MIG_VAL_BOOL:
		if (b[0] > 1)
			snprintf(buf, len, "%u", b[0]);
		else
			snprintf(buf, len, "%s", b[0] ? "true" : "false");
		return;
	default:
		for (size_t i = 0; i < n->nbytes && k + 3 < len; i++) {
			if (i == 32 && n->nbytes > 33) {
				snprintf(buf + k, len - k, "...");
				return;
			}
			k += (size_t)snprintf(buf + k, len - k, "%02x", b[i]);
		}
		if (!n->nbytes)
			buf[0] = '\0';
	}
}

static void free_changes(struct change *ch, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mig_patch_release(&ch[i].patch);
	free(ch);
}

int cmd_set(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		CLI_INPUT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_input in = { 0 };
	struct mig_input_opts iopts = { 0 };
	struct mig_parse_opts popts;
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL, *back = NULL;
	struct mig_writer *w = NULL;
	struct mig_patch *patches = NULL;
	struct change *ch = NULL;
	struct mig_error err;
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 256];
	const char *out = NULL, *path;
	size_t n = 0;
	uint64_t start;
	int c, ret, rc = EXIT_ERROR;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			return cli_help("set");
		default:
			switch (cli_input_option(&in, c, optarg)) {
			case 1:
				break;
			case 0:
				return cli_usage("set");
			default:
				return EXIT_ERROR;
			}
		}
	}
	if (optind >= argc) {
		cli_warn("set: missing STREAM operand");
		return cli_usage("set");
	}
	if (optind + 1 >= argc) {
		cli_warn("set: missing PATH=VALUE operand");
		return cli_usage("set");
	}
	if (argc - optind - 1 > SET_MAX) {
		cli_warn("set: at most %d PATH=VALUE operands", SET_MAX);
		return EXIT_ERROR;
	}
	path = argv[optind];
	if (!out) {
		cli_warn("set: no output: give -o OUT (or -o - for standard output)");
		return cli_usage("set");
	}
	if (mig_same_file(out, path)) {
		cli_warn("set: the output '%s' is the input; set never changes its input",
			 out);
		return EXIT_ERROR;
	}
	ch = calloc((size_t)(argc - optind), sizeof(*ch));
	patches = calloc((size_t)(argc - optind), sizeof(*patches));
	if (!ch || !patches) {
		cli_warn("out of memory");
		goto out;
	}
	for (int i = optind + 1; i < argc; i++) {
		char *eq = strrchr(argv[i], '=');

		if (!eq || eq == argv[i] || !eq[1]) {
			cli_warn("set: '%s' is not PATH=VALUE", argv[i]);
			rc = cli_usage("set");
			goto out;
		}
		*eq = '\0';
		ch[n].path = argv[i];
		ch[n].value = eq + 1;
		n++;
	}

	mig_error_clear(&err);
	iopts.offset = in.offset;
	ret = mig_reader_open_input(&r, path, &iopts, &err);
	if (!ret)
		ret = mig_rd_make_seekable(r, &err);
	if (ret) {
		fprintf(stderr, "%s\n", mig_error_format(&err, path, msg,
							 sizeof(msg)));
		rc = cli_exit_for(ret);
		goto out;
	}
	start = mig_rd_offset(r);
	popts = in.parse;
	popts.caps = in.caps;
	popts.ncaps = in.ncaps;
	ret = mig_stream_read(r, &popts, &s, &err);
	if (ret) {
		fprintf(stderr, "%s\n", mig_error_format(&err, path, msg,
							 sizeof(msg)));
		cli_warn("set: '%s' cannot be read to its end; set changes only streams it reads whole",
			 path);
		rc = cli_exit_for(ret);
		goto out;
	}

	for (size_t i = 0; i < n; i++) {
		const struct mig_record *rec;

		ret = mig_path_resolve(s, ch[i].path, &rec, &ch[i].node, &err);
		if (!ret) {
			mig_path_format(s, rec, ch[i].node, ch[i].canon,
					sizeof(ch[i].canon));
			ret = mig_set_prepare(ch[i].node, ch[i].value,
					      &ch[i].patch, &err);
			if (ret)
				mig_error_push_path(&err, "%s", ch[i].canon);
		}
		if (ret) {
			fprintf(stderr, "%s\n", mig_error_format(&err, path, msg,
								 sizeof(msg)));
			rc = ret == -MIG_ENOMEM ? EXIT_ERROR : EXIT_NO;
			goto out;
		}
		for (size_t j = 0; j < i; j++) {
			if (ch[j].node == ch[i].node) {
				cli_warn("set: '%s' is set twice (also as '%s')",
					 ch[i].canon, ch[j].path);
				rc = EXIT_ERROR;
				goto out;
			}
		}
		patches[i] = ch[i].patch;
	}

	ret = mig_writer_open(&w, out, &err);
	if (ret) {
		fprintf(stderr, "%s\n", mig_error_format(&err, NULL, msg,
							 sizeof(msg)));
		goto out;
	}
	cli_guard_output(w);
	ret = mig_set_write(r, start, patches, n, w, &err);
	if (ret) {
		fprintf(stderr, "%s\n", mig_error_format(&err, out, msg,
							 sizeof(msg)));
		rc = cli_exit_for(ret);
		goto out_abort;
	}
	/* Read the result back: it must be whole and hold the new values. */
	if (strcmp(out, "-")) {
		rc = cli_read_back(w, out, in.caps, in.ncaps, &back);
		if (rc)
			goto out_abort;
		for (size_t i = 0; i < n; i++) {
			const struct mig_record *rec;
			const struct mig_node *node;

			if (mig_path_resolve(back, ch[i].path, &rec, &node,
					     NULL) ||
			    node->nbytes != ch[i].patch.len ||
			    memcmp(node->bytes, ch[i].patch.bytes,
				   node->nbytes)) {
				cli_warn("set: %s: the output does not hold the new value; nothing written",
					 ch[i].canon);
				rc = EXIT_ERROR;
				goto out_abort;
			}
		}
	}
	ret = mig_writer_commit(w, &err);
	w = NULL;
	cli_guard_done();
	if (ret) {
		fprintf(stderr, "%s\n", mig_error_format(&err, NULL, msg,
							 sizeof(msg)));
		rc = EXIT_ERROR;
		goto out;
	}
	if (!in.quiet && strcmp(out, "-")) {
		for (size_t i = 0; i < n; i++) {
			char oldv[128], newv[128];

			fmt_value(ch[i].node, ch[i].node->bytes, oldv,
				  sizeof(oldv));
			fmt_value(ch[i].node, ch[i].patch.bytes, newv,
				  sizeof(newv));
			printf("%s: %s -> %s (offset 0x%" PRIx64 ")\n",
			       ch[i].canon, oldv, newv, ch[i].patch.offset);
		}
	}
	rc = EXIT_YES;
	goto out;
out_abort:
	mig_writer_abort(w);
	w = NULL;
	cli_guard_done();
out:
	mig_stream_free(back);
	mig_stream_free(s);
	mig_reader_free(r);
	free(patches);
	free_changes(ch, n);
	return rc;
}
