/*
 * main.c — kmain, the C entry point, called by boot/entry.asm on the boot
 * stack with interrupts off and the boot page tables (the first 4 GiB at
 * DIRECT_MAP, the kernel at KERNEL_VMA).
 *
 * Order: console, boot information (copied out before any page is handed
 * out), command line, CPU tables, physical memory, kernel page tables,
 * interrupts and time, the scheduler (kmain becomes thread 0), PCI and the
 * disks (their requests may sleep), the file systems; then self-tests when
 * asked, else the ready line and the kernel monitor.
 */
#include "arch/x86/arch.h"
#include "arch/x86/pci.h"
#include "fs/fs.h"
#include "fs/vfs.h"
#include "kern/bootinfo.h"
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/sync.h"
#include "mosix/balance.h"
#include "mosix/link.h"
#include "mosix/mig.h"
#include "net/lwip/net_lwip.h"
#include "net/net.h"
#include "vm/vm.h"

#define SHOAL_VERSION "0.1"

struct kconfig kconfig;
static struct bootinfo bootinfo;

void monitor_run(void) __noreturn;

/* Boot-time access to physical memory: the boot tables map the first 4 GiB. */
static const void *boot_map(uint64_t pa, size_t len)
{
	if (pa >= BOOT_DIRECT_MAP_SIZE || len > BOOT_DIRECT_MAP_SIZE - pa)
		return NULL;
	return phys_to_virt(pa);
}

static void boot_warn(const char *msg)
{
	printk(KERN_WARN "shoal: boot info: %s\n", msg);
}

static void cmdline_warn(const char *msg)
{
	printk(KERN_WARN "shoal: %s\n", msg);
}

static void print_bootinfo(const struct bootinfo *bi)
{
	printk("shoal: loader %s, command line '%s'\n", bi->loader,
	       bi->cmdline);
	for (unsigned i = 0; i < bi->nmmap; i++) {
		const struct mem_range *r = &bi->mmap[i];
		printk(KERN_DEBUG "  mem %016lx-%016lx type %u\n",
		       (unsigned long)r->base,
		       (unsigned long)(r->base + r->len - 1), r->type);
	}
	for (unsigned i = 0; i < bi->nmods; i++)
		printk("shoal: module '%s' at %#lx, %lu bytes\n",
		       bi->mods[i].name, (unsigned long)bi->mods[i].start,
		       (unsigned long)(bi->mods[i].end - bi->mods[i].start));
}

/* Start init (pid 1) and wait for it; if it cannot start or ends, the
 * kernel monitor takes the console so the node stays usable. */
static void run_init(const char *path)
{
	int err;
	const char *const argv[] = {path, NULL};
	struct proc *p = proc_exec_first(path, argv, &err);
	if (!p) {
		printk(KERN_ERR "shoal: cannot start init %s: %s; the kernel "
				"monitor has the console\n",
		       path, errno_text(err));
		return;
	}
	proc_set_init(p);
	int st = proc_wait(p);
	printk(KERN_ERR "shoal: init ended (wait status %#x); the kernel "
			"monitor has the console\n",
	       st);
}

void kmain(uint32_t magic, uint32_t info_pa)
{
	uart_init();
	printk("\nShoal " SHOAL_VERSION " booting\n");

	bootinfo_parse(magic, info_pa, boot_map, boot_warn, &bootinfo);
	if (bootinfo.proto == BOOT_NONE)
		panic("no boot information: start Shoal from GRUB (multiboot2) or as a PVH kernel");
	bootinfo_drop_overlapping_modules(&bootinfo,
					  virt_to_phys(_kernel_start),
					  virt_to_phys(_kernel_end), boot_warn);
	kconfig_defaults(&kconfig);
	kconfig_parse(bootinfo.cmdline, &kconfig, cmdline_warn);
	loglevel = kconfig.loglevel;
	if (kconfig.node < 0) {
		printk(KERN_WARN
		       "shoal: no node=N on the command line; using node 0\n");
		kconfig.node = 0;
	}
	print_bootinfo(&bootinfo);

	arch_cpu_init();
	pmm_init(&bootinfo);
	vm_init();
	arch_acpi_set_rsdp(bootinfo.rsdp);
	arch_irq_init();
	arch_time_init(kconfig.hz);
	sched_init();
	uart_irq_init();
	irq_enable();
	pci_init();
	virtio_blk_probe();
	net_init();
	ramdisk_from_module(&bootinfo, "root");
	fs_boot_mount();
	net_lwip_init();
	link_init();
	linkperf_init();
	mig_init();
	balance_init();
	proc_init();

	if (kconfig.selftest)
		selftest_run(kconfig.selftest_pattern);

	struct mem_stats st;
	mem_get_stats(&st);
	printk("shoal: %lu MiB free of %lu MiB, timer %u Hz, TSC %lu MHz, kernel up in %lu ms\n",
	       (unsigned long)(st.free_bytes >> 20),
	       (unsigned long)(st.total_bytes >> 20), time_hz(),
	       (unsigned long)(tsc_hz() / 1000000),
	       (unsigned long)(time_ns() / 1000000));
	printk("shoal: node %d ready\n", kconfig.node);
	if (strcmp(kconfig.init, "monitor"))
		run_init(kconfig.init);
	monitor_run();
}
