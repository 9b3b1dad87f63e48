/*
 * Pacing the boots. When a class starts at once, every container booting
 * at the same moment shares the CPUs until all finish together; a few at
 * a time finish one after another, so most students are ready sooner and
 * the last no later. A start holds its quota, GPUs and ports from its
 * request (pacing never changes who gets what); only its boot (create,
 * start, readiness) waits, in order of arrival, for a slot.
 *
 * The number of slots adapts per template between min_booting and
 * max_booting: it starts at twice the CPUs and grows by one when a boot
 * that ran beside a full set of others still finished within
 * BOOT_STRETCH_OK times the template's fast boot time, and shrinks by one
 * when a boot took more than BOOT_STRETCH_BAD times it. The signal is the
 * stretch of a boot over the template's own uncontended boot: CPU-bound
 * boots stretch once more boot than there are CPUs, image reads and CUDA
 * initialisation stretch when the disk or the GPUs are the bottleneck,
 * and each template learns its own limit.
 */
#ifndef WSD_BOOT_H
#define WSD_BOOT_H

#include <stdint.h>
#include <sys/queue.h>

#include <uv.h>

#define BOOT_STRETCH_OK 1.5
#define BOOT_STRETCH_BAD 2.5

struct boot_ticket {
	void (*go)(struct boot_ticket *t); /* it may boot now */
	int tmpl;                          /* the template's index */
	int state;                         /* 0 none, 1 pending, 2 booting */
	int beside;                        /* boots of its template running when it began */
	uint64_t began_ms;
	uint64_t seq; /* its place in the order of arrival (set by the caller); 0: last */
	TAILQ_ENTRY(boot_ticket) link;
};

struct boot_stats {
	int booting, pending;
	int limit; /* the sum of the templates' limits now */
	int min, max;
	int off; /* pacing switched off (max_booting = unlimited) */
};

/*
 * min/max from wsd.conf; max 0: automatic (4 per CPU, at least 4); max
 * unlimited (-1): no pacing at all. moved runs after pending tickets were admitted
 * (the others' positions changed).
 */
void boot_init(uv_loop_t *loop, int ntemplates, int host_cpus, int64_t min, int64_t max,
               void (*moved)(void));
void boot_shutdown(void);
/* Ask for a slot: go runs now (inside this call) when one is free, else later, in order. */
void boot_request(struct boot_ticket *t);
/* A booting one is ready (ok) or gave up; a pending one is cancelled. Frees its slot. */
void boot_done(struct boot_ticket *t, int ok);
/*
 * Where a pending ticket stands: how many wait before it, and an estimate
 * of the seconds until it boots (-1: none yet).
 */
void boot_position(const struct boot_ticket *t, int *ahead, double *eta_s);
void boot_stats(struct boot_stats *s);
/* The template's current limit and its fast boot time (0: not seen yet). */
int boot_limit(int tmpl, double *fast_s);

#endif
