/* Kernel context switch between threads' kernel stacks.
   switch_context(ulong* saveRsp, ulong newRsp): pushes the callee-saved registers, stores
   rsp, loads the other thread's rsp and pops its registers; `ret` resumes it where it
   called switch_context (or, for a new thread, at thread_start). */
    .text
    .globl switch_context
switch_context:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

/* First run of a new thread: r12 holds its InterruptFrame (with the FPU area below it);
   give up the big kernel lock and leave through the common interrupt return to user mode. */
    .globl thread_start
thread_start:
    andq $-16, %rsp
    call uk_return_to_user
    movq %r12, %rax
    jmp isr_resume

    .globl thread_start_addr
thread_start_addr:
    leaq thread_start(%rip), %rax
    ret

/* First run of a kernel thread: r12 holds the function, r13 its argument; when it returns
   the thread ends (kthread_exit). */
    .globl kthread_start
kthread_start:
    andq $-16, %rsp                 /* the ABI's call alignment */
    movq %r13, %rdi
    call *%r12
    call kthread_exit
1:  hlt
    jmp 1b

    .globl kthread_start_addr
kthread_start_addr:
    leaq kthread_start(%rip), %rax
    ret
