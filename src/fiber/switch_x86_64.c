/*
 * x86-64 (System V) context switch: push the six callee-saved integer
 * registers and the SSE/x87 control words (the ABI makes them
 * callee-saved: a fiber that changes the rounding mode must not change it
 * for the thread it returns to), swap rsp, pop the other side's, return.
 * No system call, no signal mask (glibc's swapcontext saves the mask with a
 * sigprocmask call on every switch).
 */
#if defined(__x86_64__) && !defined(WEFT_FIBER_UCONTEXT)
#include <stdint.h>

#include "fiber/context.h"

const char weft__ctx_kind[] = "x86_64 asm";

/* Saved frame, from the saved stack pointer up: mxcsr (4 bytes) and the
 * x87 control word (4 bytes, 2 used), r15, r14, r13, r12, rbx, rbp, then
 * the return address. */
__asm__(".text\n"
        ".globl weft__ctx_switch\n"
        ".hidden weft__ctx_switch\n"
        ".type weft__ctx_switch,@function\n"
        ".p2align 4\n"
        "weft__ctx_switch:\n"
        "  .cfi_startproc\n"
        "  pushq %rbp\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  pushq %rbx\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  pushq %r12\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  pushq %r13\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  pushq %r14\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  pushq %r15\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  leaq -8(%rsp), %rsp\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  stmxcsr (%rsp)\n"
        "  fnstcw 4(%rsp)\n"
        /* This side's control bits: mxcsr without its sticky exception
         * flags, and the x87 control word (each loaded at the width it
         * was stored, so the loads forward from the stores). */
        "  movl (%rsp), %eax\n"
        "  andl $0xffc0, %eax\n"
        "  movzwl 4(%rsp), %edx\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        /* Loading the control words stalls the pipeline (about 5 ns a
         * pair): load them only when the other side's differ, which only
         * a fiber that changed its rounding or exception masks causes. */
        "  movl (%rsp), %ecx\n"
        "  andl $0xffc0, %ecx\n"
        "  cmpl %ecx, %eax\n"
        "  jne 2f\n"
        "  movzwl 4(%rsp), %ecx\n"
        "  cmpl %ecx, %edx\n"
        "  je 1f\n"
        "2:\n"
        "  ldmxcsr (%rsp)\n"
        "  fldcw 4(%rsp)\n"
        "1:\n"
        "  leaq 8(%rsp), %rsp\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  popq %r15\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  popq %r14\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  popq %r13\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  popq %r12\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  popq %rbx\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  popq %rbp\n"
        "  .cfi_adjust_cfa_offset -8\n"
        /* Not `ret`: the return-stack predictor would send it back to the
         * caller on this side and miss on every switch (~20 cycles). An
         * indirect jump is predicted from its own history: each switch
         * site resumes at few places. */
        "  popq %rcx\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  .cfi_register rip, rcx\n"
        "  jmpq *%rcx\n"
        "  .cfi_endproc\n"
        ".size weft__ctx_switch, .-weft__ctx_switch\n"
        /* The first frame of every fiber: rbx holds the argument and r12
         * the entry function (popped by the first switch). The return
         * address is marked undefined so that debuggers end the backtrace
         * here instead of walking into garbage. */
        ".globl weft__ctx_trampoline\n"
        ".hidden weft__ctx_trampoline\n"
        ".type weft__ctx_trampoline,@function\n"
        ".p2align 4\n"
        "weft__ctx_trampoline:\n"
        "  .cfi_startproc\n"
        "  .cfi_undefined rip\n"
        "  movq %rbx, %rdi\n"
        "  callq *%r12\n"
        "  ud2\n"
        "  .cfi_endproc\n"
        ".size weft__ctx_trampoline, .-weft__ctx_trampoline\n");

void weft__ctx_trampoline(void);

void *weft__ctx_make(void *lo, void *hi, void (*entry)(void *), void *arg) {
    (void)lo;
    uintptr_t top = (uintptr_t)hi & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)top;
    /* After the first switch pops the frame below and returns into the
     * trampoline, rsp is top - 16: 16-byte aligned before its call, as
     * the ABI wants. */
    *--sp = 0;                                  /* top - 8: padding */
    *--sp = 0;                                  /* top - 16: padding */
    *--sp = (uint64_t)(uintptr_t)weft__ctx_trampoline; /* return address */
    *--sp = 0;                                  /* rbp: ends frame-pointer chains */
    *--sp = (uint64_t)(uintptr_t)arg;           /* rbx */
    *--sp = (uint64_t)(uintptr_t)entry;         /* r12 */
    *--sp = 0;                                  /* r13 */
    *--sp = 0;                                  /* r14 */
    *--sp = 0;                                  /* r15 */
    uint32_t mxcsr;
    uint16_t fpucw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(fpucw));
    *--sp = (uint64_t)mxcsr | ((uint64_t)fpucw << 32); /* the creator's control words */
    return sp;
}

#endif
