/* Interrupt and exception entry. Every vector gets a stub that pushes a dummy error code
   when the CPU did not, then its vector number, and joins isr_common, which saves the
   general registers and the FPU/SSE state and calls uk_interrupt(frame) in C#.
   The frame layout is InterruptFrame in Interrupts.cs; the syscall entry builds the same. */

#include "frame.h"

    .text
    .altmacro
.macro ISR_STUB n
    .p2align 4
isr_\n:
    .if (\n == 8 || (\n >= 10 && \n <= 14) || \n == 17 || \n == 21 || \n == 29 || \n == 30)
    .else
    pushq $0
    .endif
    pushq $\n
    jmp isr_common
.endm

.set i, 0
.rept 256
    ISR_STUB %i
    .set i, i + 1
.endr

    .globl isr_common
isr_common:
    .cfi_startproc simple
    .cfi_signal_frame
    .cfi_def_cfa %rsp, 8
    .cfi_undefined %rip             /* until the frame is built: the end of the chain */
    cld
    testb $3, 24(%rsp)              /* from user mode: GS to this CPU's block */
    jz 1f
    swapgs
1:  PUSH_GPRS
    movq %rsp, %rdi
    subq $512, %rsp
    fxsave64 (%rsp)
    FRAME_CFI                       /* to the end: wrong only while single-stepping the exit */
    call uk_interrupt
    /* uk_interrupt returns the frame to resume: the same one, or another thread's. */
    .globl isr_resume
isr_resume:
    leaq -512(%rax), %rsp
    fxrstor64 (%rsp)
    addq $512, %rsp
    POP_GPRS
    addq $16, %rsp
    testb $3, 8(%rsp)               /* to user mode: GS back to the user's base */
    jz 2f
    swapgs
2:  iretq
    .cfi_endproc

.macro STUB_ADDR n
    .quad isr_\n
.endm
    .section .rodata
    .p2align 3
    .globl isr_stub_table
isr_stub_table:
.set i, 0
.rept 256
    STUB_ADDR %i
    .set i, i + 1
.endr
