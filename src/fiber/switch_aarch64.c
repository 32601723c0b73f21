/*
 * AArch64 (AAPCS64) context switch: save x19-x28, the frame pointer, the
 * link register and d8-d15 (the callee-saved registers) in a 176-byte
 * frame on the current stack, swap sp, restore the other side's, return
 * through its link register.
 */
#if defined(__aarch64__) && !defined(WEFT_FIBER_UCONTEXT)
#include <stdint.h>

#include "fiber/context.h"

const char weft__ctx_kind[] = "aarch64 asm";

/* Frame, from the saved sp up: d8-d15 (0x00-0x3f), x19-x28 (0x40-0x8f),
 * x29 and x30 (0x90-0x9f), 16 bytes of padding (0xa0-0xaf). */
__asm__(".text\n"
        ".globl weft__ctx_switch\n"
        ".hidden weft__ctx_switch\n"
        ".type weft__ctx_switch,%function\n"
        ".p2align 4\n"
        "weft__ctx_switch:\n"
        "  .cfi_startproc\n"
        "  sub sp, sp, #0xb0\n"
        "  .cfi_adjust_cfa_offset 0xb0\n"
        "  stp d8, d9, [sp, #0x00]\n"
        "  stp d10, d11, [sp, #0x10]\n"
        "  stp d12, d13, [sp, #0x20]\n"
        "  stp d14, d15, [sp, #0x30]\n"
        "  stp x19, x20, [sp, #0x40]\n"
        "  stp x21, x22, [sp, #0x50]\n"
        "  stp x23, x24, [sp, #0x60]\n"
        "  stp x25, x26, [sp, #0x70]\n"
        "  stp x27, x28, [sp, #0x80]\n"
        "  stp x29, x30, [sp, #0x90]\n"
        "  mov x9, sp\n"
        "  str x9, [x0]\n"
        "  mov sp, x1\n"
        "  ldp d8, d9, [sp, #0x00]\n"
        "  ldp d10, d11, [sp, #0x10]\n"
        "  ldp d12, d13, [sp, #0x20]\n"
        "  ldp d14, d15, [sp, #0x30]\n"
        "  ldp x19, x20, [sp, #0x40]\n"
        "  ldp x21, x22, [sp, #0x50]\n"
        "  ldp x23, x24, [sp, #0x60]\n"
        "  ldp x25, x26, [sp, #0x70]\n"
        "  ldp x27, x28, [sp, #0x80]\n"
        "  ldp x29, x30, [sp, #0x90]\n"
        "  add sp, sp, #0xb0\n"
        "  .cfi_adjust_cfa_offset -0xb0\n"
        "  ret\n"
        "  .cfi_endproc\n"
        ".size weft__ctx_switch, .-weft__ctx_switch\n"
        /* The first frame of every fiber: x19 holds the argument, x20 the
         * entry function. The link register is undefined so that
         * debuggers end the backtrace here. */
        ".globl weft__ctx_trampoline\n"
        ".hidden weft__ctx_trampoline\n"
        ".type weft__ctx_trampoline,%function\n"
        ".p2align 4\n"
        "weft__ctx_trampoline:\n"
        "  .cfi_startproc\n"
        "  .cfi_undefined x30\n"
        "  mov x29, #0\n"
        "  mov x0, x19\n"
        "  blr x20\n"
        "  brk #0\n"
        "  .cfi_endproc\n"
        ".size weft__ctx_trampoline, .-weft__ctx_trampoline\n");

void weft__ctx_trampoline(void);

void *weft__ctx_make(void *lo, void *hi, void (*entry)(void *), void *arg) {
    (void)lo;
    uintptr_t top = (uintptr_t)hi & ~(uintptr_t)15;
    uint64_t *frame = (uint64_t *)(top - 0xb0);
    for (int i = 0; i < 0xb0 / 8; i++) frame[i] = 0;
    frame[0x40 / 8] = (uint64_t)(uintptr_t)arg;                  /* x19 */
    frame[0x48 / 8] = (uint64_t)(uintptr_t)entry;                /* x20 */
    frame[0x98 / 8] = (uint64_t)(uintptr_t)weft__ctx_trampoline; /* x30: where ret goes */
    return frame;
}

#endif
