/* transport_tcp.c - a TCP server on 127.0.0.1 standing in for the board's serial line.
 * Several clients may be connected at once (up to TCP_CLIENTS; one more replaces the
 * connection accepted first): each client's bytes are handed to the device whole frames
 * at a time (up to its last 0x00 delimiter), and the device's answer goes back to the
 * client whose frame it answers. The device still sees one byte stream and cannot tell
 * the clients apart, as on a serial line; fine-tuning sessions are told apart by their
 * owner tokens (docs/protocol.md section 6). */
#include "host.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define PENDING_BYTES 4096u  /* a client's bytes not yet handed over (a partial frame) */

static struct {
    int fd;
    uint32_t len;
    unsigned long since;     /* accept order: the oldest is replaced when all are taken */
    uint8_t buf[PENDING_BYTES];
} g_cl[TCP_CLIENTS];
static unsigned long g_accepts;
static int g_next;           /* round robin: where the next service() starts looking */

static void drop_client(transport *t, int i, const char *why)
{
    if (g_cl[i].fd < 0)
        return;
    if (t->fd_b == g_cl[i].fd)
        t->fd_b = -1;
    close(g_cl[i].fd);
    g_cl[i].fd = -1;
    g_cl[i].len = 0;
    host_log("client disconnected (%s)", why);
}

static int tcp_fds(transport *t, struct pollfd *p)
{
    int n = 0, i;
    p[n].fd = t->fd_a;
    p[n].events = POLLIN;
    p[n++].revents = 0;
    for (i = 0; i < TCP_CLIENTS; i++) {
        if (g_cl[i].fd < 0)
            continue;
        p[n].fd = g_cl[i].fd;
        p[n].events = POLLIN;
        p[n++].revents = 0;
    }
    return n;
}

static void accept_client(transport *t, int *fresh)
{
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int c = accept(t->fd_a, (struct sockaddr *)&peer, &plen), one = 1, i, slot = -1;
    struct timeval tv;
    if (c < 0)
        return;
    for (i = 0; i < TCP_CLIENTS; i++) {
        if (g_cl[i].fd < 0) {
            slot = i;
            break;
        }
        if (slot < 0 || g_cl[i].since < g_cl[slot].since)
            slot = i;
    }
    if (g_cl[slot].fd >= 0)
        drop_client(t, slot, "replaced by a new connection: too many clients");
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    tv.tv_sec = 2;  /* never block forever on a client that stopped reading */
    tv.tv_usec = 0;
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    g_cl[slot].fd = c;
    g_cl[slot].len = 0;
    g_cl[slot].since = ++g_accepts;
    *fresh = 1;
    host_log("client connected from 127.0.0.1:%u", (unsigned)ntohs(peer.sin_port));
}

/* Hand over client i's complete frames (everything up to its last 0x00), or all of its
 * bytes when PENDING_BYTES hold no delimiter (an oversized frame: the device discards
 * it); the device's answers then go to this client. */
static long take(transport *t, int i, uint8_t *buf, size_t cap)
{
    uint32_t n = g_cl[i].len, k;
    while (n > 0u && g_cl[i].buf[n - 1u] != 0u)
        n--;
    if (n == 0u && g_cl[i].len == PENDING_BYTES)
        n = PENDING_BYTES;
    if (n == 0u || n > cap)
        return 0;
    memcpy(buf, g_cl[i].buf, n);
    k = g_cl[i].len - n;
    memmove(g_cl[i].buf, g_cl[i].buf + n, k);
    g_cl[i].len = k;
    t->fd_b = g_cl[i].fd;
    return (long)n;
}

static long tcp_service(transport *t, const struct pollfd *p, int n, uint8_t *buf, size_t cap,
                        int *fresh)
{
    int k, j;
    for (k = 0; k < n; k++)
        if (p[k].fd == t->fd_a && p[k].revents) {
            accept_client(t, fresh);
            return 0;  /* the new client's bytes are read next round: fresh goes first */
        }
    for (j = 0; j < TCP_CLIENTS; j++) {
        int i = (g_next + j) % TCP_CLIENTS;
        long got;
        for (k = 0; k < n; k++)
            if (g_cl[i].fd >= 0 && p[k].fd == g_cl[i].fd && p[k].revents)
                break;
        if (k == n)
            continue;
        {
            ssize_t r = recv(g_cl[i].fd, g_cl[i].buf + g_cl[i].len,
                             PENDING_BYTES - g_cl[i].len, 0);
            if (r == 0) {
                drop_client(t, i, "closed by peer");
                continue;
            }
            if (r < 0) {
                if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
                    drop_client(t, i, strerror(errno));
                continue;
            }
            g_cl[i].len += (uint32_t)r;
        }
        got = take(t, i, buf, cap);
        if (got > 0) {
            g_next = (i + 1) % TCP_CLIENTS;
            return got;
        }
    }
    return 0;
}

static void tcp_write(transport *t, const uint8_t *data, uint32_t len)
{
    uint32_t off = 0;
    while (t->fd_b >= 0 && off < len) {
        ssize_t w = send(t->fd_b, data + off, len - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (uint32_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else {
            int i;
            for (i = 0; i < TCP_CLIENTS; i++)
                if (g_cl[i].fd == t->fd_b)
                    drop_client(t, i, w < 0 ? strerror(errno) : "send failed");
            t->fd_b = -1;
            return;
        }
    }
}

static void tcp_close(transport *t)
{
    int i;
    for (i = 0; i < TCP_CLIENTS; i++)
        if (g_cl[i].fd >= 0) {
            close(g_cl[i].fd);
            g_cl[i].fd = -1;
        }
    if (t->fd_a >= 0)
        close(t->fd_a);
    t->fd_a = t->fd_b = -1;
}

int transport_tcp_open(transport *t, int port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int one = 1;
    int i;
    memset(t, 0, sizeof *t);
    t->fd_b = -1;  /* the client the device answers (the sender of the frame it handles) */
    for (i = 0; i < TCP_CLIENTS; i++)
        g_cl[i].fd = -1;
    t->fd_a = socket(AF_INET, SOCK_STREAM, 0);
    if (t->fd_a < 0) {
        host_log("socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(t->fd_a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  /* never reachable from the network */
    if (bind(t->fd_a, (struct sockaddr *)&a, sizeof a) != 0 || listen(t->fd_a, 4) != 0 ||
        getsockname(t->fd_a, (struct sockaddr *)&a, &alen) != 0) {
        host_log("cannot listen on 127.0.0.1:%d: %s", port, strerror(errno));
        close(t->fd_a);
        return -1;
    }
    snprintf(t->url, sizeof t->url, "socket://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    t->fds = tcp_fds;
    t->service = tcp_service;
    t->write = tcp_write;
    t->close = tcp_close;
    return 0;
}
