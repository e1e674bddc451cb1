/* Minimal PVH "kernel" for testing ukpack run's QEMU plumbing (not the real kernel).
 * Writes to COM1 (0x3f8) and COM2 (0x2f8), echoes COM1 input until FF 04 (FF FF = FF),
 * writes log lines to debugcon (0xe9), then powers off through isa-debug-exit (0xf4).
 * Build: gcc -c pvh-echo.S -o k.o && ld -m elf_x86_64 -Ttext=0x100000 -e start32 -o k.elf k.o
 * -DPANIC: exit with debug-exit value 0x7e and no @@UKEXIT.  -DHANG: spin forever. */
        .section .note.pvh, "a", @note
        .balign 4
        .long 4, 4, 18          /* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .long start32

        .text
        .code32
        .globl start32
start32:
        mov $out1, %esi
        mov $0x3f8, %dx
        call puts
        mov $out2, %esi
        mov $0x2f8, %dx
        call puts
#ifdef HANG
1:      jmp 1b
#endif
        /* echo stdin until FF 04 */
echo:   call getc
        cmp $0xff, %al
        jne 2f
        call getc
        cmp $0x04, %al
        je done
2:      mov $0x3f8, %dx
        out %al, %dx
        jmp echo
done:
        mov $log1, %esi
        mov $0xe9, %dx
        call puts
        mov $0xf4, %dx
#ifdef PANIC
        mov $0x7e, %eax
#else
        xor %eax, %eax
#endif
        out %eax, %dx
3:      hlt
        jmp 3b

getc:   mov $0x3fd, %dx
4:      in %dx, %al
        test $1, %al
        jz 4b
        mov $0x3f8, %dx
        in %dx, %al
        ret

puts:   lodsb
        test %al, %al
        jz 5f
        out %al, %dx
        jmp puts
5:      ret

        .data
out1:   .asciz "stdout-ok\n"
out2:   .asciz "stderr-ok\n"
#ifdef PANIC
log1:   .asciz "[    0.000001] I booting\n[    0.000002] E panic: test panic\n"
#else
log1:   .asciz "[    0.000001] I booting\n[    0.000002] E program killed by SIGSEGV at 0x401000\n@@UKEXIT 42\n"
#endif
