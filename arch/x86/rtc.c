/*
 * rtc.c — the wall clock: the CMOS real-time clock (MC146818-compatible,
 * ports 0x70/0x71) read once at boot, then carried forward by time_ns().
 *
 * The RTC is read twice, outside an update cycle, until two reads agree;
 * BCD and 12-hour formats are converted; the century is taken as 20xx (the
 * century register's index is firmware-specific). Every field is range-
 * checked: a clock that reads nonsense is reported once and the wall
 * clock stays unknown (0) rather than wrong.
 */
#include "arch/x86/x86.h"
#include "kern/kern.h"

#define CMOS_ADDR 0x70
#define CMOS_DATA 0x71
#define NMI_OFF 0x80

static uint64_t wall_at_boot; /* seconds since 1970 at time_ns() == 0 */

static uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_ADDR, NMI_OFF | reg);
	return inb(CMOS_DATA);
}

struct rtc_time {
	unsigned sec, min, hour, day, mon, year;
};

static bool rtc_read_once(struct rtc_time *t)
{
	for (int i = 0; i < 100000 && (cmos_read(0x0A) & 0x80); i++)
		cpu_relax(); /* update in progress */
	t->sec = cmos_read(0x00);
	t->min = cmos_read(0x02);
	t->hour = cmos_read(0x04);
	t->day = cmos_read(0x07);
	t->mon = cmos_read(0x08);
	t->year = cmos_read(0x09);
	return true;
}

static unsigned bcd(unsigned v)
{
	return (v & 0x0F) + (v >> 4) * 10;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
uint64_t rtc_days_from_civil(unsigned y, unsigned m, unsigned d)
{
	y -= m <= 2;
	unsigned era = y / 400, yoe = y - era * 400;
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (uint64_t)era * 146097 + doe - 719468;
}

void rtc_init(void)
{
	struct rtc_time a, b;
	int tries = 0;
	rtc_read_once(&a);
	do {
		b = a;
		rtc_read_once(&a);
	} while (memcmp(&a, &b, sizeof a) && ++tries < 5);

	uint8_t regb = cmos_read(0x0B);
	bool pm = !(regb & 0x02) && (a.hour & 0x80);
	a.hour &= 0x7F;
	if (!(regb & 0x04)) { /* BCD */
		a.sec = bcd(a.sec);
		a.min = bcd(a.min);
		a.hour = bcd(a.hour);
		a.day = bcd(a.day);
		a.mon = bcd(a.mon);
		a.year = bcd(a.year);
	}
	if (!(regb & 0x02)) /* 12-hour clock: 12 AM is 0, 12 PM is 12 */
		a.hour = (a.hour % 12) + (pm ? 12 : 0);
	if (a.sec > 59 || a.min > 59 || a.hour > 23 || a.day < 1 ||
	    a.day > 31 || a.mon < 1 || a.mon > 12 || a.year > 99) {
		printk(KERN_WARN "shoal: rtc: nonsense time %u-%u-%u %u:%u:%u; "
				 "wall clock unknown\n",
		       a.year, a.mon, a.day, a.hour, a.min, a.sec);
		return;
	}
	uint64_t secs =
		rtc_days_from_civil(2000 + a.year, a.mon, a.day) * 86400 +
		a.hour * 3600 + a.min * 60 + a.sec;
	wall_at_boot = secs - time_ns() / 1000000000;
	printk("shoal: rtc: 20%02u-%02u-%02u %02u:%02u:%02u UTC\n", a.year,
	       a.mon, a.day, a.hour, a.min, a.sec);
}

uint64_t arch_wall_seconds(void)
{
	return wall_at_boot ? wall_at_boot + time_ns() / 1000000000 : 0;
}

SELFTEST(rtc_civil_days)
{
	ST_ASSERT(rtc_days_from_civil(1970, 1, 1) == 0);
	ST_ASSERT(rtc_days_from_civil(2000, 2, 29) * 86400 + 12 * 3600 ==
		  951825600);
	ST_ASSERT(rtc_days_from_civil(2026, 11, 22) * 86400 + 2 * 3600 +
			  15 * 60 + 30 ==
		  1795313730);
	ST_ASSERT(rtc_days_from_civil(2099, 12, 31) * 86400 + 86399 ==
		  4102444799ull);
	/* QEMU's RTC follows the host clock: after 2020, before 2100. */
	ST_ASSERT(arch_wall_seconds() > 1577836800ull);
	ST_ASSERT(arch_wall_seconds() < 4102444800ull);
	return 0;
}
