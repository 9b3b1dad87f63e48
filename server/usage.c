/*
 * Closed usage records as an unordered array; a record that left the
 * week is dropped when next scanned.
 */
#include "usage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store.h"
#include "store_ws.h"
#include "types.h"
#include "xmalloc.h"

struct usage_rec {
	char owner[UNIX_NAME_MAX + 1];
	int gpus;
	double start, stop;
};

static struct usage_rec *ledger;
static size_t nledger, capledger;

void
usage_add(const char *owner, int gpus, double start, double stop)
{
	if (gpus <= 0 || stop <= start)
		return;
	if (nledger == capledger) {
		size_t cap = capledger ? capledger * 2 : 64;
		ledger = xrealloc(ledger, cap * sizeof(*ledger));
		capledger = cap;
	}
	snprintf(ledger[nledger].owner, sizeof(ledger[nledger].owner), "%s", owner);
	ledger[nledger].gpus = gpus;
	ledger[nledger].start = start;
	ledger[nledger].stop = stop;
	nledger++;
}

double
usage_closed_seconds(const char *owner, double since, double now)
{
	double sum = 0;
	size_t i = 0;

	while (i < nledger) {
		struct usage_rec *r = &ledger[i];

		if (r->stop < now - USAGE_WEEK) { /* out of every window from now on */
			*r = ledger[--nledger];
			continue;
		}
		if (strcmp(r->owner, owner) == 0 && r->stop > since)
			sum += (r->stop - (r->start > since ? r->start : since)) * r->gpus;
		i++;
	}
	return sum;
}

int
usage_load(char *err, size_t errlen)
{
	double now = store_now();
	json_t *rows = NULL, *row;
	size_t i;

	if (store_load_usage(now - USAGE_WEEK, now, &rows, err, errlen) == -1)
		return -1;
	json_array_foreach(rows, i, row)
	{
		const char *owner = json_string_value(json_object_get(row, "owner"));

		usage_add(owner ? owner : "?",
		          (int)json_integer_value(json_object_get(row, "gpus")),
		          json_number_value(json_object_get(row, "started_at")),
		          json_number_value(json_object_get(row, "stopped_at")));
	}
	json_decref(rows);
	return 0;
}

size_t
usage_count(void)
{
	return nledger;
}

void
usage_shutdown(void)
{
	free(ledger);
	ledger = NULL;
	nledger = capledger = 0;
}

void
usage_days(json_t *rows, double day0, int ndays, double *hours)
{
	json_t *row;
	size_t k;

	for (int i = 0; i < ndays; i++)
		hours[i] = 0;
	json_array_foreach(rows, k, row)
	{
		double gpus = json_number_value(json_object_get(row, "gpus"));
		double a = json_number_value(json_object_get(row, "started_at"));
		double b = json_number_value(json_object_get(row, "stopped_at"));

		for (int i = 0; i < ndays && gpus > 0; i++) {
			double lo = day0 + 86400.0 * i, hi = lo + 86400.0;
			double from = a > lo ? a : lo, to = b < hi ? b : hi;

			if (to > from)
				hours[i] += gpus * (to - from) / 3600.0;
		}
	}
}
