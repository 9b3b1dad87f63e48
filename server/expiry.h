/*
 * Running workspaces that reach their limits: the end of their lifetime
 * (wslab.expires, checked every second) and their owner's weekly
 * GPU-hours (checked every GPU_HOURS_CHECK_S). Both stop the workspace
 * through the usual path (home kept), audited as "expire" or "gpu_hours".
 */
#ifndef WSD_EXPIRY_H
#define WSD_EXPIRY_H

#include <uv.h>

#include "config.h"

void expiry_init(uv_loop_t *loop, const struct config *cfg);
void expiry_stop(void);

#endif
