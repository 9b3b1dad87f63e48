/*
 * Give freed heap back to the system a second after the last of a burst
 * (a start, a stop, a reconcile, a closed connection): the heap and the
 * pool threads' arenas keep what a burst freed otherwise.
 */
#ifndef WSD_MEMTRIM_H
#define WSD_MEMTRIM_H

#include <uv.h>

void memtrim_init(uv_loop_t *loop);
/* Each call postpones the trim by a second; nothing before init or after stop. */
void memtrim_soon(void);
void memtrim_stop(void);

#endif
