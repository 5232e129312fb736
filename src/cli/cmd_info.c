/* SPDX-License-Identifier: MIT */
/*
 * migstream info: one screen about a stream.  The text is rendered from the
 * same JSON object that --json prints, so the two cannot disagree.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

/* Integers above INT64_MAX are "0x..." strings in the JSON. */
static uint64_t u64_of(const json_t *j)
{
	if (json_is_string(j))
		return strtoull(json_string_value(j), NULL, 16);
	return (uint64_t)json_integer_value(j);
}

static void print_size(uint64_t n)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = -1;

	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		printf("%" PRIu64 " B", n);
	else
		printf("%.1f %s", v, units[u]);
}

/* The wrapper lines: what held the stream, and the libvirt domain. */
static void print_wrapper(const json_t *w)
{
	const json_t *lv = json_object_get(w, "libvirt");
	const json_t *comp = json_object_get(w, "compression");
	const json_t *scomp = json_object_get(w, "stream_compression");
	uint64_t off = u64_of(json_object_get(w, "offset"));

	printf("wrapper       ");
	if (json_is_string(comp))
		printf("%s-compressed%s", json_string_value(comp),
		       lv ? " " : "");
	if (lv) {
		const json_t *name = json_object_get(lv, "name");
		const json_t *uuid = json_object_get(lv, "uuid");
		const json_t *fmt = json_object_get(lv, "format");

		printf("libvirt save image%s, version %" JSON_INTEGER_FORMAT
		       ", format %s, %s\n",
		       json_is_true(json_object_get(lv, "complete"))
			       ? "" : " (incomplete: LibvirtQemudPart)",
		       json_integer_value(json_object_get(lv, "version")),
		       json_is_string(fmt) ? json_string_value(fmt) : "unknown",
		       json_is_true(json_object_get(lv, "was_running"))
			       ? "was running" : "was paused");
		printf("domain        %s, uuid %s\n",
		       json_is_string(name) ? json_string_value(name)
					    : "(no <name>)",
		       json_is_string(uuid) ? json_string_value(uuid)
					    : "(none)");
		printf("domain XML    %" JSON_INTEGER_FORMAT " bytes (%" JSON_INTEGER_FORMAT
		       " reserved); info --json has it in full\n",
		       json_integer_value(json_object_get(lv, "xml_size")),
		       json_integer_value(json_object_get(lv, "data_len")));
	} else if (!json_is_string(comp)) {
		printf("none, the stream starts at --offset\n");
	} else {
		printf("\n");
	}
	if (off)
		printf("input offset  %" PRIu64 " (0x%" PRIx64 ")\n", off, off);
	if (json_is_string(comp) || json_is_string(scomp))
		printf("stream        %s-compressed; offsets below are in the decompressed data\n",
		       json_string_value(json_is_string(scomp) ? scomp : comp));
	else
		printf("stream        at 0x%" PRIx64 " in the file\n",
		       u64_of(json_object_get(w, "stream_offset")));
}

static void print_text(const json_t *info)
{
	const json_t *conf = json_object_get(info, "configuration");
	const json_t *vmdesc = json_object_get(info, "vmdesc");
	const json_t *secs = json_object_get(info, "sections");
	const json_t *blocks = json_object_get(info, "ram_blocks");
	const json_t *cmds = json_object_get(info, "commands");
	const json_t *size = json_object_get(info, "size");
	const json_t *e;
	size_t i;

	printf("file          %s\n", json_string_value(json_object_get(info, "file")));
	if (json_is_null(size))
		printf("size          unknown\n");
	else
		printf("size          %" PRIu64 " bytes\n", u64_of(size));
	if (json_is_object(json_object_get(info, "wrapper")))
		print_wrapper(json_object_get(info, "wrapper"));
	printf("version       %" JSON_INTEGER_FORMAT "\n",
	       json_integer_value(json_object_get(info, "file_version")));
	if (json_is_object(conf)) {
		const json_t *caps = json_object_get(conf, "capabilities");

		printf("machine       %s\n",
		       json_string_value(json_object_get(conf, "machine")));
		printf("capabilities  ");
		if (!json_array_size(caps))
			printf("none");
		json_array_foreach(caps, i, e)
			printf("%s%s", i ? ", " : "", json_string_value(e));
		printf("\n");
		if (json_object_get(conf, "uuid"))
			printf("uuid          %s\n", json_string_value(
				json_object_get(conf, "uuid")));
	} else {
		printf("machine       unknown (no configuration record)\n");
	}
	printf("footers       %s\n",
	       json_is_true(json_object_get(info, "footers")) ? "yes" : "no");
	printf("page size     %" PRIu64 "\n",
	       u64_of(json_object_get(info, "page_size")));
	if (json_is_object(vmdesc))
		printf("vmdesc        %" PRIu64 " bytes of JSON at 0x%" PRIx64 "\n",
		       u64_of(json_object_get(vmdesc, "size")),
		       u64_of(json_object_get(vmdesc, "offset")));
	else
		printf("vmdesc        none\n");
	if (json_is_object(json_object_get(info, "schema"))) {
		const json_t *sch = json_object_get(info, "schema");
		const json_t *name = json_object_get(sch, "name");

		/* Which schema described the device sections, and why. */
		printf("schema        %s (%s)\n",
		       json_is_string(name) ? json_string_value(name) : "none",
		       json_string_value(json_object_get(sch, "why")));
	}
	if (json_is_true(json_object_get(info, "complete")))
		printf("read          to the end, %" JSON_INTEGER_FORMAT " records\n",
		       json_integer_value(json_object_get(info, "records")));
	else
		printf("read          stopped at 0x%" PRIx64 " (the stream is invalid; see the error)\n",
		       u64_of(json_object_get(info, "end")));

	printf("\nsections (%zu):\n", json_array_size(secs));
	printf("  %4s  %-36s %4s %5s %10s  %s\n", "id", "name", "inst", "ver",
	       "bytes", "contents");
	json_array_foreach(secs, i, e) {
		const char *kind = json_string_value(json_object_get(e, "kind"));
		const json_t *why = json_object_get(e, "undecoded");

		printf("  %4" JSON_INTEGER_FORMAT "  %-36s %4" JSON_INTEGER_FORMAT
		       " %5" JSON_INTEGER_FORMAT " %10" PRIu64 "  ",
		       json_integer_value(json_object_get(e, "section_id")),
		       json_string_value(json_object_get(e, "name")),
		       json_integer_value(json_object_get(e, "instance")),
		       json_integer_value(json_object_get(e, "version")),
		       u64_of(json_object_get(e, "bytes")));
		if (!strcmp(kind, "ram"))
			printf("RAM, %" JSON_INTEGER_FORMAT " records",
			       json_integer_value(json_object_get(e, "records")));
		else if (!strcmp(kind, "undecoded"))
			printf("undecoded: %s", json_string_value(why));
		else
		{
			json_int_t n = json_integer_value(json_object_get(e,
								"nodes"));

			printf("%s, %" JSON_INTEGER_FORMAT " node%s",
			       strcmp(kind, "legacy") ? "decoded" : "legacy data",
			       n, n == 1 ? "" : "s");
		}
		printf("\n");
	}

	printf("\nRAM blocks (%zu):\n", json_array_size(blocks));
	if (json_array_size(blocks))
		printf("  %-36s %10s %10s %10s\n", "name", "length", "pages",
		       "zero");
	json_array_foreach(blocks, i, e) {
		printf("  %-36s ", json_string_value(json_object_get(e, "name")));
		{
			char buf[32];
			uint64_t len = u64_of(json_object_get(e, "length"));

			if (len >= 1024 * 1024)
				snprintf(buf, sizeof(buf), "%.1f MiB",
					 (double)len / (1024 * 1024));
			else
				snprintf(buf, sizeof(buf), "%" PRIu64 " KiB",
					 len / 1024);
			printf("%10s", buf);
		}
		printf(" %10" PRIu64 " %10" PRIu64 "\n",
		       u64_of(json_object_get(e, "pages")),
		       u64_of(json_object_get(e, "zero_pages")));
	}
	if (json_array_size(blocks)) {
		const json_t *ram = json_object_get(info, "ram");

		printf("  page data: ");
		print_size(u64_of(json_object_get(ram, "page_bytes")));
		printf(" in %" PRIu64 " pages",
		       u64_of(json_object_get(ram, "pages")));
		/* Only streams that have them say so. */
		if (json_object_get(ram, "compressed_pages"))
			printf(" (%" PRIu64 " compressed)",
			       u64_of(json_object_get(ram, "compressed_pages")));
		printf(", %" PRIu64 " zero pages",
		       u64_of(json_object_get(ram, "zero_pages")));
		if (json_object_get(ram, "xbzrle_pages"))
			printf(", %" PRIu64 " xbzrle deltas",
			       u64_of(json_object_get(ram, "xbzrle_pages")));
		printf("\n");
	}

	printf("\ncommands (%zu):", json_array_size(cmds));
	if (!json_array_size(cmds))
		printf(" none");
	printf("\n");
	json_array_foreach(cmds, i, e) {
		const json_t *name = json_object_get(e, "command");

		printf("  0x%08" PRIx64 "  %s (0x%02x), %" JSON_INTEGER_FORMAT " bytes\n",
		       u64_of(json_object_get(e, "offset")),
		       json_is_string(name) ? json_string_value(name) : "unknown",
		       (unsigned)json_integer_value(json_object_get(e, "id")),
		       json_integer_value(json_object_get(e, "length")));
	}
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		CLI_INPUT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_input in = { 0 };
	bool as_json = false;
	struct mig_stream *s;
	json_t *j;
	int c, rc, prc = EXIT_YES;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			as_json = true;
			break;
		case 'h':
			return cli_help("info");
		default:
			switch (cli_input_option(&in, c, optarg)) {
			case 1:
				break;
			case 0:
				return cli_usage("info");
			default:
				return EXIT_ERROR;
			}
		}
	}
	if (optind != argc - 1)
		return cli_operands("info", argc, argv, 1);

	rc = cli_read_stream(argv[optind], &in, &s);
	if (!s)
		return rc;
	if (!in.quiet) {
		j = mig_info_json(s);
		if (as_json) {
			prc = cli_print_json(j);
		} else if (j) {
			print_text(j);
			if (fflush(stdout))
				prc = EXIT_ERROR;
		} else {
			prc = EXIT_ERROR;
		}
		json_decref(j);
	}
	mig_stream_free(s);
	return prc ? prc : rc;
}
