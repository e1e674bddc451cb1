/* Copies between kernel and program memory. A fault (#PF, or #GP for a non-canonical address)
   inside [user_copy_start, user_copy_end)
   resumes at user_copy_fault, which returns -EFAULT (see UserCopy.TryFixup). None of these
   functions touch the stack, so the fix-up can simply return. */
    .text
    .globl user_copy_start, user_copy_end, user_copy_fault
user_copy_start:

/* long user_copy(void* dst, const void* src, size_t n) -> 0 or -EFAULT */
    .globl user_copy
user_copy:
    /* Eight bytes per iteration, then the tail: under TCG each iteration of a rep string
       instruction costs about the same whatever its width, so movsq is ~8x faster. */
    movq %rdx, %rcx
    shrq $3, %rcx
    rep movsq
    movq %rdx, %rcx
    andq $7, %rcx
    rep movsb
    xorl %eax, %eax
    ret

/* long user_set(void* dst, int c, size_t n) -> 0 or -EFAULT */
    .globl user_set
user_set:
    movl %esi, %eax
    movq %rdx, %rcx
    rep stosb
    xorl %eax, %eax
    ret

/* long user_strnlen(const char* s, size_t max) -> length (max if no NUL within max) or -EFAULT */
    .globl user_strnlen
user_strnlen:
    xorl %eax, %eax
1:  cmpq %rsi, %rax
    jae 2f
    cmpb $0, (%rdi,%rax)
    je 2f
    incq %rax
    jmp 1b
2:  ret

user_copy_fault:
    movq $-14, %rax
    ret
user_copy_end:

    .globl user_copy_bounds
user_copy_bounds:                   /* (ulong out[3]) start, end, fixup */
    leaq user_copy_start(%rip), %rax
    movq %rax, (%rdi)
    leaq user_copy_end(%rip), %rax
    movq %rax, 8(%rdi)
    leaq user_copy_fault(%rip), %rax
    movq %rax, 16(%rdi)
    ret
