/*
 * biggroup GROUP N [MEMBERS]: set GROUP's member list in /etc/group to
 * MEMBERS (comma-separated) and N made-up names of 31 bytes (no such
 * users), for tests of group entries larger than a lookup buffer.
 * gpasswd and usermod refuse names that are no users, so the file is
 * rewritten here under the locks shadow's tools take (lckpwdf and
 * /etc/group.lock) and replaced by rename. Prints the entry's length.
 */
#include <errno.h>
#include <fcntl.h>
#include <shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GROUP_FILE "/etc/group"

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (f == NULL)
		return NULL;
	do {
		if (cap - *len < 65536 && (s = realloc(s, cap = cap * 2 + 65536)) == NULL)
			exit(2);
		n = fread(s + *len, 1, cap - *len - 1, f);
		*len += n;
	} while (n > 0);
	fclose(f);
	s[*len] = '\0';
	return s;
}

/* shadow's lock file: a file with our pid, linked to GROUP_FILE.lock. */
static int
lock_file(void)
{
	char tmp[64], pid[32];
	int fd, n;

	snprintf(tmp, sizeof(tmp), GROUP_FILE ".%ld", (long)getpid());
	if ((fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY, 0600)) == -1)
		return -1;
	n = snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (write(fd, pid, (size_t)n) != n) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	for (int i = 0; i < 100; i++) {
		if (link(tmp, GROUP_FILE ".lock") == 0) {
			unlink(tmp);
			return 0;
		}
		usleep(100000);
	}
	unlink(tmp);
	return -1;
}

int
main(int argc, char **argv)
{
	const char *group, *members;
	long n;
	size_t len, glen, out_len = 0;
	char *text = NULL, *line, *end, *out = NULL;
	struct stat st;
	FILE *f;
	int ret = 1;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: biggroup GROUP N [MEMBERS]\n");
		return 2;
	}
	group = argv[1];
	n = atol(argv[2]);
	members = argc == 4 ? argv[3] : "";
	glen = strlen(group);
	if (lckpwdf() != 0 || lock_file() != 0) {
		fprintf(stderr, "biggroup: cannot lock " GROUP_FILE ": %s\n", strerror(errno));
		return 1;
	}
	if ((text = slurp(GROUP_FILE, &len)) == NULL || stat(GROUP_FILE, &st) != 0)
		goto out;
	for (line = text; *line != '\0'; line = end + (*end == '\n')) {
		end = line + strcspn(line, "\n");
		if (strncmp(line, group, glen) == 0 && line[glen] == ':')
			break;
	}
	if (*line == '\0') {
		fprintf(stderr, "biggroup: no group %s\n", group);
		goto out;
	}
	out = malloc(len + (size_t)n * 32 + strlen(members) + 2);
	if (out == NULL)
		goto out;
	{
		/* name:password:gid: then the new member list */
		char *p = line;

		for (int colons = 0; colons < 3; p++)
			if (*p == ':')
				colons++;
		memcpy(out, text, (size_t)(p - text));
		out_len = (size_t)(p - text);
		out_len += (size_t)sprintf(out + out_len, "%s", members);
		for (long i = 0; i < n; i++)
			out_len += (size_t)sprintf(out + out_len, "%swslab-fake-member-%012ld",
			                           out_len > (size_t)(p - text) ? "," : "", i);
		printf("%zu\n", out_len - (size_t)(line - text));
		memcpy(out + out_len, end, len - (size_t)(end - text));
		out_len += len - (size_t)(end - text);
	}
	if ((f = fopen(GROUP_FILE "+", "w")) == NULL)
		goto out;
	if (fwrite(out, 1, out_len, f) != out_len || fflush(f) != 0 || fsync(fileno(f)) != 0 ||
	    fchown(fileno(f), st.st_uid, st.st_gid) != 0 ||
	    fchmod(fileno(f), st.st_mode & 07777) != 0) {
		fclose(f);
		unlink(GROUP_FILE "+");
		goto out;
	}
	fclose(f);
	if (rename(GROUP_FILE "+", GROUP_FILE) != 0)
		goto out;
	ret = 0;
out:
	if (ret != 0)
		fprintf(stderr, "biggroup: %s\n", strerror(errno));
	unlink(GROUP_FILE ".lock");
	ulckpwdf();
	free(text);
	free(out);
	return ret;
}
