/*
 * A workspace's output as lines fit to hand to its owner: cut into lines
 * however the engine's pieces fall, each line capped, the Jupyter token
 * replaced by "<token>" (whole lines are filtered, so a token split across
 * pieces is still caught), and what is not printable UTF-8 made "?".
 * Pure: no I/O, unit tested.
 */
#ifndef WSD_LOGLINES_H
#define WSD_LOGLINES_H

#include <stddef.h>

#define LOGLINE_MAX 4096      /* bytes of one line kept; the rest is cut */
#define LOGS_TAIL_DEFAULT 100 /* lines, when the request names none */
#define LOGS_TAIL_MAX 10000
#define LOGLINE_CUT " [line cut]"

typedef void logline_cb(void *arg, const char *line, size_t len);

struct loglines {
	char buf[LOGLINE_MAX + 1];
	size_t len;
	int cut;           /* the current line passed LOGLINE_MAX: drop to its end */
	const char *token; /* borrowed; NULL or "": nothing to hide */
};

void loglines_init(struct loglines *l, const char *token);
/* Feed output; each complete line (no newline) goes to out, filtered. */
void loglines_feed(struct loglines *l, const char *data, size_t len, logline_cb *out, void *arg);
/* The end: a last line without its newline goes out too. */
void loglines_flush(struct loglines *l, logline_cb *out, void *arg);

/*
 * Filter one line in place (buf has room for cap bytes, cap > len): every
 * token becomes "<token>"; with cut, a tail that could be the start of a
 * token goes and LOGLINE_CUT is added; a trailing CR goes; bytes that are
 * not printable UTF-8 become '?'. Returns the new length.
 */
size_t logline_filter(char *buf, size_t len, size_t cap, const char *token, int cut);

/*
 * The query of a logs request: "tail=N" (1..LOGS_TAIL_MAX, default
 * LOGS_TAIL_DEFAULT) and "follow=0|1", each at most once, nothing else.
 * Returns 0, or -1 with a message for the client in err.
 */
int logs_query(const char *query, int *tail, int *follow, char *err, size_t errlen);

#endif
