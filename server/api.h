/*
 * Routes of the v1 API: one table entry per (method, path pattern), each
 * with its handler. Handlers validate first and change nothing on error.
 */
#ifndef WSD_API_H
#define WSD_API_H

#include "http.h"

void api_handle(struct request *req);
/* GET /metrics: wsd's metrics in Prometheus's text format (metrics.h). */
void api_metrics(struct request *req);
/* 1 once reconcile with the engine has succeeded: starts are served. */
extern int api_engine_ready;

#endif
