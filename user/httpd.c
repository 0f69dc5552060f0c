/*
 * httpd — a small static file server (HTTP/1.0 answers, one request per
 * connection).
 *
 *   httpd [-p PORT] [-d DIR] [--once]
 *
 * Serves regular files under DIR (default /) on PORT (default 80), a child
 * process per connection. GET (and HEAD) of a regular file: 200 with
 * Content-Length and a Content-Type from the extension; a missing file or a
 * directory without index.html: 404; a path with a ".." component or not
 * starting with '/': 403; a request line that is not METHOD SP PATH SP
 * HTTP/x.y, too long (8 KiB) or not complete within 10 s: 400; other
 * methods: 405. One line per request on stderr: `PEER "LINE" STATUS BYTES`.
 * --once serves one connection in the foreground and exits.
 */
#define PROG "httpd"
#include "ucommon.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>

static const char usage[] = "usage: httpd [-p PORT] [-d DIR] [--once]\n"
			    "Serve the regular files under DIR over HTTP.\n"
			    "  -p PORT  TCP port (default 80)\n"
			    "  -d DIR   document root (default /)\n"
			    "  --once   serve one connection, then exit\n";

#define REQ_MAX 8192
#define REQ_TIMEOUT_MS 10000

static const char *root = "/";
static int root_len;

static const char *status_text(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	default:
		return "Internal Server Error";
	}
}

static const char *content_type(const char *path)
{
	static const char *const map[][2] = {
		{".html", "text/html"},
		{".htm", "text/html"},
		{".txt", "text/plain"},
		{".css", "text/css"},
		{".js", "application/javascript"},
		{".json", "application/json"},
		{".png", "image/png"},
		{".jpg", "image/jpeg"},
		{".gif", "image/gif"},
	};
	const char *dot = strrchr(path, '.');
	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
			if (strcasecmp(dot, map[i][0]) == 0)
				return map[i][1];
	return "application/octet-stream";
}

static int send_error(int c, int code)
{
	char body[128], head[256];
	int bl =
		snprintf(body, sizeof body, "%d %s\n", code, status_text(code));
	int hl = snprintf(head, sizeof head,
			  "HTTP/1.0 %d %s\r\nContent-Type: text/plain\r\n"
			  "Content-Length: %d\r\n%sConnection: close\r\n\r\n",
			  code, status_text(code), bl,
			  code == 405 ? "Allow: GET, HEAD\r\n" : "");
	u_write_all(c, head, (size_t)hl);
	u_write_all(c, body, (size_t)bl);
	return code;
}

/* Read the request head (up to the blank line, or at least the first
 * line). Returns its length, 0 for EOF/timeout/too long. */
static size_t read_request(int c, char *req)
{
	size_t n = 0;
	while (n < REQ_MAX - 1) {
		struct pollfd p = {.fd = c, .events = POLLIN};
		if (poll(&p, 1, REQ_TIMEOUT_MS) <= 0)
			return 0;
		ssize_t r = u_read(c, req + n, REQ_MAX - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		req[n] = 0;
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			return n;
	}
	req[n] = 0;
	/* A complete first line is enough (HTTP/0.9-style clients, nc). */
	return strchr(req, '\n') ? n : 0;
}

static bool has_dotdot(const char *p)
{
	for (const char *s = p; (s = strstr(s, "..")); s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == 0 || s[2] == '/'))
			return true;
	return false;
}

static int hexv(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Decode %XX in place; -1 for a malformed escape or a NUL. */
static int url_decode(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (*s == '%') {
			int h = hexv(s[1]), l = h < 0 ? -1 : hexv(s[2]);
			if (l < 0 || (h | l) == 0)
				return -1;
			*o++ = (char)(h * 16 + l);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
	return 0;
}

/* Serve one connection; returns the status code for the log. */
static int serve(int c, char *line, size_t linesz, long long *bytes)
{
	static char req[REQ_MAX];
	*bytes = 0;
	size_t n = read_request(c, req);
	char *eol = strpbrk(req, "\r\n");
	if (eol)
		*eol = 0;
	snprintf(line, linesz, "%.200s", n ? req : "");
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 32 || *p == '"' || *p == 127)
			*p = '?';
	if (!n || !eol)
		return send_error(c, 400);
	char *method = req, *path = strchr(req, ' ');
	if (!path)
		return send_error(c, 400);
	*path++ = 0;
	char *ver = strchr(path, ' ');
	if (!ver || strncmp(ver + 1, "HTTP/", 5) || strchr(ver + 1, ' ') ||
	    !*method || !*path)
		return send_error(c, 400);
	*ver = 0;
	for (char *m = method; *m; m++)
		if (*m < 'A' || *m > 'Z')
			return send_error(c, 400);
	bool head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0)
		return send_error(c, 405);
	char *q = strchr(path, '?');
	if (q)
		*q = 0;
	if (url_decode(path) < 0)
		return send_error(c, 400);
	if (path[0] != '/' || has_dotdot(path))
		return send_error(c, 403);
	char full[PATH_MAX];
	/* root without its trailing '/'s ("/" becomes ""); path starts with
	 * one. Room is kept for "/index.html". */
	if (snprintf(full, sizeof full - 16, "%.*s%s", root_len, root, path) >=
	    (int)sizeof full - 16)
		return send_error(c, 404);
	struct stat st;
	if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
		strcat(full, full[strlen(full) - 1] == '/' ? "index.html"
							   : "/index.html");
	}
	int fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return send_error(c, errno == EACCES ? 403 : 404);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return send_error(c, 404);
	}
	char hdr[256];
	int hl = snprintf(hdr, sizeof hdr,
			  "HTTP/1.0 200 OK\r\nContent-Type: %s\r\n"
			  "Content-Length: %lld\r\nConnection: close\r\n\r\n",
			  content_type(full), (long long)st.st_size);
	if (u_write_all(c, hdr, (size_t)hl) == 0 && !head) {
		static char buf[U_BUFSIZE];
		ssize_t r;
		while ((r = u_read(fd, buf, sizeof buf)) > 0) {
			if (u_write_all(c, buf, (size_t)r))
				break;
			*bytes += r;
		}
	}
	close(fd);
	return 200;
}

static void handle(int c, const struct sockaddr_in *peer)
{
	char line[256], who[INET_ADDRSTRLEN];
	long long bytes;
	int code = serve(c, line, sizeof line, &bytes);
	/* Let the client read everything before the close. */
	shutdown(c, SHUT_WR);
	inet_ntop(AF_INET, &peer->sin_addr, who, sizeof who);
	fprintf(stderr, "httpd: %s:%u \"%s\" %d %lld\n", who,
		ntohs(peer->sin_port), line, code, bytes);
	close(c);
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	bool once = false;
	long port = 80;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--once") == 0) {
			once = true;
			memmove(&argv[i], &argv[i + 1],
				(size_t)(argc - i) * sizeof *argv);
			argc--;
			i--;
		}
	int opt;
	while ((opt = getopt(argc, argv, ":p:d:")) != -1) {
		char *end;
		switch (opt) {
		case 'p':
			port = strtol(optarg, &end, 10);
			if (end == optarg || *end || port < 1 || port > 65535) {
				u_err("invalid port: %s", optarg);
				u_usage(usage);
			}
			break;
		case 'd':
			root = optarg;
			break;
		case ':':
			u_err("option requires an argument -- '%c'", optopt);
			u_usage(usage);
			break;
		default:
			u_bad_option(optopt, usage);
		}
	}
	if (optind != argc) {
		u_err("extra operand: %s", argv[optind]);
		u_usage(usage);
	}
	struct stat st;
	if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		u_errno(root, errno ? errno : ENOTDIR);
		return 1;
	}
	root_len = (int)strlen(root);
	while (root_len > 0 && root[root_len - 1] == '/')
		root_len--;
	signal(SIGPIPE, SIG_IGN);
	if (!once)
		signal(SIGCHLD, SIG_IGN); /* children reaped automatically */
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (s < 0) {
		u_errno("socket", errno);
		return 1;
	}
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0) {
		u_err("port %ld: %s", port, strerror(errno));
		return 1;
	}
	fprintf(stderr, "httpd: serving %s on port %ld\n", root, port);
	for (;;) {
		struct sockaddr_in peer;
		socklen_t pl = sizeof peer;
		int c = accept(s, (struct sockaddr *)&peer, &pl);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				continue;
			u_errno("accept", errno);
			return 1;
		}
		if (once) {
			handle(c, &peer);
			return 0;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(s);
			handle(c, &peer);
			_exit(0);
		}
		if (pid < 0) /* no process to spare: serve it here */
			handle(c, &peer);
		else
			close(c);
	}
}
