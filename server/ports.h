/*
 * Host ports of the configured range, handed out two per workspace. A
 * port another program turned out to hold is kept out of circulation for
 * a while, so that the next start gets others.
 */
#ifndef WSD_PORTS_H
#define WSD_PORTS_H

void ports_init(int min, int max);
void ports_shutdown(void);
/* want in the range: mark it taken (adoption) and return it; else the first free one, or -1. */
int ports_take(int want);
/* Another program listens on p: hand it out to no start for 5 minutes. */
void ports_quarantine(int p);
void ports_free(int p);

#endif
