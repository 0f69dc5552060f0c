/*
 * mount — with no arguments, list the mounts of /proc/mounts as
 *   SOURCE on DIR type TYPE (OPTIONS)
 * otherwise mount(2) SOURCE (a device, or any word for a virtual file
 * system) on DIR as TYPE. -o takes a comma list: ro and rw set the flag,
 * anything else is passed to the file system as its data string.
 */
#define PROG "mount"
#include "ucommon.h"
#include <sys/mount.h>

static const char usage[] =
	"usage: mount | mount -t TYPE [-o OPTS] SOURCE DIR\n"
	"List mounts, or mount SOURCE on DIR as file system TYPE.\n"
	"  -o ro|rw[,DATA]  read-only or read-write; other options go to the "
	"file system\n";

static int list_mounts(void)
{
	FILE *f = fopen("/proc/mounts", "re");
	if (!f) {
		u_errno("/proc/mounts", errno);
		return 1;
	}
	char line[1024];
	while (fgets(line, sizeof line, f)) {
		char src[256], dir[512], type[64], opts[256];
		if (sscanf(line, "%255s %511s %63s %255s", src, dir, type,
			   opts) == 4)
			printf("%s on %s type %s (%s)\n", src, dir, type, opts);
	}
	fclose(f);
	return u_flush_stdout();
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	if (argc == 1)
		return list_mounts();
	const char *type = NULL;
	char *opts = NULL;
	int opt;
	opterr = 0;
	while ((opt = getopt(argc, argv, "t:o:")) != -1) {
		if (opt == 't') {
			type = optarg;
		} else if (opt == 'o') {
			opts = optarg;
		} else if (optopt == 't' || optopt == 'o') {
			u_err("option requires an argument -- '%c'", optopt);
			u_usage(usage);
		} else {
			u_bad_option(optopt, usage);
		}
	}
	if (argc - optind != 2 || !type) {
		u_err(!type ? "-t TYPE is required"
			    : "expected SOURCE and DIR");
		u_usage(usage);
	}
	unsigned long flags = 0;
	char data[256] = "";
	for (char *o = opts ? strtok(opts, ",") : NULL; o;
	     o = strtok(NULL, ",")) {
		if (strcmp(o, "ro") == 0) {
			flags |= MS_RDONLY;
		} else if (strcmp(o, "rw") == 0) {
			flags &= ~(unsigned long)MS_RDONLY;
		} else {
			size_t len = strlen(data);
			snprintf(data + len, sizeof data - len, "%s%s",
				 len ? "," : "", o);
		}
	}
	const char *src = argv[optind], *dir = argv[optind + 1];
	if (mount(src, dir, type, flags, data[0] ? data : NULL) < 0) {
		int err = errno;
		char what[PATH_MAX + 300];
		snprintf(what, sizeof what, "mounting %s on %s", src, dir);
		u_errno(what, err);
		return 1;
	}
	return 0;
}
