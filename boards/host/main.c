/* main.c - edgesnn-host: the host emulator board. The same device code as on an MCU
 * (runtime_c/src/esnn_device_*.c) behind a TCP socket or a pseudo-terminal, with a
 * file-backed flash that survives kill -9, a static arena and nanosecond ticks.
 *
 *   edgesnn-host --flash FILE [--tcp PORT | --pty] [--arena BYTES]
 *                [--slot-bytes BYTES] [--name NAME] [--session-idle MS]
 *
 * Prints one banner line on stdout ("edgesnn-host ready url=..."), logs to stderr. */
#include "host.h"
#include "edgesnn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ARENA_MAX (64u * 1024u * 1024u)
#define ARENA_DEFAULT (256u * 1024u)
#define SLOT_DEFAULT 65536u
#define SLOT_MAX (256u * 1024u * 1024u)

/* The arena: static like on an MCU; untouched pages cost nothing. */
static uint8_t g_arena[ARENA_MAX] __attribute__((aligned(64)));
static esnn_device g_dev;  /* static: zeroed, so the first init is a cold boot */
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static uint32_t ticks_ns(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

static void tx_to_transport(void *ctx, const uint8_t *data, uint32_t len)
{
    transport *t = (transport *)ctx;
    t->write(t, data, len);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: edgesnn-host --flash FILE [--tcp PORT | --pty] [--arena BYTES]\n"
            "                    [--slot-bytes BYTES] [--name NAME]\n"
            "  --flash FILE       flash image (created zero-filled when missing),\n"
            "                     2 * (32 + slot_bytes) bytes\n"
            "  --tcp PORT         listen on 127.0.0.1:PORT (0: ephemeral; the default)\n"
            "  --pty              serve a pseudo-terminal instead\n"
            "  --arena BYTES      arena for models (default %u, at most %u)\n"
            "  --slot-bytes BYTES largest model image (default %u)\n"
            "  --name NAME        board name reported by HELLO (default \"host\")\n"
            "  --session-idle MS  a fine-tuning session idle this long is stale and ends\n"
            "                     when another request needs the board (default %u; 0: never)\n",
            ARENA_DEFAULT, ARENA_MAX, SLOT_DEFAULT, ESNN_SESSION_IDLE_MS);
}

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s)
        return -1;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static uint32_t clock_ms(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/* A slot that failed its boot check is never run, and never passed over in silence. */
static void log_failed_slots(const char *why)
{
    static const char *const what[] = {"", "", "", "bad slot header", "image CRC mismatch",
                                       "the model was refused"};
    const esnn_device *d = &g_dev;
    uint32_t s;
    for (s = 0; s < 2u; s++) {
        uint8_t c = d->slot_check[s];
        if (c < ESNN_SLOT_BAD_HEADER || c > ESNN_SLOT_BAD_MODEL)
            continue;
        host_log("%s: slot %u FAILED its boot check: %s (%s); it is not used", why, s, what[c],
                 esnn_status_str((esnn_status)d->slot_status[s]));
    }
}

static void log_boot(const char *why)
{
    const esnn_device *d = &g_dev;
    log_failed_slots(why);
    if (d->active == ESNN_NO_SLOT) {
        host_log("%s: no valid model in flash", why);
    } else {
        const uint8_t *h = d->board.flash + d->active * (d->board.flash_bytes / 2u);
        uint32_t gen = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 |
                       (uint32_t)h[7] << 24;
        host_log("%s: active slot %u generation %u (%u bytes)", why, d->active, gen,
                 d->model.blob_len);
    }
}

int main(int argc, char **argv)
{
    const char *flash_path = NULL, *name = "host";
    uint32_t arena = ARENA_DEFAULT, slot = SLOT_DEFAULT, port = 0, idle = ESNN_SESSION_IDLE_MS;
    int use_pty = 0, i, rc = 0;
    flash_file flash;
    transport t;
    esnn_board b;
    struct sigaction sa;
    static uint8_t buf[4096];

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--pty")) {
            use_pty = 1;
            continue;
        } else if (!strcmp(a, "--flash") && v) {
            flash_path = v;
        } else if (!strcmp(a, "--tcp") && v) {
            bad = parse_u32(v, 0, 65535, &port);
            use_pty = 0;
        } else if (!strcmp(a, "--arena") && v) {
            bad = parse_u32(v, 16, ARENA_MAX, &arena);
        } else if (!strcmp(a, "--slot-bytes") && v) {
            bad = parse_u32(v, 64, SLOT_MAX, &slot);
        } else if (!strcmp(a, "--name") && v) {
            name = v;
        } else if (!strcmp(a, "--session-idle") && v) {
            bad = parse_u32(v, 0, 0xFFFFFFFFu, &idle);
        } else {
            fprintf(stderr, "edgesnn-host: bad argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "edgesnn-host: bad value '%s' for %s\n", v, a);
            return 2;
        }
        i++;
    }
    if (!flash_path) {
        fprintf(stderr, "edgesnn-host: --flash FILE is required\n");
        usage(stderr);
        return 2;
    }

    if (flash_file_open(&flash, flash_path, 2u * (ESNN_SLOT_HEADER_BYTES + slot)) != 0)
        return 1;
    memset(&b, 0, sizeof b);
    b.name = name;
    b.arena = g_arena;
    b.arena_bytes = arena - arena % ESNN_ARENA_ALIGN;
    b.ram_bytes = b.arena_bytes + (uint32_t)sizeof g_dev;
    b.flash = flash.map;
    b.flash_bytes = flash.bytes;
    b.flash_write = flash_file_write;
    b.flash_ctx = &flash;
    b.tx = tx_to_transport;
    b.tx_ctx = &t;
    b.ticks = ticks_ns;
    b.tick_kind = ESNN_TICKS_NANOSECONDS;
    b.clock_ms = idle ? clock_ms : NULL;  /* without a clock sessions never go stale */
    b.session_idle_ms = idle;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;  /* no SA_RESTART: poll() returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if ((use_pty ? transport_pty_open(&t) : transport_tcp_open(&t, (int)port)) != 0) {
        flash_file_close(&flash);
        return 1;
    }
    esnn_device_init(&g_dev, &b);
    log_boot("boot");
    printf("edgesnn-host ready url=%s\n", t.url);
    fflush(stdout);

    while (!g_stop) {
        struct pollfd p[TRANSPORT_MAX_FDS];
        int n = t.fds(&t, p), fresh = 0;
        long got;
        uint8_t active, session, training;
        uint32_t committed, rejected, tuned, expired;
        if (poll(p, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            host_log("poll: %s", strerror(errno));
            rc = 1;
            break;
        }
        got = t.service(&t, p, n, buf, sizeof buf, &fresh);
        if (got < 0) {
            rc = 1;
            break;
        }
        if (fresh)  /* a new cable: flush any half frame of the previous peer */
            esnn_device_rx(&g_dev, (const uint8_t *)"", 1);
        if (got == 0)
            continue;
        active = g_dev.active;
        session = g_dev.session_open;
        committed = g_dev.stats[7];
        rejected = g_dev.stats[8];
        training = g_dev.ft_open;
        tuned = g_dev.stats[10];
        expired = g_dev.ft_expired;
        esnn_device_rx(&g_dev, buf, (uint32_t)got);
        if (g_dev.ft_expired != expired)
            host_log("a stale fine-tuning session (no request from its host for %u ms or "
                     "more) was ended; nothing was written", idle);
        if (!training && g_dev.ft_open)
            host_log("fine-tuning started on slot %u (arena %u bytes)", g_dev.ft_base,
                     g_dev.trainer.stats.arena_bytes);
        else if (training && !g_dev.ft_open && g_dev.stats[10] == tuned)
            host_log("fine-tuning ended without a commit");
        if (g_dev.stats[10] != tuned)
            host_log("fine-tuning committed (%u samples trained since boot)", g_dev.stats[11]);
        if (!session && g_dev.session_open)
            host_log("upload started: %u bytes into slot %u", g_dev.session_size,
                     g_dev.session_slot);
        if (g_dev.stats[7] != committed || g_dev.stats[10] != tuned || g_dev.active != active)
            log_boot("commit");
        if (g_dev.stats[8] != rejected)
            host_log("upload rejected");
        if (esnn_device_reset_requested(&g_dev)) {
            host_log("RESET: rebooting");
            esnn_device_init(&g_dev, &b);  /* what a reboot does to the device state */
            log_boot("boot");
        }
    }
    host_log("exiting");
    t.close(&t);
    flash_file_close(&flash);
    return rc;
}
