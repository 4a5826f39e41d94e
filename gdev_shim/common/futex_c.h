/* futex_c.h - futex wait and wake on a word of shared memory, compiled into
 * gdev_shim._futex (build_ffi.py: futex_module).  A doorbell and a fence wake
 * are one such call each; through ctypes one costs microseconds more than the
 * system call itself. */
#define _GNU_SOURCE 1                /* sched_getcpu */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

/* Sleep while the u32 at addr holds expected, at most timeout_ns (< 0: no limit).
 * 0 when woken, -errno otherwise (-EAGAIN: the word differs; -ETIMEDOUT; -EINTR). */
static long gdev_futex_wait(uintptr_t addr, uint32_t expected, long long timeout_ns)
{
    struct timespec ts, *tp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000LL);
        ts.tv_nsec = (long)(timeout_ns % 1000000000LL);
        tp = &ts;
    }
    if (syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT, expected, tp, NULL, 0) == 0)
        return 0;
    return -errno;
}

/* Wake up to count sleepers on the u32 at addr: how many woke, or -errno. */
static long gdev_futex_wake(uintptr_t addr, int count)
{
    long rc = syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE, count, NULL, NULL, 0);
    return rc < 0 ? -errno : rc;
}

/* A bounded spin before a futex sleep: when the other side answers within microseconds,
 * the waiter skips the sleep and the other side the wake (a system call, and a context
 * switch that on a small machine may preempt the very thread that answers).  The spin
 * never yields: on a loaded machine a yield hands the rest of the time slice to another
 * program, milliseconds, where a futex wake would have preempted it.  It does not start
 * when the other side last ran on this CPU (gdev_spin_apart). */

static inline long long gdev_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void gdev_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Whether to spin at all: 1 + this thread's CPU is stored at mine (a u32 of the shared
 * page), and when the other side's word (theirs) says it last ran on this CPU too, a spin
 * would only delay it. */
static int gdev_spin_apart(uintptr_t mine, uintptr_t theirs)
{
    uint32_t here = (uint32_t)(sched_getcpu() + 1);
    __atomic_store_n((uint32_t *)mine, here, __ATOMIC_RELAXED);
    return __atomic_load_n((const uint32_t *)theirs, __ATOMIC_RELAXED) != here;
}

/* Spin at most spin_ns until the u64 at addr is >= target: 1 when it is, 0 when the time
 * ran out, -1 without spinning when the other side shares this CPU (gdev_spin_apart). */
static int gdev_spin_u64_reached(uintptr_t addr, uint64_t target, long long spin_ns,
                                 uintptr_t mine, uintptr_t theirs)
{
    const uint64_t *word = (const uint64_t *)addr;
    if (!gdev_spin_apart(mine, theirs))
        return -1;
    long long start = gdev_now_ns();
    for (;;) {
        for (int i = 0; i < 32; i++) {
            if (__atomic_load_n(word, __ATOMIC_ACQUIRE) >= target)
                return 1;
            gdev_cpu_relax();
        }
        if (gdev_now_ns() - start >= spin_ns)
            return 0;
    }
}

/* Spin at most spin_ns while the u32 at addr holds expected: 1 once it differs, 0 when
 * the time ran out, -1 without spinning when the other side shares this CPU. */
static int gdev_spin_u32_changed(uintptr_t addr, uint32_t expected, long long spin_ns,
                                 uintptr_t mine, uintptr_t theirs)
{
    const uint32_t *word = (const uint32_t *)addr;
    if (!gdev_spin_apart(mine, theirs))
        return -1;
    long long start = gdev_now_ns();
    for (;;) {
        for (int i = 0; i < 32; i++) {
            if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != expected)
                return 1;
            gdev_cpu_relax();
        }
        if (gdev_now_ns() - start >= spin_ns)
            return 0;
    }
}
