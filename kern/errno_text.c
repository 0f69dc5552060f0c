/*
 * errno_text.c — one short English text per errno value, for messages on
 * the console ("mkdir: /data/x: file exists").
 */
#include "kern/kern.h"

static const struct {
	int err;
	const char *text;
} texts[] = {
	{EPERM, "operation not permitted"},
	{ENOENT, "no such file or directory"},
	{ESRCH, "no such process"},
	{EINTR, "interrupted"},
	{EIO, "input/output error"},
	{ENXIO, "no such device or address"},
	{E2BIG, "argument list too long"},
	{ENOEXEC, "exec format error"},
	{EBADF, "bad file descriptor"},
	{ECHILD, "no child processes"},
	{EAGAIN, "try again"},
	{ENOMEM, "out of memory"},
	{EACCES, "permission denied"},
	{EFAULT, "bad address"},
	{EBUSY, "device or resource busy"},
	{EEXIST, "file exists"},
	{EXDEV, "cross-device link"},
	{ENODEV, "no such device"},
	{ENOTDIR, "not a directory"},
	{EISDIR, "is a directory"},
	{EINVAL, "invalid argument"},
	{ENFILE, "too many open files in system"},
	{EMFILE, "too many open files"},
	{ENOTTY, "not a terminal"},
	{EFBIG, "file too large"},
	{ENOSPC, "no space left on device"},
	{ESPIPE, "illegal seek"},
	{EROFS, "read-only file system"},
	{EMLINK, "too many links"},
	{EPIPE, "broken pipe"},
	{ERANGE, "result out of range"},
	{ENAMETOOLONG, "file name too long"},
	{ENOSYS, "function not implemented"},
	{ENOTEMPTY, "directory not empty"},
	{ELOOP, "too many levels of symbolic links"},
	{ENOTSOCK, "not a socket"},
	{EDESTADDRREQ, "destination address required"},
	{EMSGSIZE, "message too long"},
	{EPROTOTYPE, "wrong protocol type for socket"},
	{ENOPROTOOPT, "protocol not available"},
	{EPROTONOSUPPORT, "protocol not supported"},
	{ESOCKTNOSUPPORT, "socket type not supported"},
	{EOPNOTSUPP, "operation not supported"},
	{EAFNOSUPPORT, "address family not supported"},
	{EADDRINUSE, "address in use"},
	{EADDRNOTAVAIL, "address not available"},
	{ENETDOWN, "network is down"},
	{ENETUNREACH, "network unreachable"},
	{ECONNABORTED, "connection aborted"},
	{ECONNRESET, "connection reset by peer"},
	{ENOBUFS, "no buffer space"},
	{EISCONN, "already connected"},
	{ENOTCONN, "not connected"},
	{ETIMEDOUT, "timed out"},
	{EHOSTDOWN, "host is down"},
	{ESHUTDOWN, "endpoint shut down"},
	{EPROTO, "protocol error"},
	{ECONNREFUSED, "connection refused"},
	{EHOSTUNREACH, "no route to host"},
	{EALREADY, "operation already in progress"},
	{EINPROGRESS, "operation in progress"},
	{EUCLEAN, "structure needs cleaning"},
};

const char *errno_text(int err)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
		if (texts[i].err == err)
			return texts[i].text;
	return "unknown error";
}
