/*
 * Admin endpoints and the caller's own quota; routed from api.c, which
 * lets only admins reach the admin ones.
 */
#ifndef WSD_ADMIN_H
#define WSD_ADMIN_H

#include "http.h"

/* A path segment captured by a route pattern's "*". */
typedef char route_arg[65];

struct workspace;

void admin_list_workspaces(struct request *req, route_arg *args);
void admin_list_quotas(struct request *req, route_arg *args);
void admin_show_quota(struct request *req, route_arg *args);
void admin_set_quota(struct request *req, route_arg *args);
void admin_rm_quota(struct request *req, route_arg *args);
void admin_usage(struct request *req, route_arg *args);
void admin_audit(struct request *req, route_arg *args);
void admin_my_quota(struct request *req, route_arg *args);
void admin_my_usage(struct request *req, route_arg *args);
/* Swarm mode's nodes (admin_nodes.c). */
void admin_list_nodes(struct request *req, route_arg *args);
void admin_rm_node(struct request *req, route_arg *args);
void admin_drain_node(struct request *req, route_arg *args);
void admin_undrain_node(struct request *req, route_arg *args);
/* The workspace of owner (a user name) named key (name or id), or NULL. */
struct workspace *admin_find(const char *owner, const char *key);

#endif
