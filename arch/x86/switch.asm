; arch/x86/switch.asm — kernel thread context switch.
;
; arch_switch(save_sp, load_sp): push the callee-saved registers on the
; current stack, store rsp in *save_sp, load load_sp, pop the other thread's
; registers and return into it. A new thread's stack is prepared by
; arch_thread_stack_init (arch/x86/cpu.c) to "return" into thread_entry,
; which calls the C entry with the argument it finds in r12/r13.

bits 64
section .text

global arch_switch
arch_switch:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	mov [rdi], rsp
	mov rsp, rsi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret

global arch_thread_entry
arch_thread_entry:
	mov rdi, r13                    ; argument
	xor ebp, ebp                    ; backtraces end here
	call r12                        ; entry(arg); must not return
	ud2
