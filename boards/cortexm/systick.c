/* systick.c - instruction counts from SysTick under QEMU -icount.
 *
 * With `-icount shift=S,sleep=off` QEMU's virtual clock advances 2^S ns per guest
 * instruction, and SysTick (CLKSOURCE = CPU clock, period P ns) counts virtual time.
 * Each board picks S so that one instruction is at least one SysTick count, and
 * BOARD_TICK_Q32 = P / 2^S in Q32: instructions = ceil(counts * P / 2^S).
 *
 * Determinism: a SysTick count is P ns long, so how many counts N instructions span
 * depends on where they start within a count; the host's bytes arrive at
 * arbitrary virtual times, so that phase is random. cm_ticks() therefore restarts the
 * counter (a write to SYST_CVR) on every call and returns a running total of the
 * instructions between calls: the device calls it right before and right after an
 * inference, so that interval always starts at phase 0 and the same inference always
 * reports the same number. The 24-bit counter wraps are counted by the interrupt. */
#include "cortexm.h"

#define SYST_CSR CM_REG(0xE000E010u)
#define SYST_RVR CM_REG(0xE000E014u)
#define SYST_CVR CM_REG(0xE000E018u)
#define SCB_ICSR CM_REG(0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)
#define ICSR_PENDSTCLR (1u << 25)

static volatile uint32_t g_wraps;
static uint32_t g_total;

void SysTick_Handler(void)
{
    g_wraps++;
}

void cm_systick_init(void)
{
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 7u;  /* CPU clock, interrupt, enable */
}

uint32_t cm_ticks(void *ctx)
{
    uint32_t cvr, wraps, counts;
    uint64_t ins;
    (void)ctx;
    __asm volatile("cpsid i" ::: "memory");
    cvr = SYST_CVR;
    SYST_CVR = 0u;                 /* restart: the next interval starts at phase 0 */
    wraps = g_wraps;
    if (SCB_ICSR & ICSR_PENDSTSET) { /* wrapped but not yet counted */
        SCB_ICSR = ICSR_PENDSTCLR;
        if (cvr != 0u)
            wraps++;
    }
    g_wraps = 0u;
    __asm volatile("cpsie i" ::: "memory");
    /* after a restart CVR is 0, then 0xFFFFFF, 0xFFFFFE, ... one per count */
    counts = (wraps << 24) + (cvr ? 0x01000000u - cvr : 0u);
    ins = ((uint64_t)counts * (uint64_t)BOARD_TICK_Q32 + 0xFFFFFFFFull) >> 32;
    g_total += (uint32_t)ins;
    return g_total;
}
