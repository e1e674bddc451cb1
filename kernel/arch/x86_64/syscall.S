/* SYSCALL entry. The CPU leaves the user rip in rcx and rflags in r11 and masks IF (FMASK).
   We switch to the current thread's kernel stack and build an InterruptFrame exactly like
   isr_common's (vector 0x100 marks a syscall), so signals and context switches handle
   one frame type. Return is through isr_resume's iretq. */

    .text
    .globl syscall_entry
syscall_entry:
    movq %rsp, syscall_user_rsp(%rip)
    movq syscall_kernel_rsp(%rip), %rsp
    pushq $0x1b                     /* user ss */
    pushq syscall_user_rsp(%rip)    /* user rsp */
    pushq %r11                      /* user rflags */
    pushq $0x23                     /* user cs */
    pushq %rcx                      /* user rip */
    pushq $0                        /* error code */
    pushq $0x100                    /* vector: syscall */
    cld
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    /* Only SSE state needs saving here (compiled C# uses xmm registers, never x87); it
       goes where fxsave would put it, so the area reads as an fxsave image for xmm/mxcsr. */
    subq $512, %rsp
    stmxcsr 24(%rsp)
    movdqa %xmm0, 160(%rsp)
    movdqa %xmm1, 176(%rsp)
    movdqa %xmm2, 192(%rsp)
    movdqa %xmm3, 208(%rsp)
    movdqa %xmm4, 224(%rsp)
    movdqa %xmm5, 240(%rsp)
    movdqa %xmm6, 256(%rsp)
    movdqa %xmm7, 272(%rsp)
    movdqa %xmm8, 288(%rsp)
    movdqa %xmm9, 304(%rsp)
    movdqa %xmm10, 320(%rsp)
    movdqa %xmm11, 336(%rsp)
    movdqa %xmm12, 352(%rsp)
    movdqa %xmm13, 368(%rsp)
    movdqa %xmm14, 384(%rsp)
    movdqa %xmm15, 400(%rsp)
    call uk_syscall
    leaq -512(%rax), %rsp
    ldmxcsr 24(%rsp)
    movdqa 160(%rsp), %xmm0
    movdqa 176(%rsp), %xmm1
    movdqa 192(%rsp), %xmm2
    movdqa 208(%rsp), %xmm3
    movdqa 224(%rsp), %xmm4
    movdqa 240(%rsp), %xmm5
    movdqa 256(%rsp), %xmm6
    movdqa 272(%rsp), %xmm7
    movdqa 288(%rsp), %xmm8
    movdqa 304(%rsp), %xmm9
    movdqa 320(%rsp), %xmm10
    movdqa 336(%rsp), %xmm11
    movdqa 352(%rsp), %xmm12
    movdqa 368(%rsp), %xmm13
    movdqa 384(%rsp), %xmm14
    movdqa 400(%rsp), %xmm15
    addq $512, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    /* sysret when rcx/r11 still hold rip/rflags (every ordinary syscall) and rip is
       canonical; otherwise (sigreturn rewrote the frame) the general iretq. */
    cmpq (%rsp), %rcx
    jne 1f
    cmpq 16(%rsp), %r11
    jne 1f
    btq $47, %rcx
    jc 1f
    movq 24(%rsp), %rsp
    sysretq
1:  iretq

    .bss
    .p2align 3
    .globl syscall_user_rsp, syscall_kernel_rsp
syscall_user_rsp: .quad 0
syscall_kernel_rsp: .quad 0

    .text
/* Returns the addresses of the two globals for C#. */
    .globl syscall_kernel_rsp_addr
syscall_kernel_rsp_addr:
    leaq syscall_kernel_rsp(%rip), %rax
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
   otherwise read kernel values from; rflags = IF. */
    .globl enter_user
enter_user:
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
    iretq
