/* SPDX-License-Identifier: MIT */
/*
 * migstream schema import|show|diff|check: make, read and compare schemas
 * (man/migstream-schema.1, format in man/migstream-schema.5).  Also where
 * every command finds schemas: $MIGSTREAM_SCHEMA_PATH, the source tree's
 * schemas/ next to a binary in build/, the installed share directory next
 * to an installed binary, and the directory the build was configured for.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "migstream/schema.h"

#ifndef MIGSTREAM_SCHEMA_DIR
#define MIGSTREAM_SCHEMA_DIR "/usr/local/share/migstream/schemas"
#endif

#define DIRS_MAX 16

static char dir_store[DIRS_MAX][PATH_MAX];
static const char *dirs[DIRS_MAX];
static size_t ndirs;

static void add_dir(const char *d)
{
	if (ndirs >= DIRS_MAX || !d || !*d)
		return;
	for (size_t i = 0; i < ndirs; i++)
		if (!strcmp(dirs[i], d))
			return;
	snprintf(dir_store[ndirs], sizeof(dir_store[ndirs]), "%s", d);
	dirs[ndirs] = dir_store[ndirs];
	ndirs++;
}

size_t cli_schema_dirs(const char *const **out)
{
	if (!ndirs) {
		const char *env = getenv("MIGSTREAM_SCHEMA_PATH");
		char exe[PATH_MAX];
		ssize_t n;

		if (env) {
			char *copy = strdup(env), *save = NULL, *tok;

			for (tok = copy ? strtok_r(copy, ":", &save) : NULL; tok;
			     tok = strtok_r(NULL, ":", &save))
				add_dir(tok);
			free(copy);
		}
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			char buf[PATH_MAX + 64];
			char *dir;

			exe[n] = '\0';
			dir = dirname(exe);
			/* build/migstream in the source tree */
			snprintf(buf, sizeof(buf), "%s/../schemas", dir);
			if (!access(buf, R_OK)) {
				char real[PATH_MAX];

				add_dir(realpath(buf, real) ? real : buf);
			}
			/* PREFIX/bin/migstream, installed */
			snprintf(buf, sizeof(buf), "%s/../share/migstream/schemas",
				 dir);
			if (!access(buf, R_OK)) {
				char real[PATH_MAX];

				add_dir(realpath(buf, real) ? real : buf);
			}
		}
		add_dir(MIGSTREAM_SCHEMA_DIR);
	}
	*out = dirs;
	return ndirs;
}

int cli_load_schemas(const char *what, struct mig_schema ***out, size_t *n)
{
	const char *const *d;
	size_t nd = cli_schema_dirs(&d);
	struct mig_schema **list = NULL;
	struct mig_error err;
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 64];
	char **names = NULL;
	size_t count = 0;
	int ret;

	*out = NULL;
	*n = 0;
	mig_error_clear(&err);
	if (what && !strcmp(what, "none"))
		return EXIT_YES;
	if (what) {
		list = calloc(1, sizeof(*list));
		if (!list) {
			cli_warn("out of memory");
			return EXIT_ERROR;
		}
		ret = mig_schema_open(what, NULL, d, nd, &list[0], &err);
		if (ret) {
			free(list);
			fprintf(stderr, "%s: %s\n", cli_prog,
				mig_error_format(&err, NULL, msg, sizeof(msg)));
			return EXIT_ERROR;
		}
		*out = list;
		*n = 1;
		return EXIT_YES;
	}
	ret = mig_schema_list(NULL, d, nd, &names, &count, &err);
	if (ret) {
		fprintf(stderr, "%s: %s\n", cli_prog,
			mig_error_format(&err, NULL, msg, sizeof(msg)));
		return EXIT_ERROR;
	}
	list = calloc(count ? count : 1, sizeof(*list));
	for (size_t i = 0; list && i < count; i++) {
		mig_error_clear(&err);
		if (mig_schema_open(names[i], NULL, d, nd, &list[*n], &err)) {
			/* A broken shipped schema must not stop the reading of
			 * streams: say so and go on without it. */
			cli_warn("schema '%s' not used: %s", names[i],
				 mig_error_format(&err, NULL, msg, sizeof(msg)));
			continue;
		}
		(*n)++;
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	if (!list) {
		cli_warn("out of memory");
		return EXIT_ERROR;
	}
	*out = list;
	return EXIT_YES;
}

void cli_free_schemas(struct mig_schema **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mig_schema_free(list[i]);
	free(list);
}

/* ------------------------------------------------------------------ */

static int write_json(json_t *j, const char *path)
{
	FILE *f = stdout;
	char tmp[PATH_MAX];
	int bad;

	if (path && strcmp(path, "-")) {
		snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
		f = fopen(tmp, "w");
		if (!f) {
			cli_warn("cannot create '%s': %s", tmp, strerror(errno));
			return EXIT_ERROR;
		}
	}
	bad = json_dumpf(j, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER) ||
	      fputc('\n', f) == EOF;
	if (f != stdout) {
		bad |= fclose(f) != 0;
		if (!bad && rename(tmp, path)) {
			cli_warn("cannot rename '%s' to '%s': %s", tmp, path,
				 strerror(errno));
			unlink(tmp);
			return EXIT_ERROR;
		}
		if (bad)
			unlink(tmp);
	} else {
		bad |= fflush(stdout) != 0;
	}
	if (bad) {
		cli_warn("cannot write the schema: %s", strerror(errno));
		return EXIT_ERROR;
	}
	return EXIT_YES;
}

static int schema_import(int argc, char **argv)
{
	enum { O_DUMP = 0x100, O_MACH, O_STREAM, O_CUR, O_NAME, O_QEMU,
	       O_QVER, O_TARGET, O_NOTES, O_BASENAMES };
	static const struct option opts[] = {
		{ "dump-vmstate", required_argument, NULL, O_DUMP },
		{ "machine-help", required_argument, NULL, O_MACH },
		{ "stream", required_argument, NULL, O_STREAM },
		{ "curation", required_argument, NULL, O_CUR },
		{ "name", required_argument, NULL, O_NAME },
		{ "qemu", required_argument, NULL, O_QEMU },
		{ "qemu-version", required_argument, NULL, O_QVER },
		{ "target", required_argument, NULL, O_TARGET },
		{ "notes", no_argument, NULL, O_NOTES },
		{ "basenames", no_argument, NULL, O_BASENAMES },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mig_import_opts io = { 0 };
	const char **streams = NULL;
	const char *output = NULL;
	bool show_notes = false;
	struct mig_error err;
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 64];
	json_t *out = NULL, *notes = NULL;
	int c, rc;

	streams = calloc((size_t)argc + 1, sizeof(*streams));
	if (!streams) {
		cli_warn("out of memory");
		return EXIT_ERROR;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case O_DUMP: io.dump_path = optarg; break;
		case O_MACH: io.machines_path = optarg; break;
		case O_STREAM: streams[io.nstreams++] = optarg; break;
		case O_CUR: io.curation_path = optarg; break;
		case O_NAME: io.name = optarg; break;
		case O_QEMU: io.qemu = optarg; break;
		case O_QVER: io.qemu_version = optarg; break;
		case O_TARGET: io.target = optarg; break;
		case O_NOTES: show_notes = true; break;
		case O_BASENAMES: io.no_provenance_paths = true; break;
		case 'o': output = optarg; break;
		case 'h':
			free(streams);
			return cli_help("schema");
		default:
			free(streams);
			return cli_usage("schema");
		}
	}
	if (optind != argc || !io.dump_path) {
		if (!io.dump_path)
			cli_warn("schema import: --dump-vmstate FILE is required");
		free(streams);
		return cli_usage("schema");
	}
	io.streams = streams;
	mig_error_clear(&err);
	if (mig_schema_import(&io, &out, &notes, &err)) {
		fprintf(stderr, "%s: %s\n", cli_prog,
			mig_error_format(&err, NULL, msg, sizeof(msg)));
		free(streams);
		return EXIT_ERROR;
	}
	free(streams);
	rc = write_json(out, output);
	if (show_notes) {
		size_t i;
		json_t *e;

		json_array_foreach(notes, i, e)
			fprintf(stderr, "note: %s\n", json_string_value(e));
	}
	json_decref(out);
	json_decref(notes);
	return rc;
}

static int open_one(const char *what, struct mig_schema **s)
{
	const char *const *d;
	size_t nd = cli_schema_dirs(&d);
	struct mig_error err;
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 64];

	mig_error_clear(&err);
	if (mig_schema_open(what, NULL, d, nd, s, &err)) {
		fprintf(stderr, "%s: %s\n", cli_prog,
			mig_error_format(&err, NULL, msg, sizeof(msg)));
		return err.code == MIG_ENOMEM || err.code == MIG_EIO ? EXIT_ERROR
								      : EXIT_NO;
	}
	return EXIT_YES;
}

/* Bytes of an integer (or bool) vmdesc type, 0 for any other. */
static int int_width(const char *type)
{
	static const struct { const char *t; int w; } w[] = {
		{ "bool", 1 }, { "int8", 1 }, { "uint8", 1 }, { "uint8 equal", 1 },
		{ "int16", 2 }, { "uint16", 2 }, { "uint16 equal", 2 },
		{ "int32", 4 }, { "uint32", 4 }, { "int32 equal", 4 },
		{ "uint32 equal", 4 }, { "int32 le", 4 }, { "int64", 8 },
		{ "uint64", 8 }, { "int64 equal", 8 }, { "timer", 8 },
	};

	for (size_t i = 0; type && i < sizeof(w) / sizeof(w[0]); i++)
		if (!strcmp(w[i].t, type))
			return w[i].w;
	return 0;
}

static void print_cond(const char *label, const struct mig_cond *c)
{
	char *t = mig_cond_text(c);

	printf("%s%s", label, t ? t : "?");
	free(t);
}

static void print_vmsd(const struct mig_schema *s, const struct mig_svmsd *v)
{
	static const char *const origins[] = { "-dump-vmstate", "streams' vmdescs",
					       "curated" };

	printf("%s", v->name);
	if (strcmp(v->id, v->name))
		printf(" (id %s)", v->id);
	printf(": version %" PRIu32, v->version);
	if (v->has_minimum)
		printf(", minimum %" PRIu32, v->minimum_version);
	printf(", from %s", origins[v->origin]);
	if (v->nsections) {
		printf(", sections");
		for (size_t i = 0; i < v->nsections; i++)
			printf("%s %s", i ? "," : "", v->sections[i]);
	}
	printf("\n");
	for (size_t i = 0; i < s->ndevices; i++)
		if (s->devices[i].vmsd == v)
			printf("  device %s\n", s->devices[i].type);
	for (size_t i = 0; i < v->nfields; i++) {
		const struct mig_sfield *f = &v->fields[i];
		int64_t n;

		printf("  %-28s %-14s", f->uname, f->type ? f->type
					     : f->vmsd ? "struct?" : "?");
		if (int_width(f->type)) {
			printf(" %d B", int_width(f->type));
		} else if (f->size) {
			char *t = mig_cond_text(f->size);

			printf(" %s B", t ? t : "?");
			free(t);
		} else if (f->vmsd) {
			printf(" -> %s", f->vmsd->id);
		} else if (f->memory_size) {
			printf(" (%" PRIu64 " B in memory)", f->memory_size);
		}
		if (f->count && !(mig_cond_const_int(f->count, &n) && n == 1))
			print_cond(" x ", f->count);
		if (f->version)
			printf(", since v%" PRIu32, f->version);
		if (f->exists)
			print_cond(", if ", f->exists);
		printf("\n");
		for (size_t k = 0; k < f->nov; k++)
			if (f->ov[k].size)
				print_cond("      here: ", f->ov[k].size),
				printf(" B for %s\n", f->ov[k].field);
	}
	for (size_t i = 0; i < v->nsubs; i++) {
		const struct mig_svmsd *sub = v->subs[i].vmsd;

		printf("  subsection %s v%" PRIu32, sub->name, sub->version);
		if (v->subs[i].needed)
			print_cond(", needed if ", v->subs[i].needed);
		printf("\n");
	}
}

static int schema_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mig_schema *s = NULL;
	bool as_json = false;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			as_json = true;
			break;
		case 'h':
			return cli_help("schema");
		default:
			return cli_usage("schema");
		}
	}
	if (optind != argc - 1 && optind != argc - 2)
		return cli_usage("schema");
	rc = open_one(argv[optind], &s);
	if (rc)
		return rc;
	if (as_json) {
		json_t *j = mig_schema_show(s, optind + 1 < argc ? argv[optind + 1]
								  : NULL);

		if (!j) {
			cli_warn("schema %s has no description or section '%s'",
				 s->name ? s->name : s->file, argv[optind + 1]);
			mig_schema_free(s);
			return EXIT_NO;
		}
		rc = cli_print_json(j);
		json_decref(j);
	} else if (optind + 1 < argc) {
		const char *what = argv[optind + 1];
		const struct mig_svmsd *found[8];
		size_t n = 0;
		const struct mig_svmsd *v = mig_schema_vmsd(s, what);

		if (v) {
			found[n++] = v;
		} else {
			for (size_t i = 0; i < s->nvmsds && n < 8; i++)
				if (!strcmp(s->vmsds[i].name, what))
					found[n++] = &s->vmsds[i];
			if (!n)
				n = mig_schema_section_vmsds(s, what, found, 8);
			for (size_t i = 0; !n && i < s->ndevices; i++)
				if (!strcmp(s->devices[i].type, what) &&
				    s->devices[i].vmsd)
					found[n++] = s->devices[i].vmsd;
		}
		if (!n) {
			cli_warn("schema %s has no description, section or device '%s'",
				 s->name ? s->name : s->file, what);
			mig_schema_free(s);
			return EXIT_NO;
		}
		for (size_t i = 0; i < n && i < 8; i++) {
			if (i)
				printf("\n");
			print_vmsd(s, found[i]);
		}
	} else {
		size_t nmach = 0;

		printf("schema        %s\n", s->name ? s->name : "(unnamed)");
		printf("file          %s\n", s->file);
		if (s->qemu_version)
			printf("qemu          %s\n", s->qemu_version);
		if (s->target)
			printf("target        %s\n", s->target);
		printf("descriptions  %zu\n", s->nvmsds);
		printf("devices       %zu\n", s->ndevices);
		printf("machines      %zu:", s->nmachines);
		for (size_t i = 0; i < s->nmachines; i++) {
			const struct mig_smachine *m = &s->machines[i];

			if (nmach++ % 6 == 0)
				printf("\n  ");
			printf(" %s%s", m->name, m->is_default ? "*" : "");
		}
		printf("\n");
	}
	mig_schema_free(s);
	return rc;
}

static int schema_check(int argc, char **argv)
{
	struct mig_schema *s = NULL;
	int rc;

	if (argc != 2)
		return cli_usage("schema");
	rc = open_one(argv[1], &s);
	if (!rc)
		printf("%s: %zu descriptions, %zu devices, %zu machine types\n",
		       s->file, s->nvmsds, s->ndevices, s->nmachines);
	mig_schema_free(s);
	return rc;
}

static const char *sev_name(const json_t *f)
{
	return json_string_value(json_object_get(f, "severity"));
}

static int schema_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "machine", required_argument, NULL, 'm' },
		{ "reverse", no_argument, NULL, 'r' },
		{ "vmsd", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mig_sdiff_opts o = { 0 };
	struct mig_schema *a = NULL, *b = NULL;
	struct mig_error err;
	char msg[MIG_PATH_MAX + MIG_MSG_MAX + 64];
	bool as_json = false;
	json_t *out = NULL;
	size_t nf = 0;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			as_json = true;
			break;
		case 'm':
			o.machine = optarg;
			break;
		case 'r':
			o.reverse = true;
			break;
		case 'v':
			o.vmsd = optarg;
			break;
		case 'h':
			return cli_help("schema");
		default:
			return cli_usage("schema");
		}
	}
	if (optind != argc - 2)
		return cli_usage("schema");
	rc = open_one(argv[optind], &a);
	if (!rc)
		rc = open_one(argv[optind + 1], &b);
	if (rc) {
		mig_schema_free(a);
		return rc == EXIT_NO ? EXIT_ERROR : rc;
	}
	mig_error_clear(&err);
	if (mig_schema_diff(a, b, &o, &out, &nf, &err)) {
		fprintf(stderr, "%s: %s\n", cli_prog,
			mig_error_format(&err, NULL, msg, sizeof(msg)));
		rc = EXIT_ERROR;
		goto out;
	}
	if (as_json) {
		rc = cli_print_json(json_incref(out));
		json_decref(out);
	} else {
		json_t *fs = json_object_get(out, "findings");
		size_t i;
		json_t *f;

		printf("%s -> %s%s%s: %zu finding%s\n",
		       json_string_value(json_object_get(out, "from")),
		       json_string_value(json_object_get(out, "to")),
		       o.machine ? ", machine " : "", o.machine ? o.machine : "",
		       nf, nf == 1 ? "" : "s");
		json_array_foreach(fs, i, f) {
			const json_t *sec = json_object_get(f, "section");

			printf("%-6s %-24s", sev_name(f),
			       json_string_value(json_object_get(f, "kind")));
			if (json_is_string(sec))
				printf(" %s:", json_string_value(sec));
			printf(" %s\n", json_string_value(json_object_get(
						f, "message")));
		}
		if (fflush(stdout))
			rc = EXIT_ERROR;
	}
	if (!rc)
		rc = nf ? EXIT_NO : EXIT_YES;
out:
	json_decref(out);
	mig_schema_free(a);
	mig_schema_free(b);
	return rc;
}

int cmd_schema(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage("schema");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cli_help("schema");
	if (!strcmp(argv[1], "import"))
		return schema_import(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return schema_show(argc - 1, argv + 1);
	if (!strcmp(argv[1], "diff"))
		return schema_diff(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return schema_check(argc - 1, argv + 1);
	cli_warn("schema: unknown subcommand '%s' (import, show, diff, check)",
		 argv[1]);
	return cli_usage("schema");
}
