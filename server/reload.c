/*
 * Reload. The file is read and checked on a pool thread (a slow disk or a
 * 1 MiB file must not stall the loop) into a fresh struct config; the
 * loop then moves it into the live one with config_reload_apply, which
 * keeps the restart-only keys and hands templates over by reference (a
 * workspace holds the template it started from). A SIGHUP that arrives
 * during a reload makes one more reload after it, never two at once.
 */
#include "reload.h"

#include "web.h"

#include <stdlib.h>

#include "gpu.h"
#include "log.h"
#include "nodes.h"
#include "notify.h"
#include "workspace.h"
#include "xmalloc.h"

struct reload_job {
	uv_work_t work;
	struct config next;
	char err[512];
	int ok;
};

static uv_loop_t *loop;
static struct config *live;
static const char *path;
static int required, debug;
static uv_signal_t sighup;
static int busy, again, count, closed;

void
reload_http_limits(const struct config *cfg, struct http_limits *lim)
{
	lim->max_connections = (int)cfg->max_connections;
	lim->max_connections_per_user = (int)cfg->max_connections_per_user;
	lim->max_requests_per_user = (int)cfg->max_requests_per_user;
	lim->request_timeout_ms = (int)cfg->request_timeout * 1000;
	lim->keepalive_timeout_ms = (int)cfg->keepalive_timeout * 1000;
	lim->admin_group = cfg->admin_group;
}

static void
reload_work(uv_work_t *w)
{
	struct reload_job *j = w->data;

	j->ok = config_load(&j->next, path, required, j->err, sizeof(j->err)) == 0;
}

/* Hand what changed to the parts that copied it at start. */
static void
reload_take_effect(void)
{
	struct http_limits lim;

	if (!debug)
		log_level_parse(live->log_level, &log_level);
	reload_http_limits(live, &lim);
	http_set_limits(&lim);
	web_set_config(live);
	ws_configure(live);
}

static void
reload_done(uv_work_t *w, int status)
{
	struct reload_job *j = w->data;
	struct config_reload r;
	int unfit;

	if (closed) {
		/* wsd is shutting down: nothing to apply. */
	} else if (status != 0) {
		log_err("reload of %s cancelled; nothing changed", path);
	} else if (!j->ok) {
		log_err("reload: %s; nothing changed", j->err);
	} else {
		config_reload_apply(live, &j->next, &r);
		reload_take_effect();
		/* Swarm mode: an admin who fixed a node reloads to have it used again. */
		if ((unfit = nodes_clear_unfit(nodes_table(), gpu_inventory())) > 0)
			log_info("reload: %d nodes wsd did not use are judged afresh", unfit);
		count++;
		log_info("reload %d of %s: changed: %s; templates: %zu (%d added, %d removed, %d "
		         "changed); running workspaces keep theirs",
		         count, path, r.changed[0] ? r.changed : "none", live->ntemplates,
		         r.templates_added, r.templates_removed, r.templates_changed);
		if (r.kept[0] != '\0')
			log_warn("reload: %s changed in %s but take effect only when wsd restarts; "
			         "kept as they were",
			         r.kept, path);
	}
	config_free(&j->next);
	free(j);
	busy = 0;
	if (closed)
		return;
	notify_reloading(1, "reloaded");
	if (again) {
		again = 0;
		reload_now();
	}
}

void
reload_now(void)
{
	struct reload_job *j;

	if (busy) {
		again = 1;
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->work.data = j;
	notify_reloading(0, "reloading the configuration");
	if (uv_queue_work(loop, &j->work, reload_work, reload_done) != 0) {
		log_err("reload: cannot queue the work; nothing changed");
		free(j);
		notify_reloading(1, "reload failed");
		return;
	}
	busy = 1;
}

static void
reload_signal(uv_signal_t *s, int signum)
{
	(void)s;
	log_info("signal %d: reloading %s", signum, path);
	reload_now();
}

void
reload_init(uv_loop_t *l, struct config *cfg, const char *p, int req, int dbg)
{
	loop = l;
	live = cfg;
	path = p;
	required = req;
	debug = dbg;
	uv_signal_init(loop, &sighup);
	uv_signal_start(&sighup, reload_signal, SIGHUP);
	uv_unref((uv_handle_t *)&sighup);
}

void
reload_shutdown(void)
{
	uv_signal_stop(&sighup);
	closed = 1;
}
