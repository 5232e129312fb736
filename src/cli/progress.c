/* SPDX-License-Identifier: MIT */
/*
 * The progress line: on a terminal, a read that takes longer than a second
 * shows how far it got on standard error, rewritten in place and cleared
 * at the end.  The library calls cli_progress_update() every few MiB; the
 * clock is read only then, and the line is redrawn at most a few times a
 * second.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Seconds before the line appears, and between two redraws. */
#define PROGRESS_DELAY 1.0
#define PROGRESS_REDRAW 0.2

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human(char *buf, size_t len, uint64_t n)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = -1;

	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64 " B", n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

bool cli_progress_start(struct cli_progress *p, bool quiet)
{
	memset(p, 0, sizeof(*p));
	p->on = !quiet && isatty(STDERR_FILENO);
	if (p->on)
		p->start = now();
	return p->on;
}

void cli_progress_update(void *ctx, const struct mig_progress *m)
{
	struct cli_progress *p = ctx;
	char line[256], done[32], total[32], stream[32], rate[32];
	double t = now(), secs = t - p->start;
	size_t n;

	if (!p->on || secs < PROGRESS_DELAY ||
	    (p->shown && t - p->last < PROGRESS_REDRAW))
		return;
	p->last = t;
	human(done, sizeof(done), m->in_bytes);
	human(rate, sizeof(rate), (uint64_t)((double)m->in_bytes / secs));
	n = (size_t)snprintf(line, sizeof(line), "%s: %s", cli_prog, done);
	if (m->in_size != MIG_NO_OFFSET && m->in_size) {
		human(total, sizeof(total), m->in_size);
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      " of %s (%d%%)", total,
				      (int)(100.0 * (double)m->in_bytes /
					    (double)m->in_size));
	}
	if (m->offset != m->in_bytes && n < sizeof(line)) {
		/* Compressed: how much stream that made. */
		human(stream, sizeof(stream), m->offset);
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      ", stream %s", stream);
	}
	if (n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, ", %s/s",
				      rate);
	if (m->section && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, ", section '%s'",
			 m->section);
	/* \r back to the start, the line, then erase what is left of a
	 * longer earlier one. */
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	p->shown = true;
}

void cli_progress_end(struct cli_progress *p)
{
	if (p->shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	p->shown = false;
}
