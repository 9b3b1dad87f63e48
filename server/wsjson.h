/*
 * A workspace as JSON, written as text (jtext.c): a list of a thousand
 * costs about a millisecond. The token is in it only for its owner.
 */
#ifndef WSD_WSJSON_H
#define WSD_WSJSON_H

#include <sys/types.h>

#include <jansson.h>

struct jtext;
struct request;
struct workspace;

/* Its members written into b (no braces); secrets only when viewer_uid owns it. */
void wsjson_text(struct jtext *b, const struct workspace *ws, uid_t viewer_uid);
/* The same as a JSON object. */
json_t *wsjson(const struct workspace *ws, uid_t viewer_uid);
/*
 * Reply {"workspaces": [...]} with every workspace keep(ws, uid) says yes
 * to (NULL: all); with_boot adds "boot": the pacing's counts (for admins).
 */
void wsjson_reply_list(struct request *req, int (*keep)(const struct workspace *, uid_t),
                       int with_boot);

#endif
