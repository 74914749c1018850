/* main.c - the firmware main loop shared by every Cortex-M board: the same device code
 * as the host board (runtime_c/src/esnn_device_*.c) over the board's UART.
 *
 * Flash: QEMU's models of these boards do not let firmware program their flash, so the
 * two model slots live in a RAM array (flash_write = NULL: the runtime memcpy's). A
 * flashed model lasts until QEMU exits; RESET keeps it (RAM survives a re-init).
 *
 * At boot the board prints one banner line on the UART (the host launcher waits for
 * it) with its memory layout and a SysTick calibration:
 *   edgesnn-<board> ready ram=.. flash=.. arena=.. stack=.. device=.. calib=N/M
 * After an inference or a fine-tuning request that reaches a new stack or arena
 * high-water mark it writes
 *   edgesnn-<board>: stack_peak=N/STACK arena_peak=M/ARENA
 * to QEMU's stdout through semihosting (the launcher's log; see docs/boards.md); STATS
 * reports the same two marks over the protocol. */
#include "cortexm.h"
#include "edgesnn.h"

#include <string.h>

extern uint32_t _sstack, _estack;

/* zeroed .bss: the first init is a cold boot. Its own section keeps it out of GCC's
 * section-anchor block (a serve build's esnn_device, without the trainer, would fit one
 * and then cost longer addressing, 40 B of code on Cortex-M3). */
static esnn_device g_dev __attribute__((section(".bss.g_dev")));
static uint8_t g_flash[BOARD_FLASH_BYTES] __attribute__((aligned(16)));
static uint8_t g_arena[BOARD_ARENA_BYTES] __attribute__((aligned(16)));

static char *fmt_u32(char *end, uint32_t v)
{
    *--end = '\0';
    do {
        *--end = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    return end;
}

uint32_t cm_stack_size(void)
{
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)&_sstack);
}

uint32_t cm_stack_peak(void)
{
    const uint32_t *p = &_sstack;
    while (p < &_estack && *p == CM_PAINT)
        p++;
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)p);
}

uint32_t cm_painted_peak(const uint8_t *start, uint32_t len)
{
    const uint32_t *w = (const uint32_t *)(const void *)start;
    uint32_t n = len / 4u;
    while (n > 0u && w[n - 1u] == CM_PAINT)
        n--;
    return n * 4u;
}

/* esnn_board.peaks: STATS' stack_peak, stack_bytes and arena_peak (painted memory) */
static void mem_peaks(void *ctx, uint32_t *out)
{
    (void)ctx;
    out[0] = cm_stack_peak();
    out[1] = cm_stack_size();
    out[2] = cm_painted_peak(g_arena, sizeof g_arena);
}

static void tx_uart(void *ctx, const uint8_t *data, uint32_t len)
{
    (void)ctx;
    while (len--)
        board_uart_putc(*data++);
}

/* a known instruction count, to check the tick scaling: 2 * n + a few */
__attribute__((noinline)) static void spin(uint32_t n)
{
    __asm volatile("1: subs %0, %0, #1\n"
                   "bne 1b\n"
                   : "+r"(n)::"cc");
}

static char g_line[96];

static void append(char **p, const char *s)
{
    while (*s && *p < g_line + sizeof g_line - 1)
        *(*p)++ = *s++;
    **p = '\0';
}

static void append_u32(char **p, uint32_t v)
{
    char buf[12];
    append(p, fmt_u32(buf + sizeof buf, v));
}

static void report_peaks(void)
{
    static uint32_t last_stack, last_arena;
    uint32_t s = cm_stack_peak(), a = cm_painted_peak(g_arena, sizeof g_arena);
    char *p = g_line;
    if (s == last_stack && a == last_arena)
        return;
    last_stack = s;
    last_arena = a;
    append(&p, "edgesnn-" BOARD_NAME ": stack_peak=");
    append_u32(&p, s);
    append(&p, "/");
    append_u32(&p, cm_stack_size());
    append(&p, " arena_peak=");
    append_u32(&p, a);
    append(&p, "/");
    append_u32(&p, (uint32_t)sizeof g_arena);
    append(&p, "\n");
    cm_semihost_write0(g_line);
}

int main(void)
{
    esnn_board b;
    uint32_t t0, t1, work;
    uint8_t buf[64];

    board_init();
#if defined(CM_FAULT) && CM_FAULT == 1  /* test build: crash before the banner */
    __asm volatile("udf #0");
#endif
    {   /* paint the arena too, so its high-water mark can be read like the stack's */
        uint32_t *w = (uint32_t *)(void *)g_arena, i;
        for (i = 0; i < sizeof g_arena / 4u; i++)
            w[i] = CM_PAINT;
    }
    cm_systick_init();
    t0 = cm_ticks(NULL);
    spin(1000u);
    t1 = cm_ticks(NULL);

    memset(&b, 0, sizeof b);
    b.name = BOARD_NAME;
    b.ram_bytes = BOARD_RAM_BYTES;
    b.flash = g_flash;
    b.flash_bytes = sizeof g_flash;
    b.flash_write = NULL;  /* RAM-backed: the runtime memcpy's */
    b.arena = g_arena;
    b.arena_bytes = sizeof g_arena;
    b.tx = tx_uart;
    b.ticks = cm_ticks;
    b.tick_kind = ESNN_TICKS_INSTRUCTIONS;
    b.peaks = mem_peaks;
    esnn_device_init(&g_dev, &b);

    cm_puts("edgesnn-" BOARD_NAME " ready ram=");
    cm_put_u32(BOARD_RAM_BYTES);
    cm_puts(" flash=");
    cm_put_u32((uint32_t)sizeof g_flash);
    cm_puts(" arena=");
    cm_put_u32((uint32_t)sizeof g_arena);
    cm_puts(" stack=");
    cm_put_u32(cm_stack_size());
    cm_puts(" device=");
    cm_put_u32((uint32_t)sizeof g_dev);
    cm_puts(" calib=");
    cm_put_u32(t1 - t0);
    cm_puts("/2000\r\n");

    for (;;) {
        uint32_t n = 0;
        int c;
        while (n < sizeof buf && (c = board_uart_getc()) >= 0)
            buf[n++] = (uint8_t)c;
        if (n == 0u)
            continue;
#if defined(CM_FAULT) && CM_FAULT == 2  /* test build: crash on the first request */
        __asm volatile("udf #0");
#endif
        /* invocations + fine-tuned samples + fine-tuning commits (STATS 0, 11, 10) */
        work = g_dev.stats[0] + g_dev.stats[11] + g_dev.stats[10];
        esnn_device_rx(&g_dev, buf, n);
        if (g_dev.stats[0] + g_dev.stats[11] + g_dev.stats[10] != work)
            report_peaks();
        if (esnn_device_reset_requested(&g_dev))
            esnn_device_init(&g_dev, &b);  /* what a reboot does; the RAM flash stays */
    }
}
