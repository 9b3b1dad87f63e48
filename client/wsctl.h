/*
 * wsctl: the command-line client of wsd. One file per command (cmd_*.c),
 * each ending with its entry (name, usage, help, exec); wsctl.c lists the
 * entries in cmd_table.
 */
#ifndef WSCTL_H
#define WSCTL_H

#include <stddef.h>

#include <jansson.h>

#define WSCTL_DEFAULT_SOCKET "/run/wslab/wsd.sock"

/* Exit statuses. */
#define EXIT_OK 0
#define EXIT_FAIL 1  /* wsd refused or the operation failed */
#define EXIT_USAGE 2 /* bad command line, or a value it cannot send (args.c) */
#define EXIT_CONN 3  /* wsd not reachable */

struct cmd {
	const char *name;
	const char *usage;
	const char *help;
	int (*exec)(int argc, char **argv);
};

/* The commands, in the order wsctl --help lists them. */
extern const struct cmd cmd_start_entry;
extern const struct cmd cmd_ls_entry;
extern const struct cmd cmd_show_entry;
extern const struct cmd cmd_stop_entry;
extern const struct cmd cmd_logs_entry;
extern const struct cmd cmd_gpus_entry;
extern const struct cmd cmd_quota_entry;
extern const struct cmd cmd_admin_entry;
extern const struct cmd cmd_ssh_entry;
extern const struct cmd cmd_ssh_config_entry;
extern const struct cmd cmd_templates_entry;
extern const struct cmd cmd_web_entry;
extern const struct cmd cmd_wait_entry;
extern const struct cmd cmd_queue_entry;
extern const struct cmd cmd_extend_entry;

extern const char *wsctl_socket;

/* client.c: requests to wsd. */

/* Called for each complete line of a streamed reply; return 0 to go on. */
typedef int line_cb(const char *line, size_t len, void *arg);

/*
 * One request to wsd. status gets the HTTP status (0 when wsd was not
 * reached, then an error was printed). The reply body, parsed, goes to
 * *reply (caller frees) unless lines is given, which then gets each line.
 */
int client_call(const char *method, const char *path, json_t *body, json_t **reply, line_cb *lines,
                void *arg, long *status);
/*
 * GET path. EXIT_OK with the parsed body in *reply (caller frees), or the
 * exit status after the error was printed.
 */
int client_get(const char *path, json_t **reply);
/* Print reply as indented JSON, free it; EXIT_OK. */
int client_print_json(json_t *reply);
/* Set: client_call says nothing when wsd cannot be reached (a caller that retries). */
extern int client_quiet;
/*
 * Follow a queued or starting workspace until it is ready (printed as
 * start prints it) or has failed; reconnects while wsd restarts, for up
 * to WSCTL_REATTACH_S seconds at a time. An exit status.
 */
#define WSCTL_REATTACH_S 120
int start_follow(const char *name_or_id, int json);
/* wsctl queue and wsctl admin queue. */
int cmd_queue_show(int argc, char **argv, int admin);
/* Print "wsctl: MESSAGE" from an error reply; return EXIT_FAIL. */
int client_error(json_t *reply, long status);
/* "/v1/workspaces/" + the escaped name; -1 as args_path. */
int client_ws_path(const char *name, char *buf, size_t len);

/* args.c: command-line arguments. */

/*
 * The --json flag of a command that takes nothing else but operands: sets
 * *json; 0, or -1 on an unknown option (getopt said which). optind is the
 * first operand then.
 */
int args_json(int argc, char **argv, int *json);
/*
 * Every string that goes into a request is made by these. A value jansson
 * cannot carry (not valid UTF-8) is refused with "wsctl: WHAT: not valid
 * UTF-8" instead of being left out; the command then exits EXIT_USAGE
 * before it sends anything. WHAT names the option, operand or file.
 */
/* A JSON string of value, or NULL. */
json_t *args_string(const char *what, const char *value);
/* 0 when value can be sent, else -1. */
int args_check(const char *what, const char *value);
/* obj[key] = value, or array += value: 0 or -1. */
int args_set(json_t *obj, const char *key, const char *what, const char *value);
int args_append(json_t *array, const char *what, const char *value);
/* prefix + value, percent-escaped, into buf; 0, or -1 when value cannot be
 * sent or the path would not fit (never cut short). */
int args_path(char *buf, size_t len, const char *prefix, const char *what, const char *value);

/* keys.c: the user's SSH keys and the pinned host keys of workspaces. */

/* Public keys of the user (every ~/.ssh/NAME.pub), or one made when none;
 * NULL, said why, when one of them cannot be sent (not valid UTF-8). */
json_t *keys_collect(void);
/* The user's home, from the password database. */
const char *keys_home(void);
/*
 * Replace the file at path with its lines that do not begin with drop
 * (none when drop is NULL) and then text, through a new file renamed over
 * it, so that a reader never sees half of it. Returns 0 or -1 (errno set).
 */
int keys_commit(const char *path, const char *drop, const char *text);
/* Pin the workspace's host key in the user's known_hosts file for wslab;
 * writes its path to path. Returns 0 or -1. */
int ssh_pin(json_t *ws, char *path, size_t len);

/* print.c: what more than one command prints. */

/* A workspace's age and time left ("never" without a lifetime), each into len bytes. */
void print_times(json_t *ws, char *age, char *left, size_t len);
/* How long it has been idle and until its reclaim; 0 (and "-") when never. */
int print_idle(json_t *ws, char *idle, char *left, size_t len);
/* A workspace's GPU indexes, "0,3", or "-". */
void print_gpu_list(json_t *ws, char *buf, size_t len);
/* "GPU: ..." lines and the "SSH: ..." line of a workspace. */
void print_gpus(json_t *ws);
void print_ssh_command(json_t *ws);
/* The path and query of a URL ("/tree?token=..."), or NULL. */
const char *print_url_path(const char *url);
/* In an SSH session, when workspace ports are on loopback: the ssh -L line
 * that brings Jupyter to the student's own machine. */
void print_laptop(json_t *ws);
/* A table of limits (as wsd's quota replies give them): the header, one row. */
void print_limits_header(void);
void print_limits_row(const char *who, json_t *limits);
/* The effective quota of a user, as /v1/quota and admin quota show give it. */
void print_quota(json_t *e);

#endif
