; arch/x86/trap_entry.asm — one stub per interrupt vector.
;
; Each stub pushes an error code (0 when the CPU pushes none, so all frames
; look alike) and its vector, then jumps to trap_common, which saves the
; general registers into a struct trapframe (arch/x86/x86.h) and calls
; trap_dispatch(tf). The stubs' addresses are in trap_stubs[] for idt_init.

bits 64
%include "arch/x86/frame.inc"
section .text

%macro STUB 1
align 16
trap_stub_%1:
%if (%1 = 8) || (%1 = 10) || (%1 = 11) || (%1 = 12) || (%1 = 13) || (%1 = 14) || (%1 = 17) || (%1 = 21) || (%1 = 29) || (%1 = 30)
	push qword %1
%else
	push qword 0
	push qword %1
%endif
	jmp trap_common
%endmacro

%assign i 0
%rep 256
STUB i
%assign i i+1
%endrep

extern trap_dispatch
trap_common:
	; stack, lowest first: vector, error code (the CPU's or 0), rip, cs, ...
	PUSH_GPRS
	cld
	mov rdi, rsp
	xor ebp, ebp                   ; end the frame chain: backtraces of the
	                               ; interrupted code start from tf->rbp
	call trap_dispatch
	POP_GPRS
	add rsp, 16                    ; vector and error code
	iretq

section .rodata
align 8
global trap_stubs
trap_stubs:
%assign i 0
%rep 256
	dq trap_stub_%+i
%assign i i+1
%endrep
