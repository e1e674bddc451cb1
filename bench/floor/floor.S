/* QEMU floor: the smallest PVH kernel. QEMU's -kernel loader finds the
 * XEN_ELFNOTE_PHYS32_ENTRY note, jumps to _start in 32-bit protected mode,
 * and we immediately write to isa-debug-exit (iobase 0xf4): QEMU exits with
 * status (0 << 1) | 1 = 1. Everything measured on top of this is our cost. */
    .section .note.Xen, "a", @note
    .p2align 2
    .long 4                 /* namesz: "Xen\0" */
    .long 4                 /* descsz */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .p2align 2
    .long _start
    .p2align 2

    .text
    .code32
    .globl _start
_start:
    xorl %eax, %eax
    movw $0xf4, %dx
    outl %eax, %dx
1:  cli
    hlt
    jmp 1b
