/* The register save layout shared by every kernel entry (isr.S, syscall.S): it must match
   InterruptFrame in Interrupts.cs (lowest address first: r15 ... rax, vector, error, then
   what the CPU pushed). SAVE_SSE/RESTORE_SSE store xmm0-15 and MXCSR where fxsave would
   (FpuState.cs) in the 512-byte area at the given base register. LOAD_DATA_SEGMENTS is the
   first step of a CPU that has just reached long mode (boot.S, smp.S). */

/* Data segments after the switch to long mode: selector 0x10 (flat data in the boot GDT
   and the trampoline's) in ds, es, ss; null in fs and gs, whose bases are MSRs. */
.macro LOAD_DATA_SEGMENTS
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
.endm

.macro PUSH_GPRS
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
.endm

.macro POP_GPRS
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
.endm

.macro SAVE_SSE base
    stmxcsr 24(\base)
    movdqa %xmm0, 160(\base)
    movdqa %xmm1, 176(\base)
    movdqa %xmm2, 192(\base)
    movdqa %xmm3, 208(\base)
    movdqa %xmm4, 224(\base)
    movdqa %xmm5, 240(\base)
    movdqa %xmm6, 256(\base)
    movdqa %xmm7, 272(\base)
    movdqa %xmm8, 288(\base)
    movdqa %xmm9, 304(\base)
    movdqa %xmm10, 320(\base)
    movdqa %xmm11, 336(\base)
    movdqa %xmm12, 352(\base)
    movdqa %xmm13, 368(\base)
    movdqa %xmm14, 384(\base)
    movdqa %xmm15, 400(\base)
.endm

.macro RESTORE_SSE base
    ldmxcsr 24(\base)
    movdqa 160(\base), %xmm0
    movdqa 176(\base), %xmm1
    movdqa 192(\base), %xmm2
    movdqa 208(\base), %xmm3
    movdqa 224(\base), %xmm4
    movdqa 240(\base), %xmm5
    movdqa 256(\base), %xmm6
    movdqa 272(\base), %xmm7
    movdqa 288(\base), %xmm8
    movdqa 304(\base), %xmm9
    movdqa 320(\base), %xmm10
    movdqa 336(\base), %xmm11
    movdqa 352(\base), %xmm12
    movdqa 368(\base), %xmm13
    movdqa 384(\base), %xmm14
    movdqa 400(\base), %xmm15
.endm

/* Unwind rules for a debugger (ukpack run --gdb, docs/gdb.md): at a call made with the
   stack at the bottom of a frame's 512-byte SSE area, the interrupted context (user code
   or kernel) is in the frame, so `bt` goes on from the kernel into the program's frames.
   The CFA is the top of the frame (above ss); offsets follow PUSH_GPRS' order. */
.macro FRAME_CFI
    .cfi_def_cfa %rsp, 512 + 176
    .cfi_offset %rip, -40
    .cfi_offset %rsp, -16
    .cfi_offset %rbp, -112
    .cfi_offset %rbx, -72
    .cfi_offset %r12, -152
    .cfi_offset %r13, -160
    .cfi_offset %r14, -168
    .cfi_offset %r15, -176
.endm
