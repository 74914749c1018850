/* cortexm.h - what a Cortex-M board provides to the shared firmware (boards/cortexm)
 * and what the shared code provides to the board.
 *
 * A board directory (boards/<name>/) holds board.c (clock and UART driver), board.ld
 * (its memory map) and a Makefile that sets the constants below and includes
 * ../cortexm/cortexm.mk. Everything else (startup, vector table, HardFault report,
 * semihosting exit, SysTick instruction counter, the protocol main loop) is shared. */
#ifndef EDGESNN_CORTEXM_H
#define EDGESNN_CORTEXM_H

#include <stdint.h>

/* ---- provided by the board (board.c) ---- */
void board_init(void);               /* clocks and UART; called once at reset */
int board_uart_getc(void);           /* a received byte, or -1 when none is waiting */
void board_uart_putc(uint8_t c);     /* blocking */

/* ---- provided by the shared code ---- */
void cm_puts(const char *s);                      /* UART, blocking */
void cm_put_u32(uint32_t v);                      /* UART, decimal */
void cm_semihost_write0(const char *s);           /* QEMU's stdout (needs semihosting) */
void cm_semihost_exit(uint32_t code) __attribute__((noreturn));
void cm_systick_init(void);
uint32_t cm_ticks(void *ctx);                     /* instructions, see systick.c */
uint32_t cm_stack_peak(void);                     /* deepest stack use seen, bytes */
uint32_t cm_stack_size(void);
uint32_t cm_painted_peak(const uint8_t *start, uint32_t len); /* bytes touched from start */

/* ---- the board's constants (Makefile -D) ---- */
#ifndef BOARD_NAME
#error "BOARD_NAME must be defined by the board's Makefile"
#endif
#ifndef BOARD_RAM_BYTES
#error "BOARD_RAM_BYTES must be defined"
#endif
#ifndef BOARD_FLASH_BYTES   /* the RAM array backing the two model slots */
#error "BOARD_FLASH_BYTES must be defined"
#endif
#ifndef BOARD_ARENA_BYTES
#error "BOARD_ARENA_BYTES must be defined"
#endif
#ifndef BOARD_TICK_Q32      /* instructions per SysTick count, Q32 (see systick.c) */
#error "BOARD_TICK_Q32 must be defined"
#endif

#define CM_PAINT 0xA5A5A5A5u

#define CM_REG(a) (*(volatile uint32_t *)(a))

#endif
