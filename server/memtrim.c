#include "memtrim.h"

#include <malloc.h>

static uv_timer_t trim;
static int active;

static void
memtrim_now(uv_timer_t *t)
{
	(void)t;
	malloc_trim(0);
}

void
memtrim_init(uv_loop_t *loop)
{
	uv_timer_init(loop, &trim);
	uv_unref((uv_handle_t *)&trim); /* never what keeps the loop alive */
	active = 1;
}

void
memtrim_soon(void)
{
	if (active)
		uv_timer_start(&trim, memtrim_now, 1000, 0);
}

void
memtrim_stop(void)
{
	if (active)
		uv_timer_stop(&trim);
	active = 0;
}
