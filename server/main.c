/*
 * wsd: the wslab daemon. One libuv loop serves the unix socket, drives
 * engine calls through curl multi and runs readiness probes; blocking work
 * goes to libuv's thread pool.
 *
 * Start-up: load the config, settle the engine API version, reconcile with
 * the wslab containers that run, then listen. When the engine does not
 * answer, wsd listens anyway (starts get 503) and keeps retrying.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <uv.h>

#include "api.h"
#include "audit.h"
#include "config.h"
#include "engine.h"
#include "expiry.h"
#include "fetch.h"
#include "gpu.h"
#include "http.h"
#include "idle.h"
#include "log.h"
#include "metrics.h"
#include "memtrim.h"
#include "node_agent.h"
#include "notice.h"
#include "notify.h"
#include "quotas.h"
#include "queue.h"
#include "reconcile.h"
#include "reload.h"
#include "wslogs.h"
#include "store.h"
#include "usage.h"
#include "web.h"
#include "workspace.h"
#include "wsfs.h"
#include "xmalloc.h"

static uv_loop_t *loop;
static struct config cfg;
static uv_signal_t sigterm, sigint;
static uv_timer_t retry;
static uv_timer_t status_timer;
static uint64_t retry_ms = 500;
static int listening;
static int stopping;

static void engine_connect(void);

static void
usage(FILE *f)
{
	fprintf(
	    f, "usage: wsd [--config FILE] [--check-config] [--backup FILE] [--debug] [--version]\n"
	       "\n"
	       "  -c, --config FILE   configuration file (default " WSLAB_CONFIG_PATH ")\n"
	       "  -n, --check-config  check the configuration, print it, and exit\n"
	       "  -b, --backup FILE   copy wsd's state (wsd.db) into FILE, consistently, while\n"
	       "                      wsd runs (or not), and exit\n"
	       "  -d, --debug         verbose logs\n"
	       "  -V, --version       print the version\n");
}

static int
start_listening(void)
{
	struct http_limits lim;
	char err[512], dir[512], *slash;

	reload_http_limits(&cfg, &lim);
	snprintf(dir, sizeof(dir), "%s", cfg.socket);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (wsfs_mkdirs(dir, 0755) == -1) {
			log_err("cannot create %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	if (http_listen(loop, cfg.socket, &lim, api_handle, err, sizeof(err)) == -1) {
		log_err("cannot listen: %s", err);
		return -1;
	}
	/* Prometheus's scrapes, if asked for: GET /metrics and nothing else. */
	if (cfg.metrics_listen[0] != '\0') {
		char host[64];
		int port;

		if (config_listen_parse(cfg.metrics_listen, host, sizeof(host), &port, err,
		                        sizeof(err)) == -1 ||
		    http_listen_metrics(host, port, api_metrics, err, sizeof(err)) == -1) {
			log_err("cannot listen: %s", err);
			return -1;
		}
		log_info("metrics on http://%s%s%s:%d/metrics", strchr(host, ':') ? "[" : "", host,
		         strchr(host, ':') ? "]" : "", port);
		/* Not refused: the admin may have a firewall or a proxy. But said. */
		if (strncmp(host, "127.", 4) != 0 && strcmp(host, "::1") != 0)
			log_warn("metrics_listen %s is not a loopback address: whoever reaches it "
			         "reads the metrics (GPU, workspace and user names)",
			         host);
	}
	/* The web page, if asked for (config.c has refused plain HTTP off loopback). */
	if (web_start(loop, &cfg, err, sizeof(err)) == -1) {
		log_err("cannot listen: %s", err);
		return -1;
	}
	listening = 1;
	return 0;
}

/* For systemd (STATUS=): the workspaces and the engine's state, in one line. */
static void
status_text(char *buf, size_t len)
{
	struct workspace *ws;
	int n = 0, ready = 0;

	TAILQ_FOREACH(ws, ws_registry(), link) {
		n++;
		ready += ws->state == WS_READY;
	}
	snprintf(buf, len, "%d workspaces (%d ready); engine %s", n, ready,
	         api_engine_ready ? "ready" : "unreachable, retrying");
}

static void
status_update(void)
{
	char s[200];

	status_text(s, sizeof(s));
	notify_status(s);
}

static void
status_tick(uv_timer_t *t)
{
	(void)t;
	status_update();
}

static void
retry_fire(uv_timer_t *t)
{
	(void)t;
	engine_connect();
}

static void
retry_later(const char *why)
{
	log_warn("engine %s not usable (%s); retrying in %llu ms", cfg.engine, why,
	         (unsigned long long)retry_ms);
	uv_timer_start(&retry, retry_fire, retry_ms, 0);
	if (retry_ms < 10000)
		retry_ms *= 2;
	status_update();
}

static void
events_ended(const char *why)
{
	if (stopping)
		return;
	/* The engine restarted or went away: reconcile again when it is back. */
	api_engine_ready = 0;
	retry_later(why);
}

static void
reconciled(int adopted, int removed, const char *err)
{
	if (err != NULL) {
		retry_later(err);
	} else if (engine_events(reconcile_event, events_ended) == -1) {
		retry_later("cannot follow engine events");
	} else {
		api_engine_ready = 1;
		retry_ms = 500;
		log_info("wsd %s ready: socket %s, engine API %s, %d workspaces adopted, "
		         "%d containers removed",
		         WSLAB_VERSION, cfg.socket, engine_api_version(), adopted, removed);
		/* The holders are known now: the queue may start what fits. */
		queue_changed();
	}
	if (!listening && start_listening() == -1) {
		uv_stop(loop);
		return;
	}
	/* Ready for systemd once the socket accepts and the engine is reconciled. */
	if (api_engine_ready) {
		char s[200];

		status_text(s, sizeof(s));
		notify_ready(s);
	}
}

/*
 * gpu_mode auto: CDI when the engine has it (its /info lists CDI spec
 * directories) and one of those directories holds a spec for
 * nvidia.com/gpu (made by `nvidia-ctk cdi generate`); else the nvidia
 * driver of DeviceRequests, which every engine since 19.03 has.
 */
struct cdi_scan {
	uv_work_t work;
	char dirs[4][256];
	int ndirs;
	int found;
};

static void
cdi_scan_work(uv_work_t *w)
{
	struct cdi_scan *c = w->data;
	char path[600], buf[65536];

	for (int i = 0; i < c->ndirs && !c->found; i++) {
		DIR *d = opendir(c->dirs[i]);
		struct dirent *e;

		while (d != NULL && !c->found && (e = readdir(d)) != NULL) {
			FILE *f;
			size_t n;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", c->dirs[i], e->d_name);
			if ((f = fopen(path, "re")) == NULL)
				continue;
			n = fread(buf, 1, sizeof(buf) - 1, f);
			buf[n] = '\0';
			fclose(f);
			if (strstr(buf, "nvidia.com/gpu") != NULL)
				c->found = 1;
		}
		if (d != NULL)
			closedir(d);
	}
}

static void
cdi_scan_done(uv_work_t *w, int status)
{
	struct cdi_scan *c = w->data;

	ws_set_gpu_mode(status == 0 && c->found ? "cdi" : "nvidia");
	log_info("gpu_mode auto: %s", ws_context()->gpu_mode);
	free(c);
	reconcile(reconciled);
}

/* The engine answered (or not) who it is. */
static void
hello_done(const struct engine_hello *h)
{
	json_t *d;
	struct cdi_scan *c;
	size_t i;

	if (!h->ok) {
		if (h->fatal) {
			log_err("%s", h->error);
			uv_stop(loop);
			return;
		}
		retry_later(h->error);
		if (!listening && start_listening() == -1)
			uv_stop(loop);
		return;
	}
	if (strcmp(cfg.gpu_mode, "auto") != 0) {
		reconcile(reconciled);
		return;
	}
	if (json_array_size(h->cdi_dirs) == 0) {
		ws_set_gpu_mode("nvidia");
		reconcile(reconciled);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	json_array_foreach(h->cdi_dirs, i, d)
	{
		const char *s = json_string_value(d);

		if (s != NULL && s[0] == '/' && c->ndirs < 4 && strlen(s) < sizeof(c->dirs[0]))
			snprintf(c->dirs[c->ndirs++], sizeof(c->dirs[0]), "%s", s);
	}
	c->work.data = c;
	if (uv_queue_work(loop, &c->work, cdi_scan_work, cdi_scan_done) != 0)
		cdi_scan_done(&c->work, -1);
}

static void
engine_connect(void)
{
	if (engine_hello(strcmp(cfg.gpu_mode, "auto") == 0, hello_done) == -1)
		retry_later("cannot start an engine call");
}

/*
 * Quotas, the week's usage and the workspaces on record, from the store
 * (synchronously: at start-up, before the store thread and the loop run).
 */
static int
load_state(char *err, size_t errlen)
{
	if (quotas_load(err, errlen) == -1 || usage_load(err, errlen) == -1 ||
	    reconcile_load(err, errlen) == -1 || wslogs_load(err, errlen) == -1 ||
	    queue_load(err, errlen) == -1 || notice_load(err, errlen) == -1)
		return -1;
	log_info("store: %zu quota entries, %zu workspaces on record, %zu queued starts, %zu usage "
	         "records this week",
	         quotas_table()->n, reconcile_known_count(), queue_loaded_count(), usage_count());
	return 0;
}

static void
on_signal(uv_signal_t *s, int signum)
{
	(void)s;
	log_info("signal %d: shutting down", signum);
	notify_stopping();
	stopping = 1;
	uv_stop(loop);
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"check-config", no_argument, NULL, 'n'},
	                                     {"backup", required_argument, NULL, 'b'},
	                                     {"debug", no_argument, NULL, 'd'},
	                                     {"version", no_argument, NULL, 'V'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *path = WSLAB_CONFIG_PATH;
	int required = 0, check = 0, debug = 0, ch, n = 0;
	const char *backup = NULL;
	struct workspace *ws;
	char err[512] = "";

	while ((ch = getopt_long(argc, argv, "c:nb:dVh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			required = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'b':
			backup = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'V':
			printf("wsd %s\n", WSLAB_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (config_load(&cfg, path, required, err, sizeof(err)) == -1) {
		fprintf(stderr, "wsd: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	if (check) {
		printf("%s: ok (%zu templates, engine %s, socket %s)\n", path, cfg.ntemplates,
		       cfg.engine, cfg.socket);
		config_free(&cfg);
		return 0;
	}
	if (backup != NULL) {
		char db[600];

		snprintf(db, sizeof(db), "%s/wsd.db", cfg.state_dir);
		if (store_backup(db, backup, err, sizeof(err)) == -1) {
			fprintf(stderr, "wsd: backup of %s failed: %s\n", db, err);
			config_free(&cfg);
			return 1;
		}
		printf("%s: a consistent copy of %s\n", backup, db);
		config_free(&cfg);
		return 0;
	}
	log_level_parse(cfg.log_level, &log_level);
	if (debug)
		log_level = LOG_DEBUG;

	/* Probes and file work share the pool; let many run at once. */
	setenv("UV_THREADPOOL_SIZE", "16", 0);
	/*
	 * But not one malloc arena each: 16 arenas hold ~2 MB of freed memory
	 * after a burst of starts. Two keep contention low (the loop allocates
	 * little; pool jobs are short).
	 */
	mallopt(M_ARENA_MAX, 2);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * What wsd makes is its own unless it says otherwise: every file and
	 * directory that others may use (homes, the socket, a workspace's
	 * files) gets its mode explicitly (wsfs.c, http.c).
	 */
	umask(077);
	loop = uv_default_loop();
	metrics_start(loop);
	if (engine_init(&cfg, err, sizeof(err)) == -1 || fetch_init(loop) == -1) {
		log_err("%s", err[0] ? err : "cannot start curl");
		return 1;
	}
	ws_init(loop, &cfg);
	wslogs_init(loop);
	queue_init(loop);
	{
		/* The lifecycle calls up into the queue, idle reclaim and the kept logs. */
		const struct ws_hooks hooks = {
		    .would_start = queue_would_start,
		    .refuse = queue_refusal,
		    .enqueue = queue_add,
		    .changed = queue_changed,
		    .gpu_demand = idle_demand,
		    .keep_logs = wslogs_keep,
		    .keep_reason = wslogs_keep_reason,
		    .name_taken = wslogs_forget,
		};

		ws_set_hooks(&hooks);
		quotas_on_change(queue_changed);
	}
	expiry_init(loop, &cfg);
	idle_init(loop, &cfg);
	gpu_on_refresh(idle_gpu_sampled);
	audit_init(loop);
	if (gpu_init(loop, &cfg) == -1)
		return 1;
	if (wsfs_state_init(cfg.state_dir, err, sizeof(err)) == -1 ||
	    (cfg.shared_dir[0] != '\0' &&
	     wsfs_shared_init(cfg.shared_dir, err, sizeof(err)) == -1) ||
	    (strcmp(cfg.engine_mode, "swarm") == 0 &&
	     node_agent_init(loop, &cfg, err, sizeof(err)) == -1)) {
		log_err("%s", err);
		return 1;
	}
	/* The store is read before the loop serves anyone; then it gets its thread. */
	{
		char db[600];

		snprintf(db, sizeof(db), "%s/wsd.db", cfg.state_dir);
		if (store_open(db, err, sizeof(err)) == -1 || load_state(err, sizeof(err)) == -1 ||
		    store_start(loop) == -1) {
			log_err("%s", err[0] ? err : "cannot start the store");
			return 1;
		}
	}
	notice_init(loop, &cfg);
	uv_signal_init(loop, &sigterm);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_timer_init(loop, &retry);
	reload_init(loop, &cfg, path, required, debug);
	notify_init(loop);
	uv_timer_init(loop, &status_timer);
	uv_timer_start(&status_timer, status_tick, 5000, 5000);
	uv_unref((uv_handle_t *)&status_timer);
	/* A closed connection's buffers go back to the heap, then to the system. */
	http_on_closed(memtrim_soon);
	engine_connect();
	uv_run(loop, UV_RUN_DEFAULT);

	/* Shutdown: workspaces keep running; a restarted wsd adopts them. */
	TAILQ_FOREACH(ws, ws_registry(), link)
		n++;
	stopping = 1;
	http_shutdown();
	web_shutdown();
	reload_shutdown();
	metrics_stop();
	expiry_stop();
	idle_stop();
	node_agent_stop();
	queue_shutdown();
	ws_shutdown();
	audit_shutdown();
	reconcile_shutdown();
	notice_shutdown();
	store_close();
	fetch_shutdown();
	wslogs_shutdown();
	gpu_shutdown();
	uv_walk(loop, close_walk, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	/* Join the pool threads, so that their per-thread OpenSSL state is freed. */
	uv_library_shutdown();
	ssh_finalize();
	engine_shutdown();
	notify_shutdown();
	log_info("wsd stopped: %d workspaces left running", n);
	metrics_free();
	config_free(&cfg);
	return 0;
}
