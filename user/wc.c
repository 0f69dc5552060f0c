/*
 * wc — count lines, words (runs of non-space) and bytes of each FILE (or
 * stdin). Columns are always in the order lines, words, bytes; with no
 * option all three are shown. Several files add a "total" line.
 */
#define PROG "wc"
#include "ucommon.h"
#include <ctype.h>

static const char usage[] = "usage: wc [-lwc] [FILE...]\n"
			    "Count lines (-l), words (-w) and bytes (-c).\n";

struct counts {
	unsigned long long lines, words, bytes;
};

static int show_l, show_w, show_c, width = 7;

static int count_fd(int fd, struct counts *c)
{
	static unsigned char buf[U_BUFSIZE];
	int in_word = 0;
	for (;;) {
		ssize_t r = u_read(fd, buf, sizeof buf);
		if (r < 0)
			return (int)r;
		if (r == 0)
			return 0;
		c->bytes += (unsigned long long)r;
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] == '\n')
				c->lines++;
			if (isspace(buf[i])) {
				in_word = 0;
			} else if (!in_word) {
				in_word = 1;
				c->words++;
			}
		}
	}
}

static void print_counts(const struct counts *c, const char *name)
{
	const char *sep = "";
	if (show_l) {
		printf("%*llu", width, c->lines);
		sep = " ";
	}
	if (show_w) {
		printf("%s%*llu", sep, width, c->words);
		sep = " ";
	}
	if (show_c)
		printf("%s%*llu", sep, width, c->bytes);
	if (name)
		printf(" %s", name);
	putchar('\n');
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int opt;
	opterr = 0;
	while ((opt = getopt(argc, argv, "lwc")) != -1) {
		if (opt == 'l')
			show_l = 1;
		else if (opt == 'w')
			show_w = 1;
		else if (opt == 'c')
			show_c = 1;
		else
			u_bad_option(optopt, usage);
	}
	if (!show_l && !show_w && !show_c)
		show_l = show_w = show_c = 1;
	int nfiles = argc - optind;
	if (show_l + show_w + show_c == 1 && nfiles <= 1)
		width = 1;
	struct counts total = {0, 0, 0};
	int rc = 0;
	for (int i = optind; i < argc || (nfiles == 0 && i == optind); i++) {
		const char *name = nfiles ? argv[i] : NULL;
		int fd = 0;
		if (name && strcmp(name, "-") != 0 &&
		    (fd = open(name, O_RDONLY | O_CLOEXEC)) < 0) {
			u_errno(name, errno);
			rc = 1;
			continue;
		}
		struct counts c = {0, 0, 0};
		int e = count_fd(fd, &c);
		if (fd)
			close(fd);
		if (e) {
			u_errno(name ? name : "stdin", -e);
			rc = 1;
			continue;
		}
		print_counts(&c, name);
		total.lines += c.lines;
		total.words += c.words;
		total.bytes += c.bytes;
	}
	if (nfiles > 1)
		print_counts(&total, "total");
	return u_flush_stdout() | rc;
}
