/*
 * procs.c - the card daemon shared by processes (fork and exec): one scenario per run.
 *
 *   procs memory|kill-client|kill-daemon|other-user|gshm|overcommit|isolation [-f<busy.cubin>]
 *
 *   memory       a child holds 256 MiB on card 1: this process's sdaaMemGetInfo sees it,
 *                and sees it return after the child exits.
 *   kill-client  a child queues kernels on card 2 and is SIGKILLed mid-kernel: its memory
 *                returns, and this process's kernel on that card gives the right result.
 *   kill-daemon  the daemon is SIGKILLed under this process's kernel: the next calls fail
 *                with SDAA_ERROR_DEVICE_UNAVAILABLE / sdaaErrorDevicesUnavailable at once,
 *                and stay failed; a new process starts a new daemon and works.
 *   gshm         a Gdev shared segment (gshmget/gshmat) written by this process is read by
 *                a child, which writes back through it; gref'd memory outlives its master.
 *   other-user   (root only) a child that setuid()s to nobody cannot reach this user's
 *                cards: it gets an error, not the cards; otherwise a SKIP line.
 *   overcommit   three children on a 64 MiB card each hold 60% of it and run kernels over
 *                their memory in turns: what does not fit is swapped out while its owner
 *                waits, and every child finds all of its data right.
 *   isolation    this process fills a buffer and hands its device address to a child (pipe),
 *                whose kernels reading it and writing it fail their own context with
 *                SDAA_ERROR_LAUNCH_FAILED: this process's bytes are unchanged and its kernels
 *                go on; a shared segment (gshmget) still carries bytes both ways, read and
 *                written by the child's kernels.
 *
 * Every run uses a private runtime directory (XDG_RUNTIME_DIR) and so a daemon of its own,
 * which it stops at the end: killing it disturbs nothing else.  Children are this program
 * run again with a role (child-hold, child-spin, child-work, child-other, child-over,
 * child-peek).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gdev_api.h"
#include "sdaa.h"
#include "sdaa_runtime.h"
#include "testutil.h"

#define MiB (1024UL * 1024UL)
#define N 2048
#define BLOCK 128

static char run_dir[64];
static const char *image = "busy.cubin";
static const char *self_exe;

static void fail(const char *why)
{
    printf("Test failed: %s\n", why);
    exit(1);
}

static const char *sd_name(SDresult r)
{
    const char *s = NULL;
    return sdGetErrorName(r, &s) == SDAA_SUCCESS && s ? s : "unknown";
}

#define SD(call) sd_check((call), #call, __LINE__)
static void sd_check(SDresult r, const char *what, int line)
{
    if (r != SDAA_SUCCESS) {
        printf("Test failed: line %d: %s returned %d (%s)\n", line, what, (int)r, sd_name(r));
        exit(1);
    }
}

/* ---- the private runtime directory and its daemon ---- */
static void stop_daemon_and_clean(void);

/* The library's interpreter read the environment when it loaded, so the settings take
 * effect in this program run again (marked by GDEV_PROCS_DIR), as in its children. */
static void private_runtime(char **argv)
{
    const char *dir = getenv("GDEV_PROCS_DIR");
    if (dir) {
        snprintf(run_dir, sizeof(run_dir), "%s", dir);
        atexit(stop_daemon_and_clean);   /* a failing run (exit(1)) leaves nothing behind either */
        return;
    }
    snprintf(run_dir, sizeof(run_dir), "/tmp/gdev-procs-XXXXXX");
    if (!mkdtemp(run_dir))
        fail("mkdtemp");
    setenv("GDEV_PROCS_DIR", run_dir, 1);
    setenv("XDG_RUNTIME_DIR", run_dir, 1);
    setenv("GDEV_TRANSPORT", "cardd", 1);
    setenv("GDEV_CARDD_IDLE_S", "30", 1);
    if (argv[1] && strcmp(argv[1], "overcommit") == 0)
        setenv("GDEV_SIM_VRAM", "64M", 1);     /* the daemon's cards: three 60% shares overcommit */
    fflush(stdout);
    execv(self_exe, argv);
    fail("re-executing itself");
}

/* The pid of the daemon serving run_dir (its command line names the socket there), or 0. */
static pid_t daemon_pid(void)
{
    DIR *proc = opendir("/proc");
    struct dirent *e;
    pid_t found = 0;
    if (!proc)
        return 0;
    while (!found && (e = readdir(proc))) {
        char path[300], cmd[4096];
        ssize_t n, i;
        int fd;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
        fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        n = read(fd, cmd, sizeof(cmd) - 1);
        close(fd);
        if (n <= 0)
            continue;
        for (i = 0; i < n; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        cmd[n] = '\0';
        if (strstr(cmd, "gdev_shim.cardd") && strstr(cmd, run_dir))
            found = (pid_t)atoi(e->d_name);
    }
    closedir(proc);
    return found;
}

static void stop_daemon_and_clean(void)
{
    pid_t pid = daemon_pid();
    char cmd[128];
    if (pid > 0) {
        kill(pid, SIGTERM);
        for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
            tu_sleep_ms(50);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run_dir);
    if (system(cmd) != 0)
        printf("warning: could not remove %s\n", run_dir);
}

/* ---- children: this program again, with a role; to_child and from_child are pipes ---- */
struct child {
    pid_t pid;
    FILE *in;       /* the child's stdin */
    FILE *out;      /* the child's stdout */
};

static struct child spawn(const char *role, const char *arg)
{
    int to[2], from[2];
    struct child c;
    if (pipe(to) || pipe(from))
        fail("pipe");
    fflush(stdout);
    c.pid = fork();
    if (c.pid < 0)
        fail("fork");
    if (c.pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[0]); close(to[1]); close(from[0]); close(from[1]);
        execl(self_exe, self_exe, role, arg ? arg : "", (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    c.in = fdopen(to[1], "w");
    c.out = fdopen(from[0], "r");
    return c;
}

/* The child's next line must start with `want`. */
static void expect_line(struct child *c, const char *want)
{
    char line[512];
    if (!fgets(line, sizeof(line), c->out) || strncmp(line, want, strlen(want)) != 0) {
        printf("Test failed: child %d said \"%s\", expected \"%s\"\n", (int)c->pid,
               feof(c->out) ? "(nothing: it exited)" : strtok(line, "\n"), want);
        exit(1);
    }
}

static int wait_child(struct child *c)
{
    int status = 0;
    if (c->in)
        fclose(c->in);
    fclose(c->out);
    waitpid(c->pid, &status, 0);
    return status;
}

/* ---- card helpers ---- */
static SDcontext open_card(int dev)
{
    SDdevice d;
    SDcontext ctx;
    SD(sdInit(0));
    SD(sdDeviceGet(&d, dev));
    SD(sdCtxCreate(&ctx, 0, d));
    return ctx;
}

static SDresult launch_loop(SDfunction f, SDdeviceptr out, uint32_t count)
{
    uint32_t n = N;
    void *params[3] = { &out, &count, &n };
    return sdLaunchKernel(f, N / BLOCK, 1, 1, BLOCK, 1, 1, 0, NULL, params, NULL);
}

/* Runs loop(count) on the current context and checks every element. */
static void run_and_check(SDfunction f, uint32_t count)
{
    static uint32_t host[N];
    SDdeviceptr out;
    SD(sdMemAlloc(&out, sizeof(host)));
    SD(launch_loop(f, out, count));
    SD(sdMemcpyDtoH(host, out, sizeof(host)));
    for (uint32_t i = 0; i < N; i++)
        if (host[i] != tu_lcg(i, count)) {
            printf("Test failed: out[%u] = %u, expected %u\n", i, host[i], tu_lcg(i, count));
            exit(1);
        }
    SD(sdMemFree(out));
}

static size_t used_on(int dev)
{
    size_t free_b = 0, total = 0;
    sdaaError_t e;
    if (sdaaSetDevice(dev) != sdaaSuccess)
        fail("sdaaSetDevice");
    e = sdaaMemGetInfo(&free_b, &total);
    if (e != sdaaSuccess) {
        printf("Test failed: sdaaMemGetInfo: %s\n", sdaaGetErrorString(e));
        exit(1);
    }
    return total - free_b;
}

/* Waits (up to `seconds`) until card dev's used memory is `want` again. */
static void expect_used_back(int dev, size_t want, double seconds)
{
    double deadline = tu_now_ms() + seconds * 1000;
    size_t now;
    while ((now = used_on(dev)) != want) {
        if (tu_now_ms() > deadline) {
            printf("Test failed: card %d holds %zu bytes, %zu before the child\n", dev, now, want);
            exit(1);
        }
        tu_sleep_ms(50);
    }
}

/* ---- the children ---- */
static int child_hold(void)
{
    SDdeviceptr p;
    char line[16];
    open_card(1);
    SD(sdMemAlloc(&p, 256 * MiB));
    SD(sdMemsetD32(p, 7, 1024));
    printf("held\n");
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin))
        ;
    return 0;
}

static int child_spin(void)
{
    SDmodule mod;
    SDfunction f;
    SDdeviceptr keep, out;
    open_card(2);
    SD(sdModuleLoad(&mod, image));
    SD(sdModuleGetFunction(&f, mod, "loop"));
    SD(sdMemAlloc(&keep, 128 * MiB));
    SD(sdMemAlloc(&out, N * 4));
    /* about 0.1 s of card time each on this machine: the queue outlasts the parent's look */
    for (int i = 0; i < 40; i++)
        SD(launch_loop(f, out, 2000000));
    printf("launched\n");
    fflush(stdout);
    sdCtxSynchronize();
    printf("finished (too soon)\n");
    return 0;
}

static int child_work(void)
{
    SDmodule mod;
    SDfunction f;
    open_card(0);
    SD(sdModuleLoad(&mod, image));
    SD(sdModuleGetFunction(&f, mod, "loop"));
    run_and_check(f, 77);
    printf("worked\n");
    return 0;
}

/* 60% of a 64 MiB card, a pattern of its own (tag) in every word; rounds of the loop kernel
 * over its first N words, each round synchronized, with the other children's rounds between. */
#define OVER_BYTES (64 * MiB * 6 / 10)
static int child_over(const char *tag_text)
{
    uint32_t tag = (uint32_t)atoi(tag_text), words = OVER_BYTES / 4;
    static uint32_t host[OVER_BYTES / 4];
    SDmodule mod;
    SDfunction f;
    SDdeviceptr big;
    open_card(3);
    SD(sdModuleLoad(&mod, image));
    SD(sdModuleGetFunction(&f, mod, "loop"));
    size_t free_b = 0, total = 0;
    char go[16];
    SD(sdMemAlloc(&big, OVER_BYTES));
    SD(sdMemsetD32(big, 0x5a000000u | tag, words));
    SD(sdMemGetInfo(&free_b, &total));
    if (total != 64 * MiB) {
        printf("wrong: the card has %zu bytes, not 64 MiB\n", total);
        return 1;
    }
    /* all three hold their 60% before any round: the card is overcommitted from here on */
    printf("holding\n");
    fflush(stdout);
    if (!fgets(go, sizeof(go), stdin))
        return 1;
    for (uint32_t round = 1; round <= 4; round++) {
        uint32_t count = 1000 * tag + round;
        SD(launch_loop(f, big, count));
        SD(sdCtxSynchronize());
        SD(sdMemcpyDtoH(host, big, OVER_BYTES));
        for (uint32_t i = 0; i < words; i++) {
            uint32_t want = i < N ? tu_lcg(i, count) : 0x5a000000u | tag;
            if (host[i] != want) {
                printf("wrong: child %u round %u word %u is %#x, expected %#x\n", tag, round, i, host[i], want);
                return 1;
            }
        }
        tu_sleep_ms(20);                 /* let the others' rounds in between */
    }
    SD(sdMemFree(big));
    printf("correct\n");
    return 0;
}

/* ---- the scenarios ---- */
static void memory(void)
{
    size_t before = used_on(1), during;
    struct child holder = spawn("child-hold", NULL);
    expect_line(&holder, "held");
    during = used_on(1);
    if (during < before + 256 * MiB) {
        printf("Test failed: card 1 holds %zu bytes with the child's 256 MiB, %zu before\n", during, before);
        exit(1);
    }
    if (wait_child(&holder) != 0)
        fail("the holding child failed");
    expect_used_back(1, before, 10);
    printf("Test passed: memory across processes: %zu MiB more while the child held it, back after\n",
           (during - before) / MiB);
}

/* Bytes in use on the current context's card, as the driver API reports them. */
static size_t used_here(void)
{
    size_t free_b = 0, total = 0;
    SD(sdMemGetInfo(&free_b, &total));
    return total - free_b;
}

static void kill_client(void)
{
    SDmodule mod;
    SDfunction f;
    size_t before;
    double deadline;
    struct child victim;
    open_card(2);
    SD(sdModuleLoad(&mod, image));
    SD(sdModuleGetFunction(&f, mod, "loop"));
    before = used_here();
    victim = spawn("child-spin", NULL);
    expect_line(&victim, "launched");
    tu_sleep_ms(300);
    if (used_here() < before + 128 * MiB)
        fail("the spinning child's memory is not on the card");
    kill(victim.pid, SIGKILL);
    wait_child(&victim);
    run_and_check(f, 1000);
    deadline = tu_now_ms() + 60000;
    while (used_here() != before) {
        if (tu_now_ms() > deadline) {
            printf("Test failed: card 2 holds %zu bytes, %zu before the killed child\n", used_here(), before);
            exit(1);
        }
        tu_sleep_ms(50);
    }
    SD(sdModuleUnload(mod));
    printf("Test passed: a client killed mid-kernel: its memory returned, another client's kernel is right\n");
}

static void kill_daemon(void)
{
    SDmodule mod;
    SDfunction f;
    SDdeviceptr out, p;
    pid_t old;
    SDresult r1, r2;
    sdaaError_t e;
    double t0, t1;
    open_card(0);
    SD(sdModuleLoad(&mod, image));
    SD(sdModuleGetFunction(&f, mod, "loop"));
    run_and_check(f, 5);
    used_on(0);                          /* the runtime's primary context on card 0 too */
    old = daemon_pid();
    if (old <= 0)
        fail("no daemon serves this run's runtime directory");
    SD(sdMemAlloc(&out, N * 4));
    SD(launch_loop(f, out, 2000000));
    kill(old, SIGKILL);
    t0 = tu_now_ms();
    r1 = sdCtxSynchronize();
    t1 = tu_now_ms();
    r2 = sdMemAlloc(&p, 4096);
    e = sdaaMalloc((void **)&p, 4096);
    if (r1 != SDAA_ERROR_DEVICE_UNAVAILABLE || r2 != SDAA_ERROR_DEVICE_UNAVAILABLE || e != sdaaErrorDevicesUnavailable) {
        printf("Test failed: after the daemon died: sdCtxSynchronize %s, sdMemAlloc %s, sdaaMalloc %d\n",
               sd_name(r1), sd_name(r2), (int)e);
        exit(1);
    }
    if (t1 - t0 > 2000) {
        printf("Test failed: the lost device took %.0f ms to notice\n", t1 - t0);
        exit(1);
    }
    struct child next = spawn("child-work", NULL);
    expect_line(&next, "worked");
    if (wait_child(&next) != 0)
        fail("the next process failed");
    if (daemon_pid() == old || daemon_pid() <= 0)
        fail("no new daemon serves the next process");
    printf("Test passed: daemon killed: SDAA_ERROR_DEVICE_UNAVAILABLE in %.0f ms, sticky; "
           "the next process started a new daemon\n", t1 - t0);
}

#define SHM_KEY 0x5eed
#define SHM_BYTES (1u << 20)

static Ghandle gdev_open(int minor)
{
    Ghandle h = gopen(minor);
    if (!h)
        fail("gopen");
    return h;
}

/* The child of gshm: finds the segment by its key, checks the parent's bytes, writes its own
 * into the second half. */
static int child_gshm(void)
{
    static uint32_t buf[SHM_BYTES / 4];
    Ghandle h = gdev_open(0);
    int id = gshmget(h, SHM_KEY, SHM_BYTES, 0);
    uint64_t addr;
    if (id < 0)
        fail("the child's gshmget found no segment of the key");
    addr = gshmat(h, id, 0, 0);
    if (!addr || gmemcpy_from_device(h, buf, addr, SHM_BYTES / 2))
        fail("the child's gshmat / gmemcpy_from_device");
    for (uint32_t i = 0; i < SHM_BYTES / 8; i++)
        if (buf[i] != i * 2654435761u) {
            printf("Test failed: the child read %#x at word %u of the segment, expected %#x\n", buf[i], i,
                   i * 2654435761u);
            return 1;
        }
    for (uint32_t i = 0; i < SHM_BYTES / 8; i++)
        buf[i] = ~i;
    if (gmemcpy_to_device(h, addr + SHM_BYTES / 2, buf, SHM_BYTES / 2) || gshmdt(h, addr) || gclose(h))
        fail("the child's gmemcpy_to_device / gshmdt / gclose");
    printf("read ok\n");
    return 0;
}

static void gshm(void)
{
    static uint32_t buf[SHM_BYTES / 4];
    Ghandle h = gdev_open(0), h2 = gdev_open(0);
    uint64_t addr, size = 0, mem, ref;
    int id = gshmget(h, SHM_KEY, SHM_BYTES, GDEV_IPC_CREAT | GDEV_IPC_EXCL);
    struct child reader;
    if (id < 0)
        fail("gshmget IPC_CREAT");
    if (gshmget(h2, SHM_KEY, SHM_BYTES, GDEV_IPC_CREAT | GDEV_IPC_EXCL) >= 0)
        fail("gshmget IPC_EXCL found no existing segment");
    addr = gshmat(h, id, 0, 0);
    for (uint32_t i = 0; i < SHM_BYTES / 8; i++)
        buf[i] = i * 2654435761u;
    if (!addr || gmemcpy_to_device(h, addr, buf, SHM_BYTES / 2))
        fail("gshmat / gmemcpy_to_device");
    reader = spawn("child-gshm", NULL);
    expect_line(&reader, "read ok");
    if (wait_child(&reader) != 0)
        fail("the reading child failed");
    if (gmemcpy_from_device(h, buf, addr + SHM_BYTES / 2, SHM_BYTES / 2))
        fail("gmemcpy_from_device");
    for (uint32_t i = 0; i < SHM_BYTES / 8; i++)
        if (buf[i] != ~i) {
            printf("Test failed: word %u of the child's half reads %#x, expected %#x\n", i, buf[i], ~i);
            exit(1);
        }
    if (gshmctl(h, id, GDEV_IPC_STAT, &size) || size != SHM_BYTES)
        fail("gshmctl IPC_STAT");
    if (gshmdt(h, addr) || gshmctl(h, id, GDEV_IPC_RMID, NULL))
        fail("gshmdt / gshmctl IPC_RMID");
    if (gshmget(h2, SHM_KEY, SHM_BYTES, 0) >= 0)
        fail("the removed segment's key still finds it");
    /* gref: the slave holds the memory after the master frees it */
    mem = gmalloc(h, 4096);
    buf[0] = 0xfeedface;
    if (!mem || gmemcpy_to_device(h, mem, buf, 4))
        fail("gmalloc / gmemcpy_to_device");
    ref = gref(h, mem, 4096, h2);
    if (ref != mem || gfree(h, mem) == 0)
        fail("gref / gfree");
    buf[0] = 0;
    if (gmemcpy_from_device(h2, buf, ref, 4) || buf[0] != 0xfeedface)
        fail("the slave's reference lost the master's bytes");
    if (gunref(h2, ref) || gclose(h2) || gclose(h))
        fail("gunref / gclose");
    printf("Test passed: a shared segment written here was read and written by a child; "
           "gref memory outlived its master's gfree\n");
}

/* As nobody, with this user's runtime directory: no card of this user may be reached. */
static void overcommit(void)
{
    struct child c[3];
    char tag[3][4];
    for (int i = 0; i < 3; i++) {
        snprintf(tag[i], sizeof(tag[i]), "%d", i + 1);
        c[i] = spawn("child-over", tag[i]);
    }
    for (int i = 0; i < 3; i++)
        expect_line(&c[i], "holding");
    for (int i = 0; i < 3; i++) {
        fputs("go\n", c[i].in);
        fflush(c[i].in);
    }
    for (int i = 0; i < 3; i++)
        expect_line(&c[i], "correct");
    for (int i = 0; i < 3; i++)
        if (wait_child(&c[i]) != 0)
            fail("an overcommitting child failed");
    printf("Test passed: three processes each holding 60%% of the card's memory all computed right\n");
}

static int child_other(void)
{
    SDdevice d;
    SDcontext ctx;
    SDresult r = sdInit(0);
    if (r == SDAA_SUCCESS)
        r = sdDeviceGet(&d, 0);
    if (r == SDAA_SUCCESS)
        r = sdCtxCreate(&ctx, 0, d);        /* opens the card: reaches for the daemon */
    if (r != SDAA_ERROR_DEVICE_UNAVAILABLE) {
        printf("reached card 0 as uid %d: %s\n", (int)getuid(), sd_name(r));
        return 1;
    }
    printf("refused: %s\n", sd_name(r));
    return 0;
}

static void other_user(void)
{
    struct child c;
    char line[512];
    int status;
    if (geteuid() != 0) {
        printf("SKIP other-user: needs root to setuid() a child\n");
        printf("Test passed: other-user skipped (not root)\n");
        return;
    }
    used_on(0);                        /* this user's daemon is up */
    fflush(stdout);
    int to[2], from[2];
    if (pipe(to) || pipe(from))
        fail("pipe");
    c.pid = fork();
    if (c.pid == 0) {
        dup2(from[1], 1);
        dup2(from[1], 2);
        if (setgid(65534) || setuid(65534))
            _exit(3);
        execl(self_exe, self_exe, "child-other", "", (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(to[1]);
    close(from[1]);
    c.in = NULL;
    c.out = fdopen(from[0], "r");
    line[0] = '\0';
    while (fgets(line, sizeof(line), c.out) && strncmp(line, "refused", 7) && strncmp(line, "reached", 7))
        printf("  nobody's child: %s", line);        /* the library's own words */
    status = wait_child(&c);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strncmp(line, "refused", 7)) {
        printf("Test failed: a child as nobody: exit status %#x, said \"%s\"\n", status, strtok(line, "\n"));
        exit(1);
    }
    printf("Test passed: another user is refused (%s)\n", strtok(line, "\n"));
}

/* ---- isolation: one client's memory is out of another's reach but through a segment ---- */
#define ISO_WORDS (64 * 1024)            /* 256 KiB: a buffer object of its own, not a slab piece */
#define ISO_KEY 0x150

static uint32_t iso_pattern(uint32_t i)
{
    return i * 2246822519u + 0x150;
}

/* Launches copy(dst, src, n) or loop(dst, count, n) on a fresh context and synchronizes:
 * what the card said. */
static SDresult peek_launch(const char *kernel, SDdeviceptr dst, SDdeviceptr src, uint32_t count)
{
    SDcontext ctx = open_card(0);
    SDmodule mod;
    SDfunction f;
    SDresult r;
    uint32_t n = ISO_WORDS;
    SD(sdModuleLoad(&mod, image));
    SD(sdModuleGetFunction(&f, mod, kernel));
    if (strcmp(kernel, "copy") == 0) {
        void *params[3] = { &dst, &src, &n };
        r = sdLaunchKernel(f, ISO_WORDS / 256 / 8, 1, 1, 256, 1, 1, 0, NULL, params, NULL);
    } else {
        void *params[3] = { &dst, &count, &n };
        r = sdLaunchKernel(f, ISO_WORDS / 256 / 8, 1, 1, 256, 1, 1, 0, NULL, params, NULL);
    }
    if (r == SDAA_SUCCESS)
        r = sdCtxSynchronize();
    sdCtxDestroy(ctx);                   /* a failed context is done for; the next is fresh */
    return r;
}

/* The child: reads the parent's device address from stdin, tries to read and to write it
 * with kernels (each must fail its context), then works through the shared segment. */
static int child_peek(void)
{
    static uint32_t host[ISO_WORDS];
    unsigned long long theirs = 0;
    SDdeviceptr mine;
    SDresult r;
    char line[64];
    if (!fgets(line, sizeof(line), stdin) || sscanf(line, "%llx", &theirs) != 1)
        return 1;
    open_card(0);
    SD(sdMemAlloc(&mine, sizeof(host)));
    if ((r = peek_launch("copy", mine, (SDdeviceptr)theirs, 0)) != SDAA_ERROR_LAUNCH_FAILED) {
        printf("wrong: a kernel reading the parent's buffer gave %s\n", sd_name(r));
        return 1;
    }
    if ((r = peek_launch("loop", (SDdeviceptr)theirs, 0, 3)) != SDAA_ERROR_LAUNCH_FAILED) {
        printf("wrong: a kernel writing the parent's buffer gave %s\n", sd_name(r));
        return 1;
    }
    printf("faulted\n");
    fflush(stdout);
    /* the segment, attached through a Gdev handle, reaches this process's kernels */
    Ghandle h = gdev_open(0);
    int id = gshmget(h, ISO_KEY, sizeof(host), 0);
    uint64_t seg = id >= 0 ? gshmat(h, id, 0, 0) : 0;
    if (!seg) {
        printf("wrong: the child found no segment of key %#x\n", ISO_KEY);
        return 1;
    }
    if ((r = peek_launch("copy", mine, (SDdeviceptr)seg, 0)) != SDAA_SUCCESS
        || (r = peek_launch("loop", (SDdeviceptr)seg, 0, 9)) != SDAA_SUCCESS) {
        printf("wrong: a kernel over the shared segment gave %s\n", sd_name(r));
        return 1;
    }
    SD(sdMemcpyDtoH(host, mine, sizeof(host)));
    for (uint32_t i = 0; i < ISO_WORDS; i++)
        if (host[i] != ~iso_pattern(i)) {
            printf("wrong: word %u of the segment read %#x in the child, expected %#x\n", i, host[i],
                   ~iso_pattern(i));
            return 1;
        }
    if (gshmdt(h, seg) || gclose(h))
        fail("the child's gshmdt / gclose");
    printf("shared ok\n");
    return 0;
}

static void isolation(void)
{
    static uint32_t host[ISO_WORDS];
    SDmodule mod;
    SDfunction f;
    SDdeviceptr buf;
    struct child peek;
    Ghandle h;
    uint64_t seg;
    int id;
    open_card(0);
    SD(sdModuleLoad(&mod, image));
    SD(sdModuleGetFunction(&f, mod, "loop"));
    SD(sdMemAlloc(&buf, sizeof(host)));
    for (uint32_t i = 0; i < ISO_WORDS; i++)
        host[i] = iso_pattern(i);
    SD(sdMemcpyHtoD(buf, host, sizeof(host)));
    h = gdev_open(0);
    id = gshmget(h, ISO_KEY, sizeof(host), GDEV_IPC_CREAT | GDEV_IPC_EXCL);
    seg = id >= 0 ? gshmat(h, id, 0, 0) : 0;
    for (uint32_t i = 0; i < ISO_WORDS; i++)
        host[i] = ~iso_pattern(i);
    if (!seg || gmemcpy_to_device(h, seg, host, sizeof(host)))
        fail("gshmget / gshmat / gmemcpy_to_device");
    peek = spawn("child-peek", NULL);
    fprintf(peek.in, "%llx\n", (unsigned long long)buf);
    fflush(peek.in);
    expect_line(&peek, "faulted");
    /* the victim's bytes are its own, and its kernels run on */
    SD(sdMemcpyDtoH(host, buf, sizeof(host)));
    for (uint32_t i = 0; i < ISO_WORDS; i++)
        if (host[i] != iso_pattern(i)) {
            printf("Test failed: word %u of this process's buffer is %#x after the child's kernels, "
                   "expected %#x\n", i, host[i], iso_pattern(i));
            exit(1);
        }
    run_and_check(f, 42);
    expect_line(&peek, "shared ok");
    if (wait_child(&peek) != 0)
        fail("the peeking child failed");
    if (gmemcpy_from_device(h, host, seg, sizeof(host)))
        fail("gmemcpy_from_device of the segment");
    for (uint32_t i = 0; i < ISO_WORDS; i++)
        if (host[i] != tu_lcg(i, 9)) {
            printf("Test failed: word %u of the segment is %#x after the child's kernel, expected %#x\n", i,
                   host[i], tu_lcg(i, 9));
            exit(1);
        }
    if (gshmdt(h, seg) || gshmctl(h, id, GDEV_IPC_RMID, NULL) || gclose(h))
        fail("gshmdt / gshmctl / gclose");
    SD(sdMemFree(buf));
    SD(sdModuleUnload(mod));
    printf("Test passed: a child's kernels reading and writing this process's buffer by its address "
           "failed their own context (SDAA_ERROR_LAUNCH_FAILED); the buffer is intact, this process "
           "runs on; a shared segment carried bytes both ways\n");
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    static char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        fail("readlink /proc/self/exe");
    exe[n] = '\0';
    self_exe = exe;
    if (argc > 2 && strncmp(argv[2], "-f", 2) == 0)
        image = argv[2] + 2;
    if (strcmp(what, "child-hold") == 0)
        return child_hold();
    if (strcmp(what, "child-spin") == 0)
        return child_spin();
    if (strcmp(what, "child-work") == 0)
        return child_work();
    if (strcmp(what, "child-other") == 0)
        return child_other();
    if (strcmp(what, "child-gshm") == 0)
        return child_gshm();
    if (strcmp(what, "child-over") == 0)
        return child_over(argc > 2 ? argv[2] : "1");
    if (strcmp(what, "child-peek") == 0)
        return child_peek();
    private_runtime(argv);
    if (strcmp(what, "memory") == 0)
        memory();
    else if (strcmp(what, "kill-client") == 0)
        kill_client();
    else if (strcmp(what, "kill-daemon") == 0)
        kill_daemon();
    else if (strcmp(what, "other-user") == 0)
        other_user();
    else if (strcmp(what, "gshm") == 0)
        gshm();
    else if (strcmp(what, "overcommit") == 0)
        overcommit();
    else if (strcmp(what, "isolation") == 0)
        isolation();
    else {
        printf("Test failed: usage: %s memory|kill-client|kill-daemon|other-user|gshm|overcommit|isolation [-f<busy.cubin>]\n",
               argv[0]);
        return 1;
    }
    return 0;
}
