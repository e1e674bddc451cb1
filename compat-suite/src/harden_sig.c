/* Issue 8, signals: the trap flag is clear when a handler starts (8.4: a program that
 * single-steps itself), rt_sigreturn to a non-canonical rip is a catchable SIGSEGV (8.5),
 * and a bad fpstate in the frame makes the frame bad (8.6: SIGSEGV, here uncaught).
 *   harden_sig            TF and the non-canonical rip; exits 0
 *   harden_sig fpstate    fpstate pointing nowhere: killed by SIGSEGV
 *   harden_sig mxcsr      fpstate with reserved MXCSR bits: killed by SIGSEGV */
#include "compat.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

static volatile int steps, in_handler_tf = -1;
static void on_trap(int s, siginfo_t *i, void *uc)
{
    ucontext_t *u = uc;
    unsigned long fl;
    __asm__ volatile("pushfq; popq %0" : "=r"(fl));
    (void)s; (void)i;
    if (in_handler_tf < 0) in_handler_tf = (fl & 0x100) != 0;
    if (++steps >= 5) u->uc_mcontext.gregs[REG_EFL] &= ~0x100L;   /* stop stepping */
}

static sigjmp_buf back;
static volatile int segv_code = -1;
static volatile unsigned long segv_rip;
static void on_segv(int s, siginfo_t *i, void *uc)
{
    (void)s;
    segv_code = i->si_code;
    segv_rip = ((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
    siglongjmp(back, 1);
}

static int mode;
static void on_usr1(int s, siginfo_t *i, void *uc)
{
    ucontext_t *u = uc;
    (void)s; (void)i;
    if (mode == 0) u->uc_mcontext.gregs[REG_RIP] = (greg_t)0x8000000000000000UL;
    else if (mode == 1) u->uc_mcontext.fpregs = (void *)0x1000;           /* unmapped */
    else u->uc_mcontext.fpregs->mxcsr |= 0xffff0000u;                      /* reserved bits */
}

int main(int argc, char **argv)
{
    struct sigaction sa = {0};
    sa.sa_flags = SA_SIGINFO;
    sa.sa_sigaction = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    if (argc > 1)
    {
        mode = argv[1][0] == 'f' ? 1 : 2;
        printf("raising with a bad %s\n", argv[1]);
        fflush(stdout);
        raise(SIGUSR1);
        printf("survived\n");
        return 0;
    }

    sa.sa_sigaction = on_trap;
    sigaction(SIGTRAP, &sa, NULL);
    __asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop" ::: "memory", "cc");
    CHECK("single-stepped", steps >= 5);
    CHECK("TF clear in the handler", in_handler_tf == 0);

    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(back, 1) == 0)
    {
        raise(SIGUSR1);
        printf("returned to a non-canonical rip?\n");
        compat_failures++;
    }
    CHECK("sigreturn to a non-canonical rip: SIGSEGV caught", segv_code >= 0);
    printf("si_code: %d\n", segv_code);
    CHECK("the frame shows the non-canonical rip", segv_rip == 0x8000000000000000UL);
    return finish();
}
