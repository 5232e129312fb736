/* SPDX-License-Identifier: MIT */
/*
 * The state tree: a decoded device section.  Every node keeps its name,
 * its type (the vmdesc type name), its value and where its bytes are in the
 * input, so every consumer (dump, info, validate, diff, downgrade) can print
 * paths and offsets and cut exact byte ranges.
 */
#ifndef MIGSTREAM_STATE_H
#define MIGSTREAM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mig_node_kind {
	MIG_NODE_SECTION,	/* a device section's payload */
	MIG_NODE_SUBSECTION,	/* QEMU_VM_SUBSECTION: name and version */
	MIG_NODE_FIELD,		/* one vmdesc field entry */
	MIG_NODE_ELEMENT,	/* one element of an array field */
};

enum mig_value_kind {
	MIG_VAL_NONE,		/* structs, arrays, containers */
	MIG_VAL_UINT,		/* unsigned integer in .u */
	MIG_VAL_INT,		/* signed integer in .i */
	MIG_VAL_BOOL,		/* .u is 0 or 1 (raw byte in .bytes) */
	MIG_VAL_BYTES,		/* raw bytes in .bytes (buffers, unknown) */
	MIG_VAL_STRING,		/* text in .bytes, NUL-terminated */
	MIG_VAL_NULLPTR,	/* the 0x30 marker of a NULL pointer */
};

struct mig_node {
	enum mig_node_kind kind;
	char *name;		/* field, subsection or vmsd name */
	char *type;		/* vmdesc type ("uint32", "struct", ...) */
	char *vmsd;		/* nested description name, if any */
	uint32_t version;	/* subsections and structs with a version */
	bool has_version;
	int64_t index;		/* vmdesc "index" or element index, else -1 */
	uint32_t array_len;	/* vmdesc "array_len", else 0 */
	uint64_t offset;	/* absolute input offset of the first byte */
	uint64_t size;		/* bytes on the wire, headers included */

	enum mig_value_kind vkind;
	uint64_t u;
	int64_t i;
	uint8_t *bytes;		/* raw bytes as on the wire (leaves) */
	size_t nbytes;

	struct mig_node *parent;
	struct mig_node *child;	/* first child */
	struct mig_node *last;	/* last child */
	struct mig_node *next;	/* next sibling */
	size_t nchildren;
};

/* Allocates a node with copies of @name and @type (either may be NULL). */
struct mig_node *mig_node_new(enum mig_node_kind kind, const char *name,
			      const char *type);
/* Appends @child to @parent's children. */
void mig_node_append(struct mig_node *parent, struct mig_node *child);
/* Frees @n and everything below it. */
void mig_node_free(struct mig_node *n);
/* Stores a copy of @n bytes as the node's raw bytes.  -MIG_ENOMEM. */
int mig_node_set_bytes(struct mig_node *node, const void *p, size_t n);
/* Number of nodes in the tree below and including @n. */
size_t mig_node_count(const struct mig_node *n);

#endif
