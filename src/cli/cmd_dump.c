/* SPDX-License-Identifier: MIT */
/* migstream dump: the whole stream as JSON. */
#include <getopt.h>
#include <string.h>

#include "cli.h"

int cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "offsets", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		CLI_INPUT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_input in = { 0 };
	bool analyze = false, offsets = false;
	struct mig_stream *s;
	json_t *j;
	int c, rc, prc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "analyze")) {
				analyze = true;
			} else if (strcmp(optarg, "tree")) {
				cli_warn("dump: unknown format '%s' (tree or analyze)",
					 optarg);
				return cli_usage("dump");
			}
			break;
		case 'o':
			offsets = true;
			break;
		case 'h':
			return cli_help("dump");
		default:
			switch (cli_input_option(&in, c, optarg)) {
			case 1:
				break;
			case 0:
				return cli_usage("dump");
			default:
				return EXIT_ERROR;
			}
		}
	}
	if (optind != argc - 1)
		return cli_usage("dump");
	if (analyze && offsets) {
		cli_warn("dump: --offsets has no meaning with --format analyze");
		return cli_usage("dump");
	}

	rc = cli_read_stream(argv[optind], &in, &s);
	if (!s)
		return rc;
	j = analyze ? mig_dump_analyze(s)
		    : mig_dump_json(s, offsets ? MIG_DUMP_OFFSETS : 0);
	prc = cli_print_json(j);
	json_decref(j);
	mig_stream_free(s);
	return prc ? prc : rc;
}
