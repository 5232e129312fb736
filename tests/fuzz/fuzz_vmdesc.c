/* SPDX-License-Identifier: MIT */
/*
 * fuzz_vmdesc: the vmdesc JSON parser and the decoder it drives.  The
 * input is the JSON, a NUL byte, then the payload bytes (JSON text holds
 * no raw NUL, so the split is unambiguous; without a NUL there is no
 * payload).  Every device entry of the vmdesc is decoded in turn from the
 * payload, as consecutive sections of a stream are, and each decoded tree
 * is checked against the bytes it claims to cover.
 */
#include "fuzz.h"

/* Most device entries decoded per input: enough to chain a few. */
#define DEVICES_MAX 16

/* A node's bytes lie inside its parent's, its children follow in order. */
static void check_tree(const struct mig_node *n, uint64_t lo, uint64_t hi)
{
	uint64_t at;

	if (n->offset < lo || n->size > hi - n->offset)
		fuzz_fail("a node's bytes are outside its parent's");
	at = n->offset;
	for (const struct mig_node *c = n->child; c; c = c->next) {
		if (c->parent != n)
			fuzz_fail("a child does not point to its parent");
		if (c->offset < at)
			fuzz_fail("children out of order");
		check_tree(c, n->offset, n->offset + n->size);
		at = c->offset + c->size;
	}
	if ((n->vkind == MIG_VAL_BYTES || n->vkind == MIG_VAL_STRING) &&
	    n->nbytes && !n->bytes)
		fuzz_fail("a leaf claims bytes it does not hold");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t jlen = nul ? (size_t)(nul - data) : size;
	const uint8_t *payload = nul ? nul + 1 : data + size;
	size_t plen = size - jlen - (nul ? 1 : 0);
	struct mig_reader *r = NULL;
	struct mig_error err;
	uint64_t marker, json_len;
	json_t *root = NULL, *devs, *dev;
	size_t i;

	/* The trailer search runs over any bytes. */
	if (mig_vmdesc_locate(data, size, 0, &marker, &json_len) &&
	    (marker + 5 > size || json_len != size - marker - 5))
		fuzz_fail("vmdesc_locate: trailer does not end the input");

	mig_error_clear(&err);
	if (mig_vmdesc_parse(data, jlen, 0, &root, &err)) {
		fuzz_sink_error(&err);
		return 0;
	}
	if (mig_reader_from_mem(&r, payload, plen, "fuzz.mig", &err))
		goto out_put_root;
	devs = json_object_get(root, "devices");
	json_array_foreach(devs, i, dev) {
		struct mig_node *tree = NULL;
		uint64_t at = mig_rd_offset(r);
		const char *name;
		json_int_t inst;
		int ret;

		if (i >= DEVICES_MAX)
			break;
		/* Parsing checked that both exist.  The lookup finds this
		 * entry or an earlier namesake. */
		name = json_string_value(json_object_get(dev, "name"));
		inst = json_integer_value(json_object_get(dev, "instance_id"));
		if (inst >= 0 && inst <= UINT32_MAX &&
		    !mig_vmdesc_device(root, name, (uint32_t)inst))
			fuzz_fail(
				"vmdesc_device: a listed device is not found");
		(void)mig_vmdesc_is_legacy(dev);
		mig_error_clear(&err);
		ret = mig_vmdesc_decode(r, dev, "section 'fuzz' (id 1)", &tree,
					&err);
		if (!tree)
			fuzz_fail("vmdesc_decode: no tree");
		if (tree->offset != at)
			fuzz_fail(
				"vmdesc_decode: tree does not start at the cursor");
		/* After an error inner sizes are unset: check success only. */
		if (!ret && tree->offset + tree->size != mig_rd_offset(r))
			fuzz_fail(
				"vmdesc_decode: tree does not end at the cursor");
		if (!ret)
			check_tree(tree, at, mig_rd_offset(r));
		(void)mig_node_count(tree);
		mig_node_free(tree);
		if (ret) {
			fuzz_sink_error(&err);
			break;
		}
	}
	mig_reader_free(r);
out_put_root:
	json_decref(root);
	return 0;
}
