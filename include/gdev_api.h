/*
 * gdev_api.h - the Gdev API (libgdev.so).
 *
 * Gdev's own function set and signatures, with struct gdev_kernel shaped for
 * the aicard: a launch names a code object in device memory (see
 * aidev_drm.h) and the index of one of its kernels.
 *
 * Conventions (they hold for every function below):
 *   - functions returning int return 0 on success or a negative errno
 *     (-EINVAL, -ENOMEM, -ETIMEDOUT, -EIO, ...);
 *   - functions returning a device address (uint64_t) return 0 on failure;
 *   - functions returning a pointer return NULL on failure.
 *
 * The header is also read by cffi, so outside preprocessor-only lines it holds
 * plain declarations and every #define is an integer literal.
 */
#ifndef GDEV_API_H
#define GDEV_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- gquery() types ----------------------------------------------------- */
#define GDEV_QUERY_DEVICE_MEM_SIZE      1   /* bytes of device memory */
#define GDEV_QUERY_DMA_MEM_SIZE         2   /* bytes of host memory the card can reach */
#define GDEV_QUERY_CHIPSET              3   /* chip id */
#define GDEV_QUERY_BUS_TYPE             4
#define GDEV_QUERY_AGGR_TYPE            5
#define GDEV_QUERY_PCI_VENDOR           6
#define GDEV_QUERY_PCI_DEVICE           7

/* ---- gtune() types ------------------------------------------------------ */
#define GDEV_TUNE_MEMCPY_PIPELINE_COUNT 1   /* bounce buffers in flight per copy */
#define GDEV_TUNE_MEMCPY_CHUNK_SIZE     2   /* bytes per bounce-buffer chunk */

/* ---- gshmget() flags and gshmctl() commands (values of sys/ipc.h) ------- */
#define GDEV_IPC_CREAT                  01000
#define GDEV_IPC_EXCL                   02000
#define GDEV_IPC_NOWAIT                 04000
#define GDEV_IPC_RMID                   0
#define GDEV_IPC_SET                    1
#define GDEV_IPC_STAT                   2
#define GDEV_IPC_INFO                   3

/* One open device context; obtained from gopen(), released by gclose().
 * Ghandle is Gdev's name for a pointer to it (`Ghandle h = gopen(0);`). */
struct gdev_handle;
typedef struct gdev_handle *Ghandle;

/* A time span for gsync(); neg marks a negative span. */
struct gdev_time {
    uint64_t sec;
    uint64_t usec;
    int neg;
};

/* A kernel launch. The launch copies param_size bytes from param_buf, so the
 * buffer may be reused as soon as glaunch() returns. */
struct gdev_kernel {
    uint64_t code_addr;     /* device address of a code object (see aidev_drm.h) */
    uint64_t code_size;
    uint32_t code_pc;       /* entry: index of the kernel in the code object's kernel table */
    uint32_t param_size;    /* bytes at param_buf */
    uint32_t *param_buf;    /* packed kernel parameters (host memory, copied at launch) */
    uint32_t smem_size;     /* dynamic shared memory bytes */
    uint32_t lmem_size;     /* local memory bytes per thread */
    uint32_t grid_x, grid_y, grid_z;
    uint32_t block_x, block_y, block_z;
    uint64_t globals_addr;  /* device memory of the module's global variables, 0 if none */
};

/* ---- handles ------------------------------------------------------------ */
/* Opens card <minor> (/dev/aicard<minor> or its simulation); NULL on failure. */
Ghandle gopen(int minor);
/* Waits for outstanding work, frees the handle's memory and closes it. */
int gclose(Ghandle h);

/* ---- device memory ------------------------------------------------------ */
/* Returns the device address of a new buffer, or 0 on failure. */
uint64_t gmalloc(Ghandle h, uint64_t size);
/* Returns the freed size in bytes, or 0 when addr is not a buffer of h. */
uint64_t gfree(Ghandle h, uint64_t addr);
/* Host memory the card reaches by DMA; NULL on failure. */
void *gmalloc_dma(Ghandle h, uint64_t size);
/* Returns the freed size in bytes, or 0 when buf is not a DMA buffer of h. */
uint64_t gfree_dma(Ghandle h, void *buf);
/* Maps device memory into the host; NULL on failure. */
void *gmap(Ghandle h, uint64_t addr, uint64_t size);
int gunmap(Ghandle h, void *buf);

/* ---- copies ------------------------------------------------------------- */
/* The synchronous copies return when the data has arrived.  The _async forms
 * return once the copy is queued and store a fence id for gsync() in *id.
 * The _user_ forms take any host memory (Gdev's user-space buffers); in this
 * implementation they behave as the plain forms. */
int gmemcpy_to_device(Ghandle h, uint64_t dst_addr, const void *src_buf, uint64_t size);
int gmemcpy_to_device_async(Ghandle h, uint64_t dst_addr, const void *src_buf, uint64_t size, uint32_t *id);
int gmemcpy_user_to_device(Ghandle h, uint64_t dst_addr, const void *src_buf, uint64_t size);
int gmemcpy_user_to_device_async(Ghandle h, uint64_t dst_addr, const void *src_buf, uint64_t size, uint32_t *id);
int gmemcpy_from_device(Ghandle h, void *dst_buf, uint64_t src_addr, uint64_t size);
int gmemcpy_from_device_async(Ghandle h, void *dst_buf, uint64_t src_addr, uint64_t size, uint32_t *id);
int gmemcpy_user_from_device(Ghandle h, void *dst_buf, uint64_t src_addr, uint64_t size);
int gmemcpy_user_from_device_async(Ghandle h, void *dst_buf, uint64_t src_addr, uint64_t size, uint32_t *id);
/* Device-to-device copy. */
int gmemcpy(Ghandle h, uint64_t dst_addr, uint64_t src_addr, uint64_t size);
int gmemcpy_async(Ghandle h, uint64_t dst_addr, uint64_t src_addr, uint64_t size, uint32_t *id);

/* ---- compute and synchronization --------------------------------------- */
/* Queues a launch and stores its fence id in *id. */
int glaunch(Ghandle h, struct gdev_kernel *kernel, uint32_t *id);
/* Waits for fence id.  id 0 returns 0 at once.  timeout NULL waits without
 * limit; otherwise -ETIMEDOUT once the span has passed.  -EIO when the work
 * faulted on the card. */
int gsync(Ghandle h, uint32_t id, struct gdev_time *timeout);
/* Waits for all work queued on h. */
int gbarrier(Ghandle h);
/* Stores the GDEV_QUERY_* value of type in *result. */
int gquery(Ghandle h, uint32_t type, uint64_t *result);
/* Sets a GDEV_TUNE_* parameter. */
int gtune(Ghandle h, uint32_t type, uint32_t value);

/* ---- shared device memory (System V IPC style) ------------------------- */
/* Returns a shared segment id (>= 0) or a negative errno. */
int gshmget(Ghandle h, int key, uint64_t size, int flags);
/* Returns the device address the segment is attached at, or 0 on failure. */
uint64_t gshmat(Ghandle h, int id, uint64_t addr, int flags);
int gshmdt(Ghandle h, uint64_t addr);
int gshmctl(Ghandle h, int id, int cmd, void *buf);

/* ---- cross-handle references and address translation ------------------ */
/* Makes [addr, addr+size) of hmaster usable by hslave; returns the address
 * in hslave's space, or 0 on failure. */
uint64_t gref(Ghandle hmaster, uint64_t addr, uint64_t size, Ghandle hslave);
int gunref(Ghandle h, uint64_t addr);
/* Physical (card bus) address of a host pointer from gmalloc_dma/gmap; 0 if unknown. */
uint64_t gphysget(Ghandle h, const void *p);
/* Device address of a host pointer from gmalloc_dma/gmap; 0 if unknown. */
uint64_t gvirtget(Ghandle h, const void *p);

/* ---- devices ------------------------------------------------------------ */
/* Stores the number of cards in *result. */
int gdevice_count(int *result);

#ifdef __cplusplus
}
#endif

#endif /* GDEV_API_H */
