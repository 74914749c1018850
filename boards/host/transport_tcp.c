/* transport_tcp.c - a TCP server on 127.0.0.1 standing in for a serial cable. One
 * client at a time: a new connection replaces the current one (a re-plugged cable),
 * and when the client disconnects the next one is accepted. */
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

static void drop_client(transport *t, const char *why)
{
    if (t->fd_b >= 0) {
        close(t->fd_b);
        t->fd_b = -1;
        host_log("client disconnected (%s)", why);
    }
}

static int tcp_fds(transport *t, struct pollfd *p)
{
    int n = 0;
    p[n].fd = t->fd_a;
    p[n].events = POLLIN;
    p[n++].revents = 0;
    if (t->fd_b >= 0) {
        p[n].fd = t->fd_b;
        p[n].events = POLLIN;
        p[n++].revents = 0;
    }
    return n;
}

static long tcp_service(transport *t, const struct pollfd *p, int n, uint8_t *buf, size_t cap,
                        int *fresh)
{
    long got = 0;
    int i;
    for (i = 0; i < n; i++) {
        if (!p[i].revents)
            continue;
        if (p[i].fd == t->fd_b && t->fd_b >= 0) {
            ssize_t r = recv(t->fd_b, buf, cap, 0);
            if (r > 0)
                got = (long)r;
            else if (r == 0)
                drop_client(t, "closed by peer");
            else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
                drop_client(t, strerror(errno));
        } else if (p[i].fd == t->fd_a) {
            struct sockaddr_in peer;
            socklen_t plen = sizeof peer;
            int c = accept(t->fd_a, (struct sockaddr *)&peer, &plen), one = 1;
            struct timeval tv;
            if (c < 0)
                continue;
            if (t->fd_b >= 0) {
                /* data already read from the old client this round stays valid */
                drop_client(t, "replaced by a new connection");
            }
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            tv.tv_sec = 2;  /* never block forever on a client that stopped reading */
            tv.tv_usec = 0;
            setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            t->fd_b = c;
            *fresh = 1;
            host_log("client connected from 127.0.0.1:%u", (unsigned)ntohs(peer.sin_port));
            /* the new client's bytes are read next round: fresh is handled first */
            return got;
        }
    }
    return got;
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
            drop_client(t, w < 0 ? strerror(errno) : "send failed");
            return;
        }
    }
}

static void tcp_close(transport *t)
{
    if (t->fd_b >= 0)
        close(t->fd_b);
    if (t->fd_a >= 0)
        close(t->fd_a);
    t->fd_a = t->fd_b = -1;
}

int transport_tcp_open(transport *t, int port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int one = 1;
    memset(t, 0, sizeof *t);
    t->fd_b = -1;
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
