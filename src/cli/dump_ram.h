/* SPDX-License-Identifier: MIT */
/*
 * dump --ram pages|hash and dump --extract DIR: the parts of `dump` that
 * follow guest RAM page by page.  Page records are spooled to a temporary
 * file and digests kept in a page image (16 bytes per guest page), and the
 * document is printed by a writer that streams them into it, so memory
 * stays bounded whatever the number of pages.
 */
#ifndef MIGSTREAM_CLI_DUMP_RAM_H
#define MIGSTREAM_CLI_DUMP_RAM_H

#include <stdio.h>

#include "cli.h"

enum dump_ram_mode {
	DUMP_RAM_SUMMARY,	/* counts only (the default) */
	DUMP_RAM_PAGES,		/* every page record, in its ram record */
	DUMP_RAM_HASH,		/* a digest per page, in each RAM block */
};

struct dump_ram {
	enum dump_ram_mode mode;
	const char *extract;	/* --extract DIR, or NULL */
	bool force;		/* --force: overwrite files in DIR */
	unsigned flags;		/* mig_dump_json() flags */
	FILE *spool;		/* DUMP_RAM_PAGES: struct spooled entries */
	struct mig_ram_image *img;
	bool made_dir;		/* DIR was made here */
	bool written;		/* DIR holds the result */
};

/* Parses a --ram argument; false for an unknown mode. */
bool dump_ram_mode(const char *arg, enum dump_ram_mode *mode);

/*
 * Gets ready to read: makes DIR (refusing files it would overwrite unless
 * --force), the spool, the page image, and sets @in's page callback.
 * Prints what went wrong; returns an exit status.
 */
int dump_ram_prepare(struct dump_ram *d, struct cli_input *in);

/*
 * After the parse (@rc its exit status): prints the document to standard
 * output, or writes DIR.  Prints what went wrong; returns an exit status.
 */
int dump_ram_output(struct dump_ram *d, struct mig_stream *s, int rc);

void dump_ram_free(struct dump_ram *d);

#endif
