/* PVH entry: QEMU enters here in 32-bit protected mode, paging off, %ebx = hvm_start_info.
   GRUB's multiboot2 (disk images, docs/export.md) enters the same way with %eax = its magic
   and %ebx = the multiboot2 information. We build just enough paging to reach the higher
   half, enter long mode, enable SSE and call kmain(info_phys, magic). The C# kernel then
   builds its real page tables. */

#include "frame.h"

#define KERNEL_VMA 0xffffffff80000000
#define PHYS(x) ((x) - KERNEL_VMA)

    .section .note.Xen, "a", @note
    .p2align 2
    .long 4          /* name size */
    .long 4          /* desc size */
    .long 18         /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_start

    /* The multiboot2 header (in the first 32 KiB of the file, 8-byte aligned): i386
       protected-mode entry at the ELF entry point, modules page-aligned (the image is
       used in place). */
    .section .multiboot2, "a"
    .p2align 3
mb2_header:
    .long 0xe85250d6                    /* magic */
    .long 0                             /* architecture: i386 */
    .long mb2_header_end - mb2_header
    .long -(0xe85250d6 + (mb2_header_end - mb2_header))
    .short 6, 0                         /* module alignment tag */
    .long 8
    .short 0, 0                         /* end tag */
    .long 8
mb2_header_end:

    .section .boot.text, "ax"
    .code32
    .globl pvh_start
pvh_start:
    cli
    movl %ebx, %edi                     /* keep start_info (or multiboot2 information) for kmain */
    movl %eax, %esi                     /* and the boot magic (meaningless under PVH) */

    /* Early tables (all in .boot.bss, physical == linker address):
       PML4[0] and PML4[256] -> pdpt_low (identity and direct map of the first GiB);
       PML4[511] -> pdpt_high, whose entry 510 maps the kernel window; all use pd0. */
    movl $boot_pd0, %eax
    xorl %ecx, %ecx
1:  movl %ecx, %edx
    shll $21, %edx
    orl $0x83, %edx                     /* present, writable, 2 MiB page */
    movl %edx, (%eax,%ecx,8)
    movl $0, 4(%eax,%ecx,8)
    incl %ecx
    cmpl $512, %ecx
    jne 1b

    movl $boot_pd0 + 3, boot_pdpt_low
    movl $boot_pd0 + 3, boot_pdpt_high + 510*8
    movl $boot_pdpt_low + 3, boot_pml4
    movl $boot_pdpt_low + 3, boot_pml4 + 256*8
    movl $boot_pdpt_high + 3, boot_pml4 + 511*8

    movl %cr4, %eax
    orl $0x620, %eax                    /* PAE | OSFXSR | OSXMMEXCPT */
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3

    movl $0xC0000080, %ecx              /* EFER: long mode, NX, SYSCALL */
    rdmsr
    orl $0x901, %eax
    wrmsr

    movl %cr0, %eax
    andl $~0x4, %eax                    /* clear EM */
    orl $0x80010022, %eax               /* PG | WP | NE | MP */
    movl %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $long_mode_low

    .code64
long_mode_low:
    movabsq $long_mode_high, %rax
    jmp *%rax

    .section .boot.data, "aw"
    .p2align 3
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff            /* 0x08 kernel code, 64-bit */
    .quad 0x00cf92000000ffff            /* 0x10 kernel data */
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .boot.bss, "aw", @nobits
    .p2align 12
    .globl boot_pml4
boot_pml4: .skip 4096
boot_pdpt_low: .skip 4096
boot_pdpt_high: .skip 4096
boot_pd0: .skip 4096

    .text
long_mode_high:
    LOAD_DATA_SEGMENTS
    leaq boot_stack_top(%rip), %rsp
    xorl %ebp, %ebp
    /* GS: the BSP's per-CPU block (smp.S), its first word pointing to itself. */
    leaq bsp_percpu(%rip), %rax
    movq %rax, (%rax)
    movq %rax, %rdx
    shrq $32, %rdx
    movl $0xC0000101, %ecx
    wrmsr
    fninit
    pushq $0x1f80                       /* MXCSR default: all exceptions masked */
    ldmxcsr (%rsp)
    addq $8, %rsp
    /* %edi and %esi still hold the 32-bit values the loader gave; clear the upper halves,
       which the switch from 32-bit mode leaves undefined. */
    movl %edi, %edi
    movl %esi, %esi
    call kmain
2:  cli
    hlt
    jmp 2b

    .bss
    .p2align 12
    .globl boot_stack_bottom, boot_stack_top
boot_stack_bottom:
    .skip 65536
boot_stack_top:

/* GRUB leaves the multiboot2 information in RAM the frame allocator will hand out: the
   kernel copies it here first (StartInfo.TryReadMultiboot2). */
    .bss
    .p2align 12
    .globl multiboot2_copy
multiboot2_copy:
    .skip 16384
    .text
    .globl multiboot2_copy_addr
multiboot2_copy_addr:
    leaq multiboot2_copy(%rip), %rax
    ret
