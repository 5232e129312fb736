/* SPDX-License-Identifier: MIT */
/*
 * fuzz_rewrite: the writers on a fuzzed stream.
 *
 *   1. `dump --lossless` then `encode`: the document is serialised and
 *      parsed again, as it travels between the two commands, and encoding
 *      it must give back the input byte for byte, complete or not
 *      (migstream/encode.h promises both).
 *   2. `set`: a few leaves of the decoded sections are named by their
 *      canonical path, resolved again and given a new value; the patched
 *      copy must keep the input's length.
 */
#include "migstream/encode.h"
#include "fuzz.h"

/* Leaves tried by `set` per input. */
#define SET_MAX 4

static void roundtrip(const uint8_t *data, size_t size)
{
	struct mig_lossless_opts lo = { 0 };
	struct mig_reader *r = NULL;
	struct mig_writer *w = NULL;
	struct mig_error err;
	json_t *doc = NULL, *again;
	json_error_t jerr;
	const uint8_t *out;
	char *text;
	size_t len;
	int ret;

	mig_error_clear(&err);
	if (mig_reader_from_mem(&r, data, size, "fuzz.mig", &err))
		return;
	ret = mig_lossless_dump(r, &lo, &doc, &err);
	mig_reader_free(r);
	if (ret)
		fuzz_sink_error(&err);
	if (!doc)
		return;
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!text)
		return;
	again = json_loads(text, 0, &jerr);
	free(text);
	if (!again)
		fuzz_fail("lossless: the document does not parse back");
	mig_error_clear(&err);
	if (mig_writer_mem(&w, &err))
		goto out_put_doc;
	ret = mig_encode(again, NULL, w, &err);
	if (ret == -MIG_ENOMEM)
		goto out_abort;
	if (ret) {
		char msg[MIG_PATH_MAX + MIG_MSG_MAX + 64];

		fprintf(stderr, "%s\n",
			mig_error_format(&err, NULL, msg, sizeof(msg)));
		fuzz_fail("lossless: encode refuses the document of dump");
	}
	out = mig_writer_mem_data(w, &len);
	if (len != size || memcmp(out, data, size))
		fuzz_fail("lossless: encode does not give the input back");
out_abort:
	mig_writer_abort(w);
out_put_doc:
	json_decref(again);
}

/* Up to SET_MAX fixed-size leaves of @s, depth first. */
static size_t pick_leaves(const struct mig_node *n,
			  const struct mig_record *rec,
			  const struct mig_record **recs,
			  const struct mig_node **nodes, size_t k)
{
	for (; n && k < SET_MAX; n = n->next) {
		if (n->child) {
			k = pick_leaves(n->child, rec, recs, nodes, k);
			continue;
		}
		if (n->vkind == MIG_VAL_UINT || n->vkind == MIG_VAL_INT ||
		    n->vkind == MIG_VAL_BOOL || n->vkind == MIG_VAL_BYTES) {
			recs[k] = rec;
			nodes[k++] = n;
		}
	}
	return k;
}

static void set_fields(const uint8_t *data, size_t size)
{
	const struct mig_record *recs[SET_MAX];
	const struct mig_node *nodes[SET_MAX];
	struct mig_patch patches[SET_MAX];
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	struct mig_writer *w = NULL;
	struct mig_error err;
	size_t k = 0, np = 0;

	mig_error_clear(&err);
	if (mig_reader_from_mem(&r, data, size, "fuzz.mig", &err))
		return;
	if (mig_stream_read(r, NULL, &s, &err))
		goto out_free_stream;
	for (const struct mig_record *rec = s->records; rec && k < SET_MAX;
	     rec = rec->next)
		if (rec->tree)
			k = pick_leaves(rec->tree->child, rec, recs, nodes, k);
	for (size_t i = 0; i < k; i++) {
		const struct mig_record *rrec;
		const struct mig_node *rnode;
		const struct mig_node *n = nodes[i];
		char path[1024], hex[2 + 2 * 64 + 1];
		const char *value;
		bool dup;

		mig_path_format(s, recs[i], n, path, sizeof(path));
		mig_error_clear(&err);
		if (mig_path_resolve(s, path, &rrec, &rnode, &err)) {
			fuzz_sink_error(&err);
			continue;
		}
		if (n->vkind == MIG_VAL_BOOL)
			value = "true";
		else if (n->vkind == MIG_VAL_BYTES && n->nbytes <= 64) {
			memcpy(hex, "0x", 2);
			for (size_t b = 0; b < n->nbytes; b++)
				memcpy(hex + 2 + 2 * b, "a5", 2);
			hex[2 + 2 * n->nbytes] = '\0';
			value = hex;
		} else if (n->vkind == MIG_VAL_BYTES)
			value = "0x00";
		else
			value = i & 1 ? "0x1" : "-1";
		mig_error_clear(&err);
		if (mig_set_prepare(rnode, value, &patches[np], &err)) {
			fuzz_sink_error(&err);
			continue;
		}
		/* Patches must not overlap: keep one per offset. */
		dup = false;
		for (size_t j = 0; j < np; j++)
			dup = dup || patches[j].offset == patches[np].offset;
		if (dup)
			mig_patch_release(&patches[np]);
		else
			np++;
	}
	mig_error_clear(&err);
	if (np && !mig_writer_mem(&w, &err)) {
		if (!mig_set_write(r, 0, patches, np, w, &err)) {
			size_t len;

			mig_writer_mem_data(w, &len);
			if (len != size)
				fuzz_fail("set: the output has another length");
		} else {
			fuzz_sink_error(&err);
		}
		mig_writer_abort(w);
	}
	for (size_t j = 0; j < np; j++)
		mig_patch_release(&patches[j]);
out_free_stream:
	mig_stream_free(s);
	mig_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	roundtrip(data, size);
	set_fields(data, size);
	return 0;
}
