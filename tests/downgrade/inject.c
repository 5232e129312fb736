/* SPDX-License-Identifier: MIT */
/*
 * inject IN OUT SPEC... - put into a real stream what a newer QEMU would
 * send and the QEMU that wrote it does not know, for the downgrade tests:
 *
 *   sub,SECTION,NAME            a subsection after SECTION's own ones
 *   nested,SECTION,PARENT,NAME  a subsection inside subsection PARENT
 *   struct,SECTION,FIELD,NAME   a subsection at the end of struct FIELD
 *   opaque,SECTION,FIELD,NAME   a subsection at the end of the opaque
 *                               FIELD (the "virtio" state of a device)
 *   cmd,ID                      a command without arguments, before the
 *                               first device section
 *
 * (Commas: section names hold colons, "0000:00:02.0/virtio-net".)
 *
 * Every subsection is version 1 with one field, "x", a uint32 0x5a5a5a5a.
 * The vmdesc gets an entry for each (and the struct its new size), so the
 * result describes itself as QEMU would have: a loader that knows the
 * subsection reads it, one that does not refuses it.
 *
 * Exit 0 written, 1 a SPEC names nothing in IN, 2 usage or I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migstream/migstream.h"

#define INS_MAX 16

struct ins {
	uint64_t off;
	uint8_t buf[300];
	size_t len;
};

static struct ins ins[INS_MAX];
static size_t nins;

static struct ins *add(uint64_t off)
{
	if (nins == INS_MAX) {
		fprintf(stderr, "inject: too many SPECs\n");
		exit(2);
	}
	ins[nins].off = off;
	ins[nins].len = 0;
	return &ins[nins++];
}

static void put(struct ins *in, const void *p, size_t n)
{
	memcpy(in->buf + in->len, p, n);
	in->len += n;
}

static void put_be32(struct ins *in, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	put(in, b, 4);
}

/* The bytes of an injected subsection: header, then x. */
static size_t put_sub(struct ins *in, const char *name)
{
	uint8_t h[2] = { MIG_REC_SUBSECTION, (uint8_t)strlen(name) };

	put(in, h, 2);
	put(in, name, strlen(name));
	put_be32(in, 1);
	put_be32(in, 0x5a5a5a5a);
	return 2 + strlen(name) + 8;
}

/* Its vmdesc entry. */
static json_t *sub_desc(const char *name)
{
	return json_pack("{s:s, s:i, s:[{s:s, s:s, s:i}]}", "vmsd_name", name,
			 "version", 1, "fields", "name", "x", "type", "uint32",
			 "size", 4);
}

static void append_sub(json_t *desc, const char *name)
{
	json_t *subs = json_object_get(desc, "subsections");

	if (!subs) {
		subs = json_array();
		json_object_set_new(desc, "subsections", subs);
	}
	json_array_append_new(subs, sub_desc(name));
}

static const struct mig_record *find_section(const struct mig_stream *s,
					     const char *name)
{
	for (const struct mig_record *r = s->records; r; r = r->next)
		if (r->type == MIG_REC_FULL && r->name && !strcmp(r->name, name) &&
		    r->tree)
			return r;
	return NULL;
}

static const struct mig_node *child(const struct mig_node *n,
				    enum mig_node_kind kind, const char *name)
{
	for (const struct mig_node *c = n->child; c; c = c->next)
		if (c->kind == kind && c->name && !strcmp(c->name, name))
			return c;
	return NULL;
}

static json_t *desc_entry(json_t *desc, const char *key, const char *field,
			  const char *name)
{
	json_t *arr = json_object_get(desc, key), *e;
	size_t i;

	json_array_foreach(arr, i, e)
		if (json_is_string(json_object_get(e, field)) &&
		    !strcmp(json_string_value(json_object_get(e, field)), name))
			return e;
	return NULL;
}

static int cmp_ins(const void *a, const void *b)
{
	const struct ins *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

int main(int argc, char **argv)
{
	struct mig_reader *r;
	struct mig_stream *s;
	struct mig_error err;
	const uint8_t *p;
	json_t *vd;
	char *text, msg[1024];
	uint64_t pos = 0, end;
	size_t len;
	FILE *out;

	if (argc < 4) {
		fprintf(stderr, "usage: inject IN OUT SPEC...\n");
		return 2;
	}
	if (mig_reader_open(&r, argv[1], &err) ||
	    mig_stream_read(r, NULL, &s, &err)) {
		fprintf(stderr, "inject: %s\n",
			mig_error_format(&err, argv[1], msg, sizeof(msg)));
		return 2;
	}
	if (!s->has_vmdesc) {
		fprintf(stderr, "inject: %s has no vmdesc\n", argv[1]);
		return 2;
	}
	vd = json_deep_copy(s->vmdesc);
	for (int i = 3; i < argc; i++) {
		char *spec = strdup(argv[i]), *f[5] = { 0 };
		int n = 0;

		for (char *t = strtok(spec, ","); t && n < 5; t = strtok(NULL, ","))
			f[n++] = t;
		if (n == 2 && !strcmp(f[0], "cmd")) {
			const struct mig_record *first = NULL;
			uint8_t c[5] = { MIG_REC_COMMAND, 0, (uint8_t)atoi(f[1]),
					 0, 0 };

			for (const struct mig_record *x = s->records; x && !first;
			     x = x->next)
				if (x->type == MIG_REC_FULL)
					first = x;
			put(add(first->offset), c, 5);
		} else if (n == 3 && !strcmp(f[0], "sub")) {
			const struct mig_record *rec = find_section(s, f[1]);

			if (!rec)
				goto out_missing;
			put_sub(add(rec->payload_offset + rec->payload_size),
				f[2]);
			append_sub(mig_vmdesc_device(vd, rec->name, rec->instance),
				   f[2]);
		} else if (n == 4 && !strcmp(f[0], "nested")) {
			const struct mig_record *rec = find_section(s, f[1]);
			const struct mig_node *par = rec ? child(rec->tree,
						MIG_NODE_SUBSECTION, f[2]) : NULL;
			json_t *pd;

			if (!par)
				goto out_missing;
			put_sub(add(par->offset + par->size), f[3]);
			pd = desc_entry(mig_vmdesc_device(vd, rec->name,
							  rec->instance),
					"subsections", "vmsd_name", f[2]);
			append_sub(pd, f[3]);
		} else if (n == 4 && !strcmp(f[0], "struct")) {
			const struct mig_record *rec = find_section(s, f[1]);
			const struct mig_node *fld = rec ? child(rec->tree,
						MIG_NODE_FIELD, f[2]) : NULL;
			json_t *fd;
			size_t k;

			if (!fld)
				goto out_missing;
			k = put_sub(add(fld->offset + fld->size), f[3]);
			fd = desc_entry(mig_vmdesc_device(vd, rec->name,
							  rec->instance),
					"fields", "name", f[2]);
			append_sub(json_object_get(fd, "struct"), f[3]);
			json_object_set_new(fd, "size",
					    json_integer(json_integer_value(
						    json_object_get(fd, "size")) +
							 (json_int_t)k));
		} else if (n == 4 && !strcmp(f[0], "opaque")) {
			const struct mig_record *rec = find_section(s, f[1]);
			const struct mig_node *fld = rec ? child(rec->tree,
						MIG_NODE_FIELD, f[2]) : NULL;
			json_t *fd;
			size_t k;

			if (!fld || fld->child)
				goto out_missing;
			k = put_sub(add(fld->offset + fld->size), f[3]);
			fd = desc_entry(mig_vmdesc_device(vd, rec->name,
							  rec->instance),
					"fields", "name", f[2]);
			json_object_set_new(fd, "size",
					    json_integer(json_integer_value(
						    json_object_get(fd, "size")) +
							 (json_int_t)k));
		} else {
			fprintf(stderr, "inject: bad SPEC '%s'\n", argv[i]);
			return 2;
		}
		free(spec);
		continue;
out_missing:
		fprintf(stderr, "inject: %s: not in %s\n", argv[i], argv[1]);
		return 1;
	}
	qsort(ins, nins, sizeof(ins[0]), cmp_ins);
	/* QEMU's own separators: ", " and ": " on one line. */
	text = json_dumps(vd, JSON_PRESERVE_ORDER);
	out = fopen(argv[2], "wb");
	if (!out || !text) {
		fprintf(stderr, "inject: cannot write %s\n", argv[2]);
		return 2;
	}
	end = s->vmdesc_offset + 1;
	mig_rd_seek(r, 0, &err);
	mig_rd_peek(r, (size_t)end, &p, &err);
	for (size_t i = 0; i <= nins; i++) {
		uint64_t to = i < nins ? ins[i].off : end;

		fwrite(p + pos, 1, (size_t)(to - pos), out);
		if (i < nins)
			fwrite(ins[i].buf, 1, ins[i].len, out);
		pos = to;
	}
	len = strlen(text);
	{
		uint8_t be[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16),
				  (uint8_t)(len >> 8), (uint8_t)len };

		fwrite(be, 1, 4, out);
	}
	fwrite(text, 1, len, out);
	if (fclose(out)) {
		fprintf(stderr, "inject: cannot write %s\n", argv[2]);
		return 2;
	}
	free(text);
	json_decref(vd);
	mig_stream_free(s);
	mig_reader_free(r);
	return 0;
}
