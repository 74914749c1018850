/* semihost.c - ARM semihosting (bkpt 0xAB): QEMU's stdout and exit code. QEMU must run
 * with -semihosting-config enable=on,target=native (edgesnn's launcher does); without
 * it the bkpt is a fault. */
#include "cortexm.h"

static uint32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void cm_semihost_write0(const char *s)
{
    (void)semihost(0x04u, s);  /* SYS_WRITE0 */
}

void cm_semihost_exit(uint32_t code)
{
    uint32_t block[2];
    block[0] = 0x20026u;       /* ADP_Stopped_ApplicationExit */
    block[1] = code;
    (void)semihost(0x20u, block); /* SYS_EXIT_EXTENDED */
    for (;;)
        (void)semihost(0x18u, (const void *)(uintptr_t)0x20026u); /* SYS_EXIT, in case */
}
