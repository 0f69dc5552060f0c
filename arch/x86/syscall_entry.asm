; arch/x86/syscall_entry.asm — the `syscall` entry and the first entry to ring 3.
;
; syscall_entry (MSR_LSTAR): the CPU arrives in ring 0 with the user rsp
; still loaded, rcx = user rip, r11 = user rflags and IF/DF/TF/AC cleared
; (MSR_FMASK), so nothing can interrupt us until the stack is switched. One
; CPU per node: the user rsp is parked in a static scratch word and the
; thread's kernel stack top comes from syscall_kstack (set at every switch
; with the TSS rsp0). The frame built is a struct trapframe (x86.h), the same
; as an interrupt's, so fault reports and future signal delivery see one
; layout. Return is sysretq, or iretq when the saved rip is not canonical
; (sysret would fault in ring 0 on Intel CPUs), or when arch_syscall asks
; for every register back (after rt_sigreturn).

bits 64
%include "arch/x86/frame.inc"
section .bss
align 8
global syscall_kstack
syscall_kstack: resq 1                  ; kernel stack top of the running thread
syscall_user_rsp: resq 1                ; scratch, valid only with IF clear

section .text
extern arch_syscall
global syscall_entry
syscall_entry:
	mov [rel syscall_user_rsp], rsp
	mov rsp, [rel syscall_kstack]
	push qword 0x1b                 ; ss (SEL_UDATA)
	push qword [rel syscall_user_rsp] ; rsp
	push r11                        ; rflags
	push qword 0x23                 ; cs (SEL_UCODE)
	push rcx                        ; rip
	push rax                        ; "error code": the call's number
	push qword 0x100                ; "vector": ARCH_VEC_SYSCALL
	PUSH_GPRS
	mov rdi, rsp
	xor ebp, ebp                    ; backtraces stop at the user boundary
	sti                             ; system calls are preemptible
	call arch_syscall               ; non-zero: restore every register
	cli
	test eax, eax
	jnz .full
	POP_GPRS
	add rsp, 16                     ; vector and error code
	; [rsp] rip, [rsp+8] cs, [rsp+16] rflags, [rsp+24] rsp, [rsp+32] ss
	mov rcx, [rsp]
	mov r11, rcx
	sar r11, 47                     ; canonical user rip: bits 63..47 zero
	jnz .iret
	mov r11, [rsp + 16]
	mov rsp, [rsp + 24]
	o64 sysret
.iret:
	iretq
.full:
	POP_GPRS
	add rsp, 16
	iretq

; arch_resume_user(tf): copy *tf to the top of this thread's kernel stack
; (where a ring-3 entry would have put it) and return to ring 3 through it.
; tf may lie in that very area (a local of the caller's), so it goes
; through a scratch copy first; interrupts are off throughout.
global arch_resume_user
arch_resume_user:
	cli
	cld
	mov rsi, rdi
	lea rdi, [rel resume_scratch]
	mov ecx, 22                     ; sizeof(struct trapframe) / 8
	rep movsq
	mov rsp, [rel syscall_kstack]
	sub rsp, 22 * 8
	lea rsi, [rel resume_scratch]
	mov rdi, rsp
	mov ecx, 22
	rep movsq
	POP_GPRS
	add rsp, 16
	iretq

; arch_enter_user(rip, rsp): leave for ring 3 for the first time, with every
; general register zero, rflags = IF only.
global arch_enter_user
arch_enter_user:
	cli
	mov ax, 0x1b
	mov ds, ax
	mov es, ax
	push qword 0x1b                 ; ss
	push rsi                        ; rsp
	push qword 0x202                ; rflags: IF
	push qword 0x23                 ; cs
	push rdi                        ; rip
	xor eax, eax
	xor ebx, ebx
	xor ecx, ecx
	xor edx, edx
	xor esi, esi
	xor edi, edi
	xor ebp, ebp
	xor r8d, r8d
	xor r9d, r9d
	xor r10d, r10d
	xor r11d, r11d
	xor r12d, r12d
	xor r13d, r13d
	xor r14d, r14d
	xor r15d, r15d
	iretq

section .bss
align 16
resume_scratch: resq 22
