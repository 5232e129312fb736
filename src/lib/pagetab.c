/* SPDX-License-Identifier: MIT */
/* Sparse per-page tables: see pagetab.h. */
#include <stdlib.h>
#include <string.h>

#include "pagetab.h"

uint64_t *pagetab_slot(struct pagetab *t, uint64_t i)
{
	uint64_t g = i >> PAGETAB_SHIFT;

	if (g >= t->ngroups) {
		/* Pages mostly arrive in address order: grow the pointer
		 * array geometrically so that a block sent page by page
		 * does not reallocate it once per group. */
		uint64_t n = t->ngroups ? t->ngroups : 16;
		uint64_t **p;

		while (n <= g) {
			if (n > SIZE_MAX / sizeof(*p) / 2)
				return NULL;
			n *= 2;
		}
		p = realloc(t->group, (size_t)n * sizeof(*p));
		if (!p)
			return NULL;
		memset(p + t->ngroups, 0,
		       (size_t)(n - t->ngroups) * sizeof(*p));
		t->group = p;
		t->ngroups = n;
	}
	if (!t->group[g]) {
		t->group[g] = calloc(PAGETAB_GROUP, sizeof(**t->group));
		if (!t->group[g])
			return NULL;
		t->groups_used++;
	}
	return &t->group[g][i & (PAGETAB_GROUP - 1)];
}

void pagetab_free(struct pagetab *t)
{
	for (uint64_t g = 0; g < t->ngroups; g++)
		free(t->group[g]);
	free(t->group);
	memset(t, 0, sizeof(*t));
}
