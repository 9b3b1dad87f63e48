/*
 * Host ports of the configured range, handed out two per workspace. Any
 * user of the host can listen on a port of the range, so a port is
 * handed out only after a bind test on the publish address says it is
 * free; one found taken (by the test, or by the engine at start) is kept
 * out of circulation for a while, so that starts get others.
 */
#ifndef WSD_PORTS_H
#define WSD_PORTS_H

/* addr: the numeric address ports are published on ("127.0.0.1", "::", ...). */
void ports_init(int min, int max, const char *addr);
void ports_shutdown(void);
/*
 * want in the range: mark it taken (adoption) and return it. 0: the first
 * port that no workspace holds and that a bind test finds free, or -1.
 */
int ports_take(int want);
/* Another program listens on p: hand it out to no start for 5 minutes. */
void ports_quarantine(int p);
void ports_free(int p);

#endif
