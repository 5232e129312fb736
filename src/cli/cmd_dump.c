/* SPDX-License-Identifier: MIT */
/* migstream dump: the whole stream as JSON. */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "dump_ram.h"

int cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "offsets", no_argument, NULL, 'o' },
		{ "ram", required_argument, NULL, 'r' },
		{ "extract", required_argument, NULL, 'x' },
		{ "force", no_argument, NULL, 'F' },
		{ "lossless", no_argument, NULL, 'L' },
		{ "ram-file", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		CLI_INPUT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_input in = { 0 };
	bool analyze = false, offsets = false;
	struct dump_ram ram = { 0 };
	bool lossless = false;
	const char *ram_file = NULL;
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
		case 'r':
			if (!dump_ram_mode(optarg, &ram.mode)) {
				cli_warn("dump: unknown --ram '%s' (summary, pages or hash)",
					 optarg);
				return cli_usage("dump");
			}
			break;
		case 'x':
			ram.extract = optarg;
			break;
		case 'F':
			ram.force = true;
			break;
		case 'L':
			lossless = true;
			break;
		case 'R':
			ram_file = optarg;
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
		return cli_operands("dump", argc, argv, 1);
	if (ram_file && !lossless) {
		cli_warn("dump: --ram-file goes with --lossless");
		return cli_usage("dump");
	}
	if (lossless && (analyze || offsets || ram.extract ||
			 ram.mode != DUMP_RAM_SUMMARY)) {
		cli_warn("dump: --lossless has its own shape: no --format, --offsets, --ram or --extract");
		return cli_usage("dump");
	}
	if (lossless)
		return cli_dump_lossless(argv[optind], &in, ram_file);
	if (analyze && offsets) {
		cli_warn("dump: --offsets has no meaning with --format analyze");
		return cli_usage("dump");
	}
	if (analyze && (ram.mode != DUMP_RAM_SUMMARY || ram.extract)) {
		cli_warn("dump: --ram and --extract need --format tree");
		return cli_usage("dump");
	}
	if (ram.force && !ram.extract) {
		cli_warn("dump: --force goes with --extract");
		return cli_usage("dump");
	}
	if (ram.mode != DUMP_RAM_SUMMARY || ram.extract) {
		ram.flags = offsets ? MIG_DUMP_OFFSETS : 0;
		rc = dump_ram_prepare(&ram, &in);
		if (!rc) {
			rc = cli_read_stream(argv[optind], &in, &s);
			if (s)
				rc = dump_ram_output(&ram, s, rc);
			mig_stream_free(s);
		}
		dump_ram_free(&ram);
		return rc;
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
