/*
 * t_fd — the descriptor table: dup, dup2, dup3, fcntl (F_GETFD, F_SETFD,
 * F_GETFL, F_SETFL, F_DUPFD, F_DUPFD_CLOEXEC); duplicates share the open
 * file (offset, status flags) but not FD_CLOEXEC; a forked child shares
 * the offset too.
 */
#include "tap.h"

static void test_dup(void)
{
	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(fd, "abcdef", 6);
	lseek(fd, 0, SEEK_SET);
	int d = SYS(dup(fd), "dup");
	OK(d > fd, "dup returns a new fd");
	char c = 0;
	read(d, &c, 1);
	IS(lseek(fd, 0, SEEK_CUR), 1, "dup shares the file offset");
	IS(c, 'a', "read through the duplicate");
	ERR(dup(9999), EBADF, "dup a bad fd");
	ERR(dup(-1), EBADF, "dup -1");

	int low = dup(fd);
	close(d);
	IS(dup(fd), d, "dup returns the lowest free fd");
	close(low);
	close(d);

	IS(dup2(fd, 20), 20, "dup2 onto a free fd");
	read(20, &c, 1);
	IS(c, 'b', "dup2 shares the offset");
	int other = open("/dev/null", O_RDONLY);
	IS(dup2(fd, other), other, "dup2 onto an open fd");
	IS(read(other, &c, 1), 1, "the target now reads the file");
	IS(c, 'c', "not /dev/null");
	IS(dup2(fd, fd), fd, "dup2 onto itself returns the fd");
	ERR(dup2(9999, 21), EBADF, "dup2 from a bad fd");
	ERR(dup2(fd, -1), EBADF, "dup2 onto -1");
	ERR(dup2(fd, 1 << 24), EBADF, "dup2 onto a huge fd");
	close(other);
	close(20);

	IS(syscall(SYS_dup3, fd, 21, O_CLOEXEC), 21, "dup3 O_CLOEXEC");
	IS(fcntl(21, F_GETFD), FD_CLOEXEC, "dup3 set FD_CLOEXEC");
	IS(fcntl(fd, F_GETFD), 0, "the original keeps its own FD_CLOEXEC");
	IS(syscall(SYS_dup3, fd, 21, 0), 21,
	   "dup3 without flags onto an open fd");
	IS(fcntl(21, F_GETFD), 0, "dup3 without O_CLOEXEC clears it");
	ERR(syscall(SYS_dup3, fd, fd, 0), EINVAL, "dup3 onto itself");
	ERR(syscall(SYS_dup3, fd, 22, 0x1234), EINVAL, "dup3 with bad flags");
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	IS(dup2(fd, 22), 22, "dup2 of a close-on-exec fd");
	IS(fcntl(22, F_GETFD), 0, "dup2 gives a fd without FD_CLOEXEC");
	fcntl(fd, F_SETFD, 0);
	close(21);
	close(22);
	close(fd);
}

static void test_fcntl(void)
{
	int fd = open("f", O_RDWR);
	IS(fcntl(fd, F_GETFD), 0, "F_GETFD of a new fd");
	SYS(fcntl(fd, F_SETFD, FD_CLOEXEC), "F_SETFD FD_CLOEXEC");
	IS(fcntl(fd, F_GETFD), FD_CLOEXEC, "F_GETFD sees it");
	SYS(fcntl(fd, F_SETFD, 0), "F_SETFD 0");
	IS(fcntl(fd, F_GETFD), 0, "F_GETFD cleared");

	int fl = SYS(fcntl(fd, F_GETFL), "F_GETFL");
	IS(fl & O_ACCMODE, O_RDWR, "F_GETFL access mode O_RDWR");
	IS(fl & (O_APPEND | O_NONBLOCK), 0, "no O_APPEND/O_NONBLOCK yet");
	SYS(fcntl(fd, F_SETFL, fl | O_APPEND | O_NONBLOCK),
	    "F_SETFL O_APPEND|O_NONBLOCK");
	fl = fcntl(fd, F_GETFL);
	IS(fl & (O_APPEND | O_NONBLOCK), O_APPEND | O_NONBLOCK,
	   "F_GETFL shows them");
	IS(fl & O_ACCMODE, O_RDWR, "F_SETFL does not change the access mode");
	int d = dup(fd);
	IS(fcntl(d, F_GETFL) & O_APPEND, O_APPEND,
	   "status flags are shared with a dup");
	lseek(fd, 0, SEEK_SET);
	write(d, "Z", 1);
	IS(lseek(fd, 0, SEEK_CUR), 7,
	   "O_APPEND through the dup writes at the end");
	fcntl(fd, F_SETFL, O_RDWR);
	IS(fcntl(d, F_GETFL) & O_APPEND, 0, "clearing is shared too");
	close(d);

	IS(fcntl(fd, F_DUPFD, 30), 30, "F_DUPFD with a free minimum");
	IS(fcntl(fd, F_DUPFD, 30), 31, "F_DUPFD skips taken fds");
	IS(fcntl(30, F_GETFD), 0, "F_DUPFD clears FD_CLOEXEC");
	int c = fcntl(fd, F_DUPFD_CLOEXEC, 40);
	IS(c, 40, "F_DUPFD_CLOEXEC");
	IS(fcntl(40, F_GETFD), FD_CLOEXEC, "F_DUPFD_CLOEXEC sets FD_CLOEXEC");
	ERR(fcntl(fd, F_DUPFD, -1), EINVAL, "F_DUPFD with a negative minimum");
	ERR(fcntl(9999, F_GETFD), EBADF, "F_GETFD on a bad fd");
	ERR(fcntl(fd, 9999), EINVAL, "an unknown fcntl command");
	close(30);
	close(31);
	close(40);
	ERR(fcntl(30, F_GETFL), EBADF, "F_GETFL on a closed fd");
	close(fd);
}

static void test_fork_share(void)
{
	int fd = open("f", O_RDWR);
	lseek(fd, 0, SEEK_SET);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		_exit(read(fd, &c, 3) == 3 ? 0 : 1);
	}
	IS_EXIT(wait_child(pid, 5000), 0, "a child reads the inherited fd");
	IS(lseek(fd, 0, SEEK_CUR), 3, "the child moved the shared offset");
	pid = fork();
	if (pid == 0) {
		close(fd);
		_exit(0);
	}
	wait_child(pid, 5000);
	char c = 0;
	IS(read(fd, &c, 1), 1, "a child's close does not close the parent's");
	close(fd);
	unlink("f");
}

/* Many descriptors at once: the table grows past its first size. */
static void test_many(void)
{
	int fds[200], n = 0;
	for (int i = 0; i < 200; i++) {
		fds[i] = dup(2);
		if (fds[i] < 0)
			break;
		n++;
	}
	IS(n, 200, "200 dups at once");
	int distinct = 1;
	for (int i = 1; i < n; i++)
		distinct &= fds[i] > fds[i - 1];
	OK(distinct, "they are increasing fd numbers");
	for (int i = 0; i < n; i++)
		close(fds[i]);
	int fd = dup(2);
	OK(fd == fds[0], "all were closed (the lowest is free again)");
	close(fd);
}

int main(int argc, char **argv)
{
	tap_init(argc, argv, "t_fd");
	test_dup();
	test_fcntl();
	test_fork_share();
	test_many();
	return tap_done();
}
