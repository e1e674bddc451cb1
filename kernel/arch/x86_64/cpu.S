/* One-instruction wrappers for privileged instructions, called from C# (Cpu.cs). */
    .text
#define FN(name) .globl name; name:
FN(cpu_outb)  movl %esi, %eax; movl %edi, %edx; outb %al, %dx; ret
FN(cpu_inb)   movl %edi, %edx; xorl %eax, %eax; inb %dx, %al; ret
FN(cpu_outw)  movl %esi, %eax; movl %edi, %edx; outw %ax, %dx; ret
FN(cpu_outl)  movl %esi, %eax; movl %edi, %edx; outl %eax, %dx; ret
FN(cpu_inl)   movl %edi, %edx; inl %dx, %eax; ret
FN(cpu_rdmsr) movl %edi, %ecx; rdmsr; shlq $32, %rdx; orq %rdx, %rax; ret
FN(cpu_wrmsr) movl %edi, %ecx; movl %esi, %eax; movq %rsi, %rdx; shrq $32, %rdx; wrmsr; ret
FN(cpu_rdtsc) rdtsc; shlq $32, %rdx; orq %rdx, %rax; ret
FN(cpu_read_cr2) movq %cr2, %rax; ret
FN(cpu_read_cr3) movq %cr3, %rax; ret
FN(cpu_write_cr3) movq %rdi, %cr3; ret
FN(cpu_read_cr4) movq %cr4, %rax; ret
FN(cpu_write_cr4) movq %rdi, %cr4; ret
FN(cpu_invlpg) invlpg (%rdi); ret
FN(cpu_halt) sti; hlt; ret
FN(cpu_sti) sti; ret
FN(cpu_cli) cli; ret
FN(cpu_cpuid)                       /* (leaf, subleaf, uint regs[4]) */
    pushq %rbx
    movq %rdx, %r8
    movl %edi, %eax
    movl %esi, %ecx
    cpuid
    movl %eax, (%r8)
    movl %ebx, 4(%r8)
    movl %ecx, 8(%r8)
    movl %edx, 12(%r8)
    popq %rbx
    ret
FN(cpu_rdrand)                      /* (ulong*) -> 1 on success */
    xorl %eax, %eax
    rdrand %rcx
    setc %al
    movq %rcx, (%rdi)
    ret
FN(cpu_lgdt) lgdt (%rdi); ret
FN(cpu_lidt) lidt (%rdi); ret
FN(cpu_ltr) ltr %di; ret
FN(cpu_stack_pointer) leaq 8(%rsp), %rax; ret
FN(cpu_frame_pointer) movq %rbp, %rax; ret

/* Bounds for the symbol table and kernel text (from the linker script). */
FN(ksyms_base) leaq __ksyms_start(%rip), %rax; ret
FN(ksyms_text_start) leaq __kernel_text_start(%rip), %rax; ret
FN(ksyms_text_end) leaq __kernel_text_end(%rip), %rax; ret

/* kernel_layout(ulong out[7]): section bounds from the linker script. */
FN(kernel_layout)
    leaq __kernel_text_start(%rip), %rax; movq %rax, 0(%rdi)
    leaq __kernel_text_end(%rip), %rax; movq %rax, 8(%rdi)
    leaq __kernel_rodata_start(%rip), %rax; movq %rax, 16(%rdi)
    leaq __kernel_rodata_end(%rip), %rax; movq %rax, 24(%rdi)
    leaq __kernel_data_start(%rip), %rax; movq %rax, 32(%rdi)
    leaq __kernel_end(%rip), %rax; movq %rax, 40(%rdi)
    leaq __kernel_end(%rip), %rax; movq %rax, 48(%rdi)
    ret

/* run_on_stack(top, fn): switches to a new stack and calls fn(); never returns. */
FN(run_on_stack)
    movq %rdi, %rsp
    xorl %ebp, %ebp
    call *%rsi
1:  cli
    hlt
    jmp 1b

FN(modules_bounds)                  /* (ulong out[2]): the __modules section */
    leaq __modules_a(%rip), %rax; movq %rax, 0(%rdi)
    leaq __modules_z(%rip), %rax; movq %rax, 8(%rdi)
    ret

/* Anchors for `ukpack run --gdb` (docs/gdb.md): empty functions that the generated gdb
   script breaks on, reading their arguments from rdi and rsi. Kept apart by a nop so that
   each has its own address. */
FN(uk_gdb_loaded) ret               /* (const char *path, ulong bias): an ELF file was mapped */
    nop
FN(uk_gdb_entry) ret                /* (ulong entry): the program's first instruction */
