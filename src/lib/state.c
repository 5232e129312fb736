/* SPDX-License-Identifier: MIT */
/* The state tree's nodes. */
#include <stdlib.h>
#include <string.h>

#include "migstream/error.h"
#include "migstream/state.h"

struct mig_node *mig_node_new(enum mig_node_kind kind, const char *name,
			      const char *type)
{
	struct mig_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->index = -1;
	if (name && !(n->name = strdup(name)))
		goto out_free;
	if (type && !(n->type = strdup(type)))
		goto out_free;
	return n;
out_free:
	free(n->name);
	free(n);
	return NULL;
}

void mig_node_append(struct mig_node *parent, struct mig_node *child)
{
	child->parent = parent;
	child->next = NULL;
	if (parent->last)
		parent->last->next = child;
	else
		parent->child = child;
	parent->last = child;
	parent->nchildren++;
}

void mig_node_free(struct mig_node *n)
{
	struct mig_node *k, *next;

	if (!n)
		return;
	/* Recursion depth is bounded by MIG_DEPTH_MAX levels of nesting. */
	for (k = n->child; k; k = next) {
		next = k->next;
		mig_node_free(k);
	}
	free(n->name);
	free(n->type);
	free(n->vmsd);
	free(n->bytes);
	free(n);
}

int mig_node_set_bytes(struct mig_node *node, const void *p, size_t n)
{
	uint8_t *b = malloc(n ? n : 1);

	if (!b)
		return -MIG_ENOMEM;
	if (n)
		memcpy(b, p, n);
	free(node->bytes);
	node->bytes = b;
	node->nbytes = n;
	return 0;
}

size_t mig_node_count(const struct mig_node *n)
{
	size_t c = 1;

	for (const struct mig_node *k = n->child; k; k = k->next)
		c += mig_node_count(k);
	return c;
}
