/* SPDX-License-Identifier: MIT */
/*
 * tests/validate/damage.c - make a real stream wrong in one known way, for
 * the tests that check `validate` predicts what QEMU does with it.
 *
 * Usage: damage IN OUT OP [ARG]...
 *
 *   version SECTION          raise the version of FULL section SECTION by one
 *   rename SECTION NAME      give SECTION another id string (same length)
 *   subsection SECTION NAME  append subsection NAME (version 1, no fields)
 *                            to SECTION's data
 *   virtio-subsection SECTION NAME
 *                            insert subsection NAME (version 1, no fields)
 *                            at the end of SECTION's opaque virtio state
 *   footer SECTION           change the id in SECTION's footer
 *   truncate SECTION         cut the stream in the middle of SECTION's data
 *   machine NAME             put NAME in the configuration record
 *   ram-flush                insert a multifd flush record (flag 0x200)
 *                            before the end of the RAM section's last chunk
 *   command ID               insert command ID (no arguments) before the
 *                            RAM section's END chunk
 *
 * The stream's byte framing has no absolute offsets, so bytes can be
 * inserted.  Ops that change a device section's id string, version or data
 * drop the vmdesc trailer (its description would no longer match, and QEMU
 * never reads it); the stream then ends at its EOF record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migstream/stream.h"

static unsigned char *in;
static size_t inlen;

static int die(const char *msg)
{
	fprintf(stderr, "damage: %s\n", msg);
	return 2;
}

static const struct mig_record *full(const struct mig_stream *s,
				     const char *name)
{
	for (const struct mig_record *r = s->records; r; r = r->next)
		if ((r->type == MIG_REC_FULL || r->type == MIG_REC_START) &&
		    r->name && !strcmp(r->name, name))
			return r;
	return NULL;
}

/* Writes in[0, a) + ins + in[b, end) to @path, cutting at @cut if set. */
static int splice_out(const char *path, size_t a, const void *ins, size_t n,
		      size_t b, size_t end)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return die("cannot create the output");
	if (fwrite(in, 1, a, f) != a || (n && fwrite(ins, 1, n, f) != n) ||
	    fwrite(in + b, 1, end - b, f) != end - b || fclose(f))
		return die("cannot write the output");
	return 0;
}

/* The virtio field's end in section @r: the end of its only field. */
static const struct mig_node *virtio_field(const struct mig_node *n)
{
	for (; n; n = n->next) {
		const struct mig_node *hit;

		if (n->type && !strcmp(n->type, "virtio"))
			return n;
		if ((hit = virtio_field(n->child)))
			return hit;
	}
	return NULL;
}

static size_t subsection_header(unsigned char *buf, const char *name)
{
	size_t l = strlen(name);

	buf[0] = 0x05;
	buf[1] = (unsigned char)l;
	memcpy(buf + 2, name, l);
	memcpy(buf + 2 + l, "\0\0\0\1", 4);
	return 6 + l;
}

int main(int argc, char **argv)
{
	struct mig_reader *r = NULL;
	struct mig_stream *s = NULL;
	struct mig_error err;
	const struct mig_record *rec;
	const char *op;
	size_t body;
	unsigned char buf[512];
	FILE *f;
	long len;
	int ret;

	if (argc < 4)
		return die("usage: damage IN OUT OP [ARG]...");
	op = argv[3];
	f = fopen(argv[1], "rb");
	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET))
		return die("cannot read the input");
	inlen = (size_t)len;
	in = malloc(inlen ? inlen : 1);
	if (!in || fread(in, 1, inlen, f) != inlen)
		return die("cannot read the input");
	fclose(f);
	mig_error_clear(&err);
	if (mig_reader_from_mem(&r, in, inlen, argv[1], &err) ||
	    mig_stream_read(r, NULL, &s, &err))
		return die(err.msg);
	/* Everything before the vmdesc trailer (the EOF byte included). */
	body = s->has_vmdesc ? s->vmdesc_offset : inlen;

	if (!strcmp(op, "version") && argc == 5) {
		unsigned char *p;

		rec = full(s, argv[4]);
		if (!rec || rec->type != MIG_REC_FULL)
			return die("no such FULL section");
		p = in + rec->payload_offset - 4;
		p[3]++;
		ret = splice_out(argv[2], body, NULL, 0, body, body);
	} else if (!strcmp(op, "rename") && argc == 6) {
		rec = full(s, argv[4]);
		if (!rec || strlen(argv[5]) != strlen(rec->name))
			return die("no such section, or the name's length differs");
		memcpy(in + rec->offset + 6, argv[5], strlen(argv[5]));
		ret = splice_out(argv[2], body, NULL, 0, body, body);
	} else if (!strcmp(op, "subsection") && argc == 6) {
		size_t at, n;

		rec = full(s, argv[4]);
		if (!rec)
			return die("no such section");
		at = rec->payload_offset + rec->payload_size;
		n = subsection_header(buf, argv[5]);
		ret = splice_out(argv[2], at, buf, n, at, body);
	} else if (!strcmp(op, "virtio-subsection") && argc == 6) {
		const struct mig_node *v;
		size_t at, n;

		rec = full(s, argv[4]);
		v = rec ? virtio_field(rec->tree) : NULL;
		if (!v)
			return die("no such section with a virtio field");
		at = v->offset + v->size;
		n = subsection_header(buf, argv[5]);
		ret = splice_out(argv[2], at, buf, n, at, body);
	} else if (!strcmp(op, "footer") && argc == 5) {
		rec = full(s, argv[4]);
		if (!rec || !rec->has_footer)
			return die("no such section with a footer");
		in[rec->payload_offset + rec->payload_size + 4] ^= 0x40;
		ret = splice_out(argv[2], inlen, NULL, 0, inlen, inlen);
	} else if (!strcmp(op, "truncate") && argc == 5) {
		rec = full(s, argv[4]);
		if (!rec || rec->payload_size < 2)
			return die("no such section with data");
		ret = splice_out(argv[2], rec->payload_offset + rec->payload_size / 2,
				 NULL, 0, 0, 0);
	} else if (!strcmp(op, "machine") && argc == 5) {
		size_t l = strlen(argv[4]), old;

		if (!s->has_config || l > 255)
			return die("no configuration record");
		old = strlen(s->machine);
		buf[0] = (unsigned char)(l >> 24);
		buf[1] = (unsigned char)(l >> 16);
		buf[2] = (unsigned char)(l >> 8);
		buf[3] = (unsigned char)l;
		memcpy(buf + 4, argv[4], l);
		ret = splice_out(argv[2], s->config_offset + 1, buf, 4 + l,
				 s->config_offset + 5 + old, inlen);
	} else if (!strcmp(op, "ram-flush") && argc == 4) {
		const struct mig_record *last = NULL;
		static const unsigned char flush[8] = { 0, 0, 0, 0, 0, 0, 0x02, 0x00 };
		size_t eos;

		for (rec = s->records; rec; rec = rec->next)
			if (rec->kind == MIG_SEC_RAM)
				last = rec;
		if (!last || last->payload_size < 8)
			return die("no RAM section");
		/* The chunk ends with the be64 EOS record. */
		eos = last->payload_offset + last->payload_size - 8;
		ret = splice_out(argv[2], eos, flush, sizeof(flush), eos, inlen);
	} else if (!strcmp(op, "command") && argc == 5) {
		unsigned id = (unsigned)strtoul(argv[4], NULL, 0);
		const struct mig_record *end = NULL;

		for (rec = s->records; rec; rec = rec->next)
			if (rec->kind == MIG_SEC_RAM && rec->type == MIG_REC_END)
				end = rec;
		if (!end)
			return die("no RAM END chunk");
		buf[0] = 0x08;
		buf[1] = (unsigned char)(id >> 8);
		buf[2] = (unsigned char)id;
		buf[3] = 0;
		buf[4] = 0;
		ret = splice_out(argv[2], end->offset, buf, 5, end->offset, inlen);
	} else {
		return die("unknown op or wrong arguments");
	}
	mig_stream_free(s);
	mig_reader_free(r);
	free(in);
	return ret;
}
