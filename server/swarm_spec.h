/*
 * Swarm mode: the create body of a workspace's service, made from
 * today's container body (spec.c) with every setting a service can carry:
 * user, env, labels, mounts, CapDrop ALL, init, memory, CPUs, pids,
 * ulimits, log options, /dev/shm as a sized tmpfs, the ports in host mode
 * on the ports network, restart condition none, one replica, placed on
 * node.id== the node wsd chose. Pure, unit-tested (test_spec.c).
 */
#ifndef WSD_SWARM_SPEC_H
#define WSD_SWARM_SPEC_H

#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "spec.h"

/* "wslab-ID". */
void swarm_service_name(const char *ws_id, char *buf, size_t len);

/*
 * The body of POST /services/create; image_id: the template's image as
 * the manager has it; privileges: the manager speaks API 1.44 (Engine 25),
 * so the service carries no-new-privileges itself. NULL when spec_build
 * refuses in.
 */
json_t *swarm_service_spec(const struct spec_in *in, const char *image_id, const struct config *cfg,
                           int privileges);

#endif
