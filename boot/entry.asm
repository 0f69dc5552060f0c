; boot/entry.asm — the first instructions Shoal runs.
;
; Two ways in, both in 32-bit protected mode with paging off:
;   _start32     multiboot2 (GRUB, the PXE path): EAX = 0x36d76289, EBX = info
;   pvh_start32  PVH (QEMU -kernel with qboot, the direct path): EBX = start_info
; Both go to common32, which clears .bss, checks for long mode, builds the boot
; page tables, enables long mode and jumps to kmain(magic, info_pa) in the
; higher half. The boot page tables map the first 4 GiB three times: identity
; (only used until the jump), at DIRECT_MAP, and the first 2 GiB at KERNEL_VMA.
; vm_init replaces them with W^X tables later.

KERNEL_VMA      equ 0xFFFFFFFF80000000
%define PHYS(x) ((x) - KERNEL_VMA)
MB2_MAGIC       equ 0xe85250d6
PVH_MAGIC       equ 0x336ec578
COM1            equ 0x3f8
BOOT_STACK_SIZE equ 16384

extern _bss_start, _bss_end

; ---------------------------------------------------------------- headers
section .multiboot2 progbits alloc noexec nowrite align=8
mb2_header:
	dd MB2_MAGIC
	dd 0                                    ; i386 protected mode
	dd mb2_header_end - mb2_header
	dd 0x100000000 - (MB2_MAGIC + (mb2_header_end - mb2_header))
	align 8
	dw 3, 0                                 ; entry address tag
	dd 12
	dd PHYS(_start32)
	align 8
	dw 6, 0                                 ; module alignment tag: page-align modules
	dd 8
	align 8
	dw 0, 0                                 ; end tag
	dd 8
mb2_header_end:

section .note.Xen note alloc noexec nowrite align=4
	dd 4                                    ; name size ("Xen\0")
	dd 4                                    ; descriptor size
	dd 18                                   ; XEN_ELFNOTE_PHYS32_ENTRY
	db "Xen", 0
	dd PHYS(pvh_start32)

; ---------------------------------------------------------------- 32-bit code
section .boot.text progbits alloc exec nowrite align=16
bits 32
global _start32, pvh_start32
_start32:
	cli
	mov edi, eax
	mov esi, ebx
	jmp common32

pvh_start32:
	cli
	mov edi, PVH_MAGIC
	mov esi, ebx

common32:
	cld
	mov ebp, edi                            ; rep stosd needs edi
	mov edi, PHYS(_bss_start)
	mov ecx, PHYS(_bss_end)
	sub ecx, edi
	shr ecx, 2
	xor eax, eax
	rep stosd
	mov edi, ebp
	mov esp, PHYS(boot_stack_top)
	rdtsc                                   ; time_ns() counts from here
	mov [PHYS(boot_tsc)], eax
	mov [PHYS(boot_tsc) + 4], edx

	; long mode (and optionally NX) available?
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no_long_mode
	mov eax, 0x80000001
	cpuid
	test edx, 1 << 29
	jz .no_long_mode
	test edx, 1 << 20
	jz .no_nx
	mov byte [PHYS(boot_has_nx)], 1
.no_nx:

	; 2048 2-MiB pages: physical 0..4 GiB
	mov ebx, PHYS(boot_pd)
	mov eax, 0x83                           ; present | writable | 2 MiB
	xor edx, edx
	mov ecx, 2048
.fill_pd:
	mov [ebx], eax
	mov [ebx + 4], edx
	add eax, 0x200000
	adc edx, 0
	add ebx, 8
	loop .fill_pd

	mov ebx, PHYS(boot_pdpt_low)
	mov eax, PHYS(boot_pd) + 3
	mov ecx, 4
.fill_pdpt:
	mov [ebx], eax
	add eax, 4096
	add ebx, 8
	loop .fill_pdpt

	mov eax, PHYS(boot_pd) + 3
	mov [PHYS(boot_pdpt_high) + 510 * 8], eax
	add eax, 4096
	mov [PHYS(boot_pdpt_high) + 511 * 8], eax

	mov eax, PHYS(boot_pdpt_low) + 3
	mov [PHYS(boot_pml4)], eax              ; identity
	mov [PHYS(boot_pml4) + 256 * 8], eax    ; DIRECT_MAP
	mov eax, PHYS(boot_pdpt_high) + 3
	mov [PHYS(boot_pml4) + 511 * 8], eax    ; KERNEL_VMA

	mov eax, cr4
	or eax, (1 << 5) | (1 << 7)             ; PAE, PGE
	mov cr4, eax
	mov eax, PHYS(boot_pml4)
	mov cr3, eax
	mov ecx, 0xC0000080                     ; EFER
	rdmsr
	or eax, 1 << 8                          ; LME
	test byte [PHYS(boot_has_nx)], 1
	jz .efer
	or eax, 1 << 11                         ; NXE
.efer:
	wrmsr
	mov eax, cr0
	or eax, (1 << 31) | (1 << 16) | 1       ; PG, WP, PE
	mov cr0, eax
	lgdt [PHYS(boot_gdt_ptr)]
	jmp 0x08:PHYS(long_entry)

.no_long_mode:
	mov esi, PHYS(msg_no_lm)
.putc:
	lodsb
	test al, al
	jz .halt
	mov dx, COM1 + 5
	mov ah, al
.wait_tx:
	in al, dx
	test al, 0x20
	jz .wait_tx
	mov al, ah
	mov dx, COM1
	out dx, al
	jmp .putc
.halt:
	cli
	hlt
	jmp .halt

bits 64
long_entry:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	mov rax, high_entry
	jmp rax

; ---------------------------------------------------------------- 64-bit
section .text
extern kmain
high_entry:
	mov rsp, boot_stack_top
	xor ebp, ebp
	mov edi, edi                            ; zero-extend magic
	mov esi, esi                            ; and the info address
	call kmain
.hang:
	cli
	hlt
	jmp .hang

section .rodata
msg_no_lm: db "shoal: this CPU has no 64-bit long mode; Shoal needs x86_64", 13, 10, 0

section .data
align 16
boot_gdt:
	dq 0
	dq 0x00AF9B000000FFFF                   ; 0x08: 64-bit code, accessed
	dq 0x00CF93000000FFFF                   ; 0x10: data, accessed
boot_gdt_ptr:
	dw boot_gdt_ptr - boot_gdt - 1
	dq PHYS(boot_gdt)
global boot_has_nx, boot_tsc
align 8
boot_tsc:    dq 0
boot_has_nx: db 0

section .bss
align 4096
global boot_pml4
boot_pml4:      resb 4096
boot_pdpt_low:  resb 4096
boot_pdpt_high: resb 4096
boot_pd:        resb 4 * 4096
align 16
global boot_stack_top
boot_stack:     resb BOOT_STACK_SIZE
boot_stack_top:
