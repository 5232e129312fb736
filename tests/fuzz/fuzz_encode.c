/* SPDX-License-Identifier: MIT */
/*
 * fuzz_encode: `encode` on a fuzzed lossless JSON document (the format of
 * `dump --lossless`, migstream-encode(1)).  The document is encoded into
 * memory; bytes in a side file ("file_offset") come from a fixed 8 KiB
 * file this harness writes once.  When the encoder accepts a document,
 * what it wrote is read back as a stream, as `encode` does before it
 * commits its output.
 */
#include <unistd.h>

#include "migstream/encode.h"
#include "fuzz.h"

#define SIDE_SIZE 8192
/*
 * A run ("count") makes up to 2^32 records from a few bytes of JSON: the
 * encoder writes what the document says (to a file, for the command), so
 * this is output the document asked for, not a bug.  Longer runs are
 * skipped here so that memory stays bounded.
 */
#define RUN_MAX 4096

static char side_path[64];

static void remove_side(void)
{
	if (side_path[0])
		unlink(side_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t buf[SIDE_SIZE];
	const char *dir = getenv("TMPDIR");
	FILE *f;

	(void)argc;
	(void)argv;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 8));
	snprintf(side_path, sizeof(side_path), "%.40s/migstream-fuzz-%ld.ram",
		 dir && *dir ? dir : "/tmp", (long)getpid());
	f = fopen(side_path, "wb");
	if (!f || fwrite(buf, 1, sizeof(buf), f) != sizeof(buf) || fclose(f)) {
		perror(side_path);
		abort();
	}
	atexit(remove_side);
	return 0;
}

/* Sum of the "count" members anywhere in @j, saturating at RUN_MAX + 1. */
static uint64_t runs(const json_t *j, int depth)
{
	uint64_t n = 0;
	const char *key;
	const json_t *v;
	size_t i;

	if (depth > 4096)
		return 0;
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, key, v) {
			if (!strcmp(key, "count") && json_is_integer(v)) {
				json_int_t c = json_integer_value(v);

				n += c > RUN_MAX ? RUN_MAX + 1 :
				     c < 0	 ? 0 :
						   (uint64_t)c;
			} else {
				n += runs(v, depth + 1);
			}
			if (n > RUN_MAX)
				return n;
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v) {
			n += runs(v, depth + 1);
			if (n > RUN_MAX)
				return n;
		}
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mig_encode_opts eo = { 0 };
	struct mig_writer *w = NULL;
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	struct mig_error err;
	json_error_t jerr;
	const uint8_t *out;
	json_t *doc;
	size_t len;
	int ret;

	if (!side_path[0])
		LLVMFuzzerInitialize(NULL, NULL);
	doc = json_loadb((const char *)data, size, 0, &jerr);
	if (!doc)
		return 0;
	if (runs(doc, 0) > RUN_MAX)
		goto out_put_doc;
	mig_error_clear(&err);
	if (mig_writer_mem(&w, &err))
		goto out_put_doc;
	eo.ram_path = side_path;
	ret = mig_encode(doc, &eo, w, &err);
	if (ret) {
		fuzz_sink_error(&err);
		goto out_abort;
	}
	out = mig_writer_mem_data(w, &len);
	if (mig_reader_from_mem(&r, out, len, "encoded.mig", &err))
		goto out_abort;
	ret = mig_stream_read(r, NULL, &s, &err);
	if (ret)
		fuzz_sink_error(&err);
	if (s)
		fuzz_sink_json(mig_dump_json(s, MIG_DUMP_OFFSETS));
	mig_stream_free(s);
	mig_reader_free(r);
out_abort:
	mig_writer_abort(w);
out_put_doc:
	json_decref(doc);
	return 0;
}
