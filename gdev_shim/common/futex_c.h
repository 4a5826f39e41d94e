/* futex_c.h - futex wait and wake on a word of shared memory, compiled into
 * gdev_shim._futex (build_ffi.py: futex_module).  A doorbell and a fence wake
 * are one such call each; through ctypes one costs microseconds more than the
 * system call itself. */
#include <errno.h>
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
