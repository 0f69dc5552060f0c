/*
 * uart.c — the 16550 on COM1 (0x3F8), the node's serial console.
 *
 * Output is polled (it must work before interrupts and inside a panic).
 * Input is interrupt-driven once uart_irq_init has run: the handler drains
 * the receive FIFO into a ring buffer that uart_getc empties; a full ring
 * drops the newest byte and counts it. Before then uart_getc polls.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "kern/sync.h"

#define COM1 0x3f8
#define REG_DATA 0
#define REG_IER 1
#define REG_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20

#define RX_SIZE 1024
static volatile uint8_t rx_buf[RX_SIZE];
static volatile unsigned rx_head,
	rx_tail; /* head: next write; tail: next read */
static bool rx_irq;
static struct waitq rx_wq; /* readers waiting for input */
unsigned long uart_rx_dropped;

void uart_init(void)
{
	outb(COM1 + REG_IER, 0x00);
	outb(COM1 + REG_LCR, 0x80); /* DLAB: divisor follows */
	outb(COM1 + 0, 0x01); /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + REG_LCR, 0x03); /* 8N1 */
	outb(COM1 + REG_FCR, 0xC7); /* FIFO on, cleared, 14-byte trigger */
	outb(COM1 + REG_MCR, 0x0B); /* DTR, RTS, OUT2 (IRQ line enable) */
}

void uart_putc(char c)
{
	for (int i = 0; i < 100000 && !(inb(COM1 + REG_LSR) & LSR_THRE); i++)
		cpu_relax();
	outb(COM1 + REG_DATA, (uint8_t)c);
}

void uart_write(const char *s, size_t n)
{
	while (n--)
		uart_putc(*s++);
}

static void uart_irq(void *arg)
{
	while (inb(COM1 + REG_LSR) & LSR_DR) {
		uint8_t c = inb(COM1 + REG_DATA);
		unsigned next = (rx_head + 1) % RX_SIZE;
		if (next == rx_tail) {
			uart_rx_dropped++;
			continue;
		}
		rx_buf[rx_head] = c;
		rx_head = next;
	}
	waitq_wakeup_all(&rx_wq);
}

void uart_irq_init(void)
{
	if (irq_register(4, uart_irq, NULL) == 0) {
		rx_irq = true;
		outb(COM1 + REG_IER, 0x01); /* received-data interrupt */
	}
}

/* Interrupts off. */
static int rx_pop(void)
{
	if (rx_tail == rx_head)
		return -1;
	int c = rx_buf[rx_tail];
	rx_tail = (rx_tail + 1) % RX_SIZE;
	return c;
}

int uart_getc(void)
{
	if (!rx_irq)
		return (inb(COM1 + REG_LSR) & LSR_DR) ? inb(COM1 + REG_DATA)
						      : -1;
	unsigned long f = irq_save();
	int c = rx_pop();
	irq_restore(f);
	return c;
}

int uart_getc_wait(void)
{
	if (!rx_irq) {
		int c;
		while ((c = uart_getc()) < 0)
			cpu_relax();
		return c;
	}
	unsigned long f = irq_save();
	int c;
	while ((c = rx_pop()) < 0)
		waitq_sleep(&rx_wq, NULL);
	irq_restore(f);
	return c;
}
