/*
 * The web page. wsd serves it on web_listen through http.c (the same
 * parser, limits and timeouts as the socket); this file only decides what
 * a request means and draws HTML.
 *
 * Login without a password: `wsctl web` asks the socket (POST
 * /v1/web/link; the uid is SO_PEERCRED's) for a link holding 256 random
 * bits, good once and for web_link_ttl. Opening it creates a session with
 * a new random id (so nothing an attacker set beforehand can become a
 * session: no fixation), sent as an HttpOnly, SameSite=Strict cookie
 * (Secure under TLS or when web_url is https://), ending after web_session_ttl or at
 * logout. Links and sessions live in wsd's memory only: a restart logs
 * everyone out, by design, so that no session secret is ever on disk.
 *
 * Labs that want a login form set web_pam_service: then, over TLS only,
 * POST /login checks a user name and password with PAM on the pool (root
 * excepted), with at most 5 failures a minute per client address and per
 * user name; over plain HTTP no password is ever taken.
 *
 * Every state-changing request is a POST carrying the session's CSRF token
 * in a hidden field, compared in constant time.
 *
 * One implementation of each action: a page is drawn from the JSON
 * answers of api.c's handlers, and a form is turned into the API request
 * it stands for (POST /start into POST /v1/workspaces, ...). The request
 * goes to api_handle with the session user's identity looked up as for
 * the socket (http_identify), and its reply is captured (req->capture)
 * instead of sent: the same routes, checks, errors and audit records as
 * wsctl gets. Each call is made after the previous one answered, on the
 * loop; nothing here blocks.
 *
 * Everything from a user, the engine or the configuration is escaped
 * (html.c) before it is written into the page.
 */
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <unistd.h>

#include <http_parser.h>
#include <jansson.h>
#include <pwd.h>
#include <security/pam_appl.h>

#include "api.h"
#include "html.h"
#include "log.h"
#include "valid.h"
#include "web_text.h"
#include "xmalloc.h"

#define WEB_SECRET_BYTES 32 /* 256 bits */
#define WEB_SECRET_HEX (2 * WEB_SECRET_BYTES)
#define WEB_MAX_LINKS 256
#define WEB_MAX_LINKS_PER_UID 8
#define WEB_MAX_SESSIONS 1024
#define WEB_MAX_SESSIONS_PER_UID 16
#define WEB_COOKIE "wslab_session"
#define WEB_MAX_CALLS 5
#define WEB_HTML "text/html; charset=utf-8"
#define WEB_MAX_KEYS_TEXT (16 * 1024)

const char web_headers[] =
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'\r\n"
    "X-Frame-Options: DENY\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Cache-Control: no-store\r\n"
    "Cross-Origin-Opener-Policy: same-origin\r\n"
    "Cross-Origin-Resource-Policy: same-origin\r\n";

/* A one-time login link, not yet used. */
struct link {
	char token[WEB_SECRET_HEX + 1];
	uid_t uid;
	uint64_t expires; /* loop time, ms */
	LIST_ENTRY(link) entry;
};

struct session {
	char id[WEB_SECRET_HEX + 1];   /* the cookie's value */
	char csrf[WEB_SECRET_HEX + 1]; /* the forms' hidden field */
	uid_t uid;
	uint64_t created, expires; /* loop time, ms */
	LIST_ENTRY(session) entry;
};

static uv_loop_t *loop;
static LIST_HEAD(, link) links = LIST_HEAD_INITIALIZER(links);
static LIST_HEAD(, session) sessions = LIST_HEAD_INITIALIZER(sessions);
static size_t nlinks, nsessions;
static int64_t link_ttl = 60, session_ttl = 28800;
static char base_url[256]; /* the page's address, for links */
static int secure;         /* reached through https:// */
static int enabled;
static char tls_headers[1024]; /* web_headers and HSTS */
static char pam_service[64];   /* web_pam_service: "" when off */

/* Failed password logins, per client address and per user name, for a minute. */
#define WEB_PAM_FAILS 5
#define WEB_PAM_WINDOW_MS 60000
struct fails {
	char key[UNIX_NAME_MAX + 8];
	int n;
	uint64_t since;
	LIST_ENTRY(fails) entry;
};
static LIST_HEAD(, fails) fails = LIST_HEAD_INITIALIZER(fails);

/* One call of an API handler, made for a page. */
struct call {
	int method;
	const char *path;
	const char *query;
};

enum { P_HOME, P_ADMIN };
enum { ACT_NONE, ACT_START, ACT_STOP, ACT_ADMIN_STOP };

static const struct call home_calls[] = {
    {HTTP_GET, "/v1/workspaces", NULL}, {HTTP_GET, "/v1/gpus", NULL},
    {HTTP_GET, "/v1/quota", NULL},      {HTTP_GET, "/v1/info", NULL},
    {HTTP_GET, "/v1/usage", "days=28"},
};
static const struct call admin_calls[] = {
    {HTTP_GET, "/v1/admin/workspaces", NULL},
    {HTTP_GET, "/v1/admin/usage", NULL}, /* the period's query is the page's */
    {HTTP_GET, "/v1/admin/audit", "limit=30"},
};

/* A page being drawn, or a form being acted on, for one request. */
struct page {
	struct request *req;
	char csrf[WEB_SECRET_HEX + 1];
	char user[UNIX_NAME_MAX + 1];
	int admin;
	int kind;
	const struct call *calls;
	size_t ncalls, step;
	json_t *res[WEB_MAX_CALLS];
	int status[WEB_MAX_CALLS];
	char since[32]; /* the admin page's period, as given */
	int action;     /* a form's API call is out */
	int act_status; /* its refusal, shown on the page */
	char act_msg[512];
};

static void page_next(struct page *pg);

/* ---- replies ---- */

static void
reply_html(struct request *req, int status, const char *headers, struct html *h)
{
	size_t len;
	char *text = html_take(h, &len);

	http_reply_web(req, status, WEB_HTML, headers, text, len);
}

static void
page_open(struct html *h, const char *title)
{
	html_lit(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	            "<title>");
	html_esc(h, title);
	html_lit(h, "</title><link rel=\"stylesheet\" href=\"/style.css\">"
	            "<script src=\"/app.js\" defer></script></head><body>\n");
}

/* A short page with one message (login, refusals, not found). */
static void
reply_message(struct request *req, int status, const char *headers, const char *title,
              const char *msg)
{
	struct html h = {0};

	page_open(&h, title);
	html_lit(&h, "<main><h1>");
	html_esc(&h, title);
	html_lit(&h, "</h1><p class=\"msg\">");
	html_esc(&h, msg);
	html_lit(&h, "</p><p><a href=\"/\">wslab</a></p></main></body></html>\n");
	reply_html(req, status, headers, &h);
}

static void
redirect(struct request *req, const char *to, const char *cookie)
{
	char headers[512];

	snprintf(headers, sizeof(headers), "Location: %s\r\n%s", to, cookie ? cookie : "");
	http_reply_web(req, 303, WEB_HTML, headers, xstrdup(""), 0);
}

/* ---- links and sessions ---- */

static int
random_hex(char *out)
{
	unsigned char b[WEB_SECRET_BYTES];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -1;
	web_hex(b, sizeof(b), out);
	explicit_bzero(b, sizeof(b));
	return 0;
}

static void
link_drop(struct link *l)
{
	LIST_REMOVE(l, entry);
	nlinks--;
	explicit_bzero(l, sizeof(*l));
	free(l);
}

static void
session_drop(struct session *s)
{
	LIST_REMOVE(s, entry);
	nsessions--;
	explicit_bzero(s, sizeof(*s));
	free(s);
}

/* Forget what has expired. */
static void
sweep(void)
{
	uint64_t now = uv_now(loop);
	struct link *l, *ln;
	struct session *s, *sn;

	for (l = LIST_FIRST(&links); l != NULL; l = ln) {
		ln = LIST_NEXT(l, entry);
		if (l->expires <= now)
			link_drop(l);
	}
	for (s = LIST_FIRST(&sessions); s != NULL; s = sn) {
		sn = LIST_NEXT(s, entry);
		if (s->expires <= now)
			session_drop(s);
	}
}

/*
 * The session a request's cookie names, if it has not expired. Every
 * session is compared, each in constant time: how long this takes says
 * nothing of how close a guess came.
 */
static struct session *
session_find(const struct request *req)
{
	char id[WEB_SECRET_HEX + 1];
	struct session *s, *found = NULL;

	if (req->cookie == NULL || web_cookie_get(req->cookie, WEB_COOKIE, id, sizeof(id)) != 1 ||
	    strlen(id) != WEB_SECRET_HEX)
		return NULL;
	LIST_FOREACH(s, &sessions, entry) {
		if (web_secret_equal(id, s->id))
			found = s;
	}
	explicit_bzero(id, sizeof(id));
	if (found != NULL && found->expires <= uv_now(loop)) {
		session_drop(found);
		found = NULL;
	}
	return found;
}

static struct session *
session_new(uid_t uid)
{
	struct session *s, *oldest = NULL, *any_oldest = NULL;
	size_t mine = 0;

	sweep();
	LIST_FOREACH(s, &sessions, entry) {
		if (any_oldest == NULL || s->created < any_oldest->created)
			any_oldest = s;
		if (s->uid != uid)
			continue;
		mine++;
		if (oldest == NULL || s->created < oldest->created)
			oldest = s;
	}
	/* Caps: a user's oldest session goes first, then anyone's. */
	if (mine >= WEB_MAX_SESSIONS_PER_UID && oldest != NULL)
		session_drop(oldest);
	else if (nsessions >= WEB_MAX_SESSIONS && any_oldest != NULL)
		session_drop(any_oldest);
	s = xcalloc(1, sizeof(*s));
	if (random_hex(s->id) == -1 || random_hex(s->csrf) == -1) {
		free(s);
		return NULL;
	}
	s->uid = uid;
	s->created = uv_now(loop);
	s->expires = s->created + (uint64_t)session_ttl * 1000;
	LIST_INSERT_HEAD(&sessions, s, entry);
	nsessions++;
	return s;
}

/* The Set-Cookie header line of a session (NULL: end the cookie). */
static void
session_cookie(const struct session *s, char *out, size_t len)
{
	if (s == NULL)
		snprintf(out, len,
		         "Set-Cookie: " WEB_COOKIE "=; Path=/; Max-Age=0; HttpOnly; "
		         "SameSite=Strict%s\r\n",
		         secure ? "; Secure" : "");
	else
		snprintf(out, len,
		         "Set-Cookie: " WEB_COOKIE "=%s; Path=/; Max-Age=%lld; HttpOnly; "
		         "SameSite=Strict%s\r\n",
		         s->id, (long long)session_ttl, secure ? "; Secure" : "");
}

void
web_link(struct request *req, route_arg *args)
{
	struct link *l, *oldest = NULL;
	size_t mine = 0;
	char *url;
	json_t *o;

	(void)args;
	if (!enabled) {
		http_reply_error(req, 409, "web_off",
		                 "the web page is off on this server (web_listen is not set)");
		return;
	}
	if (req->web) {
		http_reply_error(req, 403, "forbidden", "login links are given on the socket only");
		return;
	}
	sweep();
	LIST_FOREACH(l, &links, entry) {
		if (l->uid != req->uid)
			continue;
		mine++;
		if (oldest == NULL || l->expires < oldest->expires)
			oldest = l;
	}
	if (mine >= WEB_MAX_LINKS_PER_UID && oldest != NULL)
		link_drop(oldest);
	if (nlinks >= WEB_MAX_LINKS) {
		http_reply_error(req, 429, "too_many_links",
		                 "too many login links are waiting to be used; try again in %lld s",
		                 (long long)link_ttl);
		return;
	}
	l = xcalloc(1, sizeof(*l));
	if (random_hex(l->token) == -1) {
		free(l);
		http_reply_error(req, 500, "internal", "no random bytes for a link");
		return;
	}
	l->uid = req->uid;
	l->expires = uv_now(loop) + (uint64_t)link_ttl * 1000;
	LIST_INSERT_HEAD(&links, l, entry);
	nlinks++;
	if (asprintf(&url, "%s/login?t=%s", base_url, l->token) < 0)
		abort();
	log_info("web: a login link for uid %u (%s), good once for %lld s", (unsigned)req->uid,
	         req->user, (long long)link_ttl);
	o = json_pack("{s:s, s:I}", "url", url, "expires_in", (json_int_t)link_ttl);
	explicit_bzero(url, strlen(url));
	free(url);
	http_reply_json(req, 201, o);
}

/* GET /login?t=TOKEN: used once, it becomes a new session. */
static void
login(struct request *req)
{
	char tok[WEB_SECRET_HEX + 1], cookie[256];
	struct link *l, *found = NULL;
	struct session *s;
	uid_t uid;

	sweep(); /* an expired link is gone before it is looked for */
	if (req->query == NULL || web_form_get(req->query, "t", tok, sizeof(tok)) != 1 ||
	    strlen(tok) != WEB_SECRET_HEX) {
		reply_message(req, 403, NULL, "Login refused",
		              "This login link is not valid. Run wsctl web for a new one.");
		return;
	}
	LIST_FOREACH(l, &links, entry) {
		if (web_secret_equal(tok, l->token))
			found = l;
	}
	explicit_bzero(tok, sizeof(tok));
	if (found == NULL) {
		log_info("web: a login link from %s refused (used, expired or unknown)",
		         req->peer_addr ? req->peer_addr : "?");
		reply_message(req, 403, NULL, "Login refused",
		              "This login link was used already, has expired, or was never "
		              "given. Run wsctl web for a new one.");
		return;
	}
	uid = found->uid;
	link_drop(found); /* single use, whatever follows */
	/* A session the browser held before is ended: the new one replaces it. */
	if ((s = session_find(req)) != NULL)
		session_drop(s);
	if ((s = session_new(uid)) == NULL) {
		reply_message(req, 500, NULL, "Login failed", "No random bytes for a session.");
		return;
	}
	log_info("web: uid %u logged in from %s", (unsigned)uid,
	         req->peer_addr ? req->peer_addr : "?");
	session_cookie(s, cookie, sizeof(cookie));
	redirect(req, "/", cookie);
	explicit_bzero(cookie, sizeof(cookie));
}

/* ---- the login page, and password login through PAM (web_pam_service) ---- */

static void
login_page(struct request *req, int status, const char *error)
{
	struct html h = {0};

	page_open(&h, "wslab: log in");
	html_lit(&h, "<main><h1>wslab: log in</h1>");
	if (error != NULL) {
		html_lit(&h, "<p class=\"error\" id=\"error\">");
		html_esc(&h, error);
		html_lit(&h, "</p>");
	}
	html_lit(&h,
	         "<p class=\"msg\">Log in with a one-time link: run wsctl web on the lab server "
	         "and open the link it prints (it is good once, for a minute).</p>");
	/* A password crosses the network only inside TLS. */
	if (pam_service[0] != '\0' && req->tls)
		html_lit(&h, "<form method=\"post\" action=\"/login\" id=\"login-form\">"
		             "<label>User <input name=\"user\" id=\"user-name\" "
		             "autocomplete=\"username\" required></label>"
		             "<label>Password <input name=\"password\" id=\"password\" "
		             "type=\"password\" autocomplete=\"current-password\" required></label>"
		             "<button type=\"submit\" id=\"login\">Log in</button></form>");
	html_lit(&h, "</main></body></html>\n");
	reply_html(req, status, NULL, &h);
}

static struct fails *
fails_get(const char *key, int create)
{
	uint64_t now = uv_now(loop);
	struct fails *f, *fn;

	for (f = LIST_FIRST(&fails); f != NULL; f = fn) {
		fn = LIST_NEXT(f, entry);
		if (now - f->since >= WEB_PAM_WINDOW_MS) {
			LIST_REMOVE(f, entry);
			free(f);
		} else if (strcmp(f->key, key) == 0) {
			return f;
		}
	}
	if (!create)
		return NULL;
	f = xcalloc(1, sizeof(*f));
	snprintf(f->key, sizeof(f->key), "%s", key);
	f->since = now;
	LIST_INSERT_HEAD(&fails, f, entry);
	return f;
}

struct pam_try {
	uv_work_t work;
	struct request *req;
	char service[64];
	char user[UNIX_NAME_MAX + 1];
	char password[256];
	char addr[48];
	char addr_key[64], user_key[UNIX_NAME_MAX + 8];
	int ok;
	uid_t uid;
};

static int
pam_conv_cb(int n, const struct pam_message **msg, struct pam_response **resp, void *arg)
{
	struct pam_try *t = arg;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		/* The password for a hidden prompt; nothing for anything else. */
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF &&
		    (r[i].resp = strdup(t->password)) == NULL) {
			for (int k = 0; k < i; k++)
				free(r[k].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* On the pool: PAM may sleep (fail delays) or ask a network service. */
static void
pam_work(uv_work_t *w)
{
	struct pam_try *t = w->data;
	struct pam_conv conv = {pam_conv_cb, t};
	pam_handle_t *ph = NULL;
	struct passwd pw, *res = NULL;
	char buf[4096];
	int r;

	r = pam_start(t->service, t->user, &conv, &ph);
	if (r == PAM_SUCCESS)
		r = pam_authenticate(ph, PAM_DISALLOW_NULL_AUTHTOK);
	if (r == PAM_SUCCESS)
		r = pam_acct_mgmt(ph, PAM_DISALLOW_NULL_AUTHTOK);
	if (ph != NULL)
		pam_end(ph, r);
	explicit_bzero(t->password, sizeof(t->password));
	/* root logs in with wsctl web only. */
	if (r == PAM_SUCCESS && getpwnam_r(t->user, &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL && pw.pw_uid != 0) {
		t->ok = 1;
		t->uid = pw.pw_uid;
	}
}

static void
pam_done(uv_work_t *w, int status)
{
	struct pam_try *t = w->data;
	struct session *s;
	char cookie[256];

	if (status != 0 || !t->ok) {
		fails_get(t->addr_key, 1)->n++;
		fails_get(t->user_key, 1)->n++;
		log_info("web: password login as %s from %s failed", t->user, t->addr);
		login_page(t->req, 403, "Login failed: wrong user name or password.");
		goto out;
	}
	if ((s = session_new(t->uid)) == NULL) {
		login_page(t->req, 500, "No random bytes for a session.");
		goto out;
	}
	log_info("web: uid %u (%s) logged in with a password from %s", (unsigned)t->uid, t->user,
	         t->addr);
	session_cookie(s, cookie, sizeof(cookie));
	redirect(t->req, "/", cookie);
	explicit_bzero(cookie, sizeof(cookie));
out:
	explicit_bzero(t, sizeof(*t));
	free(t);
}

/*
 * POST /login with user and password: over TLS only, when web_pam_service
 * is set; at most WEB_PAM_FAILS failures a minute per client address and
 * per user name, then refused without asking PAM.
 */
static void
pam_login(struct request *req)
{
	struct pam_try *t;
	struct fails *fa, *fu;
	const char *body = req->body ? req->body : "";

	if (pam_service[0] == '\0') {
		reply_message(req, 404, NULL, "Not found", "Password login is off on this server.");
		return;
	}
	if (!req->tls) {
		reply_message(req, 403, NULL, "Refused",
		              "Password login needs TLS (web_tls_cert): a password is never "
		              "taken over plain HTTP.");
		return;
	}
	t = xcalloc(1, sizeof(*t));
	if (web_form_get(body, "user", t->user, sizeof(t->user)) != 1 || t->user[0] == '\0' ||
	    web_form_get(body, "password", t->password, sizeof(t->password)) != 1) {
		explicit_bzero(t, sizeof(*t));
		free(t);
		login_page(req, 400, "Give a user name and a password.");
		return;
	}
	snprintf(t->addr, sizeof(t->addr), "%s", req->peer_addr ? req->peer_addr : "?");
	snprintf(t->addr_key, sizeof(t->addr_key), "addr:%s", t->addr);
	snprintf(t->user_key, sizeof(t->user_key), "user:%s", t->user);
	fa = fails_get(t->addr_key, 0);
	fu = fails_get(t->user_key, 0);
	if ((fa != NULL && fa->n >= WEB_PAM_FAILS) || (fu != NULL && fu->n >= WEB_PAM_FAILS)) {
		log_info("web: password login as %s from %s refused: too many failures", t->user,
		         t->addr);
		explicit_bzero(t, sizeof(*t));
		free(t);
		login_page(req, 429, "Too many failed logins; wait a minute.");
		return;
	}
	snprintf(t->service, sizeof(t->service), "%s", pam_service);
	t->req = req;
	t->work.data = t;
	if (uv_queue_work(loop, &t->work, pam_work, pam_done) != 0) {
		explicit_bzero(t, sizeof(*t));
		free(t);
		login_page(req, 500, "Cannot queue the login.");
	}
}

/* ---- static files ---- */

static const char style_css[] =
    "body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}\n"
    "header{display:flex;gap:1em;align-items:center;padding:.5em 1em;background:#234;color:#fff}\n"
    "header a{color:#fff}header form{margin-left:auto}\n"
    "main{padding:0 1em 2em}section{margin:1.2em 0}\n"
    "table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em "
    ".5em;text-align:left;vertical-align:top}\n"
    "th{background:#eee}.error{background:#fdd;border:1px solid #c66;padding:.5em}\n"
    "pre{margin:0;font-size:.85em}.state-ready{color:#070}.state-failed{color:#a00}\n"
    "form.inline{display:inline}label{margin-right:.8em}.chart{background:#fff;border:1px "
    "solid #ddd}\n";

static const char app_js[] =
    "// Live refresh: the page's main part is fetched again every 10 s while\n"
    "// nothing in it has focus. Without JavaScript the page is the same, only still.\n"
    "(function () {\n"
    "  function refresh() {\n"
    "    var main = document.querySelector('main');\n"
    "    if (!main || document.hidden || main.contains(document.activeElement)) return;\n"
    "    fetch(location.pathname + location.search, {credentials: 'same-origin', cache: "
    "'no-store'})\n"
    "      .then(function (r) { return r.ok ? r.text() : null; })\n"
    "      .then(function (t) {\n"
    "        if (!t) return;\n"
    "        var fresh = new DOMParser().parseFromString(t, 'text/html').querySelector('main');\n"
    "        if (fresh && !main.contains(document.activeElement))\n"
    "          main.replaceWith(document.importNode(fresh, true));\n"
    "      }).catch(function () {});\n"
    "  }\n"
    "  setInterval(refresh, 10000);\n"
    "})();\n";

static void
reply_static(struct request *req, const char *type, const char *text)
{
	http_reply_web(req, 200, type, NULL, xstrdup(text), strlen(text));
}

/* ---- drawing ---- */

static const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* A JSON value as text: numbers plainly, null as "-", strings escaped. */
static void
html_value(struct html *h, const json_t *v)
{
	if (json_is_string(v))
		html_esc(h, json_string_value(v));
	else if (json_is_integer(v))
		html_printf(h, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		html_printf(h, "%.2f", json_real_value(v));
	else if (json_is_true(v))
		html_lit(h, "yes");
	else if (json_is_false(v))
		html_lit(h, "no");
	else
		html_lit(h, "-");
}

static void
html_size(struct html *h, double bytes)
{
	if (bytes >= 1024.0 * 1024 * 1024)
		html_printf(h, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
	else
		html_printf(h, "%.0f MiB", bytes / (1024.0 * 1024));
}

static void
csrf_field(struct html *h, const struct page *pg)
{
	html_lit(h, "<input type=\"hidden\" name=\"csrf\" value=\"");
	html_esc(h, pg->csrf);
	html_lit(h, "\">");
}

static void
page_header(struct html *h, const struct page *pg, const char *title)
{
	page_open(h, title);
	html_lit(h, "<header><strong>wslab</strong><a href=\"/\">My workspaces</a>");
	if (pg->admin)
		html_lit(h, "<a href=\"/admin\" id=\"admin-link\">Admin</a>");
	html_lit(h, "<span id=\"user\">");
	html_esc(h, pg->user);
	html_lit(h, "</span><form method=\"post\" action=\"/logout\">");
	csrf_field(h, pg);
	html_lit(h,
	         "<button type=\"submit\" id=\"logout\">Log out</button></form></header>\n<main>");
	if (pg->act_status != 0) {
		html_printf(h, "<p class=\"error\" id=\"error\">Refused (%d): ", pg->act_status);
		html_esc(h, pg->act_msg);
		html_lit(h, "</p>");
	}
}

/* A section whose API call failed says so, with the API's message. */
static int
section_failed(struct html *h, const struct page *pg, size_t i)
{
	json_t *err;

	if (pg->status[i] >= 200 && pg->status[i] < 300 && pg->res[i] != NULL)
		return 0;
	err = json_object_get(pg->res[i], "error");
	html_printf(h, "<p class=\"error\">(%d) ", pg->status[i]);
	html_esc(h, err ? jstr(err, "message") : "no answer");
	html_lit(h, "</p>");
	return 1;
}

static void
ssh_snippet(struct html *h, const json_t *ws, const json_t *info)
{
	const char *jump = jstr(info, "ssh_jump_host");
	json_int_t port = json_integer_value(json_object_get(ws, "ssh_port"));

	if (port <= 0)
		return;
	html_lit(h, "<pre class=\"ssh\">ssh -p ");
	html_printf(h, "%lld ", (long long)port);
	if (jump[0] != '\0') {
		html_lit(h, "-J ");
		html_esc(h, jump);
		html_lit(h, " ");
	}
	html_esc(h, jstr(ws, "ssh_user"));
	html_lit(h, "@");
	html_esc(h, jump[0] != '\0' ? jstr(info, "workspace_address") : jstr(ws, "ssh_host"));
	html_lit(h, "</pre><details><summary>ssh config</summary><pre>Host wslab-");
	html_esc(h, jstr(ws, "name"));
	html_lit(h, "\n  HostName ");
	html_esc(h, jump[0] != '\0' ? jstr(info, "workspace_address") : jstr(ws, "ssh_host"));
	html_printf(h, "\n  Port %lld\n  User ", (long long)port);
	html_esc(h, jstr(ws, "ssh_user"));
	if (jump[0] != '\0') {
		html_lit(h, "\n  ProxyJump ");
		html_esc(h, jump);
	}
	html_lit(h, "\n</pre>(or: wsctl ssh-config, which pins the host key)</details>");
}

/* The workspaces table; all: the admin view (owner column, admin stop). */
static void
draw_workspaces(struct html *h, const struct page *pg, const json_t *list, const json_t *info,
                int all)
{
	json_t *ws;
	size_t i, n = 0;

	html_lit(h, "<table id=\"workspaces\"><tr>");
	if (all)
		html_lit(h, "<th>Owner</th>");
	html_lit(h, "<th>Name</th><th>State</th><th>Template</th><th>GPUs</th><th>Limits</th>"
	            "<th>Access</th><th>Times</th><th></th></tr>\n");
	json_array_foreach(json_object_get(list, "workspaces"), i, ws)
	{
		const char *state = jstr(ws, "state"), *url = jstr(ws, "jupyter_url");
		json_t *g;
		size_t k;

		n++;
		html_lit(h, "<tr class=\"ws\" data-name=\"");
		html_esc(h, jstr(ws, "name"));
		html_lit(h, "\">");
		if (all) {
			html_lit(h, "<td>");
			html_esc(h, jstr(ws, "owner"));
			html_lit(h, "</td>");
		}
		html_lit(h, "<td class=\"name\">");
		html_esc(h, jstr(ws, "name"));
		html_lit(h, "</td><td class=\"state state-");
		html_esc(h, state);
		html_lit(h, "\">");
		html_esc(h, state);
		if (json_object_get(ws, "error") != NULL) {
			html_lit(h, "<br>");
			html_esc(h, jstr(ws, "error"));
		}
		html_lit(h, "</td><td>");
		html_esc(h, jstr(ws, "template"));
		html_lit(h, "</td><td>");
		json_array_foreach(json_object_get(ws, "gpus"), k, g)
		{
			html_printf(h, "%s%lld ", k ? "<br>" : "",
			            (long long)json_integer_value(json_object_get(g, "index")));
			html_esc(h, jstr(g, "name"));
		}
		html_lit(h, "</td><td>mem ");
		html_size(h, json_number_value(json_object_get(ws, "memory")));
		html_lit(h, "<br>shm ");
		html_size(h, json_number_value(json_object_get(ws, "shm")));
		html_printf(h, "<br>cpus %.2f</td><td>",
		            json_number_value(json_object_get(ws, "cpus")));
		if (url[0] != '\0') {
			html_lit(
			    h, "<a class=\"jupyter\" rel=\"noreferrer noopener\" target=\"_blank\" "
			       "href=\"");
			html_esc(h, url);
			html_lit(h, "\">Jupyter</a>");
		}
		if (!all && strcmp(state, "ready") == 0)
			ssh_snippet(h, ws, info);
		html_lit(h, "</td><td>created ");
		html_value(h, json_object_get(ws, "created_at"));
		if (json_is_string(json_object_get(ws, "idle_since"))) {
			html_lit(h, "<br>idle since ");
			html_value(h, json_object_get(ws, "idle_since"));
			html_lit(h, "<br>reclaimed at ");
			html_value(h, json_object_get(ws, "reclaim_at"));
		}
		if (json_is_string(json_object_get(ws, "expires_at"))) {
			html_lit(h, "<br>expires ");
			html_value(h, json_object_get(ws, "expires_at"));
		}
		html_lit(h, "</td><td>");
		if (strcmp(state, "stopping") != 0 && strcmp(state, "stopped") != 0) {
			html_lit(h, all ? "<form method=\"post\" action=\"/admin/stop\">"
			                : "<form method=\"post\" action=\"/stop\">");
			csrf_field(h, pg);
			if (all) {
				html_lit(h, "<input type=\"hidden\" name=\"owner\" value=\"");
				html_esc(h, jstr(ws, "owner"));
				html_lit(h, "\">");
			}
			html_lit(h, "<input type=\"hidden\" name=\"id\" value=\"");
			html_esc(h, jstr(ws, "id"));
			html_lit(h, "\"><button type=\"submit\" class=\"stop\" id=\"stop-");
			if (all) {
				html_esc(h, jstr(ws, "owner"));
				html_lit(h, "-");
			}
			html_esc(h, jstr(ws, "name"));
			html_lit(h, "\">Stop</button></form>");
		}
		html_lit(h, "</td></tr>\n");
	}
	html_lit(h, "</table>");
	if (n == 0)
		html_lit(h, "<p id=\"no-workspaces\">No workspaces.</p>");
}

static void
draw_start_form(struct html *h, const struct page *pg, const json_t *info)
{
	json_t *t;
	size_t i;

	html_lit(h, "<form method=\"post\" action=\"/start\" id=\"start-form\">");
	csrf_field(h, pg);
	html_lit(h, "<label>Template <select name=\"template\" id=\"template\">");
	json_array_foreach(json_object_get(info, "templates"), i, t)
	{
		html_lit(h, "<option value=\"");
		html_esc(h, jstr(t, "name"));
		html_lit(h, "\"");
		if (strcmp(jstr(t, "name"), jstr(info, "default_template")) == 0)
			html_lit(h, " selected");
		html_lit(h, ">");
		html_esc(h, jstr(t, "name"));
		if (jstr(t, "description")[0] != '\0') {
			html_lit(h, ": ");
			html_esc(h, jstr(t, "description"));
		}
		html_lit(h, " (memory up to ");
		html_size(h, json_number_value(json_object_get(t, "memory_max")));
		html_printf(h, ", cpus up to %.2f)",
		            json_number_value(json_object_get(t, "cpus_max")));
		html_lit(h, "</option>");
	}
	html_lit(h, "</select></label>"
	            "<label>Name <input name=\"name\" id=\"name\" maxlength=\"64\" "
	            "placeholder=\"optional\"></label>"
	            "<label>GPUs <input name=\"gpus\" id=\"gpus\" type=\"number\" min=\"0\" "
	            "value=\"0\"></label>"
	            "<label>Memory <input name=\"memory\" id=\"memory\" size=\"6\" "
	            "placeholder=\"default\"></label>"
	            "<label>shm <input name=\"shm\" id=\"shm\" size=\"6\" "
	            "placeholder=\"default\"></label>"
	            "<label>CPUs <input name=\"cpus\" id=\"cpus\" size=\"4\" "
	            "placeholder=\"default\"></label>"
	            "<br><label>SSH public key(s), one a line (your laptop's ~/.ssh/id_ed25519.pub)"
	            "<br><textarea name=\"ssh_key\" id=\"ssh_key\" rows=\"2\" cols=\"80\" "
	            "required></textarea></label><br>"
	            "<button type=\"submit\" id=\"start\">Start</button></form>");
}

static void
draw_gpus(struct html *h, const json_t *r)
{
	json_t *g;
	size_t i;

	html_printf(h, "<p>%lld free</p>",
	            (long long)json_integer_value(json_object_get(r, "free")));
	html_lit(h, "<table id=\"gpus\"><tr><th>#</th><th>Model</th><th>Memory used</th>"
	            "<th>Utilisation</th><th>State</th><th>Held by</th></tr>\n");
	json_array_foreach(json_object_get(r, "gpus"), i, g)
	{
		html_printf(h, "<tr><td>%lld</td><td>",
		            (long long)json_integer_value(json_object_get(g, "index")));
		html_esc(h, jstr(g, "name"));
		html_lit(h, "</td><td>");
		html_size(h, json_number_value(json_object_get(g, "memory_used")));
		html_lit(h, " / ");
		html_size(h, json_number_value(json_object_get(g, "memory_total")));
		html_printf(h, "</td><td>%lld%%</td><td>",
		            (long long)json_integer_value(json_object_get(g, "utilization")));
		html_esc(h, jstr(g, "state"));
		html_lit(h, "</td><td>");
		if (json_object_get(g, "owner") != NULL) {
			html_esc(h, jstr(g, "owner"));
			html_lit(h, "/");
			html_esc(h, jstr(g, "workspace"));
		}
		html_lit(h, "</td></tr>\n");
	}
	html_lit(h, "</table>");
}

static void
draw_quota(struct html *h, const json_t *q)
{
	json_t *limits = json_object_get(q, "limits"), *use = json_object_get(q, "use"), *v;
	const char *key;

	html_lit(h, "<table id=\"quota\"><tr><th>Limit</th><th>Yours</th><th>In use</th></tr>\n");
	json_object_foreach(limits, key, v)
	{
		html_lit(h, "<tr><td>");
		html_esc(h, key);
		html_lit(h, "</td><td>");
		html_value(h, v);
		html_lit(h, "</td><td>");
		if (json_object_get(use, key) != NULL)
			html_value(h, json_object_get(use, key));
		html_lit(h, "</td></tr>\n");
	}
	html_lit(h, "</table>");
}

static void
draw_days(struct html *h, const json_t *r)
{
	json_t *days = json_object_get(r, "days"), *d;
	size_t n = json_array_size(days), i;
	const char **labels = xcalloc(n + 1, sizeof(*labels));
	double *values = xcalloc(n + 1, sizeof(*values));

	json_array_foreach(days, i, d)
	{
		const char *date = jstr(d, "date");

		labels[i] = strlen(date) == 10 ? date + 5 : date; /* MM-DD */
		values[i] = json_number_value(json_object_get(d, "gpu_hours"));
	}
	html_printf(h, "<p>%.2f GPU-hours in the last %zu days.</p>",
	            json_number_value(json_object_get(r, "gpu_hours")), n);
	html_bar_chart(h, "GPU-hours per day", labels, values, n, "GPU-hours", 7);
	free(labels);
	free(values);
}

static void
draw_home(struct page *pg, struct html *h)
{
	page_header(h, pg, "wslab");
	html_lit(h, "<section><h2>My workspaces</h2>");
	if (!section_failed(h, pg, 0))
		draw_workspaces(h, pg, pg->res[0], pg->res[3], 0);
	html_lit(h, "</section>\n<section><h2>Start a workspace</h2>");
	if (!section_failed(h, pg, 3))
		draw_start_form(h, pg, pg->res[3]);
	html_lit(h, "</section>\n<section><h2>GPUs</h2>");
	if (!section_failed(h, pg, 1))
		draw_gpus(h, pg->res[1]);
	html_lit(h, "</section>\n<section><h2>My quota</h2>");
	if (!section_failed(h, pg, 2))
		draw_quota(h, pg->res[2]);
	html_lit(h, "</section>\n<section id=\"usage\"><h2>My GPU-hours</h2>");
	if (!section_failed(h, pg, 4))
		draw_days(h, pg->res[4]);
	html_lit(h, "</section></main></body></html>\n");
}

static void
draw_admin(struct page *pg, struct html *h)
{
	json_t *u, *e;
	size_t i, n;

	page_header(h, pg, "wslab admin");
	html_lit(h, "<section><h2>All workspaces</h2>");
	if (!section_failed(h, pg, 0))
		draw_workspaces(h, pg, pg->res[0], NULL, 1);
	html_lit(h, "</section>\n<section id=\"admin-usage\"><h2>Usage per user</h2>"
	            "<form method=\"get\" action=\"/admin\"><label>Since <input name=\"since\" "
	            "value=\"");
	html_esc(h, pg->since);
	html_lit(h, "\" size=\"12\"></label><button type=\"submit\">Show</button> (a date, or "
	            "a time back like 7d)</form>");
	if (!section_failed(h, pg, 1)) {
		json_t *users = json_object_get(pg->res[1], "users");
		const char **labels;
		double *values;

		n = json_array_size(users);
		labels = xcalloc(n + 1, sizeof(*labels));
		values = xcalloc(n + 1, sizeof(*values));
		html_lit(h, "<p>From ");
		html_esc(h, jstr(pg->res[1], "since"));
		html_lit(h, " to ");
		html_esc(h, jstr(pg->res[1], "until"));
		html_lit(h, "</p>");
		json_array_foreach(users, i, u)
		{
			labels[i] = jstr(u, "user");
			values[i] = json_number_value(json_object_get(u, "gpu_hours"));
		}
		html_bar_chart(h, "GPU-hours per user", labels, values, n, "GPU-hours", 1);
		html_lit(h, "<table id=\"usage-table\"><tr><th>User</th><th>GPU-hours</th>"
		            "<th>Workspace-hours</th><th>Workspaces</th></tr>\n");
		json_array_foreach(users, i, u)
		{
			html_lit(h, "<tr><td>");
			html_esc(h, jstr(u, "user"));
			html_lit(h, "</td><td>");
			html_value(h, json_object_get(u, "gpu_hours"));
			html_lit(h, "</td><td>");
			html_value(h, json_object_get(u, "workspace_hours"));
			html_lit(h, "</td><td>");
			html_value(h, json_object_get(u, "workspaces"));
			html_lit(h, "</td></tr>\n");
		}
		html_lit(h, "</table>");
		free(labels);
		free(values);
	}
	html_lit(h, "</section>\n<section><h2>Audit (latest)</h2>");
	if (!section_failed(h, pg, 2)) {
		static const char *const cols[] = {"at",     "actor",  "action",
		                                   "target", "result", "detail"};

		html_lit(h, "<table id=\"audit\"><tr>");
		for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
			html_lit(h, "<th>");
			html_lit(h, cols[c]);
			html_lit(h, "</th>");
		}
		html_lit(h, "</tr>\n");
		json_array_foreach(json_object_get(pg->res[2], "events"), i, e)
		{
			html_lit(h, "<tr>");
			for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
				html_lit(h, "<td>");
				html_value(h, json_object_get(e, cols[c]));
				html_lit(h, "</td>");
			}
			html_lit(h, "</tr>\n");
		}
		html_lit(h, "</table>");
	}
	html_lit(h, "</section></main></body></html>\n");
}

/* ---- pages as chains of API calls ---- */

static void
page_free(struct page *pg)
{
	for (size_t i = 0; i < WEB_MAX_CALLS; i++)
		json_decref(pg->res[i]);
	explicit_bzero(pg, sizeof(*pg));
	free(pg);
}

/* The request becomes the API request it stands for, and goes to api.c. */
static void web_captured(struct request *req, int status, char *text, size_t len);

static void
api_call(struct page *pg, int method, const char *path, const char *query, char *body)
{
	struct request *req = pg->req;

	req->method = method;
	free(req->path);
	req->path = xstrdup(path);
	free(req->query);
	req->query = query ? xstrdup(query) : NULL;
	free(req->body);
	req->body = body;
	req->body_len = body ? strlen(body) : 0;
	req->want_stream = 0;
	req->capture = web_captured;
	req->capture_arg = pg;
	api_handle(req);
}

static void
page_run(struct page *pg, int kind)
{
	pg->kind = kind;
	pg->calls = kind == P_ADMIN ? admin_calls : home_calls;
	pg->ncalls = kind == P_ADMIN ? sizeof(admin_calls) / sizeof(admin_calls[0])
	                             : sizeof(home_calls) / sizeof(home_calls[0]);
	pg->step = 0;
	page_next(pg);
}

static void
page_next(struct page *pg)
{
	struct request *req = pg->req;
	struct html h = {0};
	int status = pg->act_status ? pg->act_status : 200;

	if (pg->step < pg->ncalls) {
		const struct call *c = &pg->calls[pg->step];
		char q[64];

		if (pg->kind == P_ADMIN && pg->step == 1) {
			snprintf(q, sizeof(q), "since=%s", pg->since);
			api_call(pg, c->method, c->path, q, NULL);
		} else {
			api_call(pg, c->method, c->path, c->query, NULL);
		}
		return;
	}
	/* The page says what went wrong: its status is the first refusal. */
	for (size_t i = 0; i < pg->ncalls && status == 200; i++)
		if (pg->status[i] >= 300)
			status = pg->status[i];
	if (pg->kind == P_ADMIN)
		draw_admin(pg, &h);
	else
		draw_home(pg, &h);
	reply_html(req, status, NULL, &h);
	page_free(pg);
}

static void
web_captured(struct request *req, int status, char *text, size_t len)
{
	struct page *pg = req->capture_arg;
	json_t *o = json_loadb(text, len, 0, NULL);

	explicit_bzero(text, len); /* it may hold Jupyter tokens */
	free(text);
	if (pg->action != ACT_NONE) {
		int act = pg->action;

		pg->action = ACT_NONE;
		if (status >= 200 && status < 300) {
			/* Post/redirect/get: a reload does not do it again. */
			json_decref(o);
			redirect(req, act == ACT_ADMIN_STOP ? "/admin" : "/", NULL);
			page_free(pg);
			return;
		}
		pg->act_status = status;
		snprintf(pg->act_msg, sizeof(pg->act_msg), "%s",
		         jstr(json_object_get(o, "error"), "message"));
		json_decref(o);
		page_run(pg, act == ACT_ADMIN_STOP ? P_ADMIN : P_HOME);
		return;
	}
	if (pg->step < WEB_MAX_CALLS) {
		pg->res[pg->step] = o;
		pg->status[pg->step] = status;
	} else {
		json_decref(o);
	}
	pg->step++;
	page_next(pg);
}

/* ---- forms ---- */

/* An id or a user name as it may appear in an API path. */
static int
path_word(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* A form's numeric field: a number when it is one, else the text for the API to refuse. */
static void
set_number(json_t *o, const char *key, const char *v, int integer)
{
	char *end;

	if (v[0] == '\0')
		return;
	if (integer) {
		long long n = strtoll(v, &end, 10);

		if (*end == '\0') {
			json_object_set_new(o, key, json_integer(n));
			return;
		}
	} else {
		double d = strtod(v, &end);

		if (*end == '\0') {
			json_object_set_new(o, key, json_real(d));
			return;
		}
	}
	json_object_set_new(o, key, json_string(v));
}

/* The public keys pasted into the form, one a line, as "ssh_keys" (the API checks them). */
static int
form_keys(json_t *o, const char *form)
{
	char *v = xmalloc(WEB_MAX_KEYS_TEXT), *line, *save = NULL;
	json_t *keys = json_array();
	int r = web_form_get(form, "ssh_key", v, WEB_MAX_KEYS_TEXT);

	if (r == 1) {
		for (line = strtok_r(v, "\r\n", &save); line != NULL;
		     line = strtok_r(NULL, "\r\n", &save)) {
			if (line[strspn(line, " \t")] == '\0')
				continue;
			if (json_array_append_new(keys, json_string(line)) == -1)
				json_array_append_new(keys, json_string("(not UTF-8)"));
		}
	}
	free(v);
	if (r == -1) {
		json_decref(keys);
		return -1;
	}
	if (json_array_size(keys) > 0)
		json_object_set_new(o, "ssh_keys", keys);
	else
		json_decref(keys);
	return 0;
}

/* POST /start: the fields become POST /v1/workspaces's body; api.c validates. */
static void
form_start(struct page *pg, const char *form)
{
	static const char *const fields[] = {"template", "name", "gpus", "memory", "shm", "cpus"};
	char v[6][256];
	json_t *o = json_object();
	char *body;

	for (size_t i = 0; i < 6; i++) {
		int r = web_form_get(form, fields[i], v[i], sizeof(v[i]));

		if (r == -1) {
			json_decref(o);
			pg->act_status = 400;
			snprintf(pg->act_msg, sizeof(pg->act_msg), "%s: malformed form field",
			         fields[i]);
			page_run(pg, P_HOME);
			return;
		}
		if (r == 0)
			v[i][0] = '\0';
	}
	for (size_t i = 0; i < 6; i++) {
		if (v[i][0] == '\0')
			continue;
		if (strcmp(fields[i], "gpus") == 0)
			set_number(o, "gpus", v[i], 1);
		else if (strcmp(fields[i], "cpus") == 0)
			set_number(o, "cpus", v[i], 0);
		else if (json_object_set_new(o, fields[i], json_string(v[i])) == -1)
			json_object_set_new(o, fields[i], json_string("(not UTF-8)"));
	}
	if (form_keys(o, form) == -1) {
		json_decref(o);
		pg->act_status = 400;
		snprintf(pg->act_msg, sizeof(pg->act_msg), "ssh_key: malformed form field");
		page_run(pg, P_HOME);
		return;
	}
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	pg->action = ACT_START;
	api_call(pg, HTTP_POST, "/v1/workspaces", NULL, body);
}

/* POST /stop and /admin/stop: DELETE of the API's own routes. */
static void
form_stop(struct page *pg, const char *form, int admin)
{
	char id[80], owner[80], path[256];

	if (web_form_get(form, "id", id, sizeof(id)) != 1 || !path_word(id) ||
	    (admin &&
	     (web_form_get(form, "owner", owner, sizeof(owner)) != 1 || !path_word(owner)))) {
		pg->act_status = 404;
		snprintf(pg->act_msg, sizeof(pg->act_msg), "no such workspace");
		page_run(pg, admin ? P_ADMIN : P_HOME);
		return;
	}
	if (admin)
		snprintf(path, sizeof(path), "/v1/admin/workspaces/%s/%s", owner, id);
	else
		snprintf(path, sizeof(path), "/v1/workspaces/%s", id);
	pg->action = admin ? ACT_ADMIN_STOP : ACT_STOP;
	api_call(pg, HTTP_DELETE, path, NULL, NULL);
}

/* ---- requests ---- */

/* A logged-in user's request, with who they are looked up (http_identify). */
static void
web_authed(struct request *req)
{
	struct session *s = session_find(req);
	struct page *pg;
	char token[WEB_SECRET_HEX + 1];
	int post = req->method == HTTP_POST;

	if (s == NULL || s->uid != req->uid || req->user[0] == '\0') {
		reply_message(req, 403, NULL, "Not logged in",
		              "Your session has ended. Run wsctl web for a new login link.");
		return;
	}
	if (post) {
		/* Every state-changing request carries the session's token. */
		int r = web_form_get(req->body ? req->body : "", "csrf", token, sizeof(token));

		if (r != 1 || !web_secret_equal(token, s->csrf)) {
			explicit_bzero(token, sizeof(token));
			log_info("web: a POST %s of uid %u without a valid CSRF token refused",
			         req->path, (unsigned)req->uid);
			reply_message(req, 403, NULL, "Refused",
			              "This form is not valid (missing or wrong CSRF token). "
			              "Reload the page and try again.");
			return;
		}
		explicit_bzero(token, sizeof(token));
		if (strcmp(req->path, "/logout") == 0) {
			char cookie[256];

			log_info("web: uid %u logged out", (unsigned)req->uid);
			session_drop(s);
			session_cookie(NULL, cookie, sizeof(cookie));
			redirect(req, "/", cookie);
			return;
		}
	}
	pg = xcalloc(1, sizeof(*pg));
	pg->req = req;
	snprintf(pg->csrf, sizeof(pg->csrf), "%s", s->csrf);
	snprintf(pg->user, sizeof(pg->user), "%s", req->user);
	pg->admin = req->admin;
	snprintf(pg->since, sizeof(pg->since), "28d");
	if (!post && strcmp(req->path, "/") == 0) {
		page_run(pg, P_HOME);
	} else if (!post && strcmp(req->path, "/admin") == 0) {
		char since[32];

		if (req->query != NULL &&
		    web_form_get(req->query, "since", since, sizeof(since)) == 1 &&
		    since[0] != '\0' && since[strspn(since, "0123456789-:TZdhmsw")] == '\0')
			snprintf(pg->since, sizeof(pg->since), "%s", since);
		page_run(pg, P_ADMIN);
	} else if (post) {
		/* The form is read before api_call replaces the body. */
		char *form = xstrdup(req->body ? req->body : "");

		if (strcmp(req->path, "/start") == 0)
			form_start(pg, form);
		else if (strcmp(req->path, "/stop") == 0)
			form_stop(pg, form, 0);
		else if (strcmp(req->path, "/admin/stop") == 0)
			form_stop(pg, form, 1);
		else {
			page_free(pg);
			reply_message(req, 404, NULL, "Not found", "There is no such page.");
		}
		explicit_bzero(form, strlen(form));
		free(form);
	} else {
		page_free(pg);
		reply_message(req, 404, NULL, "Not found", "There is no such page.");
	}
}

static int
known_path(const char *p, int method)
{
	static const struct {
		int method;
		const char *path;
	} paths[] = {
	    {HTTP_GET, "/"},          {HTTP_GET, "/admin"},       {HTTP_GET, "/login"},
	    {HTTP_GET, "/style.css"}, {HTTP_GET, "/app.js"},      {HTTP_POST, "/start"},
	    {HTTP_POST, "/stop"},     {HTTP_POST, "/admin/stop"}, {HTTP_POST, "/logout"},
	    {HTTP_POST, "/login"},
	};
	int path_seen = 0;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (strcmp(paths[i].path, p) != 0)
			continue;
		path_seen = 1;
		if (paths[i].method == method)
			return 1;
	}
	return path_seen ? -1 : 0;
}

void
web_handle(struct request *req)
{
	struct session *s;
	int k = known_path(req->path, req->method);

	req->route = "/web";
	if (k == 0) {
		reply_message(req, 404, NULL, "Not found", "There is no such page.");
		return;
	}
	if (k == -1) {
		reply_message(req, 405, "Allow: GET, POST\r\n", "Not allowed",
		              "That method is not allowed here.");
		return;
	}
	if (strcmp(req->path, "/style.css") == 0) {
		reply_static(req, "text/css; charset=utf-8", style_css);
		return;
	}
	if (strcmp(req->path, "/app.js") == 0) {
		reply_static(req, "text/javascript; charset=utf-8", app_js);
		return;
	}
	if (strcmp(req->path, "/login") == 0) {
		if (req->method == HTTP_POST)
			pam_login(req);
		else
			login(req);
		return;
	}
	s = session_find(req);
	if (s == NULL) {
		if (req->method == HTTP_POST)
			reply_message(
			    req, 403, NULL, "Not logged in",
			    "Your session has ended or was never opened. Run wsctl web on "
			    "the lab server for a login link.");
		else
			login_page(req, strcmp(req->path, "/") == 0 ? 200 : 401, NULL);
		return;
	}
	/* Who the session's uid is now: name, groups, admin rights, as on the socket. */
	http_identify(req, s->uid, web_authed);
}

/* ---- set-up ---- */

void
web_set_config(const struct config *cfg)
{
	link_ttl = cfg->web_link_ttl;
	session_ttl = cfg->web_session_ttl;
	snprintf(pam_service, sizeof(pam_service), "%s", cfg->web_pam_service);
}

void
web_init(uv_loop_t *l, const struct config *cfg)
{
	char host[64];
	int port = 0;

	loop = l;
	web_set_config(cfg);
	enabled = 1;
	if (cfg->web_url[0] != '\0') {
		snprintf(base_url, sizeof(base_url), "%s", cfg->web_url);
	} else if (cfg->web_listen[0] != '\0' &&
	           config_listen_parse(cfg->web_listen, host, sizeof(host), &port, (char[8]){0},
	                               8) == 0) {
		/* A wildcard address is no place to send a browser: the server's name. */
		if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) {
			if (cfg->public_host[0] != '\0')
				snprintf(host, sizeof(host), "%s", cfg->public_host);
			else if (gethostname(host, sizeof(host)) != 0)
				snprintf(host, sizeof(host), "localhost");
			host[sizeof(host) - 1] = '\0';
		}
		snprintf(base_url, sizeof(base_url), "%s://%s%s%s:%d",
		         cfg->web_tls_cert[0] != '\0' ? "https" : "http",
		         strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port);
	} else {
		snprintf(base_url, sizeof(base_url), "http://localhost");
	}
	/* No trailing slash: links add their own path. */
	while (base_url[0] != '\0' && base_url[strlen(base_url) - 1] == '/')
		base_url[strlen(base_url) - 1] = '\0';
	secure = strncmp(base_url, "https://", 8) == 0;
}

int
web_start(uv_loop_t *l, const struct config *cfg, char *err, size_t errlen)
{
	char host[64], why[200];
	int port;

	if (cfg->web_listen[0] == '\0')
		return 0;
	if (config_listen_parse(cfg->web_listen, host, sizeof(host), &port, why, sizeof(why)) ==
	    -1) {
		snprintf(err, errlen, "web_listen: %s", why);
		return -1;
	}
	/* config.c refuses it too; said again where the socket is opened. */
	if (!config_loopback(host) && cfg->web_tls_cert[0] == '\0') {
		snprintf(err, errlen,
		         "web_listen: %s is not a loopback address and there is no TLS: refused",
		         host);
		return -1;
	}
	web_init(l, cfg);
	if (cfg->web_tls_cert[0] != '\0') {
		if (http_web_tls(cfg->web_tls_cert, cfg->web_tls_key, err, errlen) == -1)
			return -1;
		/* Browsers that saw the page over TLS never try it in clear again. */
		snprintf(tls_headers, sizeof(tls_headers),
		         "%sStrict-Transport-Security: max-age=31536000\r\n", web_headers);
		secure = 1;
	}
	if (http_listen_web(host, port, web_handle, secure ? tls_headers : web_headers, err,
	                    errlen) == -1)
		return -1;
	log_info("web page on %s (login links: wsctl web)", base_url);
	return 0;
}

int
web_fuzz_session(uid_t uid, const char *id, const char *csrf)
{
	struct session *s;

	if (strlen(id) != WEB_SECRET_HEX || strlen(csrf) != WEB_SECRET_HEX)
		return -1;
	LIST_FOREACH(s, &sessions, entry) {
		if (strcmp(s->id, id) == 0)
			return 0; /* still there: an input did not log it out */
	}
	if ((s = session_new(uid)) == NULL)
		return -1;
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->csrf, sizeof(s->csrf), "%s", csrf);
	s->expires = UINT64_MAX;
	return 0;
}

void
web_shutdown(void)
{
	while (!LIST_EMPTY(&links))
		link_drop(LIST_FIRST(&links));
	while (!LIST_EMPTY(&sessions))
		session_drop(LIST_FIRST(&sessions));
	while (!LIST_EMPTY(&fails)) {
		struct fails *f = LIST_FIRST(&fails);

		LIST_REMOVE(f, entry);
		free(f);
	}
	enabled = 0;
}
