/* startup.c - reset, vector table and fault reporting, shared by every Cortex-M board.
 *
 * Reset copies .data, zeroes .bss and paints the stack with CM_PAINT so the deepest
 * stack use can be measured later (cm_stack_peak). A fault prints one line on the UART
 * and on QEMU's stdout (semihosting), then exits QEMU with code 3 (SYS_EXIT_EXTENDED),
 * so the host tools see a crash at once, with the board's last words. */
#include "cortexm.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sstack, _estack;
int main(void);

void Reset_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);

__attribute__((noreturn)) void Reset_Handler(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata, *sp;
    while (dst < &_edata)
        *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss; dst++)
        *dst = 0u;
    __asm volatile("mov %0, sp" : "=r"(sp));
    for (dst = &_sstack; dst < sp - 16; dst++)  /* leave this frame alone */
        *dst = CM_PAINT;
    main();
    cm_semihost_exit(0);
}

static void put_hex(char *p, uint32_t v)
{
    int i;
    for (i = 7; i >= 0; i--, v >>= 4)
        p[i] = "0123456789abcdef"[v & 15u];
}

/* frame: r0 r1 r2 r3 r12 lr pc xpsr, as stacked by the exception entry */
__attribute__((used, noreturn)) void cm_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    static char line[] = "edgesnn-" BOARD_NAME ": FAULT exception xxxxxxxx pc=xxxxxxxx "
                         "lr=xxxxxxxx cfsr=xxxxxxxx bfar=xxxxxxxx\r\n";
    char *p = line + sizeof("edgesnn-" BOARD_NAME ": FAULT exception ") - 1u;
    uint32_t ipsr;
    (void)exc_return;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    put_hex(p, ipsr & 0x1FFu);
    put_hex(p + 12, frame[6]);
    put_hex(p + 24, frame[5]);
    put_hex(p + 38, CM_REG(0xE000ED28u));  /* CFSR */
    put_hex(p + 52, CM_REG(0xE000ED38u));  /* BFAR */
    cm_puts(line);
    cm_semihost_write0(line);
    cm_semihost_exit(3);
}

/* Every fault and unexpected interrupt: pass the stacked frame (MSP or PSP, by
 * EXC_RETURN bit 2) and EXC_RETURN to the reporter. */
__attribute__((naked)) void Default_Handler(void)
{
    __asm volatile("tst lr, #4\n"
                   "ite eq\n"
                   "mrseq r0, msp\n"
                   "mrsne r0, psp\n"
                   "mov r1, lr\n"
                   "b cm_fault_report\n");
}

__attribute__((alias("Default_Handler"))) void HardFault_Handler(void);

/* systick.c defines the real one; builds without it never enable SysTick */
__attribute__((weak, alias("Default_Handler"))) void SysTick_Handler(void);

typedef void (*vector)(void);

/* 16 system vectors + the first external interrupts (none used: all Default_Handler) */
__attribute__((section(".isr_vector"), used)) const vector cm_vectors[16 + 16] = {
    (vector)(uintptr_t)&_estack, Reset_Handler,
    Default_Handler,   /* NMI */
    HardFault_Handler, /* HardFault */
    Default_Handler,   /* MemManage */
    Default_Handler,   /* BusFault */
    Default_Handler,   /* UsageFault */
    0, 0, 0, 0,
    Default_Handler,   /* SVCall */
    Default_Handler,   /* DebugMon */
    0,
    Default_Handler,   /* PendSV */
    SysTick_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
};
