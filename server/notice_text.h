/*
 * What a notice says: its kind, the sentence, the command that helps, the
 * event's JSON, the text for a terminal, and which utmp records and
 * terminals may receive it. Pure (no I/O, no globals): unit tested; the
 * delivery is notice.c.
 */
#ifndef WSD_NOTICE_TEXT_H
#define WSD_NOTICE_TEXT_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

/* X(id, name): every kind of notice, in the order of a workspace's life. */
#define NOTICE_KINDS(X)                                                                            \
	X(NOTICE_DISPATCHED, dispatched)                                                           \
	X(NOTICE_READY, ready)                                                                     \
	X(NOTICE_IDLE_WARNING, idle_warning)                                                       \
	X(NOTICE_RECLAIMED, reclaimed)                                                             \
	X(NOTICE_LIFETIME_WARNING, lifetime_warning)                                               \
	X(NOTICE_EXPIRED, expired)

#define NOTICE_ENUM(id, name) id,
enum notice_kind { NOTICE_KINDS(NOTICE_ENUM) NOTICE_N };
#undef NOTICE_ENUM

/* One event that concerns a user. */
struct notice_event {
	enum notice_kind kind;
	const char *user;
	unsigned uid;
	const char *workspace, *workspace_id;
	double at;       /* when it happened, unix seconds */
	double deadline; /* when the warned-of stop happens or happened; 0: none */
	const char *why; /* evidence, or NULL */
};

const char *notice_kind_name(enum notice_kind k);
/* The kind named name, or NOTICE_N. */
enum notice_kind notice_kind_from(const char *name);

/* Printable ASCII only: control bytes, DEL and non-ASCII become '?' (in place). */
void notice_sanitize(char *s);
/* What happened, why and when, in one sentence (sanitised). */
void notice_message(const struct notice_event *e, char *buf, size_t len);
/* The wsctl command that helps, or "" (sanitised). */
void notice_command(const struct notice_event *e, char *buf, size_t len);
/*
 * The event as notify_command reads it: {"kind", "user", "uid",
 * "workspace", "workspace_id", "at", "message", "deadline"?, "command"?}.
 */
json_t *notice_json(const struct notice_event *e);
/* What a terminal gets (like write(1)): a header line, the message, the command. */
void notice_tty_text(const char *message, const char *command, const char *host, char *buf,
                     size_t len);

/*
 * A utmp record's line (ut_line, not NUL-terminated, n bytes) names a
 * terminal under /dev that notices may go to: "pts/3", "tty2"; no "..",
 * no leading '/', only [A-Za-z0-9/_-]. Copies it to out. 1 or 0.
 */
int notice_tty_line(const char *line, size_t n, char *out, size_t outlen);
/*
 * May a notice be written to this terminal (its fstat): a character
 * device owned by uid that its group may write to ("mesg y").
 */
int notice_tty_ok(mode_t mode, uid_t owner, uid_t uid);

/* notify_command split at blanks into a NULL-terminated argv (free with notice_argv_free); NULL
 * when empty. */
char **notice_argv(const char *command);
void notice_argv_free(char **argv);

#endif
