/* host.h - the host emulator board: shared declarations of main.c, host_log.c,
 * flash_file.c and the two transports (transport_tcp.c, transport_pty.c). */
#ifndef EDGESNN_HOST_H
#define EDGESNN_HOST_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* A byte stream to the host side: a TCP server socket or a pseudo-terminal. */
typedef struct transport transport;
#define TCP_CLIENTS 8                         /* TCP clients connected at once */
#define TRANSPORT_MAX_FDS (1 + TCP_CLIENTS)   /* the listener and the clients */
struct transport {
    /* Fill up to TRANSPORT_MAX_FDS pollfds; returns how many. */
    int (*fds)(transport *t, struct pollfd *p);
    /* Handle poll results; read at most cap bytes into buf. Returns the bytes read
     * (0: none), -1 on a fatal error. *fresh is set when a new peer connected. */
    long (*service)(transport *t, const struct pollfd *p, int n, uint8_t *buf, size_t cap,
                    int *fresh);
    /* Send bytes to the peer (dropped when nobody is connected). */
    void (*write)(transport *t, const uint8_t *data, uint32_t len);
    void (*close)(transport *t);
    char url[128];   /* what the banner prints: socket://127.0.0.1:PORT or /dev/pts/N */
    int fd_a, fd_b;  /* tcp: listener, the client being answered; pty: master, slave */
};

int transport_tcp_open(transport *t, int port);
int transport_pty_open(transport *t);

/* Flash: a file mapped MAP_SHARED, so its contents survive kill -9 and restarts. */
typedef struct {
    uint8_t *map;
    uint32_t bytes;
    int fd;
    long page;
} flash_file;

/* Open (creating a zero-filled file when missing) and map. 0 = ok. */
int flash_file_open(flash_file *f, const char *path, uint32_t bytes);
/* esnn_board.flash_write: memcpy into the map, then msync(MS_SYNC) the pages. */
int flash_file_write(void *ctx, uint32_t offset, const uint8_t *data, uint32_t len);
void flash_file_close(flash_file *f);

/* One line on stderr, prefixed "edgesnn-host: ". */
void host_log(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#endif
