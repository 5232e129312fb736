/* SPDX-License-Identifier: MIT */
/*
 * tests/validate/crossload.c - does `validate` agree with the real QEMU?
 *
 * testdata/crossload.json records what happened when every stream of the
 * corpus was loaded into QEMU 5.2, 7.2 and 10.0 (the stream's own
 * arguments plus -S -incoming defer).  For every record whose result is
 * "accepted", "rejected" or "no such machine", this checks the stream
 * against the shipped schema of the target with the target started as the
 * record says (machine type, -global, suppress-vmdesc) and compares:
 *
 *   verdict  loads for "accepted", refuses otherwise
 *   cause    for a refusal, the first reject finding is the check QEMU's
 *            own error names, in the section it names
 *   words    and QEMU's first error line is one of the lines validate
 *            says the target prints
 *
 * It prints the agreement per source -> target version and, last,
 * "N passed, N failed" (one per record).
 *
 * Usage: crossload [TESTDATA [SCHEMAS]]   (defaults: testdata, schemas)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "migstream/check.h"
#include "migstream/schema.h"
#include "migstream/stream.h"

#define VERSIONS 3
static const char *const versions[VERSIONS] = { "5.2", "7.2", "10.0" };

struct cell {
	unsigned records, accepted, rejected, nomachine;
	unsigned verdict_ok, cause_ok, words_ok;
};

static int vindex(const char *v)
{
	for (int i = 0; i < VERSIONS; i++)
		if (v && !strcmp(v, versions[i]))
			return i;
	return -1;
}

/* What QEMU's output names: the check ids it fits and the section. */
struct expect {
	const char *checks[4];
	char section[256];
	char line[512];		/* QEMU's first error line, no prefix */
};

static const char *strip(const char *l)
{
	static const char pfx[] = "qemu-system-x86_64: ";

	return strncmp(l, pfx, sizeof(pfx) - 1) ? l : l + sizeof(pfx) - 1;
}

/* The text between the first @open and the next @close after it. */
static void between(const char *s, const char *open, char close, char *out,
		    size_t n)
{
	const char *p = strstr(s, open), *e;

	out[0] = '\0';
	if (!p)
		return;
	p += strlen(open);
	e = strchr(p, close);
	if (!e || (size_t)(e - p) >= n)
		return;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
}

static void expect_of(const json_t *rec, struct expect *x)
{
	const json_t *lines = json_object_get(rec, "error_lines");
	const char *qmp = json_string_value(json_object_get(rec, "qmp_error"));
	const char *l0 = json_array_size(lines)
				 ? strip(json_string_value(json_array_get(lines, 0)))
				 : "";
	bool enoent = false;
	size_t i;
	const json_t *l;

	memset(x, 0, sizeof(*x));
	json_array_foreach(lines, i, l)
		if (strstr(json_string_value(l), "No such file or directory"))
			enoent = true;
	if (qmp) {
		snprintf(x->line, sizeof(x->line), "%s", qmp);
		if (strstr(qmp, "capabilit") || strstr(qmp, "Invalid parameter"))
			x->checks[0] = "capability-unknown";
		return;
	}
	snprintf(x->line, sizeof(x->line), "%s", l0);
	if (strstr(l0, "unsupported machine type")) {
		x->checks[0] = "no-such-machine";
	} else if (strstr(l0, "savevm: unsupported version")) {
		x->checks[0] = "section-version";
		between(l0, " for '", '\'', x->section, sizeof(x->section));
	} else if (strstr(l0, "Missing section footer for ")) {
		x->checks[0] = "field-layout";
		x->checks[1] = "footer-missing";
		x->checks[2] = "malformed";
		snprintf(x->section, sizeof(x->section), "%s",
			 l0 + strlen("Missing section footer for "));
	} else if (strstr(l0, "error while loading state for instance") && enoent) {
		x->checks[0] = "unknown-subsection";
		between(l0, "of device '", '\'', x->section, sizeof(x->section));
	} else if (strstr(l0, "Read section footer failed")) {
		x->checks[0] = "truncated";
	} else if (strstr(l0, "Unknown savevm section or instance")) {
		x->checks[0] = "unknown-section";
		between(l0, "instance '", '\'', x->section, sizeof(x->section));
	} else if (strstr(l0, "MIG_CMD")) {
		x->checks[0] = "unknown-command";
	} else if (strstr(l0, "Configuration section missing")) {
		x->checks[0] = "configuration-missing";
	}
}

/* The sidecar of stream @path (NAME.mig or NAME.mig.gz -> NAME.json). */
static json_t *sidecar(const char *path)
{
	char side[4096];
	const char *dot = strstr(path, ".mig");
	json_error_t je;

	if (!dot)
		return NULL;
	snprintf(side, sizeof(side), "%.*s.json", (int)(dot - path), path);
	return json_load_file(side, 0, &je);
}

/* Runs validate for one record; fills @verdict, @check, @section, @words. */
static int run(const char *path, const json_t *side, const struct mig_schema *t,
	       const struct mig_schema *const *all, size_t nall,
	       struct mig_report **out)
{
	struct mig_parse_opts popts = { 0 };
	struct mig_validate_opts o;
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	struct mig_error err, perr;
	const json_t *g;
	const char *mopts = json_string_value(json_object_get(side, "machine_opts"));
	size_t i;
	int pret, ret;

	mig_validate_opts_init(&o);
	o.machine = json_string_value(json_object_get(side, "machine"));
	if (mopts && strstr(mopts, "suppress-vmdesc=on"))
		o.vmdesc = 0;
	json_array_foreach(json_object_get(side, "globals"), i, g) {
		const char *v = json_string_value(g);

		if (!strcmp(v, "migration.send-section-footer=off"))
			o.footers = 0;
		else if (!strcmp(v, "migration.send-configuration=off"))
			o.configuration = 0;
	}
	mig_error_clear(&err);
	ret = mig_reader_open(&r, path, &err);
	if (!ret && !mig_rd_seekable(r))
		ret = mig_rd_make_seekable(r, &err);
	if (ret) {
		fprintf(stderr, "%s: %s\n", path, err.msg);
		mig_reader_free(r);
		return ret;
	}
	mig_error_clear(&perr);
	/* As the command reads it: the schemas at hand describe device
	 * sections the stream's vmdesc does not. */
	popts.schemas = all;
	popts.nschemas = nall;
	pret = mig_stream_read(r, &popts, &s, &perr);
	ret = s ? mig_validate(r, s, pret, &perr, t, &o, out, &err) : pret;
	if (ret)
		fprintf(stderr, "%s: %s\n", path, s ? err.msg : perr.msg);
	mig_stream_free(s);
	mig_reader_free(r);
	return ret;
}

int main(int argc, char **argv)
{
	const char *td = argc > 1 ? argv[1] : "testdata";
	const char *sd = argc > 2 ? argv[2] : "schemas";
	struct mig_schema *schemas[VERSIONS] = { NULL };
	struct cell cells[VERSIONS][VERSIONS];
	char path[4096];
	json_t *root, *recs, *rec;
	json_error_t je;
	unsigned passed = 0, failed = 0;
	size_t i;

	memset(cells, 0, sizeof(cells));
	snprintf(path, sizeof(path), "%s/crossload.json", td);
	root = json_load_file(path, 0, &je);
	if (!root) {
		fprintf(stderr, "crossload: %s: %s\n", path, je.text);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	for (int v = 0; v < VERSIONS; v++) {
		char name[32];
		struct mig_error err;

		snprintf(name, sizeof(name), "qemu-%s", versions[v]);
		mig_error_clear(&err);
		if (mig_schema_open(name, NULL, &sd, 1, &schemas[v], &err)) {
			fprintf(stderr, "crossload: %s\n", err.msg);
			printf("0 passed, 1 failed\n");
			return 1;
		}
	}
	recs = json_object_get(root, "results");
	json_array_foreach(recs, i, rec) {
		const char *result = json_string_value(json_object_get(rec, "result"));
		const char *stream = json_string_value(json_object_get(rec, "stream"));
		const char *sv = json_string_value(json_object_get(rec, "source_version"));
		const char *tv = json_string_value(json_object_get(rec, "target"));
		int si = vindex(sv), ti = vindex(tv);
		const char *base = strrchr(stream, '/');
		struct mig_report *rep = NULL;
		struct expect x;
		struct cell *c;
		bool want_loads, verdict_ok, cause_ok = true, words_ok = true;
		json_t *side;

		if (!result || (strcmp(result, "accepted") &&
				strcmp(result, "rejected") &&
				strcmp(result, "no such machine")))
			continue;
		if (si < 0 || ti < 0)
			continue;
		c = &cells[si][ti];
		c->records++;
		want_loads = !strcmp(result, "accepted");
		c->accepted += want_loads;
		c->rejected += !strcmp(result, "rejected");
		c->nomachine += !strcmp(result, "no such machine");
		snprintf(path, sizeof(path), "%s/streams/qemu-%s/%s", td, sv,
			 base ? base + 1 : stream);
		side = sidecar(path);
		if (!side || run(path, side, schemas[ti],
				 (const struct mig_schema *const *)schemas,
				 VERSIONS, &rep)) {
			printf("FAIL %s -> %s: cannot validate\n", path, tv);
			json_decref(side);
			failed++;
			continue;
		}
		verdict_ok = rep->loads == want_loads;
		memset(&x, 0, sizeof(x));
		if (!want_loads)
			expect_of(rec, &x);
		if (!want_loads && rep->first) {
			cause_ok = false;
			for (int k = 0; k < 4 && x.checks[k]; k++)
				if (!strcmp(x.checks[k], rep->first->check->id))
					cause_ok = true;
			if (x.section[0] &&
			    (!rep->first->section ||
			     strcmp(x.section, rep->first->section)))
				cause_ok = false;
			words_ok = false;
			for (size_t k = 0; k < rep->first->nqemu; k++)
				if (!strcmp(rep->first->qemu[k], x.line))
					words_ok = true;
		}
		c->verdict_ok += verdict_ok;
		if (!want_loads) {
			c->cause_ok += verdict_ok && cause_ok;
			c->words_ok += verdict_ok && words_ok;
		}
		if (verdict_ok && cause_ok && words_ok) {
			passed++;
		} else {
			failed++;
			printf("FAIL %s -> qemu-%s: QEMU %s, validate says %s",
			       base ? base + 1 : stream, tv, result,
			       rep->loads ? "loads" : "refuses");
			if (rep->first)
				printf(" (%s%s%s: %s)", rep->first->check->id,
				       rep->first->section ? " in " : "",
				       rep->first->section ? rep->first->section : "",
				       rep->first->nqemu ? rep->first->qemu[0] : "");
			if (!want_loads)
				printf("; QEMU said: %s", x.line);
			printf("\n");
		}
		mig_report_free(rep);
		json_decref(side);
	}

	printf("\nagreement of validate with real loads (testdata/crossload.json)\n");
	printf("%-14s %7s %8s %8s %10s %8s %6s %6s\n", "source->target",
	       "records", "accepted", "rejected", "no-machine", "verdict",
	       "cause", "words");
	for (int s = 0; s < VERSIONS; s++)
		for (int t = 0; t < VERSIONS; t++) {
			struct cell *c = &cells[s][t];
			char st[32];
			unsigned refused = c->rejected + c->nomachine;

			if (!c->records)
				continue;
			snprintf(st, sizeof(st), "%s->%s", versions[s], versions[t]);
			printf("%-14s %7u %8u %8u %10u %7u%% %3u/%-2u %3u/%-2u\n", st,
			       c->records, c->accepted, c->rejected, c->nomachine,
			       100 * c->verdict_ok / c->records, c->cause_ok,
			       refused, c->words_ok, refused);
		}
	for (int v = 0; v < VERSIONS; v++)
		mig_schema_free(schemas[v]);
	json_decref(root);
	printf("\n%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
