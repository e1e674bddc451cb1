/* The vDSO shared object built from vdso.c (see the Makefile), embedded in the kernel. */
    .section .rodata
    .p2align 12
    .globl vdso_image_start, vdso_image_end
vdso_image_start:
    .incbin VDSO_PATH
vdso_image_end:

    .text
    .globl vdso_image_bounds
vdso_image_bounds:                  /* (ulong out[2]) */
    leaq vdso_image_start(%rip), %rax
    movq %rax, (%rdi)
    leaq vdso_image_end(%rip), %rax
    movq %rax, 8(%rdi)
    ret
