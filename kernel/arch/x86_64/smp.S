/* Several CPUs: the per-CPU block reached through GS (PerCpu in Smp.cs), the big kernel
   lock, and the real-mode trampoline that application processors start in (docs/smp.md).

   Per-CPU block offsets (must match PerCpu in Smp.cs). */
#include "frame.h"
#define PC_SELF 0
#define PC_USER_RSP 8
#define PC_KERNEL_RSP 16
#define PC_INDEX 24
#define PC_IN_USER 28
#define PC_FLUSH 32
#define PC_WAIT 40
#define PC_ACQ 48
#define PC_CONT 56

    .text
#define FN(name) .globl name; name:
FN(percpu_self) movq %gs:PC_SELF, %rax; ret
FN(percpu_index) movl %gs:PC_INDEX, %eax; ret

/* The big kernel lock: bkl_owner is 0 when free, else the owner's CPU index + 1. Taking it
   also completes a TLB flush another CPU asked this one for (PC_FLUSH), both while
   spinning (the asker may be waiting for it) and once taken. Clobbers rax rcx rdx r8. */
FN(bkl_acquire)
    movl %gs:PC_INDEX, %ecx
    incl %ecx
    xorl %eax, %eax
    lock cmpxchgl %ecx, bkl_owner(%rip)
    jnz 3f
    incq %gs:PC_ACQ
4:  cmpl $0, %gs:PC_FLUSH
    je 5f
    movq %cr3, %rax
    movq %rax, %cr3
    movl $0, %gs:PC_FLUSH
5:  ret
3:  rdtsc
    shlq $32, %rdx
    orq %rax, %rdx
    movq %rdx, %r8
    incq %gs:PC_CONT
    incq %gs:PC_ACQ
1:  pause
    cmpl $0, %gs:PC_FLUSH
    je 2f
    movq %cr3, %rax
    movq %rax, %cr3
    movl $0, %gs:PC_FLUSH
2:  cmpl $0, bkl_owner(%rip)
    jne 1b
    xorl %eax, %eax
    lock cmpxchgl %ecx, bkl_owner(%rip)
    jnz 1b
    rdtsc
    shlq $32, %rdx
    orq %rax, %rdx
    subq %r8, %rdx
    addq %rdx, %gs:PC_WAIT
    jmp 4b

/* Entry from user mode: this CPU no longer runs user code (a TLB flush it owes is done
   when it takes the lock), then the lock. */
FN(bkl_enter)
    xorl %eax, %eax
    xchgl %eax, %gs:PC_IN_USER
    jmp bkl_acquire

FN(bkl_release)
    movl $0, bkl_owner(%rip)
    ret

/* Return to user mode: marked as running user code before the lock goes, so that a CPU
   that changes page tables after taking the lock sees it and asks for a flush. */
FN(bkl_release_to_user)
    movl $1, %eax
    xchgl %eax, %gs:PC_IN_USER
    movl $0, bkl_owner(%rip)
    ret

FN(bkl_owner_value) movl bkl_owner(%rip), %eax; ret

/* Sets *p to 1 with a full barrier (the TLB shoot-down's request, before it reads the
   target's PC_IN_USER). */
FN(smp_xchg_one) movl $1, %eax; xchgl %eax, (%rdi); ret
FN(cpu_pause) pause; ret
FN(smp_load32) movl (%rdi), %eax; ret
FN(smp_store32) movl %esi, (%rdi); ret
FN(cpu_flush_tlb) movq %cr3, %rax; movq %rax, %cr3; ret

    .data
    .p2align 6
    .globl bkl_owner
bkl_owner: .long 0
    .p2align 3
    .globl ap_boot_cr3, ap_boot_stack, ap_boot_percpu, ap_started
ap_boot_cr3: .quad 0
ap_boot_stack: .quad 0
ap_boot_percpu: .quad 0
ap_started: .long 0

/* The BSP's per-CPU block until Smp.InitBsp replaces it: boot.S points GS at it so
   that per-CPU reads work from the first C# instruction. */
    .bss
    .p2align 6
    .globl bsp_percpu
bsp_percpu: .skip 256

    .text
FN(ap_boot_vars)                    /* (ulong out[4]): addresses of cr3, stack, percpu, started */
    leaq ap_boot_cr3(%rip), %rax; movq %rax, 0(%rdi)
    leaq ap_boot_stack(%rip), %rax; movq %rax, 8(%rdi)
    leaq ap_boot_percpu(%rip), %rax; movq %rax, 16(%rdi)
    leaq ap_started(%rip), %rax; movq %rax, 24(%rdi)
    ret
FN(ap_trampoline_bounds)            /* (ulong out[2]) */
    leaq ap_tramp_start(%rip), %rax; movq %rax, 0(%rdi)
    leaq ap_tramp_end(%rip), %rax; movq %rax, 8(%rdi)
    ret

/* An AP in long mode, in the kernel's half: the kernel's page tables, its per-CPU block
   and boot stack (all set by the BSP in ap_boot_*), then uk_ap_main under the lock. */
ap_start64:
    /* Segment loads read the trampoline's GDT, which only the boot page tables map. */
    LOAD_DATA_SEGMENTS
    movq ap_boot_cr3(%rip), %rax
    movq %rax, %cr3
    xorl %eax, %eax
    xorl %edx, %edx
    movl $0xC0000102, %ecx
    wrmsr
    movq ap_boot_stack(%rip), %rsp
    xorl %ebp, %ebp
    movq ap_boot_percpu(%rip), %rax
    movq %rax, %rdx
    shrq $32, %rdx
    movl $0xC0000101, %ecx
    wrmsr
    fninit
    pushq $0x1f80
    ldmxcsr (%rsp)
    addq $8, %rsp
    movl $1, ap_started(%rip)
    call bkl_acquire
    call uk_ap_main
1:  cli
    hlt
    jmp 1b

/* The real-mode trampoline, copied to AP_TRAMPOLINE (0x8000, Smp.cs) and entered by the
   SIPI (vector 0x08) in real mode at 0800:0000. It goes straight to long mode on the boot
   page tables (boot.S: identity map of the first GiB and the kernel window), then jumps
   to ap_start64 in the kernel's half. Position-dependent on 0x8000. */
#define TR(x) (0x8000 + (x) - ap_tramp_start)
    .section .rodata
    .p2align 4
ap_tramp_start:
    .code16
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl TR(ap_tramp_gdtr)
    movl $0x620, %eax               /* PAE | OSFXSR | OSXMMEXCPT */
    movl %eax, %cr4
    movl TR(ap_tramp_cr3), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx          /* EFER: long mode, NX, SYSCALL */
    rdmsr
    orl $0x901, %eax
    wrmsr
    movl %cr0, %eax
    andl $~0x4, %eax
    orl $0x80010023, %eax           /* PG | WP | NE | MP | PE */
    movl %eax, %cr0
    ljmpl $0x08, $TR(ap_tramp64)
    .code64
ap_tramp64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %ss
    movq TR(ap_tramp_target), %rax
    jmp *%rax
    .p2align 3
ap_tramp_gdt:
    .quad 0
    .quad 0x00af9a000000ffff
    .quad 0x00cf92000000ffff
ap_tramp_gdtr:
    .word 3 * 8 - 1
    .long TR(ap_tramp_gdt)
    .p2align 3
    .globl ap_tramp_cr3
ap_tramp_cr3: .quad 0               /* boot_pml4's address: filled by Smp.cs (ApTrampolineCr3) */
ap_tramp_target: .quad ap_start64
ap_tramp_end:
    .text
FN(ap_tramp_boot_pml4) movq $boot_pml4, %rax; ret
FN(ap_tramp_cr3_offset) movq $(ap_tramp_cr3 - ap_tramp_start), %rax; ret
