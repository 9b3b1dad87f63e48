/*
 * wsd's configuration. Every keyword is declared once below; the lists
 * expand into the structs, the parser's keyword table and the defaults, so
 * the three cannot drift apart. config/wsd.conf documents each keyword.
 */
#ifndef WSD_CONFIG_H
#define WSD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* X(type, name, default, min, max) for the global section. */
#define CONFIG_GLOBAL_KEYS(X)                                                                      \
	X(STR, socket, "/run/wslab/wsd.sock", 0, 0)                                                \
	X(STR, engine, "unix:///var/run/docker.sock", 0, 0)                                        \
	X(STR, state_dir, "/var/lib/wslab", 0, 0)                                                  \
	X(STR, home_root, "/var/lib/wslab/home", 0, 0)                                             \
	X(STR, publish_address, "127.0.0.1", 0, 0)                                                 \
	X(STR, public_host, "", 0, 0)                                                              \
	X(STR, ssh_jump_host, "", 0, 0)                                                            \
	X(INT, port_min, 20000, 1024, 65535)                                                       \
	X(INT, port_max, 29999, 1024, 65535)                                                       \
	X(DUR, ready_timeout, 120, 1, 3600)                                                        \
	X(DUR, stop_timeout, 5, 0, 300)                                                            \
	X(DUR, engine_timeout, 60, 1, 600)                                                         \
	X(STR, instance, "default", 0, 0)                                                          \
	X(STR, network, "wslab", 0, 0)                                                             \
	X(STR, engine_mode, "docker", 0, 0)                                                        \
	X(STR, shared_dir, "", 0, 0)                                                               \
	X(DUR, swarm_poll, 2, 1, 60)                                                               \
	X(DUR, request_timeout, 10, 1, 600)                                                        \
	X(INT, max_connections, 512, 1, 100000)                                                    \
	X(INT, min_booting, 2, 1, 10000)                                                           \
	X(INT, max_booting, 0, -1, 10000)                                                          \
	X(INT, max_connections_per_user, 64, 1, 100000)                                            \
	X(INT, max_requests_per_user, 16, 1, 100000)                                               \
	X(DUR, keepalive_timeout, 30, 1, 3600)                                                     \
	X(STR, default_template, "offline", 0, 0)                                                  \
	X(STR, nvml_library, "libnvidia-ml.so.1", 0, 0)                                            \
	X(STR, static_gpus, "", 0, 0)                                                              \
	X(STR, gpu_mode, "auto", 0, 0)                                                             \
	X(DUR, gpu_refresh, 10, 1, 3600)                                                           \
	X(INT, quota_gpus, 1, -1, 100000)                                                          \
	X(INT, quota_workspaces, 2, -1, 100000)                                                    \
	X(SIZE, quota_memory, -1, -1, INT64_C(1) << 50)                                            \
	X(SIZE, quota_shm, -1, -1, INT64_C(1) << 50)                                               \
	X(DBL, quota_cpus, -1, -1, 1024)                                                           \
	X(DUR, quota_lifetime, -1, -1, INT64_C(366) * 86400)                                       \
	X(DBL, quota_gpu_hours, -1, -1, 1000000)                                                   \
	X(DUR, quota_idle_timeout, -1, -1, INT64_C(366) * 86400)                                   \
	X(DUR, idle_timeout_contended, -1, -1, INT64_C(366) * 86400)                               \
	X(INT, idle_gpu_util, 5, 0, 100)                                                           \
	X(DUR, idle_warn, 900, 0, INT64_C(7) * 86400)                                              \
	X(DUR, idle_check_interval, 60, 1, 3600)                                                   \
	X(DUR, lifetime_warn, 1800, 0, INT64_C(7) * 86400)                                         \
	X(DUR, quota_extension, 86400, -1, INT64_C(366) * 86400)                                   \
	X(STR, notify_command, "", 0, 0)                                                           \
	X(DUR, notify_timeout, 10, 1, 600)                                                         \
	X(STR, utmp_file, "/var/run/utmp", 0, 0)                                                   \
	X(INT, quota_queued, 1, -1, 100000)                                                        \
	X(DUR, queue_max_wait, 86400, 0, INT64_C(366) * 86400)                                     \
	X(STR, admin_group, "wslab-admin", 0, 0)                                                   \
	X(STR, log_level, "info", 0, 0)                                                            \
	X(STR, mount_roots, "", 0, 0)                                                              \
	X(STR, shared_mount_roots, "", 0, 0)                                                       \
	X(STR, mount_points, "", 0, 0)                                                             \
	X(STR, metrics_listen, "", 0, 0)                                                           \
	X(STR, web_listen, "", 0, 0)                                                               \
	X(STR, web_url, "", 0, 0)                                                                  \
	X(STR, web_tls_cert, "", 0, 0)                                                             \
	X(STR, web_tls_key, "", 0, 0)                                                              \
	X(STR, web_pam_service, "", 0, 0)                                                          \
	X(DUR, web_link_ttl, 60, 1, 3600)                                                          \
	X(DUR, web_session_ttl, 28800, 60, INT64_C(30) * 86400)

/* X(type, name, default, min, max) for each [template NAME] section. */
#define CONFIG_TEMPLATE_KEYS(X)                                                                    \
	X(STR, image, "", 0, 0)                                                                    \
	X(STR, description, "", 0, 0)                                                              \
	X(STR, url_path, "/tree", 0, 0)                                                            \
	X(SIZE, memory, INT64_C(4) << 30, INT64_C(64) << 20, INT64_C(1) << 50)                     \
	X(SIZE, memory_max, INT64_C(64) << 30, INT64_C(64) << 20, INT64_C(1) << 50)                \
	X(SIZE, shm, INT64_C(1) << 30, INT64_C(1) << 20, INT64_C(1) << 50)                         \
	X(SIZE, shm_max, INT64_C(16) << 30, INT64_C(1) << 20, INT64_C(1) << 50)                    \
	X(DBL, cpus, 2, 0.01, 1024)                                                                \
	X(DBL, cpus_max, 16, 0.01, 1024)                                                           \
	X(INT, pids_limit, 4096, 64, 1000000)                                                      \
	X(STR, memlock, "", 0, 0)                                                                  \
	X(SIZE, log_max_size, INT64_C(10) << 20, INT64_C(64) << 10, INT64_C(1) << 40)              \
	X(INT, log_max_files, 2, 1, 100)                                                           \
	X(SIZE, disk, 0, 0, INT64_C(1) << 50)

#define CONFIG_CTYPE_STR char *
#define CONFIG_CTYPE_INT int64_t
#define CONFIG_CTYPE_SIZE int64_t
#define CONFIG_CTYPE_DUR int64_t
#define CONFIG_CTYPE_DBL double

#define CONFIG_FIELD(type, name, def, min, max) CONFIG_CTYPE_##type name;

/*
 * A template is shared by the configuration that declared it and by every
 * workspace started from it, so that a reload that changes or drops it
 * leaves running workspaces with what they were started with.
 */
struct template
{
	char *name;
	int refs; /* the configuration's, and one per workspace (loop only) */
	int seq;  /* stable across reloads while the name stays: boot pacing's slot */
	CONFIG_TEMPLATE_KEYS(CONFIG_FIELD)
};

#define CONFIG_MAX_TEMPLATES 32

struct config {
	CONFIG_GLOBAL_KEYS(CONFIG_FIELD)
	struct template *templates[CONFIG_MAX_TEMPLATES];
	size_t ntemplates;
};

/*
 * Load path into cfg (defaults first, then the file). A missing file is
 * an error only when required is set. On error, returns -1 with
 * "file line N: what" in err; cfg then holds defaults and must be freed.
 */
int config_load(struct config *cfg, const char *path, int required, char *err, size_t errlen);
void config_defaults(struct config *cfg);
int config_parse_buffer(struct config *cfg, const char *name, const char *text, char *err,
                        size_t errlen);
void config_free(struct config *cfg);
const struct template *config_template(const struct config *cfg, const char *name);
/*
 * metrics_listen's value: "ADDRESS:PORT" with an IPv4 address, or
 * "[ADDRESS]:PORT" with an IPv6 one; port 1..65535. Returns 0 with host
 * and port, or -1 with why.
 */
/* 1 when host (an IP address as written) is a loopback address. */
int config_loopback(const char *host);
int config_listen_parse(const char *s, char *host, size_t hostlen, int *port, char *why,
                        size_t whylen);

/*
 * A template the configuration no longer has, for a running workspace
 * adopted after a restart: its name, image and URL path as the container's
 * labels say, defaults otherwise. Referenced once, by the caller.
 */
const struct template *config_template_detached(const char *name, const char *image,
                                                const char *url_path);
/* Take and drop a reference to a template (loop thread only). */
const struct template *config_template_ref(const struct template *t);
void config_template_unref(const struct template *t);

/*
 * What a reload did, for the log: the keys that changed and took effect,
 * and those that changed in the file but keep their old value until wsd
 * restarts. Comma-separated; "" when none.
 */
struct config_reload {
	char changed[1024];
	char kept[512];
	int templates_added, templates_removed, templates_changed;
};

/*
 * Move next, a freshly loaded configuration, into live: restart-only keys
 * (config_restart_only) keep live's value, everything else takes next's.
 * Templates keep their seq across reloads by name. next is left empty (it
 * must still be config_free'd). Loop thread only.
 */
void config_reload_apply(struct config *live, struct config *next, struct config_reload *r);
/* 1 when the keyword can change only with a restart. */
int config_restart_only(const char *key);

#endif
