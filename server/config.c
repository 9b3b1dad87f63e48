/*
 * A small line-based configuration format:
 *
 *     # comment
 *     key = value
 *     [template NAME]
 *     key = value
 *
 * Keywords come from the X-macro lists in config.h. Each value is checked
 * where it is read, and an error names the file, the line and the problem.
 * When the file declares no template, the built-in "offline" template (the
 * image that templates/offline/build.sh makes) is offered.
 */
#include "config.h"

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "path.h"
#include "size.h"
#include "xmalloc.h"

enum ctype { C_STR, C_INT, C_SIZE, C_DUR, C_DBL };

struct keyword {
	const char *name;
	enum ctype type;
	size_t offset;
	double min, max;
};

#define KW_GLOBAL(type, name, def, mn, mx)                                                         \
	{#name, C_##type, offsetof(struct config, name), (double)(mn), (double)(mx)},
#define KW_TEMPLATE(type, name, def, mn, mx)                                                       \
	{#name, C_##type, offsetof(struct template, name), (double)(mn), (double)(mx)},

static const struct keyword global_keys[] = {CONFIG_GLOBAL_KEYS(KW_GLOBAL)};
static const struct keyword template_keys[] = {CONFIG_TEMPLATE_KEYS(KW_TEMPLATE)};

#define DEF_STR(field, def) field = xstrdup(def)
#define DEF_INT(field, def) field = (def)
#define DEF_SIZE(field, def) field = (def)
#define DEF_DUR(field, def) field = (def)
#define DEF_DBL(field, def) field = (def)
#define SET_GLOBAL_DEFAULT(type, name, def, mn, mx) DEF_##type(cfg->name, def);
#define SET_TEMPLATE_DEFAULT(type, name, def, mn, mx) DEF_##type(t->name, def);

static struct template *
template_new(const char *name, int seq)
{
	struct template *t = xcalloc(1, sizeof(*t));

	t->name = xstrdup(name);
	t->refs = 1;
	t->seq = seq;
	CONFIG_TEMPLATE_KEYS(SET_TEMPLATE_DEFAULT)
	return t;
}

static void
template_free(struct template *t)
{
	free(t->name);
	for (size_t i = 0; i < sizeof(template_keys) / sizeof(template_keys[0]); i++)
		if (template_keys[i].type == C_STR)
			free(*(char **)((char *)t + template_keys[i].offset));
	free(t);
}

const struct template *
config_template_detached(const char *name, const char *image, const char *url_path)
{
	struct template *t = template_new(name, -1);

	free(t->image);
	t->image = xstrdup(image);
	if (url_path != NULL && url_path[0] == '/') {
		free(t->url_path);
		t->url_path = xstrdup(url_path);
	}
	return t;
}

const struct template *
config_template_ref(const struct template *t)
{
	((struct template *)t)->refs++;
	return t;
}

void
config_template_unref(const struct template *t)
{
	struct template *m = (struct template *)t;

	if (m != NULL && --m->refs == 0)
		template_free(m);
}

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	CONFIG_GLOBAL_KEYS(SET_GLOBAL_DEFAULT)
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < sizeof(global_keys) / sizeof(global_keys[0]); i++)
		if (global_keys[i].type == C_STR)
			free(*(char **)((char *)cfg + global_keys[i].offset));
	for (size_t i = 0; i < cfg->ntemplates; i++)
		config_template_unref(cfg->templates[i]);
	memset(cfg, 0, sizeof(*cfg));
}

const struct template *
config_template(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ntemplates; i++)
		if (strcmp(cfg->templates[i]->name, name) == 0)
			return cfg->templates[i];
	return NULL;
}

static int
set_value(void *base, const struct keyword *kw, const char *value, char *why, size_t whylen)
{
	void *field = (char *)base + kw->offset;
	int64_t v;
	double d;
	char *end;

	/* Keys whose minimum is -1 take "unlimited" (and no other negative value). */
	if (kw->min < 0 && kw->type != C_STR) {
		if (strcmp(value, "unlimited") == 0) {
			if (kw->type == C_DBL)
				*(double *)field = -1;
			else
				*(int64_t *)field = -1;
			return 0;
		}
		if (value[0] == '-') {
			snprintf(why, whylen, "%s: \"%s\" must be \"unlimited\" or not negative",
			         kw->name, value);
			return -1;
		}
	}
	switch (kw->type) {
	case C_STR:
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case C_INT:
		errno = 0;
		v = strtoll(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0') {
			snprintf(why, whylen, "%s: \"%s\" is not an integer", kw->name, value);
			return -1;
		}
		break;
	case C_SIZE:
		if (size_parse(value, &v) == -1) {
			snprintf(why, whylen, "%s: \"%s\" is not a size (like 512m or 8g)",
			         kw->name, value);
			return -1;
		}
		break;
	case C_DUR:
		if (duration_parse(value, &v) == -1) {
			snprintf(why, whylen, "%s: \"%s\" is not a duration (like 90s or 2m)",
			         kw->name, value);
			return -1;
		}
		break;
	case C_DBL:
		errno = 0;
		d = strtod(value, &end);
		if (errno != 0 || end == value || *end != '\0' || !(d >= kw->min && d <= kw->max)) {
			snprintf(why, whylen, "%s: \"%s\" is not a number in [%g, %g]", kw->name,
			         value, kw->min, kw->max);
			return -1;
		}
		*(double *)field = d;
		return 0;
	}
	if ((double)v < kw->min || (double)v > kw->max) {
		snprintf(why, whylen, "%s: %s is out of range [%.0f, %.0f]", kw->name, value,
		         kw->min, kw->max);
		return -1;
	}
	*(int64_t *)field = v;
	return 0;
}

static const struct keyword *
find_key(const struct keyword *keys, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
valid_template_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return 0;
	return 1;
}

static int
valid_instance(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	return 1;
}

/*
 * ssh_jump_host: host[:port] as OpenSSH's ProxyJump takes it, host a DNS
 * name, an IPv4 address or an [IPv6] address. The user is left out: each
 * student jumps as themselves. Nothing that ssh could read as an option
 * or as more than one host.
 */
static int
config_check_jump_host(const char *s, char *why, size_t whylen)
{
	const char *host = s, *end, *port = NULL;
	size_t n;

	if (*s == '\0')
		return 0;
	if (strchr(s, '@') != NULL) {
		snprintf(why, whylen,
		         "ssh_jump_host: \"%s\": give host[:port]; each student jumps as their "
		         "own user",
		         s);
		return -1;
	}
	if (*s == '[') {
		host = s + 1;
		end = strchr(host, ']');
		if (end == NULL || end == host || (end[1] != '\0' && end[1] != ':'))
			goto bad;
		for (const char *p = host; p < end; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				goto bad;
		if (end[1] == ':')
			port = end + 2;
	} else {
		end = strchr(s, ':');
		if (end != NULL) {
			if (strchr(end + 1, ':') != NULL) {
				snprintf(why, whylen,
				         "ssh_jump_host: \"%s\": an IPv6 address goes in brackets, "
				         "[::1]:22",
				         s);
				return -1;
			}
			port = end + 1;
		} else {
			end = s + strlen(s);
		}
		if (end == host || *host == '-' || *host == '.')
			goto bad;
		for (const char *p = host; p < end; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
				goto bad;
	}
	n = (size_t)(end - host);
	if (n > 253)
		goto bad;
	if (port != NULL) {
		char *e;
		long v;

		errno = 0;
		v = strtol(port, &e, 10);
		if (!isdigit((unsigned char)*port) || *e != '\0' || errno != 0 || v < 1 ||
		    v > 65535) {
			snprintf(why, whylen, "ssh_jump_host: \"%s\": the port must be 1 to 65535",
			         s);
			return -1;
		}
	}
	return 0;
bad:
	snprintf(why, whylen, "ssh_jump_host: \"%s\" is not host[:port] (a name or an address)", s);
	return -1;
}

/* Strings with a shape of their own, checked where they are read so that
 * the error names the line. */
static const struct {
	const char *key;
	int (*check)(const char *value, char *why, size_t whylen);
} str_checks[] = {
    {"ssh_jump_host", config_check_jump_host},
};

static int
config_check_str(const struct keyword *kw, const char *value, char *why, size_t whylen)
{
	for (size_t i = 0; i < sizeof(str_checks) / sizeof(str_checks[0]); i++)
		if (strcmp(str_checks[i].key, kw->name) == 0)
			return str_checks[i].check(value, why, whylen);
	return 0;
}

/*
 * The web page: plain HTTP only on a loopback address, since its cookies
 * and login links would otherwise cross the network in clear.
 */
static int
config_web(const struct config *cfg, char *why, size_t whylen)
{
	char host[64], w[200];
	int port;

	if ((cfg->web_tls_cert[0] == '\0') != (cfg->web_tls_key[0] == '\0')) {
		snprintf(why, whylen,
		         "web_tls_cert and web_tls_key go together: set both or neither");
		return -1;
	}
	if (cfg->web_url[0] != '\0' && strncmp(cfg->web_url, "https://", 8) != 0 &&
	    strncmp(cfg->web_url, "http://", 7) != 0) {
		snprintf(why, whylen, "web_url: \"%s\" must start with https:// or http://",
		         cfg->web_url);
		return -1;
	}
	if (cfg->web_listen[0] == '\0')
		return 0;
	if (config_listen_parse(cfg->web_listen, host, sizeof(host), &port, w, sizeof(w)) == -1) {
		snprintf(why, whylen, "web_listen: %s", w);
		return -1;
	}
	if (cfg->web_tls_cert[0] == '\0' && !config_loopback(host)) {
		snprintf(
		    why, whylen,
		    "web_listen: %s is not a loopback address, and plain HTTP would carry login "
		    "links and session cookies in clear: listen on 127.0.0.1 or ::1 (behind a "
		    "TLS proxy), or set web_tls_cert and web_tls_key",
		    host);
		return -1;
	}
	return 0;
}

int
config_loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

/* Mount roots and points: lists of absolute, normalised paths. */
static int
config_mounts(const struct config *cfg, char *why, size_t whylen)
{
	char w[400];

	if (path_list_check(cfg->mount_roots, w, sizeof(w)) == -1) {
		snprintf(why, whylen, "mount_roots: %s", w);
		return -1;
	}
	if (path_list_check(cfg->shared_mount_roots, w, sizeof(w)) == -1) {
		snprintf(why, whylen, "shared_mount_roots: %s", w);
		return -1;
	}
	if (path_mount_points_check(cfg->mount_points, w, sizeof(w)) == -1) {
		snprintf(why, whylen, "mount_points: %s", w);
		return -1;
	}
	return 0;
}

/* Checks that need the whole file. */
static int
config_finish(struct config *cfg, char *why, size_t whylen)
{
	enum log_level level;

	if (log_level_parse(cfg->log_level, &level) == -1) {
		snprintf(why, whylen, "log_level: \"%s\" is not error, warn, info or debug",
		         cfg->log_level);
		return -1;
	}
	if (strcmp(cfg->gpu_mode, "auto") != 0 && strcmp(cfg->gpu_mode, "nvidia") != 0 &&
	    strcmp(cfg->gpu_mode, "cdi") != 0) {
		snprintf(why, whylen, "gpu_mode: \"%s\" is not auto, nvidia or cdi", cfg->gpu_mode);
		return -1;
	}
	if (cfg->port_min > cfg->port_max || cfg->port_max - cfg->port_min < 1) {
		snprintf(why, whylen, "port_min..port_max must hold at least two ports");
		return -1;
	}
	if (cfg->socket[0] != '/' || cfg->state_dir[0] != '/' || cfg->home_root[0] != '/') {
		snprintf(why, whylen, "socket, state_dir and home_root must be absolute paths");
		return -1;
	}
	if (!valid_instance(cfg->instance)) {
		snprintf(why, whylen, "instance: \"%s\" must be 1 to 32 of a-z, 0-9, '-'",
		         cfg->instance);
		return -1;
	}
	/* An engine network's name: the same alphabet ("bridge" and "wslab" included). */
	if (!valid_instance(cfg->network)) {
		snprintf(why, whylen, "network: \"%s\" must be 1 to 32 of a-z, 0-9, '-'",
		         cfg->network);
		return -1;
	}
	if (strcmp(cfg->engine_mode, "docker") != 0 && strcmp(cfg->engine_mode, "swarm") != 0) {
		snprintf(why, whylen, "engine_mode: \"%s\" is not docker or swarm",
		         cfg->engine_mode);
		return -1;
	}
	if (cfg->shared_dir[0] != '\0' && cfg->shared_dir[0] != '/') {
		snprintf(why, whylen, "shared_dir must be an absolute path");
		return -1;
	}
	if (strcmp(cfg->engine_mode, "swarm") == 0 && cfg->shared_dir[0] == '\0') {
		snprintf(why, whylen,
		         "engine_mode = swarm needs shared_dir: a directory every node sees at "
		         "the same path (docs/scale-out.md)");
		return -1;
	}
	if (cfg->max_booting > 0 && cfg->min_booting > cfg->max_booting) {
		snprintf(why, whylen, "min_booting %lld is above max_booting %lld",
		         (long long)cfg->min_booting, (long long)cfg->max_booting);
		return -1;
	}
	if (strlen(cfg->socket) > 100 || strlen(cfg->state_dir) > 200 ||
	    strlen(cfg->home_root) > 200) {
		snprintf(why, whylen, "socket (100), state_dir and home_root (200) are too long");
		return -1;
	}
	if (cfg->ntemplates == 0) {
		struct template *t = template_new("offline", 0);

		free(t->image);
		t->image = xstrdup("wslab/offline:1");
		free(t->description);
		t->description = xstrdup("Debian's Jupyter, sshd and PyTorch (CPU), built offline");
		cfg->templates[0] = t;
		cfg->ntemplates = 1;
	}
	for (size_t i = 0; i < cfg->ntemplates; i++) {
		struct template *t = cfg->templates[i];

		if (t->image[0] == '\0') {
			snprintf(why, whylen, "template %s: image is required", t->name);
			return -1;
		}
		if (t->memory > t->memory_max || t->shm > t->shm_max || t->cpus > t->cpus_max) {
			snprintf(why, whylen, "template %s: a default is above its maximum",
			         t->name);
			return -1;
		}
		if (t->memlock[0] != '\0' && strcmp(t->memlock, "unlimited") != 0 &&
		    size_parse(t->memlock, &(int64_t){0}) == -1) {
			snprintf(why, whylen, "template %s: memlock must be unlimited or a size",
			         t->name);
			return -1;
		}
		if (t->url_path[0] != '/') {
			snprintf(why, whylen, "template %s: url_path must start with /", t->name);
			return -1;
		}
	}
	if (config_mounts(cfg, why, whylen) == -1)
		return -1;
	if (config_web(cfg, why, whylen) == -1)
		return -1;
	if (config_template(cfg, cfg->default_template) == NULL) {
		snprintf(why, whylen, "default_template: no template named \"%s\"",
		         cfg->default_template);
		return -1;
	}
	return 0;
}

int
config_listen_parse(const char *s, char *host, size_t hostlen, int *port, char *why, size_t whylen)
{
	unsigned char addr[sizeof(struct in6_addr)];
	const char *colon, *p;
	char h[INET6_ADDRSTRLEN + 1];
	size_t hlen;
	long v = 0;
	int v6 = 0;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		hlen = (size_t)(close - s - 1);
		memcpy(h, s + 1, hlen < sizeof(h) ? hlen : 0);
		colon = close + 1;
		v6 = 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			goto bad;
		hlen = (size_t)(colon - s);
		memcpy(h, s, hlen < sizeof(h) ? hlen : 0);
	}
	if (hlen == 0 || hlen >= sizeof(h) || hlen >= hostlen)
		goto bad;
	h[hlen] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, h, addr) != 1)
		goto bad;
	p = colon + 1;
	if (*p == '\0' || strlen(p) > 5)
		goto badport;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			goto badport;
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535)
		goto badport;
	memcpy(host, h, hlen + 1);
	*port = (int)v;
	return 0;
bad:
	snprintf(why, whylen,
	         "\"%s\" is not ADDRESS:PORT with an IP address "
	         "(like 127.0.0.1:9464 or [::1]:9464)",
	         s);
	return -1;
badport:
	snprintf(why, whylen, "\"%s\": the port must be 1 to 65535", s);
	return -1;
}

int
config_parse_buffer(struct config *cfg, const char *name, const char *text, char *err,
                    size_t errlen)
{
	struct template *cur = NULL;
	char *copy, *line, *next, why[512];
	int lineno = 0, ret = -1;

	copy = xstrdup(text);
	for (line = copy; line != NULL; line = next) {
		char *s, *eq, *key, *value;
		const struct keyword *kw;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');

			if (close == NULL || close[1] != '\0' ||
			    strncmp(s, "[template ", 10) != 0) {
				snprintf(why, sizeof(why), "expected [template NAME]");
				goto bad;
			}
			*close = '\0';
			key = trim(s + 10);
			if (!valid_template_name(key)) {
				snprintf(why, sizeof(why), "bad template name \"%s\"", key);
				goto bad;
			}
			if (config_template(cfg, key) != NULL) {
				snprintf(why, sizeof(why), "template %s declared twice", key);
				goto bad;
			}
			if (cfg->ntemplates == CONFIG_MAX_TEMPLATES) {
				snprintf(why, sizeof(why), "more than %d templates",
				         CONFIG_MAX_TEMPLATES);
				goto bad;
			}
			cur = template_new(key, (int)cfg->ntemplates);
			cfg->templates[cfg->ntemplates++] = cur;
			continue;
		}
		eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(why, sizeof(why), "expected key = value");
			goto bad;
		}
		*eq = '\0';
		key = trim(s);
		value = trim(eq + 1);
		if (cur == NULL)
			kw = find_key(global_keys, sizeof(global_keys) / sizeof(global_keys[0]),
			              key);
		else
			kw = find_key(template_keys,
			              sizeof(template_keys) / sizeof(template_keys[0]), key);
		if (kw == NULL) {
			snprintf(why, sizeof(why), "unknown keyword \"%s\"%s", key,
			         cur ? " in a template section" : "");
			goto bad;
		}
		if (set_value(cur ? (void *)cur : (void *)cfg, kw, value, why, sizeof(why)) == -1)
			goto bad;
		/* Checked here, so that the error names its line. */
		if (cur == NULL &&
		    (strcmp(kw->name, "metrics_listen") == 0 ||
		     strcmp(kw->name, "web_listen") == 0) &&
		    value[0] != '\0') {
			char what[200];

			if (config_listen_parse(value, (char[64]){0}, 64, &(int){0}, what,
			                        sizeof(what)) == -1) {
				snprintf(why, sizeof(why), "%s: %s", kw->name, what);
				goto bad;
			}
		}
		if (cur == NULL && kw->type == C_STR &&
		    config_check_str(kw, value, why, sizeof(why)) == -1)
			goto bad;
	}
	if (config_finish(cfg, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", name, why);
		goto out;
	}
	ret = 0;
	goto out;
bad:
	snprintf(err, errlen, "%s line %d: %s", name, lineno, why);
out:
	free(copy);
	return ret;
}

int
config_load(struct config *cfg, const char *path, int required, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	config_defaults(cfg);
	f = fopen(path, "re");
	if (f == NULL) {
		if (errno == ENOENT && !required)
			return config_parse_buffer(cfg, path, "", err, errlen);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	{
		FILE *m = open_memstream(&text, &len);
		char chunk[4096];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && len < (1 << 20))
			fwrite(chunk, 1, n, m);
		fclose(m);
	}
	fclose(f);
	if (len >= (1 << 20)) {
		snprintf(err, errlen, "%s: larger than 1 MiB", path);
		free(text);
		return -1;
	}
	ret = config_parse_buffer(cfg, path, text, err, errlen);
	free(text);
	return ret;
}

/*
 * Keys that the running daemon read once at start: where it listens and
 * keeps state, what names its containers carry, the address and port range
 * it publishes on, where GPUs come from and how boots are paced. A reload
 * names them in the log and keeps their old value.
 */
static const char *const restart_only[] = {
    "socket",         "engine",          "state_dir",    "home_root",   "instance",
    "network",        "publish_address", "port_min",     "port_max",    "gpu_mode",
    "nvml_library",   "static_gpus",     "gpu_refresh",  "min_booting", "max_booting",
    "metrics_listen", "web_listen",      "web_tls_cert", "web_tls_key", "engine_mode",
    "shared_dir",     "swarm_poll",
};

int
config_restart_only(const char *key)
{
	for (size_t i = 0; i < sizeof(restart_only) / sizeof(restart_only[0]); i++)
		if (strcmp(restart_only[i], key) == 0)
			return 1;
	return 0;
}

static int
config_value_equal(const struct keyword *kw, const void *a, const void *b)
{
	const void *fa = (const char *)a + kw->offset, *fb = (const char *)b + kw->offset;

	switch (kw->type) {
	case C_STR:
		return strcmp(*(char *const *)fa, *(char *const *)fb) == 0;
	case C_DBL:
		return *(const double *)fa == *(const double *)fb;
	default:
		return *(const int64_t *)fa == *(const int64_t *)fb;
	}
}

static int
config_template_equal(const struct template *a, const struct template *b)
{
	for (size_t i = 0; i < sizeof(template_keys) / sizeof(template_keys[0]); i++)
		if (!config_value_equal(&template_keys[i], a, b))
			return 0;
	return 1;
}

static void
config_list_add(char *list, size_t len, const char *name)
{
	size_t used = strlen(list);

	if (used + strlen(name) + 3 < len)
		snprintf(list + used, len - used, "%s%s", used ? ", " : "", name);
}

void
config_reload_apply(struct config *live, struct config *next, struct config_reload *r)
{
	static int seq_high = -1;
	struct config old;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < live->ntemplates; i++)
		if (live->templates[i]->seq > seq_high)
			seq_high = live->templates[i]->seq;
	for (size_t i = 0; i < sizeof(global_keys) / sizeof(global_keys[0]); i++) {
		const struct keyword *kw = &global_keys[i];

		int same = config_value_equal(kw, live, next);

		if (!same && !config_restart_only(kw->name)) {
			config_list_add(r->changed, sizeof(r->changed), kw->name);
			continue;
		}
		if (!same)
			config_list_add(r->kept, sizeof(r->kept), kw->name);
		/*
		 * Keep the old value, and for a string the old pointer too: what
		 * was handed out at start (the ports' address, say) stays valid.
		 * Swapped, so that next (the new live) holds it and old frees the new.
		 */
		if (kw->type == C_STR) {
			char **a = (char **)((char *)live + kw->offset);
			char **b = (char **)((char *)next + kw->offset);
			char *tmp = *a;

			*a = *b;
			*b = tmp;
		} else if (kw->type == C_DBL) {
			*(double *)((char *)next + kw->offset) =
			    *(double *)((char *)live + kw->offset);
		} else {
			*(int64_t *)((char *)next + kw->offset) =
			    *(int64_t *)((char *)live + kw->offset);
		}
	}
	for (size_t i = 0; i < next->ntemplates; i++) {
		struct template *t = next->templates[i];
		const struct template *was = config_template(live, t->name);

		if (was == NULL) {
			t->seq = ++seq_high;
			r->templates_added++;
		} else {
			t->seq = was->seq;
			r->templates_changed += !config_template_equal(was, t);
		}
	}
	for (size_t i = 0; i < live->ntemplates; i++)
		r->templates_removed += config_template(next, live->templates[i]->name) == NULL;
	old = *live;
	*live = *next;
	*next = old;
}
