/*
 * wsd's side of wsnode. See node_agent.h.
 */
#include "node_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gpu.h"
#include "log.h"
#include "nodes.h"
#include "xmalloc.h"

static uv_loop_t *loop;
static const struct config *cfg;
static uv_timer_t tick;
static int reading, started;
static char marker[33];
/* The workspaces' sshd lines of each node (by position), from its last fresh report. */
static json_t *procs[NODES_MAX];
static double procs_until[NODES_MAX];

const char *
node_agent_marker(void)
{
	return marker;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A whole small file, or NULL (errno set). */
static char *
slurp(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *buf;
	ssize_t n;
	size_t got = 0;

	if (fd == -1)
		return NULL;
	buf = xmalloc(max + 1);
	while (got < max && (n = read(fd, buf + got, max - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (got == max) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

static int
write_atomic(const char *path, const char *text, mode_t mode, char *err, size_t errlen)
{
	char tmp[600];
	size_t len = strlen(text);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd == -1 || write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) == -1 ||
	    fsync(fd) == -1 || close(fd) == -1 || rename(tmp, path) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The marker both files hold, when they agree: kept across restarts of wsd. */
static void
marker_read(const char *shared, const char *home)
{
	size_t len;
	char *a = slurp(shared, 4096, &len), *b = slurp(home, 4096, &len);
	json_t *j = a ? json_loads(a, 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(j, "marker"));

	if (m != NULL && b != NULL && strlen(m) == 32 && strncmp(b, m, 32) == 0)
		snprintf(marker, sizeof(marker), "%s", m);
	json_decref(j);
	free(a);
	free(b);
}

static int
marker_write(char *err, size_t errlen)
{
	char shared[600], home[600], line[40];
	unsigned char r[16];
	json_t *j;
	char *text;
	int rc;
	struct stat st;

	if (stat(cfg->home_root, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(
		    err, errlen,
		    "swarm mode: home_root %s is not a directory (mount the lab's shared homes "
		    "there, at the same path as on every node)",
		    cfg->home_root);
		return -1;
	}
	snprintf(shared, sizeof(shared), "%s/%s", cfg->shared_dir, NODE_MARKER_FILE);
	snprintf(home, sizeof(home), "%s/%s", cfg->home_root, NODE_HOME_MARKER);
	marker_read(shared, home);
	if (marker[0] == '\0') {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			snprintf(err, errlen, "getrandom: %s", strerror(errno));
			return -1;
		}
		for (size_t i = 0; i < sizeof(r); i++)
			snprintf(marker + 2 * i, 3, "%02x", r[i]);
	}
	j = json_pack("{s:s, s:s, s:s}", "marker", marker, "home_root", cfg->home_root,
	              "shared_dir", cfg->shared_dir);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	snprintf(line, sizeof(line), "%s\n", marker);
	/* Not secrets: wsnode may run as any user that can read them. */
	rc = write_atomic(shared, text, 0644, err, errlen) == -1 ||
	             write_atomic(home, line, 0644, err, errlen) == -1
	         ? -1
	         : 0;
	free(text);
	return rc;
}

/* ---- reading the reports on the pool ---- */

struct one {
	char id[40];
	int pos;
	int have;      /* r holds a report */
	char bad[200]; /* why it could not be read; "" none or missing */
	struct node_report r;
};

struct job {
	uv_work_t work;
	char dir[600];
	size_t n;
	struct one one[]; /* one per node in the table */
};

static void
read_work(uv_work_t *w)
{
	struct job *j = w->data;

	for (size_t i = 0; i < j->n; i++) {
		struct one *o = &j->one[i];
		char path[700], *text;
		char *bad = o->bad;
		json_error_t je;
		json_t *doc;
		size_t len;

		snprintf(path, sizeof(path), "%s/%s.json", j->dir, o->id);
		if ((text = slurp(path, NODE_REPORT_MAX, &len)) == NULL) {
			if (errno != ENOENT)
				snprintf(o->bad, sizeof(o->bad), "%s", strerror(errno));
			continue;
		}
		doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
		free(text);
		if (doc == NULL) {
			snprintf(o->bad, sizeof(o->bad), "not JSON: %s", je.text);
			continue;
		}
		if (node_report_parse(doc, &o->r, bad, sizeof(o->bad)) == 0) {
			if (strcmp(o->r.node_id, o->id) != 0) {
				char other[sizeof(o->r.node_id)];

				memcpy(other, o->r.node_id, sizeof(other));
				snprintf(bad, sizeof(o->bad), "it names node %.40s", other);
				node_report_free(&o->r);
			} else {
				o->have = 1;
			}
		}
		json_decref(doc);
	}
}

static void
read_done(uv_work_t *w, int status)
{
	struct job *j = w->data;
	struct nodes *t = nodes_table();
	struct gpu_inventory *inv = gpu_inventory();
	double now = now_s();

	reading = 0;
	for (size_t i = 0; i < j->n; i++) {
		struct one *o = &j->one[i];
		struct node *n;
		char before[sizeof(n->agent)];
		int was_fit;

		if (status != 0 || (size_t)o->pos >= t->count ||
		    strcmp(t->n[o->pos].id, o->id) != 0) {
			if (o->have)
				node_report_free(&o->r);
			continue;
		}
		n = &t->n[o->pos];
		snprintf(before, sizeof(before), "%s", n->agent);
		was_fit = n->agent_why[0] == '\0';
		nodes_agent(t, inv, o->pos, o->have ? &o->r : NULL, o->bad[0] ? o->bad : NULL, now,
		            marker);
		/* A node wsd would use anyway: the admin hears why it does not, once. */
		if ((strcmp(before, n->agent) != 0 || was_fit != (n->agent_why[0] == '\0')) &&
		    n->listed && strcmp(n->state, "ready") == 0 &&
		    strcmp(n->availability, "active") == 0) {
			if (n->agent_why[0] != '\0')
				log_warn("node %s (%s): not used for new workspaces: %s",
				         n->hostname, n->id, n->agent_why);
			else
				log_info("node %s (%s): its wsnode report is in order", n->hostname,
				         n->id);
		}
		json_decref(procs[o->pos]);
		procs[o->pos] = NULL;
		if (o->have && strcmp(n->agent, "ok") == 0) {
			procs[o->pos] = json_incref(o->r.workspaces);
			procs_until[o->pos] = o->r.time + nodes_agent_max_age(&o->r);
		}
		if (o->have)
			node_report_free(&o->r);
	}
	free(j);
	if (status == 0)
		gpu_refreshed();
}

static void
read_tick(uv_timer_t *h)
{
	struct nodes *t = nodes_table();
	struct job *j;

	(void)h;
	if (reading || t->count == 0)
		return;
	j = xmalloc(sizeof(*j) + t->count * sizeof(j->one[0]));
	memset(j, 0, sizeof(*j));
	snprintf(j->dir, sizeof(j->dir), "%s/nodes", cfg->shared_dir);
	for (size_t i = 0; i < t->count; i++) {
		struct one *o = &j->one[j->n++];

		memset(o, 0, sizeof(*o));
		snprintf(o->id, sizeof(o->id), "%s", t->n[i].id);
		o->pos = (int)i;
	}
	j->work.data = j;
	reading = 1;
	if (uv_queue_work(loop, &j->work, read_work, read_done) != 0) {
		reading = 0;
		free(j);
	}
}

void
node_agent_kick(void)
{
	if (started)
		read_tick(&tick);
}

int
node_agent_init(uv_loop_t *l, const struct config *c, char *err, size_t errlen)
{
	loop = l;
	cfg = c;
	if (marker_write(err, errlen) == -1)
		return -1;
	uv_timer_init(loop, &tick);
	uv_timer_start(&tick, read_tick, 0, (uint64_t)cfg->swarm_poll * 1000);
	started = 1;
	return 0;
}

void
node_agent_stop(void)
{
	if (!started)
		return;
	uv_timer_stop(&tick);
	uv_close((uv_handle_t *)&tick, NULL);
	started = 0;
	for (size_t i = 0; i < NODES_MAX; i++) {
		json_decref(procs[i]);
		procs[i] = NULL;
	}
}

const json_t *
node_agent_procs(const char *service)
{
	double now = now_s();

	for (size_t i = 0; i < NODES_MAX; i++) {
		const json_t *p = procs[i] ? json_object_get(procs[i], service) : NULL;

		if (p != NULL)
			return now <= procs_until[i] ? p : NULL;
	}
	return NULL;
}
