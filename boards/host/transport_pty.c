/* transport_pty.c - a pseudo-terminal standing in for a USB CDC / UART port. The
 * emulator keeps the slave side open itself, so the port (and its raw mode) survives
 * host programs opening and closing it; a host should discard stale input after
 * opening it (pyserial: reset_input_buffer()) and send a lone 0x00 first. */
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static int pty_fds(transport *t, struct pollfd *p)
{
    p[0].fd = t->fd_a;
    p[0].events = POLLIN;
    p[0].revents = 0;
    return 1;
}

static long pty_service(transport *t, const struct pollfd *p, int n, uint8_t *buf, size_t cap,
                        int *fresh)
{
    ssize_t r;
    (void)fresh;
    if (n < 1 || !p[0].revents)
        return 0;
    r = read(t->fd_a, buf, cap);
    if (r > 0)
        return (long)r;
    if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == EIO)) {
        if (errno == EIO)  /* cannot happen while we hold the slave; do not spin */
            usleep(10000);
        return 0;
    }
    host_log("pty read: %s", r < 0 ? strerror(errno) : "end of file");
    return -1;
}

static void pty_write(transport *t, const uint8_t *data, uint32_t len)
{
    uint32_t off = 0;
    while (off < len) {
        ssize_t w = write(t->fd_a, data + off, len - off);
        if (w > 0) {
            off += (uint32_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p;
            p.fd = t->fd_a;
            p.events = POLLOUT;
            p.revents = 0;
            if (poll(&p, 1, 500) <= 0) {  /* nobody reads the port: drop the rest */
                host_log("pty output full, %u bytes dropped", len - off);
                return;
            }
        } else {
            host_log("pty write: %s", w < 0 ? strerror(errno) : "short write");
            return;
        }
    }
}

static void pty_close(transport *t)
{
    if (t->fd_b >= 0)
        close(t->fd_b);
    if (t->fd_a >= 0)
        close(t->fd_a);
    t->fd_a = t->fd_b = -1;
}

int transport_pty_open(transport *t)
{
    struct termios tio;
    const char *name;
    memset(t, 0, sizeof *t);
    t->fd_b = -1;
    t->fd_a = posix_openpt(O_RDWR | O_NOCTTY);
    if (t->fd_a < 0 || grantpt(t->fd_a) != 0 || unlockpt(t->fd_a) != 0 ||
        (name = ptsname(t->fd_a)) == NULL) {
        host_log("cannot open a pseudo-terminal: %s", strerror(errno));
        if (t->fd_a >= 0)
            close(t->fd_a);
        return -1;
    }
    snprintf(t->url, sizeof t->url, "%s", name);
    t->fd_b = open(t->url, O_RDWR | O_NOCTTY);  /* held: the port outlives its users */
    if (t->fd_b < 0 || tcgetattr(t->fd_b, &tio) != 0) {
        host_log("cannot open %s: %s", t->url, strerror(errno));
        pty_close(t);
        return -1;
    }
    cfmakeraw(&tio);
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (tcsetattr(t->fd_b, TCSANOW, &tio) != 0) {
        host_log("cannot set raw mode on %s: %s", t->url, strerror(errno));
        pty_close(t);
        return -1;
    }
    fcntl(t->fd_a, F_SETFL, fcntl(t->fd_a, F_GETFL) | O_NONBLOCK);
    t->fds = pty_fds;
    t->service = pty_service;
    t->write = pty_write;
    t->close = pty_close;
    return 0;
}
