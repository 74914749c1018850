/* host_log.c - the host board's log line (host.h), in its own file so that the
 * transports and the flash file, which log too, do not depend on main.c. */
#include "host.h"

#include <stdarg.h>
#include <stdio.h>

void host_log(const char *fmt, ...)
{
    va_list ap;
    fputs("edgesnn-host: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}
