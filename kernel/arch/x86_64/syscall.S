/* SYSCALL entry. The CPU leaves the user rip in rcx and rflags in r11 and masks IF (FMASK).
   We switch to the current thread's kernel stack and build an InterruptFrame exactly like
   isr_common's (vector 0x100 marks a syscall), so signals and context switches handle
   one frame type. Return is through isr_resume's iretq. */

#include "frame.h"

    .text
    .globl syscall_entry
syscall_entry:
    .cfi_startproc simple
    .cfi_signal_frame
    .cfi_def_cfa %rsp, 8
    .cfi_undefined %rip             /* until the frame is built: the end of the chain */
    swapgs                          /* GS: this CPU's block (smp.S), the user's base parked */
    movq %rsp, %gs:8                /* PerCpu.UserRsp */
    movq %gs:16, %rsp               /* PerCpu.KernelRsp: the current thread's kernel stack */
    pushq $0x1b                     /* user ss */
    pushq %gs:8                     /* user rsp */
    pushq %r11                      /* user rflags */
    pushq $0x23                     /* user cs */
    pushq %rcx                      /* user rip */
    pushq $0                        /* error code */
    pushq $0x100                    /* vector: syscall */
    cld
    PUSH_GPRS
    movq %rsp, %rdi
    /* Only SSE state needs saving here (compiled C# uses xmm registers, never x87); it
       goes where fxsave would put it, so the area reads as an fxsave image for xmm/mxcsr. */
    subq $512, %rsp
    SAVE_SSE %rsp
    FRAME_CFI                       /* to the end: wrong only while single-stepping the exit */
    call uk_syscall
    leaq -512(%rax), %rsp
    RESTORE_SSE %rsp
    addq $512, %rsp
    /* Only a user address may go back through sysret (a non-canonical rcx would fault
       in ring 0 with the user's rsp). The C# side never produces one; this is the last
       line of defence: park the verdict in the error-code slot, which is discarded. */
    movq 136(%rsp), %rax
    shrq $47, %rax
    movq %rax, 128(%rsp)
    POP_GPRS
    swapgs                          /* back to the user's GS base (flags untouched) */
    cmpq $0, 8(%rsp)
    leaq 16(%rsp), %rsp             /* drop vector and error; lea keeps the flags */
    jne 1f
    /* sysret when rcx/r11 still hold rip/rflags (every ordinary syscall); otherwise
       (sigreturn rewrote the frame) the general iretq. */
    cmpq (%rsp), %rcx
    jne 1f
    cmpq 16(%rsp), %r11
    jne 1f
    movq 24(%rsp), %rsp
    sysretq
1:  iretq
    .cfi_endproc

    .text
/* The address of this CPU's syscall stack pointer (PerCpu.KernelRsp), for C#. */
    .globl syscall_kernel_rsp_addr
syscall_kernel_rsp_addr:
    movq %gs:0, %rax
    addq $16, %rax
    ret
    .globl syscall_entry_addr
syscall_entry_addr:
    leaq syscall_entry(%rip), %rax
    ret
/* fpu_save(area)/fpu_restore(area): the whole FPU/SSE state, for context switches and
   for completing a syscall frame's area (which holds only SSE state). */
    .globl fpu_save, fpu_restore
fpu_save:
    fxsave64 (%rdi)
    ret
fpu_restore:
    fxrstor64 (%rdi)
    ret

    .globl isr_stub_table_addr
isr_stub_table_addr:
    leaq isr_stub_table(%rip), %rax
    ret

/* Enters user mode for the first time: (rip, rsp). Clears registers the program could
   otherwise read kernel values from; rflags = IF. Gives up the big kernel lock. */
    .globl enter_user
enter_user:
    pushq %rdi
    pushq %rsi
    subq $8, %rsp
    call uk_return_to_user
    addq $8, %rsp
    popq %rsi
    popq %rdi
    pushq $0x1b
    pushq %rsi
    pushq $0x202
    pushq $0x23
    pushq %rdi
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %esi, %esi
    xorl %edi, %edi
    xorl %ebp, %ebp
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r11d, %r11d
    xorl %r12d, %r12d
    xorl %r13d, %r13d
    xorl %r14d, %r14d
    xorl %r15d, %r15d
    fninit
    pushq $0x1f80
    ldmxcsr (%rsp)
    addq $8, %rsp
    pxor %xmm0, %xmm0
    pxor %xmm1, %xmm1
    pxor %xmm2, %xmm2
    pxor %xmm3, %xmm3
    pxor %xmm4, %xmm4
    pxor %xmm5, %xmm5
    pxor %xmm6, %xmm6
    pxor %xmm7, %xmm7
    swapgs
    iretq
