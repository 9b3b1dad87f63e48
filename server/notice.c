/*
 * Notices: an outbox in the store, delivered from there.
 *
 * notice_post writes the event into the store's notices table first
 * (INSERT OR IGNORE on a key of workspace id, kind and deadline, so an
 * event that a restarted wsd sees again is not posted twice), and only
 * what the outbox holds is delivered: to the owner's terminals once, and
 * to notify_command until it exits 0 (at most NOTICE_TRIES tries, with
 * backoff). A row is marked delivered when both are done; a wsd killed
 * before that delivers it at its next start, and one killed in the
 * instant between a delivery and its mark repeats that one delivery (a
 * notify_command still running at shutdown is killed and run again).
 * Rows more than NOTICE_MAX_AGE old at start-up are dropped with a log
 * line: a day-old "will be stopped at" helps nobody.
 *
 * Nothing here blocks the loop: utmp and terminals are read and written
 * on the pool (O_NONBLOCK: a stuck terminal loses the notice, it does not
 * hold a thread), notify_command runs with uv_spawn (no shell, its own
 * session, the event on stdin, stdout and stderr to /dev/null), killed
 * with its process group after notify_timeout; at most NOTICE_CMDS run
 * at once and the rest wait in the outbox.
 */
#include "notice.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utmpx.h>

#include "log.h"
#include "store.h"
#include "workspace.h"
#include "xmalloc.h"

#define NOTICE_CMDS 4                /* notify_commands at once */
#define NOTICE_TRIES 3               /* notify_command runs before a notice is failed */
#define NOTICE_BACKOFF_S 5.0         /* before the second try; doubles */
#define NOTICE_MAX_AGE (24 * 3600.0) /* undelivered and older at start-up: dropped */
#define NOTICE_KEEP (30 * 86400.0)   /* delivered rows kept for their dedupe key */
#define NOTICE_BATCH 64              /* rows read from the outbox at once */
#define NOTICE_UTMP_MAX 4096         /* utmp records read */
#define NOTICE_TTYS_MAX 32           /* terminals of one user written */

/* One notice in delivery. */
struct notice {
	int64_t seq;
	unsigned uid;
	char user[UNIX_NAME_MAX + 1];
	char *json; /* the event, as notify_command reads it */
	int attempts;
	int tty_pending, cmd_pending; /* still to do */
	int cmd_failed;               /* this try of notify_command failed */
	struct notice_run *run;       /* notify_command running for it */
	int orphan;                   /* wsd is stopping: only its pool job holds it */
	TAILQ_ENTRY(notice) link;
};

/* A notify_command run: three handles, freed when all are closed. */
struct notice_run {
	uv_process_t proc;
	uv_pipe_t in;
	uv_timer_t timer;
	uv_write_t wr;
	struct notice *n;
	int open; /* handles not yet closed */
	int timed_out;
	pid_t pid;
};

/* Terminal delivery on the pool. */
struct notice_tty {
	uv_work_t work;
	struct notice *n;
	char user[UNIX_NAME_MAX + 1];
	uid_t uid;
	char *utmp;
	char text[1200];
	int written;
};

static TAILQ_HEAD(, notice) flight = TAILQ_HEAD_INITIALIZER(flight);
static uv_loop_t *loop;
static const struct config *cfg;
static uv_timer_t later;
static int running, reading, read_again, slot_wait, cmds;

static void notice_pump(void);
static void notice_rows(void *arg, int ok, const char *err, json_t *rows);
static void notice_deliver(struct notice *n);
static void notice_tty_work(uv_work_t *w);
static void notice_tty_done(uv_work_t *w, int status);
static void notice_cmd_start(struct notice *n);
static void notice_step(struct notice *n);
static void notice_run_close(struct notice_run *r);
static void notice_posted(void *arg, int ok, const char *err, json_t *rows);

int
notice_load(char *err, size_t errlen)
{
	double now = store_now();
	json_t *rows = NULL;
	json_int_t dropped;

	if (store_query_sync("SELECT count(*) AS n FROM notices WHERE delivered_at IS NULL AND "
	                     "failed_at IS NULL AND at < ?",
	                     json_pack("[f]", now - NOTICE_MAX_AGE), &rows, err, errlen) == -1)
		return -1;
	dropped = json_integer_value(json_object_get(json_array_get(rows, 0), "n"));
	json_decref(rows);
	if (dropped > 0)
		log_warn("notices: %lld undelivered notices older than a day dropped",
		         (long long)dropped);
	if (store_query_sync("UPDATE notices SET failed_at = ? WHERE delivered_at IS NULL AND "
	                     "failed_at IS NULL AND at < ?",
	                     json_pack("[f, f]", now, now - NOTICE_MAX_AGE), NULL, err,
	                     errlen) == -1)
		return -1;
	return store_query_sync("DELETE FROM notices WHERE at < ? AND (delivered_at IS NOT NULL "
	                        "OR failed_at IS NOT NULL)",
	                        json_pack("[f]", now - NOTICE_KEEP), NULL, err, errlen);
}

static void
notice_later(uv_timer_t *t)
{
	(void)t;
	notice_pump();
}

void
notice_init(uv_loop_t *l, const struct config *c)
{
	loop = l;
	cfg = c;
	uv_timer_init(loop, &later);
	uv_unref((uv_handle_t *)&later);
	running = 1;
	notice_pump();
}

void
notice_shutdown(void)
{
	struct notice *n;

	if (!running)
		return;
	running = 0;
	uv_timer_stop(&later);
	uv_close((uv_handle_t *)&later, NULL);
	/* Deliveries in flight end here; their rows stay for the next wsd. */
	while ((n = TAILQ_FIRST(&flight)) != NULL) {
		if (n->run != NULL) {
			/* Killed: its notice stays undelivered and is sent by the next wsd. */
			if (n->run->pid > 0)
				kill(-n->run->pid, SIGKILL);
			n->run->n = NULL;
			notice_run_close(n->run);
			cmds--;
		}
		if (n->tty_pending) { /* its pool job frees it */
			TAILQ_REMOVE(&flight, n, link);
			n->cmd_pending = 0;
			n->orphan = 1;
			continue;
		}
		TAILQ_REMOVE(&flight, n, link);
		free(n->json);
		free(n);
	}
}

void
notice_post(enum notice_kind kind, const struct workspace *ws, double deadline, const char *why)
{
	struct notice_event e = {kind,   ws->owner,   (unsigned)ws->uid, ws->name,
	                         ws->id, store_now(), deadline,          why};
	char key[96], *text;
	json_t *j;
	struct store_tx *tx;
	/* A warning is per deadline; everything else happens once to a workspace. */
	int per_deadline = kind == NOTICE_IDLE_WARNING || kind == NOTICE_LIFETIME_WARNING;

	if ((j = notice_json(&e)) == NULL)
		return;
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	snprintf(key, sizeof(key), "%s:%s:%lld", ws->id, notice_kind_name(kind),
	         per_deadline ? (long long)deadline : 0LL);
	tx = store_tx_new();
	store_tx_add(tx,
	             "INSERT OR IGNORE INTO notices (at, uid, user, kind, workspace, dedupe, json) "
	             "VALUES (?, ?, ?, ?, ?, ?, ?)",
	             json_pack("[f, i, s, s, s, s, s]", e.at, (int)ws->uid, ws->owner,
	                       notice_kind_name(kind), ws->name, key, text));
	free(text);
	log_debug("notice %s for %s (%s/%s)", notice_kind_name(kind), ws->id, ws->owner, ws->name);
	if (store_tx_run(tx, notice_posted, NULL) == -1)
		log_warn("notice %s for %s: the store is not running", notice_kind_name(kind),
		         ws->id);
}

/* In the outbox (or there already): deliver from there. */
static void
notice_posted(void *arg, int ok, const char *err, json_t *rows)
{
	(void)arg;
	(void)rows;
	if (!ok)
		log_err("notice: cannot write to the outbox: %s", err ? err : "store failed");
	notice_pump();
}

/* Read the outbox: what is due and not in flight yet. */
static void
notice_pump(void)
{
	if (!running)
		return;
	if (reading > 0) {
		read_again = 1;
		return;
	}
	read_again = 0;
	if (store_run("SELECT seq, uid, user, json, attempts, tty_at FROM notices WHERE "
	              "delivered_at IS NULL AND failed_at IS NULL AND next_at <= ? ORDER BY seq "
	              "LIMIT ?",
	              json_pack("[f, i]", store_now(), NOTICE_BATCH), notice_rows, NULL) == 0)
		reading++;
}

static int
notice_in_flight(int64_t seq)
{
	struct notice *n;

	TAILQ_FOREACH(n, &flight, link)
		if (n->seq == seq)
			return 1;
	return 0;
}

static void
notice_rows(void *arg, int ok, const char *err, json_t *rows)
{
	json_t *row;
	size_t i;

	(void)arg;
	reading--;
	if (!ok)
		log_warn("notices: the store: %s", err ? err : "failed");
	if (!running)
		return;
	json_array_foreach(rows, i, row)
	{
		json_t *seqj = json_object_get(row, "seq");
		const char *user = json_string_value(json_object_get(row, "user"));
		const char *text = json_string_value(json_object_get(row, "json"));
		struct notice *n;

		if (!json_is_integer(seqj) || user == NULL || text == NULL ||
		    notice_in_flight(json_integer_value(seqj)))
			continue;
		if (cfg->notify_command[0] != '\0' && cmds >= NOTICE_CMDS) {
			slot_wait = 1; /* it waits in the outbox for a free slot */
			break;
		}
		n = xcalloc(1, sizeof(*n));
		n->seq = json_integer_value(seqj);
		n->uid = (unsigned)json_integer_value(json_object_get(row, "uid"));
		snprintf(n->user, sizeof(n->user), "%s", user);
		n->json = xstrdup(text);
		n->attempts = (int)json_integer_value(json_object_get(row, "attempts"));
		n->tty_pending = json_is_null(json_object_get(row, "tty_at"));
		n->cmd_pending = cfg->notify_command[0] != '\0';
		TAILQ_INSERT_TAIL(&flight, n, link);
		notice_deliver(n);
	}
	/* Posted while this read ran: read again (reads never overlap). */
	if (read_again)
		notice_pump();
}

static void
notice_deliver(struct notice *n)
{
	if (n->tty_pending) {
		struct notice_tty *t = xcalloc(1, sizeof(*t));
		json_t *j = json_loads(n->json, 0, NULL);
		char host[64] = "";

		gethostname(host, sizeof(host) - 1);
		t->n = n;
		snprintf(t->user, sizeof(t->user), "%s", n->user);
		t->uid = (uid_t)n->uid;
		t->utmp = xstrdup(cfg->utmp_file);
		notice_tty_text(json_string_value(json_object_get(j, "message")) ?: "",
		                json_string_value(json_object_get(j, "command")) ?: "", host,
		                t->text, sizeof(t->text));
		json_decref(j);
		t->work.data = t;
		if (uv_queue_work(loop, &t->work, notice_tty_work, notice_tty_done) != 0) {
			free(t->utmp);
			free(t);
			n->tty_pending = 0;
		}
	}
	if (n->cmd_pending)
		notice_cmd_start(n);
	else
		notice_step(n);
}

/* ---- terminals (pool thread) ---- */

static void
notice_tty_work(uv_work_t *w)
{
	struct notice_tty *t = w->data;
	char seen[NOTICE_TTYS_MAX][sizeof(((struct utmpx *)0)->ut_line) + 1];
	int nseen = 0, fd;
	struct utmpx u;

	/* Read as a file: getutxent's state is one per process, not per thread. */
	if ((fd = open(t->utmp, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	for (int r = 0; r < NOTICE_UTMP_MAX && nseen < NOTICE_TTYS_MAX; r++) {
		char line[sizeof(u.ut_line) + 1], dev[sizeof(line) + 8];
		struct stat st;
		int dup = 0, tfd;

		if (read(fd, &u, sizeof(u)) != (ssize_t)sizeof(u))
			break;
		if (u.ut_type != USER_PROCESS ||
		    strnlen(u.ut_user, sizeof(u.ut_user)) != strlen(t->user) ||
		    strncmp(u.ut_user, t->user, sizeof(u.ut_user)) != 0 ||
		    !notice_tty_line(u.ut_line, sizeof(u.ut_line), line, sizeof(line)))
			continue;
		for (int i = 0; i < nseen; i++)
			dup |= strcmp(seen[i], line) == 0;
		if (dup)
			continue;
		snprintf(seen[nseen++], sizeof(seen[0]), "%s", line);
		snprintf(dev, sizeof(dev), "/dev/%s", line);
		/* Checked on what was opened: the owner's, and "mesg y". */
		tfd = open(dev, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		if (tfd == -1)
			continue;
		if (fstat(tfd, &st) == 0 && notice_tty_ok(st.st_mode, st.st_uid, t->uid) &&
		    write(tfd, t->text, strlen(t->text)) > 0)
			t->written++;
		close(tfd);
	}
	close(fd);
}

static void
notice_tty_done(uv_work_t *w, int status)
{
	struct notice_tty *t = w->data;
	struct notice *n = t->n;

	(void)status;
	if (running) {
		log_debug("notice %lld: written to %d terminals of %s", (long long)n->seq,
		          t->written, n->user);
		store_run("UPDATE notices SET tty_at = ? WHERE seq = ?",
		          json_pack("[f, I]", store_now(), (json_int_t)n->seq), NULL, NULL);
		n->tty_pending = 0;
		notice_step(n);
	} else {
		n->tty_pending = 0;
		notice_step(n);
	}
	free(t->utmp);
	free(t);
}

/* ---- notify_command ---- */

static void
notice_run_closed(uv_handle_t *h)
{
	struct notice_run *r = h->data;

	if (--r->open == 0)
		free(r);
}

static void
notice_run_close(struct notice_run *r)
{
	if (!uv_is_closing((uv_handle_t *)&r->proc))
		uv_close((uv_handle_t *)&r->proc, notice_run_closed);
	if (!uv_is_closing((uv_handle_t *)&r->in))
		uv_close((uv_handle_t *)&r->in, notice_run_closed);
	if (!uv_is_closing((uv_handle_t *)&r->timer))
		uv_close((uv_handle_t *)&r->timer, notice_run_closed);
}

static void
notice_cmd_end(struct notice_run *r, int ok, const char *why)
{
	struct notice *n = r->n;

	r->n = NULL;
	notice_run_close(r);
	if (n == NULL)
		return;
	cmds--;
	n->run = NULL;
	n->attempts++;
	if (!ok) {
		log_warn("notice %lld for %s: notify_command %s (try %d of %d)", (long long)n->seq,
		         n->user, why, n->attempts, NOTICE_TRIES);
		n->cmd_failed = 1;
	}
	n->cmd_pending = 0;
	notice_step(n);
}

static void
notice_cmd_exit(uv_process_t *p, int64_t status, int sig)
{
	struct notice_run *r = p->data;
	char why[64];

	uv_timer_stop(&r->timer);
	if (r->timed_out)
		snprintf(why, sizeof(why), "did not finish within %llds",
		         (long long)cfg->notify_timeout);
	else if (sig != 0)
		snprintf(why, sizeof(why), "was killed by signal %d", sig);
	else
		snprintf(why, sizeof(why), "exited with status %lld", (long long)status);
	notice_cmd_end(r, !r->timed_out && sig == 0 && status == 0, why);
}

static void
notice_cmd_timeout(uv_timer_t *t)
{
	struct notice_run *r = t->data;

	r->timed_out = 1;
	/* Its own session: whatever it started goes with it. */
	kill(-r->pid, SIGKILL);
}

static void
notice_cmd_written(uv_write_t *w, int status)
{
	struct notice_run *r = w->data;

	(void)status; /* a command that does not read its stdin gets EPIPE: its business */
	if (!uv_is_closing((uv_handle_t *)&r->in))
		uv_close((uv_handle_t *)&r->in, notice_run_closed);
}

static void
notice_cmd_start(struct notice *n)
{
	struct notice_run *r = xcalloc(1, sizeof(*r));
	uv_process_options_t o = {0};
	uv_stdio_container_t io[3];
	char **argv = notice_argv(cfg->notify_command);
	uv_buf_t buf;
	int rc;

	r->n = n;
	n->run = r;
	r->proc.data = r->in.data = r->timer.data = r->wr.data = r;
	uv_pipe_init(loop, &r->in, 0);
	uv_timer_init(loop, &r->timer);
	r->open = 3;
	io[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
	io[0].data.stream = (uv_stream_t *)&r->in;
	io[1].flags = io[2].flags = UV_IGNORE;
	o.file = argv[0];
	o.args = argv;
	o.stdio = io;
	o.stdio_count = 3;
	o.exit_cb = notice_cmd_exit;
	o.flags = UV_PROCESS_DETACHED; /* a session of its own, killed as a group */
	cmds++;
	rc = uv_spawn(loop, &r->proc, &o);
	notice_argv_free(argv);
	if (rc != 0) {
		char why[96];

		snprintf(why, sizeof(why), "cannot be started: %s", uv_strerror(rc));
		notice_cmd_end(r, 0, why);
		return;
	}
	r->pid = r->proc.pid;
	uv_timer_start(&r->timer, notice_cmd_timeout, (uint64_t)cfg->notify_timeout * 1000, 0);
	/* The event and a newline on stdin, then end of file. */
	buf = uv_buf_init(n->json, (unsigned)strlen(n->json));
	if (uv_write(&r->wr, (uv_stream_t *)&r->in, &buf, 1, notice_cmd_written) != 0)
		uv_close((uv_handle_t *)&r->in, notice_run_closed);
}

/* ---- the outcome ---- */

static void
notice_marked(void *arg, int ok, const char *err, json_t *rows)
{
	struct notice *n = arg;

	(void)ok;
	(void)err;
	(void)rows;
	if (!n->orphan)
		TAILQ_REMOVE(&flight, n, link);
	free(n->json);
	free(n);
	if (running && slot_wait) {
		slot_wait = 0;
		notice_pump();
	}
}

/* Both parts done (or given up): mark the row, free the notice. */
static void
notice_step(struct notice *n)
{
	double now = store_now();
	json_t *params;
	const char *sql;

	if (n->tty_pending || n->cmd_pending)
		return;
	if (!running) {
		notice_marked(n, 0, NULL, NULL);
		return;
	}
	if (n->cmd_failed && n->attempts >= NOTICE_TRIES) {
		log_err("notice %lld for %s: notify_command failed %d times; given up",
		        (long long)n->seq, n->user, n->attempts);
		sql = "UPDATE notices SET attempts = ?, failed_at = ? WHERE seq = ?";
		params = json_pack("[i, f, I]", n->attempts, now, (json_int_t)n->seq);
	} else if (n->cmd_failed) {
		double wait = NOTICE_BACKOFF_S * (double)(1 << (n->attempts - 1));

		sql = "UPDATE notices SET attempts = ?, next_at = ? WHERE seq = ?";
		uint64_t ms = (uint64_t)(wait * 1000) + 50;

		params = json_pack("[i, f, I]", n->attempts, now + wait, (json_int_t)n->seq);
		if (!uv_is_active((uv_handle_t *)&later) || uv_timer_get_due_in(&later) > ms)
			uv_timer_start(&later, notice_later, ms, 0);
	} else {
		sql = "UPDATE notices SET attempts = ?, delivered_at = ? WHERE seq = ?";
		params = json_pack("[i, f, I]", n->attempts, now, (json_int_t)n->seq);
	}
	if (store_run(sql, params, notice_marked, n) == -1)
		notice_marked(n, 0, NULL, NULL);
}
