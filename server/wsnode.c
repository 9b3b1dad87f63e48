/*
 * wsnode: the agent on each GPU node of a swarm-mode lab.
 *
 * Every --interval seconds it reads what only the node can see and writes
 * it, as one JSON file, to SHARED_DIR/nodes/NODE-ID.json (a new file, then
 * rename, so wsd never reads half of one):
 * - the GPUs NVML sees, their memory and utilisation, and their topology;
 * - the marker wsd wrote to SHARED_DIR/wsd-marker.json, and the one in
 *   HOME_ROOT/.wslab-marker as this node sees it: wsd uses a node only when
 *   both match its own (the node sees the lab's shared files);
 * - the SSH sessions in each workspace's container (the engine's top of
 *   containers labelled wslab.workspace), for idle reclaim.
 * The node id comes from the local engine (GET /info, Swarm.NodeID).
 *
 * It opens no port and needs no configuration besides the shared
 * directory. It is deliberately simple and blocking: one node, a few calls
 * every few seconds. The report's format is node_report.h's.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "gpu.h"
#include "node_report.h"
#include "nvml.h"

static volatile sig_atomic_t quit;
static const char *engine_sock = "/var/run/docker.sock";
static char last_error[512];

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

/* A problem is logged when it starts and when it ends, not every interval. */
static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
problem(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (strcmp(buf, last_error) != 0)
		fprintf(stderr, "wsnode: %s\n", buf);
	snprintf(last_error, sizeof(last_error), "%s", buf);
}

struct body {
	char *p;
	size_t len;
};

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n;

	if (b->len + add > (16u << 20))
		return 0;
	b->p = realloc(b->p, b->len + add + 1);
	if (b->p == NULL)
		return 0;
	memcpy(b->p + b->len, data, add);
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

/* GET path from the local engine: its JSON, or NULL (a problem is logged). */
static json_t *
engine_get(CURL *c, const char *path)
{
	char url[1024];
	struct body b = {0};
	long status = 0;
	json_t *j = NULL;
	CURLcode rc;

	snprintf(url, sizeof(url), "http://engine%s", path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, engine_sock);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK)
		problem("the engine at %s: %s", engine_sock, curl_easy_strerror(rc));
	else if (status != 200)
		problem("the engine answered %ld to GET %.200s", status, path);
	else if ((j = json_loadb(b.p ? b.p : "", b.len, 0, NULL)) == NULL)
		problem("the engine's answer to GET %.200s is not JSON", path);
	free(b.p);
	return j;
}

/* The first line of a small file, or "" (not there, or not readable). */
static void
first_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");

	out[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(out, (int)len, f) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	fclose(f);
}

/* wsd's marker as this node sees it in the shared directory and in the home root. */
static void
markers(const char *shared, char *sm, size_t slen, char *hm, size_t hlen)
{
	char path[1200];
	json_t *j;
	const char *m, *home;

	sm[0] = hm[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", shared, NODE_MARKER_FILE);
	if ((j = json_load_file(path, 0, NULL)) == NULL) {
		problem("cannot read %s: is the lab's shared_dir mounted here?", path);
		return;
	}
	m = json_string_value(json_object_get(j, "marker"));
	home = json_string_value(json_object_get(j, "home_root"));
	if (m != NULL)
		snprintf(sm, slen, "%s", m);
	if (home != NULL && home[0] == '/') {
		snprintf(path, sizeof(path), "%s/%s", home, NODE_HOME_MARKER);
		first_line(path, hm, hlen);
	}
	json_decref(j);
}

/* {service id: [sshd lines]} for the workspace containers running here. */
static json_t *
workspaces(CURL *c)
{
	json_t *list = engine_get(c, "/containers/json?filters=%7B%22label%22%3A%5B%22"
	                             "wslab.workspace%22%5D%7D");
	json_t *out = json_object(), *ct;
	size_t i;

	json_array_foreach(list, i, ct)
	{
		const char *id = json_string_value(json_object_get(ct, "Id"));
		const char *svc = json_string_value(
		    json_object_get(json_object_get(ct, "Labels"), "com.docker.swarm.service.id"));
		char path[256];
		json_t *top;
		const char **procs;
		size_t n = 0;

		if (id == NULL || svc == NULL || strlen(id) > 64 || strlen(svc) > 80)
			continue;
		/* The engine finds the container's processes by the PID column. */
		snprintf(path, sizeof(path), "/containers/%s/top?ps_args=-eo%%20pid,args", id);
		if ((top = engine_get(c, path)) == NULL)
			continue;
		procs =
		    calloc(json_array_size(json_object_get(top, "Processes")) + 1, sizeof(*procs));
		if (procs != NULL)
			n = top_commands(top, procs);
		json_object_set_new(out, svc, node_report_sshd(procs, n));
		free(procs);
		json_decref(top);
	}
	json_decref(list);
	return out;
}

static int
write_report(const char *shared, const char *id, const json_t *report)
{
	char path[1200], tmp[1300];
	char *text = json_dumps(report, JSON_COMPACT);
	size_t len = text ? strlen(text) : 0;
	int fd, ok;

	snprintf(path, sizeof(path), "%s/nodes/%s.json", shared, id);
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	ok = fd != -1 && text != NULL && write(fd, text, len) == (ssize_t)len;
	if (fd != -1 && close(fd) == -1)
		ok = 0;
	if (ok && rename(tmp, path) == -1)
		ok = 0;
	if (!ok) {
		problem("cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	free(text);
	return ok ? 0 : -1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: wsnode --shared-dir DIR [--engine SOCKET] [--nvml LIBRARY]\n"
	           "              [--interval SECONDS] [--once]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"shared-dir", required_argument, NULL, 's'},
	                                     {"engine", required_argument, NULL, 'e'},
	                                     {"nvml", required_argument, NULL, 'n'},
	                                     {"interval", required_argument, NULL, 'i'},
	                                     {"once", no_argument, NULL, '1'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {"version", no_argument, NULL, 'V'},
	                                     {NULL, 0, NULL, 0}};
	const char *shared = NULL, *nvml = "libnvidia-ml.so.1";
	int interval = 5, once = 0, opt, nvml_ok = 0;
	char nvml_why[160] = "";
	CURL *c;

	while ((opt = getopt_long(argc, argv, "s:e:n:i:1hV", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			shared = optarg;
			break;
		case 'e':
			engine_sock = optarg;
			break;
		case 'n':
			nvml = optarg;
			break;
		case 'i':
			interval = atoi(optarg);
			if (interval < 1 || interval > 600) {
				fprintf(stderr, "wsnode: --interval is 1 to 600 seconds\n");
				return 2;
			}
			break;
		case '1':
			once = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("wsnode %s\n", WSLAB_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (shared == NULL || shared[0] != '/' || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (strncmp(engine_sock, "unix://", 7) == 0)
		engine_sock += 7;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((c = curl_easy_init()) == NULL)
		return 1;
	fprintf(stderr, "wsnode %s: reporting to %s/nodes every %d s\n", WSLAB_VERSION, shared,
	        interval);
	while (!quit) {
		struct gpu_inventory *inv = calloc(1, sizeof(*inv));
		char sm[80], hm[80];
		json_t *info = engine_get(c, "/info"), *ws, *report;
		const char *id =
		    json_string_value(json_object_get(json_object_get(info, "Swarm"), "NodeID"));
		const char *host = json_string_value(json_object_get(info, "Name"));

		if (!nvml_ok && nvml_open(nvml, nvml_why, sizeof(nvml_why)) == 0)
			nvml_ok = 1;
		if (nvml_ok && nvml_read(inv, nvml_why, sizeof(nvml_why)) == 0)
			nvml_why[0] = '\0';
		if (id == NULL || id[0] == '\0' || strchr(id, '/') != NULL || strlen(id) >= 40) {
			if (info != NULL)
				problem("this engine is not a node of a swarm (no Swarm.NodeID)");
		} else {
			markers(shared, sm, sizeof(sm), hm, sizeof(hm));
			ws = workspaces(c);
			report = node_report_build(&(struct node_report_in){
			    .node_id = id,
			    .hostname = host ? host : "",
			    .time = (double)time(NULL),
			    .interval = interval,
			    .nvml = nvml_why[0] ? nvml_why : NULL,
			    .shared_marker = sm[0] ? sm : NULL,
			    .home_marker = hm[0] ? hm : NULL,
			    .gpus = inv,
			    .workspaces = ws,
			});
			if (write_report(shared, id, report) == 0 && last_error[0] != '\0') {
				fprintf(stderr, "wsnode: reporting again\n");
				last_error[0] = '\0';
			}
			json_decref(report);
			json_decref(ws);
		}
		json_decref(info);
		free(inv);
		if (once)
			break;
		for (int t = 0; t < interval * 10 && !quit; t++)
			usleep(100000);
	}
	curl_easy_cleanup(c);
	curl_global_cleanup();
	if (nvml_ok)
		nvml_close();
	return 0;
}
