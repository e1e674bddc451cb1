/* Native helpers that NativeAOT-compiled code calls. Allocation and exceptions forward
   to C# (kernel/runtime/Runtime.cs); the rest are small enough to live here. */
    .text

/* object RhpNewFast(MethodTable*) */
    .globl RhpNewFast
RhpNewFast:
    jmp uk_new_object

/* object RhpNewArrayFast(MethodTable*, int count); same for pointer arrays */
    .globl RhpNewArrayFast, RhpNewPtrArrayFast, RhpNewArray
RhpNewArrayFast:
RhpNewPtrArrayFast:
RhpNewArray:
    jmp uk_new_array

    .globl RhpNewFinalizable
RhpNewFinalizable:
    jmp uk_new_object

/* Write barriers: no collector yet, so a plain store. */
    .globl RhpAssignRef, RhpCheckedAssignRef, RhpAssignRefAVLocation, RhpCheckedAssignRefAVLocation
RhpAssignRef:
RhpCheckedAssignRef:
RhpAssignRefAVLocation:
RhpCheckedAssignRefAVLocation:
    movq %rsi, (%rdi)
    ret

/* Copies one reference from [rsi] to [rdi] and advances both. */
    .globl RhpByRefAssignRef, RhpByRefAssignRefAVLocation1, RhpByRefAssignRefAVLocation2
RhpByRefAssignRef:
RhpByRefAssignRefAVLocation1:
    movq (%rsi), %rcx
RhpByRefAssignRefAVLocation2:
    movq %rcx, (%rdi)
    addq $8, %rdi
    addq $8, %rsi
    ret

    .globl RhpCheckedLockCmpXchg
RhpCheckedLockCmpXchg:              /* (ref dst, value, comparand) -> old */
    movq %rdx, %rax
    lock cmpxchgq %rsi, (%rdi)
    ret

    .globl RhpCheckedXchg
RhpCheckedXchg:                     /* (ref dst, value) -> old */
    movq %rsi, %rax
    xchgq %rax, (%rdi)
    ret

/* Transitions between native and managed code: nothing to do without a collector. */
    .globl RhpReversePInvoke, RhpReversePInvokeReturn, RhpPInvoke, RhpPInvokeReturn, RhpGcPoll
RhpReversePInvoke:
RhpReversePInvokeReturn:
RhpPInvoke:
RhpPInvokeReturn:
RhpGcPoll:
    ret

/* Probe each page of a large frame, top down, so a guard page is hit in order.
   In: rax = lowest address the frame will touch; rsp as at the call. */
    .globl RhpStackProbe
RhpStackProbe:
    movq %rsp, %r11
    andq $-4096, %r11
1:  subq $4096, %r11
    cmpq %rax, %r11
    jb 2f
    testb %al, (%r11)
    jmp 1b
2:  ret

    .globl RhpThrowEx, RhpThrowHwEx, RhpRethrow
RhpThrowEx:
RhpThrowHwEx:
RhpRethrow:
    movq (%rsp), %rsi               /* the throw site, for the report */
    jmp uk_throw

    .globl RhpFallbackFailFast
RhpFallbackFailFast:
    xorl %edi, %edi
    xorl %esi, %esi
    jmp uk_throw

/* memset/memmove/memcpy for compiled code and the kernel. */
    .globl memset
memset:                             /* (dst, c, n) */
    movq %rdi, %r9
    movl %esi, %eax
    movq %rdx, %rcx
    rep stosb
    movq %r9, %rax
    ret

    .globl memcpy, memmove
memcpy:
memmove:                            /* (dst, src, n) */
    movq %rdi, %rax
    movq %rdx, %rcx
    cmpq %rsi, %rdi
    jbe 1f
    leaq (%rsi,%rdx), %r8
    cmpq %r8, %rdi
    jae 1f
    /* Overlap with dst above src: copy backwards. */
    leaq -1(%rdi,%rdx), %rdi
    leaq -1(%rsi,%rdx), %rsi
    std
    rep movsb
    cld
    ret
    /* Forwards: eight bytes per iteration, then the tail (see user_copy). */
1:  shrq $3, %rcx
    rep movsq
    movq %rdx, %rcx
    andq $7, %rcx
    rep movsb
    ret

    .data
    .globl __security_cookie
    .p2align 3
__security_cookie:
    .quad 0x2f6b9a3c5d1e8047

/* Interface call through a dispatch cell (address in r11): resolve the target for the
   receiver's type (InterfaceDispatch.cs, which caches it) with every argument register
   preserved, then tail-jump to it. */
    .text
    .globl RhpInitialDynamicInterfaceDispatch
RhpInitialDynamicInterfaceDispatch:
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %rcx
    pushq %r8
    pushq %r9
    pushq %r11
    subq $128, %rsp
    movdqu %xmm0, 0(%rsp)
    movdqu %xmm1, 16(%rsp)
    movdqu %xmm2, 32(%rsp)
    movdqu %xmm3, 48(%rsp)
    movdqu %xmm4, 64(%rsp)
    movdqu %xmm5, 80(%rsp)
    movdqu %xmm6, 96(%rsp)
    movdqu %xmm7, 112(%rsp)
    movq %r11, %rsi
    call uk_resolve_interface        /* (object, cell) -> code */
    movdqu 0(%rsp), %xmm0
    movdqu 16(%rsp), %xmm1
    movdqu 32(%rsp), %xmm2
    movdqu 48(%rsp), %xmm3
    movdqu 64(%rsp), %xmm4
    movdqu 80(%rsp), %xmm5
    movdqu 96(%rsp), %xmm6
    movdqu 112(%rsp), %xmm7
    addq $128, %rsp
    popq %r11
    popq %r9
    popq %r8
    popq %rcx
    popq %rdx
    popq %rsi
    popq %rdi
    jmp *%rax

/* Collector entry: gc_spill_registers(fn) pushes the callee-saved registers, so that a
   conservative scan of the stack from here up sees every reference the callers keep in
   registers, then calls fn(rsp). */
    .globl gc_spill_registers
gc_spill_registers:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rdi, %rax
    movq %rsp, %rdi
    subq $8, %rsp                   /* the ABI's call alignment */
    call *%rax
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

/* gc_data_bounds(ulong out[2]): the kernel image's writable data, .data through .bss. */
    .globl gc_data_bounds
gc_data_bounds:
    leaq __kernel_data_start(%rip), %rax
    movq %rax, (%rdi)
    leaq __kernel_bss_end(%rip), %rax
    movq %rax, 8(%rdi)
    ret
