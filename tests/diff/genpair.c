/* SPDX-License-Identifier: MIT */
/*
 * genpair: writes two synthetic migration streams A and B whose guest RAM
 * differs in a known set of pages, and prints what `migstream diff
 * --section ram` must report for them (its "ram" lines), computed here from
 * the final content of every page, independently of migstream.
 *
 *   genpair MIB A.mig B.mig > expected
 *
 * MIB (at least 16) is the size of the "pc.ram" block.  The streams have a
 * header, a configuration record, the RAM section (START with the block
 * list, two PARTs of page records, END), one FULL device section
 * "testdev" that no vmdesc describes, and EOF.  The RAM history exercises
 * what a differ must get right (page N = byte offset N * 4096):
 *
 *   - [256, 512)      data in A, other data in B            differ
 *   - 1000            data in A, ZERO record in B            differ
 *   - 1004            ZERO in A, a PAGE of zero bytes in B   same
 *   - 1100            B sends other data, then A's data      same (last wins)
 *   - 1201            B sends A's data, then other data      differ
 *   - 1300            A: a PAGE of 0xff bytes, B: ZERO fill 0xff   same
 *   - 1400            A: data, then ZERO; B: ZERO            same
 *   - last 16 pages   never sent in A; B sends ZERO for them,
 *                     and data for the very last one         last differs
 *   - every page N with N % 65536 == 12345: other data in B differ
 *   - every page N % 7 == 3 (others above aside): ZERO in both
 *
 * and blocks "pc.rom" (64 KiB in A, 128 KiB in B, page 3 differs), "a.only"
 * and "b.only".  Page data is a xorshift stream seeded by (page, variant),
 * so a multi-GiB pair is quick to write and needs no input files.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096u
#define F_ZERO 0x02u
#define F_MEM_SIZE 0x04u
#define F_PAGE 0x08u
#define F_EOS 0x10u
#define F_CONTINUE 0x20u

/* What a page holds at the end: 0 zero, 1 + variant data, 0x100 + fill. */
typedef uint16_t content_t;
#define C_ZERO 0
#define C_DATA(v) ((content_t)(1 + (v)))
#define C_FILL(b) ((content_t)(0x100 + (b)))

struct out {
	FILE *f;
	const char *last_block;	/* for CONTINUE */
	content_t *ram;		/* final content of pc.ram pages */
	content_t *rom;
	uint64_t nram, nrom;
};

static void be32(FILE *f, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	fwrite(b, 1, 4, f);
}

static void be64(FILE *f, uint64_t v)
{
	be32(f, (uint32_t)(v >> 32));
	be32(f, (uint32_t)v);
}

static void str8(FILE *f, const char *s)
{
	fputc((int)strlen(s), f);
	fputs(s, f);
}

static void fill_data(uint8_t *p, uint64_t page, unsigned variant)
{
	uint64_t x = page * 0x9e3779b97f4a7c15ull ^ (uint64_t)variant << 56 ^
		     0x2545f4914f6cdd1dull;

	for (unsigned i = 0; i < PAGE; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
}

/* Block id of a page record: the name, or CONTINUE for the same block. */
static uint64_t block_flags(struct out *o, const char *block)
{
	return o->last_block && !strcmp(o->last_block, block) ? F_CONTINUE : 0;
}

static void block_name(struct out *o, const char *block, uint64_t flags)
{
	if (!(flags & F_CONTINUE))
		str8(o->f, block);
	o->last_block = block;
}

static content_t *slot(struct out *o, const char *block, uint64_t page)
{
	if (!strcmp(block, "pc.ram"))
		return &o->ram[page];
	if (!strcmp(block, "pc.rom"))
		return &o->rom[page];
	return NULL;
}

static void page_data(struct out *o, const char *block, uint64_t page,
		      unsigned variant)
{
	static uint8_t buf[PAGE];
	uint64_t fl = block_flags(o, block);
	content_t *c = slot(o, block, page);

	be64(o->f, page * PAGE | F_PAGE | fl);
	block_name(o, block, fl);
	fill_data(buf, page, variant);
	fwrite(buf, 1, PAGE, o->f);
	if (c)
		*c = C_DATA(variant);
}

static void page_bytes(struct out *o, const char *block, uint64_t page,
		       uint8_t byte)
{
	static uint8_t buf[PAGE];
	uint64_t fl = block_flags(o, block);
	content_t *c = slot(o, block, page);

	be64(o->f, page * PAGE | F_PAGE | fl);
	block_name(o, block, fl);
	memset(buf, byte, PAGE);
	fwrite(buf, 1, PAGE, o->f);
	if (c)
		*c = byte ? C_FILL(byte) : C_ZERO;
}

static void page_zero(struct out *o, const char *block, uint64_t page,
		      uint8_t fill)
{
	uint64_t fl = block_flags(o, block);
	content_t *c = slot(o, block, page);

	be64(o->f, page * PAGE | F_ZERO | fl);
	block_name(o, block, fl);
	fputc(fill, o->f);
	if (c)
		*c = fill ? C_FILL(fill) : C_ZERO;
}

static void section_start(FILE *f, uint8_t type, uint32_t id,
			  const char *name, uint32_t inst, uint32_t ver)
{
	fputc(type, f);
	be32(f, id);
	if (name) {
		str8(f, name);
		be32(f, inst);
		be32(f, ver);
	}
}

static void footer(FILE *f, uint32_t id)
{
	fputc(0x7e, f);
	be32(f, id);
}

/* Writes one stream; @b selects B's history. */
static int write_stream(struct out *o, const char *path, uint64_t npages,
			int b)
{
	uint64_t rom_pages = b ? 32 : 16;
	const char *only = b ? "b.only" : "a.only";
	uint64_t total = npages * PAGE + rom_pages * PAGE + PAGE;
	static char vbuf[1 << 20];
	uint8_t payload[16];

	o->f = fopen(path, "wb");
	if (!o->f) {
		perror(path);
		return -1;
	}
	setvbuf(o->f, vbuf, _IOFBF, sizeof(vbuf));
	o->last_block = NULL;
	o->nram = npages;
	o->nrom = rom_pages;
	memset(o->ram, 0, npages * sizeof(*o->ram));
	memset(o->rom, 0, 32 * sizeof(*o->rom));

	be32(o->f, 0x5145564d);		/* QEVM */
	be32(o->f, 3);
	fputc(0x07, o->f);		/* configuration */
	be32(o->f, 13);
	fputs("pc-i440fx-5.2", o->f);

	section_start(o->f, 0x01, 2, "ram", 0, 4);
	be64(o->f, total | F_MEM_SIZE);
	str8(o->f, "pc.ram");
	be64(o->f, npages * PAGE);
	str8(o->f, "pc.rom");
	be64(o->f, rom_pages * PAGE);
	str8(o->f, only);
	be64(o->f, PAGE);
	be64(o->f, F_EOS);
	footer(o->f, 2);

	/* PART 1: the bulk pass. */
	section_start(o->f, 0x02, 2, NULL, 0, 0);
	for (uint64_t i = 0; i < npages; i++) {
		bool tail = i >= npages - 16;

		if (tail && !b)
			continue;	/* never sent in A */
		if (tail) {
			if (i == npages - 1)
				page_data(o, "pc.ram", i, 0);
			else
				page_zero(o, "pc.ram", i, 0);
		} else if (b && i >= 256 && i < 512) {
			page_data(o, "pc.ram", i, 1);
		} else if (i == 1000) {
			if (b)
				page_zero(o, "pc.ram", i, 0);
			else
				page_data(o, "pc.ram", i, 0);
		} else if (i == 1004) {
			if (b)
				page_bytes(o, "pc.ram", i, 0);
			else
				page_zero(o, "pc.ram", i, 0);
		} else if (i == 1100 && b) {
			page_data(o, "pc.ram", i, 1);
		} else if (i == 1300) {
			if (b)
				page_zero(o, "pc.ram", i, 0xff);
			else
				page_bytes(o, "pc.ram", i, 0xff);
		} else if (i == 1400 && b) {
			page_zero(o, "pc.ram", i, 0);
		} else if (b && i % 65536 == 12345) {
			page_data(o, "pc.ram", i, 3);
		} else if (i % 7 == 3) {
			page_zero(o, "pc.ram", i, 0);
		} else {
			page_data(o, "pc.ram", i, 0);
		}
	}
	for (uint64_t i = 0; i < rom_pages; i++)
		page_data(o, "pc.rom", i, b && i == 3 ? 6 : 5);
	page_data(o, only, 0, 7);
	be64(o->f, F_EOS);
	footer(o->f, 2);

	/* PART 2: pages sent again; the last record for a page wins. */
	section_start(o->f, 0x02, 2, NULL, 0, 0);
	if (b) {
		page_data(o, "pc.ram", 1100, 0);
		page_data(o, "pc.ram", 1201, 2);
	} else {
		page_zero(o, "pc.ram", 1400, 0);
	}
	be64(o->f, F_EOS);
	footer(o->f, 2);

	section_start(o->f, 0x03, 2, NULL, 0, 0);	/* END */
	be64(o->f, F_EOS);
	footer(o->f, 2);

	for (unsigned i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	if (b)
		payload[5] = 0xff;
	section_start(o->f, 0x04, 3, "testdev", 0, 1);
	fwrite(payload, 1, sizeof(payload), o->f);
	footer(o->f, 3);
	fputc(0x00, o->f);		/* EOF */

	if (fflush(o->f) || ferror(o->f) || fclose(o->f)) {
		perror(path);
		return -1;
	}
	return 0;
}

/* Prints the "ram" lines of migstream diff for one block. */
static void expect_block(const char *name, const content_t *a,
			 const content_t *b, uint64_t na, uint64_t nb)
{
	uint64_t n = na < nb ? na : nb, diff = 0, ranges = 0, start = 0;
	char lines[64][64];
	int nl = 0;

	bool in = false;

	for (uint64_t i = 0; i <= n; i++) {
		bool d = i < n && a[i] != b[i];

		if (d) {
			diff++;
			if (!in) {
				in = true;
				start = i;
			}
			continue;
		}
		if (!in)
			continue;
		in = false;
		if (nl < 64)
			snprintf(lines[nl++], sizeof(lines[0]),
				 "  0x%08" PRIx64 "-0x%08" PRIx64 "  %" PRIu64 " %s",
				 start * PAGE, i * PAGE - 1, i - start,
				 i - start == 1 ? "page" : "pages");
		ranges++;
	}
	if (!diff && na == nb)
		return;
	printf("ram %s: %" PRIu64 " of %" PRIu64 " %s %s", name, diff, n,
	       n == 1 ? "page" : "pages", diff == 1 ? "differs" : "differ");
	if (diff)
		printf(" in %" PRIu64 " %s", ranges, ranges == 1 ? "range" : "ranges");
	if (na != nb)
		printf(", length 0x%" PRIx64 " -> 0x%" PRIx64, na * PAGE, nb * PAGE);
	printf("\n");
	for (int i = 0; i < nl; i++)
		printf("%s\n", lines[i]);
}

int main(int argc, char **argv)
{
	struct out o = { 0 };
	content_t *ram_a, *rom_a;
	uint64_t mib, npages;
	char *end;

	if (argc != 4) {
		fprintf(stderr, "usage: genpair MIB A.mig B.mig > expected\n");
		return 2;
	}
	mib = strtoull(argv[1], &end, 10);
	if (*end || mib < 16 || mib > (1u << 20)) {
		fprintf(stderr, "genpair: MIB must be 16 to 1048576\n");
		return 2;
	}
	npages = mib * 256;
	ram_a = calloc(npages, sizeof(*ram_a));
	o.ram = calloc(npages, sizeof(*o.ram));
	rom_a = calloc(32, sizeof(*rom_a));
	o.rom = calloc(32, sizeof(*o.rom));
	if (!ram_a || !o.ram || !rom_a || !o.rom) {
		fprintf(stderr, "genpair: out of memory\n");
		return 2;
	}
	if (write_stream(&o, argv[2], npages, 0))
		return 1;
	memcpy(ram_a, o.ram, npages * sizeof(*o.ram));
	memcpy(rom_a, o.rom, 32 * sizeof(*o.rom));
	if (write_stream(&o, argv[3], npages, 1))
		return 1;
	expect_block("pc.ram", ram_a, o.ram, npages, npages);
	expect_block("pc.rom", rom_a, o.rom, 16, 32);
	printf("ram a.only: only in A (length 0x%x)\n", PAGE);
	printf("ram b.only: only in B (length 0x%x)\n", PAGE);
	free(ram_a);
	free(rom_a);
	free(o.ram);
	free(o.rom);
	return 0;
}
